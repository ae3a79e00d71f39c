/*
 * shapes: a process with a memory map of a chosen shape, held still so that
 * procps `pmap` and `lab pmap` read exactly the same state (the differential
 * tests in tests/integration/pmap.rs and the benchmark in bench/pmap.sh).
 *
 *   shapes many N     N one-page mappings alternating r-- and rw- (adjacent
 *                     mappings with different permissions never merge), every
 *                     writable page written, every fourth read-only page read
 *   shapes threads N  N threads parked on a condition variable (8 MiB stacks,
 *                     each with a guard page)
 *   shapes files DIR  file mappings made in DIR: private read-only, shared
 *                     written, a deleted file, a name with spaces, a long
 *                     name, /dev/shm, memfd, shared anonymous, SysV shm, a
 *                     named anonymous mapping
 *   shapes long DIR   a file mapping whose name is 200 bytes long
 *   shapes zombie     a child that has exited and is never reaped: prints
 *                     "zombie PID" before "ready"
 *
 * It prints "ready" once the map is built, then blocks in read(0) until its
 * stdin closes, and exits. PR_SET_PDEATHSIG kills it with its parent thread.
 * Built with -static by the tests so that its pages are shared with no other
 * process: shared pages would make Pss depend on which tool is reading. Files
 * are synced once written, so that no writeback turns Dirty pages clean
 * between two readings (tmpfs pages, which are never written back, stay dirty).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

static long page;

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static void *map(size_t len, int prot, int flags, int fd)
{
    void *p = mmap(NULL, len, prot, flags, fd, 0);
    if (p == MAP_FAILED)
        die("mmap");
    return p;
}

static void many(long n)
{
    volatile char sink = 0;
    for (long i = 0; i < n; i++) {
        int writable = i % 2;
        char *p = map(page, writable ? PROT_READ | PROT_WRITE : PROT_READ,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1);
        if (writable)
            p[0] = (char)i;
        else if (i % 4 == 0)
            sink += p[0]; /* the shared zero page: no RSS */
    }
    (void)sink;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static pthread_cond_t arrived = PTHREAD_COND_INITIALIZER;
static long parked;

static void *park(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    parked++;
    pthread_cond_signal(&arrived);
    for (;;)
        pthread_cond_wait(&never, &lock);
    return NULL;
}

/* Whether every thread but the main one sleeps (state S in its stat): then
 * none of them touches its stack any more, and two readings of the map
 * agree. */
static int all_asleep(void)
{
    DIR *dir = opendir("/proc/self/task");
    struct dirent *e;
    int asleep = 1;
    if (!dir)
        die("/proc/self/task");
    while ((e = readdir(dir)) != NULL && asleep) {
        char path[300], buf[512], *paren;
        if (e->d_name[0] == '.' || atol(e->d_name) == (long)getpid())
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        paren = strrchr(buf, ')');
        if (!paren || paren[1] != ' ' || paren[2] != 'S')
            asleep = 0;
    }
    closedir(dir);
    return asleep;
}

static void threads(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, park, NULL))
            die("pthread_create");
    }
    pthread_mutex_lock(&lock);
    while (parked < n)
        pthread_cond_wait(&arrived, &lock);
    pthread_mutex_unlock(&lock);
    while (!all_asleep())
        usleep(1000);
}

/* A file of `pages` pages filled with a byte, opened read-write. */
static int make_file(const char *path, long pages)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die(path);
    char *buf = malloc(page);
    memset(buf, 'x', page);
    for (long i = 0; i < pages; i++)
        if (write(fd, buf, page) != page)
            die("write");
    free(buf);
    if (fsync(fd))
        die("fsync");
    return fd;
}

static void touch(volatile char *p, long len, int write)
{
    for (long i = 0; i < len; i += page) {
        if (write)
            p[i] = 1;
        else
            (void)p[i];
    }
}

static void files(const char *dir)
{
    char path[4096];

    /* Private read-only file mapping, half read. */
    snprintf(path, sizeof path, "%s/data.bin", dir);
    int fd = make_file(path, 16);
    touch(map(16 * page, PROT_READ, MAP_PRIVATE, fd), 8 * page, 0);
    /* Private writable file mapping: copy-on-write pages become anonymous. */
    touch(map(16 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd), 4 * page, 1);
    close(fd);

    /* Shared file mapping, written, then synced (clean again). */
    snprintf(path, sizeof path, "%s/shared.bin", dir);
    fd = make_file(path, 8);
    char *shared = map(8 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    touch(shared, 8 * page, 1);
    if (msync(shared, 8 * page, MS_SYNC))
        die("msync");
    close(fd);

    /* A file deleted while mapped: "(deleted)" after its name. */
    snprintf(path, sizeof path, "%s/gone.bin", dir);
    fd = make_file(path, 4);
    touch(map(4 * page, PROT_READ, MAP_SHARED, fd), 4 * page, 0);
    close(fd);
    if (unlink(path))
        die("unlink");

    /* A name with spaces, and a longish one (still within the 127 bytes
     * procps keeps of a -X name, in a short DIR: see `shapes long`). */
    snprintf(path, sizeof path, "%s/with some spaces.bin", dir);
    fd = make_file(path, 2);
    touch(map(2 * page, PROT_READ, MAP_PRIVATE, fd), 2 * page, 0);
    close(fd);
    snprintf(path, sizeof path, "%s/%s", dir, "a-file-name-that-goes-on-and-on-for-a-while.bin");
    fd = make_file(path, 1);
    touch(map(page, PROT_READ, MAP_PRIVATE, fd), page, 0);
    close(fd);

    /* POSIX shared memory: a tmpfs file in /dev/shm, written. */
    snprintf(path, sizeof path, "/dev/shm/pmap-lab-shapes-%d", (int)getpid());
    fd = make_file(path, 8);
    touch(map(8 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd), 8 * page, 1);
    close(fd);
    unlink(path); /* leave nothing behind; the mapping stays, "(deleted)" */

    /* memfd: named "/memfd:NAME (deleted)" by the kernel. */
    fd = memfd_create("pmap lab", 0);
    if (fd < 0)
        die("memfd_create");
    if (ftruncate(fd, 4 * page))
        die("ftruncate");
    touch(map(4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd), 2 * page, 1);
    close(fd);

    /* Shared anonymous memory: "/dev/zero (deleted)". */
    touch(map(16 * page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1),
          8 * page, 1);

    /* SysV shared memory: procps names it "[ shmid=0x... ]". Removed at once
     * (IPC_RMID), so it goes away with the process. */
    int id = shmget(IPC_PRIVATE, 4 * page, IPC_CREAT | 0600);
    if (id < 0)
        die("shmget");
    char *shm = shmat(id, NULL, 0);
    if (shm == (void *)-1)
        die("shmat");
    shmctl(id, IPC_RMID, NULL);
    touch(shm, 2 * page, 1);

    /* A named anonymous mapping, "[anon:pmap lab]" (Linux 5.17+; ignored
     * where the kernel lacks CONFIG_ANON_VMA_NAME). */
    char *named = map(8 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, named, 8 * page, "pmap lab");
    touch(named, 3 * page, 1);

    /* A large anonymous mapping, partly written. */
    touch(map(1024 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1),
          100 * page, 1);
    /* A guard-like PROT_NONE mapping. */
    map(4 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
}

/* One file mapping with a 200-byte name. */
static void long_name(const char *dir)
{
    char path[4096], name[201];
    memset(name, 'n', 200);
    name[200] = '\0';
    memcpy(name, "long-", 5);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = make_file(path, 1);
    touch(map(page, PROT_READ, MAP_PRIVATE, fd), page, 0);
    close(fd);
}

static void zombie(void)
{
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0)
        _exit(0);
    /* Wait until it is a zombie, so that whoever reads it sees one. */
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)child);
    for (int tries = 0; tries < 1000; tries++) {
        FILE *f = fopen(path, "r");
        int zombie = 0;
        if (f && fgets(stat, sizeof stat, f))
            zombie = strstr(stat, ") Z ") != NULL;
        if (f)
            fclose(f);
        if (zombie)
            break;
        usleep(1000);
    }
    printf("zombie %d\n", (int)child);
}

int main(int argc, char **argv)
{
    page = sysconf(_SC_PAGESIZE);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (argc < 2) {
        fprintf(stderr, "usage: shapes many N | threads N | files DIR | long DIR | zombie\n");
        return 2;
    }
    if (strcmp(argv[1], "many") == 0 && argc == 3)
        many(atol(argv[2]));
    else if (strcmp(argv[1], "threads") == 0 && argc == 3)
        threads(atol(argv[2]));
    else if (strcmp(argv[1], "files") == 0 && argc == 3)
        files(argv[2]);
    else if (strcmp(argv[1], "long") == 0 && argc == 3)
        long_name(argv[2]);
    else if (strcmp(argv[1], "zombie") == 0 && argc == 2)
        zombie();
    else {
        fprintf(stderr, "shapes: unknown shape\n");
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    char c;
    for (;;) {
        ssize_t got = read(0, &c, 1);
        if (got > 0 || (got < 0 && errno == EINTR))
            continue;
        return 0;
    }
}
