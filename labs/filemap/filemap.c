#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define SIZE (100 * MIB)

int main(void)
{
    char path[64], buf[65536];
    long page = sysconf(_SC_PAGESIZE);
    size_t i;
    long sum = 0;
    int fd;

    /* Make a 100 MiB file, then drop it from the page cache, as if cold. */
    snprintf(path, sizeof path, "filemap-%d.dat", (int)getpid());
    /* A new file of our own: never one already there, nor through a link. */
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
    if (fd < 0) { perror(path); return 1; }
    memset(buf, 7, sizeof buf);
    for (i = 0; i < SIZE; i += sizeof buf)
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) { perror("write"); return 1; }
    fsync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);

    printf("pid %d\n", (int)getpid());
    printf("start: press Enter to mmap the 100 MiB file %s\n", path);
    getchar();

    /* step 1: mmap the file, private, read/write */
    char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }

    printf("p = %p: press Enter to read every page\n", (void *)p);
    getchar();

    /* step 2: read one byte of every page */
    for (i = 0; i < SIZE; i += page)
        sum += p[i];

    printf("read every page, sum = %ld: press Enter to write the first 10 MiB\n", sum);
    getchar();

    /* step 3: write one byte in every page of the first 10 MiB */
    for (i = 0; i < 10 * MIB; i += page)
        p[i] = 1;

    printf("wrote 10 MiB: press Enter to munmap\n");
    getchar();

    /* step 4: munmap (the file stays, and so does its page cache) */
    munmap(p, SIZE);

    printf("unmapped: press Enter to delete the file and exit\n");
    getchar();
    close(fd);
    unlink(path);
    return 0;
}
