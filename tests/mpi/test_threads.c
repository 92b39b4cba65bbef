/*
 * test_threads.c — threads: several threads submitting, waiting,
 * iterating and adding callbacks at once (threads; SERIALIZED or MULTIPLE
 * only), and the library's progress thread completing futures and
 * running callbacks while the caller makes no call (progress_thread;
 * MULTIPLE only).
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <pthread.h>
#include <string.h>

/* =================================================================== */
/* Scenario: threads (calls from several threads at once)               */
/* =================================================================== */

enum { TH = 4, TN = 150 };

typedef struct th_ctx {
    int tid;
    int errors;
    atomic_int *cbs;
} th_ctx;

static void cb_count(mf_future f, void *ud)
{
    (void)f;
    atomic_fetch_add((atomic_int *)ud, 1);
}

static void *th_main(void *p)
{
    th_ctx *c = p;
    mf_future f[TN];
    int32_t v[TN];
    int i;
    for (i = 0; i < TN; i++) {
        v[i] = c->tid * 100000 + i;
        if (mf_submit(mft_ex, ID_ECHO, &v[i], 4, &f[i]) != MF_OK) {
            c->errors++;
            f[i].h = 0;
            continue;
        }
        if (mf_future_on_done(f[i], cb_count, c->cbs) != MF_OK)
            c->errors++;
    }
    if (c->tid % 3 == 1 &&
        mf_wait(f, TN, T, MF_ALL_COMPLETED, NULL, NULL) != MF_OK)
        c->errors++;
    if (c->tid % 3 == 2) {
        mf_as_completed_iter *it = NULL;
        mf_future x;
        int n = 0;
        if (mf_as_completed(f, TN, T, &it) != MF_OK)
            c->errors++;
        while (it && mf_as_completed_next(it, &x) == MF_OK)
            n++;
        if (n != TN)
            c->errors++;
        mf_as_completed_free(it);
    }
    for (i = 0; i < TN; i++) {
        const void *d = NULL;
        size_t l = 0;
        if (!f[i].h)
            continue;
        if (mf_future_result(f[i], T, &d, &l) != MF_OK || l != 4 ||
            memcmp(d, &v[i], 4) != 0)
            c->errors++;
        if (mf_future_release(f[i]) != MF_OK)
            c->errors++;
    }
    return NULL;
}

static void t_threads_concurrent(void)
{
    pthread_t th[TH];
    th_ctx c[TH];
    atomic_int cbs;
    int i, errors = 0;
    NEED_EX();
    if (mft_thread < MPI_THREAD_SERIALIZED) {
        CU_PASS("library calls from several threads need SERIALIZED");
        return;
    }
    atomic_init(&cbs, 0);
    for (i = 0; i < TH; i++) {
        c[i].tid = i;
        c[i].errors = 0;
        c[i].cbs = &cbs;
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, th_main, &c[i]) == 0);
    }
    for (i = 0; i < TH; i++) {
        pthread_join(th[i], NULL);
        errors += c[i].errors;
    }
    CU_ASSERT_EQUAL(errors, 0);
    CU_ASSERT(mft_progress_until(&cbs, TH * TN, NULL, 0));
    CU_ASSERT_EQUAL(atomic_load(&cbs), TH * TN);
}

const mft_test tests_threads[] = {
    {"submit_wait_from_four_threads", t_threads_concurrent}, {NULL, NULL}};

/* =================================================================== */
/* Scenario: progress_thread (MPI_THREAD_MULTIPLE only)                 */
/* =================================================================== */

void opts_progress(mf_executor_opts *o)
{
    if (mft_thread >= MPI_THREAD_MULTIPLE)
        o->progress_thread = 1;
}

typedef struct pt_ctx {
    atomic_int ran;
    pthread_t who;
} pt_ctx;

static void cb_where(mf_future f, void *ud)
{
    pt_ctx *c = ud;
    (void)f;
    c->who = pthread_self();
    atomic_store(&c->ran, 1);
}

static void t_progress_thread_completes(void)
{
    mf_future f;
    mft_gate *g = NULL;
    pt_ctx c;
    double dl;
    NEED_EX();
    if (mft_thread < MPI_THREAD_MULTIPLE) {
        CU_PASS("progress thread needs MPI_THREAD_MULTIPLE");
        return;
    }
    /* the caller makes no progress call: mf_future_done() makes none */
    f = submit_ok(ID_ECHO, "pt", 3);
    dl = mft_now() + T;
    while (!mf_future_done(f) && mft_now() < dl)
        ;
    CU_ASSERT_EQUAL(mf_future_done(f), 1);
    expect_result(f, "pt", 3);
    mf_future_release(f);
    /* a callback runs in the library's thread while the caller is busy */
    memset(&c, 0, sizeof c);
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    ASSERT_RC(mf_future_on_done(g->f, cb_where, &c), MF_OK);
    mft_gate_release(g, MFT_GATE_OK);
    dl = mft_now() + T;
    while (!atomic_load(&c.ran) && mft_now() < dl)
        ;
    CU_ASSERT_EQUAL(atomic_load(&c.ran), 1);
    if (atomic_load(&c.ran))
        CU_ASSERT(!pthread_equal(c.who, pthread_self()));
}

const mft_test tests_progress_thread[] = {
    {"futures_complete_while_caller_is_busy", t_progress_thread_completes},
    {NULL, NULL}};
