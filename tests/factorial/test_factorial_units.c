/*
 * Unit tests (CUnit, one process, no MPI traffic) of the GMP helpers
 * (include/mpifutures/gmp.h) and of mf-factorial's number theory
 * (src/factorial_math.h). Expected values come from GMP itself
 * (mpz_fac_ui, mpz_get_str, mpz_mod) or from perf-baseline.md section 3,
 * never from our own program's output.
 */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <gmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "factorial_math.h"
#include "mpifutures/gmp.h"

/* ---- helpers ---------------------------------------------------------- */

static gmp_randstate_t rs;

static unsigned char *pack_new(const mpz_t z, size_t *len)
{
    *len = mf_mpz_packed_size(z);
    unsigned char *b = malloc(*len);
    CU_ASSERT_FATAL(b != NULL);
    size_t w = 0;
    CU_ASSERT_EQUAL(mf_mpz_pack(z, b, *len, &w), MF_OK);
    CU_ASSERT_EQUAL(w, *len);
    return b;
}

static void roundtrip(const mpz_t z)
{
    size_t len;
    unsigned char *b = pack_new(z, &len);
    mpz_t r;
    mpz_init_set_si(r, 12345); /* garbage to be replaced */
    CU_ASSERT_EQUAL(mf_mpz_unpack(r, b, len, NULL), MF_OK);
    CU_ASSERT_EQUAL(mpz_cmp(r, z), 0);
    free(b);
    mpz_clear(r);
}

/* ---- GMP helpers ------------------------------------------------------ */

static void test_roundtrip_small(void)
{
    mpz_t z;
    mpz_init(z);
    long vals[] = {0,
                   1,
                   -1,
                   2,
                   -2,
                   255,
                   256,
                   -256,
                   65535,
                   65536,
                   2147483647L,
                   -2147483647L - 1,
                   9223372036854775807L};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        mpz_set_si(z, vals[i]);
        roundtrip(z);
    }
    /* Limb boundaries: 2^k - 1, 2^k, 2^k + 1, and negatives. */
    for (unsigned k = 1; k < 300; k++) {
        mpz_set_ui(z, 1);
        mpz_mul_2exp(z, z, k);
        roundtrip(z);
        mpz_sub_ui(z, z, 1);
        roundtrip(z);
        mpz_add_ui(z, z, 2);
        mpz_neg(z, z);
        roundtrip(z);
    }
    mpz_clear(z);
}

static void test_roundtrip_huge(void)
{
    mpz_t z;
    mpz_init(z);
    mpz_fac_ui(z, 100000);
    roundtrip(z);
    mpz_neg(z, z);
    roundtrip(z);
    for (int i = 0; i < 50; i++) {
        mpz_urandomb(z, rs, 1 + (unsigned long)gmp_urandomm_ui(rs, 200000));
        if (i % 2)
            mpz_neg(z, z);
        roundtrip(z);
    }
    mpz_clear(z);
}

static void test_format_fixed(void)
{
    /* The format is fixed: 0x0102 is header + 2 bytes, LSB first. */
    mpz_t z;
    mpz_init_set_si(z, -0x0102);
    unsigned char b[32];
    size_t w = 0;
    CU_ASSERT_EQUAL(mf_mpz_packed_size(z), 18);
    CU_ASSERT_EQUAL(mf_mpz_pack(z, b, sizeof b, &w), MF_OK);
    CU_ASSERT_EQUAL(w, 18);
    CU_ASSERT_EQUAL(memcmp(b, "MFZN", 4), 0);
    CU_ASSERT_EQUAL(b[4], 1);
    CU_ASSERT_EQUAL(b[5], 1);
    CU_ASSERT_EQUAL(b[6], 0);
    CU_ASSERT_EQUAL(b[8], 2);
    for (int i = 9; i < 16; i++)
        CU_ASSERT_EQUAL(b[i], 0);
    CU_ASSERT_EQUAL(b[16], 0x02);
    CU_ASSERT_EQUAL(b[17], 0x01);
    mpz_set_ui(z, 0);
    CU_ASSERT_EQUAL(mf_mpz_packed_size(z), MF_MPZ_HEADER_BYTES);
    /* Too small a buffer: MF_E2BIG, nothing written. */
    mpz_set_ui(z, 1);
    memset(b, 0x77, sizeof b);
    CU_ASSERT_EQUAL(mf_mpz_pack(z, b, 16, &w), MF_E2BIG);
    CU_ASSERT_EQUAL(b[0], 0x77);
    CU_ASSERT_EQUAL(mf_mpz_pack(z, NULL, 100, &w), MF_EINVAL);
    mpz_clear(z);
}

static void test_reject_truncated(void)
{
    mpz_t z, r;
    mpz_init(z);
    mpz_init_set_ui(r, 77);
    mpz_fac_ui(z, 300);
    size_t len;
    unsigned char *b = pack_new(z, &len);
    for (size_t cut = 0; cut < len; cut++) {
        CU_ASSERT_EQUAL(mf_mpz_unpack(r, b, cut, NULL), MF_EPROTO);
        size_t used = 999;
        CU_ASSERT_EQUAL(mf_mpz_unpack(r, b, cut, &used), MF_EPROTO);
        CU_ASSERT_EQUAL(used, 999);
    }
    CU_ASSERT_EQUAL(mpz_cmp_ui(r, 77), 0); /* unchanged on error */
    /* Trailing bytes: rejected without `used`, allowed with it. */
    unsigned char *b2 = malloc(len + 3);
    memcpy(b2, b, len);
    memset(b2 + len, 0, 3);
    CU_ASSERT_EQUAL(mf_mpz_unpack(r, b2, len + 3, NULL), MF_EPROTO);
    size_t used = 0;
    CU_ASSERT_EQUAL(mf_mpz_unpack(r, b2, len + 3, &used), MF_OK);
    CU_ASSERT_EQUAL(used, len);
    CU_ASSERT_EQUAL(mpz_cmp(r, z), 0);
    CU_ASSERT_EQUAL(mf_mpz_unpack(r, NULL, 0, NULL), MF_EPROTO);
    CU_ASSERT_EQUAL(mf_mpz_unpack(r, NULL, 5, NULL), MF_EINVAL);
    free(b2);
    free(b);
    mpz_clears(z, r, NULL);
}

static void test_reject_corrupted(void)
{
    mpz_t z, r;
    mpz_init(z);
    mpz_init(r);
    mpz_set_si(z, -123456789);
    size_t len;
    unsigned char *b = pack_new(z, &len);
    unsigned char *c = malloc(len);
    /* Any single-bit flip in the header is detected. */
    for (size_t i = 0; i < MF_MPZ_HEADER_BYTES; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(c, b, len);
            c[i] ^= (unsigned char)(1u << bit);
            int rc = mf_mpz_unpack(r, c, len, NULL);
            CU_ASSERT_EQUAL(rc, MF_EPROTO);
        }
    }
    /* Wrong magic with a "valid" check byte is still rejected. */
    memcpy(c, b, len);
    c[0] = 'X';
    c[7] = (unsigned char)(c[7] ^ ('X' ^ 'M')); /* not a valid repair */
    CU_ASSERT_EQUAL(mf_mpz_unpack(r, c, len, NULL), MF_EPROTO);
    /* Non-canonical: high zero byte in the magnitude, "-0". */
    unsigned char nz[18] = {'M', 'F', 'Z', 'N', 1, 0, 0, 0, 2,
                            0,   0,   0,   0,   0, 0, 0, 5, 0};
    unsigned s = 0;
    for (int i = 0; i < 16; i++)
        if (i != 7)
            s += nz[i];
    nz[7] = (unsigned char)(0xA5u ^ (s & 0xFFu));
    CU_ASSERT_EQUAL(mf_mpz_unpack(r, nz, 18, NULL), MF_EPROTO);
    nz[17] = 1; /* now canonical: 0x0105 */
    CU_ASSERT_EQUAL(mf_mpz_unpack(r, nz, 18, NULL), MF_OK);
    CU_ASSERT_EQUAL(mpz_cmp_ui(r, 0x105), 0);
    unsigned char m0[16] = {'M', 'F', 'Z', 'N', 1, 1, 0, 0,
                            0,   0,   0,   0,   0, 0, 0, 0};
    s = 0;
    for (int i = 0; i < 16; i++)
        if (i != 7)
            s += m0[i];
    m0[7] = (unsigned char)(0xA5u ^ (s & 0xFFu));
    CU_ASSERT_EQUAL(mf_mpz_unpack(r, m0, 16, NULL), MF_EPROTO);
    /* A huge declared length is "truncated", not an over-read. */
    memcpy(c, b, len);
    c[15] = 0x7F;
    s = 0;
    for (int i = 0; i < 16; i++)
        if (i != 7)
            s += c[i];
    c[7] = (unsigned char)(0xA5u ^ (s & 0xFFu));
    CU_ASSERT_EQUAL(mf_mpz_unpack(r, c, len, NULL), MF_EPROTO);
    /* Random garbage never crashes and is (almost surely) rejected. */
    unsigned char g[64];
    int accepted = 0;
    for (int i = 0; i < 20000; i++) {
        size_t gl = (size_t)gmp_urandomm_ui(rs, sizeof g + 1);
        for (size_t j = 0; j < gl; j++)
            g[j] = (unsigned char)gmp_urandomb_ui(rs, 8);
        if (gl >= 4 && i % 2)
            memcpy(g, "MFZN", 4);
        accepted += mf_mpz_unpack(r, g, gl, NULL) == MF_OK;
    }
    CU_ASSERT_EQUAL(accepted, 0);
    free(b);
    free(c);
    mpz_clears(z, r, NULL);
}

static void test_peek_and_view(void)
{
    mpz_t z;
    mpz_t v = {{0, 0, NULL}}; /* a view: written by mf_mpz_view() */
    mpz_init(z);
    for (int i = 0; i < 200; i++) {
        if (i == 0)
            mpz_set_ui(z, 0);
        else
            mpz_urandomb(z, rs, 1 + (unsigned long)gmp_urandomm_ui(rs, 3000));
        if (i % 3 == 1)
            mpz_neg(z, z);
        size_t ps = mf_mpz_packed_size(z), pad = mf_mpz_padded_size(z);
        CU_ASSERT_TRUE(pad % 8 == 0 && pad >= ps && pad < ps + 8);
        /* 8-aligned buffer with room for a ninth byte of slack */
        uint64_t *mem = calloc(pad / 8 + 2, 8);
        unsigned char *b = (unsigned char *)mem;
        CU_ASSERT_EQUAL(mf_mpz_pack(z, b, pad, NULL), MF_OK);
        int sign = 7;
        const unsigned char *mag = (const unsigned char *)1;
        uint64_t m = 99;
        size_t used = 0;
        CU_ASSERT_EQUAL(mf_mpz_peek(b, ps, &sign, &mag, &m, NULL), MF_OK);
        CU_ASSERT_EQUAL(sign, mpz_sgn(z));
        CU_ASSERT_EQUAL(m, ps - MF_MPZ_HEADER_BYTES);
        CU_ASSERT_PTR_EQUAL(mag, mpz_sgn(z) ? b + MF_MPZ_HEADER_BYTES : NULL);
        CU_ASSERT_EQUAL(mf_mpz_peek(b, pad, NULL, NULL, NULL, &used), MF_OK);
        CU_ASSERT_EQUAL(used, ps);
        /* A view over the padded encoding equals z (little-endian hosts;
         * elsewhere the documented MF_ESTATE). */
        int rc = mf_mpz_view(v, b, pad, NULL);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        CU_ASSERT_EQUAL(rc, MF_OK);
        if (rc == MF_OK)
            CU_ASSERT_EQUAL(mpz_cmp(v, z), 0);
        used = 0;
        CU_ASSERT_EQUAL(mf_mpz_view(v, b, pad + 8, &used), MF_OK);
        CU_ASSERT_EQUAL(used, ps);
        if (ps % 8 != 0) {
            /* no padding in the buffer: no view (would read past it) */
            CU_ASSERT_EQUAL(mf_mpz_view(v, b, ps, NULL), MF_ESTATE);
            b[ps] = 1; /* dirty padding */
            CU_ASSERT_EQUAL(mf_mpz_view(v, b, pad, NULL), MF_ESTATE);
            b[ps] = 0;
        }
        if (mpz_sgn(z) != 0) {
            /* misaligned copy: valid encoding, no view */
            unsigned char *mis = (unsigned char *)calloc(pad / 8 + 3, 8) + 1;
            memcpy(mis, b, pad);
            CU_ASSERT_EQUAL(mf_mpz_view(v, mis, pad, NULL), MF_ESTATE);
            free(mis - 1);
        }
#else
        CU_ASSERT_TRUE(rc == MF_OK || rc == MF_ESTATE);
#endif
        /* Malformed input is MF_EPROTO for peek and view alike. */
        b[0] ^= 0x20;
        CU_ASSERT_EQUAL(mf_mpz_peek(b, pad, NULL, NULL, NULL, &used),
                        MF_EPROTO);
        CU_ASSERT_EQUAL(mf_mpz_view(v, b, pad, NULL), MF_EPROTO);
        b[0] ^= 0x20;
        CU_ASSERT_EQUAL(mf_mpz_peek(b, ps - 1, NULL, NULL, NULL, &used),
                        MF_EPROTO);
        free(mem);
    }
    mpz_clear(z);
}

/* ---- number theory ---------------------------------------------------- */

static uint64_t digits_by_string(const mpz_t z)
{
    char *s = mpz_get_str(NULL, 10, z);
    uint64_t d = strlen(s) - (s[0] == '-');
    free(s);
    return d;
}

static void test_digits_boundaries(void)
{
    mpz_t z;
    mpz_init(z);
    for (unsigned k = 1; k <= 400; k++) {
        mpz_ui_pow_ui(z, 10, k); /* 10^k has k+1 digits */
        CU_ASSERT_EQUAL(mff_digits(z), k + 1);
        mpz_sub_ui(z, z, 1); /* 10^k - 1 has k */
        CU_ASSERT_EQUAL(mff_digits(z), k);
        mpz_neg(z, z);
        CU_ASSERT_EQUAL(mff_digits(z), k);
        mpz_neg(z, z);
        mpz_add_ui(z, z, 2); /* 10^k + 1 */
        CU_ASSERT_EQUAL(mff_digits(z), k + 1);
    }
    unsigned big[] = {1000, 9999, 65536, 200001};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        mpz_ui_pow_ui(z, 10, big[i]);
        CU_ASSERT_EQUAL(mff_digits(z), big[i] + 1);
        mpz_sub_ui(z, z, 1);
        CU_ASSERT_EQUAL(mff_digits(z), big[i]);
    }
    mpz_set_ui(z, 0);
    CU_ASSERT_EQUAL(mff_digits(z), 1);
    for (int i = 0; i < 300; i++) {
        mpz_urandomb(z, rs, 1 + (unsigned long)gmp_urandomm_ui(rs, 5000));
        CU_ASSERT_EQUAL(mff_digits(z), digits_by_string(z));
    }
    for (unsigned long n = 0; n < 3000; n += 7) {
        mpz_fac_ui(z, n);
        CU_ASSERT_EQUAL(mff_digits(z), digits_by_string(z));
    }
    mpz_clear(z);
}

static void test_leading_trailing(void)
{
    mpz_t z;
    mpz_init(z);
    char buf[32];
    for (unsigned long n = 0; n <= 4000; n += (n < 100 ? 1 : 37)) {
        mpz_fac_ui(z, n);
        char *s = mpz_get_str(NULL, 10, z);
        size_t d = strlen(s);
        uint64_t lead = mff_leading(z, d, 10);
        snprintf(buf, sizeof buf, "%.*s", (int)(d < 10 ? d : 10), s);
        CU_ASSERT_EQUAL(lead, strtoull(buf, NULL, 10));
        /* Trailing zeros and the 9 digits before them. */
        size_t zeros = 0;
        while (zeros < d && s[d - 1 - zeros] == '0')
            zeros++;
        CU_ASSERT_EQUAL(mff_fact_zeros(n), zeros);
        size_t rest = d - zeros;
        size_t take = rest < 9 ? rest : 9;
        snprintf(buf, sizeof buf, "%.*s", (int)take, s + rest - take);
        CU_ASSERT_EQUAL(mff_fact_tail9(n, z), strtoull(buf, NULL, 10));
        free(s);
    }
    /* Large n: check the tail against an exact division. */
    unsigned long ns[] = {20000, 52380, 200000};
    for (size_t i = 0; i < 3; i++) {
        mpz_t p;
        mpz_init(p);
        mpz_fac_ui(z, ns[i]);
        mpz_ui_pow_ui(p, 10, mff_fact_zeros(ns[i]));
        CU_ASSERT_TRUE(mpz_divisible_p(z, p));
        mpz_divexact(p, z, p);
        CU_ASSERT_FALSE(mpz_divisible_ui_p(p, 10));
        CU_ASSERT_EQUAL(mff_fact_tail9(ns[i], z),
                        mpz_fdiv_ui(p, 1000000000ul));
        mpz_clear(p);
    }
    /* Leading digits of numbers that sit just below a digit boundary. */
    for (unsigned k = 20; k < 200; k += 13) {
        mpz_ui_pow_ui(z, 10, k);
        mpz_sub_ui(z, z, 1);
        CU_ASSERT_EQUAL(mff_leading(z, k, 10), 9999999999ull);
        mpz_add_ui(z, z, 1);
        CU_ASSERT_EQUAL(mff_leading(z, k + 1, 10), 1000000000ull);
        mpz_ui_pow_ui(z, 10, k);
        mpz_mul_ui(z, z, 1234567891ul);
        mpz_sub_ui(z, z, 1);
        CU_ASSERT_EQUAL(mff_leading(z, k + 10, 10), 1234567890ull);
    }
    for (int i = 0; i < 200; i++) {
        mpz_urandomb(z, rs, 1 + (unsigned long)gmp_urandomm_ui(rs, 3000));
        char *s = mpz_get_str(NULL, 10, z);
        size_t d = strlen(s);
        snprintf(buf, sizeof buf, "%.*s", (int)(d < 12 ? d : 12), s);
        CU_ASSERT_EQUAL(mff_leading(z, d, 12), strtoull(buf, NULL, 10));
        free(s);
    }
    mpz_clear(z);
}

static void test_mod_m(void)
{
    mpz_t z, m, r;
    mpz_inits(z, m, r, NULL);
    mpz_set_ui(m, 1);
    mpz_mul_2exp(m, m, 61);
    mpz_sub_ui(m, m, 1);
    for (unsigned long n = 0; n < 5000; n += 13) {
        mpz_fac_ui(z, n);
        mpz_mod(r, z, m);
        CU_ASSERT_EQUAL(mff_mod_m(z), mpz_get_ui(r));
        CU_ASSERT_EQUAL(mff_fact_mod_m(n), mpz_get_ui(r));
    }
    for (int i = 0; i < 200; i++) {
        mpz_urandomb(z, rs, 1 + (unsigned long)gmp_urandomm_ui(rs, 10000));
        mpz_mod(r, z, m);
        CU_ASSERT_EQUAL(mff_mod_m(z), mpz_get_ui(r));
    }
    mpz_set(z, m);
    CU_ASSERT_EQUAL(mff_mod_m(z), 0);
    mpz_mul_ui(z, m, 5);
    mpz_add_ui(z, z, 3);
    CU_ASSERT_EQUAL(mff_mod_m(z), 3);
    mpz_clears(z, m, r, NULL);
}

/* The seed workload of perf-baseline.md section 3 (expected values from
 * its table, which an independent checker produced). */
static void workload_sums(uint64_t lo, uint64_t hi, uint64_t count,
                          uint64_t *digits, uint64_t *sum)
{
    mpz_t z;
    mpz_init(z);
    *digits = 0;
    uint64_t s = 0;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t n = lo + (i * (hi - lo)) / (count - 1);
        mpz_fac_ui(z, (unsigned long)n);
        *digits += mff_digits(z);
        s += mff_mod_m(z);
        s = s >= MFF_MOD ? s - MFF_MOD : s;
    }
    *sum = s;
    mpz_clear(z);
}

static void test_seed_workload(void)
{
    uint64_t dl, sl, dh, sh;
    workload_sums(1000, 20000, 2000, &dl, &sl);
    CU_ASSERT_EQUAL(dl, 76713219u);
    CU_ASSERT_EQUAL(sl, 1939912400977522909ull);
    workload_sums(50000, 200000, 64, &dh, &sh);
    CU_ASSERT_EQUAL(dh, 37525065u);
    CU_ASSERT_EQUAL(sh, 1098147051204448382ull);
    CU_ASSERT_EQUAL(dl + dh, 114238284u);
    CU_ASSERT_EQUAL((sl + sh) % MFF_MOD, 732216442968277340ull);
}

static void test_huge_split(void)
{
    mpz_t a, b;
    mpz_inits(a, b, NULL);
    unsigned long ns[] = {0,  1,  2,   3,    4,    5,     6,     7,
                          10, 97, 100, 1000, 4099, 12345, 100000};
    unsigned Ks[] = {1, 2, 3, 5};
    unsigned Ss[] = {1, 2, 3, 7};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        mpz_fac_ui(a, ns[i]);
        for (size_t k = 0; k < 4; k++)
            for (size_t s = 0; s < 4; s++) {
                CU_ASSERT_EQUAL(mff_huge_local(b, ns[i], Ks[k], Ss[s]), 0);
                if (mpz_cmp(a, b) != 0)
                    fprintf(stderr, "huge split wrong: n=%lu K=%u S=%u\n",
                            ns[i], Ks[k], Ss[s]);
                CU_ASSERT_EQUAL(mpz_cmp(a, b), 0);
            }
    }
    /* The parts multiply to the odd part of n!. */
    mpz_set_ui(b, 1);
    for (unsigned k = 0; k < 4; k++) {
        mpz_t p;
        mpz_init(p);
        mff_huge_part(p, 54321, k, 4);
        mpz_mul(b, b, p);
        mpz_clear(p);
    }
    mpz_fac_ui(a, 54321);
    CU_ASSERT_EQUAL(mpz_scan1(a, 0), mff_fact_twos(54321));
    mpz_tdiv_q_2exp(a, a, mff_fact_twos(54321));
    CU_ASSERT_EQUAL(mpz_cmp(a, b), 0);
    mpz_clears(a, b, NULL);
}

static void test_parse(void)
{
    uint64_t v = 0;
    CU_ASSERT_EQUAL(mff_parse_u64("0", &v), 0);
    CU_ASSERT_EQUAL(v, 0);
    CU_ASSERT_EQUAL(mff_parse_u64(" 42 \n", &v), 0);
    CU_ASSERT_EQUAL(v, 42);
    CU_ASSERT_EQUAL(mff_parse_u64("18446744073709551615", &v), 0);
    CU_ASSERT_EQUAL(v, UINT64_MAX);
    CU_ASSERT_EQUAL(mff_parse_u64("18446744073709551616", &v), -1);
    CU_ASSERT_EQUAL(mff_parse_u64("-1", &v), -1);
    CU_ASSERT_EQUAL(mff_parse_u64("+1", &v), -1);
    CU_ASSERT_EQUAL(mff_parse_u64("", &v), -1);
    CU_ASSERT_EQUAL(mff_parse_u64("12a", &v), -1);
    CU_ASSERT_EQUAL(mff_parse_u64("1 2", &v), -1);
    CU_ASSERT_EQUAL(mff_parse_u64("0x10", &v), -1);
    CU_ASSERT_EQUAL(mff_parse_u64("1e6", &v), -1);
}

int main(void)
{
    gmp_randinit_default(rs);
    gmp_randseed_ui(rs, 20261126);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite g = CU_add_suite("gmp_helpers", NULL, NULL);
    CU_add_test(g, "roundtrip_small_and_limb_boundaries",
                test_roundtrip_small);
    CU_add_test(g, "roundtrip_huge_and_random", test_roundtrip_huge);
    CU_add_test(g, "format_fixed_bytes", test_format_fixed);
    CU_add_test(g, "reject_truncated", test_reject_truncated);
    CU_add_test(g, "reject_corrupted_and_noncanonical",
                test_reject_corrupted);
    CU_add_test(g, "peek_and_zero_copy_view", test_peek_and_view);
    CU_pSuite m = CU_add_suite("factorial_math", NULL, NULL);
    CU_add_test(m, "digits_exact_at_power_of_ten_boundaries",
                test_digits_boundaries);
    CU_add_test(m, "leading_and_trailing_digits_vs_get_str",
                test_leading_trailing);
    CU_add_test(m, "mod_2_61_minus_1_vs_mpz_mod", test_mod_m);
    CU_add_test(m, "seed_workload_matches_perf_baseline", test_seed_workload);
    CU_add_test(m, "huge_split_equals_mpz_fac_ui", test_huge_split);
    CU_add_test(m, "parse_u64_strict", test_parse);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed =
        CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    gmp_randclear(rs);
    return failed ? 1 : 0;
}
