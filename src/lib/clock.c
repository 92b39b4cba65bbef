/* clock.c — monotonic time and the idle backoff used by every wait loop.
 *
 * Why a backoff: MPI's blocking calls busy-poll, so an idle rank would burn
 * a core (the most common complaint about MPI executors). A waiting rank
 * here spins for a few microseconds (latency stays low while work flows),
 * then yields (lets a co-scheduled rank run on an oversubscribed node),
 * then sleeps with exponential growth up to a ceiling (~0% CPU when idle).
 */

#include "clock.h"

#include <dlfcn.h>
#include <math.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double mf__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double mf__deadline(double timeout)
{
    if (timeout < 0 || isinf(timeout))
        return INFINITY;
    return mf__now() + timeout;
}

/* Spin for this long after activity before yielding, then yield for this
 * long before sleeping. */
#define MF_SPIN_SECONDS 50e-6
#define MF_YIELD_SECONDS 1e-3
/* With more ranks than cores, yielding is a busy loop whenever the other
 * ranks sleep (tasks that block, or wait for I/O), and results arriving
 * every few hundred microseconds would keep a waiter yielding for ever
 * (each result restarts the backoff): there, go to short sleeps after
 * this long instead. */
#define MF_YIELD_OVERSUB_SECONDS 150e-6
#define MF_SLEEP_START_US 20
/* A waiting rank may sleep up to this share of the time it has been idle
 * (so sleeping adds at most ~10% to a wait), up to MF_GROW_MAX_US. */
#define MF_SLEEP_SHARE 0.1
#define MF_GROW_MAX_US 10000u

void mf__backoff_init(mf_backoff *b, int oversub)
{
    b->oversub = oversub;
    b->nap = NULL;
    b->nap_ctx = NULL;
    mf__backoff_reset(b);
}

void mf__backoff_reset(mf_backoff *b)
{
    b->polls = 0;
    b->phase = 0;
    b->sleep_us = MF_SLEEP_START_US;
    b->idle_since = 0;
}

void mf__backoff_idle(mf_backoff *b, double deadline, unsigned ceiling_us)
{
    double now;
    if (b->polls++ == 0) {
        b->idle_since = mf__now();
        return;
    }
    /* While spinning, read the clock every 16 polls only. With more ranks
     * than cores on this node, every poll yields: a spinning rank would
     * take the core from the rank it waits for. */
    if (b->phase == 0 && (b->polls & 15) != 0) {
        if (b->oversub)
            sched_yield();
        return;
    }
    now = mf__now();
    if (b->phase == 0 && now - b->idle_since >= MF_SPIN_SECONDS)
        b->phase = 1;
    if (b->phase == 1 &&
        now - b->idle_since >=
            (b->oversub ? MF_YIELD_OVERSUB_SECONDS : MF_YIELD_SECONDS))
        b->phase = 2;
    if (b->phase == 0) {
        if (b->oversub)
            sched_yield();
        return;
    }
    if (b->phase == 1) {
        sched_yield();
        return;
    }
    {
        /* Sleep at most 10% of the time idle so far (so sleeping adds at
         * most ~10% to any wait), at least the start length, never more
         * than the caller's ceiling. */
        double idle = now - b->idle_since, left = deadline - now;
        double share = idle * 1e6 * MF_SLEEP_SHARE;
        unsigned max;
        if (share < MF_SLEEP_START_US)
            share = MF_SLEEP_START_US;
        if (share > MF_GROW_MAX_US)
            share = MF_GROW_MAX_US;
        max = (unsigned)share;
        if (max > ceiling_us)
            max = ceiling_us;
        if (max == 0) { /* the caller wants polling: yield only */
            sched_yield();
            return;
        }
        if (b->nap && left > 0) {
            /* Woken by work: no need to ration the sleep (the 10% rule
             * bounds the latency of blind sleeps only). */
            unsigned n = ceiling_us;
            if (left < (double)n * 1e-6)
                n = (unsigned)(left * 1e6) + 1;
            if (b->nap(b->nap_ctx, n) == 0)
                return;
        }
        /* (A ceiling of 0 earlier must not leave the length stuck at 0.) */
        if (b->sleep_us == 0)
            b->sleep_us = 1;
        if (b->sleep_us > max)
            b->sleep_us = max;
        unsigned us = b->sleep_us;
        struct timespec ts;
        if (left <= 0)
            return;
        if (left < (double)us * 1e-6)
            us = (unsigned)(left * 1e6) + 1;
        ts.tv_sec = us / 1000000;
        ts.tv_nsec = (long)(us % 1000000) * 1000;
        nanosleep(&ts, NULL);
        if (b->sleep_us < max) {
            b->sleep_us *= 2;
            if (b->sleep_us > max)
                b->sleep_us = max;
        }
    }
}

bool mf__oversubscribed(const cpu_set_t *sets, int n)
{
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int i = 0; i < n; i++)
        CPU_OR(&all, &all, &sets[i]);
    return n > CPU_COUNT(&all);
}

void mf__cpuset(cpu_set_t *set)
{
    if (sched_getaffinity(0, sizeof *set, set) == 0 && CPU_COUNT(set) > 0)
        return;
    /* Unknown: every online CPU. */
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    CPU_ZERO(set);
    for (long c = 0; c < (n > 0 ? n : 1) && c < CPU_SETSIZE; c++)
        CPU_SET((int)c, set);
}

/* ---- Open MPI's own yield --------------------------------------------
 * Open MPI yields the CPU inside any MPI call that finds nothing to do
 * once it knows the node is oversubscribed (mpi_yield_when_idle, set by
 * `mpirun --oversubscribe`). Our polls are non-blocking and the backoff
 * above already decides when to yield or sleep, so that yield only adds a
 * context switch to every probe: with 3 ranks on 2 cores the two workers
 * took turns task by task, and 2 workers ran 0.65 M empty tasks/s against
 * 3 M/s without it. So the library turns it off while it polls and puts
 * it back for the caller's own MPI calls. The switch is found at run time
 * (dlsym), so other MPIs, or an Open MPI without it, are simply left
 * alone. One thread at a time calls these: on the root under the library
 * lock, on a worker the thread that serves. */
typedef bool (*mf_yield_fn)(bool);
static mf_yield_fn mf_yield_set;
static bool mf_yield_orig;
static unsigned mf_quiet_depth;
static bool mf_yield_looked;

void mf__mpi_quiet_setup(void)
{
    if (!mf_yield_looked) {
        mf_yield_looked = true;
        /* POSIX leaves function pointers from dlsym to this cast. */
        void *p = dlsym(RTLD_DEFAULT, "opal_progress_set_yield_when_idle");
        memcpy(&mf_yield_set, &p, sizeof p);
    }
}

/* The setting is read as it is switched off (the call returns the old
 * value), so a program that changes it between library calls gets its
 * own value back. */
void mf__mpi_quiet_enter(void)
{
    if (mf_quiet_depth++ == 0 && mf_yield_set)
        mf_yield_orig = mf_yield_set(false);
}

void mf__mpi_quiet_leave(void)
{
    if (mf_quiet_depth > 0 && --mf_quiet_depth == 0 && mf_yield_set &&
        mf_yield_orig)
        (void)mf_yield_set(true);
}

unsigned mf__mpi_quiet_suspend(void)
{
    unsigned d = mf_quiet_depth;
    if (d > 0 && mf_yield_set && mf_yield_orig)
        (void)mf_yield_set(true);
    mf_quiet_depth = 0;
    return d;
}

void mf__mpi_quiet_resume(unsigned depth)
{
    mf_quiet_depth = depth;
    if (depth > 0 && mf_yield_set)
        mf_yield_orig = mf_yield_set(false);
}

uint64_t mf__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
