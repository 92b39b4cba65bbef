/*
 * internal.h — declarations shared by the library's files; not installed.
 *
 * Concurrency model: one process-wide recursive lock (mf__lock, lock.c)
 * guards all library state. Every public entry point takes it; blocking
 * waits drop it while they sleep. Done callbacks never run under it: a
 * future is finished (state, result, error) under the lock, its callbacks
 * are deferred (mf__defer) and run by the thread that drops the lock to
 * depth 0. Blocking calls from a callback fail with MF_EINCALLBACK,
 * tracked per thread in mf__cb_depth.
 */
#ifndef MF_INTERNAL_H
#define MF_INTERNAL_H

#include "mpifutures.h"

#include <pthread.h>
#include <sched.h> /* cpu_set_t (needs _GNU_SOURCE, set by the build) */
#include <stdbool.h>
#include <stdint.h>

/* ---- allocation (alloc.c): replaceable so tests can inject failures -- */
void *mf__malloc(size_t n);
void *mf__calloc(size_t n, size_t size);
void *mf__realloc(void *p, size_t n);
void mf__free(void *p);
char *mf__strdup(const char *s);
/* Test hook: make the nth allocation from now fail (0 = never). */
void mf__alloc_fail_after(unsigned long n);
/* Allocations left before the injected failure (0: it happened or none). */
unsigned long mf__alloc_fail_pending(void);
/* Test hook: blocks allocated through the functions above, not freed. */
long mf__alloc_live(void);
/* Large blocks (MF_BIG_MIN and up) through a small cache of freed ones,
 * so big payloads do not land in fresh pages every time. Free with
 * mf__big_put() only; mf__big_trim() returns the cache to the system. */
#define MF_BIG_MIN ((size_t)1 << 20)
void *mf__big_get(size_t n);
void mf__big_put(void *p);
void mf__big_trim(void);
/* Task result buffers (any size); free with mf__res_free() only. */
void *mf__res_alloc(size_t n);
void *mf__res_realloc(void *p, size_t n);
void mf__res_free(void *p);

/* ---- errors (error.c) ----------------------------------------------- */
/* Record a detail message for mf_last_error() and return `err`. */
int mf__fail(int err, const char *fmt, ...) MF_PRINTF(2, 3);
void mf__clear_error(void);

/* ---- lock, deferred work and callback depth (lock.c) ------------------ */
void mf__lock(void);
/* Drop one level; dropping the last level first runs the deferred work. */
void mf__unlock(void);
/* Run fn(arg) once the lock is dropped to depth 0 (lock held; FIFO). fn
 * is called with the lock held once and drops it around user code. */
int mf__defer(void (*fn)(void *), void *arg);
/* Around user code inside deferred work: drop / retake one level without
 * running deferred work. */
void mf__unlock_raw(void);
void mf__lock_raw(void);
/* Holding the lock once: run the deferred work now (drops the lock for
 * it), so callbacks see a completion before the next dispatch. */
void mf__run_deferred(void);
/* Would mf__run_deferred() run anything now? */
bool mf__deferred_ready(void);
extern _Thread_local int mf__cb_depth;

/* ---- time and backoff (clock.c) -------------------------------------- */
double mf__now(void); /* monotonic seconds */
/* Deadline for a timeout: +inf for negative timeouts. */
double mf__deadline(double timeout);

typedef struct mf_backoff {
    unsigned polls;    /* idle polls since the last activity */
    int phase;         /* 0 spin, 1 yield, 2 sleep */
    int oversub;       /* more ranks than cores here: yield while spinning */
    unsigned sleep_us; /* current sleep length */
    double idle_since;
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

/* ---- registry (registry.c) ------------------------------------------ */
typedef struct mf_reg_entry {
    mf_fn_id id;
    mf_task_fn fn;
    void *userdata;
    char *name;
} mf_reg_entry;

/* An immutable copy of the registry, sorted by id, taken at open. */
typedef struct mf_reg_snap {
    size_t n;
    mf_reg_entry *e;
} mf_reg_snap;

int mf__registry_snapshot(mf_reg_snap *out);
void mf__registry_snap_free(mf_reg_snap *s);
const mf_reg_entry *mf__snap_find(const mf_reg_snap *s, mf_fn_id id);
const mf_reg_entry *mf__snap_find_name(const mf_reg_snap *s,
                                       const char *name);
uint64_t mf__hash64(const char *s);

/* ---- futures (future.c, handle.c) ------------------------------------ */
enum mf_fstate {
    MF_FS_PENDING = 0, /* queued on the root */
    MF_FS_RUNNING,     /* sent to a worker */
    MF_FS_OK,          /* finished with a result */
    MF_FS_FAILED,      /* finished with a task error */
    MF_FS_CANCELLED
};

typedef struct mf_cb {
    mf_done_fn fn;
    void *ud;
} mf_cb;

/* A received message buffer, shared by the results that point into it. */
typedef struct mf_rbuf {
    size_t refs;
    uint32_t big; /* from mf__big_get */
    uint32_t pad;
    size_t len;
    uint64_t data[]; /* 8-byte aligned payload */
} mf_rbuf;
mf_rbuf *mf__rbuf_new(size_t len);
void mf__rbuf_unref(mf_rbuf *r);
/* wire.c: receive an out-of-line payload of `len` bytes from `src`. */
int mf__wire_recv_ool(MPI_Comm comm, int src, size_t len, mf_rbuf **out);

typedef struct mf_ferr {
    mf_task_error pub;
    char *message;
    char *function;
    char *host;
} mf_ferr;
extern mf_ferr mf__oom_err; /* shared, never freed */

#define MF_INLINE_ARG 16

typedef struct mf_fut {
    uint32_t gen;    /* handle generation of this slot */
    uint32_t index;  /* slot index */
    uint32_t refs;   /* user references */
    uint8_t live;    /* slot in use */
    uint8_t state;   /* enum mf_fstate */
    uint8_t held;    /* counted in the executor's outstanding work */
    uint8_t queued;  /* linked in the pending queue (removed lazily) */
    uint8_t in_cb;   /* callbacks deferred (1) or running (2) */
    uint8_t isolate; /* run in a child process */
    uint16_t nwatch; /* the first nwatch callbacks are the library's own
                        watchers, run under the lock at completion */
    int worker;      /* rank it was sent to */
    uint32_t mark;   /* scratch for duplicate detection (lock held) */
    uint32_t ncb, capcb;
    uint32_t nitems;     /* a chunk of map items (0 = a single task) */
    uint32_t timeout_ms; /* isolated run limit (0 = none) */
    struct mf_executor *ex;
    struct mf_fut *next; /* pending queue / free list */
    mf_fn_id fn;
    void *arg;                /* owned copy, inline_buf, or the caller's */
    void (*arg_free)(void *); /* the caller's buffer: how to release it */
    size_t arg_len;
    /* The slot is the root's whole cost of a held future, so what is
     * never needed at the same time shares space: the argument digest
     * (journal only) is dead once the result is recorded. */
    union {
        uint64_t digest[2]; /* until finished */
        struct {
            const void *res; /* once finished OK */
            size_t res_len;
        };
    };
    mf_rbuf *rbuf;
    mf_ferr *err;
    mf_cb cb0;  /* first callback inline */
    mf_cb *cbs; /* further callbacks */
    /* Small arguments until the task is sent; then small results (so a
     * held future keeps no message buffer alive: its slot is all). */
    uint64_t inline_buf[MF_INLINE_ARG / 8];
} mf_fut;

/* handle.c: slots for futures, addressed by (generation, index). */
mf_fut *mf__fut_alloc(void);
void mf__fut_slot_free(mf_fut *f);
mf_fut *mf__fut_lookup(mf_future h); /* NULL if stale */
mf_future mf__fut_handle(const mf_fut *f);
/* Call fn on every live future (rare, slow paths only). */
void mf__fut_foreach(void (*fn)(mf_fut *, void *), void *ctx);
/* future.c: a future the caller may use (referenced, or inside its own
 * callbacks); NULL if stale. */
mf_fut *mf__fut_usable(mf_future h);

/* future.c */
/* Mark finished, drop the executor's hold, run the watchers, defer the
 * user callbacks, free if unused. Everything about the outcome (result,
 * error with its reason) must be recorded before this call. */
void mf__fut_finish(mf_fut *f, int state);
void mf__fut_maybe_free(mf_fut *f);
/* A user callback, run after the lock is dropped. */
int mf__fut_add_cb(mf_fut *f, mf_done_fn fn, void *ud);
/* A library watcher (O(1), no user code), run under the lock at
 * completion, before any user callback. */
int mf__fut_add_watch(mf_fut *f, mf_done_fn fn, void *ud);
void mf__fut_remove_cb(mf_fut *f, mf_done_fn fn, void *ud);
static inline bool mf__fut_is_done(const mf_fut *f)
{
    return f->state >= MF_FS_OK;
}
/* Counters bumped on every completion / failure, to skip rescans. */
extern uint64_t mf__completions;
extern uint64_t mf__failures;
/* A fresh value for mf_fut.mark scans. */
uint32_t mf__next_mark(void);

/* ---- journal (journal.c) --------------------------------------------- */
/* Write all n bytes to fd (retrying short writes and EINTR): 0, or -1. */
int mf__write_all(int fd, const void *p, size_t n);
typedef struct mf_journal mf_journal;
void mf__hash128(const void *data, size_t len, uint64_t seed,
                 uint64_t out[2]);
uint64_t mf__registry_digest(const mf_reg_snap *s);
int mf__journal_open(const char *path, uint64_t regdigest, mf_journal **out,
                     char *msg, size_t msglen);
int mf__journal_parse(mf_journal *j, const unsigned char *buf, size_t len,
                      uint64_t regdigest, size_t *good, char *msg,
                      size_t msglen);
void mf__journal_close(mf_journal *j);
void mf__journal_digest(const void *arg, size_t len, uint64_t d[2]);
int mf__journal_find(mf_journal *j, uint64_t fn, const uint64_t d[2],
                     uint32_t *status, uint32_t *reason, const void **bytes,
                     size_t *len);
int mf__journal_append(mf_journal *j, uint64_t fn, const uint64_t d[2],
                       uint32_t status, uint32_t reason, const void *bytes,
                       size_t len);
void mf__journal_counts(const mf_journal *j, size_t *loaded, size_t *reused,
                        size_t *torn);
/* Records skipped at open: damaged ones (bad checksum or header, with
 * good records after them), and stale ones (a timeout, a crash or any
 * other outcome that is not replayed; written by older versions). */
void mf__journal_skipped(const mf_journal *j, size_t *damaged, size_t *stale);

/* ---- observation (observe.c) ------------------------------------------ */
enum { MF_EV_TASK = 0, MF_EV_DISPATCH = 1, MF_EV_WAIT = 2 };
typedef struct mf_trace_ev {
    uint64_t ts_ns, dur_ns; /* root clock */
    int tid;                /* rank */
    uint32_t kind;
    mf_fn_id fn;
    uint64_t tag;
    uint8_t ok;
} mf_trace_ev;
typedef struct mf_obs_worker {
    uint64_t tasks, failures, bytes_in, bytes_out, busy_ns, max_ns;
} mf_obs_worker;
typedef struct mf_obs {
    uint64_t t_open_ns;
    mf_obs_worker *w; /* per rank */
    int64_t *offset;  /* per rank: root clock minus that rank's clock */
    char *trace_path;
    mf_trace_ev *ev;
    size_t nev, capev, trace_lost;
    uint64_t submitted, done, failed;
    int tty, printed;
    double last_print;
} mf_obs;
uint64_t mf__mono_ns(void);

/* ---- executor (executor.c) ------------------------------------------ */
#define MF_EX_MAGIC 0x4d464558u  /* "MFEX": open */
#define MF_EX_CLOSED 0x4d46436cu /* closed: the struct is kept */
struct mf_executor {
    uint32_t magic;
    MPI_Comm comm; /* private duplicate */
    int rank, size, root, nworkers;
    int *workers;           /* ranks of the workers */
    struct mf_fut **packed; /* scratch: futures in the message being built */
    mf_executor_opts opts;
    mf_reg_snap reg;
    char **hosts;  /* per rank (root only) */
    char host[64]; /* this rank's host name */
    /* pending queue */
    mf_fut *qhead, *qtail;
    /* per-rank in-flight counts and adaptive window */
    unsigned *inflight;
    double task_ns_avg;
    size_t outstanding; /* held futures: queued + running */
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
int mf__obs_init(mf_executor *ex, const int64_t *offsets);
void mf__obs_result(mf_executor *ex, int src, const mf_fut *f, uint64_t start,
                    uint64_t ns, size_t bytes, int failed);
void mf__obs_phase(mf_executor *ex, int kind, uint64_t t0, uint64_t t1);
void mf__obs_tick(mf_executor *ex);
int mf__obs_stats(mf_executor *ex, mf_worker_stats *out, size_t n);
void mf__obs_close(mf_executor *ex);
void mf__obs_free(mf_executor *ex);
/* Callers inside mf__wait_until; the progress thread stands back while
 * any are (they make progress themselves). Lock held. */
extern int mf__waiters;

/* MF_OK if `ex` is an open executor, else MF_EINVAL / MF_EBADHANDLE.
 * Call it with the lock held (a close on another thread changes it). */
int mf__ex_check(const mf_executor *ex, const char *fn);
/* Free what `ex` holds; with `keep`, the struct stays, marked closed. */
void mf__ex_free(mf_executor *ex, int keep);
/* Root: put a set-up executor to work (open list, signals, progress
 * thread); on failure it is closed and the error returned. */
int mf__ex_start(mf_executor *ex);
/* Tell worker `dest` of `comm` to stop serving. */
int mf__send_shutdown(MPI_Comm comm, int dest);

/* ---- options (opts.c) ------------------------------------------------ */
#define MF_DEFAULT_WINDOW 64
#define MF_MAX_WINDOW 65536u
#define MF_DEFAULT_MAX_ARG ((size_t)1 << 30)
#define MF_DEFAULT_IDLE_US 10000
#define MF_DEFAULT_GRACE 10
/* Defaults, then the caller's values, then MF_* variables, then range
 * checks: MF_OK or MF_EINVAL with a message in msg. */
int mf__opts_resolve(const mf_executor_opts *in, mf_executor_opts *out,
                     char *msg, size_t msglen);
/* Seconds to whole milliseconds (>= 1 if positive; 0 for none). */
int mf__timeout_ms(double t, uint32_t *ms);

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

/* wait.c: next index (into the distinct futures given, in input order)
 * of an as_completed iterator; lock held. */
int mf__ac_next(mf_as_completed_iter *it, size_t *index);

/* ---- signals (signal.c) --------------------------------------------- */
int mf__signals_install(void);
void mf__signals_restore(void);
int mf__signal_caught(void); /* the first signal caught, or 0 */
const char *mf__signal_name(int sig);

/* ---- crash reports (crash.c) ------------------------------------------ */
void mf__crash_install(int rank, const char *host);
void mf__crash_restore(void);
/* The task about to run (NULL: none) and how many tasks the rank holds. */
void mf__crash_task(const char *name, size_t held);
/* In the child process of an isolated task. */
void mf__crash_child(void);

/* ---- worker (worker.c) ---------------------------------------------- */
int mf__serve(mf_executor *ex);
/* Run one call of `fn` in this process (the initializer); its failure
 * message goes to err. */
int mf__run_once(mf_executor *ex, mf_fn_id fn, const void *arg, size_t len,
                 char *err, size_t errlen);

#endif
