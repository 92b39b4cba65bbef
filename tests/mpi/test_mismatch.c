/*
 * test_mismatch.c — registry mismatch (mismatch_root_only,
 * mismatch_worker_only, after_mismatch): a function registered on the
 * root but not on one worker, and the reverse; the open fails on every
 * rank with MF_EMISMATCH, naming the function and the rank; the next
 * executor, registered consistently, works.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* =================================================================== */
/* Scenarios: registry mismatch                                         */
/* =================================================================== */

static int victim_rank(void)
{
    /* The highest rank that is not the root. */
    return mft_root == mft_size - 1 ? mft_size - 2 : mft_size - 1;
}

void setup_mismatch_root_only(void)
{
    if (mft_rank != victim_rank())
        mf_register("only_on_root", t_dummy, NULL, NULL);
}

void setup_mismatch_worker_only(void)
{
    if (mft_rank == victim_rank())
        mf_register("only_on_worker", t_dummy, NULL, NULL);
}

static int names_rank(const char *msg, int r)
{
    const char *p;
    for (p = strstr(msg, "rank "); p; p = strstr(p + 1, "rank ")) {
        char *end = NULL;
        long v = strtol(p + 5, &end, 10);
        if (end != p + 5 && v == r)
            return 1;
    }
    return 0;
}

static void check_mismatch_msg(const char *fn)
{
    int v = victim_rank();
    MFT_CHECK_EQ(mft_open_rc, MF_EMISMATCH);
    if (mft_rank == mft_root)
        printf("\n    [%s] mismatch message on the root: \"%.300s\"\n",
               mft_label, mft_open_msg);
    /* "rank N", N the rank in the executor's communicator (as in
     * mf_task_error.rank) */
    if (!mft_contains(mft_open_msg, fn) || !names_rank(mft_open_msg, v)) {
        char buf[700];
        snprintf(buf, sizeof buf,
                 "mismatch message names '%s' and rank %d: \"%.500s\"", fn, v,
                 mft_open_msg);
        mft_check(0, buf, __FILE__, __LINE__);
    }
}

void ao_mismatch_root_only(void)
{
    check_mismatch_msg("only_on_root");
}
void ao_mismatch_worker_only(void)
{
    check_mismatch_msg("only_on_worker");
}

static void t_after_mismatch_works(void)
{
    mf_future f;
    NEED_EX();
    f = submit_ok(ID_ECHO, "again", 6);
    expect_result(f, "again", 6);
    mf_future_release(f);
}

const mft_test tests_after_mismatch[] = {
    {"executor_after_mismatch_works", t_after_mismatch_works}, {NULL, NULL}};
