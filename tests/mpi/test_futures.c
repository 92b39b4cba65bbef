/*
 * test_futures.c — futures and payloads: futures_basic (task-side misuse,
 * echo by copy and zero-copy, in-place results, Open MPI's yield switch,
 * result out-parameters and states, retain/release and stale handles,
 * NULL handles and MF_EINVAL, MF_ENOENT, 0-byte and replaced results,
 * many small tasks, large arguments, results and map items) and
 * big_results (64 MiB results by copy and zero-copy), the list's last
 * scenario.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * items. The root's buffer is untouched. A thread pool refuses isolation
 * (MF_EINVAL, nothing submitted). */
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
        mf_future f1 = submit_ok(ID_INPLACE, n ? buf : NULL, n), f2 = {0};
        ASSERT_RC(
            mf_submit_ex(mft_ex, ID_INPLACE, n ? buf : NULL, n, &iso, &f2),
            mft_local == MF_THREADS ? MF_EINVAL : MF_OK);
        expect_result(f1, want, m);
        if (mft_local != MF_THREADS)
            expect_result(f2, want, m);
        else
            CU_ASSERT_EQUAL(f2.h, 0);
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
    int orig;
    NEED_EX();
    if (mft_local) {
        mft_skip_test("Open MPI's yield switch: no MPI in a local run");
        return;
    }
    orig = mft_mpi_yield(-1);
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
        /* (With a progress thread the switch is process-wide and that
         * thread turns it off while it polls: no fixed value to read.) */
        if (!mft_force_progress_thread)
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

const mft_test tests_basic[] = {
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

const mft_test tests_big[] = {
    {"result_64MiB_zero_copy_pattern", t_big_zero_copy},
    {"result_64MiB_copy_pattern", t_big_copy},
    {NULL, NULL}};
