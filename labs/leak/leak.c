#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* usage: leak [heap|mmap] [MS]
 * Leaks about 1 MiB per step: 1024 blocks of 1000 bytes from malloc (heap),
 * or one 1 MiB anonymous mmap (mmap), written and never freed.
 * With MS, leaks every MS milliseconds without prompts, until killed. */

#define STEPS 5

/* Every leaked block is stored here: the compiler cannot prove the writes
 * unused and delete them with the mallocs (gcc and clang do at -O2). */
static void *volatile sink;

static void leak_once(int use_mmap)
{
    int i;
    if (use_mmap) {
        char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { perror("mmap"); exit(1); }
        memset(p, 1, 1 << 20);
        sink = p;
    } else {
        for (i = 0; i < 1024; i++) {
            char *p = malloc(1000);
            if (p == NULL) { fprintf(stderr, "leak: malloc failed\n"); exit(1); }
            memset(p, 1, 1000);
            sink = p;
        }
    }
}

int main(int argc, char **argv)
{
    int use_mmap = argc > 1 && strcmp(argv[1], "mmap") == 0;
    int step;

    printf("pid %d\n", (int)getpid());
    if (argc > 2) {
        for (;;) { leak_once(use_mmap); usleep(atoi(argv[2]) * 1000); }
    }
    printf("start: press Enter to leak 1 MiB\n");
    getchar();

    for (step = 1; step <= STEPS; step++) {
        /* step 1-5: leak about 1 MiB, once per step */
        leak_once(use_mmap);

        printf("leaked %d times: press Enter to %s\n", step, step < STEPS ? "leak 1 MiB more" : "exit");
        getchar();
    }
    return 0;
}
