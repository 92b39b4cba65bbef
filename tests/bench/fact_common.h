/*
 * fact_common.h — shared by the benchmark baselines (fact_seq.c,
 * fact_farm.c): the workload of perf-baseline.md section 3 and a summary
 * of n! (exact digit count, n! mod 2^61-1) computed with plain GMP calls.
 */
#ifndef FACT_COMMON_H
#define FACT_COMMON_H

#include <gmp.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define FC_M61 2305843009213693951ul

static inline double fc_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The workload: 2,000 integers over [1000, 20000], 64 over
 * [50000, 200000]. Returns a malloc'ed array; *count receives 2064. */
static inline unsigned long *fc_workload(size_t *count)
{
    unsigned long *v = malloc(2064 * sizeof *v);
    size_t k = 0;
    for (unsigned long i = 0; i < 2000; i++)
        v[k++] = 1000 + (i * 19000) / 1999;
    for (unsigned long i = 0; i < 64; i++)
        v[k++] = 50000 + (i * 150000) / 63;
    *count = k;
    return v;
}

/* Exact decimal digits: mpz_sizeinbase is exact or one too many. */
static inline unsigned long fc_digits(const mpz_t z)
{
    size_t d = mpz_sizeinbase(z, 10);
    if (d > 1) {
        /* log10 from the top bits decides unless it is too close to call */
        long e;
        double m = mpz_get_d_2exp(&e, z);
        double l = log10(m) + (double)e * 0.30102999566398119521;
        double fl = floor(l), fr = l - fl;
        if (fr > 1e-6 && fr < 1 - 1e-6)
            return (unsigned long)fl + 1;
        mpz_t p;
        mpz_init(p);
        mpz_ui_pow_ui(p, 10, (unsigned long)(d - 1));
        if (mpz_cmpabs(z, p) < 0)
            d--;
        mpz_clear(p);
    }
    return (unsigned long)d;
}

#endif
