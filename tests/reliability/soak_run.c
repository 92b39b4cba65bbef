/*
 * soak_run N — N tasks (default 1,000,000) of mixed sizes, 0 B to 4 MiB,
 * with failures and cancellations, in rounds of 20,000 outstanding:
 *   - every task's result is checked (a pattern derived from its index);
 *   - every 10th task fails (mf_task_fail);
 *   - every 13th is cancelled right after submit (it succeeds only while
 *     still queued; both outcomes are counted);
 *   - every 1000th carries and returns up to 4 MiB.
 * At the end: succeeded + failed + cancelled == submitted, the per-worker
 * statistics agree, and the library holds as many blocks as before the
 * executor opened. Prints "soak: ok ..." on success.
 */
#include "alloc.h"
#include "mpifutures.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t size_of(uint64_t i)
{
    if (i % 1000 == 999)
        return (size_t)((i * 2654435761u) % (4u << 20)) + 1;
    return (size_t)(i % 61);
}

static unsigned char pat(uint64_t i, size_t k)
{
    return (unsigned char)(i * 7 + k * 13);
}

/* Argument: index u64 then size_of(i) pattern bytes. Result: the same
 * pattern bytes, reversed role (checked by the root). */
static int t_work(mf_task *t, void *ud)
{
    size_t len;
    const unsigned char *a = mf_task_arg(t, &len);
    uint64_t i;
    void *out;
    (void)ud;
    if (len < 8)
        return mf_task_fail(t, "short argument");
    memcpy(&i, a, 8);
    if (len - 8 != size_of(i))
        return mf_task_fail(t, "argument %llu has %zu bytes, want %zu",
                            (unsigned long long)i, len - 8, size_of(i));
    for (size_t k = 0; k < len - 8; k++)
        if (a[8 + k] != pat(i, k))
            return mf_task_fail(t, "argument %llu corrupted at %zu",
                                (unsigned long long)i, k);
    if (i % 10 == 3)
        return mf_task_fail(t, "task %llu fails on purpose",
                            (unsigned long long)i);
    if (mf_task_result_buffer(t, len - 8, &out) != MF_OK)
        return 1;
    for (size_t k = 0; k < len - 8; k++)
        ((unsigned char *)out)[k] = pat(i, k) ^ 0x5a;
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    mf_fn_id work;
    mf_executor *ex;
    mf_init(&argc, &argv, NULL);
    mf_register("work", t_work, NULL, &work);
    long before = mf__alloc_live();
    if (mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex) != MF_OK) {
        fprintf(stderr, "open: %s\n", mf_last_error());
        return 1;
    }
    int bad = 0;
    if (ex) {
        enum { ROUND = 20000 };
        mf_future *f = malloc(ROUND * sizeof *f);
        uint64_t *idx = malloc(ROUND * sizeof *idx);
        unsigned char *arg = malloc(8 + (4u << 20));
        uint64_t ok = 0, failed = 0, cancelled = 0, submitted = 0;
        uint64_t wrong = 0, cancel_tried = 0;
        double t0 = MPI_Wtime();
        for (uint64_t base = 0; base < n; base += ROUND) {
            size_t m = n - base < ROUND ? (size_t)(n - base) : ROUND;
            for (size_t j = 0; j < m; j++) {
                uint64_t i = base + j;
                size_t s = size_of(i);
                memcpy(arg, &i, 8);
                for (size_t k = 0; k < s; k++)
                    arg[8 + k] = pat(i, k);
                if (mf_submit(ex, work, arg, 8 + s, &f[j]) != MF_OK) {
                    fprintf(stderr, "submit %llu: %s\n",
                            (unsigned long long)i, mf_last_error());
                    bad++;
                    f[j].h = 0;
                    continue;
                }
                idx[j] = i;
                submitted++;
                if (i % 13 == 5) {
                    cancel_tried++;
                    (void)mf_future_cancel(f[j]); /* may be running */
                }
            }
            mf_as_completed_iter *it;
            if (mf_as_completed(f, m, 300, &it) != MF_OK) {
                bad++;
                break;
            }
            mf_future g;
            size_t got = 0;
            while (mf_as_completed_next(it, &g) == MF_OK)
                got++;
            mf_as_completed_free(it);
            if (got != m) {
                fprintf(stderr, "as_completed gave %zu of %zu\n", got, m);
                bad++;
            }
            for (size_t j = 0; j < m; j++) {
                const void *d;
                size_t len;
                int rc = mf_future_result(f[j], 0, &d, &len);
                uint64_t i = idx[j];
                if (rc == MF_OK) {
                    ok++;
                    const unsigned char *r = d;
                    if (len != size_of(i) || i % 10 == 3)
                        wrong++;
                    else
                        for (size_t k = 0; k < len; k++)
                            if (r[k] != (pat(i, k) ^ 0x5a)) {
                                wrong++;
                                break;
                            }
                } else if (rc == MF_ETASK) {
                    failed++;
                    const mf_task_error *e;
                    mf_future_error(f[j], 0, &e);
                    if (i % 10 != 3 || !e ||
                        !strstr(e->message, "on purpose"))
                        wrong++;
                } else if (rc == MF_ECANCELLED) {
                    cancelled++;
                    if (i % 13 != 5)
                        wrong++;
                } else {
                    wrong++;
                }
                mf_future_release(f[j]);
            }
        }
        double secs = MPI_Wtime() - t0;
        mf_worker_stats st[64];
        size_t nw = 0;
        mf_executor_stats(ex, st, 64, &nw);
        uint64_t ran = 0;
        for (size_t w = 0; w < nw && w < 64; w++)
            ran += st[w].tasks;
        if (ok + failed + cancelled != submitted || submitted != n || wrong ||
            ran != ok + failed || cancelled > cancel_tried)
            bad++;
        mf_executor_close(ex);
        long after = mf__alloc_live();
        if (after != before)
            bad++;
        printf("soak: %s: %llu submitted = %llu ok + %llu failed + %llu "
               "cancelled; %llu ran; %llu wrong; %.1f s; library blocks "
               "%ld before, %ld after\n",
               bad ? "FAILED" : "ok", (unsigned long long)submitted,
               (unsigned long long)ok, (unsigned long long)failed,
               (unsigned long long)cancelled, (unsigned long long)ran,
               (unsigned long long)wrong, secs, before, after);
        free(f);
        free(idx);
        free(arg);
    }
    MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    mf_finalize();
    return bad ? 1 : 0;
}
