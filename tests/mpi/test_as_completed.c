/*
 * test_as_completed.c — mf_as_completed (as_completed; window 1): finished
 * futures first in input order (cancelled included), duplicates once,
 * then the pending ones as they finish; zero timeout; timeout then ask
 * again; completion order; the iterator holds references.
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

const mft_test tests_as_completed[] = {
    {"zero_timeout_gives_finished_then_ETIMEDOUT", t_ac_zero_timeout},
    {"finished_first_duplicates_once_cancelled_done",
     t_ac_mixed_and_duplicates},
    {"timeout_then_ask_again", t_ac_timeout},
    {"yields_in_completion_order", t_ac_completion_order},
    {"iterator_holds_references", t_ac_iterator_holds_references},
    {NULL, NULL}};
