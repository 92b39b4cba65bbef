/*
 * open_run.c — the collective open agrees on every failure (issue 11,
 * items 5, 9 and 22). Run on 3 ranks.
 *
 *  1. Out of memory on one worker at each allocation of the open, an
 *     initializer with a 100 KiB argument included: every rank returns the
 *     same code (MF_OK or MF_ENOMEM naming rank 1), nobody hangs in a
 *     collective, and a later open works.
 *  2. An initializer id that is not a registered function: MF_EINVAL on
 *     every rank (a bad option), not MF_EBROKEN.
 *  3. An unwritable trace path (MF_TRACE): MF_EINVAL on every rank at the
 *     open, naming the path, not a message at the end of the run.
 */
#define _GNU_SOURCE
#include "alloc.h"
#include "mpifutures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_rank;
static long g_init_runs;

/* The initializer: the open's allocations are over once it runs, so it
 * clears the injected failure (later ones would hit serving instead). */
static int init_fn(mf_task *task, void *ud)
{
    size_t len = 0;
    const unsigned char *a = mf_task_arg(task, &len);
    (void)ud;
    mf__alloc_fail_after(0);
    g_init_runs++;
    if (len != 100000 || a[0] != 7 || a[len - 1] != 7)
        return mf_task_fail(task, "initializer: bad argument (%zu bytes)",
                            len);
    return 0;
}

static int echo(mf_task *task, void *ud)
{
    size_t len = 0;
    const void *a = mf_task_arg(task, &len);
    (void)ud;
    return mf_task_return(task, a, len);
}

/* Every rank got the same code? */
static int agree(int rc)
{
    int lo = 0, hi = 0;
    MPI_Allreduce(&rc, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&rc, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return lo == hi;
}

int main(int argc, char **argv)
{
    int size, bad = 0, noom = 0, nok = 0;
    mf_fn_id init_id, echo_id;
    mf_executor *ex = NULL;
    mf_executor_opts o;
    static unsigned char arg[100000];

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    mf_register("init", init_fn, NULL, &init_id);
    mf_register("echo", echo, NULL, &echo_id);
    memset(arg, 7, sizeof arg);

    /* 1. Out of memory on rank 1 at the k-th allocation of the open. */
    mf_executor_opts_init(&o);
    o.initializer = init_id;
    o.initializer_arg = arg;
    o.initializer_len = sizeof arg;
    for (unsigned long k = 1; k <= 12; k++) {
        if (g_rank == 1)
            mf__alloc_fail_after(k);
        int rc = mf_executor_open(MPI_COMM_WORLD, 0, &o, &ex);
        if (g_rank == 1)
            mf__alloc_fail_after(0);
        if (ex)
            mf_executor_close(ex); /* root: at once, nothing submitted */
        ex = NULL;
        if (!agree(rc)) {
            fprintf(stderr,
                    "rank %d: k=%lu: open returned %s, not the same "
                    "on every rank\n",
                    g_rank, k, mf_errname(rc));
            bad++;
        } else if (rc == MF_ENOMEM) {
            noom++;
            if (!strstr(mf_last_error(), "rank 1")) {
                fprintf(stderr,
                        "rank %d: k=%lu: message does not name "
                        "rank 1: %s\n",
                        g_rank, k, mf_last_error());
                bad++;
            }
        } else if (rc == MF_OK) {
            nok++;
        } else {
            fprintf(stderr, "rank %d: k=%lu: open returned %s: %s\n", g_rank,
                    k, mf_errname(rc), mf_last_error());
            bad++;
        }
    }
    /* Some opens failed (the injection reached them), some got through
     * (it fell after the initializer). */
    if (noom == 0 || nok == 0) {
        fprintf(stderr,
                "rank %d: %d opens out of memory, %d ok: the "
                "injection did not cover the open\n",
                g_rank, noom, nok);
        bad++;
    }

    /* 2. An initializer that is not registered: a bad option. */
    mf_executor_opts_init(&o);
    o.initializer = 0x5eed5eed5eedULL;
    int rc = mf_executor_open(MPI_COMM_WORLD, 0, &o, &ex);
    if (rc != MF_EINVAL || ex != NULL ||
        !strstr(mf_last_error(), "not a registered function")) {
        fprintf(stderr, "rank %d: unregistered initializer: %s: %s\n", g_rank,
                mf_errname(rc), mf_last_error());
        bad++;
    }

    /* 3. An unwritable trace path, refused at the open. */
    setenv("MF_TRACE", "/nonexistent-dir/mf/trace.json", 1);
    rc = mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex);
    unsetenv("MF_TRACE");
    if (rc != MF_EINVAL || ex != NULL ||
        !strstr(mf_last_error(), "/nonexistent-dir/mf/trace.json")) {
        fprintf(stderr, "rank %d: unwritable trace: %s: %s\n", g_rank,
                mf_errname(rc), mf_last_error());
        bad++;
        if (ex)
            mf_executor_close(ex);
    }

    /* 4. A plain open still works, and tasks run. */
    rc = mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex);
    if (rc != MF_OK) {
        fprintf(stderr, "rank %d: final open: %s: %s\n", g_rank,
                mf_errname(rc), mf_last_error());
        bad++;
    } else if (ex) {
        mf_future f;
        const void *d;
        size_t len;
        if (mf_submit(ex, echo_id, "hi", 3, &f) != MF_OK ||
            mf_future_result(f, 30, &d, &len) != MF_OK || len != 3 ||
            memcmp(d, "hi", 3) != 0)
            bad++;
        mf_future_release(f);
        mf_executor_close(ex);
    }
    int all = 0;
    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (g_rank == 0)
        printf("open_run: %d opens out of memory, %d ok; %s\n", noom, nok,
               all ? "FAILED" : "ok");
    MPI_Finalize();
    return all ? 1 : 0;
}
