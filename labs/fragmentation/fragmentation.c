#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#else
/* malloc_trim is glibc's own; with another C library (musl) those steps do
 * nothing, and the lab says its checks do not apply there. */
static int malloc_trim(size_t pad) { (void)pad; return 0; }
#endif

#define COUNT 1000000
#define BLOCK 64

int main(void)
{
    char **blocks;
    size_t i;

    printf("pid %d\n", (int)getpid());
    printf("start: press Enter to malloc %d blocks of %d bytes\n", COUNT, BLOCK);
    getchar();

    /* step 1: malloc 1,000,000 blocks of 64 bytes and write them */
    blocks = malloc(COUNT * sizeof(char *));
    for (i = 0; i < COUNT; i++) { blocks[i] = malloc(BLOCK); memset(blocks[i], 1, BLOCK); }

    printf("allocated: press Enter to free every other block\n");
    getchar();

    /* step 2: free every other block */
    for (i = 0; i < COUNT; i += 2)
        free(blocks[i]);

    printf("freed half: press Enter to call malloc_trim(0)\n");
    getchar();

    /* step 3: ask glibc to give free memory back */
    malloc_trim(0);

    printf("trimmed: press Enter to free the other half\n");
    getchar();

    /* step 4: free the other blocks and the array */
    for (i = 1; i < COUNT; i += 2)
        free(blocks[i]);
    free(blocks);

    printf("freed all: press Enter to call malloc_trim(0) again\n");
    getchar();

    /* step 5: ask glibc to give free memory back again */
    malloc_trim(0);

    printf("trimmed: press Enter to exit\n");
    getchar();
    return 0;
}
