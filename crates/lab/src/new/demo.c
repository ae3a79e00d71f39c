/* LABNAME: the demo of a pmap lab (docs/writing-labs.md explains the format).
 *
 * The prompt protocol: the program prints a line, then waits for a line on
 * stdin (getchar). lab captures the memory map while it waits: once at the
 * start (step 0) and once after each action, so a lab of steps 0 to 2
 * prompts 3 times. A step's code starts at a `step N:` comment and ends at
 * the next blank line: lab shows those lines as what the program just did.
 * Write it as you would for a student: printf without fflush is fine (lab
 * runs it on a terminal). */
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>

#define MIB (1024 * 1024)

int main(void)
{
    size_t size = 16 * MIB;
    long page = sysconf(_SC_PAGESIZE);
    size_t i;

    printf("pid %d\n", (int)getpid());
    printf("start: press Enter to mmap 16 MiB\n");
    getchar();

    /* step 1: map 16 MiB of private anonymous memory */
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }

    printf("mapped 16 MiB at %p: press Enter to write every page\n", (void *)p);
    getchar();

    /* step 2: write one byte in every page */
    for (i = 0; i < size; i += page)
        p[i] = 1;

    printf("wrote every %ld-byte page: press Enter to exit\n", page);
    getchar();
    return 0;
}
