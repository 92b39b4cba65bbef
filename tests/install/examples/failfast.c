/* failfast.c — a fail-fast pipeline: stages run as tasks (10 ms each);
 * at the first failure the stages not started are cancelled and the error
 * reported with where it happened. A window of 2 tasks per worker keeps
 * the rest on the root, where a cancel still stops them.
 * Run: mpirun -n 3 ./failfast [STAGE-THAT-FAILS] */
#define _POSIX_C_SOURCE 200809L
#include <mpifutures.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { NSTAGES = 40 };
static mf_fn_id stage;

static int t_stage(mf_task *task, void *userdata)
{
    const int *a = mf_task_arg(task, NULL); /* {stage, the failing one} */
    (void)userdata;
    struct timespec ms10 = {0, 10000000};
    nanosleep(&ms10, NULL);
    if (a[0] == a[1])
        return mf_task_fail(task, "stage %d: input rejected", a[0]);
    int v = a[0] * a[0];
    return mf_task_return(task, &v, sizeof v);
}

static int pipeline(mf_executor *ex, void *userdata)
{
    int bad = *(int *)userdata, args[NSTAGES][2];
    mf_future fs[NSTAGES];
    size_t n = 0, first = 0, cancelled = 0;
    int rc = MF_OK;
    for (; rc == MF_OK && n < NSTAGES; n++) {
        args[n][0] = (int)n;
        args[n][1] = bad;
        rc = mf_submit(ex, stage, args[n], sizeof args[n], &fs[n]);
    }
    if (rc == MF_OK)
        rc = mf_wait(fs, n, MF_FOREVER, MF_FIRST_EXCEPTION, NULL, NULL);
    if (rc == MF_OK && mf_first_failed(fs, n, &first) == MF_OK) {
        const mf_task_error *e = NULL;
        mf_future_error(fs[first], 0, &e);
        for (size_t i = 0; i < n; i++)
            cancelled += mf_future_cancel(fs[i]) == MF_OK &&
                         mf_future_cancelled(fs[i]);
        printf("stage %zu failed on rank %d (%s): %s; %zu stages cancelled\n",
               first, e->rank, e->host, e->message, cancelled);
        rc = 1;
    } else if (rc == MF_OK) {
        printf("all %zu stages done\n", n);
    }
    for (size_t i = 0; i < n; i++)
        mf_future_release(fs[i]);
    return rc;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int bad = argc > 1 ? atoi(argv[1]) : -1;
    mf_register("stage", t_stage, NULL, &stage);
    mf_executor_opts opts;
    mf_executor_opts_init(&opts);
    opts.window = 2;
    int rc = mf_run(MPI_COMM_WORLD, pipeline, &bad, &opts);
    if (rc != MF_OK && rc != 1)
        fprintf(stderr, "failfast: %s\n", mf_last_error());
    MPI_Finalize();
    return rc ? 1 : 0;
}
