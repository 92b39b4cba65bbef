/*
 * Isolation mode and per-task timeouts (multi-rank, CUnit on the root):
 * a task that segfaults, aborts or exits fails only its own future, with
 * reason MF_FAIL_CRASH; a task past its timeout is killed and fails with
 * MF_FAIL_TIMEOUT (never MF_ETIMEDOUT); the workers serve on.
 */
#define _POSIX_C_SOURCE 200809L
#include <CUnit/Basic.h>
#include <mpifutures.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static mf_fn_id id_crash, id_square, id_sleep, id_big;
static mf_executor *ex;

static int t_crash(mf_task *t, void *ud)
{
    size_t len;
    const char *how = mf_task_arg(t, &len);
    (void)ud;
    if (len == 4 && !memcmp(how, "segv", 4)) {
        volatile int *p = NULL;
        // cppcheck-suppress nullPointer ; the crash is the point
        *p = 1;
    } else if (len == 5 && !memcmp(how, "abort", 5)) {
        abort();
    } else if (len == 5 && !memcmp(how, "exit3", 5)) {
        exit(3);
    } else if (len == 5 && !memcmp(how, "exit0", 5)) {
        exit(0);
    } else if (len == 4 && !memcmp(how, "fail", 4)) {
        return mf_task_fail(t, "ordinary failure %d", 7);
    }
    return 0;
}

static int t_square(mf_task *t, void *ud)
{
    size_t len;
    const long *x = mf_task_arg(t, &len);
    (void)ud;
    long r = *x * *x;
    return mf_task_return(t, &r, sizeof r);
}

static int t_sleep(mf_task *t, void *ud)
{
    size_t len;
    const double *s = mf_task_arg(t, &len);
    (void)ud;
    struct timespec ts = {(time_t)*s, (long)((*s - (time_t)*s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return 0;
}

static int t_big(mf_task *t, void *ud)
{
    void *out;
    (void)ud;
    size_t n = 3u << 20;
    if (mf_task_result_buffer(t, n, &out) != MF_OK)
        return 1;
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)out)[i] = (unsigned char)(i * 31);
    return 0;
}

static const mf_task_error *crash_with(const char *how, mf_future *f)
{
    const mf_task_error *e = NULL;
    CU_ASSERT_EQUAL_FATAL(mf_submit(ex, id_crash, how, strlen(how), f),
                          MF_OK);
    CU_ASSERT_EQUAL(mf_future_result(*f, 30, NULL, NULL), MF_ETASK);
    CU_ASSERT_EQUAL(mf_future_error(*f, 0, &e), MF_OK);
    CU_ASSERT_PTR_NOT_NULL(e);
    return e;
}

static void test_crashes_fail_only_their_future(void)
{
    mf_future f[5];
    const mf_task_error *e;
    e = crash_with("segv", &f[0]);
    if (e) {
        CU_ASSERT_EQUAL(e->reason, MF_FAIL_CRASH);
        CU_ASSERT_PTR_NOT_NULL(
            strstr(e->message, "killed by signal 11 (SIGSEGV)"));
        CU_ASSERT_STRING_EQUAL(e->function, "crash");
        CU_ASSERT(e->rank > 0);
    }
    e = crash_with("abort", &f[1]);
    if (e) {
        CU_ASSERT_EQUAL(e->reason, MF_FAIL_CRASH);
        CU_ASSERT_PTR_NOT_NULL(strstr(e->message, "SIGABRT"));
    }
    e = crash_with("exit3", &f[2]);
    if (e) {
        CU_ASSERT_EQUAL(e->reason, MF_FAIL_CRASH);
        CU_ASSERT_PTR_NOT_NULL(strstr(e->message, "status 3"));
    }
    e = crash_with("exit0", &f[3]);
    if (e)
        CU_ASSERT_EQUAL(e->reason, MF_FAIL_CRASH);
    e = crash_with("fail", &f[4]);
    if (e) {
        CU_ASSERT_EQUAL(e->reason, MF_FAIL_TASK);
        CU_ASSERT_STRING_EQUAL(e->message, "ordinary failure 7");
    }
    for (int i = 0; i < 5; i++)
        mf_future_release(f[i]);
    /* The workers serve on: many tasks after the crashes. */
    mf_future g[40];
    long xs[40];
    for (int i = 0; i < 40; i++) {
        xs[i] = i;
        CU_ASSERT_EQUAL(mf_submit(ex, id_square, &xs[i], sizeof xs[i], &g[i]),
                        MF_OK);
    }
    for (int i = 0; i < 40; i++) {
        const void *d;
        size_t len;
        CU_ASSERT_EQUAL(mf_future_result(g[i], 30, &d, &len), MF_OK);
        CU_ASSERT(len == sizeof(long) && *(const long *)d == xs[i] * xs[i]);
        mf_future_release(g[i]);
    }
}

static void test_big_result_through_isolation(void)
{
    mf_future f;
    const void *d;
    size_t len;
    CU_ASSERT_EQUAL_FATAL(mf_submit(ex, id_big, NULL, 0, &f), MF_OK);
    CU_ASSERT_EQUAL(mf_future_result(f, 60, &d, &len), MF_OK);
    CU_ASSERT_EQUAL(len, 3u << 20);
    int ok = len == 3u << 20;
    for (size_t i = 0; ok && i < len; i++)
        ok = ((const unsigned char *)d)[i] == (unsigned char)(i * 31);
    CU_ASSERT_TRUE(ok);
    mf_future_release(f);
}

static void test_timeout_kills_task(void)
{
    mf_submit_opts so = {0};
    double ten = 10.0;
    mf_future f;
    const mf_task_error *e = NULL;
    so.timeout = 1.5; /* long enough that the poll below comes first */
    CU_ASSERT_EQUAL_FATAL(
        mf_submit_ex(ex, id_sleep, &ten, sizeof ten, &so, &f), MF_OK);
    /* A wait that runs out first is MF_ETIMEDOUT: the task goes on. */
    CU_ASSERT_EQUAL(mf_future_result(f, 0, NULL, NULL), MF_ETIMEDOUT);
    /* Then the task's own timeout: MF_ETASK, reason TIMEOUT. */
    CU_ASSERT_EQUAL(mf_future_result(f, 30, NULL, NULL), MF_ETASK);
    CU_ASSERT_EQUAL(mf_future_error(f, 0, &e), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->reason, MF_FAIL_TIMEOUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(e->message, "timed out after 1.500 s"));
    mf_future_release(f);
    /* A short task with a timeout succeeds. */
    double tiny = 0.001;
    so.timeout = 20;
    CU_ASSERT_EQUAL(mf_submit_ex(ex, id_sleep, &tiny, sizeof tiny, &so, &f),
                    MF_OK);
    CU_ASSERT_EQUAL(mf_future_result(f, 30, NULL, NULL), MF_OK);
    mf_future_release(f);
    so.timeout = 1e9;
    CU_ASSERT_EQUAL(mf_submit_ex(ex, id_sleep, &tiny, sizeof tiny, &so, &f),
                    MF_EINVAL);
}

static void test_map_isolated(void)
{
    long xs[100];
    const void *args[100];
    size_t lens[100];
    for (int i = 0; i < 100; i++) {
        xs[i] = i;
        args[i] = &xs[i];
        lens[i] = sizeof xs[i];
    }
    mf_map_opts o;
    mf_map_opts_init(&o);
    o.chunksize = 9;
    mf_map_iter *it;
    CU_ASSERT_EQUAL_FATAL(mf_map(ex, id_square, args, lens, 100, &o, &it),
                          MF_OK);
    const void *d;
    size_t len, idx;
    int n = 0, rc;
    while ((rc = mf_map_next(it, &d, &len, &idx)) == MF_OK) {
        CU_ASSERT(len == sizeof(long) &&
                  *(const long *)d == (long)(idx * idx));
        n++;
    }
    CU_ASSERT_EQUAL(rc, MF_EDONE);
    CU_ASSERT_EQUAL(n, 100);
    mf_map_free(it);
}

int main(int argc, char **argv)
{
    int rank, fails = 0;
    mf_executor_opts o;
    mf_init(&argc, &argv, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    mf_register("crash", t_crash, NULL, &id_crash);
    mf_register("square", t_square, NULL, &id_square);
    mf_register("sleep", t_sleep, NULL, &id_sleep);
    mf_register("big", t_big, NULL, &id_big);
    mf_executor_opts_init(&o);
    o.isolate = 1;
    if (mf_executor_open(MPI_COMM_WORLD, 0, &o, &ex) != MF_OK) {
        fprintf(stderr, "open: %s\n", mf_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (ex) {
        CU_initialize_registry();
        CU_pSuite s = CU_add_suite("isolation", NULL, NULL);
        CU_add_test(s, "crashes_fail_only_their_future",
                    test_crashes_fail_only_their_future);
        CU_add_test(s, "big_result_through_isolation",
                    test_big_result_through_isolation);
        CU_add_test(s, "timeout_kills_task", test_timeout_kills_task);
        CU_add_test(s, "map_isolated", test_map_isolated);
        CU_basic_set_mode(CU_BRM_VERBOSE);
        CU_basic_run_tests();
        fails = (int)(CU_get_number_of_failures() +
                      CU_get_number_of_tests_failed());
        if (CU_get_number_of_tests_run() != 4)
            fails++;
        CU_cleanup_registry();
        if (mf_executor_close(ex) != MF_OK)
            fails++;
    }
    MPI_Bcast(&fails, 1, MPI_INT, 0, MPI_COMM_WORLD);
    mf_finalize();
    return fails ? 1 : 0;
}
