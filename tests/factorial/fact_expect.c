/*
 * fact_expect — independent oracle for the mf-factorial tests.
 *
 * Computes, in one process and with GMP only (none of mf-factorial's
 * code), the lines mf-factorial must print:
 *
 *   fact_expect [N | range:LO:HI:COUNT | huge:N | dec:N]...
 *
 *   summary: count=C digits=D checksum=X    (for the N and range items)
 *   huge: n=N digits=D checksum=X           (for each huge:N)
 *   <decimal value of N!>                   (for each dec:N, alone)
 *   N! = <decimal value of N!>              (for each line:N, as --print)
 *
 *   fact_expect order [N | range:LO:HI:COUNT]...
 *
 * prints the integers of the set, one per line, in input order.
 *
 * Digits: mpz_sizeinbase(.., 10) corrected by an exact comparison with
 * 10^(d-1); checksum: sum of mpz_fdiv_ui(N!, 2^61-1) (GMP division).
 */
#include <gmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned long M61 = 2305843009213693951ul; /* 2^61 - 1 */

static unsigned long long digits_of(const mpz_t z)
{
    size_t d = mpz_sizeinbase(z, 10);
    if (d > 1) {
        mpz_t p;
        mpz_init(p);
        mpz_ui_pow_ui(p, 10, (unsigned long)(d - 1));
        if (mpz_cmpabs(z, p) < 0)
            d--;
        mpz_clear(p);
    }
    return (unsigned long long)d;
}

static void print_dec(const mpz_t z)
{
    char *s = mpz_get_str(NULL, 10, z);
    fputs(s, stdout);
    free(s);
}

static unsigned long parse(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s < '0' || *s > '9' || (*end != '\0' && *end != ':')) {
        fprintf(stderr, "fact_expect: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    if (sizeof(unsigned long) < 8) {
        fprintf(stderr, "fact_expect: needs 64-bit unsigned long\n");
        return 2;
    }
    int order = argc > 1 && strcmp(argv[1], "order") == 0;
    mpz_t z;
    mpz_init(z);
    unsigned long long count = 0, digits = 0, sum = 0;
    int have_set = 0, dec_only = 1;
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "dec:", 4) != 0 &&
            strncmp(argv[i], "line:", 5) != 0)
            dec_only = 0;
    for (int i = 1 + order; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "line:", 5) == 0) {
            unsigned long n = parse(a + 5);
            mpz_fac_ui(z, n);
            printf("%lu! = ", n);
            print_dec(z);
            putchar('\n');
        } else if (strncmp(a, "dec:", 4) == 0) {
            mpz_fac_ui(z, parse(a + 4));
            print_dec(z);
            putchar('\n');
        } else if (strncmp(a, "huge:", 5) == 0) {
            unsigned long n = parse(a + 5);
            mpz_fac_ui(z, n);
            printf("huge: n=%lu digits=%llu checksum=%lu\n", n, digits_of(z),
                   mpz_fdiv_ui(z, M61));
        } else {
            unsigned long lo, hi, cnt;
            if (strncmp(a, "range:", 6) == 0) {
                const char *p = a + 6;
                lo = parse(p);
                p = strchr(p, ':');
                hi = p ? parse(p + 1) : 0;
                p = p ? strchr(p + 1, ':') : NULL;
                cnt = p ? parse(p + 1) : 0;
                if (!p || cnt == 0 || hi < lo) {
                    fprintf(stderr, "fact_expect: bad range '%s'\n", a);
                    return 2;
                }
            } else {
                lo = hi = parse(a);
                cnt = 1;
            }
            have_set = 1;
            for (unsigned long k = 0; k < cnt; k++) {
                unsigned long n =
                    cnt == 1 ? lo : lo + (k * (hi - lo)) / (cnt - 1);
                if (order) {
                    printf("%lu\n", n);
                    continue;
                }
                mpz_fac_ui(z, n);
                count++;
                digits += digits_of(z);
                sum = (sum + mpz_fdiv_ui(z, M61)) % M61;
            }
        }
    }
    if (!order && (!dec_only || have_set))
        printf("summary: count=%llu digits=%llu checksum=%llu\n", count,
               digits, sum);
    mpz_clear(z);
    return 0;
}
