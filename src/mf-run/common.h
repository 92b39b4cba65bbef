/*
 * common.h — what every file of mf-run shares: the exit statuses, this
 * process's identity (rank, host, whether MPI runs), the clocks, the
 * message and allocation helpers, and the reader of whole numbers.
 *
 * Design: these are facts of the whole program, not of one part of it,
 * so they sit in one leaf that includes nothing of the program's own.
 * An allocation that fails ends the process (EX_INTERNAL): mf-run has no
 * way to go on without the memory, and every caller would only pass the
 * failure up. The clocks are static inline: two lines each, called in
 * the worker's wait loop.
 */
#ifndef MF_RUN_COMMON_H
#define MF_RUN_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mpifutures.h>

/* Exit statuses (documented in --help). */
#define EX_BADINPUT 2
#define EX_INTERRUPTED 5
#define EX_INTERNAL 255

/* This process's rank (a worker process of a run alone: its pool
 * number) and host name, for the commands' environment and the job log. */
extern int g_rank;
extern char g_host[64];
/* Started by an MPI launcher (else alone: MPI is never initialised). */
extern int g_mpi;

static inline double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "mf-run: <message>" and a newline on standard error. */
void die_msg(const char *fmt, ...) MF_PRINTF(1, 2);

/* Write all of buf (through EINTR): 0, or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);

/* malloc/realloc that end the process (EX_INTERNAL) when out of memory. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);

/* A whole number of decimal digits only, at most max: 0, else -1. */
int parse_uint(const char *s, unsigned long long max,
               unsigned long long *out);

#endif
