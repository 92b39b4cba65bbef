/*
 * missed_close.c — a root that never calls mf_executor_close() must not
 * leave its workers waiting (issue 15, trap 2). Run on 3 ranks:
 *
 *   missed_close finalize  the root calls MPI_Finalize() with the executor
 *                          open: the library closes it (message), the job
 *                          ends with status 0
 *   missed_close return    the root returns from main() without close or
 *                          MPI_Finalize(): closed at exit (message)
 *   missed_close exit      the root calls exit(3) from the middle of its
 *                          work: closed at exit (message), status 3
 *
 * Every worker prints "worker released" once its open returns, so the
 * CTest entry checks that the workers were released, not only that the
 * job ended (its timeout bounds the wait).
 */
#include <mpifutures.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_echo(mf_task *task, void *ud)
{
    size_t len = 0;
    const void *a = mf_task_arg(task, &len);
    (void)ud;
    return mf_task_return(task, a, len);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "finalize";
    mf_fn_id echo;
    mf_executor *ex = NULL;
    MPI_Init(&argc, &argv);
    mf_register("echo", t_echo, NULL, &echo);
    int rc = mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex);
    if (rc != MF_OK) {
        fprintf(stderr, "open: %s\n", mf_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (!ex) {
        printf("worker released\n");
        fflush(stdout);
        MPI_Finalize();
        return 0;
    }
    mf_future f;
    const void *d;
    if (mf_submit(ex, echo, "x", 2, &f) != MF_OK ||
        mf_future_result(f, 30, &d, NULL) != MF_OK) {
        fprintf(stderr, "task failed: %s\n", mf_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    mf_future_release(f);
    printf("root done, no close (%s)\n", mode);
    fflush(stdout);
    if (strcmp(mode, "exit") == 0)
        exit(3);
    if (strcmp(mode, "return") == 0)
        return 0;
    MPI_Finalize();
    return 0;
}
