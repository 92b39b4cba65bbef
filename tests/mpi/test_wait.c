/*
 * test_wait.c — mf_wait (wait; window 1): ALL_COMPLETED with duplicates,
 * FIRST_EXCEPTION (at the first failure, with one already failed, as
 * ALL_COMPLETED without one, a cancelled future is no exception),
 * FIRST_COMPLETED, timeouts with flags, a bad mode.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <string.h>

/* =================================================================== */
/* Scenario: wait (window 1)                                            */
/* =================================================================== */

static void t_wait_all_duplicates(void)
{
    mf_future e[4], futs[6];
    unsigned char fl[6];
    size_t nd = 0;
    int32_t i;
    NEED_EX();
    for (i = 0; i < 4; i++)
        e[i] = submit_ok(ID_ECHO, &i, sizeof i);
    futs[0] = e[0];
    futs[1] = e[1];
    futs[2] = e[0];
    futs[3] = e[2];
    futs[4] = e[3];
    futs[5] = e[1];
    memset(fl, 0, sizeof fl);
    ASSERT_RC(mf_wait(futs, 6, T, MF_ALL_COMPLETED, fl, &nd), MF_OK);
    CU_ASSERT_EQUAL(nd, 4);
    for (i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(fl[i], 1);
    for (i = 0; i < 4; i++)
        mf_future_release(e[i]);
}

static void t_wait_first_exception_none_fails(void)
{
    mf_future e[5];
    unsigned char fl[5];
    size_t nd = 0;
    int32_t i;
    NEED_EX();
    for (i = 0; i < 5; i++)
        e[i] = submit_ok(ID_ECHO, &i, sizeof i);
    memset(fl, 0, sizeof fl);
    ASSERT_RC(mf_wait(e, 5, T, MF_FIRST_EXCEPTION, fl, &nd), MF_OK);
    CU_ASSERT_EQUAL(nd, 5); /* behaves as ALL_COMPLETED */
    for (i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(fl[i], 1);
        CU_ASSERT_EQUAL(mf_future_done(e[i]), 1);
        mf_future_release(e[i]);
    }
}

static void t_wait_first_exception_and_first_completed(void)
{
    mft_gate *gs[MAXW], *qg = NULL;
    mf_future futs[MAXW + 2];
    unsigned char fl[MAXW + 2];
    size_t nd = 99, n, i;
    mf_future qc;
    const mf_task_error *e = NULL;
    NEED_EX();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    ASSERT_RC(mft_gate_submit(&qg), MF_OK); /* queued behind the gates */
    CU_ASSERT_PTR_NOT_NULL_FATAL(qg);
    n = 0;
    for (i = 0; i < (size_t)mft_nw; i++)
        futs[n++] = gs[i]->f;
    futs[n++] = qg->f;
    memset(fl, 9, sizeof fl);
    ASSERT_RC(mf_wait(futs, n, 0, MF_FIRST_EXCEPTION, fl, &nd), MF_ETIMEDOUT);
    CU_ASSERT_EQUAL(nd, 0);
    for (i = 0; i < n; i++)
        CU_ASSERT_EQUAL(fl[i], 0);
    /* the first failure ends the wait at once; nothing else can finish */
    mft_gate_release(gs[0], MFT_GATE_FAIL);
    ASSERT_RC(mf_wait(futs, n, T, MF_FIRST_EXCEPTION, fl, &nd), MF_OK);
    CU_ASSERT_EQUAL(nd, 1);
    CU_ASSERT_EQUAL(fl[0], 1);
    for (i = 1; i < n; i++)
        CU_ASSERT_EQUAL(fl[i], 0);
    ASSERT_RC(mf_future_result(gs[0]->f, 0, NULL, NULL), MF_ETASK);
    ASSERT_RC(mf_future_error(gs[0]->f, 0, &e), MF_OK);
    CU_ASSERT(e && mft_contains(e->message, "failed on request"));
    CU_ASSERT(e && e->function && strcmp(e->function, "gate") == 0);
    CU_ASSERT(e && e->rank == gs[0]->rank);
    /* the queued gate takes the freed worker */
    CU_ASSERT_FATAL(mft_gates_started(&qg, 1, NULL, 0));
    /* every worker busy again: a new future stays queued; cancel it */
    qc = submit_ok(ID_MARK, NULL, 0);
    ASSERT_RC(mf_future_cancel(qc), MF_OK);
    /* a cancelled future is done but is no exception */
    futs[0] = qc;
    ASSERT_RC(mf_wait(futs, n, 0.05, MF_FIRST_EXCEPTION, fl, &nd),
              MF_ETIMEDOUT);
    CU_ASSERT_EQUAL(nd, 1);
    CU_ASSERT_EQUAL(fl[0], 1);
    ASSERT_RC(mf_wait(futs, n, 0, MF_FIRST_COMPLETED, fl, &nd), MF_OK);
    CU_ASSERT_EQUAL(nd, 1);
    /* FIRST_COMPLETED: exactly the released one. Pending: qg, gs[1..] */
    {
        mf_future p[MAXW + 1];
        size_t np = 0;
        p[np++] = qg->f;
        for (i = 1; i < (size_t)mft_nw; i++)
            p[np++] = gs[i]->f;
        mft_gate_release(qg, MFT_GATE_OK);
        ASSERT_RC(mf_wait(p, np, T, MF_FIRST_COMPLETED, fl, &nd), MF_OK);
        CU_ASSERT_EQUAL(nd, 1);
        CU_ASSERT_EQUAL(fl[0], 1);
        for (i = 1; i < np; i++)
            CU_ASSERT_EQUAL(fl[i], 0);
        /* ALL_COMPLETED with a timeout that runs out: flags still filled */
        if (np >= 2) {
            memset(fl, 9, sizeof fl);
            ASSERT_RC(mf_wait(p, np, 0.05, MF_ALL_COMPLETED, fl, &nd),
                      MF_ETIMEDOUT);
            CU_ASSERT_EQUAL(nd, 1);
            CU_ASSERT_EQUAL(fl[0], 1);
            CU_ASSERT_EQUAL(fl[1], 0);
        }
        for (i = 1; i < (size_t)mft_nw; i++)
            mft_gate_release(gs[i], MFT_GATE_OK);
        ASSERT_RC(mf_wait(p, np, T, MF_ALL_COMPLETED, fl, &nd), MF_OK);
        CU_ASSERT_EQUAL(nd, np);
    }
    mf_future_release(qc);
    mft_expect_marks = 0;
}

static void t_wait_errors(void)
{
    mf_future e;
    NEED_EX();
    e = submit_ok(ID_ECHO, "a", 1);
    ASSERT_RC(mf_wait(&e, 1, T, 0, NULL, NULL), MF_EINVAL);
    ASSERT_RC(mf_wait(&e, 1, T, 99, NULL, NULL), MF_EINVAL);
    ASSERT_RC(mf_wait(&e, 1, T, MF_ALL_COMPLETED, NULL, NULL), MF_OK);
    mf_future_release(e);
}

static void t_wait_first_exception_already(void)
{
    mft_gate *g = NULL;
    mf_future ok, bad, futs[3];
    unsigned char fl[3];
    size_t nd = 0;
    int32_t c = 3;
    NEED_EX();
    ok = submit_ok(ID_ECHO, "ok", 3);
    bad = submit_ok(ID_FAIL, &c, sizeof c);
    ASSERT_RC(mf_future_result(ok, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_result(bad, T, NULL, NULL), MF_ETASK);
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    futs[0] = g->f;
    futs[1] = ok;
    futs[2] = bad;
    /* one already failed: returns at once, even with a zero timeout */
    memset(fl, 9, sizeof fl);
    ASSERT_RC(mf_wait(futs, 3, 0, MF_FIRST_EXCEPTION, fl, &nd), MF_OK);
    CU_ASSERT(fl[0] == 0 && fl[1] == 1 && fl[2] == 1 && nd == 2);
    ASSERT_RC(mf_wait(futs, 3, T, MF_FIRST_EXCEPTION, fl, &nd), MF_OK);
    /* FIRST_COMPLETED with finished ones: at once as well */
    ASSERT_RC(mf_wait(futs, 3, 0, MF_FIRST_COMPLETED, fl, &nd), MF_OK);
    CU_ASSERT(fl[0] == 0 && nd == 2);
    /* FIRST_EXCEPTION without a failure among them waits for all */
    ASSERT_RC(mf_wait(futs, 2, 0.05, MF_FIRST_EXCEPTION, fl, &nd),
              MF_ETIMEDOUT);
    CU_ASSERT(fl[0] == 0 && fl[1] == 1 && nd == 1);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    mft_gate_release(g, MFT_GATE_OK);
    ASSERT_RC(mf_wait(futs, 2, T, MF_FIRST_EXCEPTION, fl, &nd), MF_OK);
    CU_ASSERT(fl[0] == 1 && fl[1] == 1 && nd == 2);
    mf_future_release(ok);
    mf_future_release(bad);
}

const mft_test tests_wait[] = {
    {"first_exception_with_one_already_failed",
     t_wait_first_exception_already},
    {"all_completed_with_duplicates", t_wait_all_duplicates},
    {"first_exception_without_failure_is_all_completed",
     t_wait_first_exception_none_fails},
    {"first_exception_and_first_completed_with_gates",
     t_wait_first_exception_and_first_completed},
    {"wait_bad_mode", t_wait_errors},
    {NULL, NULL}};
