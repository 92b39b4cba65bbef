/*
 * watchdog.c — the lost-rank watchdog thread (see watchdog.h).
 *
 * Design: a thread, not a check in the main loop, because the main
 * thread may sit in a blocking wait of the library for the whole phase;
 * it polls /proc (every 50 ms on the root, 100 ms on a worker) and ends
 * the process with _exit, the only way out that does not wait for the
 * tasks that can never finish. One watchdog per process, started and
 * stopped by main around each phase.
 */
#define _POSIX_C_SOURCE 200809L

#include "watchdog.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "ranks.h"
#include "report.h"

typedef struct watchdog {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop;
    mf_executor *ex; /* root: the phase's executor; NULL on a worker */
    int phase;
    const opts *o;
} watchdog;

static watchdog g_wd = {.mu = PTHREAD_MUTEX_INITIALIZER,
                        .cv = PTHREAD_COND_INITIALIZER};

/* Wait up to `ms` or until stopped; 1 if stopped. */
static int wd_pause(watchdog *w, long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += ms * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&w->mu);
    while (!w->stop)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0)
            break;
    int stop = w->stop;
    pthread_mutex_unlock(&w->mu);
    return stop;
}

static void wd_lost_exit(watchdog *w, int lost, int nlost)
{
    const rank_id *x = rank_of(lost);
    char more[64] = "";
    if (nlost > 1)
        snprintf(more, sizeof more, " (and %d more)", nlost - 1);
    char done[160];
    if (w->phase == 1)
        snprintf(done, sizeof done, "%zu of %zu integers finished",
                 get_done(), w->o->count);
    else
        snprintf(done, sizeof done, "--huge %llu not finished",
                 (unsigned long long)w->o->huge);
    fflush(stdout);
    fprintf(stderr,
            "mf-factorial: worker rank %d (pid %lld on %s)%s was lost: its "
            "process is gone, so the job cannot finish (a SIGTERM now is "
            "the launcher ending the job, not a walltime stop); %s; no "
            "summary; exiting now\n",
            lost, (long long)x->pid, x->host, more, done);
    fflush(stderr);
    _exit(EX_RUNTIME);
}

static void *wd_main(void *arg)
{
    watchdog *w = arg;
    int noted = 0;
    do {
        if (w->ex == NULL) { /* a worker: follow the root */
            if (rank_gone(0) == 1) {
                fprintf(stderr,
                        "mf-factorial: rank %d: the root (rank 0) is gone; "
                        "exiting\n",
                        g_rank);
                fflush(stderr);
                _exit(EX_RUNTIME);
            }
            continue;
        }
        int lost = -1, nlost = 0, unknown = 0;
        for (int r = 1; r < ranks_count(); r++) {
            int g = rank_gone(r);
            if (g == 1 && nlost++ == 0)
                lost = r;
            unknown += g < 0;
        }
        if (nlost)
            wd_lost_exit(w, lost, nlost);
        int sig = mf_executor_interrupted(w->ex);
        if (sig == SIGTERM && !noted) {
            noted = 1;
            if (unknown)
                fprintf(stderr,
                        "mf-factorial: SIGTERM: either the batch system "
                        "stops the job (walltime), or the launcher ends it "
                        "because a rank was lost: %d worker(s) run on other "
                        "nodes and cannot be checked from here (see the "
                        "launcher's messages); the workers on this node "
                        "are alive\n",
                        unknown);
        }
    } while (!wd_pause(w, w->ex ? 50 : 100));
    return NULL;
}

/* Start watching (root: `ex` of `phase`; worker: ex NULL). */
void wd_start(mf_executor *ex, int phase, const opts *o)
{
    if (!ranks_known() || g_wd.running)
        return;
    if (ex == NULL && rank_gone(0) < 0)
        return; /* the root is on another node: nothing to watch */
    g_wd.ex = ex;
    g_wd.phase = phase;
    g_wd.o = o;
    g_wd.stop = 0;
    if (pthread_create(&g_wd.th, NULL, wd_main, &g_wd) == 0)
        g_wd.running = 1;
}

void wd_stop(void)
{
    if (!g_wd.running)
        return;
    pthread_mutex_lock(&g_wd.mu);
    g_wd.stop = 1;
    pthread_cond_signal(&g_wd.cv);
    pthread_mutex_unlock(&g_wd.mu);
    pthread_join(g_wd.th, NULL);
    g_wd.running = 0;
}
