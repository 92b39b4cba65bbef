/*
 * executor.h — the root's executor: its state and what every part of
 * the engine shares (executor.c). Beside it: dispatch.c, progress.c,
 * submit.c; above: the API files (open.c, map.c, wait.c, result.c);
 * below: futures, wire, observation, journal, options, the leaf utilities.
 */
#ifndef MF_EXECUTOR_H
#define MF_EXECUTOR_H

#include "future.h"
#include "journal.h"
#include "mpifutures.h"
#include "observe.h"
#include "registry.h"

/* Functions whose task time the root remembers (executor.fncost). */
#define MF_FNCOST_SLOTS 16

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MF_EX_MAGIC 0x4d464558u  /* "MFEX": open */
#define MF_EX_CLOSED 0x4d46436cu /* closed: the struct is kept */
struct mf_executor {
    uint32_t magic;
    MPI_Comm comm; /* private duplicate (MPI backend), or MPI_COMM_NULL */
    struct mf_link *link; /* how messages reach the workers (link.h) */
    /* A local pool's hooks (local.c; NULL on MPI, where a lost rank ends
     * the job): replace a dead worker, saying how it ended; reap the
     * workers at close. */
    void *backend;
    bool threads; /* a thread pool: no isolation, no per-task timeout */
    int (*revive)(mf_executor *ex, int rank, char *why, size_t len);
    void (*backend_close)(mf_executor *ex);
    /* A process pool's region for large arguments (shm.h), or NULL. */
    struct mf_shm *shm;
    int rank, size, root, nworkers;
    int *workers;           /* ranks of the workers */
    struct mf_fut **packed; /* scratch: futures in the message being built */
    mf_executor_opts opts;
    mf_reg_snap reg;
    char **hosts;  /* per rank (root only) */
    char host[64]; /* this rank's host name */
    /* pending queue */
    mf_fut *qhead, *qtail;
    /* Tasks pinned to one worker (mf_submit_opts.pin), a queue per rank,
     * allocated at the first pinned submit; npinned counts their entries
     * (cancelled ones too, until taken out). */
    mf_fut **pinq, **pinq_tail;
    size_t npinned;
    /* per-rank in-flight counts and adaptive window */
    unsigned *inflight;       /* tasks held by each worker */
    uint64_t *inflight_units; /* the same, a chunk counting its items */
    /* Mean time of one unit (a task, or an item of a chunk) per function,
     * a small cache (a collision forgets the older function): functions
     * differ by orders of magnitude, so what tiny tasks taught says
     * nothing about a map's heavy items. ns < 0: not known yet. */
    struct {
        mf_fn_id fn;
        double ns;
    } fncost[MF_FNCOST_SLOTS];
    size_t outstanding; /* held futures: queued + running */
    size_t held_items;  /* the items of those (a chunk counts its items) */
    uint64_t nsubmits;
    int rr;       /* round-robin start */
    int last_src; /* worker that answered last, or -1 */
    /* sends in progress */
    struct mf_send **sends;
    size_t nsends, capsends;
    bool shutdown;
    bool closing;  /* mf_executor_close under way */
    bool released; /* workers told to stop */
    bool in_progress;
    int oversub;                   /* more ranks than cores on this node */
    uint32_t timeout_ms;           /* opts.task_timeout in ms */
    struct mf_executor *next_open; /* list of open executors */
    /* progress thread (opts.progress_thread) */
    bool has_thread, stop_thread;
    pthread_t thread;
    /* signals (opts.handle_signals) */
    bool signals;    /* handlers installed for this executor */
    int interrupted; /* the signal, once noticed */
    double interrupt_at;
    bool abandoned; /* running tasks given up after the grace period */
    mf_obs obs;
    mf_journal *journal;
    bool journal_warned;
    /* taking back tasks queued on a busy worker (executor.c) */
    double *heard_at;         /* per rank: last results, or start of work */
    unsigned char *recalling; /* per rank: RECALL sent, RETURNED awaited */
    double recall_check_at;   /* next look for stuck queues */
};
/* Callers inside mf__wait_until; the progress thread stands back while
 * any are (they make progress themselves). Lock held. */
extern int mf__waiters;

/* MF_OK if `ex` is an open executor, else MF_EINVAL / MF_EBADHANDLE.
 * Call it with the lock held (a close on another thread changes it). */
int mf__ex_check(const mf_executor *ex, const char *fn);
/* Free what `ex` holds; with `keep`, the struct stays, marked closed. */
void mf__ex_free(mf_executor *ex, int keep);

/* Make progress on every open executor. `activity` (may be NULL) is set
 * true if anything was sent or received. Lock held. */
int mf__progress_all(bool *activity);
int mf__progress(mf_executor *ex, bool *activity);
/* Queue a future on `ex` (lock held). */
void mf__enqueue(mf_executor *ex, mf_fut *f);
/* Wait (lock held, dropped while idle) until pred(ctx) or the deadline.
 * Returns MF_OK, MF_ETIMEDOUT, or an error from progress. */
int mf__wait_until(bool (*pred)(void *), void *ctx, double deadline);
/* Validate and copy an argument into a new future (not queued yet). */
int mf__new_task(mf_executor *ex, mf_fn_id fn, const void *arg, size_t len,
                 mf_fut **out);
int mf__check_submit(mf_executor *ex, mf_fn_id fn, const void *arg,
                     size_t len);
/* With a journal: complete a new future from it if it holds the answer
 * (returns true; do not queue it then). */
bool mf__journal_try(mf_executor *ex, mf_fut *f);

/* Finish a future of an executor: drop the executor's hold on it (it no
 * longer counts as outstanding work), then mf__fut_finish(). Every
 * completion of a future that may be held goes through here. */
void mf__ex_finish(mf_fut *f, int state);
/* Fail `f` with a complete error (message, function, host, rank and
 * reason all recorded first), then finish it. */
void mf__ex_fail(mf_executor *ex, mf_fut *f, int rank, int reason,
                 const char *msg, size_t msglen);

#endif
