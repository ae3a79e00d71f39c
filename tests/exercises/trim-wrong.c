/* A wrong solution of the `trim` exercise: M_TRIM_THRESHOLD only says when a
 * later free() trims the top of [heap]; it gives nothing back by itself, and
 * never the pages in the middle. */
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
    mallopt(M_TRIM_THRESHOLD, 0);

    for (i = 0; i < BLOCKS; i += KEEP_EVERY)
        if (blocks[i][999] != (char)(i & 0xff)) { fprintf(stderr, "trim: block %d changed\n", i); return 1; }
    printf("done: press Enter to exit\n");
    getchar();
    return 0;
}
