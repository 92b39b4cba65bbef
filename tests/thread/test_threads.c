/*
 * Multi-rank tests of the root's threading: the progress thread completes
 * futures and runs callbacks while the caller does something else, and
 * several user threads may submit and wait at once. Also the MF_*
 * environment overrides. Run under the launcher (2-5 ranks).
 *
 *   test_threads            the thread tests
 *   test_threads --bad-env  expects the open to fail with MF_EINVAL on
 *                           every rank (run with MF_WINDOW=abc)
 *   test_threads --signal   SIGTERM on the root with handle_signals: queued
 *                           futures cancelled, submits refused, running
 *                           tasks finish within the grace period
 *   test_threads --signal-abandon
 *                           the running tasks do not finish in time: their
 *                           futures fail and close ends the job (the CTest
 *                           entry checks the message)
 */
#define _POSIX_C_SOURCE 200809L
#include <CUnit/Basic.h>
#include <mpifutures.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static mf_fn_id id_square, id_gate, id_gate2;
static mf_executor *ex;
static MPI_Comm user_comm;

static int t_square(mf_task *t, void *ud)
{
    size_t len;
    const long *x = mf_task_arg(t, &len);
    (void)ud;
    if (len != sizeof(long))
        return mf_task_fail(t, "want a long, got %zu bytes", len);
    long r = *x * *x;
    return mf_task_return(t, &r, sizeof r);
}

/* Blocks until the root sends a release on user_comm. */
static int t_gate(mf_task *t, void *ud)
{
    int token;
    (void)t;
    (void)ud;
    MPI_Recv(&token, 1, MPI_INT, 0, 99, user_comm, MPI_STATUS_IGNORE);
    return 0;
}

/* Tells the root which rank runs it, then blocks until released: the
 * root then knows the future cannot be done yet. */
static int t_gate2(mf_task *t, void *ud)
{
    int rank, token;
    (void)t;
    (void)ud;
    MPI_Comm_rank(user_comm, &rank);
    MPI_Send(&rank, 1, MPI_INT, 0, 98, user_comm);
    MPI_Recv(&token, 1, MPI_INT, 0, 97, user_comm, MPI_STATUS_IGNORE);
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static atomic_int cb_flag;
static pthread_t cb_thread;

static void on_done(mf_future f, void *ud)
{
    (void)f;
    (void)ud;
    cb_thread = pthread_self();
    atomic_store(&cb_flag, 1);
}

static void test_progress_without_caller(void)
{
    /* The task is held on its worker until the root releases it, so the
     * callback is registered before the future can finish. Then the caller
     * releases it (plain MPI on its own communicator) and never calls the
     * library again until the callback has run: only the progress thread
     * can make that happen. Every wait is bounded (30 s). */
    mf_future f;
    int rank = -1, token = 1;
    atomic_store(&cb_flag, 0);
    CU_ASSERT_EQUAL_FATAL(mf_submit(ex, id_gate2, NULL, 0, &f), MF_OK);
    CU_ASSERT_EQUAL(mf_future_on_done(f, on_done, NULL), MF_OK);
    MPI_Recv(&rank, 1, MPI_INT, MPI_ANY_SOURCE, 98, user_comm,
             MPI_STATUS_IGNORE);
    CU_ASSERT_FALSE(mf_future_done(f));
    MPI_Send(&token, 1, MPI_INT, rank, 97, user_comm);
    double end = now() + 30;
    while (!atomic_load(&cb_flag) && now() < end)
        ;
    CU_ASSERT_EQUAL(atomic_load(&cb_flag), 1);
    CU_ASSERT_FALSE(pthread_equal(cb_thread, pthread_self()));
    CU_ASSERT_EQUAL(mf_future_result(f, 0, NULL, NULL), MF_OK);
    mf_future_release(f);
}

#define NTHREADS 4
#define PER_THREAD 2000

static void *submitter(void *arg)
{
    long base = (long)(intptr_t)arg * PER_THREAD, bad = 0;
    for (long i = 0; i < PER_THREAD; i++) {
        long x = base + i;
        mf_future f;
        const void *d;
        size_t len;
        if (mf_submit(ex, id_square, &x, sizeof x, &f) != MF_OK) {
            bad++;
            continue;
        }
        if (mf_future_result(f, 30, &d, &len) != MF_OK ||
            len != sizeof(long) || *(const long *)d != x * x)
            bad++;
        mf_future_release(f);
    }
    return (void *)(intptr_t)bad;
}

static void test_concurrent_callers(void)
{
    pthread_t th[NTHREADS];
    for (intptr_t i = 0; i < NTHREADS; i++)
        CU_ASSERT_EQUAL_FATAL(
            pthread_create(&th[i], NULL, submitter, (void *)i), 0);
    for (int i = 0; i < NTHREADS; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        CU_ASSERT_EQUAL((intptr_t)bad, 0);
    }
}

static void test_cancel_while_thread_runs(void)
{
    /* With window 1 and one gate per worker, every worker is busy, so a
     * later submit stays queued and can be cancelled, even with the
     * progress thread dispatching in the background. */
    int nw = mf_executor_workers(ex);
    mf_future gates[8], queued;
    long x = 3;
    CU_ASSERT_FATAL(nw <= 8);
    for (int i = 0; i < nw; i++)
        CU_ASSERT_EQUAL_FATAL(mf_submit(ex, id_gate, NULL, 0, &gates[i]),
                              MF_OK);
    /* Wait until all gates run (bounded). */
    double end = now() + 30;
    int running = 0;
    while (now() < end && running < nw) {
        running = 0;
        for (int i = 0; i < nw; i++)
            running += mf_future_running(gates[i]);
    }
    CU_ASSERT_EQUAL(running, nw);
    CU_ASSERT_EQUAL(mf_submit(ex, id_square, &x, sizeof x, &queued), MF_OK);
    CU_ASSERT_FALSE(mf_future_running(queued));
    CU_ASSERT_EQUAL(mf_future_cancel(queued), MF_OK);
    CU_ASSERT_TRUE(mf_future_cancelled(queued));
    for (int r = 1; r <= nw; r++) {
        int token = 1;
        MPI_Send(&token, 1, MPI_INT, r, 99, user_comm);
    }
    CU_ASSERT_EQUAL(
        mf_wait(gates, (size_t)nw, 30, MF_ALL_COMPLETED, NULL, NULL), MF_OK);
    for (int i = 0; i < nw; i++)
        mf_future_release(gates[i]);
    mf_future_release(queued);
}

/* The signal scenarios (root side). Returns the number of failures. */
static int signal_scenario(int abandon)
{
    int nw = mf_executor_workers(ex), bad = 0;
    mf_future gates[8], queued[4];
    long x = 2;
#define EXPECT(c)                                                            \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "signal test: failed: %s (line %d)\n", #c,       \
                    __LINE__);                                               \
            bad++;                                                           \
        }                                                                    \
    } while (0)
    for (int i = 0; i < nw; i++)
        EXPECT(mf_submit(ex, id_gate, NULL, 0, &gates[i]) == MF_OK);
    for (int i = 0; i < 4; i++)
        EXPECT(mf_submit(ex, id_square, &x, sizeof x, &queued[i]) == MF_OK);
    /* window 1: every worker holds a gate, the squares wait on the root */
    for (int i = 0; i < 4; i++)
        EXPECT(!mf_future_running(queued[i]));
    EXPECT(mf_executor_interrupted(ex) == 0);
    raise(SIGTERM); /* caught: the process lives on */
    /* Any progress call notices it. */
    EXPECT(mf_future_result(queued[0], 30, NULL, NULL) == MF_ECANCELLED);
    EXPECT(mf_executor_interrupted(ex) == SIGTERM);
    for (int i = 0; i < 4; i++)
        EXPECT(mf_future_cancelled(queued[i]));
    mf_future more;
    EXPECT(mf_submit(ex, id_square, &x, sizeof x, &more) == MF_EINTR);
    for (int i = 0; i < nw; i++)
        EXPECT(mf_future_running(gates[i]) || mf_future_done(gates[i]));
    if (abandon) {
        /* Never released: after the 1 s grace period they fail. */
        const mf_task_error *e = NULL;
        EXPECT(mf_future_error(gates[0], 60, &e) == MF_OK);
        EXPECT(e && strstr(e->message, "abandoned") != NULL);
        fprintf(stderr, "signal test: %d failure(s) before close\n", bad);
        fflush(stderr);
        mf_executor_close(ex); /* ends the job */
        fprintf(stderr, "signal test: close returned (it should not)\n");
        return bad + 1;
    }
    for (int r = 1; r <= nw; r++) {
        int token = 1;
        MPI_Send(&token, 1, MPI_INT, r, 99, user_comm);
    }
    EXPECT(mf_wait(gates, (size_t)nw, 30, MF_ALL_COMPLETED, NULL, NULL) ==
           MF_OK);
    for (int i = 0; i < nw; i++) {
        EXPECT(mf_future_result(gates[i], 0, NULL, NULL) == MF_OK);
        mf_future_release(gates[i]);
    }
    for (int i = 0; i < 4; i++)
        mf_future_release(queued[i]);
    EXPECT(mf_executor_close(ex) == MF_OK);
    ex = NULL;
#undef EXPECT
    return bad;
}

/* --close-race: one thread closes the executor while another keeps
 * calling shutdown and submit on it. Every call must return a code (the
 * other thread's calls MF_OK, MF_ESHUTDOWN or MF_EBADHANDLE once it is
 * closed), never use the freed communicator (which aborts the job). The
 * check runs under the library lock, so no interleaving can slip in
 * between a check and a use (issue 11, item 4). */
typedef struct race_ctx {
    mf_executor *ex;
    atomic_int go, bad, calls;
} race_ctx;

static void *race_hammer(void *p)
{
    race_ctx *c = p;
    while (!atomic_load(&c->go))
        ;
    for (;;) {
        mf_future f;
        long x = 3;
        int r1 = mf_executor_shutdown(c->ex, 0, 0);
        int r2 = mf_submit(c->ex, id_square, &x, sizeof x, &f);
        atomic_fetch_add(&c->calls, 1);
        if (r2 == MF_OK)
            mf_future_release(f);
        if ((r1 != MF_OK && r1 != MF_EBADHANDLE) ||
            (r2 != MF_OK && r2 != MF_ESHUTDOWN && r2 != MF_EBADHANDLE)) {
            fprintf(stderr, "close race: shutdown %s, submit %s\n",
                    mf_errname(r1), mf_errname(r2));
            atomic_fetch_add(&c->bad, 1);
            return NULL;
        }
        if (r1 == MF_EBADHANDLE && r2 == MF_EBADHANDLE)
            return NULL; /* closed: done */
    }
}

static int close_race(int rank)
{
    int bad = 0;
    for (int i = 0; i < 200; i++) {
        race_ctx c;
        pthread_t t;
        memset(&c, 0, sizeof c);
        if (mf_executor_open(MPI_COMM_WORLD, 0, NULL, &c.ex) != MF_OK) {
            fprintf(stderr, "rank %d: open: %s\n", rank, mf_last_error());
            return 1;
        }
        if (!c.ex)
            continue; /* a worker: served one executor */
        pthread_create(&t, NULL, race_hammer, &c);
        atomic_store(&c.go, 1);
        int rc = mf_executor_close(c.ex);
        pthread_join(t, NULL);
        if (rc != MF_OK || atomic_load(&c.bad)) {
            fprintf(stderr, "close race %d: close %s\n", i, mf_errname(rc));
            bad++;
            break;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    int provided, rank, rc, fails = 0;
    int bad_env = argc > 1 && !strcmp(argv[1], "--bad-env");
    mf_executor_opts o;

    if (mf_init(&argc, &argv, &provided) != MF_OK)
        return 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_dup(MPI_COMM_WORLD, &user_comm);
    mf_register("square", t_square, NULL, &id_square);
    mf_register("gate", t_gate, NULL, &id_gate);
    mf_register("gate2", t_gate2, NULL, &id_gate2);

    if (bad_env) {
        rc = mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex);
        int ok = rc == MF_EINVAL && ex == NULL &&
                 strstr(mf_last_error(), "MF_WINDOW") != NULL;
        if (!ok)
            fprintf(stderr, "rank %d: open gave %s: %s\n", rank,
                    mf_errname(rc), mf_last_error());
        int all = 0;
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (rank == 0)
            printf("bad MF_WINDOW refused on every rank: %s\n",
                   all ? "yes" : "NO");
        MPI_Comm_free(&user_comm);
        mf_finalize();
        return all ? 0 : 1;
    }
    if (argc > 1 && !strncmp(argv[1], "--signal", 8)) {
        int abandon = !strcmp(argv[1], "--signal-abandon");
        mf_executor_opts_init(&o);
        o.window = 1;
        o.handle_signals = 1;
        o.grace_seconds = abandon ? 1 : 60;
        rc = mf_executor_open(MPI_COMM_WORLD, 0, &o, &ex);
        if (rc != MF_OK) {
            fprintf(stderr, "rank %d: open: %s\n", rank, mf_last_error());
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (ex)
            fails = signal_scenario(abandon);
        MPI_Bcast(&fails, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (rank == 0)
            printf("signal scenario: %s\n", fails ? "FAILED" : "passed");
        MPI_Comm_free(&user_comm);
        mf_finalize();
        return fails ? 1 : 0;
    }
    if (provided < MPI_THREAD_MULTIPLE) {
        if (rank == 0)
            printf("MPI gives no MPI_THREAD_MULTIPLE: nothing to test\n");
        mf_finalize();
        return 77; /* skipped */
    }
    if (argc > 1 && !strcmp(argv[1], "--close-race")) {
        fails = close_race(rank);
        MPI_Bcast(&fails, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (rank == 0)
            printf("close race: %s\n", fails ? "FAILED" : "passed");
        MPI_Comm_free(&user_comm);
        mf_finalize();
        return fails ? 1 : 0;
    }
    mf_executor_opts_init(&o);
    o.progress_thread = 1;
    o.window = 1;
    rc = mf_executor_open(MPI_COMM_WORLD, 0, &o, &ex);
    if (rc != MF_OK) {
        fprintf(stderr, "rank %d: open: %s\n", rank, mf_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (ex) {
        CU_initialize_registry();
        CU_pSuite s = CU_add_suite("threads", NULL, NULL);
        CU_add_test(s, "progress_without_caller",
                    test_progress_without_caller);
        CU_add_test(s, "concurrent_callers", test_concurrent_callers);
        CU_add_test(s, "cancel_while_thread_runs",
                    test_cancel_while_thread_runs);
        CU_basic_set_mode(CU_BRM_VERBOSE);
        CU_basic_run_tests();
        fails = (int)(CU_get_number_of_failures() +
                      CU_get_number_of_tests_failed());
        if (CU_get_number_of_tests_run() != 3)
            fails++;
        CU_cleanup_registry();
        if (mf_executor_close(ex) != MF_OK)
            fails++;
    }
    MPI_Bcast(&fails, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Comm_free(&user_comm);
    mf_finalize();
    return fails ? 1 : 0;
}
