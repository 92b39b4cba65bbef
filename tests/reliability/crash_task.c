/*
 * A task that crashes its worker rank (default mode, no isolation):
 *   crash_task segv|abort|exit
 * The job must end (never hang) with a non-zero status, and the dying
 * worker must say which rank, host and task (checked by CTest's
 * PASS_REGULAR_EXPRESSION on the output).
 */
#include <mpifutures.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_crash(mf_task *t, void *ud)
{
    size_t len;
    const char *how = mf_task_arg(t, &len);
    (void)ud;
    if (!strncmp(how, "segv", len)) {
        volatile int *p = NULL;
        // cppcheck-suppress nullPointer ; the crash is the point
        *p = 1;
    } else if (!strncmp(how, "abort", len)) {
        abort();
    } else if (!strncmp(how, "exit", len)) {
        exit(3);
    }
    return mf_task_fail(t, "unknown crash mode");
}

static int t_nop(mf_task *t, void *ud)
{
    (void)t;
    (void)ud;
    return 0;
}

int main(int argc, char **argv)
{
    mf_fn_id crash, nop;
    mf_executor *ex;
    if (argc != 2) {
        fprintf(stderr, "usage: crash_task segv|abort|exit\n");
        return 2;
    }
    mf_init(&argc, &argv, NULL);
    mf_register("crasher", t_crash, NULL, &crash);
    mf_register("nop", t_nop, NULL, &nop);
    if (mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex) != MF_OK)
        return 1;
    if (ex) {
        mf_future f[9];
        for (int i = 0; i < 8; i++)
            mf_submit(ex, nop, NULL, 0, &f[i]);
        mf_submit(ex, crash, argv[1], strlen(argv[1]), &f[8]);
        int rc = mf_future_result(f[8], 60, NULL, NULL);
        /* Not reached when the job ends as it should. */
        printf("crash_task: root got %s (the job should have ended)\n",
               mf_errname(rc));
        mf_executor_close(ex);
    }
    mf_finalize();
    return 0;
}
