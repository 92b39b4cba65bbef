/*
 * observe_run — runs a known workload so the observation features can be
 * checked against what ran:
 *   - 300 "alpha" tasks (every 10th fails), 200 "beta" tasks with a
 *     100-byte argument and a 1000-byte result, one map of 50 "alpha"
 *     items in chunks of 10 (5 failing, one in each chunk);
 *   - checks mf_executor_stats() against those counts itself;
 *   - prints "expect: alpha=<n> beta=<n> failed=<n>" for the trace checker
 *     (MF_TRACE must be set by the caller).
 */
#include <mpifutures.h>
#include <stdio.h>
#include <string.h>

static int t_alpha(mf_task *t, void *ud)
{
    size_t len;
    const int *x = mf_task_arg(t, &len);
    (void)ud;
    if (len == sizeof(int) && *x % 10 == 9)
        return mf_task_fail(t, "alpha %d fails on purpose", *x);
    return 0;
}

static int t_beta(mf_task *t, void *ud)
{
    void *out;
    (void)ud;
    if (mf_task_result_buffer(t, 1000, &out) != MF_OK)
        return 1;
    memset(out, 'b', 1000);
    return 0;
}

int main(int argc, char **argv)
{
    mf_fn_id alpha, beta;
    mf_executor *ex;
    int bad = 0;
    mf_init(&argc, &argv, NULL);
    mf_register("alpha", t_alpha, NULL, &alpha);
    mf_register("beta", t_beta, NULL, &beta);
    if (mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex) != MF_OK) {
        fprintf(stderr, "open: %s\n", mf_last_error());
        return 1;
    }
    if (!ex) {
        mf_finalize();
        return 0;
    }
    enum { NA = 300, NB = 200, NM = 50 };
    static mf_future fa[NA], fb[NB];
    static int xs[NA > NM ? NA : NM];
    char arg[100];
    memset(arg, 'a', sizeof arg);
    for (int i = 0; i < NA; i++) {
        xs[i] = i;
        if (mf_submit(ex, alpha, &xs[i], sizeof xs[i], &fa[i]) != MF_OK)
            bad++;
    }
    for (int i = 0; i < NB; i++)
        if (mf_submit(ex, beta, arg, sizeof arg, &fb[i]) != MF_OK)
            bad++;
    const void *args[NM];
    size_t lens[NM];
    for (int i = 0; i < NM; i++) {
        args[i] = &xs[i];
        lens[i] = sizeof xs[i];
    }
    mf_map_opts o;
    mf_map_opts_init(&o);
    o.chunksize = 10;
    mf_map_iter *it;
    int mfail = 0, mok = 0, rc;
    if (mf_map(ex, alpha, args, lens, NM, &o, &it) != MF_OK)
        bad++;
    while ((rc = mf_map_next(it, NULL, NULL, NULL)) != MF_EDONE) {
        if (rc == MF_ETASK)
            mfail++;
        else if (rc == MF_OK)
            mok++;
        else {
            bad++;
            break;
        }
    }
    mf_map_free(it);
    if (mf_wait(fa, NA, 60, MF_ALL_COMPLETED, NULL, NULL) != MF_OK ||
        mf_wait(fb, NB, 60, MF_ALL_COMPLETED, NULL, NULL) != MF_OK)
        bad++;
    int afail = 0;
    for (int i = 0; i < NA; i++) {
        afail += mf_future_result(fa[i], 0, NULL, NULL) == MF_ETASK;
        mf_future_release(fa[i]);
    }
    for (int i = 0; i < NB; i++)
        mf_future_release(fb[i]);

    /* The statistics must add up to what ran. */
    mf_worker_stats st[16];
    size_t nw = 0;
    if (mf_executor_stats(ex, st, 16, &nw) != MF_OK ||
        nw != (size_t)mf_executor_workers(ex))
        bad++;
    unsigned long long tasks = 0, fails = 0, in = 0, out = 0;
    for (size_t i = 0; i < nw && i < 16; i++) {
        tasks += st[i].tasks;
        fails += st[i].failures;
        in += st[i].bytes_in;
        out += st[i].bytes_out;
        if (st[i].rank == 0 || !st[i].host || st[i].busy_share < 0 ||
            st[i].busy_share > 1.5 ||
            st[i].max_task_seconds < st[i].mean_task_seconds)
            bad++;
    }
    /* map chunks count their items, failing ones included (issue 15:
     * one failing item used to show as "0 failed"): the 30 failing single
     * tasks and the 5 failing map items. */
    unsigned long long want_tasks = NA + NB + NM;
    unsigned long long want_fail = (unsigned long long)(afail + mfail);
    unsigned long long want_in = NA * sizeof(int) + NB * sizeof arg;
    if (tasks != want_tasks || fails != want_fail || in < want_in ||
        out < NB * 1000ull) {
        fprintf(stderr,
                "stats: tasks %llu (want %llu) failures %llu (want %llu) "
                "bytes in %llu (>= %llu) out %llu (>= %d)\n",
                tasks, want_tasks, fails, want_fail, in, want_in, out,
                NB * 1000);
        bad++;
    }
    if (afail != 30 || mfail != 5 || mok != 45)
        bad++;
    /* Failed slices in the trace: the 30 tasks, and each chunk holding a
     * failing item (every 10th item fails: one in each of the 5). */
    printf("expect: alpha=%d beta=%d chunks=%d failed=%d\n", NA, NB, NM / 10,
           afail + NM / 10);
    printf("observe_run: %s\n", bad ? "FAILED" : "ok");
    mf_executor_close(ex);
    mf_finalize();
    return bad ? 1 : 0;
}
