/*
 * test_suite.c — multi-rank tests of the public API (include/mpifutures.h).
 *
 * Usage: mpirun -n N mf_mpi_suite [--threads=single|funneled|serialized|
 *        multiple|mfinit] [--layout=world|world-last|split]
 * [--progress-thread]
 *
 *   --progress-thread  open every executor with opts.progress_thread = 1
 *                      (needs --threads=multiple)
 *
 *   world       executors on MPI_COMM_WORLD, root 0
 *   world-last  executors on MPI_COMM_WORLD, root = last rank
 *   split       the world is split in two halves; each half runs the whole
 *               suite at the same time on its own communicator. The upper
 *               half (without world rank 0) uses its last local rank as
 *               root; the lower half uses local rank 0 (with a single rank
 *               it checks MF_ENOWORKERS instead).
 *
 * Every scenario opens one executor (all ranks call mf_executor_open the
 * same number of times); see mft.h. Nothing here sleeps: "running" and
 * "queued" are made deterministic with gates (tasks blocked in MPI_Recv
 * until the root releases them) and window = 1.
 */
#define _POSIX_C_SOURCE 200809L

#include "mft.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXW 64
#define T 30.0 /* bound of every wait that must succeed */

static int g_used_mf_init;

static void opts_window1(mf_executor_opts *o)
{
    o->window = 1;
}
static void opts_map(mf_executor_opts *o)
{
    o->max_arg_bytes = 4096;
}

/* Map options whose timeout bounds every mf_map_next() of the test. */
static const mf_map_opts *bounded(int unordered, size_t chunk)
{
    static mf_map_opts mo;
    mf_map_opts_init(&mo);
    mo.unordered = unordered;
    mo.chunksize = chunk;
    mo.timeout = T;
    return &mo;
}

/* Submit and assert MF_OK; returns the future ({0} on failure). */
static mf_future submit_ok(mf_fn_id fn, const void *arg, size_t len)
{
    mf_future f = {0};
    ASSERT_RC(mf_submit(mft_ex, fn, arg, len, &f), MF_OK);
    return f;
}

/* Wait for f's result and compare with want/wlen. */
static void expect_result(mf_future f, const void *want, size_t wlen)
{
    const void *d = NULL;
    size_t l = 99999;
    if (!ASSERT_RC(mf_future_result(f, T, &d, &l), MF_OK))
        return;
    CU_ASSERT_EQUAL(l, wlen);
    if (l == wlen && wlen > 0) {
        CU_ASSERT_PTR_NOT_NULL(d);
        if (d)
            CU_ASSERT(memcmp(d, want, wlen) == 0);
    }
}

static void release_gates(mft_gate **gs, int n)
{
    int i;
    for (i = 0; i < n; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
}

static int victim_rank(void)
{
    /* The highest rank that is not the root. */
    return mft_root == mft_size - 1 ? mft_size - 2 : mft_size - 1;
}

/* =================================================================== */
/* Scenario: api_local (every rank, no executor)                        */
/* =================================================================== */

static int t_dummy(mf_task *task, void *ud)
{
    (void)task;
    (void)ud;
    return 0;
}

static void *fresh_thread_last_error(void *p)
{
    const char **out = p;
    *out = mf_last_error();
    return NULL;
}

/* An open that must fail alike on every rank. Should it succeed, the root
 * closes at once so that every rank stays in step. */
static void bad_open(MPI_Comm comm, int root, const mf_executor_opts *o,
                     int with_ex, int want)
{
    static int junk;
    mf_executor *ex = (mf_executor *)&junk;
    int rc = mf_executor_open(comm, root, o, with_ex ? &ex : NULL);
    MFT_CHECK_EQ(rc, want);
    if (with_ex) {
        MFT_CHECK(ex == NULL);
        if (rc == MF_OK && ex)
            mf_executor_close(ex);
    }
}

static void bad_env(const char *var, const char *val)
{
    char msg[256];
    setenv(var, val, 1);
    bad_open(mft_comm, mft_root, NULL, 1, MF_EINVAL);
    snprintf(msg, sizeof msg, "%s", mf_last_error());
    unsetenv(var);
    if (!mft_contains(msg, var)) {
        char buf[400];
        snprintf(buf, sizeof buf,
                 "%s=%s: message does not name it: \"%.200s\"", var, val,
                 msg);
        mft_check(0, buf, __FILE__, __LINE__);
    }
}

static void ar_api_local(void)
{
    mf_fn_id id = 0;
    char name[300];
    mf_executor_opts o;
    mf_map_opts mo;
    int prov = -12345;

    /* Error table: every code, its name and its message. */
#define X_CHECK(nm, val, msg)                                                \
    MFT_CHECK(strcmp(mf_errname(val), #nm) == 0);                            \
    MFT_CHECK(strcmp(mf_strerror(val), msg) == 0);                           \
    MFT_CHECK((int)nm == (val));
    MF_ERROR_TABLE(X_CHECK)
#undef X_CHECK
    {
        /* the enum ends right after the table's last code */
        int count = 0;
#define X_COUNT(nm, val, msg) count++;
        MF_ERROR_TABLE(X_COUNT)
#undef X_COUNT
        MFT_CHECK_EQ(MF_ERR_COUNT_, count);
        MFT_CHECK(count >= 20);
    }
    MFT_CHECK(strcmp(mf_strerror(-1), "unknown error") == 0);
    MFT_CHECK(strcmp(mf_strerror(MF_ERR_COUNT_), "unknown error") == 0);
    MFT_CHECK(strcmp(mf_strerror(99999), "unknown error") == 0);
    MFT_CHECK(strcmp(mf_errname(-1), "MF_E?") == 0);
    MFT_CHECK(strcmp(mf_errname(MF_ERR_COUNT_), "MF_E?") == 0);
    MFT_CHECK(strcmp(mf_errname(99999), "MF_E?") == 0);

    /* Version. */
    MFT_CHECK(mf_version() != NULL &&
              strcmp(mf_version(), MF_VERSION_STRING) == 0);

    /* mf_init on an initialised MPI does nothing and reports the level. */
    MFT_CHECK_EQ(mf_init(NULL, NULL, &prov), MF_OK);
    MFT_CHECK_EQ(prov, mft_thread);
    MFT_CHECK_EQ(mf_init(NULL, NULL, NULL), MF_OK);

    /* mf_last_error: "" on a thread that never failed (threads only where
     * the library may be called from any thread). */
    if (mft_thread >= MPI_THREAD_SERIALIZED) {
        pthread_t th;
        const char *s = NULL;
        MFT_CHECK(pthread_create(&th, NULL, fresh_thread_last_error, &s) ==
                  0);
        pthread_join(th, NULL);
        MFT_CHECK(s != NULL && s[0] == 0);
    }

    /* Registry. */
    MFT_CHECK_EQ(mf_register("echo", t_dummy, NULL, &id), MF_EEXIST);
    MFT_CHECK(mf_last_error() != NULL && mf_last_error()[0] != 0);
    MFT_CHECK_EQ(mf_register(NULL, t_dummy, NULL, &id), MF_EINVAL);
    MFT_CHECK(mf_last_error()[0] != 0);
    MFT_CHECK_EQ(mf_register("", t_dummy, NULL, &id), MF_EINVAL);
    MFT_CHECK_EQ(mf_register("nofn", NULL, NULL, &id), MF_EINVAL);
    memset(name, 'n', sizeof name);
    name[256] = 0; /* 256 bytes: too long */
    MFT_CHECK_EQ(mf_register(name, t_dummy, NULL, &id), MF_EINVAL);
    name[255] = 0; /* 255 bytes: the longest allowed */
    id = 0;
    MFT_CHECK_EQ(mf_register(name, t_dummy, NULL, &id), MF_OK);
    MFT_CHECK(id != 0 && id == mf_fn_id_of(name));
    MFT_CHECK_EQ(mf_register(name, t_dummy, NULL, NULL), MF_EEXIST);
    MFT_CHECK_EQ(mf_register("noid", t_dummy, NULL, NULL), MF_OK);
    MFT_CHECK(mf_fn_id_of(NULL) == 0);
    MFT_CHECK(mf_fn_id_of("echo") == ID_ECHO && ID_ECHO != 0);
    MFT_CHECK(mf_fn_id_of("echo") == mf_fn_id_of("echo"));
    MFT_CHECK(mf_fn_id_of("echo") != mf_fn_id_of("echo2"));
    MFT_CHECK(mf_fn_id_of("a") != mf_fn_id_of("b"));

    /* Option defaults. */
    memset(&o, 0xAB, sizeof o);
    mf_executor_opts_init(&o);
    MFT_CHECK_EQ(o.window, 64);
    MFT_CHECK(o.max_arg_bytes == (size_t)1 << 30);
    MFT_CHECK_EQ(o.idle_sleep_max_us, 10000);
    MFT_CHECK_EQ(o.progress_thread, 0);
    MFT_CHECK_EQ(o.handle_signals, 0);
    MFT_CHECK_EQ(o.grace_seconds, 10);
    MFT_CHECK_EQ(o.stats, 0);
    MFT_CHECK_EQ(o.progress, 0);
    MFT_CHECK_EQ(o.progress_interval, 10);
    MFT_CHECK(o.trace_path == NULL);
    memset(&mo, 0xAB, sizeof mo);
    mf_map_opts_init(&mo);
    MFT_CHECK_EQ(mo.unordered, 0);
    MFT_CHECK(mo.chunksize == 1);
    MFT_CHECK(mo.timeout < 0);

    /* Bad opens: every rank makes the same call, so all fail alike. */
    bad_open(MPI_COMM_NULL, 0, NULL, 1, MF_EINVAL);
    bad_open(mft_comm, -1, NULL, 1, MF_EINVAL);
    bad_open(mft_comm, mft_size, NULL, 1, MF_EINVAL);
    bad_open(mft_comm, mft_root, NULL, 0, MF_EINVAL);
    bad_open(MPI_COMM_SELF, 0, NULL, 1, MF_ENOWORKERS);
    {
        /* an inter-communicator is refused on every rank */
        MPI_Comm half, inter;
        int color = mft_rank % 2;
        MPI_Comm_split(mft_comm, color, mft_rank, &half);
        MPI_Intercomm_create(half, 0, mft_comm, color ? 0 : 1, 77, &inter);
        bad_open(inter, 0, NULL, 1, MF_EINVAL);
        MPI_Comm_free(&inter);
        MPI_Comm_free(&half);
    }
    mf_executor_opts_init(&o);
    o.window = 65537; /* at most 65536 */
    bad_open(mft_comm, mft_root, &o, 1, MF_EINVAL);
    mf_executor_opts_init(&o);
    o.idle_sleep_max_us = 1000001; /* at most 1 s */
    bad_open(mft_comm, mft_root, &o, 1, MF_EINVAL);
    mf_executor_opts_init(&o);
    o.max_arg_bytes = ((size_t)1 << 30) + 1;
    bad_open(mft_comm, mft_root, &o, 1, MF_EINVAL);
    MFT_CHECK_EQ(o.progress_thread, 0);
    if (mft_thread < MPI_THREAD_MULTIPLE) {
        /* a progress thread needs MPI_THREAD_MULTIPLE */
        mf_executor_opts_init(&o);
        o.progress_thread = 1;
        bad_open(mft_comm, mft_root, &o, 1, MF_EINVAL);
    }
    /* bad environment overrides fail the open, naming the variable */
    bad_env("MF_WINDOW", "abc");
    bad_env("MF_WINDOW", "65537");
    bad_env("MF_MAX_ARG_BYTES", "12x");
    bad_env("MF_IDLE_SLEEP_US", "-5");
    bad_env("MF_PROGRESS_THREAD", "2");
    bad_env("MF_SIGNALS", "yes");
    bad_env("MF_GRACE_SECONDS", "1.5x");
    bad_env("MF_STATS", "2");
    bad_env("MF_PROGRESS", "on");
    bad_env("MF_PROGRESS_INTERVAL", "abc");
    MFT_CHECK_EQ(mf_executor_interrupted(NULL), 0);
}

/* =================================================================== */
/* Scenario: reopen (every rank, in step)                               */
/* =================================================================== */

static int t_extra(mf_task *task, void *ud)
{
    int32_t v = (int32_t)(intptr_t)ud;
    return mf_task_return(task, &v, sizeof v);
}

/* 2*size executors one after the other, the root moving over every rank;
 * before each, every rank registers one more function, which the new
 * executor knows. */
static void ar_reopen(void)
{
    int i;
    for (i = 0; i < 2 * mft_size; i++) {
        int root = i % mft_size, rc;
        char name[32];
        mf_fn_id id = 0;
        mf_executor *ex = NULL;
        mf_executor_opts o;
        snprintf(name, sizeof name, "extra_%d", i);
        MFT_CHECK_EQ(
            mf_register(name, t_extra, (void *)(intptr_t)(i * 7), &id),
            MF_OK);
        mf_executor_opts_init(&o);
        o.window = (unsigned)(i % 3 + 1);
        rc = mf_executor_open(mft_comm, root, &o, &ex);
        MFT_CHECK_EQ(rc, MF_OK);
        if (mft_rank != root) {
            MFT_CHECK(ex == NULL);
            continue;
        }
        MFT_CHECK(ex != NULL);
        if (!ex)
            continue;
        MFT_CHECK_EQ(mf_executor_workers(ex), mft_nw);
        {
            mf_future f = {0};
            const void *d = NULL;
            size_t l = 0;
            int32_t want = i * 7, got = -1;
            MFT_CHECK_EQ(mf_submit(ex, id, NULL, 0, &f), MF_OK);
            MFT_CHECK_EQ(mf_future_result(f, T, &d, &l), MF_OK);
            if (d && l == 4)
                memcpy(&got, d, 4);
            MFT_CHECK_EQ(got, want);
            MFT_CHECK_EQ(mf_future_release(f), MF_OK);
        }
        MFT_CHECK_EQ(mf_executor_close(ex), MF_OK);
    }
}

/* =================================================================== */
/* Scenario: futures_basic                                              */
/* =================================================================== */

static void t_echo_sizes(void)
{
    static const size_t sizes[] = {0, 1, 7, 8, 13, 4096, 65537, 1 << 20};
    size_t i, j;
    NEED_EX();
    for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *buf = malloc(n + 1), *want = malloc(n + 1);
        mf_future f1, f2;
        for (j = 0; j < n; j++)
            want[j] = buf[j] = (unsigned char)(j * 31 + i);
        f1 = submit_ok(ID_ECHO, n ? buf : NULL, n);
        f2 = submit_ok(ID_ECHO_ZC, n ? buf : NULL, n);
        memset(buf, 0x5A, n + 1); /* the argument was copied by submit */
        expect_result(f1, want, n);
        expect_result(f2, want, n);
        CU_ASSERT_EQUAL(mf_future_release(f1), MF_OK);
        CU_ASSERT_EQUAL(mf_future_release(f2), MF_OK);
        free(buf);
        free(want);
    }
}

/* In-place results (mf_task_return_arg): inline sizes, the out-of-line
 * threshold (32 KiB) on both sides, 8 MiB; plain, isolated, and as map
 * items. The root's buffer is untouched. */
static void t_inplace_results(void)
{
    static const size_t sizes[] = {0,
                                   1,
                                   7,
                                   16,
                                   17,
                                   4096,
                                   32767,
                                   32768,
                                   32769,
                                   65537,
                                   (size_t)1 << 20,
                                   (size_t)8 << 20};
    mf_submit_opts iso;
    memset(&iso, 0, sizeof iso);
    iso.isolate = 1;
    NEED_EX();
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i], m = mft_inplace_len(n);
        unsigned char *buf = malloc(n + 1), *want = malloc(n + 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
        CU_ASSERT_PTR_NOT_NULL_FATAL(want);
        for (size_t j = 0; j < n; j++)
            buf[j] = (unsigned char)(j * 131 + i);
        for (size_t j = 0; j < n; j++)
            want[j] = buf[n - 1 - j];
        mf_future f1 = submit_ok(ID_INPLACE, n ? buf : NULL, n), f2;
        ASSERT_RC(
            mf_submit_ex(mft_ex, ID_INPLACE, n ? buf : NULL, n, &iso, &f2),
            MF_OK);
        expect_result(f1, want, m);
        expect_result(f2, want, m);
        for (size_t j = 0; j < n; j++) /* the caller's bytes unchanged */
            if (buf[j] != (unsigned char)(j * 131 + i)) {
                CU_FAIL("the root's argument buffer was written");
                break;
            }
        mf_future_release(f1);
        mf_future_release(f2);
        free(buf);
        free(want);
    }
    {
        /* As map items (chunks of 3): each item's own bytes, reversed. */
        const void *args[7];
        size_t lens[7];
        char item[7][9];
        mf_map_opts o;
        mf_map_iter *it = NULL;
        const void *d;
        size_t l, idx;
        int got = 0;
        for (int k = 0; k < 7; k++) {
            snprintf(item[k], sizeof item[k], "item%d-ab", k);
            args[k] = item[k];
            lens[k] = strlen(item[k]);
        }
        mf_map_opts_init(&o);
        o.chunksize = 3;
        ASSERT_RC(mf_map(mft_ex, ID_INPLACE, args, lens, 7, &o, &it), MF_OK);
        while (it && mf_map_next(it, &d, &l, &idx) == MF_OK) {
            char w[9] = {0};
            size_t n = lens[idx];
            for (size_t j = 0; j < n; j++)
                w[j] = item[idx][n - 1 - j];
            CU_ASSERT_EQUAL(l, mft_inplace_len(n));
            CU_ASSERT(memcmp(d, w, l) == 0);
            got++;
        }
        CU_ASSERT_EQUAL(got, 7);
        mf_map_free(it);
    }
}

/* Open MPI's yield-when-idle: the library switches it off only while it
 * polls. After submits, waits, a map, and inside tasks, the program sees
 * its own value, whichever it set (the oversubscribed runs start with it
 * on, the others off). With an MPI that has no such switch: nothing to
 * check, and the test says so. */
static void t_mpi_yield_restored(void)
{
    int orig = mft_mpi_yield(-1);
    NEED_EX();
    if (orig < 0) {
        printf("(no Open MPI yield switch in this MPI: skipped) ");
        return;
    }
    for (int v = 1; v >= 0; v--) {
        mf_future fs[64];
        mf_map_opts o;
        mf_map_iter *it = NULL;
        const void *args[10] = {0};
        size_t lens[10] = {0};
        int n = 0;
        (void)mft_mpi_yield(v);
        for (int i = 0; i < 64; i++)
            fs[i] = submit_ok(ID_EMPTY, NULL, 0);
        CU_ASSERT_EQUAL(mft_mpi_yield(-1), v); /* after submits */
        ASSERT_RC(mf_wait(fs, 64, T, MF_ALL_COMPLETED, NULL, NULL), MF_OK);
        CU_ASSERT_EQUAL(mft_mpi_yield(-1), v); /* after a wait */
        for (int i = 0; i < 64; i++)
            mf_future_release(fs[i]);
        mf_map_opts_init(&o);
        ASSERT_RC(mf_map(mft_ex, ID_EMPTY, args, lens, 10, &o, &it), MF_OK);
        while (it && mf_map_next(it, NULL, NULL, NULL) == MF_OK)
            n++;
        mf_map_free(it);
        CU_ASSERT_EQUAL(n, 10);
        CU_ASSERT_EQUAL(mft_mpi_yield(-1), v); /* after a map */
    }
    (void)mft_mpi_yield(orig);
    /* Inside tasks, the worker's own value (as before the open). */
    for (int i = 0; i < 8; i++) {
        mf_future f = submit_ok(ID_YIELDQ, NULL, 0);
        const void *d = NULL;
        size_t l = 0;
        if (ASSERT_RC(mf_future_result(f, T, &d, &l), MF_OK) &&
            l == 2 * sizeof(int32_t)) {
            int32_t v[2];
            memcpy(v, d, sizeof v);
            CU_ASSERT(v[0] >= 0);
            CU_ASSERT_EQUAL(v[0], v[1]);
        } else {
            CU_FAIL("yieldq returned no result");
        }
        mf_future_release(f);
    }
}

static void t_result_outs_and_states(void)
{
    int32_t v = 77;
    const void *d = NULL;
    size_t l = 0;
    const mf_task_error *err = (const mf_task_error *)&v;
    mf_future f;
    NEED_EX();
    f = submit_ok(ID_ECHO, &v, sizeof v);
    ASSERT_RC(mf_future_result(f, MF_FOREVER, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_result(f, 0, &d, NULL), MF_OK);
    CU_ASSERT(d != NULL && memcmp(d, &v, 4) == 0);
    ASSERT_RC(mf_future_result(f, 0, NULL, &l), MF_OK);
    CU_ASSERT_EQUAL(l, 4);
    /* the same pointer while held */
    {
        const void *d2 = NULL;
        ASSERT_RC(mf_future_result(f, 0.0, &d2, NULL), MF_OK);
        CU_ASSERT_PTR_EQUAL(d, d2);
    }
    CU_ASSERT_EQUAL(mf_future_done(f), 1);
    CU_ASSERT_EQUAL(mf_future_running(f), 0);
    CU_ASSERT_EQUAL(mf_future_cancelled(f), 0);
    ASSERT_RC(mf_future_error(f, T, &err), MF_OK);
    CU_ASSERT_PTR_NULL(err);
    ASSERT_RC(mf_future_error(f, 0, NULL), MF_OK);
    ASSERT_RC(mf_future_cancel(f), MF_ESTATE); /* finished */
    CU_ASSERT_EQUAL(mf_future_cancelled(f), 0);
    ASSERT_RC(mf_future_release(f), MF_OK);
}

static void t_refcount_and_stale(void)
{
    int32_t v = 5;
    mf_future f, g;
    const void *d = NULL;
    mf_as_completed_iter *it = NULL;
    unsigned char flag = 9;
    NEED_EX();
    f = submit_ok(ID_ECHO, &v, sizeof v);
    ASSERT_RC(mf_future_retain(f), MF_OK);
    ASSERT_RC(mf_future_result(f, T, &d, NULL), MF_OK);
    ASSERT_RC(mf_future_release(f), MF_OK);
    /* still held once: still valid */
    ASSERT_RC(mf_future_result(f, 0, &d, NULL), MF_OK);
    CU_ASSERT(d && memcmp(d, &v, 4) == 0);
    ASSERT_RC(mf_future_release(f), MF_OK);
    /* stale now: double release and every other use */
    ASSERT_RC(mf_future_release(f), MF_EBADHANDLE);
    ASSERT_RC(mf_future_result(f, 0, &d, NULL), MF_EBADHANDLE);
    ASSERT_RC(mf_future_error(f, 0, NULL), MF_EBADHANDLE);
    ASSERT_RC(mf_future_cancel(f), MF_EBADHANDLE);
    ASSERT_RC(mf_future_retain(f), MF_EBADHANDLE);
    CU_ASSERT_EQUAL(mf_future_done(f), 0);
    CU_ASSERT_EQUAL(mf_future_running(f), 0);
    CU_ASSERT_EQUAL(mf_future_cancelled(f), 0);
    ASSERT_RC(mf_wait(&f, 1, 0, MF_ALL_COMPLETED, &flag, NULL),
              MF_EBADHANDLE);
    ASSERT_RC(mf_as_completed(&f, 1, 0, &it), MF_EBADHANDLE);
    /* a stale handle among good ones: nothing waited */
    g = submit_ok(ID_ECHO, &v, sizeof v);
    {
        mf_future two[2];
        two[0] = g;
        two[1] = f;
        ASSERT_RC(mf_wait(two, 2, T, MF_ALL_COMPLETED, NULL, NULL),
                  MF_EBADHANDLE);
        ASSERT_RC(mf_as_completed(two, 2, T, &it), MF_EBADHANDLE);
    }
    ASSERT_RC(mf_future_result(g, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_release(g), MF_OK);
    ASSERT_RC(mf_future_release(g), MF_EBADHANDLE);
}

static void cb_nop(mf_future f, void *ud)
{
    (void)f;
    (void)ud;
}

static void t_null_handles(void)
{
    mf_future nf = {0}, junk = {UINT64_C(0xdeadbeef12345678)}, f = {0};
    mf_map_iter *mit = (mf_map_iter *)&f;
    mf_as_completed_iter *ait = (mf_as_completed_iter *)&f;
    const void *args[1] = {"x"};
    size_t lens[1] = {1};
    int32_t v = 1;
    NEED_EX();
    ASSERT_RC(mf_future_release(nf), MF_EBADHANDLE);
    ASSERT_RC(mf_future_result(nf, 0, NULL, NULL), MF_EBADHANDLE);
    ASSERT_RC(mf_future_result(nf, T, NULL, NULL), MF_EBADHANDLE);
    ASSERT_RC(mf_future_error(nf, 0, NULL), MF_EBADHANDLE);
    ASSERT_RC(mf_future_cancel(nf), MF_EBADHANDLE);
    ASSERT_RC(mf_future_retain(nf), MF_EBADHANDLE);
    ASSERT_RC(mf_future_on_done(nf, cb_nop, NULL), MF_EBADHANDLE);
    CU_ASSERT_EQUAL(mf_future_done(nf), 0);
    CU_ASSERT_EQUAL(mf_future_running(nf), 0);
    CU_ASSERT_EQUAL(mf_future_cancelled(nf), 0);
    ASSERT_RC(mf_future_release(junk), MF_EBADHANDLE);
    ASSERT_RC(mf_future_result(junk, 0, NULL, NULL), MF_EBADHANDLE);
    CU_ASSERT_EQUAL(mf_future_done(junk), 0);

    ASSERT_RC(mf_submit(NULL, ID_ECHO, &v, 4, &f), MF_EINVAL);
    ASSERT_RC(mf_submit(mft_ex, ID_ECHO, NULL, 4, &f), MF_EINVAL);
    ASSERT_RC(mf_submit(mft_ex, ID_ECHO, &v, 4, NULL), MF_EINVAL);
    CU_ASSERT_EQUAL(f.h, 0); /* out-parameter untouched on failure */
    f = submit_ok(ID_ECHO, &v, 4);
    ASSERT_RC(mf_future_on_done(f, NULL, NULL), MF_EINVAL);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_release(f), MF_OK);

    ASSERT_RC(mf_executor_shutdown(NULL, 1, 1), MF_EINVAL);
    ASSERT_RC(mf_executor_close(NULL), MF_OK);
    CU_ASSERT_EQUAL(mf_executor_workers(NULL), 0);
    ASSERT_RC(mf_wait(NULL, 1, 0, MF_ALL_COMPLETED, NULL, NULL), MF_EINVAL);
    ASSERT_RC(mf_as_completed(NULL, 1, 0, &ait), MF_EINVAL);
    {
        mf_future ok = submit_ok(ID_ECHO, &v, 4);
        ASSERT_RC(mf_as_completed(&ok, 1, 0, NULL), MF_EINVAL);
        ASSERT_RC(mf_future_result(ok, T, NULL, NULL), MF_OK);
        mf_future_release(ok);
    }
    mf_as_completed_free(NULL);
    ASSERT_RC(mf_map(NULL, ID_ECHO, args, lens, 1, NULL, &mit), MF_EINVAL);
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, args, lens, 1, NULL, NULL), MF_EINVAL);
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, NULL, lens, 1, NULL, &mit), MF_EINVAL);
    mf_map_free(NULL);
    CU_ASSERT_EQUAL(mf_executor_workers(mft_ex), mft_nw);
    CU_ASSERT_EQUAL(mf_executor_interrupted(mft_ex), 0);
}

static void t_unknown_and_late(void)
{
    mf_future f = {0};
    mf_fn_id late = 0;
    NEED_EX();
    ASSERT_RC(mf_submit(mft_ex, mf_fn_id_of("no-such-function"), "a", 1, &f),
              MF_ENOENT);
    CU_ASSERT(mf_last_error()[0] != 0);
    CU_ASSERT_EQUAL(f.h, 0);
    ASSERT_RC(mf_submit(mft_ex, 0, "a", 1, &f), MF_ENOENT);
    /* registered after the executor opened: not known to it */
    ASSERT_RC(mf_register("late", t_dummy, NULL, &late), MF_OK);
    ASSERT_RC(mf_submit(mft_ex, late, NULL, 0, &f), MF_ENOENT);
    /* the executor goes on */
    f = submit_ok(ID_ECHO, "ok", 3);
    expect_result(f, "ok", 3);
    mf_future_release(f);
}

static void t_empty_and_replace(void)
{
    mf_future f;
    const void *d = (const void *)&f;
    size_t l = 777;
    uint8_t m;
    NEED_EX();
    f = submit_ok(ID_EMPTY, NULL, 0);
    ASSERT_RC(mf_future_result(f, T, &d, &l), MF_OK);
    CU_ASSERT_EQUAL(l, 0);
    mf_future_release(f);
    m = 0;
    f = submit_ok(ID_REPLACE, &m, 1);
    expect_result(f, "second", 7);
    mf_future_release(f);
    m = 1;
    f = submit_ok(ID_REPLACE, &m, 1);
    expect_result(f, "second", 7);
    mf_future_release(f);
    m = 2;
    f = submit_ok(ID_REPLACE, &m, 1);
    expect_result(f, "zcbuf", 6);
    mf_future_release(f);
    m = 3;
    f = submit_ok(ID_REPLACE, &m, 1);
    expect_result(f, "copied!", 8);
    mf_future_release(f);
}

static void t_many_small(void)
{
    enum { N = 300 };
    mf_future f[N];
    unsigned char done[N];
    size_t nd = 0;
    int32_t i;
    NEED_EX();
    for (i = 0; i < N; i++)
        f[i] = submit_ok(ID_ECHO, &i, sizeof i);
    memset(done, 0, sizeof done);
    ASSERT_RC(mf_wait(f, N, T, MF_ALL_COMPLETED, done, &nd), MF_OK);
    CU_ASSERT_EQUAL(nd, N);
    for (i = 0; i < N; i++) {
        CU_ASSERT_EQUAL(done[i], 1);
        expect_result(f[i], &i, sizeof i);
        mf_future_release(f[i]);
    }
}

static void t_big_argument(void)
{
    size_t n = (size_t)8 << 20, i;
    unsigned char *buf = malloc(n);
    uint64_t want[2];
    mf_future f;
    NEED_EX();
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    for (i = 0; i < n; i++)
        buf[i] = (unsigned char)((i * 2654435761u) >> 13);
    want[0] = mft_fnv(buf, n);
    want[1] = n;
    f = submit_ok(ID_SUM, buf, n);
    free(buf);
    expect_result(f, want, sizeof want);
    mf_future_release(f);
}

static void t_registry_clear_keeps_copy(void)
{
    mf_future f;
    NEED_EX();
    mf_registry_clear(); /* the open executor keeps its own copy */
    f = submit_ok(ID_ECHO, "still", 6);
    expect_result(f, "still", 6);
    mf_future_release(f);
}

static void t_task_side_api(void)
{
    mf_future f;
    const mf_task_error *e = NULL;
    NEED_EX();
    f = submit_ok(ID_TASKAPI, NULL, 0);
    if (mf_future_result(f, T, NULL, NULL) == MF_ETASK &&
        mf_future_error(f, 0, &e) == MF_OK && e)
        fprintf(stderr, "  taskapi: %s\n", e->message);
    expect_result(f, "api-ok", 7);
    mf_future_release(f);
    f = submit_ok(ID_FAILRC, NULL, 0);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_ETASK);
    ASSERT_RC(mf_future_error(f, T, &e), MF_OK);
    CU_ASSERT(e && e->message &&
              strcmp(e->message, "plain failure here") == 0);
    mf_future_release(f);
}

static void t_large_payloads(void)
{
    enum { NR = 40, RS = 100 * 1024, NM = 16 };
    static unsigned char buf[RS];
    static unsigned char items[NM][1 << 20];
    static const void *args[NM];
    static size_t lens[NM];
    mf_future f[NR];
    mf_map_iter *it = NULL;
    size_t i, k, idx, l;
    const void *d;
    NEED_EX();
    for (i = 0; i < NR; i++) {
        for (k = 0; k < RS; k++)
            buf[k] = (unsigned char)(k ^ i);
        f[i] = submit_ok(ID_ECHO_ZC, buf, RS);
    }
    for (i = 0; i < NR; i++) {
        for (k = 0; k < RS; k++)
            buf[k] = (unsigned char)(k ^ i);
        expect_result(f[i], buf, RS);
        mf_future_release(f[i]);
    }
    for (i = 0; i < NM; i++) {
        for (k = 0; k < sizeof items[i]; k++)
            items[i][k] = (unsigned char)((k * 7) ^ (i * 13));
        args[i] = items[i];
        lens[i] = sizeof items[i] - i; /* uneven lengths */
    }
    ASSERT_RC(mf_map(mft_ex, ID_SUM, args, lens, NM, bounded(0, 4), &it),
              MF_OK);
    for (i = 0; i < NM && it; i++) {
        uint64_t want[2];
        want[0] = mft_fnv(items[i], lens[i]);
        want[1] = lens[i];
        if (!ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK))
            break;
        CU_ASSERT_EQUAL(idx, i);
        CU_ASSERT(l == sizeof want && d && memcmp(d, want, sizeof want) == 0);
    }
    mf_map_free(it);
}

static void many_map(int unordered, size_t chunk)
{
    enum { N = 5000 };
    static int32_t v[N];
    static const void *a[N];
    static size_t ls[N];
    static unsigned char seen[N];
    mf_map_iter *it = NULL;
    size_t i, idx, l, bad = 0;
    const void *d;
    for (i = 0; i < N; i++) {
        v[i] = (int32_t)(i * 11);
        a[i] = &v[i];
        ls[i] = 4;
    }
    memset(seen, 0, sizeof seen);
    if (!ASSERT_RC(
            mf_map(mft_ex, ID_ECHO, a, ls, N, bounded(unordered, chunk), &it),
            MF_OK))
        return;
    for (i = 0; i < N; i++) {
        int rc = mf_map_next(it, &d, &l, &idx);
        if (rc != MF_OK || idx >= N || l != 4 || memcmp(d, &v[idx], 4) != 0 ||
            (!unordered && idx != i) || seen[idx]) {
            ASSERT_RC(rc, MF_OK);
            bad++;
            break;
        }
        seen[idx] = 1;
    }
    CU_ASSERT_EQUAL(bad, 0);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
}

static void t_many_map_items(void)
{
    NEED_EX();
    many_map(1, 1);
    many_map(0, 1);
    many_map(0, 50);
    many_map(1, 333);
}

static const mft_test tests_basic[] = {
    {"task_side_api_misuse_and_fail_rc", t_task_side_api},
    {"large_payloads_100KiB_results_1MiB_map_items", t_large_payloads},
    {"map_5000_items", t_many_map_items},
    {"echo_sizes_copy_and_zero_copy", t_echo_sizes},
    {"inplace_results_sizes_isolated_map", t_inplace_results},
    {"mpi_yield_switch_restored", t_mpi_yield_restored},
    {"result_outs_and_states", t_result_outs_and_states},
    {"refcount_double_release_stale", t_refcount_and_stale},
    {"null_handles_and_einval", t_null_handles},
    {"unknown_id_and_late_register", t_unknown_and_late},
    {"empty_result_and_replace", t_empty_and_replace},
    {"many_small_tasks", t_many_small},
    {"big_argument_8MiB", t_big_argument},
    {"registry_clear_keeps_executor_copy", t_registry_clear_keeps_copy},
    {NULL, NULL}};

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

static void t_callback_on_failure(void);

static const mft_test tests_errors[] = {
    {"fail_formatted_message_rank_host_function", t_fail_message},
    {"nonzero_return_without_message", t_nonzero_return},
    {"message_truncated_4KiB", t_long_message},
    {"executor_goes_on_after_failures", t_executor_goes_on},
    {"callback_on_failed_future", t_callback_on_failure},
    {NULL, NULL}};

/* =================================================================== */
/* Scenario: big (64 MiB results)                                       */
/* =================================================================== */

static void big_result(uint64_t mode)
{
    uint64_t a[3];
    mf_future f;
    const void *d = NULL;
    size_t l = 0, i, bad = 0;
    NEED_EX();
    a[0] = (uint64_t)64 << 20;
    a[1] = 0x1234567ull + mode;
    a[2] = mode;
    f = submit_ok(ID_BIG, a, sizeof a);
    if (ASSERT_RC(mf_future_result(f, 60.0, &d, &l), MF_OK)) {
        CU_ASSERT_EQUAL(l, (size_t)64 << 20);
        CU_ASSERT_PTR_NOT_NULL(d);
        if (d && l == ((size_t)64 << 20)) {
            for (i = 0; i < l / 8; i++) {
                uint64_t w;
                memcpy(&w, (const char *)d + i * 8, 8);
                if (w != mft_pattern_word(a[1], i))
                    bad++;
            }
            CU_ASSERT_EQUAL(bad, 0);
        }
    }
    mf_future_release(f);
}

static void t_big_zero_copy(void)
{
    big_result(0);
}
static void t_big_copy(void)
{
    big_result(1);
}

static const mft_test tests_big[] = {
    {"result_64MiB_zero_copy_pattern", t_big_zero_copy},
    {"result_64MiB_copy_pattern", t_big_copy},
    {NULL, NULL}};

/* =================================================================== */
/* Callbacks: shared helpers                                            */
/* =================================================================== */

typedef struct cb_log {
    atomic_int n;
    int ids[32];
    uint64_t handles[32];
} cb_log;

typedef struct cb_rec {
    cb_log *log;
    int id;
} cb_rec;

static void cb_append(mf_future f, void *ud)
{
    cb_rec *r = ud;
    int k = atomic_load(&r->log->n);
    if (k < 32) {
        r->log->ids[k] = r->id;
        r->log->handles[k] = f.h;
    }
    atomic_store(&r->log->n, k + 1);
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

static const mft_test tests_cancel[] = {
    {"cancel_running_fails_queued_succeeds", t_cancel_running_and_queued},
    {NULL, NULL}};

/* =================================================================== */
/* Scenario: callbacks (window 1)                                       */
/* =================================================================== */

static void t_cb_already_done(void)
{
    cb_log log;
    cb_rec r = {&log, 5};
    mf_future f;
    NEED_EX();
    memset(&log, 0, sizeof log);
    f = submit_ok(ID_ECHO, "x", 1);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_on_done(f, cb_append, &r), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 1); /* ran at once */
    CU_ASSERT(log.handles[0] == f.h && log.ids[0] == 5);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 1);
    mf_future_release(f);
}

static void t_cb_already_failed_or_cancelled(void)
{
    cb_log log;
    cb_rec r = {&log, 8};
    mf_future f;
    mft_gate *gs[MAXW];
    int32_t c = 2;
    NEED_EX();
    memset(&log, 0, sizeof log);
    f = submit_ok(ID_FAIL, &c, sizeof c);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_ETASK);
    ASSERT_RC(mf_future_on_done(f, cb_append, &r), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 1);
    mf_future_release(f);
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    f = submit_ok(ID_ECHO, "c", 2); /* queued */
    ASSERT_RC(mf_future_cancel(f), MF_OK);
    ASSERT_RC(mf_future_on_done(f, cb_append, &r), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 2);
    mf_future_release(f);
    release_gates(gs, mft_nw);
}

static void t_cb_order_exactly_once(void)
{
    cb_log log;
    cb_rec r[4] = {{&log, 1}, {&log, 2}, {&log, 3}, {&log, 4}};
    mft_gate *g = NULL;
    int i;
    NEED_EX();
    memset(&log, 0, sizeof log);
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    for (i = 0; i < 3; i++)
        ASSERT_RC(mf_future_on_done(g->f, cb_append, &r[i]), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 0);
    mft_gate_release(g, MFT_GATE_OK);
    ASSERT_RC(mf_future_result(g->f, T, NULL, NULL), MF_OK);
    /* callbacks may run in whichever call makes progress */
    CU_ASSERT(mft_progress_until(&log.n, 3, NULL, 0));
    CU_ASSERT_EQUAL(atomic_load(&log.n), 3);
    CU_ASSERT(log.ids[0] == 1 && log.ids[1] == 2 && log.ids[2] == 3);
    /* more progress: never again */
    {
        mf_future e = submit_ok(ID_ECHO, "y", 1);
        ASSERT_RC(mf_future_result(e, T, NULL, NULL), MF_OK);
        mf_future_release(e);
    }
    ASSERT_RC(mf_wait(&g->f, 1, T, MF_ALL_COMPLETED, NULL, NULL), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 3);
    ASSERT_RC(mf_future_on_done(g->f, cb_append, &r[3]), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 4);
    CU_ASSERT_EQUAL(log.ids[3], 4);
}

/* Everything a callback tries (inside it). */
typedef struct cb_inside {
    mft_gate *pending;        /* a gate that cannot finish meanwhile */
    mf_as_completed_iter *ai; /* over pending */
    mf_map_iter *mi;          /* one gate item, cannot finish */
    mf_future sub;
    int r_result, r_error, r_wait, r_ac, r_map, r_shut, r_close, r_self0,
        r_pend0, r_submit, self_done;
    atomic_int ran;
} cb_inside;

static void cb_blocking(mf_future f, void *ud)
{
    cb_inside *c = ud;
    const mf_task_error *e = NULL;
    const void *d = NULL;
    size_t l = 0, idx = 0;
    mf_future x = {0};
    c->r_result = mf_future_result(c->pending->f, 1.0, NULL, NULL);
    c->r_error = mf_future_error(c->pending->f, 1.0, &e);
    c->r_wait = mf_wait(&c->pending->f, 1, 1.0, MF_ALL_COMPLETED, NULL, NULL);
    c->r_ac = mf_as_completed_next(c->ai, &x);
    c->r_map = mf_map_next(c->mi, &d, &l, &idx);
    /* Without callback detection these two would block for ever (the
     * gates hold): only try them when the blocking waits above were
     * refused, and count them failed otherwise. */
    if (c->r_result == MF_EINCALLBACK && c->r_wait == MF_EINCALLBACK) {
        c->r_shut = mf_executor_shutdown(mft_ex, 1, 0);
        c->r_close = mf_executor_close(mft_ex);
    } else {
        c->r_shut = c->r_close = -1;
    }
    c->r_self0 = mf_future_result(f, 0, &d, &l);
    c->r_pend0 = mf_future_result(c->pending->f, 0, NULL, NULL);
    c->self_done = mf_future_done(f);
    c->r_submit = mf_submit(mft_ex, ID_ECHO, "cb", 3, &c->sub);
    atomic_fetch_add(&c->ran, 1);
}

static void t_cb_blocking_calls_inside(void)
{
    mft_gate *gs[MAXW], *mg;
    mft_gate_arg ma;
    const void *margs[1];
    size_t mlens[1] = {sizeof(mft_gate_arg)};
    cb_inside c;
    mf_future x;
    const void *d;
    size_t l, idx = 99;
    int i;
    NEED_EX();
    memset(&c, 0, sizeof c);
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    /* queued behind the gates: one gate future, one map of one gate */
    ASSERT_RC(mft_gate_submit(&c.pending), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.pending);
    mg = mft_gate_new(&ma);
    margs[0] = &ma;
    {
        mf_map_opts mo;
        mf_map_opts_init(&mo);
        mo.timeout = T; /* bounded even if map_next blocked in the callback */
        ASSERT_RC(mf_map(mft_ex, ID_GATE, margs, mlens, 1, &mo, &c.mi),
                  MF_OK);
    }
    ASSERT_RC(mf_as_completed(&c.pending->f, 1, T, &c.ai), MF_OK);
    ASSERT_RC(mf_future_on_done(gs[0]->f, cb_blocking, &c), MF_OK);
    mft_gate_release(gs[0], MFT_GATE_OK);
    {
        mf_future drv = c.pending->f;
        CU_ASSERT(mft_progress_until(&c.ran, 1, &drv, 1));
    }
    CU_ASSERT_EQUAL(atomic_load(&c.ran), 1);
    CU_ASSERT_EQUAL(c.r_result, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_error, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_wait, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_ac, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_map, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_shut, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_close, MF_EINCALLBACK);
    CU_ASSERT_EQUAL(c.r_self0, MF_OK);
    CU_ASSERT_EQUAL(c.r_pend0, MF_ETIMEDOUT);
    CU_ASSERT_EQUAL(c.self_done, 1);
    CU_ASSERT_EQUAL(c.r_submit, MF_OK);
    /* let everything finish */
    for (i = 1; i < mft_nw; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
    {
        mft_gate *two[2];
        two[0] = c.pending;
        two[1] = mg;
        CU_ASSERT_FATAL(mft_release_as_started(two, 2));
    }
    ASSERT_RC(mf_as_completed_next(c.ai, &x), MF_OK);
    CU_ASSERT(x.h == c.pending->f.h);
    ASSERT_RC(mf_as_completed_next(c.ai, &x), MF_EDONE);
    mf_as_completed_free(c.ai);
    ASSERT_RC(mf_map_next(c.mi, &d, &l, &idx), MF_OK);
    CU_ASSERT_EQUAL(idx, 0);
    ASSERT_RC(mf_map_next(c.mi, &d, &l, &idx), MF_EDONE);
    mf_map_free(c.mi);
    /* the executor is still open and the task submitted inside ran */
    if (c.r_submit == MF_OK) {
        expect_result(c.sub, "cb", 3);
        mf_future_release(c.sub);
    }
}

typedef struct cb_valid {
    atomic_int ran;
    int done, rc;
    size_t len;
    mft_gate_res res;
} cb_valid;

static void cb_check_valid(mf_future f, void *ud)
{
    cb_valid *v = ud;
    const void *d = NULL;
    v->done = mf_future_done(f);
    v->rc = mf_future_result(f, 0, &d, &v->len);
    if (v->rc == MF_OK && d && v->len == sizeof v->res)
        memcpy(&v->res, d, sizeof v->res);
    atomic_store(&v->ran, 1);
}

static void t_cb_future_valid_after_release(void)
{
    mft_gate *g = NULL;
    cb_valid v;
    NEED_EX();
    memset(&v, 0, sizeof v);
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    ASSERT_RC(mf_future_on_done(g->f, cb_check_valid, &v), MF_OK);
    ASSERT_RC(mf_future_release(g->f), MF_OK); /* the only user reference */
    g->f.h = 0;
    mft_gate_release(g, MFT_GATE_OK);
    CU_ASSERT(mft_progress_until(&v.ran, 1, NULL, 0));
    CU_ASSERT_EQUAL(v.done, 1);
    if (v.rc != MF_OK)
        fprintf(stderr, "  callback: mf_future_result gave %s\n",
                mf_errname(v.rc));
    CU_ASSERT_EQUAL(v.rc, MF_OK);
    CU_ASSERT_EQUAL(v.len, sizeof v.res);
    CU_ASSERT_EQUAL(v.res.id, g->id);
}

static const mft_test tests_callbacks[] = {
    {"callback_on_done_future_runs_at_once", t_cb_already_done},
    {"callbacks_in_order_exactly_once", t_cb_order_exactly_once},
    {"callback_on_failed_or_cancelled_future_runs_at_once",
     t_cb_already_failed_or_cancelled},
    {"blocking_calls_in_callback_EINCALLBACK", t_cb_blocking_calls_inside},
    {"future_valid_in_callback_after_release",
     t_cb_future_valid_after_release},
    {NULL, NULL}};

/* =================================================================== */
/* Scenario: callbacks_more (window 1)                                  */
/* =================================================================== */

typedef struct nest_ctx {
    cb_rec *nested, *mine1, *mine3, *mine5;
    mf_future victim; /* {0}: no cancel inside */
    int r_on_done, r_cancel, victim_cancelled;
} nest_ctx;

static void cb_outer(mf_future f, void *ud)
{
    nest_ctx *c = ud;
    cb_append(f, c->mine1);
    /* f is done: a callback added now runs at once, inside this call */
    if (c->nested)
        c->r_on_done = mf_future_on_done(f, cb_append, c->nested);
    cb_append(f, c->mine3);
    /* cancelling another (queued) future runs its callbacks at once too */
    if (c->victim.h) {
        c->r_cancel = mf_future_cancel(c->victim);
        c->victim_cancelled = mf_future_cancelled(c->victim);
    }
    cb_append(f, c->mine5);
}

/* Callbacks of gs[0]: outer (logs 1, maybe adds a nested callback that
 * must log 2 at once, logs 3, maybe cancels a queued future whose
 * callback logs 4, logs 5), then one that logs 6. */
static void cb_nest_case(int nested, int cancel)
{
    mft_gate *gs[MAXW];
    cb_log log;
    cb_rec r1 = {&log, 1}, r2 = {&log, 2}, r3 = {&log, 3}, r4 = {&log, 4},
           r5 = {&log, 5}, r6 = {&log, 6};
    nest_ctx c;
    mf_future q = {0};
    int i, want[6] = {0}, nwant = 0;
    memset(&log, 0, sizeof log);
    memset(&c, 0, sizeof c);
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    if (cancel) {
        q = submit_ok(ID_MARK, NULL, 0); /* queued */
        ASSERT_RC(mf_future_on_done(q, cb_append, &r4), MF_OK);
    }
    c.nested = nested ? &r2 : NULL;
    c.mine1 = &r1;
    c.mine3 = &r3;
    c.mine5 = &r5;
    c.victim = q;
    ASSERT_RC(mf_future_on_done(gs[0]->f, cb_outer, &c), MF_OK);
    ASSERT_RC(mf_future_on_done(gs[0]->f, cb_append, &r6), MF_OK);
    mft_gate_release(gs[0], MFT_GATE_OK);
    for (i = 1; i <= 6; i++)
        if ((i != 2 || nested) && (i != 4 || cancel))
            want[nwant++] = i;
    CU_ASSERT(mft_progress_until(&log.n, nwant, NULL, 0));
    CU_ASSERT_EQUAL(atomic_load(&log.n), nwant);
    {
        int same = atomic_load(&log.n) == nwant;
        for (i = 0; i < nwant && same; i++)
            same = log.ids[i] == want[i];
        CU_ASSERT(same);
        if (!same) {
            fprintf(stderr, "  callback order:");
            for (i = 0; i < atomic_load(&log.n) && i < 32; i++)
                fprintf(stderr, " %d", log.ids[i]);
            fprintf(stderr, " (want");
            for (i = 0; i < nwant; i++)
                fprintf(stderr, " %d", want[i]);
            fprintf(stderr, ")\n");
        }
    }
    if (nested)
        CU_ASSERT_EQUAL(c.r_on_done, MF_OK);
    if (cancel) {
        CU_ASSERT_EQUAL(c.r_cancel, MF_OK);
        CU_ASSERT_EQUAL(c.victim_cancelled, 1);
        ASSERT_RC(mf_future_result(q, 0, NULL, NULL), MF_ECANCELLED);
        mf_future_release(q);
    }
    for (i = 1; i < mft_nw; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
    mft_expect_marks = 0;
}

static void t_cb_cancel_inside(void)
{
    NEED_EX();
    cb_nest_case(0, 1);
}

static void t_cb_nested_on_done(void)
{
    NEED_EX();
    cb_nest_case(1, 0);
}

typedef struct rel_ctx {
    atomic_int ran;
    int rc;
} rel_ctx;

static void cb_release_self(mf_future f, void *ud)
{
    rel_ctx *c = ud;
    c->rc = mf_future_release(f); /* the callback owns the last reference */
    atomic_store(&c->ran, 1);
}

static void t_cb_releases_own_future(void)
{
    mft_gate *g = NULL;
    rel_ctx c;
    mf_future f;
    NEED_EX();
    memset(&c, 0, sizeof c);
    c.rc = -1;
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    f = g->f;
    g->f.h = 0; /* handed to the callback */
    ASSERT_RC(mf_future_on_done(f, cb_release_self, &c), MF_OK);
    mft_gate_release(g, MFT_GATE_OK);
    CU_ASSERT(mft_progress_until(&c.ran, 1, NULL, 0));
    CU_ASSERT_EQUAL(c.rc, MF_OK);
    ASSERT_RC(mf_future_result(f, 0, NULL, NULL), MF_EBADHANDLE);
    /* and again on an already-done future (callback runs inside on_done) */
    memset(&c, 0, sizeof c);
    c.rc = -1;
    f = submit_ok(ID_ECHO, "s", 2);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_on_done(f, cb_release_self, &c), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&c.ran), 1);
    CU_ASSERT_EQUAL(c.rc, MF_OK);
    ASSERT_RC(mf_future_release(f), MF_EBADHANDLE);
}

static void t_release_running_and_queued(void)
{
    mft_gate *gs[MAXW];
    mf_future q, e;
    int i;
    NEED_EX();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    q = submit_ok(ID_ECHO, "q", 2); /* queued */
    ASSERT_RC(mf_future_release(q), MF_OK);
    ASSERT_RC(mf_future_release(gs[0]->f), MF_OK); /* running */
    gs[0]->f.h = 0;
    for (i = 0; i < mft_nw; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
    for (i = 1; i < mft_nw; i++)
        ASSERT_RC(mf_future_result(gs[i]->f, T, NULL, NULL), MF_OK);
    /* results of released futures are discarded; the executor goes on */
    e = submit_ok(ID_ECHO, "e", 2);
    expect_result(e, "e", 2);
    mf_future_release(e);
}

static const mft_test tests_callbacks_more[] = {
    {"cancel_inside_callback_runs_its_callbacks_at_once", t_cb_cancel_inside},
    {"on_done_from_own_callback_runs_at_once", t_cb_nested_on_done},
    {"callback_releases_last_reference", t_cb_releases_own_future},
    {"release_running_and_queued_futures", t_release_running_and_queued},
    {NULL, NULL}};

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

static const mft_test tests_threads[] = {
    {"submit_wait_from_four_threads", t_threads_concurrent}, {NULL, NULL}};

/* MF_WINDOW=1 in the environment overrides the default window: the
 * cancel test (which needs window 1) runs with NULL options. */
static void setup_env_window1(void)
{
    setenv("MF_WINDOW", "1", 1);
}
static void post_env_window1(void)
{
    unsetenv("MF_WINDOW");
}

/* =================================================================== */
/* Scenario: progress_thread (MPI_THREAD_MULTIPLE only)                 */
/* =================================================================== */

static void opts_progress(mf_executor_opts *o)
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

static const mft_test tests_progress_thread[] = {
    {"futures_complete_while_caller_is_busy", t_progress_thread_completes},
    {NULL, NULL}};

/* Options left at 0 mean the defaults. */
static void opts_zero(mf_executor_opts *o)
{
    o->window = 0;
    o->max_arg_bytes = 0;
    o->idle_sleep_max_us = 0;
}

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

static const mft_test tests_wait[] = {
    {"first_exception_with_one_already_failed",
     t_wait_first_exception_already},
    {"all_completed_with_duplicates", t_wait_all_duplicates},
    {"first_exception_without_failure_is_all_completed",
     t_wait_first_exception_none_fails},
    {"first_exception_and_first_completed_with_gates",
     t_wait_first_exception_and_first_completed},
    {"wait_bad_mode", t_wait_errors},
    {NULL, NULL}};

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

static const mft_test tests_as_completed[] = {
    {"zero_timeout_gives_finished_then_ETIMEDOUT", t_ac_zero_timeout},
    {"finished_first_duplicates_once_cancelled_done",
     t_ac_mixed_and_duplicates},
    {"timeout_then_ask_again", t_ac_timeout},
    {"yields_in_completion_order", t_ac_completion_order},
    {"iterator_holds_references", t_ac_iterator_holds_references},
    {NULL, NULL}};

/* =================================================================== */
/* Scenario: map (max_arg_bytes 4096)                                   */
/* =================================================================== */

enum { MAPN = 50 };
static int32_t g_map_vals[MAPN];
static const void *g_map_args[MAPN];
static size_t g_map_lens[MAPN];

static void map_args_init(void)
{
    int i;
    for (i = 0; i < MAPN; i++) {
        g_map_vals[i] = i * 3 + 1;
        g_map_args[i] = &g_map_vals[i];
        g_map_lens[i] = sizeof(int32_t);
    }
}

static void map_check(int unordered, size_t chunk, mf_fn_id fn, int fail_at)
{
    mf_map_opts mo;
    mf_map_iter *it = NULL;
    int seen[MAPN];
    size_t k, idx;
    const void *d;
    size_t l;
    int rc;
    char where[64];
    map_args_init();
    if (fail_at >= 0)
        g_map_vals[fail_at] = -5;
    mf_map_opts_init(&mo);
    mo.unordered = unordered;
    mo.chunksize = chunk;
    mo.timeout = T;
    snprintf(where, sizeof where, "unordered=%d chunk=%zu", unordered, chunk);
    memset(seen, 0, sizeof seen);
    if (!ASSERT_RC(mf_map(mft_ex, fn, g_map_args, g_map_lens, MAPN, &mo, &it),
                   MF_OK))
        return;
    for (k = 0; k < MAPN; k++) {
        d = NULL;
        l = 0;
        idx = 12345;
        rc = mf_map_next(it, &d, &l, &idx);
        if (rc == MF_ETASK && fail_at >= 0) {
            /* the index of a failed item: written, or implied when ordered */
            if (idx == 12345)
                idx = unordered ? (size_t)fail_at : k;
            CU_ASSERT_EQUAL(idx, (size_t)fail_at);
            CU_ASSERT(mft_contains(mf_last_error(), "item failed v=-5"));
        } else if (!ASSERT_RC(rc, MF_OK)) {
            fprintf(stderr, "  (%s, k=%zu)\n", where, k);
            break;
        } else {
            CU_ASSERT(fail_at < 0 || idx != (size_t)fail_at);
            CU_ASSERT_EQUAL(l, 4);
            if (l == 4 && d && idx < MAPN)
                CU_ASSERT(memcmp(d, &g_map_vals[idx], 4) == 0);
        }
        if (!unordered)
            CU_ASSERT_EQUAL(idx, k);
        if (idx < MAPN)
            seen[idx]++;
    }
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    ASSERT_RC(mf_map_next(it, &d, &l, NULL), MF_EDONE);
    for (k = 0; k < MAPN; k++)
        CU_ASSERT_EQUAL(seen[k], 1);
    mf_map_free(it);
}

static void t_map_ordered(void)
{
    static const size_t chunks[] = {0, 1, 3, 7, 64};
    size_t i;
    NEED_EX();
    for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        map_check(0, chunks[i], ID_ECHO, -1);
        map_check(0, chunks[i], ID_ECHO_ZC, -1);
    }
}

static void t_map_unordered(void)
{
    static const size_t chunks[] = {1, 4, 13};
    size_t i;
    NEED_EX();
    for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
        map_check(1, chunks[i], ID_ECHO, -1);
}

static void t_map_failing_item(void)
{
    NEED_EX();
    map_check(0, 1, ID_FAILIF, 5);
    map_check(1, 1, ID_FAILIF, 5);
    map_check(0, 4, ID_FAILIF, 5);
    map_check(1, 3, ID_FAILIF, 0);
    map_check(0, 1, ID_FAILIF, MAPN - 1);
}

static void t_map_empty_and_zero_len(void)
{
    mf_map_iter *it = NULL;
    const void *d;
    size_t l, idx;
    const void *args[3] = {NULL, NULL, NULL};
    size_t lens[3] = {0, 0, 0};
    int k;
    NEED_EX();
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, args, lens, 0, NULL, &it), MF_OK);
    if (it)
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
    it = NULL;
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, args, lens, 3, bounded(0, 1), &it),
              MF_OK);
    for (k = 0; k < 3 && it; k++) {
        l = 99;
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
        CU_ASSERT_EQUAL(l, 0);
        CU_ASSERT_EQUAL(idx, (size_t)k);
    }
    if (it)
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
}

static void t_map_and_submit_errors(void)
{
    static unsigned char big[4097];
    const void *args[3];
    size_t lens[3];
    mf_map_iter *it = NULL;
    mf_future f = {0};
    NEED_EX();
    args[0] = big;
    args[1] = big;
    args[2] = big;
    lens[0] = 1;
    lens[1] = 4097; /* over max_arg_bytes */
    lens[2] = 1;
    ASSERT_RC(mf_map(mft_ex, ID_MARK, args, lens, 3, NULL, &it), MF_E2BIG);
    CU_ASSERT_PTR_NULL(it);
    lens[1] = 4096;
    ASSERT_RC(mf_map(mft_ex, mf_fn_id_of("nope"), args, lens, 3, NULL, &it),
              MF_ENOENT);
    /* NULL lens, or a NULL item with a length: nothing submitted */
    ASSERT_RC(mf_map(mft_ex, ID_MARK, args, NULL, 3, NULL, &it), MF_EINVAL);
    args[1] = NULL;
    lens[1] = 4;
    ASSERT_RC(mf_map(mft_ex, ID_MARK, args, lens, 3, NULL, &it), MF_EINVAL);
    CU_ASSERT_PTR_NULL(it);
    args[1] = big;
    ASSERT_RC(mf_submit(mft_ex, ID_MARK, big, 4097, &f), MF_E2BIG);
    CU_ASSERT_EQUAL(f.h, 0);
    /* at the limit it works */
    f = submit_ok(ID_SUM, big, 4096);
    ASSERT_RC(mf_future_result(f, T, NULL, NULL), MF_OK);
    mf_future_release(f);
    mft_expect_marks = 0; /* nothing of the failed map was submitted */
}

static const mft_test tests_map[] = {
    {"ordered_chunksizes", t_map_ordered},
    {"unordered_chunksizes", t_map_unordered},
    {"failing_item_later_items_still_given", t_map_failing_item},
    {"empty_map_and_zero_length_items", t_map_empty_and_zero_len},
    {"E2BIG_ENOENT_nothing_submitted", t_map_and_submit_errors},
    {NULL, NULL}};

/* =================================================================== */
/* Scenario: map_gated (window 1)                                       */
/* =================================================================== */

static void release_all(mft_gate **gs, int n)
{
    int i;
    for (i = 0; i < n; i++)
        mft_gate_release(gs[i], MFT_GATE_OK);
    for (i = 0; i < n; i++)
        ASSERT_RC(mf_future_result(gs[i]->f, T, NULL, NULL), MF_OK);
}

static void t_map_timeout(void)
{
    mft_gate *gs[MAXW];
    mf_map_opts mo;
    mf_map_iter *it = NULL;
    const void *d;
    size_t l, idx;
    double t0;
    NEED_EX();
    map_args_init();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    mf_map_opts_init(&mo);
    mo.timeout = 0.2;
    t0 = mft_now();
    ASSERT_RC(mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 5, &mo, &it),
              MF_OK);
    /* no worker is free: nothing can start before the timeout */
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_ETIMEDOUT);
    CU_ASSERT(mft_now() - t0 >= 0.15);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    release_all(gs, mft_nw);
    /* the cancelled items never run: checked with the mark count */
    {
        mf_future e = submit_ok(ID_ECHO, "z", 2);
        expect_result(e, "z", 2);
        mf_future_release(e);
    }
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
}

static void t_map_free_pending(void)
{
    mft_gate *gs[MAXW];
    mf_map_iter *it = NULL;
    NEED_EX();
    map_args_init();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    ASSERT_RC(mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 4, NULL, &it),
              MF_OK);
    mf_map_free(it); /* consumer stops before any item started */
    release_all(gs, mft_nw);
    {
        mf_future e = submit_ok(ID_ECHO, "u", 2);
        expect_result(e, "u", 2);
        mf_future_release(e);
    }
}

static void t_map_stop_early_running(void)
{
    enum { N = 200 };
    static int32_t v[N];
    static const void *a[N];
    static size_t ls[N];
    mf_map_opts mo;
    mf_map_iter *it = NULL;
    const void *d;
    size_t l, idx;
    int i;
    NEED_EX();
    for (i = 0; i < N; i++) {
        v[i] = i;
        a[i] = &v[i];
        ls[i] = 4;
    }
    mf_map_opts_init(&mo);
    mo.chunksize = 2;
    mo.timeout = T;
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, a, ls, N, &mo, &it), MF_OK);
    for (i = 0; i < 3; i++) {
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
        CU_ASSERT_EQUAL(idx, (size_t)i);
    }
    mf_map_free(it); /* items pending, some maybe running */
    {
        mf_future e = submit_ok(ID_ECHO, "after", 6);
        expect_result(e, "after", 6);
        mf_future_release(e);
    }
}

static void map_gated_order(int unordered)
{
    mft_gate *g0 = NULL, *mg[MAXW];
    mft_gate_arg ma[MAXW];
    const void *args[MAXW];
    size_t lens[MAXW];
    mf_map_opts mo;
    mf_map_iter *it = NULL;
    int k, m = mft_nw - 1;
    const void *d;
    size_t l, idx;
    if (m < 1) {
        CU_PASS("needs two workers");
        return;
    }
    /* one worker holds g0 (the progress driver), m workers the map items */
    ASSERT_RC(mft_gate_submit(&g0), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g0);
    CU_ASSERT_FATAL(mft_gates_started(&g0, 1, NULL, 0));
    for (k = 0; k < m; k++) {
        mg[k] = mft_gate_new(&ma[k]);
        args[k] = &ma[k];
        lens[k] = sizeof ma[k];
    }
    mf_map_opts_init(&mo);
    mo.unordered = unordered;
    mo.timeout = T;
    ASSERT_RC(mf_map(mft_ex, ID_GATE, args, lens, (size_t)m, &mo, &it),
              MF_OK);
    CU_ASSERT_FATAL(mft_gates_started(mg, (size_t)m, &g0->f, 1));
    for (k = m - 1; k >= 0; k--) {
        mft_gate_release(mg[k], MFT_GATE_OK);
        if (unordered) {
            /* only item k can finish now */
            ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
            CU_ASSERT_EQUAL(idx, (size_t)k);
            if (d && l == sizeof(mft_gate_res)) {
                mft_gate_res r;
                memcpy(&r, d, sizeof r);
                CU_ASSERT_EQUAL(r.id, mg[k]->id);
            }
        }
    }
    if (!unordered) {
        for (k = 0; k < m; k++) {
            ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
            CU_ASSERT_EQUAL(idx, (size_t)k);
        }
    }
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
    mft_gate_release(g0, MFT_GATE_OK);
    ASSERT_RC(mf_future_result(g0->f, T, NULL, NULL), MF_OK);
}

static void t_map_unordered_completion_order(void)
{
    NEED_EX();
    map_gated_order(1);
}

static void t_map_ordered_reverse_completion(void)
{
    NEED_EX();
    map_gated_order(0);
}

static void t_map_gated_marks(void)
{
    mft_expect_marks = 0;
}

static const mft_test tests_map_gated[] = {
    {"map_timeout_cancels_unstarted_and_finishes", t_map_timeout},
    {"map_free_with_pending_items", t_map_free_pending},
    {"map_consumer_stops_early", t_map_stop_early_running},
    {"unordered_yields_in_completion_order",
     t_map_unordered_completion_order},
    {"ordered_with_reverse_completion", t_map_ordered_reverse_completion},
    {"cancelled_items_never_ran", t_map_gated_marks},
    {NULL, NULL}};

/* =================================================================== */
/* Scenario: stats_and_trace (window 1; stats, progress lines, trace)   */
/* =================================================================== */

static char g_trace_path[256];

static void opts_stats(mf_executor_opts *o)
{
    o->window = 1;
    o->stats = 1;
    o->progress = 1;
    o->progress_interval = 1;
    if (mft_rank == mft_root) {
        snprintf(g_trace_path, sizeof g_trace_path,
                 "/tmp/mf_mpi_suite_trace_%ld_%s.json", (long)getpid(),
                 mft_label);
        remove(g_trace_path);
        o->trace_path = g_trace_path;
    }
}

static void sum_stats(const mf_worker_stats *w, size_t n, uint64_t *tasks,
                      uint64_t *fails, uint64_t *bin, uint64_t *bout)
{
    size_t i;
    *tasks = *fails = *bin = *bout = 0;
    for (i = 0; i < n; i++) {
        *tasks += w[i].tasks;
        *fails += w[i].failures;
        *bin += w[i].bytes_in;
        *bout += w[i].bytes_out;
    }
}

static void t_stats(void)
{
    enum { K = 40, F = 6, M = 10 };
    static unsigned char buf[K];
    mf_worker_stats w[MAXW + 1], one;
    mf_future f[K + F];
    size_t nwk = 0, i;
    uint64_t tasks, fails, bin, bout, want_bytes = 0;
    mf_map_iter *it = NULL;
    const void *d;
    size_t l, idx;
    int32_t c = 9;
    NEED_EX();
    CU_ASSERT_FATAL(mft_nw <= MAXW);
    ASSERT_RC(mf_executor_stats(mft_ex, w, MAXW + 1, &nwk), MF_OK);
    CU_ASSERT_EQUAL(nwk, (size_t)mft_nw);
    sum_stats(w, nwk, &tasks, &fails, &bin, &bout);
    CU_ASSERT(tasks == 0 && fails == 0 && bin == 0 && bout == 0);
    /* phase 1: echo of i bytes, i = 0..K-1 */
    memset(buf, 7, sizeof buf);
    for (i = 0; i < K; i++) {
        f[i] = submit_ok(ID_ECHO, buf, i);
        want_bytes += i;
    }
    ASSERT_RC(mf_wait(f, K, T, MF_ALL_COMPLETED, NULL, NULL), MF_OK);
    ASSERT_RC(mf_executor_stats(mft_ex, w, MAXW + 1, &nwk), MF_OK);
    sum_stats(w, nwk, &tasks, &fails, &bin, &bout);
    CU_ASSERT_EQUAL(tasks, K);
    CU_ASSERT_EQUAL(fails, 0);
    CU_ASSERT_EQUAL(bin, want_bytes);
    CU_ASSERT_EQUAL(bout, want_bytes);
    for (i = 0; i < nwk; i++) {
        int r = w[i].rank;
        CU_ASSERT(r >= 0 && r < mft_size && r != mft_root);
        if (i > 0)
            CU_ASSERT(w[i].rank > w[i - 1].rank); /* rank order */
        CU_ASSERT(w[i].host && w[i].host[0]);
        CU_ASSERT(w[i].busy_seconds >= 0);
        CU_ASSERT(w[i].busy_share >= 0 && w[i].busy_share <= 1.0);
        CU_ASSERT(w[i].max_task_seconds >= 0);
        if (w[i].tasks) {
            CU_ASSERT(w[i].max_task_seconds + 1e-9 >= w[i].mean_task_seconds);
        } else {
            CU_ASSERT(w[i].mean_task_seconds == 0);
        }
    }
    /* phase 2: failures and a chunked map (items count as tasks) */
    for (i = K; i < K + F; i++)
        f[i] = submit_ok(ID_FAIL, &c, sizeof c);
    ASSERT_RC(mf_wait(f + K, F, T, MF_ALL_COMPLETED, NULL, NULL), MF_OK);
    map_args_init();
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, g_map_args, g_map_lens, M,
                     bounded(0, 4), &it),
              MF_OK);
    for (i = 0; i < M && it; i++)
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
    mf_map_free(it);
    ASSERT_RC(mf_executor_stats(mft_ex, w, MAXW + 1, &nwk), MF_OK);
    sum_stats(w, nwk, &tasks, &fails, &bin, &bout);
    CU_ASSERT_EQUAL(tasks, K + F + M);
    CU_ASSERT_EQUAL(fails, F);
    CU_ASSERT(bin >= want_bytes + F * 4 + M * 4);
    /* fewer slots than workers; count only; errors */
    nwk = 0;
    ASSERT_RC(mf_executor_stats(mft_ex, &one, 1, &nwk), MF_OK);
    CU_ASSERT_EQUAL(nwk, (size_t)mft_nw);
    CU_ASSERT_EQUAL(one.rank, w[0].rank);
    nwk = 0;
    ASSERT_RC(mf_executor_stats(mft_ex, NULL, 0, &nwk), MF_OK);
    CU_ASSERT_EQUAL(nwk, (size_t)mft_nw);
    ASSERT_RC(mf_executor_stats(mft_ex, w, 1, NULL), MF_OK);
    ASSERT_RC(mf_executor_stats(NULL, w, 1, &nwk), MF_EINVAL);
    ASSERT_RC(mf_executor_stats(mft_ex, NULL, 1, &nwk), MF_EINVAL);
    for (i = 0; i < K + F; i++)
        mf_future_release(f[i]);
}

/* The trace file exists after close and looks like trace-event JSON. */
static void pc_trace(void)
{
    FILE *fp;
    char *text;
    long n;
    if (mft_rank != mft_root)
        return;
    fp = fopen(g_trace_path, "rb");
    CU_ASSERT_PTR_NOT_NULL(fp);
    if (!fp)
        return;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    CU_ASSERT(n > 0);
    text = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    if (text && n > 0 && fread(text, 1, (size_t)n, fp) == (size_t)n) {
        CU_ASSERT(text[0] == '{' || text[0] == '[');
        CU_ASSERT(mft_contains(text, "\"ph\""));
        CU_ASSERT(mft_contains(text, "\"ts\""));
    }
    free(text);
    fclose(fp);
    remove(g_trace_path);
}

static const mft_test tests_stats[] = {
    {"executor_stats_counts_bytes_rank_order", t_stats}, {NULL, NULL}};

/* =================================================================== */
/* Scenarios: shutdown                                                  */
/* =================================================================== */

static void t_shutdown_nowait(void)
{
    mft_gate *gs[MAXW];
    mf_future q1, q2, f = {0};
    mf_map_iter *it = NULL, *it2 = NULL;
    const void *d;
    size_t l, idx;
    double t0;
    NEED_EX();
    map_args_init();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    q1 = submit_ok(ID_MARK, NULL, 0);
    q2 = submit_ok(ID_MARK, NULL, 0);
    ASSERT_RC(mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 2,
                     bounded(0, 1), &it),
              MF_OK);
    /* returns at once although nothing can finish (the gates hold) */
    t0 = mft_now();
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 0), MF_OK);
    CU_ASSERT(mft_now() - t0 < 20.0);
    ASSERT_RC(mf_submit(mft_ex, ID_ECHO, "x", 1, &f), MF_ESHUTDOWN);
    CU_ASSERT_EQUAL(f.h, 0);
    ASSERT_RC(mf_map(mft_ex, ID_ECHO, g_map_args, g_map_lens, 1, NULL, &it2),
              MF_ESHUTDOWN);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 0), MF_OK); /* idempotent */
    CU_ASSERT_EQUAL(mf_future_cancelled(q1), 0);
    CU_ASSERT_EQUAL(mf_future_done(q1), 0);
    /* results still arrive */
    release_all(gs, mft_nw);
    ASSERT_RC(mf_future_result(q1, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_future_result(q2, T, NULL, NULL), MF_OK);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 1), MF_OK);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 0), MF_OK);
    mf_future_release(q1);
    mf_future_release(q2);
    mft_expect_marks = 4;
}

static void t_shutdown_cancel_futures(void)
{
    mft_gate *gs[MAXW];
    mf_future q[3];
    cb_log log;
    cb_rec r[3] = {{&log, 1}, {&log, 2}, {&log, 3}};
    mf_map_iter *it = NULL, *itc = NULL;
    const void *d;
    size_t l, idx;
    int i;
    NEED_EX();
    memset(&log, 0, sizeof log);
    map_args_init();
    CU_ASSERT_FATAL(mft_occupy_all(gs));
    for (i = 0; i < 3; i++) {
        q[i] = submit_ok(ID_MARK, NULL, 0);
        ASSERT_RC(mf_future_on_done(q[i], cb_append, &r[i]), MF_OK);
    }
    ASSERT_RC(mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 2,
                     bounded(0, 1), &it),
              MF_OK);
    {
        /* chunks of 3: every item of a cancelled chunk is reported */
        mf_map_opts mo;
        mf_map_opts_init(&mo);
        mo.chunksize = 3;
        mo.timeout = T;
        ASSERT_RC(
            mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 5, &mo, &itc),
            MF_OK);
    }
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 0), MF_OK);
    CU_ASSERT_EQUAL(mf_future_cancelled(q[0]), 0);
    /* a later call adds cancel_futures: only the queued ones go */
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 1), MF_OK);
    for (i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(mf_future_cancelled(q[i]), 1);
        CU_ASSERT_EQUAL(mf_future_done(q[i]), 1);
        ASSERT_RC(mf_future_result(q[i], 0, NULL, NULL), MF_ECANCELLED);
    }
    CU_ASSERT_EQUAL(atomic_load(&log.n), 3);
    for (i = 0; i < mft_nw; i++) {
        CU_ASSERT_EQUAL(mf_future_cancelled(gs[i]->f), 0);
        CU_ASSERT_EQUAL(mf_future_running(gs[i]->f), 1);
    }
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_ECANCELLED);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_ECANCELLED);
    ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
    for (i = 0; i < 5 && itc; i++)
        ASSERT_RC(mf_map_next(itc, &d, &l, &idx), MF_ECANCELLED);
    if (itc)
        ASSERT_RC(mf_map_next(itc, &d, &l, &idx), MF_EDONE);
    mf_map_free(itc);
    /* running ones finish with results */
    release_all(gs, mft_nw);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 1), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&log.n), 3);
    for (i = 0; i < 3; i++)
        mf_future_release(q[i]);
    mft_expect_marks = 0;
}

static void t_shutdown_wait(void)
{
    enum { N = 20 };
    mf_future f[N], x = {0};
    int32_t i;
    NEED_EX();
    for (i = 0; i < N; i++)
        f[i] = submit_ok(ID_ECHO, &i, sizeof i);
    {
        /* max_arg_bytes 0 means the default (1 GiB): 8 MiB is fine */
        size_t n = (size_t)8 << 20;
        unsigned char *b = calloc(1, n);
        mf_future g = {0};
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        ASSERT_RC(mf_submit(mft_ex, ID_SUM, b, n, &g), MF_OK);
        free(b);
        if (g.h) {
            ASSERT_RC(mf_future_result(g, T, NULL, NULL), MF_OK);
            mf_future_release(g);
        }
    }
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 0), MF_OK);
    for (i = 0; i < N; i++)
        CU_ASSERT_EQUAL(mf_future_done(f[i]), 1); /* waited for */
    for (i = 0; i < N; i++) {
        expect_result(f[i], &i, sizeof i);
        mf_future_release(f[i]);
    }
    ASSERT_RC(mf_submit(mft_ex, ID_ECHO, "x", 1, &x), MF_ESHUTDOWN);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 1), MF_OK);
}

typedef struct sub_ctx {
    atomic_int ran;
    int rc;
    mf_future f;
} sub_ctx;

static void cb_submit_late(mf_future f, void *ud)
{
    sub_ctx *c = ud;
    (void)f;
    c->rc = mf_submit(mft_ex, ID_ECHO, "late", 5, &c->f);
    atomic_store(&c->ran, 1);
}

/* A callback that runs after shutdown (during shutdown(wait)) cannot
 * submit any more. */
static void t_callback_submit_after_shutdown(void)
{
    mft_gate *g = NULL;
    sub_ctx c;
    NEED_EX();
    memset(&c, 0, sizeof c);
    c.rc = -1;
    ASSERT_RC(mft_gate_submit(&g), MF_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_FATAL(mft_gates_started(&g, 1, NULL, 0));
    ASSERT_RC(mf_future_on_done(g->f, cb_submit_late, &c), MF_OK);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 0, 0), MF_OK);
    mft_gate_release(g, MFT_GATE_OK);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 0), MF_OK);
    CU_ASSERT_EQUAL(atomic_load(&c.ran), 1);
    CU_ASSERT_EQUAL(c.rc, MF_ESHUTDOWN);
    if (c.rc == MF_OK)
        mf_future_release(c.f);
}

static const mft_test tests_shutdown_cb[] = {
    {"callback_submit_after_shutdown_ESHUTDOWN",
     t_callback_submit_after_shutdown},
    {NULL, NULL}};

/* Fire and forget: 20000 futures released at once, then shutdown(wait). */
static void t_fire_and_forget(void)
{
    enum { N = 20000 };
    int32_t i;
    int bad = 0;
    mf_future last;
    NEED_EX();
    for (i = 0; i < N; i++) {
        mf_future f = {0};
        if (mf_submit(mft_ex, ID_ECHO, &i, sizeof i, &f) != MF_OK ||
            mf_future_release(f) != MF_OK)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    last = submit_ok(ID_ECHO, "last", 5);
    expect_result(last, "last", 5);
    mf_future_release(last);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 0), MF_OK);
}

static const mft_test tests_fire_and_forget[] = {
    {"release_20000_futures_unwaited_then_shutdown", t_fire_and_forget},
    {NULL, NULL}};

static const mft_test tests_shutdown_nowait[] = {
    {"shutdown_nowait_results_still_arrive", t_shutdown_nowait},
    {NULL, NULL}};
static const mft_test tests_shutdown_cancel[] = {
    {"shutdown_cancel_futures_only_queued", t_shutdown_cancel_futures},
    {NULL, NULL}};
/* Items of a map run although nobody iterates (as Python's map submits
 * at once); shutdown(wait) waits for them. */
static void t_map_runs_without_iteration(void)
{
    mf_map_iter *it = NULL;
    const void *d;
    size_t l, idx;
    int k;
    NEED_EX();
    map_args_init();
    ASSERT_RC(mf_map(mft_ex, ID_MARK, g_map_args, g_map_lens, 5, NULL, &it),
              MF_OK);
    ASSERT_RC(mf_executor_shutdown(mft_ex, 1, 0), MF_OK);
    for (k = 0; k < 5 && it; k++) {
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_OK);
        CU_ASSERT_EQUAL(idx, (size_t)k);
    }
    if (it)
        ASSERT_RC(mf_map_next(it, &d, &l, &idx), MF_EDONE);
    mf_map_free(it);
    mft_expect_marks = 5;
}

static const mft_test tests_map_no_iter[] = {
    {"map_items_run_without_iteration", t_map_runs_without_iteration},
    {NULL, NULL}};

static const mft_test tests_shutdown_wait[] = {
    {"shutdown_wait_then_submit_ESHUTDOWN", t_shutdown_wait}, {NULL, NULL}};

/* close keeps futures valid */
enum { KEEPN = 6 };
static mf_future g_keep[KEEPN];

static void t_close_keeps_submit(void)
{
    int32_t i;
    NEED_EX();
    for (i = 0; i < KEEPN; i++)
        g_keep[i] = submit_ok(ID_ECHO, &i, sizeof i);
}

static void pc_close_keeps(void)
{
    int32_t i;
    if (mft_rank != mft_root)
        return;
    {
        /* waiting works on futures of a closed executor */
        unsigned char fl[KEEPN];
        size_t nd = 0;
        mf_as_completed_iter *it = NULL;
        mf_future x;
        int n = 0;
        ASSERT_RC(mf_wait(g_keep, KEEPN, 0, MF_ALL_COMPLETED, fl, &nd),
                  MF_OK);
        CU_ASSERT_EQUAL(nd, KEEPN);
        ASSERT_RC(mf_as_completed(g_keep, KEEPN, 0, &it), MF_OK);
        while (it && mf_as_completed_next(it, &x) == MF_OK)
            n++;
        CU_ASSERT_EQUAL(n, KEEPN);
        mf_as_completed_free(it);
        ASSERT_RC(mf_future_cancel(g_keep[0]), MF_ESTATE);
    }
    for (i = 0; i < KEEPN; i++) {
        const void *d = NULL;
        size_t l = 0;
        if (!g_keep[i].h)
            continue;
        CU_ASSERT_EQUAL(mf_future_done(g_keep[i]), 1);
        ASSERT_RC(mf_future_result(g_keep[i], 0, &d, &l), MF_OK);
        CU_ASSERT(l == 4 && d && memcmp(d, &i, 4) == 0);
        ASSERT_RC(mf_future_release(g_keep[i]), MF_OK);
        g_keep[i].h = 0;
    }
}

static const mft_test tests_close_keeps[] = {
    {"submit_then_close_without_waiting", t_close_keeps_submit},
    {NULL, NULL}};

/* =================================================================== */
/* Scenario: user_traffic                                               */
/* =================================================================== */

static const int g_tags[] = {0,  1,  2,  3,  4,   5,    7,    8,
                             15, 16, 31, 42, 100, 1000, 32767};
#define NTAGS ((int)(sizeof g_tags / sizeof g_tags[0]))
static int g_out[MAXW * NTAGS][2];
static MPI_Request g_out_req[MAXW * NTAGS];
static int g_nout;
static int g_task_msgs[MAXW + 1]; /* per source rank, root only */

static void pre_traffic(void)
{
    int r, t;
    g_nout = 0;
    memset(g_task_msgs, 0, sizeof g_task_msgs);
    for (r = 0; r < mft_size; r++) {
        if (r == mft_rank)
            continue;
        if (mft_rank != mft_root && r != mft_root)
            continue;
        for (t = 0; t < NTAGS; t++) {
            g_out[g_nout][0] = mft_rank;
            g_out[g_nout][1] = g_tags[t] + 500;
            MPI_Isend(g_out[g_nout], 2, MPI_INT, r, g_tags[t], mft_comm,
                      &g_out_req[g_nout]);
            g_nout++;
        }
    }
}

/* Wait for requests with a bound; cancel what did not complete. */
static int wait_bounded(MPI_Request *req, int n)
{
    /* a real status array: gcc 12 warns about MPI_STATUSES_IGNORE with
     * MPICH's access attributes (-Wstringop-overflow) */
    static MPI_Status st[(MAXW + 1) * (NTAGS + 256)];
    double dl = mft_now() + T;
    int flag = 0, i;
    while (!flag && mft_now() < dl)
        MPI_Testall(n, req, &flag, st);
    if (!flag) {
        for (i = 0; i < n; i++)
            if (req[i] != MPI_REQUEST_NULL) {
                MPI_Cancel(&req[i]);
                MPI_Request_free(&req[i]);
            }
    }
    return flag;
}

static void post_traffic(void)
{
    static int in[(MAXW + 1) * (NTAGS + 256)][2];
    static MPI_Request req[(MAXW + 1) * (NTAGS + 256)];
    int n = 0, r, t, k, ok;
    for (r = 0; r < mft_size; r++) {
        if (r == mft_rank)
            continue;
        if (mft_rank != mft_root && r != mft_root)
            continue;
        for (t = 0; t < NTAGS; t++) {
            MPI_Irecv(in[n], 2, MPI_INT, r, g_tags[t], mft_comm, &req[n]);
            n++;
        }
        if (mft_rank == mft_root)
            for (k = 0; k < g_task_msgs[r] && k < 256; k++) {
                in[n][0] = in[n][1] = -1;
                MPI_Irecv(in[n], 2, MPI_INT, r, MFT_TAG_USERSEND, mft_comm,
                          &req[n]);
                n++;
            }
    }
    ok = wait_bounded(req, n);
    MFT_CHECK(ok);
    if (ok) {
        n = 0;
        for (r = 0; r < mft_size; r++) {
            if (r == mft_rank)
                continue;
            if (mft_rank != mft_root && r != mft_root)
                continue;
            for (t = 0; t < NTAGS; t++, n++) {
                MFT_CHECK_EQ(in[n][0], r);
                MFT_CHECK_EQ(in[n][1], g_tags[t] + 500);
            }
            if (mft_rank == mft_root)
                for (k = 0; k < g_task_msgs[r] && k < 256; k++, n++) {
                    MFT_CHECK_EQ(in[n][0], r);
                    MFT_CHECK(in[n][1] >= 1000);
                }
        }
    }
    MFT_CHECK(wait_bounded(g_out_req, g_nout));
    /* nothing else is left over on the user communicator */
    {
        int flag = 1;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, mft_comm, &flag, &st);
        MFT_CHECK(!flag);
    }
}

static void t_traffic_tasks(void)
{
    enum { N = 24 };
    mf_future f[N];
    int32_t i;
    NEED_EX();
    for (i = 0; i < N; i++)
        f[i] = submit_ok(ID_USERSEND, &i, sizeof i);
    for (i = 0; i < N; i++) {
        const void *d = NULL;
        size_t l = 0;
        if (ASSERT_RC(mf_future_result(f[i], T, &d, &l), MF_OK) && l == 4 &&
            d) {
            int32_t r;
            memcpy(&r, d, 4);
            if (r >= 0 && r < mft_size && r <= MAXW)
                g_task_msgs[r]++;
        }
        mf_future_release(f[i]);
    }
    /* and a map, for good measure */
    map_check(1, 2, ID_ECHO, -1);
}

static const mft_test tests_traffic[] = {
    {"tasks_send_on_user_comm_during_executor_life", t_traffic_tasks},
    {NULL, NULL}};

/* =================================================================== */
/* Scenarios: registry mismatch                                         */
/* =================================================================== */

static void setup_mismatch_root_only(void)
{
    if (mft_rank != victim_rank())
        mf_register("only_on_root", t_dummy, NULL, NULL);
}

static void setup_mismatch_worker_only(void)
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

static void ao_mismatch_root_only(void)
{
    check_mismatch_msg("only_on_root");
}
static void ao_mismatch_worker_only(void)
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

static const mft_test tests_after_mismatch[] = {
    {"executor_after_mismatch_works", t_after_mismatch_works}, {NULL, NULL}};

/* =================================================================== */
/* The list                                                             */
/* =================================================================== */

static const mft_scenario g_scenarios[] = {
    {"api_local", NULL, NULL, MF_OK, NULL, NULL, NULL, ar_api_local, NULL},
    {"reopen_moving_root", NULL, NULL, MF_OK, NULL, NULL, NULL, ar_reopen,
     NULL},
    {"futures_basic", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL, tests_basic},
    {"task_errors", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL, tests_errors},
    {"cancel", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_cancel},
    {"cancel_env_MF_WINDOW_1", setup_env_window1, NULL, MF_OK, NULL, NULL,
     post_env_window1, NULL, tests_cancel},
    {"progress_thread", NULL, opts_progress, MF_OK, NULL, NULL, NULL, NULL,
     tests_progress_thread},
    {"callbacks", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_callbacks},
    {"callbacks_more", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_callbacks_more},
    {"threads", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL, tests_threads},
    {"wait", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL, tests_wait},
    {"as_completed", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_as_completed},
    {"map", NULL, opts_map, MF_OK, NULL, NULL, NULL, NULL, tests_map},
    {"map_gated", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_map_gated},
    {"shutdown_nowait", NULL, opts_window1, MF_OK, NULL, NULL, NULL, NULL,
     tests_shutdown_nowait},
    {"shutdown_cancel_futures", NULL, opts_window1, MF_OK, NULL, NULL, NULL,
     NULL, tests_shutdown_cancel},
    {"shutdown_wait_zero_opts", NULL, opts_zero, MF_OK, NULL, NULL, NULL,
     NULL, tests_shutdown_wait},
    {"map_without_iteration", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL,
     tests_map_no_iter},
    {"shutdown_then_callback_submits", NULL, NULL, MF_OK, NULL, NULL, NULL,
     NULL, tests_shutdown_cb},
    {"fire_and_forget", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL,
     tests_fire_and_forget},
    {"stats_progress_trace", NULL, opts_stats, MF_OK, NULL, NULL, pc_trace,
     NULL, tests_stats},
    {"close_keeps_futures", NULL, NULL, MF_OK, NULL, NULL, pc_close_keeps,
     NULL, tests_close_keeps},
    {"user_traffic", NULL, NULL, MF_OK, NULL, pre_traffic, post_traffic, NULL,
     tests_traffic},
    {"mismatch_root_only", setup_mismatch_root_only, NULL, MF_EMISMATCH,
     ao_mismatch_root_only, NULL, NULL, NULL, NULL},
    {"mismatch_worker_only", setup_mismatch_worker_only, NULL, MF_EMISMATCH,
     ao_mismatch_worker_only, NULL, NULL, NULL, NULL},
    {"after_mismatch", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL,
     tests_after_mismatch},
    {"big_results", NULL, NULL, MF_OK, NULL, NULL, NULL, NULL, tests_big},
};

/* =================================================================== */
/* main                                                                 */
/* =================================================================== */

static int level_of(const char *s)
{
    if (strcmp(s, "single") == 0)
        return MPI_THREAD_SINGLE;
    if (strcmp(s, "funneled") == 0)
        return MPI_THREAD_FUNNELED;
    if (strcmp(s, "serialized") == 0)
        return MPI_THREAD_SERIALIZED;
    if (strcmp(s, "multiple") == 0)
        return MPI_THREAD_MULTIPLE;
    return -1;
}

int main(int argc, char **argv)
{
    const char *threads = "multiple", *layout = "world";
    int i, provided = -1, wrank, wsize, fails = 0, all = 0;
    size_t n = sizeof g_scenarios / sizeof g_scenarios[0];
    const mft_scenario *scns = g_scenarios;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--progress-thread") == 0) {
            mft_force_progress_thread = 1;
        } else if (strncmp(argv[i], "--threads=", 10) == 0)
            threads = argv[i] + 10;
        else if (strncmp(argv[i], "--layout=", 9) == 0)
            layout = argv[i] + 9;
    }
    if (strcmp(threads, "mfinit") == 0) {
        if (mf_init(&argc, &argv, &provided) != MF_OK) {
            fprintf(stderr, "mf_init failed\n");
            return 2;
        }
        g_used_mf_init = 1;
        {
            int q = -1;
            MPI_Query_thread(&q);
            if (q != provided) {
                fprintf(stderr, "mf_init: provided %d, MPI says %d\n",
                        provided, q);
                return 1;
            }
        }
    } else {
        int want = level_of(threads);
        if (want < 0) {
            fprintf(stderr, "bad --threads=%s\n", threads);
            return 2;
        }
        MPI_Init_thread(&argc, &argv, want, &provided);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &wrank);
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    if (wrank == 0)
        printf("mf_mpi_suite: %d ranks, threads=%s (provided %d), "
               "layout=%s\n",
               wsize, threads, provided, layout);

    if (strcmp(layout, "world") == 0) {
        fails = mft_run(MPI_COMM_WORLD, 0, scns, n, "world");
    } else if (strcmp(layout, "world-last") == 0) {
        fails = mft_run(MPI_COMM_WORLD, wsize - 1, scns, n, "world-rootlast");
    } else if (strcmp(layout, "split") == 0) {
        int h = wsize / 2, upper = wrank >= h, lsize;
        MPI_Comm half;
        MPI_Comm_split(MPI_COMM_WORLD, upper, wrank, &half);
        MPI_Comm_size(half, &lsize);
        if (upper) {
            /* without world rank 0; root is its last (non-zero) rank */
            fails = mft_run(half, lsize - 1, scns, n, "half-B");
        } else if (lsize >= 2) {
            fails = mft_run(half, 0, scns, n, "half-A");
        } else {
            mf_executor *ex = (mf_executor *)&half;
            int rc = mf_executor_open(half, 0, NULL, &ex);
            if (rc != MF_ENOWORKERS || ex != NULL) {
                fprintf(stderr, "half-A: open on 1 rank gave %s\n",
                        mf_errname(rc));
                fails++;
            }
        }
        MPI_Comm_free(&half);
    } else {
        fprintf(stderr, "bad --layout=%s\n", layout);
        fails = 1;
    }

    /* mf_finalize in a program that initialised MPI itself: no-op */
    if (!g_used_mf_init) {
        int fin = 1;
        if (mf_finalize() != MF_OK) {
            fprintf(stderr, "rank %d: mf_finalize failed\n", wrank);
            fails++;
        }
        MPI_Finalized(&fin);
        if (fin) {
            fprintf(stderr, "rank %d: mf_finalize finalised MPI\n", wrank);
            return 1;
        }
    }
    MPI_Allreduce(&fails, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (wrank == 0)
        printf("mf_mpi_suite: %s\n", all ? "FAILED" : "all passed");
    if (g_used_mf_init) {
        /* mf_init() initialised MPI, so mf_finalize() finalises it */
        int fin = 0;
        if (mf_finalize() != MF_OK) {
            fprintf(stderr, "rank %d: mf_finalize failed\n", wrank);
            fails++;
        }
        MPI_Finalized(&fin);
        if (!fin) {
            fprintf(stderr, "rank %d: MPI not finalised by mf_finalize\n",
                    wrank);
            fails++;
            MPI_Finalize();
        }
    } else {
        MPI_Finalize();
    }
    return fails ? 1 : 0;
}
