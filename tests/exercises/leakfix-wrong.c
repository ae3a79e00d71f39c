/* A wrong solution of the `leakfix` exercise: it frees the text on one more
 * path, but requests with an id divisible by 4 still leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 2048
#define STEPS 5

static size_t handled_bytes;

/* The text of a request, in a buffer of its own. */
static char *describe(int id)
{
    char *text = malloc(1000);
    if (text == NULL) { fprintf(stderr, "leakfix: out of memory\n"); exit(1); }
    snprintf(text, 1000, "request %d from client %d", id, id % 17);
    return text;
}

/* Handle one request; even ones are only counted. */
static void handle(int id)
{
    char *text = describe(id);
    handled_bytes += strlen(text);
    if (id % 2 == 0) {
        if (id % 4 != 0)
            free(text);
        return;
    }
    handled_bytes += 1;
    free(text);
}

static void batch(int n)
{
    int i;
    for (i = 0; i < BATCH; i++)
        handle(n * BATCH + i);
}

int main(int argc, char **argv)
{
    int step;

    if (argc > 1) {
        for (step = 0;; step++) { batch(step); usleep(atoi(argv[1]) * 1000); }
    }
    printf("start: press Enter to handle 2048 requests\n");
    getchar();
    for (step = 1; step <= STEPS; step++) {
        /* step 1-5: handle a batch of 2048 requests */
        batch(step);
        printf("handled %d batches (%zu bytes): press Enter to %s\n", step, handled_bytes,
               step < STEPS ? "handle 2048 more" : "exit");
        getchar();
    }
    return 0;
}
