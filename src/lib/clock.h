/*
 * clock.h — monotonic time, the idle backoff, Open MPI's yield switch, CPU
 * sets (clock.c).
 */
#ifndef MF_CLOCK_H
#define MF_CLOCK_H

#include <sched.h> /* cpu_set_t (needs _GNU_SOURCE, set by the build) */
#include <stdbool.h>
#include <stdint.h>

double mf__now(void); /* monotonic seconds */
/* Deadline for a timeout: +inf for negative timeouts. */
double mf__deadline(double timeout);

typedef struct mf_backoff {
    unsigned polls;    /* idle polls since the last activity */
    int phase;         /* 0 spin, 1 yield, 2 sleep */
    int oversub;       /* more ranks than cores here: yield while spinning */
    unsigned sleep_us; /* current sleep length */
    double idle_since;
    /* Sleeps through this, when set (a link that wakes on a message):
     * then a sleep may be as long as the ceiling allows at once, since
     * work ends it. -1 from it: sleep blind. */
    int (*nap)(void *ctx, unsigned us);
    void *nap_ctx;
} mf_backoff;
void mf__backoff_init(mf_backoff *b, int oversub);
void mf__backoff_reset(mf_backoff *b);
/* One idle step: spin for 50 us, then yield until 1 ms, then sleep with
 * exponential growth up to 10% of the time idle so far (at least 20 us,
 * at most 10 ms, and never above ceiling_us; ceiling 0 = never sleep),
 * never past `deadline`. So a wait that turns out long costs ~0% CPU and
 * at most ~10% extra latency, while short waits stay hot. Called without
 * the lock. */
void mf__backoff_idle(mf_backoff *b, double deadline, unsigned ceiling_us);

/* Open MPI's yield-when-idle off while the library polls (clock.c):
 * setup once (finds the switch), then enter/leave around the library's
 * MPI polling; they nest. Root: lock held; worker: the serving thread. */
void mf__mpi_quiet_setup(void);
void mf__mpi_quiet_enter(void);
void mf__mpi_quiet_leave(void);
/* Around user code (a task): the caller's setting back, then ours. */
unsigned mf__mpi_quiet_suspend(void);
void mf__mpi_quiet_resume(unsigned depth);

/* The CPUs this process may run on (its affinity; every online CPU if
 * that cannot be read). */
void mf__cpuset(cpu_set_t *set);
/* More ranks than CPUs to share: n ranks of one host, with affinities
 * sets[0..n-1], against the union of those (ranks bound one to a core
 * each see one CPU apiece and are not oversubscribed). */
bool mf__oversubscribed(const cpu_set_t *sets, int n);
/* Monotonic nanoseconds (the trace and task times). */
uint64_t mf__mono_ns(void);

#endif
