/* Exercise `resident`: make 50 MiB resident at once.
 *
 * Step 1 below must leave 50 MiB of this process's memory in RAM (resident),
 * without a loop that writes every byte. As given, it uses calloc, which
 * hands out 50 MiB of zeros: run `lab grade resident` and see how much of it
 * is resident, then read the hint. Change only the code of step 1.
 *
 * Ideas to look up: mmap(2) flags, madvise(2) advice, mlock(2).
 * The lab judges by what the kernel shows (/proc/PID/smaps), not by your code.
 */
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
    p = calloc(1, SIZE);
    if (p == NULL) { fprintf(stderr, "resident: out of memory\n"); return 1; }

    printf("50 MiB at %p: press Enter to exit\n", (void *)p);
    getchar();
    return 0;
}
