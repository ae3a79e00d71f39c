/* A wrong solution of the `resident` exercise: MADV_WILLNEED is advice to
 * read ahead; for anonymous memory it populates nothing. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE (50 << 20)

int main(void)
{
    char *p;

    printf("start: press Enter to get 50 MiB, resident\n");
    getchar();

    /* step 1: get 50 MiB of memory, all of it resident at once */
    p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    if (madvise(p, SIZE, MADV_WILLNEED) != 0) { perror("madvise"); return 1; }

    printf("50 MiB at %p: press Enter to exit\n", (void *)p);
    getchar();
    return 0;
}
