/*
 * test_cancel.c — cancellation (cancel, and cancel_env_MF_WINDOW_1 which
 * gets window 1 from the environment only): zero-timeout results on
 * queued and running futures, cancel of a running, a queued and a
 * finished future, callbacks at cancel, waiters in other threads woken.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* =================================================================== */
/* Scenario: cancel (window 1)                                          */
/* =================================================================== */

typedef struct waiter {
    mf_future f;
    int use_wait;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready;
    int rc;
} waiter;

static void *waiter_main(void *p)
{
    waiter *w = p;
    int rc;
    pthread_mutex_lock(&w->mu);
    w->ready = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->use_wait)
        rc = mf_wait(&w->f, 1, 20.0, MF_ALL_COMPLETED, NULL, NULL);
    else
        rc = mf_future_result(w->f, 20.0, NULL, NULL);
    w->rc = rc;
    return NULL;
}

/* Cancel w->f while another thread waits on it; the waiter must wake
 * (with MF_ECANCELLED / MF_OK) rather than run into its 20 s timeout. */
static void cancel_with_waiter(mf_future f, int use_wait)
{
    waiter w;
    pthread_t th;
    memset(&w, 0, sizeof w);
    w.f = f;
    w.use_wait = use_wait;
    w.rc = -1;
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    CU_ASSERT_FATAL(pthread_create(&th, NULL, waiter_main, &w) == 0);
    pthread_mutex_lock(&w.mu);
    while (!w.ready)
        pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    ASSERT_RC(mf_future_cancel(f), MF_OK);
    pthread_join(th, NULL);
    CU_ASSERT_EQUAL(w.rc, use_wait ? MF_OK : MF_ECANCELLED);
    pthread_mutex_destroy(&w.mu);
    pthread_cond_destroy(&w.cv);
}

static void t_cancel_running_and_queued(void)
{
    mft_gate *gs[MAXW];
    mf_future q[4];
    cb_log log;
    cb_rec r1 = {&log, 1}, r2 = {&log, 2}, r3 = {&log, 3};
    unsigned char flags[4];
    size_t nd = 99;
    int i;
    const mf_task_error *e = NULL;
    NEED_EX();
    CU_ASSERT_FATAL(mft_nw <= MAXW);
    memset(&log, 0, sizeof log);
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    for (i = 0; i < 4; i++)
        q[i] = submit_ok(ID_MARK, NULL, 0);
    /* every worker is busy with a gate (window 1): q[] stay queued */
    memset(flags, 7, sizeof flags);
    ASSERT_RC(mf_wait(q, 4, 0.05, MF_FIRST_COMPLETED, flags, &nd),
              MF_ETIMEDOUT);
    CU_ASSERT_EQUAL(nd, 0);
    for (i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(flags[i], 0);
        CU_ASSERT_EQUAL(mf_future_done(q[i]), 0);
        CU_ASSERT_EQUAL(mf_future_running(q[i]), 0);
        CU_ASSERT_EQUAL(mf_future_cancelled(q[i]), 0);
    }
    /* zero timeout on pending futures (queued and running) */
    ASSERT_RC(mf_future_result(q[0], 0, NULL, NULL), MF_ETIMEDOUT);
    ASSERT_RC(mf_future_error(q[0], 0, &e), MF_ETIMEDOUT);
    ASSERT_RC(mf_future_result(gs[0]->f, 0, NULL, NULL), MF_ETIMEDOUT);
    ASSERT_RC(mf_future_error(gs[0]->f, 0, &e), MF_ETIMEDOUT);
    ASSERT_RC(mf_future_result(gs[0]->f, 0.01, NULL, NULL), MF_ETIMEDOUT);
    /* a running future cannot be cancelled */
    CU_ASSERT_EQUAL(mf_future_running(gs[0]->f), 1);
    ASSERT_RC(mf_future_cancel(gs[0]->f), MF_ESTATE);
    CU_ASSERT_EQUAL(mf_future_cancelled(gs[0]->f), 0);
    CU_ASSERT_EQUAL(mf_future_running(gs[0]->f), 1);
    CU_ASSERT_EQUAL(mf_future_done(gs[0]->f), 0);

    /* a queued one can; its callbacks run, in order, once */
    ASSERT_RC(mf_future_on_done(q[0], cb_append, &r1), MF_OK);
    ASSERT_RC(mf_future_on_done(q[0], cb_append, &r2), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 0);
    ASSERT_RC(mf_future_cancel(q[0]), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 2);
    CU_ASSERT(log.ids[0] == 1 && log.ids[1] == 2);
    CU_ASSERT(log.handles[0] == q[0].h);
    CU_ASSERT_EQUAL(mf_future_cancelled(q[0]), 1);
    CU_ASSERT_EQUAL(mf_future_done(q[0]), 1);
    CU_ASSERT_EQUAL(mf_future_running(q[0]), 0);
    ASSERT_RC(mf_future_result(q[0], T, NULL, NULL), MF_ECANCELLED);
    ASSERT_RC(mf_future_error(q[0], T, &e), MF_ECANCELLED);
    ASSERT_RC(mf_future_cancel(q[0]), MF_OK); /* already cancelled */
    CU_ASSERT_EQUAL(atomic_load(&log.n), 2);  /* not run again */
    ASSERT_RC(mf_future_on_done(q[0], cb_append, &r3), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 3); /* at once: already done */
    CU_ASSERT_EQUAL(log.ids[2], 3);
    /* cancelled counts as done at once in mf_wait */
    ASSERT_RC(mf_wait(&q[0], 1, T, MF_ALL_COMPLETED, flags, &nd), MF_OK);
    CU_ASSERT(flags[0] == 1 && nd == 1);

    /* waiters wake on cancel (threads only where allowed) */
    if (mft_thread >= MPI_THREAD_SERIALIZED) {
        cancel_with_waiter(q[1], 0);
        cancel_with_waiter(q[2], 1);
    } else {
        ASSERT_RC(mf_future_cancel(q[1]), MF_OK);
        ASSERT_RC(mf_future_cancel(q[2]), MF_OK);
    }
    CU_ASSERT_EQUAL(mf_future_cancelled(q[1]), 1);
    CU_ASSERT_EQUAL(mf_future_cancelled(q[2]), 1);

    /* release the gates: they finish with results; q[3] runs */
    for (i = 0; i < mft_nw; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
    for (i = 0; i < mft_nw; i++) {
        const void *d = NULL;
        size_t l = 0;
        if (ASSERT_RC(mf_future_result(gs[i]->f, T, &d, &l), MF_OK) &&
            l == sizeof(mft_gate_res)) {
            mft_gate_res res;
            memcpy(&res, d, sizeof res);
            CU_ASSERT_EQUAL(res.id, gs[i]->id);
            CU_ASSERT_EQUAL(res.rank, gs[i]->rank);
        }
        CU_ASSERT_EQUAL(mf_future_cancelled(gs[i]->f), 0);
    }
    ASSERT_RC(mf_future_result(q[3], T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_cancel(q[3]), MF_ESTATE); /* finished */
    CU_ASSERT_EQUAL(atomic_load(&log.n), 3);
    for (i = 0; i < 4; i++)
        ASSERT_RC(mf_future_release(q[i]), MF_OK);
    mft_expect_marks = 1; /* only q[3] ran */
}

const mft_test tests_cancel[] = {
    {"cancel_running_fails_queued_succeeds", t_cancel_running_and_queued},
    {NULL, NULL}};

/* MF_WINDOW=1 in the environment overrides the default window: the
 * cancel test (which needs window 1) runs with NULL options. */
void setup_env_window1(void)
{
    setenv("MF_WINDOW", "1", 1);
}
void post_env_window1(void)
{
    unsetenv("MF_WINDOW");
}
