/*
 * common.h — what every file of mf-factorial shares: the exit statuses,
 * this process's rank, the little-endian words of the task formats, the
 * clocks, and the reader of the test-hook variables.
 *
 * Design: these are facts of the whole program, not of one part of it, so
 * they sit in one leaf that includes nothing of the program's own. The
 * word and clock helpers are static inline: a few lines each, called in
 * the inner loops of the tasks, and no symbol of the program can collide
 * with one of the libraries it links statically.
 */
#ifndef MF_FACTORIAL_COMMON_H
#define MF_FACTORIAL_COMMON_H

#include <stdint.h>
#include <time.h>

/* Exit codes (documented in --help). */
enum {
    EX_OK = 0,
    EX_USAGE = 2,      /* bad command line or input: nothing was computed */
    EX_RUNTIME = 3,    /* MPI/executor failure, a task failed, I/O error */
    EX_CHECK = 4,      /* --check found a result different from mpz_fac_ui */
    EX_INTERRUPTED = 5 /* a signal (walltime warning) stopped the run */
};

/* This process's rank in MPI_COMM_WORLD (set by main before anything). */
extern int g_rank;

/* ---- little-endian words ---------------------------------------------- */

static inline void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* CPU time of the calling thread (for MF_FACTORIAL_TRACE). */
static inline double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* An environment variable as a number (test hooks; -1 if unset). */
long env_long(const char *name);

#endif
