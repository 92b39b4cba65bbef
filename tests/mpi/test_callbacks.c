/*
 * test_callbacks.c — done callbacks (callbacks, callbacks_more; window 1):
 * on already finished futures, order and exactly once, MF_EINCALLBACK for
 * blocking calls inside a callback, a future valid in its callback after
 * release, cancel and on_done inside a callback, a callback releasing the
 * last reference, releasing running and queued futures.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <stdio.h>
#include <string.h>

static void release_gates(mft_gate **gs, int n)
{
    int i;
    for (i = 0; i < n; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
}

/* =================================================================== */
/* Scenario: callbacks (window 1)                                       */
/* =================================================================== */

static void t_cb_already_done(void)
{
    cb_log log;
    cb_rec r = {&log, 5};
    mf_future f;
    NEED_EX();
    memset(&log, 0, sizeof log);
    f = submit_ok(ID_ECHO, "x", 1);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_on_done(f, cb_append, &r), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 1); /* ran at once */
    CU_ASSERT(log.handles[0] == f.h && log.ids[0] == 5);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 1);
    mf_future_release(f);
}

static void t_cb_already_failed_or_cancelled(void)
{
    cb_log log;
    cb_rec r = {&log, 8};
    mf_future f;
    mft_gate *gs[MAXW];
    int32_t c = 2;
    NEED_EX();
    memset(&log, 0, sizeof log);
    f = submit_ok(ID_FAIL, &c, sizeof c);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_ETASK);
    ASSERT_RC(mf_future_on_done(f, cb_append, &r), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 1);
    mf_future_release(f);
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    f = submit_ok(ID_ECHO, "c", 2); /* queued */
    ASSERT_RC(mf_future_cancel(f), MF_OK);
    ASSERT_RC(mf_future_on_done(f, cb_append, &r), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 2);
    mf_future_release(f);
    release_gates(gs, mft_nw);
}

static void t_cb_order_exactly_once(void)
{
    cb_log log;
    cb_rec r[4] = {{&log, 1}, {&log, 2}, {&log, 3}, {&log, 4}};
    mft_gate *g = NULL;
    int i;
    NEED_EX();
    memset(&log, 0, sizeof log);
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    for (i = 0; i < 3; i++)
        ASSERT_RC(mf_future_on_done(g->f, cb_append, &r[i]), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 0);
    mft_gate_release(g, MFT_GATE_OK);
    ASSERT_RC(mf_future_result(g->f, T, NULL, NULL), MF_OK);
    /* callbacks may run in whichever call makes progress */
    CU_ASSERT(mft_progress_until(&log.n, 3, NULL, 0));
    CU_ASSERT_EQUAL(atomic_load(&log.n), 3);
    CU_ASSERT(log.ids[0] == 1 && log.ids[1] == 2 && log.ids[2] == 3);
    /* more progress: never again */
    {
        mf_future e = submit_ok(ID_ECHO, "y", 1);
        ASSERT_RC(mf_future_result(e, T, NULL, NULL), MF_OK);
        mf_future_release(e);
    }
    ASSERT_RC(mf_wait(&g->f, 1, T, MF_ALL_COMPLETED, NULL, NULL), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 3);
    ASSERT_RC(mf_future_on_done(g->f, cb_append, &r[3]), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 4);
    CU_ASSERT_EQUAL(log.ids[3], 4);
}

/* Everything a callback tries (inside it). */
typedef struct cb_inside {
    mft_gate *pending;        /* a gate that cannot finish meanwhile */
    mf_as_completed_iter *ai; /* over pending */
    mf_map_iter *mi;          /* one gate item, cannot finish */
    mf_future sub;
    int r_result, r_error, r_wait, r_ac, r_map, r_shut, r_close, r_self0,
        r_pend0, r_submit, self_done;
    atomic_int ran;
} cb_inside;

static void cb_blocking(mf_future f, void *ud)
{
    cb_inside *c = ud;
    const mf_task_error *e = NULL;
    const void *d = NULL;
    size_t l = 0, idx = 0;
    mf_future x = {0};
    c->r_result = mf_future_result(c->pending->f, 1.0, NULL, NULL);
    c->r_error = mf_future_error(c->pending->f, 1.0, &e);
    c->r_wait = mf_wait(&c->pending->f, 1, 1.0, MF_ALL_COMPLETED, NULL, NULL);
    c->r_ac = mf_as_completed_next(c->ai, &x);
    c->r_map = mf_map_next(c->mi, &d, &l, &idx);
    /* Without callback detection these two would block for ever (the
     * gates hold): only try them when the blocking waits above were
     * refused, and count them failed otherwise. */
    if (c->r_result == MF_EINCALLBACK && c->r_wait == MF_EINCALLBACK) {
        c->r_shut = mf_executor_shutdown(mft_ex, 1, 0);
        c->r_close = mf_executor_close(mft_ex);
    } else {
        c->r_shut = c->r_close = -1;
    }
    c->r_self0 = mf_future_result(f, 0, &d, &l);
    c->r_pend0 = mf_future_result(c->pending->f, 0, NULL, NULL);
    c->self_done = mf_future_done(f);
    c->r_submit = mf_submit(mft_ex, ID_ECHO, "cb", 3, &c->sub);
    atomic_fetch_add(&c->ran, 1);
}

static void t_cb_blocking_calls_inside(void)
{
    mft_gate *gs[MAXW], *mg;
    mft_gate_arg ma;
    const void *margs[1];
    size_t mlens[1] = {sizeof(mft_gate_arg)};
    cb_inside c;
    mf_future x;
    const void *d;
    size_t l, idx = 99;
    int i;
    NEED_EX();
    memset(&c, 0, sizeof c);
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    /* queued behind the gates: one gate future, one map of one gate */
    ASSERT_RC(mft_gate_submit(&c.pending), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.pending);
    mg = mft_gate_new(&ma);
    margs[0] = &ma;
    {
        mf_map_opts mo;
        mf_map_opts_init(&mo);
        mo.timeout = T; /* bounded even if map_next blocked in the callback */
        ASSERT_RC(mf_map(mft_ex, ID_GATE, margs, mlens, 1, &mo, &c.mi),
                  MF_OK);
    }
    ASSERT_RC(mf_as_completed(&c.pending->f, 1, T, &c.ai), MF_OK);
    ASSERT_RC(mf_future_on_done(gs[0]->f, cb_blocking, &c), MF_OK);
    mft_gate_release(gs[0], MFT_GATE_OK);
    {
        mf_future drv = c.pending->f;
        CU_ASSERT(mft_progress_until(&c.ran, 1, &drv, 1));
    }
    CU_ASSERT_EQUAL(atomic_load(&c.ran), 1);
    CU_ASSERT_EQUAL(c.r_result, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_error, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_wait, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_ac, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_map, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_shut, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_close, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_self0, MF_OK);
    CU_ASSERT_EQUAL(c.r_pend0, MF_ETIMEDOUT);
    CU_ASSERT_EQUAL(c.self_done, 1);
    CU_ASSERT_EQUAL(c.r_submit, MF_OK);
    /* let everything finish */
    for (i = 1; i < mft_nw; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
    {
        mft_gate *two[2];
        two[0] = c.pending;
        two[1] = mg;
        CU_ASSERT_FATAL(mft_release_as_started(two, 2));
    }
    ASSERT_RC(mf_as_completed_next(c.ai, &x), MF_OK);
    CU_ASSERT(x.h == c.pending->f.h);
    ASSERT_RC(mf_as_completed_next(c.ai, &x), MF_EDONE);
    mf_as_completed_free(c.ai);
    ASSERT_RC(mf_map_next(c.mi, &d, &l, &idx), MF_OK);
    CU_ASSERT_EQUAL(idx, 0);
    ASSERT_RC(mf_map_next(c.mi, &d, &l, &idx), MF_EDONE);
    mf_map_free(c.mi);
    /* the executor is still open and the task submitted inside ran */
    if (c.r_submit == MF_OK) {
        expect_result(c.sub, "cb", 3);
        mf_future_release(c.sub);
    }
}

typedef struct cb_valid {
    atomic_int ran;
    int done, rc;
    size_t len;
    mft_gate_res res;
} cb_valid;

static void cb_check_valid(mf_future f, void *ud)
{
    cb_valid *v = ud;
    const void *d = NULL;
    v->done = mf_future_done(f);
    v->rc = mf_future_result(f, 0, &d, &v->len);
    if (v->rc == MF_OK && d && v->len == sizeof v->res)
        memcpy(&v->res, d, sizeof v->res);
    atomic_store(&v->ran, 1);
}

static void t_cb_future_valid_after_release(void)
{
    mft_gate *g = NULL;
    cb_valid v;
    NEED_EX();
    memset(&v, 0, sizeof v);
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    ASSERT_RC(mf_future_on_done(g->f, cb_check_valid, &v), MF_OK);
    ASSERT_RC(mf_future_release(g->f), MF_OK); /* the only user reference */
    g->f.h = 0;
    mft_gate_release(g, MFT_GATE_OK);
    CU_ASSERT(mft_progress_until(&v.ran, 1, NULL, 0));
    CU_ASSERT_EQUAL(v.done, 1);
    if (v.rc != MF_OK)
        fprintf(stderr, "  callback: mf_future_result gave %s\n",
                mf_errname(v.rc));
    CU_ASSERT_EQUAL(v.rc, MF_OK);
    CU_ASSERT_EQUAL(v.len, sizeof v.res);
    CU_ASSERT_EQUAL(v.res.id, g->id);
}

const mft_test tests_callbacks[] = {
    {"callback_on_done_future_runs_at_once", t_cb_already_done},
    {"callbacks_in_order_exactly_once", t_cb_order_exactly_once},
    {"callback_on_failed_or_cancelled_future_runs_at_once",
     t_cb_already_failed_or_cancelled},
    {"blocking_calls_in_callback_EINCALLBACK", t_cb_blocking_calls_inside},
    {"future_valid_in_callback_after_release",
     t_cb_future_valid_after_release},
    {NULL, NULL}};

/* =================================================================== */
/* Scenario: callbacks_more (window 1)                                  */
/* =================================================================== */

typedef struct nest_ctx {
    cb_rec *nested, *mine1, *mine3, *mine5;
    mf_future victim; /* {0}: no cancel inside */
    int r_on_done, r_cancel, victim_cancelled;
} nest_ctx;

static void cb_outer(mf_future f, void *ud)
{
    nest_ctx *c = ud;
    cb_append(f, c->mine1);
    /* f is done: a callback added now runs at once, inside this call */
    if (c->nested)
        c->r_on_done = mf_future_on_done(f, cb_append, c->nested);
    cb_append(f, c->mine3);
    /* cancelling another (queued) future runs its callbacks at once too */
    if (c->victim.h) {
        c->r_cancel = mf_future_cancel(c->victim);
        c->victim_cancelled = mf_future_cancelled(c->victim);
    }
    cb_append(f, c->mine5);
}

/* Callbacks of gs[0]: outer (logs 1, maybe adds a nested callback that
 * must log 2 at once, logs 3, maybe cancels a queued future whose
 * callback logs 4, logs 5), then one that logs 6. */
static void cb_nest_case(int nested, int cancel)
{
    mft_gate *gs[MAXW];
    cb_log log;
    cb_rec r1 = {&log, 1}, r2 = {&log, 2}, r3 = {&log, 3}, r4 = {&log, 4},
           r5 = {&log, 5}, r6 = {&log, 6};
    nest_ctx c;
    mf_future q = {0};
    int i, want[6] = {0}, nwant = 0;
    memset(&log, 0, sizeof log);
    memset(&c, 0, sizeof c);
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    if (cancel) {
        q = submit_ok(ID_MARK, NULL, 0); /* queued */
        ASSERT_RC(mf_future_on_done(q, cb_append, &r4), MF_OK);
    }
    c.nested = nested ? &r2 : NULL;
    c.mine1 = &r1;
    c.mine3 = &r3;
    c.mine5 = &r5;
    c.victim = q;
    ASSERT_RC(mf_future_on_done(gs[0]->f, cb_outer, &c), MF_OK);
    ASSERT_RC(mf_future_on_done(gs[0]->f, cb_append, &r6), MF_OK);
    mft_gate_release(gs[0], MFT_GATE_OK);
    for (i = 1; i <= 6; i++)
        if ((i != 2 || nested) && (i != 4 || cancel))
            want[nwant++] = i;
    CU_ASSERT(mft_progress_until(&log.n, nwant, NULL, 0));
    CU_ASSERT_EQUAL(atomic_load(&log.n), nwant);
    {
        int same = atomic_load(&log.n) == nwant;
        for (i = 0; i < nwant && same; i++)
            same = log.ids[i] == want[i];
        CU_ASSERT(same);
        if (!same) {
            fprintf(stderr, "  callback order:");
            for (i = 0; i < atomic_load(&log.n) && i < 32; i++)
                fprintf(stderr, " %d", log.ids[i]);
            fprintf(stderr, " (want");
            for (i = 0; i < nwant; i++)
                fprintf(stderr, " %d", want[i]);
            fprintf(stderr, ")\n");
        }
    }
    if (nested)
        CU_ASSERT_EQUAL(c.r_on_done, MF_OK);
    if (cancel) {
        CU_ASSERT_EQUAL(c.r_cancel, MF_OK);
        CU_ASSERT_EQUAL(c.victim_cancelled, 1);
        ASSERT_RC(mf_future_result(q, 0, NULL, NULL), MF_ECANCELLED);
        mf_future_release(q);
    }
    for (i = 1; i < mft_nw; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
    mft_expect_marks = 0;
}

static void t_cb_cancel_inside(void)
{
    NEED_EX();
    cb_nest_case(0, 1);
}

static void t_cb_nested_on_done(void)
{
    NEED_EX();
    cb_nest_case(1, 0);
}

typedef struct rel_ctx {
    atomic_int ran;
    int rc;
} rel_ctx;

static void cb_release_self(mf_future f, void *ud)
{
    rel_ctx *c = ud;
    c->rc = mf_future_release(f); /* the callback owns the last reference */
    atomic_store(&c->ran, 1);
}

static void t_cb_releases_own_future(void)
{
    mft_gate *g = NULL;
    rel_ctx c;
    mf_future f;
    NEED_EX();
    memset(&c, 0, sizeof c);
    c.rc = -1;
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    f = g->f;
    g->f.h = 0; /* handed to the callback */
    ASSERT_RC(mf_future_on_done(f, cb_release_self, &c), MF_OK);
    mft_gate_release(g, MFT_GATE_OK);
    CU_ASSERT(mft_progress_until(&c.ran, 1, NULL, 0));
    CU_ASSERT_EQUAL(c.rc, MF_OK);
    ASSERT_RC(mf_future_result(f, 0, NULL, NULL), MF_EBADHANDLE);
    /* and again on an already-done future (callback runs inside on_done) */
    memset(&c, 0, sizeof c);
    c.rc = -1;
    f = submit_ok(ID_ECHO, "s", 2);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_on_done(f, cb_release_self, &c), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&c.ran), 1);
    CU_ASSERT_EQUAL(c.rc, MF_OK);
    ASSERT_RC(mf_future_release(f), MF_EBADHANDLE);
}

static void t_release_running_and_queued(void)
{
    mft_gate *gs[MAXW];
    mf_future q, e;
    int i;
    NEED_EX();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    q = submit_ok(ID_ECHO, "q", 2); /* queued */
    ASSERT_RC(mf_future_release(q), MF_OK);
    ASSERT_RC(mf_future_release(gs[0]->f), MF_OK); /* running */
    gs[0]->f.h = 0;
    for (i = 0; i < mft_nw; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
    for (i = 1; i < mft_nw; i++)
        ASSERT_RC(mf_future_result(gs[i]->f, T, NULL, NULL), MF_OK);
    /* results of released futures are discarded; the executor goes on */
    e = submit_ok(ID_ECHO, "e", 2);
    expect_result(e, "e", 2);
    mf_future_release(e);
}

const mft_test tests_callbacks_more[] = {
    {"cancel_inside_callback_runs_its_callbacks_at_once", t_cb_cancel_inside},
    {"on_done_from_own_callback_runs_at_once", t_cb_nested_on_done},
    {"callback_releases_last_reference", t_cb_releases_own_future},
    {"release_running_and_queued_futures", t_release_running_and_queued},
    {NULL, NULL}};
