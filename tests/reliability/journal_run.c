/*
 * journal_run — the resume journal, end to end.
 *
 *   journal_run JOURNAL N [--kill-after K | --term-after K] [--extra-fn]
 *               [--hang K | --crash K] [--hold READY GO]
 *
 * Submits N tasks cube(i), i = 0..N-1, with MF_JOURNAL-style journaling,
 * and collects them with as_completed. --kill-after K: the root kills
 * itself with SIGKILL after K results (a walltime kill -9); --term-after
 * K: raises SIGTERM (handled: graceful stop). --extra-fn registers one
 * more function, so the journal must be refused. --hang K: task K never
 * returns and is submitted isolated with a 1 s timeout (it times out);
 * --crash K: task K kills itself, isolated (it crashes); both only in
 * this run: the argument, so the journal key, is the same as without.
 * --hold READY GO: once the executor is open (the journal held), the
 * root creates the file READY and waits for the file GO (at most 300 s)
 * before it submits. At the end prints
 *   journal: loaded=L reused=R torn=T dispatched=D complete=C sum_ok=Y
 *            interrupted=I timeouts=M crashes=K
 * where D counts the tasks that really ran (from mf_executor_stats),
 * sum_ok compares the sum of results with the closed form (N(N-1)/2)^2,
 * M and K count the futures that failed with those reasons. A failed
 * open prints "open failed: MF_E...: message" and exits 3 for
 * MF_EMISMATCH, 5 for MF_EINVAL, else 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <mpifutures.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long g_hang = -1, g_crash = -1; /* same on every rank (argv) */

static int t_cube(mf_task *t, void *ud)
{
    size_t len;
    const uint64_t *x = mf_task_arg(t, &len);
    (void)ud;
    if (len != 8)
        return mf_task_fail(t, "bad argument");
    if ((long)*x == g_hang)
        for (;;)
            pause(); /* isolated: killed at the timeout */
    if ((long)*x == g_crash)
        raise(SIGKILL); /* isolated: only the task's process dies */
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
                        "--term-after K] [--extra-fn] [--hang K | "
                        "--crash K] [--hold READY GO]\n");
        return 2;
    }
    const char *path = argv[1];
    long n = atol(argv[2]), kill_after = -1, term_after = -1;
    int extra = 0;
    const char *ready = NULL, *go = NULL;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--kill-after") && i + 1 < argc)
            kill_after = atol(argv[++i]);
        else if (!strcmp(argv[i], "--term-after") && i + 1 < argc)
            term_after = atol(argv[++i]);
        else if (!strcmp(argv[i], "--extra-fn"))
            extra = 1;
        else if (!strcmp(argv[i], "--hang") && i + 1 < argc)
            g_hang = atol(argv[++i]);
        else if (!strcmp(argv[i], "--crash") && i + 1 < argc)
            g_crash = atol(argv[++i]);
        else if (!strcmp(argv[i], "--hold") && i + 2 < argc) {
            ready = argv[++i];
            go = argv[++i];
        }
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
        fprintf(stderr, "journal_run: rank %d: open failed: %s: %s\n", rank,
                mf_errname(rc), mf_last_error());
        mf_finalize();
        return rc == MF_EMISMATCH ? 3 : rc == MF_EINVAL ? 5 : 1;
    }
    if (!ex) {
        mf_finalize();
        return 0;
    }
    if (ready) {
        /* Tell the test the journal is held, and wait for its go. */
        FILE *rf = fopen(ready, "w");
        if (!rf || fclose(rf) != 0) {
            fprintf(stderr, "journal_run: cannot create %s\n", ready);
            return 1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        int waited = 0;
        while (access(go, F_OK) != 0 && waited++ < 30000)
            nanosleep(&ts, NULL);
        if (access(go, F_OK) != 0) {
            fprintf(stderr, "journal_run: no %s after 300 s\n", go);
            return 1;
        }
    }
    mf_future *f = calloc((size_t)n, sizeof *f);
    uint64_t *xs = calloc((size_t)n, sizeof *xs);
    for (long i = 0; i < n; i++) {
        xs[i] = (uint64_t)i;
        mf_submit_opts so = {0};
        if (i == g_hang)
            so.timeout = 1.0;
        if (i == g_crash)
            so.isolate = 1;
        if (mf_submit_ex(ex, cube, &xs[i], 8, &so, &f[i]) != MF_OK) {
            fprintf(stderr, "submit: %s\n", mf_last_error());
            return 1;
        }
    }
    mf_as_completed_iter *it;
    mf_as_completed(f, (size_t)n, 300, &it);
    mf_future g;
    long got = 0, complete = 0, timeouts = 0, crashes = 0;
    uint64_t sum = 0;
    while (mf_as_completed_next(it, &g) == MF_OK) {
        const void *d;
        size_t len;
        if (mf_future_result(g, 0, &d, &len) == MF_OK && len == 8) {
            uint64_t v;
            memcpy(&v, d, 8);
            sum += v;
            complete++;
        } else {
            const mf_task_error *e = NULL;
            if (mf_future_error(g, 0, &e) == MF_OK && e) {
                timeouts += e->reason == MF_FAIL_TIMEOUT;
                crashes += e->reason == MF_FAIL_CRASH;
            }
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
           "complete=%ld sum_ok=%d interrupted=%d timeouts=%ld "
           "crashes=%ld\n",
           loaded, reused, torn, ran, complete,
           complete == n && sum == tri * tri, interrupted, timeouts, crashes);
    for (long i = 0; i < n; i++)
        mf_future_release(f[i]);
    mf_executor_close(ex);
    mf_finalize();
    free(f);
    free(xs);
    return interrupted ? 4 : (complete == n ? 0 : 1);
}
