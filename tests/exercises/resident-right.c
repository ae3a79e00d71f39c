/* A solution of the `resident` exercise: one mmap that populates its pages. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>

#define SIZE (50 << 20)

int main(void)
{
    char *p;

    printf("start: press Enter to get 50 MiB, resident\n");
    getchar();

    /* step 1: get 50 MiB of memory, all of it resident at once */
    p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }

    printf("50 MiB at %p: press Enter to exit\n", (void *)p);
    getchar();
    return 0;
}
