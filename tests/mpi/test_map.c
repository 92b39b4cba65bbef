/*
 * test_map.c — mf_map: map (max_arg_bytes 4096; ordered and unordered
 * over chunksizes, a failing item, empty maps and zero-length items,
 * MF_E2BIG and MF_ENOENT with nothing submitted) and map_gated (window 1;
 * map timeout, mf_map_free with pending items, a consumer that stops
 * early, completion order of unordered and ordered maps).
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <string.h>

/* =================================================================== */
/* Scenario: map (max_arg_bytes 4096)                                   */
/* =================================================================== */

void opts_map(mf_executor_opts *o)
{
    o->max_arg_bytes = 4096;
}

static void t_map_ordered(void)
{
    static const size_t chunks[] = {0, 1, 3, 7, 64};
    size_t i;
    NEED_EX();
    for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        map_check(0, chunks[i], ID_ECHO, -1);
        map_check(0, chunks[i], ID_ECHO_ZC, -1);
    }
}

static void t_map_unordered(void)
{
    static const size_t chunks[] = {1, 4, 13};
    size_t i;
    NEED_EX();
    for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
        map_check(1, chunks[i], ID_ECHO, -1);
}

static void t_map_failing_item(void)
{
    NEED_EX();
    map_check(0, 1, ID_FAILIF, 5);
    map_check(1, 1, ID_FAILIF, 5);
    map_check(0, 4, ID_FAILIF, 5);
    map_check(1, 3, ID_FAILIF, 0);
    map_check(0, 1, ID_FAILIF, MAPN - 1);
}

static void t_map_empty_and_zero_len(void)
{
    mf_map_iter *it = NULL;
    const void *d;
    size_t l, idx;
    const void *args[3] = {NULL, NULL, NULL};
    size_t lens[3] = {0, 0, 0};
    int k;
    NEED_EX();
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, args, lens, 0, NULL, &it), MF_OK);
    if (it)
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
    it = NULL;
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, args, lens, 3, bounded(0, 1), &it),
              MF_OK);
    for (k = 0; k < 3 && it; k++) {
        l = 99;
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
        CU_ASSERT_EQUAL(l, 0);
        CU_ASSERT_EQUAL(idx, (size_t)k);
    }
    if (it)
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
}

static void t_map_and_submit_errors(void)
{
    static unsigned char big[4097];
    const void *args[3];
    size_t lens[3];
    mf_map_iter *it = NULL;
    mf_future f = {0};
    NEED_EX();
    args[0] = big;
    args[1] = big;
    args[2] = big;
    lens[0] = 1;
    lens[1] = 4097; /* over max_arg_bytes */
    lens[2] = 1;
    ASSERT_RC(mf_map(mft_ex, ID_MARK, args, lens, 3, NULL, &it), MF_E2BIG);
    CU_ASSERT_PTR_NULL(it);
    lens[1] = 4096;
    ASSERT_RC(mf_map(mft_ex, mf_fn_id_of("nope"), args, lens, 3, NULL, &it),
              MF_ENOENT);
    /* NULL lens, or a NULL item with a length: nothing submitted */
    ASSERT_RC(mf_map(mft_ex, ID_MARK, args, NULL, 3, NULL, &it), MF_EINVAL);
    args[1] = NULL;
    lens[1] = 4;
    ASSERT_RC(mf_map(mft_ex, ID_MARK, args, lens, 3, NULL, &it), MF_EINVAL);
    CU_ASSERT_PTR_NULL(it);
    args[1] = big;
    ASSERT_RC(mf_submit(mft_ex, ID_MARK, big, 4097, &f), MF_E2BIG);
    CU_ASSERT_EQUAL(f.h, 0);
    /* at the limit it works */
    f = submit_ok(ID_SUM, big, 4096);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_OK);
    mf_future_release(f);
    mft_expect_marks = 0; /* nothing of the failed map was submitted */
}

const mft_test tests_map[] = {
    {"ordered_chunksizes", t_map_ordered},
    {"unordered_chunksizes", t_map_unordered},
    {"failing_item_later_items_still_given", t_map_failing_item},
    {"empty_map_and_zero_length_items", t_map_empty_and_zero_len},
    {"E2BIG_ENOENT_nothing_submitted", t_map_and_submit_errors},
    {NULL, NULL}};

/* =================================================================== */
/* Scenario: map_gated (window 1)                                       */
/* =================================================================== */

static void t_map_timeout(void)
{
    mft_gate *gs[MAXW];
    mf_map_opts mo;
    mf_map_iter *it = NULL;
    const void *d;
    size_t l, idx;
    double t0;
    NEED_EX();
    map_args_init();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    mf_map_opts_init(&mo);
    mo.timeout = 0.2;
    t0 = mft_now();
    ASSERT_RC(mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 5, &mo, &it),
              MF_OK);
    /* no worker is free: nothing can start before the timeout */
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_ETIMEDOUT);
    CU_ASSERT(mft_now() - t0 >= 0.15);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    release_all(gs, mft_nw);
    /* the cancelled items never run: checked with the mark count */
    {
        mf_future e = submit_ok(ID_ECHO, "z", 2);
        expect_result(e, "z", 2);
        mf_future_release(e);
    }
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
}

static void t_map_free_pending(void)
{
    mft_gate *gs[MAXW];
    mf_map_iter *it = NULL;
    NEED_EX();
    map_args_init();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    ASSERT_RC(mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 4, NULL, &it),
              MF_OK);
    mf_map_free(it); /* consumer stops before any item started */
    release_all(gs, mft_nw);
    {
        mf_future e = submit_ok(ID_ECHO, "u", 2);
        expect_result(e, "u", 2);
        mf_future_release(e);
    }
}

static void t_map_stop_early_running(void)
{
    enum { N = 200 };
    static int32_t v[N];
    static const void *a[N];
    static size_t ls[N];
    mf_map_opts mo;
    mf_map_iter *it = NULL;
    const void *d;
    size_t l, idx;
    int i;
    NEED_EX();
    for (i = 0; i < N; i++) {
        v[i] = i;
        a[i] = &v[i];
        ls[i] = 4;
    }
    mf_map_opts_init(&mo);
    mo.chunksize = 2;
    mo.timeout = T;
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, a, ls, N, &mo, &it), MF_OK);
    for (i = 0; i < 3; i++) {
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
        CU_ASSERT_EQUAL(idx, (size_t)i);
    }
    mf_map_free(it); /* items pending, some maybe running */
    {
        mf_future e = submit_ok(ID_ECHO, "after", 6);
        expect_result(e, "after", 6);
        mf_future_release(e);
    }
}

static void map_gated_order(int unordered)
{
    mft_gate *g0 = NULL, *mg[MAXW];
    mft_gate_arg ma[MAXW];
    const void *args[MAXW];
    size_t lens[MAXW];
    mf_map_opts mo;
    mf_map_iter *it = NULL;
    int k, m = mft_nw - 1;
    const void *d;
    size_t l, idx;
    if (m < 1) {
        CU_PASS("needs two workers");
        return;
    }
    /* one worker holds g0 (the progress driver), m workers the map items */
    ASSERT_RC(mft_gate_submit(&g0), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g0);
    CU_ASSERT_FATAL(mft_gates_started(&g0, 1, NULL, 0));
    for (k = 0; k < m; k++) {
        mg[k] = mft_gate_new(&ma[k]);
        args[k] = &ma[k];
        lens[k] = sizeof ma[k];
    }
    mf_map_opts_init(&mo);
    mo.unordered = unordered;
    mo.timeout = T;
    ASSERT_RC(mf_map(mft_ex, ID_GATE, args, lens, (size_t)m, &mo, &it),
              MF_OK);
    CU_ASSERT_FATAL(mft_gates_started(mg, (size_t)m, &g0->f, 1));
    for (k = m - 1; k >= 0; k--) {
        mft_gate_release(mg[k], MFT_GATE_OK);
        if (unordered) {
            /* only item k can finish now */
            ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
            CU_ASSERT_EQUAL(idx, (size_t)k);
            if (d && l == sizeof(mft_gate_res)) {
                mft_gate_res r;
                memcpy(&r, d, sizeof r);
                CU_ASSERT_EQUAL(r.id, mg[k]->id);
            }
        }
    }
    if (!unordered) {
        for (k = 0; k < m; k++) {
            ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
            CU_ASSERT_EQUAL(idx, (size_t)k);
        }
    }
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
    mft_gate_release(g0, MFT_GATE_OK);
    ASSERT_RC(mf_future_result(g0->f, T, NULL, NULL), MF_OK);
}

static void t_map_unordered_completion_order(void)
{
    NEED_EX();
    map_gated_order(1);
}

static void t_map_ordered_reverse_completion(void)
{
    NEED_EX();
    map_gated_order(0);
}

static void t_map_gated_marks(void)
{
    mft_expect_marks = 0;
}

const mft_test tests_map_gated[] = {
    {"map_timeout_cancels_unstarted_and_finishes", t_map_timeout},
    {"map_free_with_pending_items", t_map_free_pending},
    {"map_consumer_stops_early", t_map_stop_early_running},
    {"unordered_yields_in_completion_order",
     t_map_unordered_completion_order},
    {"ordered_with_reverse_completion", t_map_ordered_reverse_completion},
    {"cancelled_items_never_ran", t_map_gated_marks},
    {NULL, NULL}};
