/*
 * suite_helpers.c — the helpers of mf_mpi_suite that several areas use
 * (declared in suite.h): submitting and checking a result on the root,
 * bounded map options, the callback log, releasing gates, the arguments
 * of the 50-item maps and their check, and a do-nothing task function.
 * Anything one area alone uses stays in that area's file.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <stdio.h>
#include <string.h>

/* Map options whose timeout bounds every mf_map_next() of the test. */
const mf_map_opts *bounded(int unordered, size_t chunk)
{
    static mf_map_opts mo;
    mf_map_opts_init(&mo);
    mo.unordered = unordered;
    mo.chunksize = chunk;
    mo.timeout = T;
    return &mo;
}

/* Submit and assert MF_OK; returns the future ({0} on failure). */
mf_future submit_ok(mf_fn_id fn, const void *arg, size_t len)
{
    mf_future f = {0};
    ASSERT_RC(mf_submit(mft_ex, fn, arg, len, &f), MF_OK);
    return f;
}

/* Wait for f's result and compare with want/wlen. */
void expect_result(mf_future f, const void *want, size_t wlen)
{
    const void *d = NULL;
    size_t l = 99999;
    if (!ASSERT_RC(mf_future_result(f, T, &d, &l), MF_OK))
        return;
    CU_ASSERT_EQUAL(l, wlen);
    if (l == wlen && wlen > 0) {
        CU_ASSERT_PTR_NOT_NULL(d);
        if (d)
            CU_ASSERT(memcmp(d, want, wlen) == 0);
    }
}

int t_dummy(mf_task *task, void *ud)
{
    (void)task;
    (void)ud;
    return 0;
}

void cb_append(mf_future f, void *ud)
{
    cb_rec *r = ud;
    int k = atomic_load(&r->log->n);
    if (k < 32) {
        r->log->ids[k] = r->id;
        r->log->handles[k] = f.h;
    }
    atomic_store(&r->log->n, k + 1);
}

int32_t g_map_vals[MAPN];
const void *g_map_args[MAPN];
size_t g_map_lens[MAPN];

void map_args_init(void)
{
    int i;
    for (i = 0; i < MAPN; i++) {
        g_map_vals[i] = i * 3 + 1;
        g_map_args[i] = &g_map_vals[i];
        g_map_lens[i] = sizeof(int32_t);
    }
}

void map_check(int unordered, size_t chunk, mf_fn_id fn, int fail_at)
{
    mf_map_opts mo;
    mf_map_iter *it = NULL;
    int seen[MAPN];
    size_t k, idx;
    const void *d;
    size_t l;
    int rc;
    char where[64];
    map_args_init();
    if (fail_at >= 0)
        g_map_vals[fail_at] = -5;
    mf_map_opts_init(&mo);
    mo.unordered = unordered;
    mo.chunksize = chunk;
    mo.timeout = T;
    snprintf(where, sizeof where, "unordered=%d chunk=%zu", unordered, chunk);
    memset(seen, 0, sizeof seen);
    if (!ASSERT_RC(mf_map(mft_ex, fn, g_map_args, g_map_lens, MAPN, &mo, &it),
                   MF_OK))
        return;
    for (k = 0; k < MAPN; k++) {
        d = NULL;
        l = 0;
        idx = 12345;
        rc = mf_map_next(it, &d, &l, &idx);
        if (rc == MF_ETASK && fail_at >= 0) {
            /* the index of a failed item: written, or implied when ordered */
            if (idx == 12345)
                idx = unordered ? (size_t)fail_at : k;
            CU_ASSERT_EQUAL(idx, (size_t)fail_at);
            CU_ASSERT(mft_contains(mf_last_error(), "item failed v=-5"));
        } else if (!ASSERT_RC(rc, MF_OK)) {
            fprintf(stderr, "  (%s, k=%zu)\n", where, k);
            break;
        } else {
            CU_ASSERT(fail_at < 0 || idx != (size_t)fail_at);
            CU_ASSERT_EQUAL(l, 4);
            if (l == 4 && d && idx < MAPN)
                CU_ASSERT(memcmp(d, &g_map_vals[idx], 4) == 0);
        }
        if (!unordered)
            CU_ASSERT_EQUAL(idx, k);
        if (idx < MAPN)
            seen[idx]++;
    }
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    ASSERT_RC(mf_map_next(it, &d, &l, NULL), MF_EDONE);
    for (k = 0; k < MAPN; k++)
        CU_ASSERT_EQUAL(seen[k], 1);
    mf_map_free(it);
}

void release_all(mft_gate **gs, int n)
{
    int i;
    for (i = 0; i < n; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
    for (i = 0; i < n; i++)
        ASSERT_RC(mf_future_result(gs[i]->f, T, NULL, NULL), MF_OK);
}
