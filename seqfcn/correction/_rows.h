/* Run a per-row kernel over rows [0, n) on up to `threads` POSIX threads (contiguous blocks
 * of rows; the calling thread takes the first). Shared by seqfcn's compiled k-mer kernels;
 * call with the GIL released. Each call of fn gets its own row range and thread index, so
 * per-thread scratch buffers are indexed by `t`. Returns 0, or -1 when a thread could not
 * be started (its rows are then run by the calling thread: the result is the same). */
#ifndef SEQFCN_ROWS_H
#define SEQFCN_ROWS_H
#include <stddef.h>
#ifndef _WIN32
#include <pthread.h>
#endif

#define SEQFCN_MAX_THREADS 64

typedef void (*rows_fn)(void *ctx, ptrdiff_t start, ptrdiff_t stop, int t);

typedef struct { rows_fn fn; void *ctx; ptrdiff_t start, stop; int t; } rows_job;

#ifndef _WIN32
static void *rows_run(void *arg)
{
    rows_job *j = (rows_job *)arg;
    j->fn(j->ctx, j->start, j->stop, j->t);
    return NULL;
}
#endif

static inline int rows_threads(ptrdiff_t n, int threads)
{
    if (threads < 1) threads = 1;
    if (threads > SEQFCN_MAX_THREADS) threads = SEQFCN_MAX_THREADS;
    if ((ptrdiff_t)threads > n / 64) threads = (int)(n / 64 > 1 ? n / 64 : 1);  /* not worth it for few rows */
    return threads;
}

#ifdef _WIN32
static int run_rows(ptrdiff_t n, int threads, rows_fn fn, void *ctx)
{
    (void)threads;  /* no POSIX threads: one thread, the same result */
    fn(ctx, 0, n, 0);
    return 0;
}
#else
static int run_rows(ptrdiff_t n, int threads, rows_fn fn, void *ctx)
{
    threads = rows_threads(n, threads);
    rows_job jobs[SEQFCN_MAX_THREADS];
    pthread_t ids[SEQFCN_MAX_THREADS];
    int started[SEQFCN_MAX_THREADS] = {0}, status = 0;
    for (int t = 0; t < threads; t++) {
        jobs[t].fn = fn; jobs[t].ctx = ctx; jobs[t].t = t;
        jobs[t].start = n * t / threads; jobs[t].stop = n * (t + 1) / threads;
    }
    for (int t = 1; t < threads; t++)
        started[t] = pthread_create(&ids[t], NULL, rows_run, &jobs[t]) == 0;
    fn(ctx, jobs[0].start, jobs[0].stop, 0);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(ids[t], NULL);
        else {
            fn(ctx, jobs[t].start, jobs[t].stop, 0 /* scratch of thread 0: it is done */);
            status = -1;
        }
    }
    return status;
}
#endif
#endif
