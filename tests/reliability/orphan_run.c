/*
 * Isolated tasks that never end, for orphan_test.sh (issue 11, items 10
 * and 11): orphan_run DIR. Isolation on; the root submits one endless
 * task per worker and waits. Each task writes DIR/task.PID ("PID PPID":
 * its process and its worker) and then sleeps forever, so the script can
 * kill the launcher or a worker and check that no task process is left.
 */
#define _POSIX_C_SOURCE 200809L
#include <mpifutures.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int t_endless(mf_task *t, void *ud)
{
    size_t len;
    const char *dir = mf_task_arg(t, &len);
    char p[512];
    (void)ud;
    if (len == 0 || len > 400)
        return mf_task_fail(t, "bad argument");
    snprintf(p, sizeof p, "%.*s/task.%ld", (int)len, dir, (long)getpid());
    FILE *f = fopen(p, "w");
    if (!f)
        return mf_task_fail(t, "cannot write %s", p);
    fprintf(f, "%ld %ld\n", (long)getpid(), (long)getppid());
    fclose(f);
    for (;;)
        sleep(1);
    return 0;
}

int main(int argc, char **argv)
{
    mf_fn_id fn;
    mf_executor *ex;
    mf_executor_opts o;
    mf_init(&argc, &argv, NULL);
    if (argc != 2) {
        fprintf(stderr, "usage: orphan_run DIR\n");
        return 2;
    }
    mf_register("endless", t_endless, NULL, &fn);
    mf_executor_opts_init(&o);
    o.isolate = 1;
    if (mf_executor_open(MPI_COMM_WORLD, 0, &o, &ex) != MF_OK) {
        fprintf(stderr, "orphan_run: open failed: %s\n", mf_last_error());
        return 1;
    }
    if (ex) {
        int n = mf_executor_workers(ex);
        mf_future f[64];
        for (int i = 0; i < n && i < 64; i++)
            mf_submit(ex, fn, argv[1], strlen(argv[1]), &f[i]);
        mf_future_result(f[0], 600, NULL, NULL);
        printf("orphan_run: the root was not stopped\n");
        mf_executor_close(ex);
    }
    mf_finalize();
    return 0;
}
