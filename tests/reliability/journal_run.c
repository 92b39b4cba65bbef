/*
 * journal_run — the resume journal, end to end.
 *
 *   journal_run JOURNAL N [--kill-after K | --term-after K] [--extra-fn]
 *
 * Submits N tasks cube(i), i = 0..N-1, with MF_JOURNAL-style journaling,
 * and collects them with as_completed. --kill-after K: the root kills
 * itself with SIGKILL after K results (a walltime kill -9); --term-after
 * K: raises SIGTERM (handled: graceful stop). --extra-fn registers one
 * more function, so the journal must be refused. At the end prints
 *   journal: loaded=L reused=R torn=T dispatched=D complete=C sum_ok=Y
 * where D counts the tasks that really ran (from mf_executor_stats) and
 * sum_ok compares the sum of results with the closed form (N(N-1)/2)^2.
 */
#include <mpifutures.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_cube(mf_task *t, void *ud)
{
    size_t len;
    const uint64_t *x = mf_task_arg(t, &len);
    (void)ud;
    if (len != 8)
        return mf_task_fail(t, "bad argument");
    uint64_t r = *x * *x * *x;
    return mf_task_return(t, &r, sizeof r);
}

static int t_other(mf_task *t, void *ud)
{
    (void)t;
    (void)ud;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: journal_run JOURNAL N [--kill-after K | "
                        "--term-after K] [--extra-fn]\n");
        return 2;
    }
    const char *path = argv[1];
    long n = atol(argv[2]), kill_after = -1, term_after = -1;
    int extra = 0;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--kill-after") && i + 1 < argc)
            kill_after = atol(argv[++i]);
        else if (!strcmp(argv[i], "--term-after") && i + 1 < argc)
            term_after = atol(argv[++i]);
        else if (!strcmp(argv[i], "--extra-fn"))
            extra = 1;
    }
    mf_fn_id cube;
    mf_init(&argc, &argv, NULL);
    mf_register("cube", t_cube, NULL, &cube);
    if (extra)
        mf_register("other", t_other, NULL, NULL);
    mf_executor_opts o;
    mf_executor_opts_init(&o);
    o.journal_path = path;
    o.handle_signals = 1;
    o.window = 2; /* results trickle in: the kill lands mid-run */
    mf_executor *ex;
    int rc = mf_executor_open(MPI_COMM_WORLD, 0, &o, &ex);
    if (rc != MF_OK) {
        int rank;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        fprintf(stderr, "journal_run: rank %d: open failed: %s\n", rank,
                mf_last_error());
        mf_finalize();
        return rc == MF_EMISMATCH ? 3 : 1;
    }
    if (!ex) {
        mf_finalize();
        return 0;
    }
    mf_future *f = calloc((size_t)n, sizeof *f);
    uint64_t *xs = calloc((size_t)n, sizeof *xs);
    for (long i = 0; i < n; i++) {
        xs[i] = (uint64_t)i;
        if (mf_submit(ex, cube, &xs[i], 8, &f[i]) != MF_OK) {
            fprintf(stderr, "submit: %s\n", mf_last_error());
            return 1;
        }
    }
    mf_as_completed_iter *it;
    mf_as_completed(f, (size_t)n, 300, &it);
    mf_future g;
    long got = 0, complete = 0;
    uint64_t sum = 0;
    while (mf_as_completed_next(it, &g) == MF_OK) {
        const void *d;
        size_t len;
        if (mf_future_result(g, 0, &d, &len) == MF_OK && len == 8) {
            uint64_t v;
            memcpy(&v, d, 8);
            sum += v;
            complete++;
        }
        got++;
        if (got == kill_after)
            raise(SIGKILL);
        if (got == term_after)
            raise(SIGTERM);
    }
    mf_as_completed_free(it);
    size_t loaded, reused, torn, nw;
    mf_executor_journal(ex, &loaded, &reused, &torn);
    mf_worker_stats st[64];
    mf_executor_stats(ex, st, 64, &nw);
    unsigned long long ran = 0;
    for (size_t i = 0; i < nw && i < 64; i++)
        ran += st[i].tasks;
    uint64_t tri = (uint64_t)n * (uint64_t)(n - 1) / 2;
    int interrupted = mf_executor_interrupted(ex);
    printf("journal: loaded=%zu reused=%zu torn=%zu dispatched=%llu "
           "complete=%ld sum_ok=%d interrupted=%d\n",
           loaded, reused, torn, ran, complete,
           complete == n && sum == tri * tri, interrupted);
    for (long i = 0; i < n; i++)
        mf_future_release(f[i]);
    mf_executor_close(ex);
    mf_finalize();
    free(f);
    free(xs);
    return interrupted ? 4 : (complete == n ? 0 : 1);
}
