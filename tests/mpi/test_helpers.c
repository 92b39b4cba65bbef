/*
 * test_helpers.c — the helpers for the common shapes (issue 15): strings
 * in and out of tasks, fixed-size results read with a size check, results
 * built in place, mapping over a C array, as_completed by position with
 * the iterator letting go of what it gave, the first failed future, and
 * the mf_run() frame (an all-ranks scenario: it opens its own executor).
 */
#define _POSIX_C_SOURCE 200809L
#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void t_strings(void)
{
    mf_future f, g;
    uint64_t n = 0;
    ASSERT_RC(mf_submit_str(mft_ex, ID_STRLEN, "hello, world", &f), MF_OK);
    ASSERT_RC(mf_future_result_into(f, T, &n, sizeof n), MF_OK);
    CU_ASSERT_EQUAL(n, 12);
    mf_future_release(f);
    ASSERT_RC(mf_submit_str(mft_ex, ID_STRLEN, "", &f), MF_OK);
    ASSERT_RC(mf_future_result_into(f, T, &n, sizeof n), MF_OK);
    CU_ASSERT_EQUAL(n, 0);
    mf_future_release(f);
    /* Bytes without their NUL: refused inside the task, no overread. */
    ASSERT_RC(mf_submit(mft_ex, ID_STRLEN, "abc", 3, &g), MF_OK);
    ASSERT_RC(mf_future_result(g, T, NULL, NULL), MF_ETASK);
    const mf_task_error *e = NULL;
    ASSERT_RC(mf_future_error(g, 0, &e), MF_OK);
    CU_ASSERT(e && strstr(e->message, "does not end with a NUL"));
    mf_future_release(g);
    CU_ASSERT_EQUAL(mf_submit_str(mft_ex, ID_STRLEN, NULL, &f), MF_EINVAL);
}

static void t_result_into(void)
{
    double x = 2.5, y = 0;
    uint32_t small = 7;
    unsigned char big[16];
    mf_future f;
    f = submit_ok(ID_ECHO, &x, sizeof x);
    ASSERT_RC(mf_future_result_into(f, T, &y, sizeof y), MF_OK);
    CU_ASSERT_EQUAL(y, 2.5);
    mf_future_release(f);
    /* A 4-byte result read as 16 bytes, or as 2: MF_ESIZE, untouched. */
    f = submit_ok(ID_ECHO, &small, sizeof small);
    memset(big, 0xAB, sizeof big);
    ASSERT_RC(mf_future_result_into(f, T, big, sizeof big), MF_ESIZE);
    CU_ASSERT(strstr(mf_last_error(), "4 bytes") != NULL);
    CU_ASSERT_EQUAL(big[0], 0xAB);
    CU_ASSERT_EQUAL(big[15], 0xAB);
    ASSERT_RC(mf_future_result_into(f, T, big, 2), MF_ESIZE);
    CU_ASSERT_EQUAL(big[0], 0xAB);
    mf_future_release(f);
}

static void t_build_in_place(void)
{
    /* 300 numbers and 5000 'x': grown many times past the first 256. */
    uint32_t k = 5000;
    mf_future f = submit_ok(ID_BUILD, &k, sizeof k);
    const void *d = NULL;
    size_t len = 0;
    ASSERT_RC(mf_future_result(f, T, &d, &len), MF_OK);
    char *want = malloc(64 * (size_t)k);
    size_t o = 0;
    for (uint32_t i = 0; i < k; i++)
        o += (size_t)sprintf(want + o, "%u%s", i, i + 1 < k ? "," : ";");
    memset(want + o, 'x', k);
    o += k;
    CU_ASSERT_EQUAL(len, o);
    CU_ASSERT(len == o && memcmp(d, want, o) == 0);
    free(want);
    mf_future_release(f);
    k = 0; /* nothing appended: an empty result */
    f = submit_ok(ID_BUILD, &k, sizeof k);
    ASSERT_RC(mf_future_result(f, T, &d, &len), MF_OK);
    CU_ASSERT_EQUAL(len, 0);
    mf_future_release(f);
}

static void t_map_array(void)
{
    int32_t v[100];
    mf_map_iter *it = NULL;
    const void *d;
    size_t len, i = 0;
    for (int k = 0; k < 100; k++)
        v[k] = k * 7 - 3;
    ASSERT_RC(mf_map_array(mft_ex, ID_ECHO, v, 100, sizeof v[0],
                           bounded(0, 7), &it),
              MF_OK);
    while (it && mf_map_next(it, &d, &len, NULL) == MF_OK) {
        int32_t got;
        CU_ASSERT_EQUAL_FATAL(len, sizeof got);
        memcpy(&got, d, sizeof got);
        CU_ASSERT_EQUAL(got, v[i]);
        i++;
    }
    CU_ASSERT_EQUAL(i, 100);
    mf_map_free(it);
    CU_ASSERT_EQUAL(mf_map_array(mft_ex, ID_ECHO, NULL, 3, 4, NULL, &it),
                    MF_EINVAL);
    CU_ASSERT_EQUAL(mf_map_array(mft_ex, ID_ECHO, v, 3, 0, NULL, &it),
                    MF_EINVAL);
    it = NULL;
    ASSERT_RC(mf_map_array(mft_ex, ID_ECHO, NULL, 0, 0, NULL, &it), MF_OK);
    mf_map_free(it);
    /* A failing item, single or inside a chunk, names rank and host. */
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    for (size_t cs = 1; cs <= 3; cs += 2) {
        it = NULL;
        ASSERT_RC(mf_map_array(mft_ex, ID_FAIL, v, 3, sizeof v[0],
                               bounded(0, cs), &it),
                  MF_OK);
        CU_ASSERT_EQUAL(mf_map_next(it, &d, &len, NULL), MF_ETASK);
        CU_ASSERT(strstr(mf_last_error(), "failed on rank") != NULL);
        CU_ASSERT(strstr(mf_last_error(), host) != NULL);
        mf_map_free(it);
    }
}

static void t_as_completed_index(void)
{
    enum { N = 6 };
    mf_future fs[N + 1];
    int32_t vals[N];
    unsigned char seen[N] = {0};
    mf_as_completed_iter *it = NULL;
    size_t idx;
    int n = 0;
    for (int k = 0; k < N; k++) {
        vals[k] = 100 + k;
        fs[k] = submit_ok(ID_ECHO, &vals[k], sizeof vals[k]);
    }
    fs[N] = fs[2]; /* a duplicate: given once, at its first position */
    ASSERT_RC(mf_as_completed(fs, N + 1, T, &it), MF_OK);
    while (mf_as_completed_next_index(it, &idx) == MF_OK) {
        int32_t got = 0;
        CU_ASSERT_FATAL(idx < N);
        CU_ASSERT_EQUAL(seen[idx], 0);
        seen[idx] = 1;
        ASSERT_RC(mf_future_result_into(fs[idx], 0, &got, sizeof got), MF_OK);
        CU_ASSERT_EQUAL(got, vals[idx]);
        /* The iterator let go: the caller's release frees it now. */
        ASSERT_RC(mf_future_release(fs[idx]), MF_OK);
        CU_ASSERT_EQUAL(mf_future_retain(fs[idx]), MF_EBADHANDLE);
        n++;
    }
    CU_ASSERT_EQUAL(n, N);
    mf_as_completed_free(it);
}

static void t_first_failed(void)
{
    mf_future fs[3];
    size_t idx = 99;
    fs[0] = submit_ok(ID_EMPTY, NULL, 0);
    fs[1] = submit_ok(ID_FAIL, "boom", 5);
    fs[2] = submit_ok(ID_EMPTY, NULL, 0);
    ASSERT_RC(mf_wait(fs, 3, T, MF_ALL_COMPLETED, NULL, NULL), MF_OK);
    ASSERT_RC(mf_first_failed(fs, 3, &idx), MF_OK);
    CU_ASSERT_EQUAL(idx, 1);
    CU_ASSERT_EQUAL(mf_first_failed(fs, 1, &idx), MF_EDONE);
    CU_ASSERT_EQUAL(mf_first_failed(NULL, 1, &idx), MF_EINVAL);
    for (int k = 0; k < 3; k++)
        mf_future_release(fs[k]);
    CU_ASSERT_EQUAL(mf_first_failed(fs, 3, &idx), MF_EBADHANDLE);
}

/* A task kept off a worker (a retry elsewhere) runs on another one when
 * there is another; a rank that is no worker's is refused. */
static void t_avoid_rank(void)
{
    int nw = mf_executor_workers(mft_ex);
    int32_t r = -1;
    mf_future f = submit_ok(ID_WHO, NULL, 0);
    mf_submit_opts so;
    ASSERT_RC(mf_future_result_into(f, T, &r, sizeof r), MF_OK);
    mf_future_release(f);
    memset(&so, 0, sizeof so);
    so.avoid = 1;
    so.avoid_rank = r;
    /* One at a time: the worker that answered last (r) is the one the
     * scheduler would pick first. */
    for (int k = 0; k < 20; k++) {
        int32_t got = -1;
        ASSERT_RC(mf_submit_ex(mft_ex, ID_WHO, NULL, 0, &so, &f), MF_OK);
        ASSERT_RC(mf_future_result_into(f, T, &got, sizeof got), MF_OK);
        mf_future_release(f);
        if (nw > 1) {
            CU_ASSERT_NOT_EQUAL(got, r);
        } else {
            CU_ASSERT_EQUAL(got, r); /* no elsewhere: it still runs */
        }
    }
    so.avoid_rank = -5;
    CU_ASSERT_EQUAL(mf_submit_ex(mft_ex, ID_WHO, NULL, 0, &so, &f),
                    MF_EINVAL);
    so.avoid_rank = 1 << 20;
    CU_ASSERT_EQUAL(mf_submit_ex(mft_ex, ID_WHO, NULL, 0, &so, &f),
                    MF_EINVAL);
}

/* mf_submit_opts.pin: every pinned task runs on its worker, also those
 * queued while it is busy for a while; a pinned task queued behind a
 * long one can be cancelled; bad pins are refused. */
static void t_pin(void)
{
    int nw = mf_executor_workers(mft_ex), w[64] = {0}, n = 0;
    for (int r = 0; r < mft_size && n < 64; r++)
        if (r != mft_root)
            w[n++] = r;
    CU_ASSERT_EQUAL(n, nw);
    CU_ASSERT_FATAL(n > 0);
    enum { K = 12 };
    mf_future fs[64 * K], g[3];
    int want[64 * K];
    mf_submit_opts so;
    memset(&so, 0, sizeof so);
    so.pin = 1;
    size_t m = 0;
    for (int k = 0; k < K; k++)
        for (int i = 0; i < n; i++) {
            so.pin_rank = w[(i + k) % n];
            want[m] = so.pin_rank;
            ASSERT_RC(mf_submit_ex(mft_ex, ID_WHO, NULL, 0, &so, &fs[m]),
                      MF_OK);
            m++;
        }
    for (size_t i = 0; i < m; i++) {
        int32_t got = -1;
        ASSERT_RC(mf_future_result_into(fs[i], T, &got, sizeof got), MF_OK);
        CU_ASSERT_EQUAL(got, want[i]);
        mf_future_release(fs[i]);
    }
    /* Worker w[0] busy for 300 ms: what is pinned to it waits for it,
     * however idle the others are. */
    uint32_t ms = 300;
    so.pin_rank = w[0];
    mf_future slow;
    ASSERT_RC(mf_submit_ex(mft_ex, ID_SLEEPMS, &ms, sizeof ms, &so, &slow),
              MF_OK);
    for (int i = 0; i < 3; i++)
        ASSERT_RC(mf_submit_ex(mft_ex, ID_WHO, NULL, 0, &so, &g[i]), MF_OK);
    int32_t got = -1;
    /* The last one, cancelled: queued or already sent, it either is
     * cancelled or ran on its worker. */
    int crc = mf_future_cancel(g[2]);
    (void)crc;
    for (int i = 0; i < 3; i++) {
        got = -1;
        int rc = mf_future_result_into(g[i], T, &got, sizeof got);
        if (i == 2 && rc == MF_ECANCELLED) {
            mf_future_release(g[i]);
            continue;
        }
        ASSERT_RC(rc, MF_OK);
        CU_ASSERT_EQUAL(got, w[0]);
        mf_future_release(g[i]);
    }
    ASSERT_RC(mf_future_result(slow, T, NULL, NULL), MF_OK);
    mf_future_release(slow);
    /* Bad pins. */
    mf_future f;
    so.pin_rank = mft_root;
    CU_ASSERT_EQUAL(mf_submit_ex(mft_ex, ID_WHO, NULL, 0, &so, &f),
                    MF_EINVAL);
    so.pin_rank = -1;
    CU_ASSERT_EQUAL(mf_submit_ex(mft_ex, ID_WHO, NULL, 0, &so, &f),
                    MF_EINVAL);
    so.pin_rank = w[0];
    so.avoid = 1;
    so.avoid_rank = w[0];
    CU_ASSERT_EQUAL(mf_submit_ex(mft_ex, ID_WHO, NULL, 0, &so, &f),
                    MF_EINVAL);
}

const mft_test tests_helpers[] = {
    {"strings_in_and_out_of_tasks", t_strings},
    {"result_into_checks_the_size", t_result_into},
    {"result_built_in_place", t_build_in_place},
    {"map_over_a_c_array", t_map_array},
    {"as_completed_by_position_lets_go", t_as_completed_index},
    {"first_failed_future", t_first_failed},
    {"retry_kept_off_a_worker", t_avoid_rank},
    {"pinned_to_a_worker", t_pin},
    {NULL, NULL}};

/* ---- mf_run, on every rank ------------------------------------------ */

typedef struct run_ctx {
    int calls;
    int status;
} run_ctx;

static int root_work(mf_executor *ex, void *ud)
{
    run_ctx *c = ud;
    uint64_t n = 0;
    mf_future f;
    c->calls++;
    if (mf_submit_str(ex, ID_STRLEN, "four", &f) != MF_OK)
        return 90;
    int rc = mf_future_result_into(f, T, &n, sizeof n);
    mf_future_release(f);
    if (rc != MF_OK || n != 4)
        return 91;
    return c->status;
}

void ar_mf_run(void)
{
    run_ctx c = {0, 0};
    /* Success: 0 everywhere, root_fn once, on the root only. */
    int st = mf_run(mft_comm, root_work, &c, NULL);
    MFT_CHECK_EQ(st, 0);
    MFT_CHECK_EQ(c.calls, mft_rank == 0 ? 1 : 0);
    /* The root's own status reaches every rank. */
    c.status = 7;
    st = mf_run(mft_comm, root_work, &c, NULL);
    MFT_CHECK_EQ(st, 7);
    /* A failed open: the same code everywhere, root_fn never called. */
    mf_executor_opts o;
    mf_executor_opts_init(&o);
    o.window = 1u << 30;
    c.calls = 0;
    st = mf_run(mft_comm, root_work, &c, &o);
    MFT_CHECK_EQ(st, MF_EINVAL);
    MFT_CHECK_EQ(c.calls, 0);
    MFT_CHECK_EQ(mf_run(mft_comm, NULL, NULL, NULL), MF_EINVAL);
}
