/*
 * test_as_completed.c — mf_as_completed (as_completed; window 1): finished
 * futures first in input order (cancelled included), duplicates once,
 * then the pending ones as they finish; zero timeout; timeout then ask
 * again; completion order; the iterator holds references; the completion
 * queue (add while iterating, take) and the bounded pipeline on it.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <string.h>

/* =================================================================== */
/* Scenario: as_completed (window 1)                                    */
/* =================================================================== */

static void t_ac_mixed_and_duplicates(void)
{
    mft_gate *g = NULL, *gs[MAXW];
    mf_future d1, d2, qc, futs[6], x;
    mf_as_completed_iter *it = NULL;
    int k;
    NEED_EX();
    d1 = submit_ok(ID_ECHO, "1", 2);
    d2 = submit_ok(ID_ECHO, "2", 2);
    ASSERT_RC(mf_future_result(d1, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_result(d2, T, NULL, NULL), MF_OK);
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    g = gs[0];
    qc = submit_ok(ID_MARK, NULL, 0); /* queued: every worker busy */
    ASSERT_RC(mf_future_cancel(qc), MF_OK);
    futs[0] = g->f;
    futs[1] = d2;
    futs[2] = g->f;
    futs[3] = qc;
    futs[4] = d1;
    futs[5] = d2;
    ASSERT_RC(mf_as_completed(futs, 6, T, &it), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    /* already finished first, in input order, each once */
    ASSERT_RC(mf_as_completed_next(it, &x), MF_OK);
    CU_ASSERT(x.h == d2.h);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_OK);
    CU_ASSERT(x.h == qc.h);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_OK);
    CU_ASSERT(x.h == d1.h);
    /* then the pending one, when it finishes */
    mft_gate_release(g, MFT_GATE_OK);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_OK);
    CU_ASSERT(x.h == g->f.h);
    CU_ASSERT_EQUAL(mf_future_done(x), 1);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_EDONE);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_EDONE);
    mf_as_completed_free(it);
    for (k = 1; k < mft_nw; k++)
        mft_gate_release(gs[k], MFT_GATE_OK);
    mf_future_release(d1);
    mf_future_release(d2);
    mf_future_release(qc);
    mft_expect_marks = 0;
}

static void t_ac_timeout(void)
{
    mft_gate *g = NULL;
    mf_as_completed_iter *it = NULL;
    mf_future x = {0};
    NEED_EX();
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    ASSERT_RC(mf_as_completed(&g->f, 1, 0.05, &it), MF_OK);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_ETIMEDOUT);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_ETIMEDOUT); /* ask again */
    mft_gate_release(g, MFT_GATE_OK);
    ASSERT_RC(mf_future_result(g->f, T, NULL, NULL), MF_OK);
    /* now done: given even though the timeout ran out */
    ASSERT_RC(mf_as_completed_next(it, &x), MF_OK);
    CU_ASSERT(x.h == g->f.h);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_EDONE);
    mf_as_completed_free(it);
}

static void t_ac_completion_order(void)
{
    mft_gate *ga = NULL, *gb = NULL;
    mf_future futs[2], x;
    mf_as_completed_iter *it = NULL;
    mft_gate *both[2];
    NEED_EX();
    if (mft_nw < 2) {
        CU_PASS("needs two workers");
        return;
    }
    ASSERT_RC(mft_gate_submit(&ga), MF_OK);
    ASSERT_RC(mft_gate_submit(&gb), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ga);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gb);
    both[0] = ga;
    both[1] = gb;
    CU_ASSERT_FATAL(mft_gates_started(both, 2, NULL, 0));
    futs[0] = ga->f;
    futs[1] = gb->f;
    ASSERT_RC(mf_as_completed(futs, 2, T, &it), MF_OK);
    mft_gate_release(gb, MFT_GATE_OK);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_OK);
    CU_ASSERT(x.h == gb->f.h);
    mft_gate_release(ga, MFT_GATE_FAIL);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_OK);
    CU_ASSERT(x.h == ga->f.h);
    ASSERT_RC(mf_future_result(x, 0, NULL, NULL), MF_ETASK);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_EDONE);
    mf_as_completed_free(it);
}

static void t_ac_iterator_holds_references(void)
{
    mf_future e, x = {0};
    mf_as_completed_iter *it = NULL;
    const void *d = NULL;
    NEED_EX();
    e = submit_ok(ID_ECHO, "ref", 4);
    ASSERT_RC(mf_as_completed(&e, 1, T, &it), MF_OK);
    ASSERT_RC(mf_future_release(e), MF_OK); /* the iterator keeps it */
    ASSERT_RC(mf_as_completed_next(it, &x), MF_OK);
    CU_ASSERT(x.h == e.h);
    CU_ASSERT_EQUAL(mf_future_done(x), 1);
    ASSERT_RC(mf_future_result(x, 0, &d, NULL), MF_OK);
    CU_ASSERT(d && memcmp(d, "ref", 4) == 0);
    mf_as_completed_free(it);
    ASSERT_RC(mf_future_result(e, 0, NULL, NULL), MF_EBADHANDLE);
}

static void t_ac_zero_timeout(void)
{
    mft_gate *g = NULL;
    mf_future d, futs[3], x = {0};
    mf_as_completed_iter *it = NULL;
    NEED_EX();
    d = submit_ok(ID_ECHO, "d", 2);
    ASSERT_RC(mf_future_result(d, T, NULL, NULL), MF_OK);
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    futs[0] = g->f;
    futs[1] = d;
    futs[2] = d;
    ASSERT_RC(mf_as_completed(futs, 3, 0, &it), MF_OK);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_OK); /* the finished one */
    CU_ASSERT(x.h == d.h);
    ASSERT_RC(mf_as_completed_next(it, &x), MF_ETIMEDOUT);
    mf_as_completed_free(it);
    mft_gate_release(g, MFT_GATE_OK);
    ASSERT_RC(mf_future_result(g->f, T, NULL, NULL), MF_OK);
    mf_future_release(d);
}

/* The completion queue: an empty set filled while iterating; take hands
 * the reference over; positions continue after the initial array. */
static void t_ac_queue_add_take(void)
{
    mft_gate *g = NULL;
    mf_future d, x = {0}, y = {0};
    mf_as_completed_iter *q = NULL;
    size_t pos = 99;
    const void *r = NULL;
    size_t rlen = 0;
    NEED_EX();
    ASSERT_RC(mf_as_completed(NULL, 0, T, &q), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    ASSERT_RC(mf_as_completed_take(q, &x, NULL), MF_EDONE); /* empty */
    d = submit_ok(ID_ECHO, "qd", 3); /* first: one worker may be all */
    ASSERT_RC(mf_future_result(d, T, NULL, NULL), MF_OK);
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    ASSERT_RC(mf_as_completed_add(q, g->f), MF_OK); /* position 0 */
    ASSERT_RC(mf_as_completed_add(q, d), MF_OK);    /* done: position 1 */
    ASSERT_RC(mf_future_release(d), MF_OK);         /* the queue keeps it */
    ASSERT_RC(mf_as_completed_take(q, &x, &pos), MF_OK);
    CU_ASSERT(x.h == d.h);
    CU_ASSERT_EQUAL(pos, 1);
    ASSERT_RC(mf_future_result(x, 0, &r, &rlen), MF_OK);
    CU_ASSERT(rlen == 3 && r && memcmp(r, "qd", 3) == 0);
    ASSERT_RC(mf_future_release(x), MF_OK); /* ours now: freed */
    ASSERT_RC(mf_future_result(x, 0, NULL, NULL), MF_EBADHANDLE);
    /* the gate is pending: a zero-wait take would block; release it */
    mft_gate_release(g, MFT_GATE_OK);
    ASSERT_RC(mf_as_completed_take(q, &y, &pos), MF_OK);
    CU_ASSERT(y.h == g->f.h);
    CU_ASSERT_EQUAL(pos, 0);
    ASSERT_RC(mf_future_release(y), MF_OK); /* the gate keeps its own */
    ASSERT_RC(mf_as_completed_take(q, &y, NULL), MF_EDONE);
    /* after MF_EDONE, an add makes it give again */
    d = submit_ok(ID_ECHO, "again", 6);
    ASSERT_RC(mf_as_completed_add(q, d), MF_OK);
    ASSERT_RC(mf_as_completed_next_index(q, &pos), MF_OK);
    CU_ASSERT_EQUAL(pos, 2);
    ASSERT_RC(mf_future_result(d, T, &r, &rlen), MF_OK);
    CU_ASSERT(rlen == 6 && r && memcmp(r, "again", 6) == 0);
    ASSERT_RC(mf_future_release(d), MF_OK);
    ASSERT_RC(mf_as_completed_take(q, &y, NULL), MF_EDONE);
    /* bad input */
    ASSERT_RC(mf_as_completed_add(NULL, g->f), MF_EINVAL);
    ASSERT_RC(mf_as_completed_add(q, d), MF_EBADHANDLE); /* released */
    ASSERT_RC(mf_as_completed_take(q, NULL, NULL), MF_EINVAL);
    ASSERT_RC(mf_as_completed_take(NULL, &y, NULL), MF_EINVAL);
    mf_as_completed_free(q);
}

/* The bounded pipeline of the header's idiom, W outstanding: every task's
 * result seen once and right, the window never exceeded. A future added
 * and released by the caller is freed when taken and released: freeing
 * the queue with futures still in it releases them (no leak under
 * ASan/valgrind). */
static void t_ac_queue_pipeline(void)
{
    enum { N = 400 };
    static unsigned char seen[N];
    mf_as_completed_iter *q = NULL;
    mf_future f, left;
    size_t out = 0, got = 0, pos = 0;
    char arg[16];
    NEED_EX();
    memset(seen, 0, sizeof seen);
    const size_t W = (size_t)(2 * mft_nw + 1);
    ASSERT_RC(mf_as_completed(NULL, 0, MF_FOREVER, &q), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    for (int i = 0; i <= N; i++) {
        while (out >= W || (i == N && out > 0)) {
            const void *r = NULL;
            size_t rlen = 0;
            ASSERT_RC(mf_as_completed_take(q, &f, &pos), MF_OK);
            CU_ASSERT_FATAL(pos < N);
            ASSERT_RC(mf_future_result(f, 0, &r, &rlen), MF_OK);
            snprintf(arg, sizeof arg, "t%zu", pos);
            CU_ASSERT(r && rlen == strlen(arg) + 1 &&
                      memcmp(r, arg, rlen) == 0);
            CU_ASSERT_EQUAL(seen[pos], 0);
            seen[pos] = 1;
            ASSERT_RC(mf_future_release(f), MF_OK);
            out--;
            got++;
        }
        if (i == N)
            break;
        snprintf(arg, sizeof arg, "t%d", i);
        f = submit_ok(ID_ECHO, arg, strlen(arg) + 1);
        ASSERT_RC(mf_as_completed_add(q, f), MF_OK);
        ASSERT_RC(mf_future_release(f), MF_OK);
        out++;
    }
    CU_ASSERT_EQUAL(got, N);
    ASSERT_RC(mf_as_completed_take(q, &f, NULL), MF_EDONE);
    /* one left in the queue at free: the queue releases it */
    left = submit_ok(ID_ECHO, "left", 5);
    ASSERT_RC(mf_as_completed_add(q, left), MF_OK);
    ASSERT_RC(mf_future_result(left, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_release(left), MF_OK);
    mf_as_completed_free(q);
    ASSERT_RC(mf_future_result(left, 0, NULL, NULL), MF_EBADHANDLE);
}

const mft_test tests_as_completed[] = {
    {"zero_timeout_gives_finished_then_ETIMEDOUT", t_ac_zero_timeout},
    {"finished_first_duplicates_once_cancelled_done",
     t_ac_mixed_and_duplicates},
    {"timeout_then_ask_again", t_ac_timeout},
    {"yields_in_completion_order", t_ac_completion_order},
    {"iterator_holds_references", t_ac_iterator_holds_references},
    {"queue_add_take", t_ac_queue_add_take},
    {"queue_bounded_pipeline", t_ac_queue_pipeline},
    {NULL, NULL}};
