#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024 * 1024)
#define SIZE (100 * MIB)

/* The parent reads the prompts; the child waits for orders on a pipe and
 * answers on another, so only one process ever reads the terminal. */
static int to_child[2], from_child[2];

static void order(char what)
{
    char done;
    if (write(to_child[1], &what, 1) != 1 || read(from_child[0], &done, 1) != 1) { perror("pipe"); exit(1); }
}

static void child(char *priv, char *shared)
{
    char what;
    while (read(to_child[0], &what, 1) == 1) {
        if (what == 'p') memset(priv, 2, SIZE / 2);      /* write half of the private region */
        if (what == 's') memset(shared, 2, SIZE);        /* write the whole shared region */
        if (what == 'x') exit(0);
        if (write(from_child[1], &what, 1) != 1) exit(1);
    }
    exit(0);
}

int main(void)
{
    pid_t pid;

    printf("pid %d\n", (int)getpid());
    printf("start: press Enter to map and write 100 MiB private, map 100 MiB shared\n");
    getchar();

    /* step 1: 100 MiB private, written; 100 MiB shared, not yet written */
    char *priv = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *shared = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (priv == MAP_FAILED || shared == MAP_FAILED) { perror("mmap"); return 1; }
    memset(priv, 1, SIZE);

    printf("mapped: press Enter to fork\n");
    getchar();

    /* step 2: fork a child */
    if (pipe(to_child) != 0 || pipe(from_child) != 0) { perror("pipe"); return 1; }
    pid = fork();
    if (pid == 0) child(priv, shared);

    printf("child forked: press Enter to let the child write half of the private region\n");
    getchar();

    /* step 3: the child writes 50 MiB of the private region */
    order('p');

    printf("child wrote: press Enter to write the shared region in both processes\n");
    getchar();

    /* step 4: the child, then the parent, write the whole shared region */
    order('s');
    memset(shared, 1, SIZE);

    printf("both wrote: press Enter to end the child\n");
    getchar();

    /* step 5: the child exits */
    if (write(to_child[1], "x", 1) != 1) { perror("pipe"); return 1; }
    waitpid(pid, NULL, 0);

    printf("child ended: press Enter to exit\n");
    getchar();
    return 0;
}
