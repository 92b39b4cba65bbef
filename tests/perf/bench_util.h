/*
 * bench_util.h — what the benchmarks (mf_bench.c, mf_bench_workloads.c,
 * mf_bench_local.c) share: the clock, this process's CPU time, the
 * checkable answer of a task, medians. Header-only, static: each
 * benchmark is one program.
 */
#ifndef MF_BENCH_UTIL_H
#define MF_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* Monotonic seconds. */
static inline double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of every thread of this process so far. */
static inline double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* splitmix64's finaliser: task t's answer is mix(t), checked by the root
 * (a wrong or swapped result is seen). */
static inline uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of v[0..n) (at most BENCH_MAX_N values; v is not changed). */
#define BENCH_MAX_N 64
static inline double median(const double *v, int n)
{
    double s[BENCH_MAX_N] = {0};
    if (n > BENCH_MAX_N)
        n = BENCH_MAX_N;
    if (n <= 0)
        return 0;
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

#endif
