#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>

#define MIB (1024 * 1024)

int main(void)
{
    size_t size = 100 * MIB;
    long page = sysconf(_SC_PAGESIZE);
    size_t i;
    long sum = 0;

    printf("pid %d\n", (int)getpid());
    printf("start: press Enter to mmap 100 MiB\n");
    getchar();

    /* step 1: mmap 100 MiB private anonymous read/write */
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }

    printf("p = %p: press Enter to read every page\n", (void *)p);
    getchar();

    /* step 2: read one byte of every page */
    for (i = 0; i < size; i += page)
        sum += p[i];

    printf("read every page, sum = %ld: press Enter to write every page\n", sum);
    getchar();

    /* step 3: write one byte of every page */
    for (i = 0; i < size; i += page)
        p[i] = 1;

    printf("wrote every page: press Enter to remap with MADV_HUGEPAGE\n");
    getchar();

    /* step 4: munmap, mmap 100 MiB again and ask for huge pages */
    munmap(p, size);
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || madvise(p, size, MADV_HUGEPAGE) != 0) { perror("mmap/madvise"); return 1; }

    printf("p = %p with MADV_HUGEPAGE: press Enter to write every page\n", (void *)p);
    getchar();

    /* step 5: write one byte of every page */
    for (i = 0; i < size; i += page)
        p[i] = 1;

    printf("wrote every page: press Enter to munmap\n");
    getchar();

    /* step 6: munmap */
    munmap(p, size);

    printf("unmapped: press Enter to exit\n");
    getchar();
    return 0;
}
