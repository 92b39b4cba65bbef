/*
 * test_stats.c — observation (stats_progress_trace; window 1, stats,
 * progress lines and a trace file on): mf_executor_stats() counts, bytes,
 * rank order, shares and times, map chunks counting their items, fewer
 * slots than workers, MF_EINVAL; the trace file written at close.
 */
#define _POSIX_C_SOURCE 200809L

#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* =================================================================== */
/* Scenario: stats_and_trace (window 1; stats, progress lines, trace)   */
/* =================================================================== */

static char g_trace_path[256];

void opts_stats(mf_executor_opts *o)
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
void pc_trace(void)
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

const mft_test tests_stats[] = {
    {"executor_stats_counts_bytes_rank_order", t_stats}, {NULL, NULL}};
