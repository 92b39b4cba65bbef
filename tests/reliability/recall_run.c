/*
 * Tasks queued on a busy worker go to an idle one (issue 11, item 16).
 * Isolation on, 3 ranks (2 workers). First an endless task (it waits for
 * a file the root creates at the end, at most 120 s), then a 1 s task,
 * then two quick ones: one of the quick ones waits in the queue of the
 * worker running the endless task. Once the 1 s task is done, the other
 * worker is idle: the root takes the queued task back and gives it to
 * that worker, so both quick tasks finish within 20 s. Then exactly-once:
 * 40 tasks of mixed lengths behind another endless one, each appending
 * its number to a log; every number must appear exactly once.
 * Exits 0 on success.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <mpifutures.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NMIX 40

static char dir[64];

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Argument: "w <path>" waits for the file; "s <ms> <id>" sleeps, then
 * appends "<id>\n" to <dir>/log (the dir is in the argument too). */
static int t_job(mf_task *t, void *ud)
{
    size_t len;
    const char *a = mf_task_arg(t, &len);
    char buf[256];
    (void)ud;
    if (len == 0 || len >= sizeof buf)
        return mf_task_fail(t, "bad argument");
    memcpy(buf, a, len);
    buf[len] = '\0';
    if (buf[0] == 'w') {
        for (int i = 0; i < 12000 && access(buf + 2, F_OK) != 0; i++)
            nap(10);
        return 0;
    }
    long ms, id;
    char d[128];
    if (sscanf(buf, "s %ld %ld %127s", &ms, &id, d) != 3)
        return mf_task_fail(t, "bad argument");
    nap(ms);
    if (id >= 0) {
        char p[160], line[32];
        snprintf(p, sizeof p, "%s/log", d);
        int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int n = snprintf(line, sizeof line, "%ld\n", id);
        if (fd < 0 || write(fd, line, (size_t)n) != n)
            return mf_task_fail(t, "cannot log");
        close(fd);
    }
    return 0;
}

static int submit(mf_executor *ex, mf_fn_id fn, mf_future *f, const char *fmt,
                  long a, long b)
{
    char arg[256];
    int n = snprintf(arg, sizeof arg, fmt, a, b, dir);
    return mf_submit(ex, fn, arg, (size_t)n, f);
}

/* A task that waits for the file dir/NAME. */
static int submit_wait(mf_executor *ex, mf_fn_id fn, mf_future *f,
                       const char *name)
{
    char arg[256];
    int n = snprintf(arg, sizeof arg, "w %s/%s", dir, name);
    return mf_submit(ex, fn, arg, (size_t)n, f);
}

static void touch(const char *name)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (f)
        fclose(f);
}

int main(int argc, char **argv)
{
    mf_fn_id fn;
    mf_executor *ex;
    mf_executor_opts o;
    int bad = 0;
    mf_init(&argc, &argv, NULL);
    mf_register("job", t_job, NULL, &fn);
    mf_executor_opts_init(&o);
    o.isolate = 1;
    if (mf_executor_open(MPI_COMM_WORLD, 0, &o, &ex) != MF_OK) {
        fprintf(stderr, "recall_run: open failed: %s\n", mf_last_error());
        return 1;
    }
    if (!ex) {
        mf_finalize();
        return 0;
    }
    snprintf(dir, sizeof dir, "/tmp/mf-recall-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("recall_run: mkdtemp");
        return 1;
    }
    /* 1. A quick task queued behind an endless one. */
    mf_future e, l, q[2];
    bad |= submit_wait(ex, fn, &e, "stop1") != MF_OK;
    bad |= submit(ex, fn, &l, "s %ld %ld %s", 1000, -1) != MF_OK;
    bad |= submit(ex, fn, &q[0], "s %ld %ld %s", 10, -1) != MF_OK;
    bad |= submit(ex, fn, &q[1], "s %ld %ld %s", 10, -1) != MF_OK;
    for (int i = 0; i < 2; i++) {
        int rc = mf_future_result(q[i], 20, NULL, NULL);
        if (rc != MF_OK) {
            fprintf(stderr,
                    "recall_run: FAIL: quick task %d: %s (stuck behind "
                    "the endless task while a worker is idle)\n",
                    i, mf_errname(rc));
            bad = 1;
        }
    }
    touch("stop1");
    bad |= mf_future_result(e, 150, NULL, NULL) != MF_OK;
    bad |= mf_future_result(l, 150, NULL, NULL) != MF_OK;
    mf_future_release(e);
    mf_future_release(l);
    mf_future_release(q[0]);
    mf_future_release(q[1]);

    /* 2. Exactly once, with tasks taken back while others finish. */
    mf_future m[NMIX];
    bad |= submit_wait(ex, fn, &e, "stop2") != MF_OK;
    for (long i = 0; i < NMIX; i++)
        bad |= submit(ex, fn, &m[i], "s %ld %ld %s", i % 4 == 0 ? 700 : 20,
                      i) != MF_OK;
    for (int i = 0; i < NMIX; i++) {
        int rc = mf_future_result(m[i], 60, NULL, NULL);
        if (rc != MF_OK) {
            fprintf(stderr, "recall_run: FAIL: mixed task %d: %s\n", i,
                    mf_errname(rc));
            bad = 1;
        }
        mf_future_release(m[i]);
    }
    touch("stop2");
    bad |= mf_future_result(e, 150, NULL, NULL) != MF_OK;
    mf_future_release(e);
    mf_executor_close(ex);

    int seen[NMIX] = {0};
    char p[128], line[32];
    snprintf(p, sizeof p, "%s/log", dir);
    FILE *lf = fopen(p, "r");
    while (lf && fgets(line, sizeof line, lf)) {
        long id = strtol(line, NULL, 10);
        if (id >= 0 && id < NMIX)
            seen[id]++;
    }
    if (lf)
        fclose(lf);
    for (int i = 0; i < NMIX; i++)
        if (seen[i] != 1) {
            fprintf(stderr, "recall_run: FAIL: task %d ran %d times\n", i,
                    seen[i]);
            bad = 1;
        }
    remove(p);
    snprintf(p, sizeof p, "%s/stop1", dir);
    remove(p);
    snprintf(p, sizeof p, "%s/stop2", dir);
    remove(p);
    rmdir(dir);
    if (!bad)
        printf("recall_run: ok\n");
    mf_finalize();
    return bad;
}
