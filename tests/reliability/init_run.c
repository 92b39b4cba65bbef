/*
 * init_run — the executor's initializer (ProcessPoolExecutor's
 * initializer/initargs): it runs once on every worker before any task,
 * with the root's argument; when it fails on one worker, the open fails
 * on every rank with MF_EBROKEN naming the rank, and a later open works.
 */
#include <mpifutures.h>
#include <stdio.h>
#include <string.h>

static char greeting[64];
static int init_calls;
static int fail_on_rank = -1;

static int t_init(mf_task *t, void *ud)
{
    size_t len;
    const char *a = mf_task_arg(t, &len);
    int rank;
    (void)ud;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    init_calls++;
    if (rank == fail_on_rank)
        return mf_task_fail(t, "no resource on rank %d", rank);
    if (len >= sizeof greeting)
        return mf_task_fail(t, "argument too long");
    memcpy(greeting, a, len);
    greeting[len] = '\0';
    return 0;
}

/* Returns what the initializer stored, and how often it ran here. */
static int t_greet(mf_task *t, void *ud)
{
    char out[96];
    (void)ud;
    int n = snprintf(out, sizeof out, "%s/%d", greeting, init_calls);
    return mf_task_return(t, out, (size_t)n);
}

int main(int argc, char **argv)
{
    mf_fn_id init, greet;
    mf_executor *ex;
    int rank, size, bad = 0;
    mf_init(&argc, &argv, NULL);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    mf_register("init", t_init, NULL, &init);
    mf_register("greet", t_greet, NULL, &greet);
    mf_executor_opts o;
    mf_executor_opts_init(&o);
    o.initializer = init;
    o.initializer_arg = "hello";
    o.initializer_len = 5;

    /* 1. It runs once per worker, before the tasks. */
    if (mf_executor_open(MPI_COMM_WORLD, 0, &o, &ex) != MF_OK) {
        fprintf(stderr, "rank %d: open: %s\n", rank, mf_last_error());
        bad++;
    } else if (ex) {
        mf_future f[20];
        for (int i = 0; i < 20; i++)
            mf_submit(ex, greet, NULL, 0, &f[i]);
        for (int i = 0; i < 20; i++) {
            const void *d;
            size_t len;
            if (mf_future_result(f[i], 30, &d, &len) != MF_OK || len != 7 ||
                memcmp(d, "hello/1", 7) != 0) {
                fprintf(stderr, "greet %d: %.*s\n", i, (int)len,
                        (const char *)d);
                bad++;
            }
            mf_future_release(f[i]);
        }
        mf_executor_close(ex);
    }
    /* 2. It fails on the last rank: every rank's open fails, naming it. */
    fail_on_rank = size - 1;
    int rc = mf_executor_open(MPI_COMM_WORLD, 0, &o, &ex);
    char want[32];
    snprintf(want, sizeof want, "rank %d", size - 1);
    if (rc != MF_EBROKEN || ex != NULL ||
        !strstr(mf_last_error(), "no resource") ||
        !strstr(mf_last_error(), want) || !strstr(mf_last_error(), "init")) {
        fprintf(stderr, "rank %d: failing initializer: %s: %s\n", rank,
                mf_errname(rc), mf_last_error());
        bad++;
    }
    /* 3. A length without bytes is refused on every rank, before any
     *    initializer runs. */
    mf_executor_opts no_bytes = o;
    no_bytes.initializer_arg = NULL;
    rc = mf_executor_open(MPI_COMM_WORLD, 0, &no_bytes, &ex);
    if (rc != MF_EINVAL || ex != NULL ||
        !strstr(mf_last_error(), "initializer_len")) {
        fprintf(stderr, "rank %d: initializer_len without bytes: %s: %s\n",
                rank, mf_errname(rc), mf_last_error());
        bad++;
    }
    /* 4. A later open (no initializer) works. */
    fail_on_rank = -1;
    if (mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex) != MF_OK) {
        bad++;
    } else if (ex) {
        mf_future f;
        const void *d;
        size_t len;
        mf_submit(ex, greet, NULL, 0, &f);
        if (mf_future_result(f, 30, &d, &len) != MF_OK)
            bad++;
        mf_future_release(f);
        mf_executor_close(ex);
    }
    int all = 0;
    MPI_Allreduce(&bad, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0)
        printf("initializer: %s\n", all ? "FAILED" : "ok");
    mf_finalize();
    return all ? 1 : 0;
}
