/*
 * tasks.c — the worker side of mf-factorial: the three registered task
 * functions (formats in tasks.h).
 *
 * Design: a task does all of its GMP work before it asks the library for
 * its result buffer (mf_task_result_buffer), then writes the records and
 * values straight into it, so a result is built once and never copied.
 * A malformed argument is a failed task with a message (mf_task_fail),
 * never a crash of the worker. The test hooks (MF_FACTORIAL_TEST_KILL_AT,
 * MF_FACTORIAL_TRACE) are read here, where they act.
 */
#define _POSIX_C_SOURCE 200809L

#include "tasks.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "factorial_math.h"

static int task_chunk(mf_task *task, void *ud)
{
    (void)ud;
    size_t len = 0;
    const unsigned char *a = mf_task_arg(task, &len);
    if (len < 16 || get64(a) >> 32 != CHUNK_MAGIC)
        return mf_task_fail(task, "chunk: malformed argument (%zu bytes)",
                            len);
    uint32_t flags = (uint32_t)get64(a);
    uint64_t cnt = get64(a + 8);
    if (cnt == 0 || cnt > (len - 16) / 8 || len != 16 + cnt * 8)
        return mf_task_fail(
            task, "chunk: malformed argument (count %llu, %zu bytes)",
            (unsigned long long)cnt, len);
    int full = (flags & FLAG_FULL) != 0;
    unsigned char *recs = malloc((size_t)cnt * REC_BYTES);
    mpz_t *vals = full ? malloc((size_t)cnt * sizeof *vals) : NULL;
    if (recs == NULL || (full && vals == NULL)) {
        free(recs);
        free(vals);
        return mf_task_fail(task, "chunk: out of memory");
    }
    mpz_t z;
    mpz_init(z);
    size_t total = (size_t)cnt * REC_BYTES;
    long kill_at = env_long("MF_FACTORIAL_TEST_KILL_AT");
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t n = get64(a + 16 + 8 * i);
        /* Test hook: this worker is killed (kill -9) when it reaches n. */
        if (kill_at >= 0 && (uint64_t)kill_at == n)
            kill(getpid(), SIGKILL);
        double t0 = now();
        mpz_fac_ui(z, (unsigned long)n);
        uint64_t d = mff_digits(z);
        uint64_t w[REC_WORDS] = {n,
                                 d,
                                 mff_mod_m(z),
                                 mff_leading(z, d, LEAD_DIGITS),
                                 mff_fact_tail9(n, z),
                                 mff_fact_zeros(n),
                                 0,
                                 (uint64_t)mf_task_worker(task)};
        w[6] = (uint64_t)((now() - t0) * 1e9);
        for (int k = 0; k < REC_WORDS; k++)
            put64(recs + i * REC_BYTES + 8 * k, w[k]);
        if (full) {
            mpz_init(vals[i]);
            mpz_swap(vals[i], z);
            total += mf_mpz_packed_size(vals[i]);
        }
    }
    mpz_clear(z);
    void *out = NULL;
    int rc = mf_task_result_buffer(task, total, &out);
    if (rc == MF_OK) {
        unsigned char *p = out;
        memcpy(p, recs, (size_t)cnt * REC_BYTES);
        p += cnt * REC_BYTES;
        for (uint64_t i = 0; full && i < cnt; i++) {
            size_t w = 0;
            mf_mpz_pack(vals[i], p,
                        total - (size_t)(p - (unsigned char *)out), &w);
            p += w;
        }
    }
    if (full)
        for (uint64_t i = 0; i < cnt; i++)
            mpz_clear(vals[i]);
    free(vals);
    free(recs);
    if (rc != MF_OK)
        return mf_task_fail(task, "chunk: result buffer: %s",
                            mf_strerror(rc));
    return 0;
}

static int task_part(mf_task *task, void *ud)
{
    (void)ud;
    size_t len = 0;
    const unsigned char *a = mf_task_arg(task, &len);
    if (len != 16)
        return mf_task_fail(task, "part: malformed argument (%zu bytes)",
                            len);
    uint64_t n = get64(a), kk = get64(a + 8);
    unsigned k = (unsigned)(kk & 0xFFFFFFFFu), K = (unsigned)(kk >> 32);
    if (K == 0 || k >= K)
        return mf_task_fail(task, "part: bad part %u of %u", k, K);
    mpz_t p;
    mpz_init(p);
    double t0 = now(), c0 = cpu_now();
    int prc = mff_huge_part(p, n, k, K);
    if (getenv("MF_FACTORIAL_TRACE"))
        fprintf(stderr, "rank %d: part %u/%u in %.3f s, cpu %.3f s\n",
                mf_task_worker(task), k, K, now() - t0, cpu_now() - c0);
    if (prc != 0) {
        mpz_clear(p);
        return mf_task_fail(task, "part: out of memory (n=%llu)",
                            (unsigned long long)n);
    }
    int rc = mf_mpz_task_return(task, p);
    mpz_clear(p);
    if (rc != MF_OK)
        return mf_task_fail(task, "part: result: %s", mf_strerror(rc));
    return 0;
}

/* See tasks.h. */
void put_mpz_padded(unsigned char *buf, size_t *off, const mpz_t z)
{
    size_t ps = mf_mpz_packed_size(z), pad = mf_mpz_padded_size(z);
    mf_mpz_pack(z, buf + *off, ps, NULL);
    memset(buf + *off + ps, 0, pad - ps);
    *off += pad;
}

/* See tasks.h. */
int get_mpz(const unsigned char *buf, size_t len, size_t *off, mpz_t view,
            mpz_t tmp, mpz_srcptr *src)
{
    size_t used = 0;
    int rc = mf_mpz_view(view, buf + *off, len - *off, &used);
    if (rc == MF_OK) {
        *src = view;
    } else if (rc == MF_ESTATE) {
        rc = mf_mpz_unpack(tmp, buf + *off, len - *off, &used);
        *src = tmp;
    }
    if (rc != MF_OK)
        return rc;
    used = (used + 7) & ~(size_t)7;
    *off = used > len - *off ? len : *off + used;
    return MF_OK;
}

static int task_mul(mf_task *task, void *ud)
{
    (void)ud;
    size_t len = 0, off = 0;
    const unsigned char *a = mf_task_arg(task, &len);
    mpz_t ta, tb;
    mpz_t va = {{0, 0, NULL}}, vb = {{0, 0, NULL}}; /* views, see get_mpz */
    mpz_srcptr A = NULL, B = NULL;
    mpz_inits(ta, tb, NULL);
    int rc = get_mpz(a, len, &off, va, ta, &A);
    if (rc == MF_OK)
        rc = get_mpz(a, len, &off, vb, tb, &B);
    if (rc == MF_OK && off != len)
        rc = MF_EPROTO;
    if (rc != MF_OK) {
        mpz_clears(ta, tb, NULL);
        return mf_task_fail(task, "mul: malformed argument: %s",
                            mf_strerror(rc));
    }
    double t0 = now(), c0 = cpu_now();
    mpz_t x;
    mpz_init(x);
    mpz_mul(x, A, B);
    mpz_clears(ta, tb, NULL);
    if (getenv("MF_FACTORIAL_TRACE"))
        fprintf(stderr, "rank %d: mul %zu bytes in %.3f s, cpu %.3f s\n",
                mf_task_worker(task), len, now() - t0, cpu_now() - c0);
    void *out = NULL;
    size_t pad = mf_mpz_padded_size(x);
    rc = mf_task_result_buffer(task, pad, &out);
    if (rc == MF_OK) {
        off = 0;
        put_mpz_padded(out, &off, x);
    }
    mpz_clear(x);
    if (rc != MF_OK)
        return mf_task_fail(task, "mul: result: %s", mf_strerror(rc));
    return 0;
}

int tasks_register(task_fns *fn)
{
    int e = mf_register("mf-factorial.chunk", task_chunk, NULL, &fn->chunk);
    if (e == MF_OK)
        e = mf_register("mf-factorial.part", task_part, NULL, &fn->part);
    if (e == MF_OK)
        e = mf_register("mf-factorial.mul", task_mul, NULL, &fn->mul);
    return e;
}

void tasks_warm_up(void)
{
    mpz_t z;
    mpz_init_set_ui(z, 1);
    (void)mff_fact_tail9(1, z);
    mpz_clear(z);
}
