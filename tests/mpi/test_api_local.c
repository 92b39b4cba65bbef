/*
 * test_api_local.c — scenarios every rank runs in lockstep, without a
 * root-side CUnit test: api_local (the error table, mf_version, mf_init on
 * an initialised MPI, mf_last_error on a fresh thread, registry errors,
 * option defaults, bad opens and bad MF_* environment values on every
 * rank) and reopen_moving_root (2*size executors one after the other, the
 * root moving over every rank).
 *
 * On a local pool (mft_local) the root runs them alone: no mf_init (MPI
 * stays uninitialised), the bad opens are those of
 * mf_executor_open_local() (kind, worker count, NULL ex; the options and
 * environment alike), and the reopened executors keep root 0.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* =================================================================== */
/* Scenario: api_local (every rank, no executor)                        */
/* =================================================================== */

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

/* An open of the run's kind (mft_open) that must fail on every rank. */
static void bad_open_opts(const mf_executor_opts *o, int want)
{
    static int junk;
    mf_executor *ex = (mf_executor *)&junk;
    int rc = mft_open(o, &ex);
    MFT_CHECK_EQ(rc, want);
    MFT_CHECK(ex == NULL);
    if (rc == MF_OK && ex)
        mf_executor_close(ex);
}

/* A local pool's own bad opens. */
static void bad_open_local(int kind, int nworkers, int with_ex)
{
    static int junk;
    mf_executor *ex = (mf_executor *)&junk;
    int rc =
        mf_executor_open_local(kind, nworkers, NULL, with_ex ? &ex : NULL);
    MFT_CHECK_EQ(rc, MF_EINVAL);
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
    bad_open_opts(NULL, MF_EINVAL);
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

void ar_api_local(void)
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

    /* mf_init on an initialised MPI does nothing and reports the level
     * (a local run leaves MPI uninitialised: mf_init would start it). */
    if (!mft_local) {
        MFT_CHECK_EQ(mf_init(NULL, NULL, &prov), MF_OK);
        MFT_CHECK_EQ(prov, mft_thread);
        MFT_CHECK_EQ(mf_init(NULL, NULL, NULL), MF_OK);
    } else {
        (void)prov;
        mft_skip_test("mf_init on an initialised MPI");
    }

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
    if (!mft_local) {
        bad_open(MPI_COMM_NULL, 0, NULL, 1, MF_EINVAL);
        bad_open(mft_comm, -1, NULL, 1, MF_EINVAL);
        bad_open(mft_comm, mft_size, NULL, 1, MF_EINVAL);
        bad_open(mft_comm, mft_root, NULL, 0, MF_EINVAL);
        bad_open(MPI_COMM_SELF, 0, NULL, 1, MF_ENOWORKERS);
        /* an inter-communicator is refused on every rank */
        MPI_Comm half, inter;
        int color = mft_rank % 2;
        MPI_Comm_split(mft_comm, color, mft_rank, &half);
        MPI_Intercomm_create(half, 0, mft_comm, color ? 0 : 1, 77, &inter);
        bad_open(inter, 0, NULL, 1, MF_EINVAL);
        MPI_Comm_free(&inter);
        MPI_Comm_free(&half);
    } else {
        /* the local pool's own: kind, worker count, NULL ex */
        bad_open_local(0, 2, 1);
        bad_open_local(MF_PROCESSES | MF_THREADS, 2, 1);
        bad_open_local(mft_local, -1, 1);
        bad_open_local(mft_local, 4097, 1);
        bad_open_local(mft_local, mft_nw, 0);
    }
    mf_executor_opts_init(&o);
    o.window = 65537; /* at most 65536 */
    bad_open_opts(&o, MF_EINVAL);
    mf_executor_opts_init(&o);
    o.idle_sleep_max_us = 1000001; /* at most 1 s */
    bad_open_opts(&o, MF_EINVAL);
    mf_executor_opts_init(&o);
    o.max_arg_bytes = ((size_t)1 << 30) + 1;
    bad_open_opts(&o, MF_EINVAL);
    MFT_CHECK_EQ(o.progress_thread, 0);
    if (mft_thread < MPI_THREAD_MULTIPLE) {
        /* a progress thread needs MPI_THREAD_MULTIPLE */
        mf_executor_opts_init(&o);
        o.progress_thread = 1;
        bad_open_opts(&o, MF_EINVAL);
    }
    if (mft_local == MF_THREADS) {
        /* a thread cannot be killed: no isolation, no task timeout */
        mf_executor_opts_init(&o);
        o.isolate = 1;
        bad_open_opts(&o, MF_EINVAL);
        mf_executor_opts_init(&o);
        o.task_timeout = 1.0;
        bad_open_opts(&o, MF_EINVAL);
        /* the same from the environment (valid values elsewhere) */
        setenv("MF_ISOLATE", "1", 1);
        bad_open_opts(NULL, MF_EINVAL);
        unsetenv("MF_ISOLATE");
        setenv("MF_TASK_TIMEOUT", "2.5", 1);
        bad_open_opts(NULL, MF_EINVAL);
        unsetenv("MF_TASK_TIMEOUT");
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
 * executor knows. A local pool keeps its root (a process pool forks its
 * workers at each open: they know what was registered before it). */
void ar_reopen(void)
{
    int i;
    for (i = 0; i < 2 * mft_size; i++) {
        int root = mft_local ? mft_root : i % mft_size, rc;
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
        rc = mft_local ? mft_open(&o, &ex)
                       : mf_executor_open(mft_comm, root, &o, &ex);
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
