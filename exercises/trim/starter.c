/* Exercise `trim`: give a fragmented heap's memory back to the system.
 *
 * Step 1 fills [heap] with 100,000 blocks of 1000 bytes (about 98 MiB, all
 * written); step 2 frees all of them but every 64th. free() cannot shrink
 * [heap] (the blocks still in use are spread over all of it) and leaves the
 * freed pages resident. Step 3 must make the process's RSS fall by most of
 * the freed memory while the 1,563 blocks still in use stay where they are
 * (the program checks them). As given, step 3 does nothing: run
 * `lab grade trim`, then read the hint. Change only the code of step 3.
 *
 * The lab judges by what the kernel shows (/proc/PID/smaps), not by your code.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS 100000
#define KEEP_EVERY 64

static char *blocks[BLOCKS];

int main(void)
{
    int i;

    printf("start: press Enter to fill [heap]\n");
    getchar();

    /* step 1: malloc and write 100,000 blocks of 1000 bytes */
    for (i = 0; i < BLOCKS; i++) {
        blocks[i] = malloc(1000);
        if (blocks[i] == NULL) { fprintf(stderr, "trim: out of memory\n"); return 1; }
        memset(blocks[i], i & 0xff, 1000);
    }
    printf("heap filled: press Enter to free all but every 64th block\n");
    getchar();

    /* step 2: free all but every 64th block */
    for (i = 0; i < BLOCKS; i++)
        if (i % KEEP_EVERY != 0) { free(blocks[i]); blocks[i] = NULL; }
    printf("freed: press Enter to give the freed memory back\n");
    getchar();

    /* step 3: give the freed memory back to the system (the kept blocks stay) */

    for (i = 0; i < BLOCKS; i += KEEP_EVERY)
        if (blocks[i][999] != (char)(i & 0xff)) { fprintf(stderr, "trim: block %d changed\n", i); return 1; }
    printf("done: press Enter to exit\n");
    getchar();
    return 0;
}
