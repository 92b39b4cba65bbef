/*
 * huge_run.c — the huge run (see huge_run.h).
 *
 * Design: one huge N! is K = W parts (prime-exponent split, round-robin
 * primes) on the W workers; pairwise products on the workers until two
 * numbers A, B are left; then A*B as W tasks A*B_i over limb-aligned
 * slices B_i of B, which the root adds up with shifts; finally the power
 * of two. Each step waits for the previous one: the work is a few big
 * tasks, so the executor of this phase has a window of 1 (main), and
 * the big numbers travel as padded encodings that both ends read as
 * zero-copy views where they can (tasks.h). Every future is noted and
 * checked released at the end, so a leak or a double release of this
 * run is an exit status 3, not a silent one.
 */
#define _POSIX_C_SOURCE 200809L

#include "huge_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpifutures/gmp.h>

#include "common.h"
#include "factorial_math.h"
#include "report.h"
#include "tasks.h"

/* Unpack one encoding followed by at most 7 zero bytes of padding. */
static int unpack_padded(mpz_t z, const void *data, size_t len)
{
    size_t used = 0;
    int e = mf_mpz_unpack(z, data, len, &used);
    if (e != MF_OK)
        return e;
    const unsigned char *p = data;
    if (len - used >= 8)
        return MF_EPROTO;
    for (size_t i = used; i < len; i++)
        if (p[i] != 0)
            return MF_EPROTO;
    return MF_OK;
}

/* Wait for every future; unpack each result into vals[i]. */
static int collect_mpz(mf_future *futs, size_t n, mpz_t *vals,
                       const char *what)
{
    int rc = EX_OK;
    for (size_t i = 0; i < n; i++) {
        const void *data = NULL;
        size_t len = 0;
        int e = mf_future_result(futs[i], MF_FOREVER, &data, &len);
        if (e != MF_OK) {
            if (rc == EX_OK)
                rc = report_future_error(futs[i], e, what);
        } else if (rc == EX_OK &&
                   (e = unpack_padded(vals[i], data, len)) != MF_OK) {
            fprintf(stderr, "mf-factorial: %s: malformed result: %s\n", what,
                    mf_strerror(e));
            rc = EX_RUNTIME;
        }
        release_future(futs[i]);
    }
    return rc;
}

/*
 * Futures of the huge run. Ownership: whoever submits puts the handle in
 * futs[]; collect_mpz() (or release_all() when nothing is collected)
 * releases each exactly once. Every handle is also noted here, and at the
 * end each must be stale (released): a handle still alive is a leak, a
 * failed release a double release (both: exit status 3).
 */
static mf_future *g_huge_seen;
static size_t g_huge_nseen, g_huge_capseen, g_huge_submits;

static void huge_note(mf_future f)
{
    if (g_huge_nseen == g_huge_capseen) {
        size_t nc = g_huge_capseen ? 2 * g_huge_capseen : 64;
        mf_future *p = realloc(g_huge_seen, nc * sizeof *p);
        if (p == NULL)
            return; /* only the check is lost */
        g_huge_seen = p;
        g_huge_capseen = nc;
    }
    g_huge_seen[g_huge_nseen++] = f;
}

/* Each noted future must have been released; free the notes. */
static void huge_check_released(void)
{
    for (size_t i = 0; i < g_huge_nseen; i++) {
        if (mf_future_retain(g_huge_seen[i]) == MF_OK) {
            fprintf(stderr, "mf-factorial: internal error: a future of the "
                            "huge run was never released\n");
            g_release_errors++;
            mf_future_release(g_huge_seen[i]); /* the retain */
            mf_future_release(g_huge_seen[i]); /* the leak */
        }
    }
    free(g_huge_seen);
    g_huge_seen = NULL;
    g_huge_nseen = g_huge_capseen = g_huge_submits = 0;
}

/* mf_submit for the huge run. Test hook MF_FACTORIAL_TEST_FAIL_SUBMIT=K:
 * the K-th submit (from 1) fails with MF_ENOMEM without submitting. */
static int huge_submit(mf_executor *ex, mf_fn_id fn, const void *arg,
                       size_t len, mf_future *f)
{
    long fail_at = env_long("MF_FACTORIAL_TEST_FAIL_SUBMIT");
    if (fail_at > 0 && (size_t)fail_at == ++g_huge_submits)
        return MF_ENOMEM;
    int e = mf_submit(ex, fn, arg, len, f);
    if (e == MF_OK)
        huge_note(*f);
    return e;
}

static void release_all(mf_future *futs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        release_future(futs[i]);
}

static int submit_mul(mf_executor *ex, mf_fn_id fn_mul, const mpz_t a,
                      const mpz_t b, mf_future *f)
{
    size_t la = mf_mpz_padded_size(a), lb = mf_mpz_padded_size(b), off = 0;
    unsigned char *buf = malloc(la + lb);
    if (buf == NULL)
        return MF_ENOMEM;
    put_mpz_padded(buf, &off, a);
    put_mpz_padded(buf, &off, b);
    int e = huge_submit(ex, fn_mul, buf, la + lb, f);
    free(buf);
    return e;
}

/* Submit A * B_i for the (at most 64) limb-aligned slices B_i of B:
 * futs[i] and the limb offset off_of[i] of each, *nfp of them. */
static int submit_slices(mf_executor *ex, mf_fn_id fn_mul, mpz_srcptr A,
                         mpz_srcptr B, unsigned S, mf_future *futs,
                         size_t *off_of, size_t *nfp)
{
    size_t nf = 0, bl = mpz_size(B);
    const mp_limb_t *bp = mpz_limbs_read(B);
    uint64_t bbits = (uint64_t)bl * GMP_NUMB_BITS;
    int rc = EX_OK;
    /* Each task's argument (A, then its slice) is built once and handed
     * to the library without another copy (mf_submit_ex free_arg). */
    size_t la = mf_mpz_padded_size(A);
    mf_submit_opts so;
    memset(&so, 0, sizeof so);
    so.free_arg = free;
    for (unsigned i = 0; i < S; i++) {
        size_t lo = (size_t)(mff_slice_bit(bbits, S, i) / GMP_NUMB_BITS);
        size_t hi = (size_t)(mff_slice_bit(bbits, S, i + 1) / GMP_NUMB_BITS);
        if (hi > bl)
            hi = bl;
        if (hi <= lo)
            continue;
        mpz_t slice;
        mpz_roinit_n(slice, bp + lo, (mp_size_t)(hi - lo));
        unsigned char *arg = malloc(la + mf_mpz_padded_size(slice));
        if (arg == NULL) {
            fprintf(stderr, "mf-factorial: out of memory\n");
            rc = EX_RUNTIME;
            break;
        }
        size_t off = 0;
        put_mpz_padded(arg, &off, A);
        put_mpz_padded(arg, &off, slice);
        int e = mf_submit_ex(ex, fn_mul, arg, off, &so, &futs[nf]);
        if (e != MF_OK) { /* free_arg has been called */
            fprintf(stderr, "mf-factorial: submit: %s\n", mf_strerror(e));
            rc = EX_RUNTIME;
            break;
        }
        huge_note(futs[nf]);
        off_of[nf++] = lo;
    }
    *nfp = nf;
    return rc;
}

/* res = the sum of the nf products src[i] at limb offsets off_of[i]; tn
 * limbs hold it with room for the carry. */
static int add_slices(mpz_t res, mpz_srcptr *src, const size_t *off_of,
                      size_t nf, size_t tn)
{
    int rc = EX_OK;
    mp_limb_t *rp = mpz_limbs_write(res, (mp_size_t)tn);
    memset(rp, 0, tn * sizeof *rp);
    for (size_t i = 0; i < nf; i++) {
        size_t n = mpz_size(src[i]);
        if (n == 0)
            continue;
        mp_limb_t cy = mpn_add(rp + off_of[i], rp + off_of[i],
                               (mp_size_t)(tn - off_of[i]),
                               mpz_limbs_read(src[i]), (mp_size_t)n);
        if (cy != 0) { /* cannot happen: the sum is A * B */
            fprintf(stderr, "mf-factorial: carry out of the product\n");
            rc = EX_RUNTIME;
        }
    }
    mpz_limbs_finish(res, (mp_size_t)tn);
    return rc;
}

/* Wait for the nf slice products (views on the result bytes where
 * possible), then add them up into res unless `rc` says a step failed;
 * every future is released. */
static int sum_slices(mf_future *futs, const size_t *off_of, size_t nf,
                      mpz_t res, int rc, int trace, double t0)
{
    mpz_t views[64], tmps[64];
    memset(views, 0, sizeof views); /* written by get_mpz() */
    mpz_srcptr src[64];
    size_t tn = 0;
    for (size_t i = 0; i < nf; i++) {
        mpz_init(tmps[i]);
        src[i] = NULL;
        const void *data = NULL;
        size_t len = 0, off = 0;
        int e = mf_future_result(futs[i], MF_FOREVER, &data, &len);
        if (e != MF_OK) {
            if (rc == EX_OK)
                rc = report_future_error(futs[i], e, "a huge product slice");
            continue;
        }
        e = get_mpz(data, len, &off, views[i], tmps[i], &src[i]);
        if (e != MF_OK || off != len || mpz_sgn(src[i]) < 0) {
            if (rc == EX_OK)
                fprintf(stderr, "mf-factorial: malformed product slice\n");
            rc = EX_RUNTIME;
            src[i] = NULL;
            continue;
        }
        size_t top = off_of[i] + mpz_size(src[i]);
        if (top > tn)
            tn = top;
    }
    if (trace)
        fprintf(stderr, "huge: slices done at %.3f s\n", now() - t0);
    if (rc == EX_OK)
        rc = add_slices(res, src, off_of, nf, tn + 1); /* + the carry */
    for (size_t i = 0; i < nf; i++) {
        mpz_clear(tmps[i]);
        release_future(futs[i]);
    }
    return rc;
}

/*
 * res = A * B on the workers: B is cut into S limb-aligned slices B_i
 * (read-only views on B's limbs, no copy), task i computes A * B_i, and
 * the root adds the products into res at their limb offsets (views on the
 * result bytes where possible, so each product is read once, not copied).
 */
static int huge_final_product(mf_executor *ex, mf_fn_id fn_mul, mpz_srcptr A,
                              mpz_srcptr B, unsigned S, mpz_t res, int trace,
                              double t0)
{
    if (S > 64)
        S = 64;
    mf_future futs[64];
    size_t off_of[64];
    size_t nf = 0;
    int rc = submit_slices(ex, fn_mul, A, B, S, futs, off_of, &nf);
    if (trace)
        fprintf(stderr, "huge: %zu slices submitted at %.3f s\n", nf,
                now() - t0);
    /* Wait for all, then add them up in place. */
    return sum_slices(futs, off_of, nf, res, rc, trace, t0);
}

/* The K parts of n! on the workers, into parts[] (futs: room for K). */
static int huge_parts(mf_executor *ex, mf_fn_id fn_part, uint64_t n,
                      unsigned K, mpz_t *parts, mf_future *futs)
{
    int rc = EX_OK;
    size_t nf = 0;
    for (unsigned k = 0; k < K; k++) {
        unsigned char arg[16];
        put64(arg, n);
        put64(arg + 8, ((uint64_t)K << 32) | k);
        int e = huge_submit(ex, fn_part, arg, sizeof arg, &futs[nf]);
        if (e != MF_OK) {
            fprintf(stderr, "mf-factorial: submit: %s\n", mf_strerror(e));
            rc = EX_RUNTIME;
            break;
        }
        nf++;
    }
    /* collect_mpz releases each future it is given; on a submit failure
     * the ones submitted are released unread. */
    if (rc == EX_OK)
        rc = collect_mpz(futs, nf, parts, "a huge part");
    else
        release_all(futs, nf);
    return rc;
}

/* Pairwise products on the workers until at most two numbers are left
 * in parts[0 .. *cnt). */
static int huge_pairs(mf_executor *ex, mf_fn_id fn_mul, mpz_t *parts,
                      unsigned *cntp, mf_future *futs)
{
    int rc = EX_OK;
    unsigned cnt = *cntp;
    while (rc == EX_OK && cnt > 2) {
        unsigned pairs = cnt / 2;
        size_t nf = 0;
        for (unsigned i = 0; i < pairs && rc == EX_OK; i++) {
            int e = submit_mul(ex, fn_mul, parts[2 * i], parts[2 * i + 1],
                               &futs[nf]);
            if (e != MF_OK) {
                fprintf(stderr, "mf-factorial: submit: %s\n", mf_strerror(e));
                rc = EX_RUNTIME;
            } else {
                nf++;
            }
        }
        mpz_t *prod = malloc(pairs * sizeof *prod);
        if (prod == NULL) {
            rc = EX_RUNTIME;
            release_all(futs, nf);
            break;
        }
        for (unsigned i = 0; i < pairs; i++)
            mpz_init(prod[i]);
        int r2 = collect_mpz(futs, nf, prod, "a huge product");
        if (rc == EX_OK)
            rc = r2;
        for (unsigned i = 0; i < pairs; i++) {
            mpz_swap(parts[i], prod[i]);
            mpz_clear(prod[i]);
        }
        free(prod);
        if (cnt % 2)
            mpz_swap(parts[pairs], parts[cnt - 1]);
        cnt = pairs + cnt % 2;
    }
    *cntp = cnt;
    return rc;
}

/* res = the product of the cnt (1 or 2) numbers left in parts[]. */
static int huge_last(mf_executor *ex, mf_fn_id fn_mul, mpz_t *parts,
                     unsigned cnt, unsigned W, mpz_t res, int trace,
                     double t0)
{
    if (cnt == 1) {
        mpz_swap(res, parts[0]);
        return EX_OK;
    }
    /* A * B: slice the smaller factor. Small products stay local. */
    mpz_srcptr A = parts[0], B = parts[1];
    if (mpz_size(A) < mpz_size(B)) {
        A = parts[1];
        B = parts[0];
    }
    unsigned S = mpz_size(A) + mpz_size(B) < 4096 ? 0 : W;
    if (S == 0) {
        mpz_mul(res, A, B);
        return EX_OK;
    }
    return huge_final_product(ex, fn_mul, A, B, S, res, trace, t0);
}

/* res <- res * 2^twos = n!; the "huge:" line, then --check (against
 * mpz_fac_ui, into t), --print and --out. */
static int huge_output(const opts *o, uint64_t n, mpz_t res, mpz_t t,
                       double t0)
{
    int rc = EX_OK;
    mpz_mul_2exp(res, res, (mp_bitcnt_t)mff_fact_twos(n));
    uint64_t digits = mff_digits(res);
    uint64_t sum = mff_mod_m(res);
    double secs = now() - t0;
    printf("huge: n=%llu digits=%llu checksum=%llu seconds=%.3f\n",
           (unsigned long long)n, (unsigned long long)digits,
           (unsigned long long)sum, secs);
    fflush(stdout);
    if (o->check) {
        double c0 = now();
        mpz_fac_ui(t, (unsigned long)n);
        double c1 = now();
        if (mpz_cmp(t, res) != 0) {
            fprintf(stderr, "mf-factorial: CHECK FAILED for huge %llu!\n",
                    (unsigned long long)n);
            rc = EX_CHECK;
        } else if (!o->quiet) {
            printf("check: huge %llu! equals mpz_fac_ui (%.3f s on rank 0, "
                   "%.2fx the split)\n",
                   (unsigned long long)n, c1 - c0, (c1 - c0) / secs);
        }
    }
    if (o->print || o->outdir) {
        char *dec = mpz_get_str(NULL, 10, res);
        if (o->print)
            printf("%llu! = %s\n", (unsigned long long)n, dec);
        if (o->outdir && write_value_file(o->outdir, n, dec) != EX_OK)
            rc = EX_RUNTIME;
        free(dec);
    }
    return rc;
}

int run_huge(mf_executor *ex, const opts *o, mf_fn_id fn_part,
             mf_fn_id fn_mul)
{
    uint64_t n = o->huge;
    unsigned W = (unsigned)mf_executor_workers(ex);
    unsigned K = W < 1 ? 1 : W;
    if (n < 1000)
        K = 1;
    mpz_t *parts = malloc(K * sizeof *parts);
    mf_future *futs = malloc((K + W + 1) * sizeof *futs);
    if (parts == NULL || futs == NULL) {
        free(parts);
        free(futs);
        fprintf(stderr, "mf-factorial: out of memory\n");
        return EX_RUNTIME;
    }
    for (unsigned i = 0; i < K; i++)
        mpz_init(parts[i]);
    mpz_t res, t;
    mpz_inits(res, t, NULL);
    double t0 = now();
    size_t jr0 = journal_reused(ex);
    int rc = huge_parts(ex, fn_part, n, K, parts, futs);
    int trace = getenv("MF_FACTORIAL_TRACE") != NULL;
    if (trace)
        fprintf(stderr, "huge: %u parts done at %.3f s\n", K, now() - t0);
    unsigned cnt = K;
    if (rc == EX_OK)
        rc = huge_pairs(ex, fn_mul, parts, &cnt, futs);
    if (rc == EX_OK)
        rc = huge_last(ex, fn_mul, parts, cnt, W, res, trace, t0);
    if (rc == EX_OK)
        rc = huge_output(o, n, res, t, t0);
    for (unsigned i = 0; i < K; i++)
        mpz_clear(parts[i]);
    mpz_clears(res, t, NULL);
    free(parts);
    free(futs);
    if (journal_on()) {
        size_t loaded = 0;
        mf_executor_journal(ex, &loaded, NULL, NULL);
        fprintf(stderr,
                "mf-factorial: journal: %zu of %zu tasks of --huge %llu "
                "taken from the journal, not recomputed (%zu records "
                "loaded)\n",
                journal_reused(ex) - jr0, g_huge_nseen, (unsigned long long)n,
                loaded);
    }
    huge_check_released();
    return rc;
}
