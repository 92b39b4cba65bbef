/*
 * test_shutdown.c — shutdown and close: shutdown without wait (results
 * still arrive), cancel_futures added by a later call (only queued futures
 * and map items go), shutdown(wait) with options at 0, map items that run
 * without iteration, a callback that submits during shutdown(wait), 20000
 * fire-and-forget futures, futures that stay valid after close.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <stdlib.h>
#include <string.h>

/* =================================================================== */
/* Scenarios: shutdown                                                  */
/* =================================================================== */

/* Options left at 0 mean the defaults. */
void opts_zero(mf_executor_opts *o)
{
    o->window = 0;
    o->max_arg_bytes = 0;
    o->idle_sleep_max_us = 0;
}

static void t_shutdown_nowait(void)
{
    mft_gate *gs[MAXW];
    mf_future q1, q2, f = {0};
    mf_map_iter *it = NULL, *it2 = NULL;
    const void *d;
    size_t l, idx;
    double t0;
    NEED_EX();
    map_args_init();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    q1 = submit_ok(ID_MARK, NULL, 0);
    q2 = submit_ok(ID_MARK, NULL, 0);
    ASSERT_RC(mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 2,
                     bounded(0, 1), &it),
              MF_OK);
    /* returns at once although nothing can finish (the gates hold) */
    t0 = mft_now();
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 0), MF_OK);
    CU_ASSERT(mft_now() - t0 < 20.0);
    ASSERT_RC(mf_submit(mft_ex, ID_ECHO, "x", 1, &f), MF_ESHUTDOWN);
    CU_ASSERT_EQUAL(f.h, 0);
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, g_map_args, g_map_lens, 1, NULL, &it2),
              MF_ESHUTDOWN);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 0), MF_OK); /* idempotent */
    CU_ASSERT_EQUAL(mf_future_cancelled(q1), 0);
    CU_ASSERT_EQUAL(mf_future_done(q1), 0);
    /* results still arrive */
    release_all(gs, mft_nw);
    ASSERT_RC(mf_future_result(q1, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_result(q2, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 1), MF_OK);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 0), MF_OK);
    mf_future_release(q1);
    mf_future_release(q2);
    mft_expect_marks = 4;
}

static void t_shutdown_cancel_futures(void)
{
    mft_gate *gs[MAXW];
    mf_future q[3];
    cb_log log;
    cb_rec r[3] = {{&log, 1}, {&log, 2}, {&log, 3}};
    mf_map_iter *it = NULL, *itc = NULL;
    const void *d;
    size_t l, idx;
    int i;
    NEED_EX();
    memset(&log, 0, sizeof log);
    map_args_init();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    for (i = 0; i < 3; i++) {
        q[i] = submit_ok(ID_MARK, NULL, 0);
        ASSERT_RC(mf_future_on_done(q[i], cb_append, &r[i]), MF_OK);
    }
    ASSERT_RC(mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 2,
                     bounded(0, 1), &it),
              MF_OK);
    {
        /* chunks of 3: every item of a cancelled chunk is reported */
        mf_map_opts mo;
        mf_map_opts_init(&mo);
        mo.chunksize = 3;
        mo.timeout = T;
        ASSERT_RC(
            mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 5, &mo, &itc),
            MF_OK);
    }
    /* Queued on one worker's own queue (mf_submit_opts.pin): cancelled
     * with the rest. */
    mf_future pq[2];
    mf_submit_opts so;
    memset(&so, 0, sizeof so);
    so.pin = 1;
    so.pin_rank = mft_root == 0 ? 1 : 0;
    for (i = 0; i < 2; i++)
        ASSERT_RC(mf_submit_ex(mft_ex, ID_MARK, NULL, 0, &so, &pq[i]), MF_OK);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 0), MF_OK);
    CU_ASSERT_EQUAL(mf_future_cancelled(q[0]), 0);
    CU_ASSERT_EQUAL(mf_future_cancelled(pq[0]), 0);
    /* a later call adds cancel_futures: only the queued ones go */
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 1), MF_OK);
    for (i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(mf_future_cancelled(q[i]), 1);
        CU_ASSERT_EQUAL(mf_future_done(q[i]), 1);
        ASSERT_RC(mf_future_result(q[i], 0, NULL, NULL), MF_ECANCELLED);
    }
    for (i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(mf_future_cancelled(pq[i]), 1);
        ASSERT_RC(mf_future_result(pq[i], 0, NULL, NULL), MF_ECANCELLED);
        mf_future_release(pq[i]);
    }
    CU_ASSERT_EQUAL(atomic_load(&log.n), 3);
    for (i = 0; i < mft_nw; i++) {
        CU_ASSERT_EQUAL(mf_future_cancelled(gs[i]->f), 0);
        CU_ASSERT_EQUAL(mf_future_running(gs[i]->f), 1);
    }
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_ECANCELLED);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_ECANCELLED);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
    for (i = 0; i < 5 && itc; i++)
        ASSERT_RC(mf_map_next(itc, &d, &l, &idx), MF_ECANCELLED);
    if (itc)
        ASSERT_RC(mf_map_next(itc, &d, &l, &idx), MF_EDONE);
    mf_map_free(itc);
    /* running ones finish with results */
    release_all(gs, mft_nw);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 1), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 3);
    for (i = 0; i < 3; i++)
        mf_future_release(q[i]);
    mft_expect_marks = 0;
}

static void t_shutdown_wait(void)
{
    enum { N = 20 };
    mf_future f[N], x = {0};
    int32_t i;
    NEED_EX();
    for (i = 0; i < N; i++)
        f[i] = submit_ok(ID_ECHO, &i, sizeof i);
    {
        /* max_arg_bytes 0 means the default (1 GiB): 8 MiB is fine */
        size_t n = (size_t)8 << 20;
        unsigned char *b = calloc(1, n);
        mf_future g = {0};
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        ASSERT_RC(mf_submit(mft_ex, ID_SUM, b, n, &g), MF_OK);
        free(b);
        if (g.h) {
            ASSERT_RC(mf_future_result(g, T, NULL, NULL), MF_OK);
            mf_future_release(g);
        }
    }
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 0), MF_OK);
    for (i = 0; i < N; i++)
        CU_ASSERT_EQUAL(mf_future_done(f[i]), 1); /* waited for */
    for (i = 0; i < N; i++) {
        expect_result(f[i], &i, sizeof i);
        mf_future_release(f[i]);
    }
    ASSERT_RC(mf_submit(mft_ex, ID_ECHO, "x", 1, &x), MF_ESHUTDOWN);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 1), MF_OK);
}

typedef struct sub_ctx {
    atomic_int ran;
    int rc;
    mf_future f;
} sub_ctx;

static void cb_submit_late(mf_future f, void *ud)
{
    sub_ctx *c = ud;
    (void)f;
    c->rc = mf_submit(mft_ex, ID_ECHO, "late", 5, &c->f);
    atomic_store(&c->ran, 1);
}

/* A callback that runs after shutdown (during shutdown(wait)) cannot
 * submit any more. */
static void t_callback_submit_after_shutdown(void)
{
    mft_gate *g = NULL;
    sub_ctx c;
    NEED_EX();
    memset(&c, 0, sizeof c);
    c.rc = -1;
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    ASSERT_RC(mf_future_on_done(g->f, cb_submit_late, &c), MF_OK);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 0), MF_OK);
    mft_gate_release(g, MFT_GATE_OK);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 0), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&c.ran), 1);
    CU_ASSERT_EQUAL(c.rc, MF_ESHUTDOWN);
    if (c.rc == MF_OK)
        mf_future_release(c.f);
}

const mft_test tests_shutdown_cb[] = {
    {"callback_submit_after_shutdown_ESHUTDOWN",
     t_callback_submit_after_shutdown},
    {NULL, NULL}};

/* Fire and forget: 20000 futures released at once, then shutdown(wait). */
static void t_fire_and_forget(void)
{
    enum { N = 20000 };
    int32_t i;
    int bad = 0;
    mf_future last;
    NEED_EX();
    for (i = 0; i < N; i++) {
        mf_future f = {0};
        if (mf_submit(mft_ex, ID_ECHO, &i, sizeof i, &f) != MF_OK ||
            mf_future_release(f) != MF_OK)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    last = submit_ok(ID_ECHO, "last", 5);
    expect_result(last, "last", 5);
    mf_future_release(last);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 0), MF_OK);
}

const mft_test tests_fire_and_forget[] = {
    {"release_20000_futures_unwaited_then_shutdown", t_fire_and_forget},
    {NULL, NULL}};

const mft_test tests_shutdown_nowait[] = {
    {"shutdown_nowait_results_still_arrive", t_shutdown_nowait},
    {NULL, NULL}};
const mft_test tests_shutdown_cancel[] = {
    {"shutdown_cancel_futures_only_queued", t_shutdown_cancel_futures},
    {NULL, NULL}};
/* Items of a map run although nobody iterates (as Python's map submits
 * at once); shutdown(wait) waits for them. */
static void t_map_runs_without_iteration(void)
{
    mf_map_iter *it = NULL;
    const void *d;
    size_t l, idx;
    int k;
    NEED_EX();
    map_args_init();
    ASSERT_RC(mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 5, NULL, &it),
              MF_OK);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 0), MF_OK);
    for (k = 0; k < 5 && it; k++) {
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
        CU_ASSERT_EQUAL(idx, (size_t)k);
    }
    if (it)
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
    mft_expect_marks = 5;
}

const mft_test tests_map_no_iter[] = {
    {"map_items_run_without_iteration", t_map_runs_without_iteration},
    {NULL, NULL}};

const mft_test tests_shutdown_wait[] = {
    {"shutdown_wait_then_submit_ESHUTDOWN", t_shutdown_wait}, {NULL, NULL}};

/* close keeps futures valid */
enum { KEEPN = 6 };
static mf_future g_keep[KEEPN];

static void t_close_keeps_submit(void)
{
    int32_t i;
    NEED_EX();
    for (i = 0; i < KEEPN; i++)
        g_keep[i] = submit_ok(ID_ECHO, &i, sizeof i);
}

void pc_close_keeps(void)
{
    int32_t i;
    if (mft_rank != mft_root)
        return;
    {
        /* waiting works on futures of a closed executor */
        unsigned char fl[KEEPN];
        size_t nd = 0;
        mf_as_completed_iter *it = NULL;
        mf_future x;
        int n = 0;
        ASSERT_RC(mf_wait(g_keep, KEEPN, 0, MF_ALL_COMPLETED, fl, &nd),
                  MF_OK);
        CU_ASSERT_EQUAL(nd, KEEPN);
        ASSERT_RC(mf_as_completed(g_keep, KEEPN, 0, &it), MF_OK);
        while (it && mf_as_completed_next(it, &x) == MF_OK)
            n++;
        CU_ASSERT_EQUAL(n, KEEPN);
        mf_as_completed_free(it);
        ASSERT_RC(mf_future_cancel(g_keep[0]), MF_ESTATE);
    }
    for (i = 0; i < KEEPN; i++) {
        const void *d = NULL;
        size_t l = 0;
        if (!g_keep[i].h)
            continue;
        CU_ASSERT_EQUAL(mf_future_done(g_keep[i]), 1);
        ASSERT_RC(mf_future_result(g_keep[i], 0, &d, &l), MF_OK);
        CU_ASSERT(l == 4 && d && memcmp(d, &i, 4) == 0);
        ASSERT_RC(mf_future_release(g_keep[i]), MF_OK);
        g_keep[i].h = 0;
    }
}

const mft_test tests_close_keeps[] = {
    {"submit_then_close_without_waiting", t_close_keeps_submit},
    {NULL, NULL}};
