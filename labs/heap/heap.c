#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MIB (1024 * 1024)

int main(void)
{
    size_t i;

    printf("pid %d\n", (int)getpid());
    printf("start: press Enter to malloc 10 MiB\n");
    getchar();

    /* step 1: allocate 10 MiB with malloc */
    char *a = malloc(10 * MIB);
    if (a == NULL) { fprintf(stderr, "heap: malloc of 10 MiB failed\n"); return 1; }

    printf("a = %p: press Enter to malloc 50 MiB\n", (void *)a);
    getchar();

    /* step 2: allocate another 50 MiB with malloc */
    char *b = malloc(50 * MIB);
    if (b == NULL) { fprintf(stderr, "heap: malloc of 50 MiB failed\n"); return 1; }

    printf("b = %p: press Enter to write every byte of a (10 MiB)\n", (void *)b);
    getchar();

    /* step 3: write every byte of the first 10 MiB */
    for (i = 0; i < 10 * MIB; i++)
        a[i] = 1;

    printf("wrote 10 MiB at %p: press Enter to free a and b\n", (void *)a);
    getchar();

    /* step 4: free both blocks */
    free(a);
    free(b);

    printf("freed a and b: press Enter to malloc 10 MiB again\n");
    getchar();

    /* step 5: allocate 10 MiB again */
    char *c = malloc(10 * MIB);
    if (c == NULL) { fprintf(stderr, "heap: malloc of 10 MiB failed\n"); return 1; }

    printf("c = %p: press Enter to free c\n", (void *)c);
    getchar();

    /* step 6: free it */
    free(c);

    printf("freed c: press Enter to exit\n");
    getchar();
    return 0;
}
