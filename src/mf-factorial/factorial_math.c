/*
 * factorial_math.c — number theory for mf-factorial (see factorial_math.h).
 */
#include "factorial_math.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 mff_u128;

/* ---- mod M = 2^61 - 1 ---------------------------------------------- */

static uint64_t fold61(uint64_t x) /* x < 2^64 -> x mod M */
{
    x = (x & MFF_MOD) + (x >> 61);
    x = (x & MFF_MOD) + (x >> 61);
    return x >= MFF_MOD ? x - MFF_MOD : x;
}

static uint64_t mulmod61(uint64_t a, uint64_t b) /* a, b < M */
{
    mff_u128 p = (mff_u128)a * b;
    uint64_t lo = (uint64_t)p & MFF_MOD;
    uint64_t hi = (uint64_t)(p >> 61); /* < 2^61 */
    return fold61(lo + hi);
}

uint64_t mff_mod_m(const mpz_t z)
{
#if GMP_NUMB_BITS == 64
    size_t n = mpz_size(z);
    const mp_limb_t *d = mpz_limbs_read(z);
    uint64_t r = 0;
    /* 2^64 = 8 (mod M): Horner from the top limb. */
    for (size_t i = n; i-- > 0;) {
        uint64_t x = fold61(r << 3) + fold61((uint64_t)d[i]);
        r = fold61(x);
    }
    return r;
#else
    mpz_t m, t;
    mpz_init_set_str(m, "2305843009213693951", 10);
    mpz_init(t);
    mpz_abs(t, z);
    mpz_mod(t, t, m);
    uint64_t r = 0;
    mpz_export(&r, NULL, -1, sizeof r, 0, 0, t);
    mpz_clears(m, t, NULL);
    return r;
#endif
}

uint64_t mff_fact_mod_m(uint64_t n)
{
    if (n >= MFF_MOD)
        return 0;
    uint64_t r = 1;
    for (uint64_t i = 2; i <= n; i++)
        r = mulmod61(r, i);
    return r;
}

/* ---- decimal digits ---------------------------------------------- */

static void pow10_z(mpz_t r, uint64_t k)
{
    mpz_ui_pow_ui(r, 10, (unsigned long)k);
}

uint64_t mff_digits(const mpz_t z)
{
    if (mpz_sgn(z) == 0)
        return 1;
    uint64_t d0 = mpz_sizeinbase(z, 10); /* exact or one too many */
    if (d0 <= 1)
        return 1;
    long e = 0;
    double m = fabs(mpz_get_d_2exp(&e, z)); /* |z| = m 2^e, m in [0.5,1) */
    long double l = log10l((long double)m) +
                    (long double)e * 0.301029995663981195213738894724493L;
    long double fl = floorl(l);
    long double frac = l - fl;
    /* The estimate's error is far below 1e-9 for any |z| GMP can hold. */
    if (frac > 1e-9L && frac < 1.0L - 1e-9L) {
        uint64_t d = (uint64_t)fl + 1;
        if (d == d0 || d + 1 == d0)
            return d;
    }
    /* Near a power of ten: compare with 10^(d0-1) exactly. */
    mpz_t p, a;
    mpz_init(p);
    mpz_init(a);
    pow10_z(p, d0 - 1);
    mpz_abs(a, z);
    uint64_t d = mpz_cmp(a, p) < 0 ? d0 - 1 : d0;
    mpz_clears(p, a, NULL);
    return d;
}

static const uint64_t pow10_tab[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};

uint64_t mff_leading(const mpz_t z, uint64_t digits, int k)
{
    if (k < 1)
        k = 1;
    if (k > 18)
        k = 18;
    mpz_t a;
    mpz_init(a);
    mpz_abs(a, z);
    uint64_t r;
    if (digits <= (uint64_t)k) {
        r = (uint64_t)mpz_get_ui(a); /* fits: < 10^18 */
        mpz_clear(a);
        return r;
    }
    uint64_t shift = digits - (uint64_t)k;
    /* floor(|z| / 10^shift) from a 256-bit float quotient; exact fallback
     * when the quotient is within 2^-100 of an integer. */
    mpf_t fz, fp;
    mpf_init2(fz, 256);
    mpf_init2(fp, 256);
    mpf_set_z(fz, a);
    mpf_set_ui(fp, 10);
    mpf_pow_ui(fp, fp, (unsigned long)shift);
    mpf_div(fz, fz, fp);
    mpf_floor(fp, fz);
    r = (uint64_t)mpf_get_ui(fp);
    mpf_sub(fz, fz, fp); /* fractional part */
    mpf_t eps;
    mpf_init2(eps, 64);
    mpf_set_ui(eps, 1);
    mpf_div_2exp(eps, eps, 100);
    mpf_t one_m;
    mpf_init2(one_m, 256);
    mpf_ui_sub(one_m, 1, eps);
    int risky = mpf_cmp(fz, eps) < 0 || mpf_cmp(fz, one_m) > 0;
    mpf_clears(fz, fp, eps, one_m, NULL);
    if (risky || r < pow10_tab[k - 1] || r >= pow10_tab[k]) {
        mpz_t p;
        mpz_init(p);
        pow10_z(p, shift);
        mpz_tdiv_q(a, a, p);
        r = (uint64_t)mpz_get_ui(a);
        mpz_clear(p);
    }
    mpz_clear(a);
    return r;
}

/* ---- trailing digits of n! ------------------------------------------ */

uint64_t mff_fact_zeros(uint64_t n)
{
    uint64_t z = 0;
    while (n >= 5) {
        n /= 5;
        z += n;
    }
    return z;
}

uint64_t mff_fact_twos(uint64_t n)
{
    return n - (uint64_t)__builtin_popcountll(n);
}

#define Q5 1953125u /* 5^9 */

static uint32_t *p5_table; /* p5_table[i] = prod_{j<=i, 5 !| j} j mod 5^9 */
static pthread_once_t p5_once = PTHREAD_ONCE_INIT;

static void p5_build(void)
{
    uint32_t *t = malloc(sizeof *t * Q5);
    if (t == NULL)
        return;
    uint64_t acc = 1;
    t[0] = 1;
    for (uint32_t i = 1; i < Q5; i++) {
        if (i % 5 != 0)
            acc = acc * i % Q5;
        t[i] = (uint32_t)acc;
    }
    p5_table = t;
}

static uint64_t inv_mod_2_64(uint64_t a) /* a odd */
{
    uint64_t x = a;
    for (int i = 0; i < 5; i++)
        x *= 2 - a * x;
    return x;
}

static uint64_t powmod(uint64_t b, uint64_t e, uint64_t m)
{
    uint64_t r = 1 % m;
    b %= m;
    while (e) {
        if (e & 1)
            r = (uint64_t)((mff_u128)r * b % m);
        b = (uint64_t)((mff_u128)b * b % m);
        e >>= 1;
    }
    return r;
}

/* 64 bits of |z| starting at bit `off`. */
static uint64_t bits_at(const mpz_t z, uint64_t off)
{
    size_t li = (size_t)(off / GMP_NUMB_BITS);
    unsigned sh = (unsigned)(off % GMP_NUMB_BITS);
    uint64_t lo = (uint64_t)mpz_getlimbn(z, (mp_size_t)li);
    if (sh == 0)
        return lo;
    uint64_t hi = (uint64_t)mpz_getlimbn(z, (mp_size_t)li + 1);
    return (lo >> sh) | (hi << (GMP_NUMB_BITS - sh));
}

uint64_t mff_fact_tail9(uint64_t n, const mpz_t z)
{
    uint64_t v5 = mff_fact_zeros(n);
    uint64_t v2 = mff_fact_twos(n);
    /* mod 5^9: n!/5^v5 = P(n) * (n/5)!/5^.., P(n) = (-1)^(n/Q) p5[n mod Q].
     */
    pthread_once(&p5_once, p5_build);
    uint64_t b;
    if (p5_table != NULL) {
        uint64_t f = 1;
        for (uint64_t m = n; m > 1; m /= 5) {
            uint64_t p = p5_table[m % Q5];
            if ((m / Q5) & 1)
                p = (Q5 - p) % Q5;
            f = f * p % Q5;
        }
        b = f * powmod((Q5 + 1) / 2, v5, Q5) % Q5;
    } else { /* no memory for the table: from z directly */
        mpz_t q;
        mpz_init(q);
        mpz_ui_pow_ui(q, 10, (unsigned long)v5);
        mpz_divexact(q, z, q);
        b = (uint64_t)mpz_fdiv_ui(q, Q5);
        mpz_clear(q);
    }
    /* mod 2^9: 0 if at least 9 twos remain, else from z's bits. */
    uint64_t a = 0;
    if (v2 - v5 < 9) {
        uint64_t w = bits_at(z, v5); /* (n! >> v5) mod 2^64 */
        uint64_t inv5 = inv_mod_2_64(5);
        uint64_t i5 = 1;
        for (uint64_t i = 0; i < v5; i++)
            i5 *= inv5;
        a = (w * i5) & 511u;
    }
    /* CRT: x = b (mod 5^9), x = a (mod 2^9). */
    uint64_t qinv = inv_mod_2_64(Q5) & 511u;
    uint64_t t = ((a + 512u * 4096u - (b & 511u)) * qinv) & 511u;
    return b + (uint64_t)Q5 * t;
}

double mff_fact_bits(uint64_t n)
{
    return lgamma((double)n + 1.0) / log(2.0);
}

int mff_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL)
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s < '0' || *s > '9')
        return -1;
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9') {
        unsigned dgt = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            return -1;
        v = v * 10 + dgt;
        s++;
    }
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    if (*s != '\0')
        return -1;
    *out = v;
    return 0;
}

/* ---- huge n!: prime-exponent split ----------------------------------- */

/* r = product of v[0..n-1] (each >= 1) by a balanced tree. */
static void prod_tree(mpz_t r, const unsigned long *v, size_t n)
{
    if (n <= 16) {
        mpz_set_ui(r, 1);
        for (size_t i = 0; i < n; i++)
            mpz_mul_ui(r, r, v[i]);
        return;
    }
    size_t mid = n / 2;
    mpz_t t;
    mpz_init(t);
    prod_tree(r, v, mid);
    prod_tree(t, v + mid, n - mid);
    mpz_mul(r, r, t);
    mpz_clear(t);
}

/* Odd-number sieve: c[i] != 0 iff 2i+1 is composite (i >= 1). */
static unsigned char *sieve_odd(uint64_t n)
{
    size_t len = (size_t)(n / 2 + 1);
    unsigned char *c = calloc(len, 1);
    if (c == NULL)
        return NULL;
    for (uint64_t p = 3; p * p <= n; p += 2) {
        if (c[p / 2])
            continue;
        for (uint64_t q = p * p; q <= n; q += 2 * p)
            c[q / 2] = 1;
    }
    return c;
}

static uint64_t legendre(uint64_t n, uint64_t p)
{
    uint64_t e = 0;
    while (n >= p) {
        n /= p;
        e += n;
    }
    return e;
}

/* The primes of part k of K (every K-th odd prime <= n, from the sieve
 * c) and their exponents in n!, in *prp, *exsp (*cntp of them; the caller
 * frees both arrays, whatever is returned). 0, or -1 out of memory. */
static int part_primes(const unsigned char *c, uint64_t n, unsigned k,
                       unsigned K, unsigned long **prp, unsigned long **exsp,
                       size_t *cntp)
{
    size_t cap = 1024, cnt = 0;
    unsigned long *pr = malloc(cap * sizeof *pr);
    unsigned long *ex = malloc(cap * sizeof *ex);
    int rc = -1;
    if (pr == NULL || ex == NULL)
        goto out;
    uint64_t idx = 0;
    for (uint64_t p = 3; p <= n; p += 2) {
        if (c[p / 2])
            continue;
        if (idx++ % K != k)
            continue;
        if (cnt == cap) {
            cap *= 2;
            unsigned long *np = realloc(pr, cap * sizeof *pr);
            if (np == NULL)
                goto out;
            pr = np;
            unsigned long *ne = realloc(ex, cap * sizeof *ex);
            if (ne == NULL)
                goto out;
            ex = ne;
        }
        pr[cnt] = (unsigned long)p;
        ex[cnt] = (unsigned long)legendre(n, p);
        cnt++;
    }
    rc = 0;
out:
    *prp = pr;
    *exsp = ex;
    *cntp = cnt;
    return rc;
}

int mff_huge_part(mpz_t out, uint64_t n, unsigned k, unsigned K)
{
    mpz_set_ui(out, 1);
    if (K == 0 || k >= K || n < 3)
        return 0;
    unsigned char *c = sieve_odd(n);
    if (c == NULL)
        return -1;
    /* This part's primes and exponents. */
    size_t cnt = 0;
    unsigned long *pr = NULL, *ex = NULL, *fac = NULL;
    int rc = part_primes(c, n, k, K, &pr, &ex, &cnt);
    free(c);
    if (rc != 0 || cnt == 0)
        goto out; /* out of memory (-1), or no primes here (0) */
    rc = -1;
    fac = malloc(cnt * sizeof *fac);
    if (fac == NULL)
        goto out;
    unsigned long emax = 0;
    for (size_t i = 0; i < cnt; i++)
        if (ex[i] > emax)
            emax = ex[i];
    int top = 63 - __builtin_clzll((unsigned long long)emax);
    mpz_t q;
    mpz_init(q);
    for (int j = top; j >= 0; j--) {
        /* Pack the primes whose exponent has bit j into words. */
        size_t nf = 0;
        unsigned long acc = 1;
        for (size_t i = 0; i < cnt; i++) {
            if (!((ex[i] >> j) & 1))
                continue;
            if (acc > ULONG_MAX / pr[i]) {
                fac[nf++] = acc;
                acc = pr[i];
            } else {
                acc *= pr[i];
            }
        }
        if (acc > 1)
            fac[nf++] = acc;
        if (j != top)
            mpz_mul(out, out, out);
        if (nf > 0) {
            prod_tree(q, fac, nf);
            mpz_mul(out, out, q);
        }
    }
    mpz_clear(q);
    rc = 0;
out:
    free(pr);
    free(ex);
    free(fac);
    return rc;
}

uint64_t mff_slice_bit(uint64_t bits, unsigned S, unsigned i)
{
    uint64_t limbs = (bits + GMP_NUMB_BITS - 1) / GMP_NUMB_BITS;
    if (S == 0)
        S = 1;
    uint64_t per = (limbs + S - 1) / S;
    uint64_t l = per * i;
    if (l > limbs || i >= S)
        l = limbs;
    return l * GMP_NUMB_BITS;
}

void mff_slice(mpz_t r, const mpz_t b, uint64_t lo, uint64_t hi)
{
    mpz_abs(r, b);
    mpz_tdiv_q_2exp(r, r, (mp_bitcnt_t)lo);
    mpz_tdiv_r_2exp(r, r, (mp_bitcnt_t)(hi - lo));
}

int mff_huge_local(mpz_t out, uint64_t n, unsigned K, unsigned S)
{
    if (K == 0)
        K = 1;
    mpz_t *parts = malloc(K * sizeof *parts);
    if (parts == NULL)
        return -1;
    for (unsigned i = 0; i < K; i++) {
        mpz_init(parts[i]);
        if (mff_huge_part(parts[i], n, i, K) != 0) {
            for (unsigned j = 0; j <= i; j++)
                mpz_clear(parts[j]);
            free(parts);
            return -1;
        }
    }
    unsigned cnt = K;
    while (cnt > 2) {
        unsigned w = 0;
        for (unsigned i = 0; i + 1 < cnt; i += 2, w++)
            mpz_mul(parts[w], parts[i], parts[i + 1]);
        if (cnt % 2)
            mpz_swap(parts[w++], parts[cnt - 1]);
        cnt = w;
    }
    if (cnt == 1) {
        mpz_set(out, parts[0]);
    } else {
        /* out = A * B, with B cut into S slices. */
        mpz_t t, s;
        mpz_init(t);
        mpz_init(s);
        uint64_t bits = mpz_sizeinbase(parts[1], 2);
        mpz_set_ui(out, 0);
        for (unsigned i = 0; i < S; i++) {
            uint64_t lo = mff_slice_bit(bits, S, i);
            uint64_t hi = mff_slice_bit(bits, S, i + 1);
            if (hi <= lo)
                continue;
            mff_slice(s, parts[1], lo, hi);
            mpz_mul(t, parts[0], s);
            mpz_mul_2exp(t, t, (mp_bitcnt_t)lo);
            mpz_add(out, out, t);
        }
        mpz_clears(t, s, NULL);
    }
    mpz_mul_2exp(out, out, (mp_bitcnt_t)mff_fact_twos(n));
    for (unsigned i = 0; i < K; i++)
        mpz_clear(parts[i]);
    free(parts);
    return 0;
}
