/*
 * A finished result is not held on the worker behind a later task
 * (issue 11, item 7). One worker, its window opened wide by a warm-up of
 * tiny tasks, gets a 0.2 s task and, while it runs (so that they all
 * wait in its queue), a 0.3 s task, an instant one, then five long ones
 * (up to 4 s each: they end early once the root creates a file, so the
 * test is quick). The instant task's future must be done long before the
 * first long task ends: mf_future_result with a 2 s timeout succeeds,
 * within 2.3 s of the submit. Before the fix its result waited on the
 * worker, batched, until the long tasks ended. Run on 2 ranks, argument
 * "isolate" to run the tasks isolated; exits 0 on success.
 */
#define _POSIX_C_SOURCE 200809L
#include <mpifutures.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int t_sleep_ms(mf_task *t, void *ud)
{
    size_t len;
    const unsigned *ms = mf_task_arg(t, &len);
    (void)ud;
    if (len != sizeof *ms)
        return mf_task_fail(t, "bad argument");
    struct timespec ts = {(time_t)(*ms / 1000),
                          (long)(*ms % 1000) * 1000000L};
    while (*ms && nanosleep(&ts, &ts) != 0)
        ;
    return mf_task_return(t, ms, sizeof *ms);
}

static int t_nop(mf_task *t, void *ud)
{
    (void)t;
    (void)ud;
    return 0;
}

/* Sleep up to 4 s, polling every 5 ms for the file named by the argument. */
static int t_long(mf_task *t, void *ud)
{
    size_t len;
    const char *path = mf_task_arg(t, &len);
    char p[256];
    (void)ud;
    if (len == 0 || len >= sizeof p)
        return mf_task_fail(t, "bad argument");
    memcpy(p, path, len);
    p[len] = '\0';
    for (int i = 0; i < 800 && access(p, F_OK) != 0; i++) {
        struct timespec ts = {0, 5000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    mf_fn_id fn, nop, lng;
    mf_executor *ex;
    int bad = 0;
    mf_init(&argc, &argv, NULL);
    mf_register("sleep_ms", t_sleep_ms, NULL, &fn);
    mf_register("nop", t_nop, NULL, &nop);
    mf_register("long", t_long, NULL, &lng);
    if (mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex) != MF_OK) {
        fprintf(stderr, "holdback_run: open failed: %s\n", mf_last_error());
        return 1;
    }
    if (ex) {
        /* Isolated or not (argv[1] == "isolate"): both paths batch. */
        unsigned ms[3] = {200, 300, 0};
        mf_future f[8], w[1000];
        mf_submit_opts so;
        char path[] = "/tmp/mf-holdback-XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0 || unlink(path) != 0) {
            perror("holdback_run: mkstemp");
            return 1;
        }
        close(fd);
        memset(&so, 0, sizeof so);
        so.isolate = argc > 1 && !strcmp(argv[1], "isolate");
        /* Warm up: tiny tasks make the window wide. */
        for (int i = 0; i < 1000; i++)
            if (mf_submit_ex(ex, nop, NULL, 0, &so, &w[i]) != MF_OK)
                return 1;
        for (int i = 0; i < 1000; i++) {
            if (mf_future_result(w[i], 60, NULL, NULL) != MF_OK)
                bad = 1;
            mf_future_release(w[i]);
        }
        double t0 = now();
        for (int i = 0; i < 8; i++) {
            int rc =
                i < 3 ? mf_submit_ex(ex, fn, &ms[i], sizeof ms[i], &so, &f[i])
                      : mf_submit_ex(ex, lng, path, strlen(path), &so, &f[i]);
            if (rc != MF_OK) {
                fprintf(stderr, "holdback_run: submit: %s\n",
                        mf_last_error());
                return 1;
            }
        }
        int rc = mf_future_result(f[2], 2.0, NULL, NULL);
        double t1 = now() - t0;
        printf("holdback_run: instant task: %s after %.3f s\n",
               mf_errname(rc), t1);
        if (rc != MF_OK || t1 > 2.3) {
            fprintf(stderr, "holdback_run: FAIL: the instant task's result "
                            "was held back behind a long task\n");
            bad = 1;
        }
        FILE *stop = fopen(path, "w"); /* the long tasks end */
        if (stop)
            fclose(stop);
        for (int i = 0; i < 8; i++) {
            if (mf_future_result(f[i], 60, NULL, NULL) != MF_OK)
                bad = 1;
            mf_future_release(f[i]);
        }
        unlink(path);
        mf_executor_close(ex);
    }
    mf_finalize();
    return bad;
}
