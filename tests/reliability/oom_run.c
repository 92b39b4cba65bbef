/*
 * oom_run — out-of-memory on the root: the nth allocation of the library
 * fails (an internal test hook), for n = 1, 2, ... across a sequence of
 * calls (submit, submit_ex, map with chunks, as_completed, wait, on_done).
 * Every call must return MF_OK or MF_ENOMEM (or MF_ETASK / MF_ECANCELLED
 * for futures whose dispatch failed), nothing may crash or hang (every
 * wait is bounded), every result that arrives must be right, and after
 * the executor closes the library must hold exactly as many blocks as
 * before it opened (nothing leaked). Prints "oom_run: ok" on success.
 */
#include "alloc.h"
#include "mpifutures.h"

#include <stdio.h>
#include <string.h>

static int t_sq(mf_task *t, void *ud)
{
    size_t len;
    const long *x = mf_task_arg(t, &len);
    (void)ud;
    long r = *x * *x;
    return mf_task_return(t, &r, sizeof r);
}

static int bad, hit;
#define CHECK(c)                                                             \
    do {                                                                     \
        if (!(c)) {                                                          \
            fprintf(stderr, "oom_run: n=%lu: failed: %s (line %d)\n", n, #c, \
                    __LINE__);                                               \
            bad++;                                                           \
        }                                                                    \
    } while (0)

static void on_done(mf_future f, void *ud)
{
    (void)f;
    ++*(int *)ud;
}

/* Every outcome of a future is acceptable except a wrong result or a
 * hang: returns 1 if it completed. */
static int settle(mf_future f, long want, unsigned long n)
{
    const void *d;
    size_t len;
    int rc = mf_future_result(f, 30, &d, &len);
    CHECK(rc == MF_OK || rc == MF_ETASK || rc == MF_ECANCELLED);
    if (rc == MF_OK)
        CHECK(len == sizeof(long) && *(const long *)d == want);
    return rc != MF_ETIMEDOUT;
}

static void round_once(mf_executor *ex, mf_fn_id sq, unsigned long n)
{
    long xs[12];
    const void *args[12];
    size_t lens[12];
    mf_future f[4] = {{0}};
    int rcs[4], cbs = 0;
    for (int i = 0; i < 12; i++) {
        xs[i] = i + 1;
        args[i] = &xs[i];
        lens[i] = sizeof xs[i];
    }
    mf__alloc_fail_after(n);
    for (int i = 0; i < 3; i++) {
        rcs[i] = mf_submit(ex, sq, &xs[i], sizeof xs[i], &f[i]);
        CHECK(rcs[i] == MF_OK || rcs[i] == MF_ENOMEM);
    }
    mf_submit_opts so = {0};
    so.timeout = 30;
    rcs[3] = mf_submit_ex(ex, sq, &xs[3], sizeof xs[3], &so, &f[3]);
    CHECK(rcs[3] == MF_OK || rcs[3] == MF_ENOMEM);
    if (rcs[0] == MF_OK) {
        int r = mf_future_on_done(f[0], on_done, &cbs);
        CHECK(r == MF_OK || r == MF_ENOMEM);
    }
    mf_map_opts mo;
    mf_map_opts_init(&mo);
    mo.chunksize = 5;
    mf_map_iter *it = NULL;
    int mrc = mf_map(ex, sq, args, lens, 12, &mo, &it);
    CHECK(mrc == MF_OK || mrc == MF_ENOMEM);
    mf_future ok[4];
    size_t nok = 0;
    for (int i = 0; i < 4; i++)
        if (rcs[i] == MF_OK)
            ok[nok++] = f[i];
    mf_as_completed_iter *ac = NULL;
    int arc = mf_as_completed(ok, nok, 30, &ac);
    CHECK(arc == MF_OK || arc == MF_ENOMEM);
    int wrc = mf_wait(ok, nok, 0, MF_ALL_COMPLETED, NULL, NULL);
    CHECK(wrc == MF_OK || wrc == MF_ETIMEDOUT || wrc == MF_ENOMEM);
    hit = mf__alloc_fail_pending() == 0; /* the failure happened */
    mf__alloc_fail_after(0);

    /* Drain: everything completes one way or another. */
    if (arc == MF_OK) {
        mf_future g;
        size_t got = 0;
        int r;
        while ((r = mf_as_completed_next(ac, &g)) == MF_OK)
            got++;
        CHECK(r == MF_EDONE && got == nok);
        mf_as_completed_free(ac);
    }
    for (int i = 0; i < 4; i++)
        if (rcs[i] == MF_OK) {
            CHECK(settle(f[i], xs[i] * xs[i], n));
            CHECK(mf_future_release(f[i]) == MF_OK);
        }
    if (mrc == MF_OK) {
        const void *d;
        size_t len, idx, seen = 0;
        int r;
        while ((r = mf_map_next(it, &d, &len, &idx)) != MF_EDONE) {
            CHECK(r == MF_OK || r == MF_ETASK || r == MF_ECANCELLED);
            if (r == MF_OK)
                CHECK(len == sizeof(long) &&
                      *(const long *)d == xs[idx] * xs[idx]);
            if (r == MF_ETIMEDOUT || ++seen > 12)
                break;
        }
        CHECK(seen == 12);
        mf_map_free(it);
    }
    if (rcs[0] == MF_OK)
        CHECK(cbs <= 1);
}

int main(int argc, char **argv)
{
    mf_fn_id sq;
    mf_executor *ex;
    unsigned long n = 0, points = 0;
    mf_init(&argc, &argv, NULL);
    mf_register("sq", t_sq, NULL, &sq);
    long before = mf__alloc_live();
    if (mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex) != MF_OK) {
        fprintf(stderr, "open: %s\n", mf_last_error());
        return 1;
    }
    if (ex) {
        round_once(ex, sq, 0); /* warm: no failure */
        /* Until a round passes with no allocation failing: then every
         * allocation point of the sequence has been failed once. */
        for (n = 1; n <= 2000 && bad == 0; n++) {
            round_once(ex, sq, n);
            if (!hit)
                break;
            points = n;
        }
        if (points == 0 || n > 2000) {
            fprintf(stderr,
                    "oom_run: the failure points were not "
                    "exhausted (%lu)\n",
                    points);
            bad++;
        }
        /* The executor still works normally. */
        long x = 9;
        mf_future f;
        n = 0;
        CHECK(mf_submit(ex, sq, &x, sizeof x, &f) == MF_OK);
        CHECK(settle(f, 81, 0));
        mf_future_release(f);
        CHECK(mf_executor_close(ex) == MF_OK);
        long after = mf__alloc_live();
        if (after != before) {
            fprintf(stderr,
                    "oom_run: %ld blocks before open, %ld after "
                    "close: leaked\n",
                    before, after);
            bad++;
        }
        printf("oom_run: %s (%lu allocation points failed in turn)\n",
               bad ? "FAILED" : "ok", points);
    }
    MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    mf_finalize();
    return bad ? 1 : 0;
}
