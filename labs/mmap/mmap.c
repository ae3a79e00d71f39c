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

    printf("pid %d\n", (int)getpid());
    printf("start: press Enter to mmap 100 MiB\n");
    getchar();

    /* step 1: mmap 100 MiB private anonymous read/write */
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }

    printf("p = %p: press Enter to write every page\n", (void *)p);
    getchar();

    /* step 2: write one byte in every page */
    for (i = 0; i < size; i += page)
        p[i] = 1;

    printf("wrote every %ld-byte page: press Enter to munmap\n", page);
    getchar();

    /* step 3: munmap the region */
    if (munmap(p, size) != 0) { perror("munmap"); return 1; }

    printf("unmapped %p: press Enter to exit\n", (void *)p);
    getchar();
    return 0;
}
