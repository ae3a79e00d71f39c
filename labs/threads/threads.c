#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NTHREADS 100

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int phase = 0;      /* 0: sleep, 1: malloc, 2: exit */
static int done = 0;       /* threads that finished their malloc */
/* Storing each block here keeps the mallocs at any optimisation level: a
 * compiler may delete a malloc whose result is never used (gcc and clang do
 * at -O2), and then no arena is ever created. */
static void *volatile sink;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lock);
    while (phase == 0)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);

    void *p = malloc(1024);   /* a thread's first malloc picks (or creates) an arena */
    sink = p;

    pthread_mutex_lock(&lock);
    done++;
    pthread_cond_broadcast(&changed);
    while (phase == 1)
        pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    free(p);
    return NULL;
}

static void set_phase(int p)
{
    pthread_mutex_lock(&lock);
    phase = p;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
}

int main(void)
{
    pthread_t threads[NTHREADS];
    int i;

    printf("pid %d\n", (int)getpid());
    printf("start: press Enter to start %d threads\n", NTHREADS);
    getchar();

    /* step 1: start 100 threads that sleep */
    for (i = 0; i < NTHREADS; i++)
        if (pthread_create(&threads[i], NULL, worker, NULL) != 0) { fprintf(stderr, "threads: pthread_create failed\n"); return 1; }

    printf("%d threads sleeping: press Enter to let each call malloc\n", NTHREADS);
    getchar();

    /* step 2: every thread calls malloc(1024) once */
    set_phase(1);
    pthread_mutex_lock(&lock);
    while (done < NTHREADS) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);

    printf("every thread has malloc'ed: press Enter to end the threads\n");
    getchar();

    /* step 3: end and join every thread */
    set_phase(2);
    for (i = 0; i < NTHREADS; i++)
        pthread_join(threads[i], NULL);

    printf("threads joined: press Enter to exit\n");
    getchar();
    return 0;
}
