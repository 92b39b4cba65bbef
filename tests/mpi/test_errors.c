/*
 * test_errors.c — task failures (task_errors): mf_task_fail with a
 * formatted message and the function, rank and host in mf_future_error,
 * a non-zero return without a message, 4 KiB truncation, the executor
 * going on after failures, a callback on a failed future.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <stdio.h>
#include <string.h>

/* =================================================================== */
/* Scenario: task_errors                                                */
/* =================================================================== */

static void t_fail_message(void)
{
    int32_t code = 42;
    mf_future f;
    const mf_task_error *e = NULL;
    const void *d = NULL;
    NEED_EX();
    f = submit_ok(ID_FAIL, &code, sizeof code);
    ASSERT_RC(mf_future_result(f, T, &d, NULL), MF_ETASK);
    ASSERT_RC(mf_future_result(f, 0, NULL, NULL), MF_ETASK); /* repeatable */
    CU_ASSERT_EQUAL(mf_future_done(f), 1);
    CU_ASSERT_EQUAL(mf_future_cancelled(f), 0);
    ASSERT_RC(mf_future_error(f, 0, &e), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->message);
    {
        int c = -1, r = -1;
        char host[256] = "", proc[256] = "";
        int n =
            sscanf(e->message, "fail code=%d rank=%d host=%255s proc=%255s",
                   &c, &r, host, proc);
        CU_ASSERT_EQUAL(n, 4);
        CU_ASSERT_EQUAL(c, 42);
        CU_ASSERT_EQUAL(e->rank, r);
        CU_ASSERT(e->rank >= 0 && e->rank < mft_size && e->rank != mft_root);
        CU_ASSERT(e->function && strcmp(e->function, "fail") == 0);
        CU_ASSERT(e->host && e->host[0] &&
                  (strcmp(e->host, host) == 0 || strcmp(e->host, proc) == 0));
    }
    ASSERT_RC(mf_future_error(f, T, &e), MF_OK); /* same again */
    CU_ASSERT(e && mft_contains(e->message, "code=42"));
    mf_future_release(f);
}

static void t_nonzero_return(void)
{
    int32_t v = 7;
    mf_future f;
    const mf_task_error *e = NULL;
    NEED_EX();
    f = submit_ok(ID_RETNZ, &v, sizeof v);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_ETASK);
    ASSERT_RC(mf_future_error(f, T, &e), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT(mft_contains(e->message, "task returned 7"));
    CU_ASSERT(e->function && strcmp(e->function, "retnz") == 0);
    CU_ASSERT(e->rank > -1 && e->rank < mft_size && e->rank != mft_root);
    mf_future_release(f);
    /* a task's own "timeout" / "cancelled" code is a task failure, never
     * the MF_ETIMEDOUT / MF_ECANCELLED of the wait that observed it */
    v = MF_ETIMEDOUT;
    f = submit_ok(ID_RETNZ, &v, sizeof v);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_ETASK);
    ASSERT_RC(mf_wait(&f, 1, T, MF_ALL_COMPLETED, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_error(f, T, &e), MF_OK);
    CU_ASSERT(e && mft_contains(e->message, "task returned 6"));
    mf_future_release(f);
    v = MF_ECANCELLED;
    f = submit_ok(ID_RETNZ, &v, sizeof v);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_ETASK);
    CU_ASSERT_EQUAL(mf_future_cancelled(f), 0);
    mf_future_release(f);
    v = -3;
    f = submit_ok(ID_RETNZ, &v, sizeof v);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_ETASK);
    ASSERT_RC(mf_future_error(f, T, &e), MF_OK);
    CU_ASSERT(e && mft_contains(e->message, "task returned -3"));
    mf_future_release(f);
}

static void t_long_message(void)
{
    mf_future f;
    const mf_task_error *e = NULL;
    NEED_EX();
    f = submit_ok(ID_LONGFAIL, NULL, 0);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_ETASK);
    ASSERT_RC(mf_future_error(f, T, &e), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e->message);
    CU_ASSERT(strncmp(e->message, "LONG:aaaa", 9) == 0);
    CU_ASSERT(strlen(e->message) <= 4096);
    CU_ASSERT(strlen(e->message) >= 1000);
    CU_ASSERT(!mft_contains(e->message, ":END"));
    mf_future_release(f);
}

static void t_executor_goes_on(void)
{
    enum { N = 40 };
    mf_future f[N];
    int32_t i;
    NEED_EX();
    for (i = 0; i < N; i++)
        f[i] = i % 2 ? submit_ok(ID_FAIL, &i, sizeof i)
                     : submit_ok(ID_ECHO, &i, sizeof i);
    for (i = 0; i < N; i++) {
        if (i % 2)
            ASSERT_RC(mf_future_result(f[i], T, NULL, NULL), MF_ETASK);
        else
            expect_result(f[i], &i, sizeof i);
        mf_future_release(f[i]);
    }
}

static void t_callback_on_failure(void)
{
    int32_t c = 1;
    cb_log log;
    cb_rec r = {&log, 7};
    mf_future f;
    NEED_EX();
    memset(&log, 0, sizeof log);
    f = submit_ok(ID_FAIL, &c, sizeof c);
    ASSERT_RC(mf_future_on_done(f, cb_append, &r), MF_OK);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_ETASK);
    CU_ASSERT(mft_progress_until(&log.n, 1, NULL, 0));
    CU_ASSERT_EQUAL(atomic_load(&log.n), 1);
    CU_ASSERT_EQUAL(log.ids[0], 7);
    CU_ASSERT(log.handles[0] == f.h);
    mf_future_release(f);
}

const mft_test tests_errors[] = {
    {"fail_formatted_message_rank_host_function", t_fail_message},
    {"nonzero_return_without_message", t_nonzero_return},
    {"message_truncated_4KiB", t_long_message},
    {"executor_goes_on_after_failures", t_executor_goes_on},
    {"callback_on_failed_future", t_callback_on_failure},
    {NULL, NULL}};
