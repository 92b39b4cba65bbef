/*
 * fact_seq — the sequential GMP baseline of scripts/bench-factorial.
 *
 *   fact_seq            the workload, one process: mpz_fac_ui on each n,
 *                       exact digits and n! mod 2^61-1
 *   fact_seq huge N     mpz_fac_ui(N) once, with digits and checksum
 *
 * Prints the same lines as mf-factorial (summary:/huge:), with seconds
 * from the first factorial to the last result.
 */
#include <math.h>
#include <stdio.h>

#include "fact_common.h"

int main(int argc, char **argv)
{
    mpz_t z;
    mpz_init(z);
    if (argc == 3) {
        unsigned long n = strtoul(argv[2], NULL, 10);
        double t0 = fc_now();
        mpz_fac_ui(z, n);
        unsigned long d = fc_digits(z);
        unsigned long x = mpz_fdiv_ui(z, FC_M61);
        printf("huge: n=%lu digits=%lu checksum=%lu seconds=%.3f\n", n, d, x,
               fc_now() - t0);
        mpz_clear(z);
        return 0;
    }
    size_t count;
    unsigned long *v = fc_workload(&count);
    unsigned long long digits = 0, sum = 0;
    double t0 = fc_now();
    for (size_t i = 0; i < count; i++) {
        mpz_fac_ui(z, v[i]);
        digits += fc_digits(z);
        sum = (sum + mpz_fdiv_ui(z, FC_M61)) % FC_M61;
    }
    printf("summary: count=%zu digits=%llu checksum=%llu seconds=%.3f\n",
           count, digits, sum, fc_now() - t0);
    free(v);
    mpz_clear(z);
    return 0;
}
