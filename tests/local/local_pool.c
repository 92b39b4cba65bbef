/*
 * local_pool.c — the local process pool (mf_executor_open_local, and a
 * one-rank program's mf_executor_open), run as a plain process: no
 * launcher, MPI never initialised (issue 13).
 *
 *   local_pool           the CUnit suite below
 *   local_pool --hold    open a pool of 2, print "pids P1 P2" and sleep:
 *                        the CTest script kills it with SIGKILL and checks
 *                        that no worker process outlives it
 */
#define _GNU_SOURCE
#include <mpifutures.h>

#include <CUnit/Basic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static mf_fn_id id_square, id_crash, id_exit, id_sleep, id_pid, id_big,
    id_build;

static int t_square(mf_task *t, void *ud)
{
    int64_t x;
    (void)ud;
    size_t len;
    const void *a = mf_task_arg(t, &len);
    if (len != sizeof x)
        return mf_task_fail(t, "want 8 bytes, got %zu", len);
    memcpy(&x, a, sizeof x);
    x *= x;
    return mf_task_return(t, &x, sizeof x);
}

static int t_crash(mf_task *t, void *ud)
{
    (void)t;
    (void)ud;
    raise(SIGSEGV);
    return 0;
}

static int t_exit(mf_task *t, void *ud)
{
    (void)t;
    (void)ud;
    exit(3);
}

static int t_sleep(mf_task *t, void *ud)
{
    uint32_t ms;
    (void)ud;
    memcpy(&ms, mf_task_arg(t, NULL), sizeof ms);
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
    return mf_task_return(t, &ms, sizeof ms);
}

/* {pid, mf_task_worker} */
static int t_pid(mf_task *t, void *ud)
{
    int32_t p[2] = {(int32_t)getpid(), (int32_t)mf_task_worker(t)};
    (void)ud;
    return mf_task_return(t, p, sizeof p);
}

/* A 3 MiB result (out-of-line both ways: its argument is 1 MiB). */
static int t_big(mf_task *t, void *ud)
{
    size_t len;
    const unsigned char *a = mf_task_arg(t, &len);
    void *buf;
    (void)ud;
    if (mf_task_result_buffer(t, 3 * len, &buf) != MF_OK)
        return mf_task_fail(t, "no memory");
    for (int k = 0; k < 3; k++)
        memcpy((char *)buf + (size_t)k * len, a, len);
    return 0;
}

/* Item k (int32): "k:" then k 'x' bytes, built with mf_task_printf and
 * mf_task_append (k up to ~2000: past a chunk item's 512-byte room, so
 * the result moves out of it midway); odd multiples of 7 return their
 * argument in place instead, multiples of 11 fail, and multiples of 13
 * return twice (the second result wins). */
static int t_build(mf_task *t, void *ud)
{
    int32_t k;
    size_t len;
    const void *a = mf_task_arg(t, &len);
    (void)ud;
    if (len != sizeof k)
        return mf_task_fail(t, "want 4 bytes");
    memcpy(&k, a, sizeof k);
    if (k % 11 == 0 && k)
        return mf_task_fail(t, "item %d fails", (int)k);
    if (k % 7 == 0 && k % 2)
        return mf_task_return_arg(t, sizeof k);
    if (k % 13 == 0 && k && mf_task_return(t, "first", 5) != MF_OK)
        return -1;
    if (k % 13 == 0 && k) {
        void *b;
        if (mf_task_result_buffer(t, 0, &b) != MF_OK)
            return -1; /* start again, empty */
    }
    if (mf_task_printf(t, "%d:", (int)k) != MF_OK)
        return -1;
    for (int32_t i = 0; i < k; i++)
        if (mf_task_append(t, "x", 1) != MF_OK)
            return -1;
    return 0;
}

/* The kind the generic tests run on: both, one after the other. */
static int g_kind = MF_PROCESSES;

static mf_executor *open2(void)
{
    mf_executor *ex = NULL;
    int rc = mf_executor_open_local(g_kind, 2, NULL, &ex);
    CU_ASSERT_EQUAL(rc, MF_OK);
    if (rc != MF_OK)
        fprintf(stderr, "open_local: %s\n", mf_last_error());
    return ex;
}

/* A chunked map whose items build results of every size (the per-chunk
 * room for small results, growth out of it, results in place, failures):
 * each checked. */
static void t_chunk_results(void)
{
    mf_executor *ex = open2();
    CU_ASSERT_FATAL(ex != NULL);
    enum { N = 400 };
    int32_t xs[N];
    for (int i = 0; i < N; i++)
        xs[i] = (int32_t)(i * 5);
    for (int pass = 0; pass < 2; pass++) {
        mf_map_opts o;
        mf_map_opts_init(&o);
        o.chunksize = pass ? 37 : 4;
        mf_map_iter *it = NULL;
        CU_ASSERT_EQUAL_FATAL(
            mf_map_array(ex, id_build, xs, N, sizeof xs[0], &o, &it), MF_OK);
        size_t idx = 0, n = 0;
        const void *d;
        size_t len;
        int rc;
        char want[32];
        while ((rc = mf_map_next(it, &d, &len, &idx)) != MF_EDONE) {
            int32_t k = xs[idx];
            n++;
            if (k % 11 == 0 && k) {
                CU_ASSERT_EQUAL(rc, MF_ETASK);
                continue;
            }
            CU_ASSERT_EQUAL_FATAL(rc, MF_OK);
            if (k % 7 == 0 && k % 2) {
                CU_ASSERT(len == sizeof k && memcmp(d, &k, sizeof k) == 0);
                continue;
            }
            int h = snprintf(want, sizeof want, "%d:", (int)k);
            CU_ASSERT_EQUAL(len, (size_t)h + (size_t)k);
            if (len != (size_t)h + (size_t)k)
                continue;
            CU_ASSERT(memcmp(d, want, (size_t)h) == 0);
            const char *x = (const char *)d + h;
            int ok = 1;
            for (int32_t i = 0; i < k; i++)
                ok &= x[i] == 'x';
            CU_ASSERT(ok);
        }
        CU_ASSERT_EQUAL(n, N);
        mf_map_free(it);
    }
    CU_ASSERT_EQUAL(mf_executor_close(ex), MF_OK);
}

static void t_basics(void)
{
    mf_executor *ex = open2();
    CU_ASSERT_FATAL(ex != NULL);
    CU_ASSERT_EQUAL(mf_executor_workers(ex), 2);
    mf_future f[200];
    for (int64_t i = 0; i < 200; i++)
        CU_ASSERT_EQUAL(mf_submit(ex, id_square, &i, sizeof i, &f[i]), MF_OK);
    for (int64_t i = 0; i < 200; i++) {
        int64_t y = -1;
        CU_ASSERT_EQUAL(mf_future_result_into(f[i], 30, &y, sizeof y), MF_OK);
        CU_ASSERT_EQUAL(y, i * i);
        mf_future_release(f[i]);
    }
    /* map, chunked and unordered */
    int64_t xs[1000];
    for (int i = 0; i < 1000; i++)
        xs[i] = i;
    mf_map_opts o;
    mf_map_opts_init(&o);
    o.chunksize = 7;
    o.unordered = 1;
    mf_map_iter *it = NULL;
    CU_ASSERT_EQUAL(
        mf_map_array(ex, id_square, xs, 1000, sizeof xs[0], &o, &it), MF_OK);
    const void *d;
    size_t len, idx, n = 0;
    int64_t sum = 0;
    while (mf_map_next(it, &d, &len, &idx) == MF_OK) {
        int64_t y;
        memcpy(&y, d, sizeof y);
        CU_ASSERT_EQUAL(y, (int64_t)idx * (int64_t)idx);
        sum += y;
        n++;
    }
    mf_map_free(it);
    CU_ASSERT_EQUAL(n, 1000);
    CU_ASSERT_EQUAL(sum, 332833500);
    /* both workers took part, in processes of their own */
    int32_t pids[2] = {0, 0}, wpid[2] = {0, 0};
    for (int k = 0; k < 40; k++) {
        mf_future g;
        int32_t pw[2] = {0, 0};
        mf_submit(ex, id_pid, NULL, 0, &g);
        CU_ASSERT_EQUAL(mf_future_result_into(g, 30, pw, sizeof pw), MF_OK);
        mf_future_release(g);
        int32_t p = pw[0];
        /* the worker's number, 1 or 2; one process per number */
        CU_ASSERT(pw[1] == 1 || pw[1] == 2);
        if (g_kind == MF_PROCESSES && pw[1] >= 1 && pw[1] <= 2) {
            if (!wpid[pw[1] - 1])
                wpid[pw[1] - 1] = p;
            CU_ASSERT_EQUAL(wpid[pw[1] - 1], p);
        }
        if (g_kind == MF_PROCESSES) {
            CU_ASSERT(p != (int32_t)getpid() && p > 0);
        } else {
            CU_ASSERT(p == (int32_t)getpid());
        }
        if (!pids[0] || pids[0] == p)
            pids[0] = p;
        else
            pids[1] = p;
    }
    /* large payloads both ways */
    size_t big = 1 << 20;
    unsigned char *arg = malloc(big);
    for (size_t i = 0; i < big; i++)
        arg[i] = (unsigned char)(i * 7);
    mf_future g;
    CU_ASSERT_EQUAL(mf_submit(ex, id_big, arg, big, &g), MF_OK);
    CU_ASSERT_EQUAL(mf_future_result(g, 30, &d, &len), MF_OK);
    CU_ASSERT_EQUAL(len, 3 * big);
    CU_ASSERT(len == 3 * big &&
              memcmp((const char *)d + 2 * big, arg, big) == 0);
    mf_future_release(g);
    free(arg);
    CU_ASSERT_EQUAL(mf_executor_close(ex), MF_OK);
}

static void t_crash_fails_only_its_future(void)
{
    mf_executor *ex = open2();
    CU_ASSERT_FATAL(ex != NULL);
    for (int round = 0; round < 2; round++) {
        mf_future c, ok[20];
        CU_ASSERT_EQUAL(
            mf_submit(ex, round ? id_exit : id_crash, NULL, 0, &c), MF_OK);
        CU_ASSERT_EQUAL(mf_future_result(c, 30, NULL, NULL), MF_ETASK);
        const mf_task_error *e = NULL;
        CU_ASSERT_EQUAL(mf_future_error(c, 0, &e), MF_OK);
        CU_ASSERT(e && e->reason == MF_FAIL_CRASH);
        CU_ASSERT(e && strstr(e->message,
                              round ? "exited with status 3" : "SIGSEGV"));
        mf_future_release(c);
        /* the pool goes on, a new worker in the dead one's place */
        for (int64_t i = 0; i < 20; i++)
            CU_ASSERT_EQUAL(mf_submit(ex, id_square, &i, sizeof i, &ok[i]),
                            MF_OK);
        for (int64_t i = 0; i < 20; i++) {
            int64_t y = -1;
            CU_ASSERT_EQUAL(mf_future_result_into(ok[i], 30, &y, sizeof y),
                            MF_OK);
            CU_ASSERT_EQUAL(y, i * i);
            mf_future_release(ok[i]);
        }
    }
    CU_ASSERT_EQUAL(mf_executor_close(ex), MF_OK);
}

static void t_timeout(void)
{
    mf_executor *ex = open2();
    CU_ASSERT_FATAL(ex != NULL);
    mf_submit_opts so;
    memset(&so, 0, sizeof so);
    so.timeout = 0.2;
    uint32_t ms = 30000;
    mf_future f;
    CU_ASSERT_EQUAL(mf_submit_ex(ex, id_sleep, &ms, sizeof ms, &so, &f),
                    MF_OK);
    CU_ASSERT_EQUAL(mf_future_result(f, 30, NULL, NULL), MF_ETASK);
    const mf_task_error *e = NULL;
    mf_future_error(f, 0, &e);
    CU_ASSERT(e && e->reason == MF_FAIL_TIMEOUT);
    mf_future_release(f);
    CU_ASSERT_EQUAL(mf_executor_close(ex), MF_OK);
}

static void t_bad_input(void)
{
    mf_executor *ex = NULL;
    CU_ASSERT_EQUAL(mf_executor_open_local(MF_PROCESSES, -1, NULL, &ex),
                    MF_EINVAL);
    CU_ASSERT_EQUAL(mf_executor_open_local(MF_PROCESSES, 4097, NULL, &ex),
                    MF_EINVAL);
    CU_ASSERT_EQUAL(mf_executor_open_local(7, 2, NULL, &ex), MF_EINVAL);
    CU_ASSERT_EQUAL(mf_executor_open_local(MF_PROCESSES, 2, NULL, NULL),
                    MF_EINVAL);
    setenv("MF_WORKERS", "zero", 1);
    CU_ASSERT_EQUAL(mf_executor_open_local(MF_PROCESSES, 2, NULL, &ex),
                    MF_EINVAL);
    CU_ASSERT(strstr(mf_last_error(), "MF_WORKERS") != NULL);
    setenv("MF_WORKERS", "3", 1);
    CU_ASSERT_EQUAL(mf_executor_open_local(MF_PROCESSES, 2, NULL, &ex),
                    MF_OK);
    CU_ASSERT_EQUAL(mf_executor_workers(ex), 3);
    mf_executor_close(ex);
    unsetenv("MF_WORKERS");
    CU_ASSERT(ex != NULL);
}

static void t_second_run_and_reuse(void)
{
    /* Open and close again and again: no worker or descriptor left. */
    for (int k = 0; k < 10; k++) {
        mf_executor *ex = open2();
        CU_ASSERT_FATAL(ex != NULL);
        int64_t x = k;
        mf_future f;
        mf_submit(ex, id_square, &x, sizeof x, &f);
        CU_ASSERT_EQUAL(mf_future_result(f, 30, NULL, NULL), MF_OK);
        mf_future_release(f);
        CU_ASSERT_EQUAL(mf_executor_close(ex), MF_OK);
    }
    /* no child left: waitpid finds none */
    CU_ASSERT_EQUAL(waitpid(-1, NULL, WNOHANG), -1);
}

/* Two tasks at once: one to each idle worker; each sleeps, then answers
 * with its process id. */
static int t_pidsleep(mf_task *t, void *ud)
{
    struct timespec ts = {0, 200000000};
    (void)ud;
    while (nanosleep(&ts, &ts) != 0)
        ;
    return t_pid(t, ud);
}
static mf_fn_id id_pidsleep;

static void t_threads_refuse_kill(void)
{
    mf_executor *ex = NULL;
    mf_executor_opts o;
    mf_executor_opts_init(&o);
    o.isolate = 1;
    CU_ASSERT_EQUAL(mf_executor_open_local(MF_THREADS, 2, &o, &ex),
                    MF_EINVAL);
    CU_ASSERT(strstr(mf_last_error(), "thread") != NULL);
    mf_executor_opts_init(&o);
    o.task_timeout = 1;
    CU_ASSERT_EQUAL(mf_executor_open_local(MF_THREADS, 2, &o, &ex),
                    MF_EINVAL);
    CU_ASSERT_EQUAL(mf_executor_open_local(MF_THREADS, 2, NULL, &ex), MF_OK);
    CU_ASSERT_FATAL(ex != NULL);
    mf_submit_opts so;
    memset(&so, 0, sizeof so);
    so.timeout = 1;
    mf_future f;
    int64_t x = 3;
    CU_ASSERT_EQUAL(mf_submit_ex(ex, id_square, &x, sizeof x, &so, &f),
                    MF_EINVAL);
    so.timeout = 0;
    so.isolate = 1;
    CU_ASSERT_EQUAL(mf_submit_ex(ex, id_square, &x, sizeof x, &so, &f),
                    MF_EINVAL);
    CU_ASSERT_EQUAL(mf_submit(ex, id_square, &x, sizeof x, &f), MF_OK);
    CU_ASSERT_EQUAL(mf_future_result(f, 30, NULL, NULL), MF_OK);
    mf_future_release(f);
    CU_ASSERT_EQUAL(mf_executor_close(ex), MF_OK);
}

static int set_threads(void)
{
    g_kind = MF_THREADS;
    return 0;
}

static int set_processes(void)
{
    g_kind = MF_PROCESSES;
    return 0;
}

static int hold(void)
{
    mf_executor *ex = NULL;
    if (mf_executor_open_local(MF_PROCESSES, 2, NULL, &ex) != MF_OK)
        return 1;
    int32_t p[2] = {0, 0};
    mf_future f[2];
    for (int k = 0; k < 2; k++)
        mf_submit(ex, id_pidsleep, NULL, 0, &f[k]);
    for (int k = 0; k < 2; k++) {
        int32_t pw[2] = {0, 0}; /* {pid, worker} */
        mf_future_result_into(f[k], 30, pw, sizeof pw);
        p[k] = pw[0];
        mf_future_release(f[k]);
    }
    printf("pids %d %d\n", p[0], p[1]);
    fflush(stdout);
    for (;;)
        pause();
}

int main(int argc, char **argv)
{
    mf_register("square", t_square, NULL, &id_square);
    mf_register("crash", t_crash, NULL, &id_crash);
    mf_register("exit", t_exit, NULL, &id_exit);
    mf_register("sleep", t_sleep, NULL, &id_sleep);
    mf_register("pid", t_pid, NULL, &id_pid);
    mf_register("big", t_big, NULL, &id_big);
    mf_register("pidsleep", t_pidsleep, NULL, &id_pidsleep);
    mf_register("build", t_build, NULL, &id_build);
    if (argc > 1 && strcmp(argv[1], "--hold") == 0)
        return hold();
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("processes", NULL, NULL);
    CU_add_test(s, "basics_map_payloads", t_basics);
    CU_add_test(s, "crash_fails_only_its_future",
                t_crash_fails_only_its_future);
    CU_add_test(s, "timeout_kills_the_task", t_timeout);
    CU_add_test(s, "bad_input", t_bad_input);
    CU_add_test(s, "second_run_no_leftovers", t_second_run_and_reuse);
    CU_add_test(s, "chunk_item_results", t_chunk_results);
    CU_pSuite th = CU_add_suite("threads", set_threads, set_processes);
    CU_add_test(th, "basics_map_payloads", t_basics);
    CU_add_test(th, "refuses_isolation_and_timeouts", t_threads_refuse_kill);
    CU_add_test(th, "second_run_no_leftovers", t_second_run_and_reuse);
    CU_add_test(th, "chunk_item_results", t_chunk_results);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int fails = (int)CU_get_number_of_failures();
    CU_cleanup_registry();
    return fails ? 1 : 0;
}
