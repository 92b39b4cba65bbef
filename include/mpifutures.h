/**
 * @file mpifutures.h
 * Python's concurrent.futures in C, on MPI.
 *
 * One binary runs on every rank. Rank `root` of a communicator is the
 * executor: it submits calls of *registered functions* with byte-string
 * arguments; the other ranks (workers) run them and send results back; the
 * root completes *futures*.
 *
 *     mf_register("square", square, NULL, &sq);          // every rank
 *     mf_executor *ex;
 *     mf_executor_open(MPI_COMM_WORLD, 0, NULL, &ex);   // workers serve here
 *     if (ex) {                                          // root only
 *         mf_future f;
 *         mf_submit(ex, sq, &x, sizeof x, &f);
 *         mf_future_result(f, MF_FOREVER, &data, &len);
 *         mf_future_release(f);
 *         mf_executor_close(ex);                         // workers return
 *     }
 *
 * Everything declared here is the public API; anything else is internal.
 *
 * Conventions, true of every function unless its comment says otherwise:
 *  - Fallible calls return an error code: MF_OK (0) or one of MF_E* below;
 *    mf_strerror() names it and mf_last_error() gives a longer message for
 *    the calling thread's last failure.
 *  - Out-parameters are written only on success (or set to an empty value).
 *  - Pointers handed out (result bytes, error messages) are owned by the
 *    library and stay valid for as long as the caller holds the object they
 *    came from (see each function).
 *  - Thread safety: every call may be made from any thread, provided MPI
 *    was initialised with MPI_THREAD_SERIALIZED or higher (one internal
 *    lock serialises the library's MPI calls); at a lower thread level,
 *    call the library only from the thread that initialised MPI.
 *  - Progress (sending tasks, receiving results, running done callbacks)
 *    happens inside the library's calls on the root (submit, result,
 *    wait, as_completed, map_next, shutdown), in the calling thread; with
 *    the progress_thread option, also in a thread of the library's own
 *    while no caller is waiting.
 *  - Times are seconds as double; MF_FOREVER (any negative value) waits
 *    without limit; 0 polls once without blocking.
 */
#ifndef MPIFUTURES_H
#define MPIFUTURES_H

#include <mpi.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define MF_API
#elif defined(__GNUC__)
#define MF_API __attribute__((visibility("default")))
#else
#define MF_API
#endif

#if defined(__GNUC__)
#define MF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MF_PRINTF(a, b)
#endif

/* ---- Version -------------------------------------------------------- */

/** Major version: changes break the API or the wire format. */
#define MF_VERSION_MAJOR 0
/** Minor version: additions. */
#define MF_VERSION_MINOR 1
/** Patch version: fixes. */
#define MF_VERSION_PATCH 0
/* The three numbers above are the only place the version is written: the
 * build reads them from here (CMakeLists.txt) for the libraries' SOVERSION,
 * mpifutures.pc and the CMake package, and the string below is made of
 * them. */
/** The argument, after macro expansion, as a string literal
 *  (MF_STRINGIFY(MF_VERSION_MINOR) is "1"). */
#define MF_STRINGIFY(x) MF_STRINGIFY_(x)
/** The argument as written, as a string literal (used by MF_STRINGIFY). */
#define MF_STRINGIFY_(x) #x
/** The version as a string, "MAJOR.MINOR.PATCH" made of the numbers above;
 *  the same as mf_version() returns. */
#define MF_VERSION_STRING                                                    \
    MF_STRINGIFY(MF_VERSION_MAJOR)                                           \
    "." MF_STRINGIFY(MF_VERSION_MINOR) "." MF_STRINGIFY(MF_VERSION_PATCH)

/** The library's version string ("MAJOR.MINOR.PATCH"); static storage. */
MF_API const char *mf_version(void);

/* ---- Errors --------------------------------------------------------- */

/**
 * The one table of error codes: X(NAME, value, message). It generates the
 * enum below, mf_strerror() and mf_errname(), so they cannot drift apart.
 */
#define MF_ERROR_TABLE(X)                                                    \
    X(MF_OK, 0, "success")                                                   \
    X(MF_EINVAL, 1, "invalid argument")                                      \
    X(MF_ENOMEM, 2, "out of memory")                                         \
    X(MF_ENOENT, 3, "unknown function id")                                   \
    X(MF_EEXIST, 4, "function name already registered")                      \
    X(MF_ECOLLISION, 5, "function id collides with another name")            \
    X(MF_ETIMEDOUT, 6, "timed out waiting")                                  \
    X(MF_ECANCELLED, 7, "future was cancelled")                              \
    X(MF_ETASK, 8, "task failed")                                            \
    X(MF_ESHUTDOWN, 9, "executor is shut down")                              \
    X(MF_EBADHANDLE, 10, "invalid or released handle")                       \
    X(MF_EINCALLBACK, 11, "blocking call from inside a done callback")       \
    X(MF_E2BIG, 12, "argument or result too large")                          \
    X(MF_EMPI, 13, "MPI call failed")                                        \
    X(MF_EPROTO, 14, "malformed message")                                    \
    X(MF_EMISMATCH, 15, "function registries differ between ranks")          \
    X(MF_ENOWORKERS, 16, "communicator has no worker ranks")                 \
    X(MF_EDONE, 17, "iterator exhausted")                                    \
    X(MF_ESTATE, 18, "call not valid in the current state")                  \
    X(MF_EBROKEN, 19, "executor is broken")                                  \
    X(MF_EINTR, 20, "interrupted by a signal")                               \
    X(MF_ESIZE, 21, "result size differs from the size expected")

/** Error codes. MF_OK is 0; every other value is a failure. */
typedef enum mf_err {
#define MF_X_ENUM(name, value, msg) name = value,
    MF_ERROR_TABLE(MF_X_ENUM)
#undef MF_X_ENUM
        MF_ERR_COUNT_
} mf_err;

/** A short English description of `err`; static storage, never NULL
 *  (unknown codes give "unknown error"). Thread-safe. */
MF_API const char *mf_strerror(int err);

/** The enum name of `err` ("MF_ETIMEDOUT"); static storage, never NULL
 *  ("MF_E?" for unknown codes). Thread-safe. */
MF_API const char *mf_errname(int err);

/** A message describing the calling thread's most recent failed call, with
 *  details (which function, which rank...). Thread-local storage, valid
 *  until the thread's next mpifutures call; "" if none. */
MF_API const char *mf_last_error(void);

/* ---- Time ----------------------------------------------------------- */

/** Pass as a timeout to wait without limit. */
#define MF_FOREVER (-1.0)

/* ---- Optional MPI set-up helper ------------------------------------ */

/**
 * Initialise MPI for programs that have not done so, asking for
 * MPI_THREAD_MULTIPLE (the best level); if MPI is already initialised,
 * do nothing. `argc`/`argv` may be NULL. `provided` (may be NULL) receives
 * the thread level in force. Returns MF_EMPI if MPI_Init_thread fails.
 * Call from the main thread.
 */
MF_API int mf_init(int *argc, char ***argv, int *provided);

/**
 * Finalise MPI if mf_init() initialised it; otherwise do nothing (the
 * library never finalises MPI for a program that initialised it itself).
 * Call from the thread that called mf_init(), after every executor is
 * closed.
 */
MF_API int mf_finalize(void);

/**
 * 1 if this process was started by an MPI launcher, 0 if it runs alone:
 * its environment shows Open MPI's mpirun (OMPI_COMM_WORLD_SIZE), a PMI
 * or PMIx launcher such as MPICH's Hydra (PMI_RANK, PMI_FD, PMIX_RANK),
 * or a task of Slurm's srun (SLURM_STEP_ID with SLURM_PROCID). A program
 * alone may then skip MPI initialisation (an Open MPI singleton's start-up
 * costs about 0.4 s) and open a local pool with mf_executor_open_local()
 * straight away; mf-factorial and mf-run do. When unsure it says 1 (MPI
 * is initialised, as before). Reads the environment only: thread-safe,
 * no MPI call, callable before MPI_Init.
 */
MF_API int mf_launched(void);

/* ---- Registry ------------------------------------------------------- */

/** Id of a registered function: a 64-bit hash of its name, the same on
 *  every rank whatever the registration order. 0 is never a valid id. */
typedef uint64_t mf_fn_id;

/** A task being run on a worker; valid only during the task call. */
typedef struct mf_task mf_task;

/**
 * A task function. Runs on a worker rank, in the thread that called
 * mf_executor_open(). Read the argument with mf_task_arg(); deliver a
 * result with mf_task_return() or mf_task_result_buffer(), or fail with
 * mf_task_fail(). Return 0 for success; any other value fails the task
 * (with the message given to mf_task_fail(), or "task returned N").
 * Returning 0 without a result gives an empty (0-byte) result.
 * `userdata` is the pointer given to mf_register() on that rank.
 */
typedef int (*mf_task_fn)(mf_task *task, void *userdata);

/**
 * Register `fn` under `name` (a non-empty string of at most 255 bytes,
 * copied). Call on every rank, before mf_executor_open(), with the same
 * set of names (order does not matter). `id` (may be NULL) receives the
 * function's id, which is also mf_fn_id_of(name).
 *
 * Errors: MF_EINVAL (NULL/empty/too long name, NULL fn), MF_EEXIST (name
 * already registered), MF_ECOLLISION (another name has the same id),
 * MF_ENOMEM. Registering while an executor is open is allowed but the
 * function is only usable by executors opened afterwards.
 * Thread-safe.
 */
MF_API int mf_register(const char *name, mf_task_fn fn, void *userdata,
                       mf_fn_id *id);

/** Remove every registration (for tests and for programs that re-register
 *  between executors). Executors already open keep their own copy.
 *  Thread-safe. */
MF_API void mf_registry_clear(void);

/** The id `name` would have (pure function; 0 for NULL). Thread-safe. */
MF_API mf_fn_id mf_fn_id_of(const char *name);

/* ---- Executor ------------------------------------------------------- */

/** An executor (opaque), on the root: see mf_executor_open(). */
typedef struct mf_executor mf_executor;

/** Executor options. Initialise with mf_executor_opts_init(), then change
 *  fields; passing NULL to mf_executor_open() means all defaults.
 *  Environment variables, read once at open on each rank, override the
 *  fields: MF_WINDOW, MF_MAX_ARG_BYTES, MF_IDLE_SLEEP_US,
 *  MF_GRACE_SECONDS, MF_PROGRESS_INTERVAL (whole numbers),
 *  MF_PROGRESS_THREAD, MF_SIGNALS, MF_STATS, MF_PROGRESS, MF_ISOLATE (0
 *  or 1), MF_TASK_TIMEOUT (seconds), MF_TRACE, MF_JOURNAL (paths); a bad
 *  value fails the open with MF_EINVAL naming the variable. */
typedef struct mf_executor_opts {
    /** Most tasks in flight per worker (sent, not yet answered), so a
     *  worker never waits for a round trip. The executor adapts below this
     *  from measured task times (long tasks: 2 in flight, so the end of a
     *  run stays balanced; tiny ones: up to `window`). 1 = strictly one at
     *  a time. Default 64; 0 means the default; at most 65536. */
    unsigned window;
    /** Largest argument accepted by mf_submit()/mf_map(), in bytes;
     *  larger ones fail with MF_E2BIG. Default and maximum: 1 GiB (0 means
     *  the default). */
    size_t max_arg_bytes;
    /** Longest sleep, in microseconds, of an idle rank between polls.
     *  A waiting rank spins for 50 us, yields until 1 ms, then sleeps for
     *  at most 10% of the time it has waited so far (so sleeping adds at
     *  most ~10% to a wait, and a long wait costs ~0% CPU), capped by
     *  this. Default 10000 (0 means the default); at most 1 s. */
    unsigned idle_sleep_max_us;
    /** 1: run a progress thread on the root, so futures complete and
     *  done callbacks run (in that thread) while the caller is busy
     *  elsewhere, as in mpi4py.futures. Needs MPI_THREAD_MULTIPLE (else
     *  the open fails with MF_EINVAL). 0 (default): progress happens
     *  inside the library's calls, which is faster for tight submit/wait
     *  loops. Environment: MF_PROGRESS_THREAD=0|1. */
    int progress_thread;
    /** 1: catch SIGTERM, SIGINT and SIGUSR1 (a batch system's warning
     *  before the walltime) on every rank while the executor is open. On
     *  the root the first one interrupts the executor: dispatch stops,
     *  queued futures are cancelled, later submits fail with MF_EINTR,
     *  running tasks get `grace_seconds` to finish; then their futures
     *  fail ("abandoned") and mf_executor_close() ends the job with
     *  MPI_Abort (exit 128 + signal), since the workers are still busy.
     *  mf_executor_interrupted() tells which signal came. Workers only
     *  survive the signal (the root decides). The previous handlers are
     *  restored at close. 0 (default): signals are left alone.
     *  Environment: MF_SIGNALS=0|1. */
    int handle_signals;
    /** Seconds running tasks get after an interrupting signal. Default
     *  10 (0 means the default). Environment: MF_GRACE_SECONDS. */
    unsigned grace_seconds;
    /** 1: print a per-worker table (tasks, failures, busy share, bytes,
     *  mean and max task time) to stderr when the executor closes. The
     *  same figures are always available from mf_executor_stats().
     *  Environment: MF_STATS=0|1. */
    int stats;
    /** 1: a progress line on the root's stderr (done/submitted, failures,
     *  rate, ETA): redrawn in place when stderr is a terminal, else a
     *  plain line every `progress_interval` seconds. Environment:
     *  MF_PROGRESS=0|1. */
    int progress;
    /** Seconds between plain progress lines (not a terminal). Default 10
     *  (0 means the default). Environment: MF_PROGRESS_INTERVAL. */
    unsigned progress_interval;
    /** A file to write a Chrome trace-event JSON timeline to at close
     *  (one track per rank, one slice per task; the root's dispatch and
     *  wait phases), which Perfetto and chrome://tracing open. NULL: no
     *  trace. Copied at open. A second executor of the same process writes
     *  PATH.2, a third PATH.3, and so on. The root checks at the open
     *  that it can write the file (creating it empty): an unwritable path
     *  fails the open with MF_EINVAL on every rank, naming the path.
     *  Environment: MF_TRACE=path. */
    const char *trace_path;
    /** 1: run every task in a child process of its worker, so a task
     *  that crashes (segfault, abort, exit) fails only its future
     *  (MF_ETASK, reason MF_FAIL_CRASH, "killed by signal 11 (SIGSEGV)")
     *  and the worker serves on. The child is forked once and runs task
     *  after task (tens of microseconds per task, through pipes); a new
     *  one replaces it after a crash or a timeout. Isolated tasks must
     *  not call MPI. Environment: MF_ISOLATE=0|1. */
    int isolate;
    /** Default per-task timeout in seconds (0: none); implies isolation
     *  for the tasks it applies to. See mf_submit_opts.timeout.
     *  Environment: MF_TASK_TIMEOUT (seconds, may be fractional). */
    double task_timeout;
    /** A resume journal file (root only; NULL: none). Each completed task
     *  (function, argument digest, result or error) is appended as it
     *  arrives; a later run given the same file completes matching
     *  submits from it without running them (tasks must be deterministic
     *  for this to be right). Only results and the task's own failures
     *  (mf_task_fail(), a non-zero return) are replayed: a timeout, a
     *  crash, an abandoned task or an out-of-memory failure runs again.
     *  A torn last record is dropped; a damaged record is skipped (with a
     *  line on stderr), the records after it are kept. A journal written
     *  with other registered functions fails the open with MF_EMISMATCH
     *  on every rank; one in use by another run (the file is locked while
     *  open) fails it with MF_EINVAL, as does one that cannot be opened.
     *  Copied at open. Environment: MF_JOURNAL=path. */
    const char *journal_path;
    /** A registered function run once on every worker when the executor
     *  opens, before any task (ProcessPoolExecutor's initializer), with
     *  `initializer_arg`/`initializer_len` as its argument (the root's
     *  options count; the bytes are sent to the workers). If it fails on
     *  any worker, the open fails on every rank with MF_EBROKEN and
     *  mf_last_error() names the rank and the error; a later open works.
     *  An id that is not registered on the root fails the open with
     *  MF_EINVAL on every rank. 0: none. */
    mf_fn_id initializer;
    const void *initializer_arg; /**< argument bytes of the initializer */
    size_t initializer_len;      /**< their length */
} mf_executor_opts;

/** Figures of one worker, as seen by the root. */
typedef struct mf_worker_stats {
    int rank;                 /**< rank in the executor's communicator */
    const char *host;         /**< valid while the executor is open */
    uint64_t tasks;           /**< tasks (map chunks count their items) */
    uint64_t failures;        /**< of which failed */
    uint64_t bytes_in;        /**< argument bytes sent to it */
    uint64_t bytes_out;       /**< result bytes received from it */
    double busy_seconds;      /**< time spent in task functions */
    double busy_share;        /**< busy_seconds / time the executor is open */
    double mean_task_seconds; /**< busy_seconds / tasks (0 if none) */
    double max_task_seconds;  /**< longest single task (or chunk) */
} mf_worker_stats;

/** Fill `opts` with the defaults. */
MF_API void mf_executor_opts_init(mf_executor_opts *opts);

/**
 * Open an executor on `comm` (any intra-communicator, any `root`).
 * Collective over `comm`: every rank must call it with the same root.
 *
 * The library works on a private duplicate of `comm`, so user traffic on
 * `comm` never mixes with its own. When it opens, the root and every worker
 * compare their registries; a function missing on some rank fails the open
 * on every rank with MF_EMISMATCH, and mf_last_error() names the function
 * and the rank.
 *
 * On the root: returns MF_OK with `*ex` set to the executor.
 * On a worker: serves tasks until the root shuts the executor down, then
 * returns MF_OK with `*ex` set to NULL. A worker's return code reflects
 * failures of the executor itself, never of tasks.
 *
 * A program started alone (its MPI_COMM_WORLD has one rank, as with
 * ./prog) gets a local process pool instead, as mf_executor_open_local()
 * opens it (MF_BACKEND=none: MF_ENOWORKERS as before); a process that
 * another MPI's launcher started as one of N ranks is told so and gets
 * MF_ENOWORKERS.
 *
 * Errors: MF_EINVAL (bad comm, root out of range, NULL ex, bad option:
 * an MF_* variable out of range, an unregistered initializer, an
 * unwritable trace path, a journal in use), MF_ESTATE (MPI not
 * initialised, or already finalised), MF_ENOWORKERS (comm has a single
 * rank inside a bigger job, or MF_BACKEND=none, or another MPI's
 * launcher), MF_EMISMATCH, MF_EBROKEN (the initializer failed on some
 * worker), MF_EMPI, MF_ENOMEM (on any rank: the ranks agree on every failure,
 * so none waits in a collective). On failure `*ex` is NULL on every rank,
 * with the same code and message.
 * Several executors may be opened one after the other; opening two at once
 * on overlapping communicators from one thread would deadlock (the workers
 * are busy serving the first).
 */
MF_API int mf_executor_open(MPI_Comm comm, int root,
                            const mf_executor_opts *opts, mf_executor **ex);

/**
 * Stop accepting work. Later submits fail with MF_ESHUTDOWN.
 * If `cancel_futures`, every future still queued on the root (not yet sent
 * to a worker) is cancelled; running ones are not. If `wait`, block until
 * every outstanding future is done, then release the workers (they return
 * from mf_executor_open()). Without `wait` it returns at once; outstanding
 * futures still complete as the caller waits on them, and
 * mf_executor_close() finishes the job.
 * Idempotent: any number of calls, with any flags; a later call may add
 * cancel_futures or wait.
 * Errors: MF_EINVAL (NULL), MF_EINCALLBACK (wait from a done callback),
 * MF_EMPI.
 */
MF_API int mf_executor_shutdown(mf_executor *ex, int wait,
                                int cancel_futures);

/**
 * Shut down (waiting for outstanding futures) and free the executor.
 * Futures the caller still holds stay valid (and keep their results) until
 * released. NULL is accepted and does nothing. Not callable from a done
 * callback (MF_EINCALLBACK, and the executor stays open).
 */
MF_API int mf_executor_close(mf_executor *ex);

/** The root's part of a program run by mf_run(): returns 0 on success, or
 *  a status of its own (for example 1). */
typedef int (*mf_root_fn)(mf_executor *ex, void *userdata);

/**
 * The whole frame of a program in one call, the short way to do it right.
 * Every rank calls it (after registering its functions, with MPI
 * initialised): it opens an executor on `comm` with rank 0 as the root,
 * calls `root_fn(ex, userdata)` on the root only while the workers serve,
 * always closes the executor, and returns the same status on every rank,
 * so `return mf_run(...)` from main() gives the job one exit status:
 * 0 when the open, root_fn and the close succeeded; root_fn's own
 * non-zero status; or the MF_E* code of a failed open (the same on every
 * rank; mf_last_error() says what failed) or close. Registers nothing and
 * prints nothing. Errors: MF_EINVAL (NULL root_fn), those of
 * mf_executor_open() and mf_executor_close(), MF_EMPI.
 */
MF_API int mf_run(MPI_Comm comm, mf_root_fn root_fn, void *userdata,
                  const mf_executor_opts *opts);

/** Backends of mf_executor_open_local(). */
enum mf_local_kind {
    MF_PROCESSES = 1, /**< worker processes forked from this one */
    MF_THREADS = 2    /**< worker threads of this process */
};

/**
 * Open an executor whose workers are local instead of MPI ranks. With
 * MF_PROCESSES (Python's ProcessPoolExecutor): `nworkers` processes forked
 * now from this one, so they know every function registered before the
 * call. With MF_THREADS (Python's ThreadPoolExecutor): `nworkers` threads
 * of this process; task functions must then be thread-safe, and isolation
 * and per-task timeouts are refused with MF_EINVAL (a thread cannot be
 * killed); a task that crashes takes the process with it.
 * `nworkers` 0 means the CPUs this process may run on (its affinity, so
 * taskset and a batch system's binding are honoured); the environment
 * variable MF_WORKERS overrides it. Works whether or not MPI is
 * initialised (the workers never call MPI). Everything else behaves as
 * with MPI ranks: futures, wait, as_completed, map, callbacks, cancel,
 * isolation and per-task timeouts, the journal, statistics, progress and
 * trace; close with mf_executor_close(). A worker process that dies fails
 * only the futures it held (MF_ETASK, reason MF_FAIL_CRASH, the signal or
 * exit status named) and is replaced. Workers die with this process
 * (parent-death signal) and are reaped at close. With MF_PROCESSES,
 * payloads of 32 KiB and up cross through shared memory (copied once each
 * way at most; MF_SHM=N MiB per region, 0 = through the sockets). With
 * MF_THREADS nothing the sender gives up is copied. Errors: MF_EINVAL (a kind
 * other than these two, nworkers negative or above 4096, a bad MF_*
 * setting or option, isolation or a task timeout with MF_THREADS),
 * MF_ENOMEM (no process or thread could be started: also RLIMIT_NPROC),
 * MF_EBROKEN (the initializer failed in a worker). A one-rank program's
 * mf_executor_open() opens MF_PROCESSES, or MF_THREADS with
 * MF_BACKEND=threads.
 */
MF_API int mf_executor_open_local(int kind, int nworkers,
                                  const mf_executor_opts *opts,
                                  mf_executor **ex);

/** Number of worker ranks of `ex` (0 for NULL). */
MF_API int mf_executor_workers(const mf_executor *ex);

/**
 * Copy the figures of up to `n` workers into `out` (in rank order);
 * `nworkers` (may be NULL) receives the number of workers. Cheap: no
 * messages. Call on the root while the executor is open. Errors:
 * MF_EINVAL (NULL ex, or out NULL with n > 0). Thread-safe.
 */
MF_API int mf_executor_stats(mf_executor *ex, mf_worker_stats *out, size_t n,
                             size_t *nworkers);

/** Journal figures of `ex`: records loaded at open, futures completed
 *  from them so far, and bytes dropped at open: a torn end and damaged
 *  records (any pointer may be NULL; all 0 without a journal).
 *  Thread-safe. */
MF_API int mf_executor_journal(mf_executor *ex, size_t *loaded,
                               size_t *reused, size_t *torn_bytes);

/** The signal that interrupted `ex` (see mf_executor_opts.handle_signals),
 *  or 0. Makes no progress; thread-safe. */
MF_API int mf_executor_interrupted(const mf_executor *ex);

/* ---- Futures -------------------------------------------------------- */

/** A future: a counted reference to one submitted call. Zero-initialised
 *  ({0}) is the null future. A one-member struct so that the compiler
 *  tells it apart from other integers; a released handle is detected as
 *  stale (MF_EBADHANDLE), never dereferenced. */
typedef struct mf_future {
    uint64_t h; /**< opaque: generation and slot; 0 = null future */
} mf_future;

/** Why a task failed (mf_task_error.reason). */
enum mf_fail_reason {
    MF_FAIL_TASK = 0,     /**< mf_task_fail() or a non-zero return */
    MF_FAIL_CRASH = 1,    /**< isolated task killed by a signal or exited */
    MF_FAIL_TIMEOUT = 2,  /**< isolated task ran past its timeout; killed */
    MF_FAIL_ABANDONED = 3 /**< given up after an interrupting signal */
};

/** Failure details of a task (see mf_future_error()), valid while the
 *  future is held. */
typedef struct mf_task_error {
    const char *message;  /**< from mf_task_fail() or the library */
    const char *function; /**< registered name of the function */
    int rank;             /**< rank in the executor's communicator */
    const char *host;     /**< host name of that rank */
    int reason;           /**< enum mf_fail_reason */
} mf_task_error;

/**
 * Queue a call of function `fn` with `len` bytes at `arg` (copied: the
 * caller may reuse `arg` at once). `*fut` receives a new future holding
 * one reference, which the caller must release.
 * Errors: MF_EINVAL (NULL ex/fut, arg NULL with len > 0), MF_ENOENT (fn not
 * registered when the executor opened), MF_E2BIG (len > max_arg_bytes),
 * MF_ESHUTDOWN, MF_EINTR (interrupted by a signal),
 * MF_ENOMEM, MF_EMPI.
 * May be called from a done callback (the task is sent on the next
 * progress step).
 */
MF_API int mf_submit(mf_executor *ex, mf_fn_id fn, const void *arg,
                     size_t len, mf_future *fut);

/** Per-call options of mf_submit_ex(). Zero-initialise: all defaults. */
typedef struct mf_submit_opts {
    /** Seconds the task may run; past that, its process is killed and the
     *  future fails with MF_ETASK, reason MF_FAIL_TIMEOUT (never
     *  MF_ETIMEDOUT: that code means a wait ran out while the task goes
     *  on). A task with a timeout always runs isolated (see `isolate`).
     *  0: the executor's task_timeout; negative: none. */
    double timeout;
    /** 1: run this task in a child process of its worker (see
     *  mf_executor_opts.isolate); 0: the executor's setting. */
    int isolate;
    /** Non-NULL: the library takes ownership of `arg` instead of copying
     *  it (large arguments travel with no copy on the root) and calls
     *  free_arg(arg) once it no longer needs it: after sending, when the
     *  future is cancelled, or when the call fails, whatever the error
     *  (a NULL executor or future pointer, a bad timeout included). The
     *  caller must not touch `arg` afterwards. Called with the library's
     *  lock held: it must only release memory. */
    void (*free_arg)(void *arg);
    /** 1: keep the task off worker rank `avoid_rank` (a retry of a task
     *  that failed there runs elsewhere): it waits for another worker,
     *  while `avoid_rank` goes on with the tasks queued behind it. With a
     *  single worker it runs there. `avoid_rank` must be a worker's rank
     *  (mf_task_worker() of the failed run, or the rank of its
     *  mf_task_error), else MF_EINVAL. 0: any worker. */
    int avoid;
    /** The worker rank that `avoid` keeps the task off. */
    int avoid_rank;
    /** 1: run the task only on worker rank `pin_rank`, for work that
     *  needs what that worker holds (its processes, files or caches). It
     *  waits for that worker however many others idle, and goes before
     *  the worker's unpinned work; pinned tasks of one worker start in
     *  submit order. A process pool's worker that dies is replaced under
     *  the same rank, and the replacement runs what was pinned to it.
     *  `pin_rank` must be a worker's rank, else MF_EINVAL; with `avoid`
     *  MF_EINVAL. 0: any worker. */
    int pin;
    /** The worker rank that `pin` holds the task to. */
    int pin_rank;
} mf_submit_opts;

/** mf_submit() with per-call options (`opts` may be NULL). Same errors,
 *  plus MF_EINVAL for a timeout above 49 days. */
MF_API int mf_submit_ex(mf_executor *ex, mf_fn_id fn, const void *arg,
                        size_t len, const mf_submit_opts *opts,
                        mf_future *fut);

/**
 * mf_submit() of a C string: its bytes and the terminating NUL
 * (strlen(s) + 1), copied as for mf_submit(). The task reads it back with
 * mf_task_arg_str(). Errors: those of mf_submit(), MF_EINVAL for a NULL
 * string.
 */
MF_API int mf_submit_str(mf_executor *ex, mf_fn_id fn, const char *s,
                         mf_future *fut);

/**
 * Wait up to `timeout` for `fut` to finish and give its result: `*data`
 * (may be NULL if `len` is 0) stays valid while the caller holds `fut`.
 * `data`/`len` may be NULL when the caller does not want them.
 * Returns MF_OK, MF_ETIMEDOUT (still pending; nothing lost, ask again),
 * MF_ECANCELLED, MF_ETASK (see mf_future_error()), MF_EBADHANDLE,
 * MF_EINCALLBACK (blocking wait from a done callback; a zero timeout is
 * allowed there), MF_EMPI.
 */
MF_API int mf_future_result(mf_future fut, double timeout, const void **data,
                            size_t *len);

/**
 * mf_future_result() into the caller's buffer: waits as it does, then
 * copies the result into `buf` if it has exactly `len` bytes (a
 * fixed-size value: a double, a struct). A result of another size is
 * MF_ESIZE (the message gives both sizes) and nothing is written: never a
 * partial or overlong read. `buf` may be NULL only when `len` is 0.
 * Errors: those of mf_future_result(), MF_ESIZE, MF_EINVAL.
 */
MF_API int mf_future_result_into(mf_future fut, double timeout, void *buf,
                                 size_t len);

/**
 * Wait up to `timeout` for `fut` to finish and give its error: `*err` is set
 * to the task's failure details, or NULL when the task succeeded (the
 * return is then MF_OK in both cases). Returns MF_ETIMEDOUT,
 * MF_ECANCELLED, MF_EBADHANDLE, MF_EINCALLBACK as mf_future_result().
 */
MF_API int mf_future_error(mf_future fut, double timeout,
                           const mf_task_error **err);

/** 1 if `fut` finished (result, error or cancelled), else 0 (also for a
 *  bad handle). Never blocks, makes no progress. */
MF_API int mf_future_done(mf_future fut);
/** 1 if `fut` has been sent to a worker and not finished, else 0. */
MF_API int mf_future_running(mf_future fut);
/** 1 if `fut` was cancelled, else 0. */
MF_API int mf_future_cancelled(mf_future fut);

/**
 * Cancel `fut` if it is still queued on the root. Returns MF_OK if it is
 * (now or already) cancelled: its waiters wake and its callbacks run.
 * Returns MF_ESTATE if it is running or finished (as in Python, where
 * cancel() returns False), MF_EBADHANDLE for a bad handle.
 */
MF_API int mf_future_cancel(mf_future fut);

/** Called once when the future finishes; see mf_future_on_done(). */
typedef void (*mf_done_fn)(mf_future fut, void *userdata);

/**
 * Add a callback run exactly once when `fut` finishes (success, failure or
 * cancel), in the order added; at once, in the calling thread, if it is
 * already done. Callbacks run in the thread that makes progress (a caller
 * of a library function, or the progress thread), after the future is
 * complete (result or error with its reason) and without the library's
 * lock held, so they may take the program's own locks and other threads
 * may call the library meanwhile. The callbacks of a completion run before
 * the freed worker slot gets new work, so a callback may still cancel a
 * queued future. Blocking calls from a callback fail with MF_EINCALLBACK;
 * they may submit, cancel and query futures. `fut` stays valid during the
 * callback even if every user reference was released.
 * Errors: MF_EBADHANDLE, MF_EINVAL (NULL cb), MF_ENOMEM.
 */
MF_API int mf_future_on_done(mf_future fut, mf_done_fn cb, void *userdata);

/** Take one more reference to `fut` (each needs its own release).
 *  Errors: MF_EBADHANDLE. */
MF_API int mf_future_retain(mf_future fut);

/**
 * Drop one reference. When the last user reference goes, the future is
 * freed once the executor is done with it (a running task still completes;
 * its result is discarded). Releasing a stale or null handle (double
 * release) returns MF_EBADHANDLE and changes nothing.
 */
MF_API int mf_future_release(mf_future fut);

/* ---- Waiting on many ------------------------------------------------ */

/** mf_wait() conditions, as in concurrent.futures. */
enum mf_wait_mode {
    MF_FIRST_COMPLETED = 1, /**< any future done (or cancelled) */
    MF_FIRST_EXCEPTION = 2, /**< any task failed; else all done */
    MF_ALL_COMPLETED = 3    /**< every future done */
};

/**
 * Wait up to `timeout` until the `mode` condition holds for the `n`
 * futures in `futs` (duplicates allowed; cancelled futures count as done).
 * If `done` is not NULL it receives n flags (1 = done). `ndone` (may be
 * NULL) receives the number of distinct done futures.
 * Returns MF_OK when the condition holds, MF_ETIMEDOUT if the timeout ran
 * out first (flags still filled), MF_EINVAL, MF_EBADHANDLE (some handle is
 * stale; nothing waited), MF_EINCALLBACK.
 */
MF_API int mf_wait(const mf_future *futs, size_t n, double timeout, int mode,
                   unsigned char *done, size_t *ndone);

/** An iterator over futures as they finish (opaque): see
 *  mf_as_completed(). */
typedef struct mf_as_completed_iter mf_as_completed_iter;

/**
 * Start iterating over `futs` as they finish: already finished ones first
 * (in input order), then the others as they finish; each distinct future
 * once. The timeout counts from this call (MF_FOREVER: none, as a
 * long-lived completion queue wants). The iterator takes its own
 * reference to each future; free it with mf_as_completed_free().
 * `futs` may be NULL with n = 0: an empty set, to be filled with
 * mf_as_completed_add(). Errors: MF_EINVAL, MF_EBADHANDLE, MF_ENOMEM.
 */
MF_API int mf_as_completed(const mf_future *futs, size_t n, double timeout,
                           mf_as_completed_iter **it);

/**
 * Next finished future: `*fut` is a borrowed handle (valid while the
 * caller holds its own reference, or until mf_as_completed_free()).
 * Returns MF_OK, MF_EDONE when every future in the set has been given,
 * MF_ETIMEDOUT when the overall timeout ran out (the iterator may be
 * asked again; it gives further futures only if they are already done),
 * MF_EINCALLBACK.
 */
MF_API int mf_as_completed_next(mf_as_completed_iter *it, mf_future *fut);

/**
 * Next finished future, by its position in the array given to
 * mf_as_completed(): `*index` is that position (the first one, for a
 * future given more than once). The iterator drops its own reference to
 * the future as it gives it, so once the caller releases theirs the
 * future and its result are freed at once, not at mf_as_completed_free()
 * (a loop over many large results keeps one alive at a time). May be
 * mixed with mf_as_completed_next(). Returns as mf_as_completed_next().
 */
MF_API int mf_as_completed_next_index(mf_as_completed_iter *it,
                                      size_t *index);

/**
 * The position in `futs` of the first future that failed (MF_ETASK), for
 * example after mf_wait(MF_FIRST_EXCEPTION). Never blocks. Returns MF_OK
 * with `*index` set, MF_EDONE if none of them failed, MF_EINVAL,
 * MF_EBADHANDLE.
 */
MF_API int mf_first_failed(const mf_future *futs, size_t n, size_t *index);

/**
 * Add `fut` to the iterator's set while iterating: a completion queue.
 * The iterator takes its own reference (the caller may release theirs at
 * once); the future is given by a later next/next_index/take once it is
 * done (at once if it already is). Its position, for
 * mf_as_completed_next_index(), is n + k for the k-th add (from 0), n the
 * size of the array given to mf_as_completed(). Adding a future that is
 * already in the set and not yet given gives it twice. After MF_EDONE an
 * add makes the iterator give again. O(1); memory follows the futures not
 * yet given for good (take, next_index), not all ever added.
 *
 * The bounded-pipeline idiom (keep W tasks outstanding, handle whichever
 * finishes, submit the next):
 *
 *     mf_as_completed(NULL, 0, MF_FOREVER, &q);
 *     for (i = 0; i < ntasks; i++) {
 *         if (i >= W) { mf_as_completed_take(q, &f, NULL);
 *                       use(f); mf_future_release(f); }
 *         mf_submit(ex, fn, arg, len, &f);
 *         mf_as_completed_add(q, f); mf_future_release(f);
 *     }
 *     while (mf_as_completed_take(q, &f, NULL) == MF_OK)
 *         { use(f); mf_future_release(f); }
 *     mf_as_completed_free(q);
 *
 * Errors: MF_EINVAL (NULL iterator), MF_EBADHANDLE (stale future),
 * MF_ENOMEM. Thread-safety: as the other iterator calls (serialised by
 * the library's lock); may be called from a done callback.
 */
MF_API int mf_as_completed_add(mf_as_completed_iter *it, mf_future fut);

/**
 * Next finished future, handed over: `*fut` carries the iterator's
 * reference, which the caller now owns and must give back with
 * mf_future_release() (unlike mf_as_completed_next(), whose handle is
 * borrowed). `index` (may be NULL) receives its position, as
 * mf_as_completed_next_index(). The iterator keeps nothing of it, so a
 * loop of take + release holds only what is outstanding. Returns
 * MF_OK, MF_EDONE (nothing left in the set: add more, or stop),
 * MF_ETIMEDOUT (the iterator's timeout ran out), MF_EINVAL,
 * MF_EINCALLBACK (would block inside a done callback).
 */
MF_API int mf_as_completed_take(mf_as_completed_iter *it, mf_future *fut,
                                size_t *index);

/** Free the iterator and its references. NULL is accepted. */
MF_API void mf_as_completed_free(mf_as_completed_iter *it);

/* ---- Map ------------------------------------------------------------ */

/** An iterator over the results of mf_map() (opaque). */
typedef struct mf_map_iter mf_map_iter;

/** Options of mf_map(). Zero-initialise or use mf_map_opts_init(). */
typedef struct mf_map_opts {
    int unordered;    /**< 0: results in input order; 1: as completed */
    size_t chunksize; /**< items sent to a worker as one unit; 0 or 1 = 1 */
    double timeout;   /**< seconds from the mf_map() call; 0 or negative =
                           none (so a zeroed struct means no timeout) */
} mf_map_opts;

/** Fill `opts` with the defaults: ordered, chunksize 1, no timeout. */
MF_API void mf_map_opts_init(mf_map_opts *opts);

/**
 * Call `fn` on each of the `n` arguments args[i] (lens[i] bytes each,
 * copied). The iterator gives results with mf_map_next(). Free it with
 * mf_map_free() (which cancels the items not yet started: a consumer may
 * stop early). All items are checked before any is queued: on error
 * nothing is submitted.
 * `opts` may be NULL (the defaults). With a journal, items it holds
 * complete from it.
 * Errors: MF_EINVAL, MF_EBADHANDLE (closed executor), MF_ENOENT, MF_E2BIG,
 * MF_ESHUTDOWN, MF_EINTR, MF_ENOMEM.
 */
MF_API int mf_map(mf_executor *ex, mf_fn_id fn, const void *const *args,
                  const size_t *lens, size_t n, const mf_map_opts *opts,
                  mf_map_iter **it);

/**
 * mf_map() over a C array: item i is the `size` bytes at
 * `(const char *)base + i * size`, for i in [0, n). Saves building the
 * args[]/lens[] arrays; the bytes are copied as mf_map() copies them, so
 * `base` may be freed once this returns. Errors: those of mf_map(),
 * MF_EINVAL (NULL base with n > 0, size 0 with n > 0).
 */
MF_API int mf_map_array(mf_executor *ex, mf_fn_id fn, const void *base,
                        size_t n, size_t size, const mf_map_opts *opts,
                        mf_map_iter **it);

/**
 * Next result. `*data`/`*len` stay valid until the next mf_map_next() or
 * mf_map_free() on `it`. `index` (may be NULL) receives the item's index.
 * Returns MF_OK; MF_ETASK if that item failed (mf_last_error() has its
 * message; iteration goes on with later items); MF_EDONE after the last
 * item; MF_ETIMEDOUT when the map's timeout fired: items not yet started
 * are cancelled and the iterator is finished (later calls give MF_EDONE);
 * MF_ECANCELLED for an item cancelled by shutdown; MF_EINCALLBACK.
 */
MF_API int mf_map_next(mf_map_iter *it, const void **data, size_t *len,
                       size_t *index);

/** Cancel what has not started and free the iterator. NULL is accepted. */
MF_API void mf_map_free(mf_map_iter *it);

/* ---- Task side (inside a task function, on a worker) ---------------- */

/** The argument bytes of `task`; `len` (may be NULL) receives the length.
 *  Valid during the task call. Never NULL (an empty argument gives a
 *  pointer to zero bytes). Alignment: 8 bytes. */
MF_API const void *mf_task_arg(const mf_task *task, size_t *len);

/** Set the result to a copy of `len` bytes at `data` (replacing any
 *  earlier result). Errors: MF_EINVAL, MF_E2BIG, MF_ENOMEM. */
MF_API int mf_task_return(mf_task *task, const void *data, size_t len);

/**
 * Hand out `len` bytes of result space that is sent as the result without
 * another copy; `*buf` is valid during the task call (8-byte aligned). A
 * later call replaces it. Errors: MF_EINVAL, MF_E2BIG, MF_ENOMEM.
 */
MF_API int mf_task_result_buffer(mf_task *task, size_t len, void **buf);

/**
 * The argument bytes of `task`, writable: a task that transforms its
 * argument in place (sorts it, scales it, filters it) writes here and
 * hands the same bytes back with mf_task_return_arg(), so a large payload
 * is not copied again. The bytes are this task's own (a receive buffer on
 * this rank, or the isolated child's copy): no other task sees the writes.
 * `len` (may be NULL) receives the length. Valid during the task call;
 * never NULL; 8-byte aligned.
 */
MF_API void *mf_task_arg_inplace(mf_task *task, size_t *len);

/**
 * Set the result to the first `len` bytes of the task's argument buffer,
 * as they are when the task returns (after any writes through
 * mf_task_arg_inplace()), replacing any earlier result. From 32 KiB the
 * buffer itself is sent back, with no copy; smaller results are copied
 * into the results message like any other. Errors: MF_EINVAL (NULL task,
 * or `len` above the argument's length).
 */
MF_API int mf_task_return_arg(mf_task *task, size_t len);

/**
 * Fail the task with a printf-style message (truncated to 4 KiB). The
 * future's mf_future_error() gives it. Returns MF_ETASK, so a task can
 * `return mf_task_fail(task, "...")`.
 */
MF_API int mf_task_fail(mf_task *task, const char *fmt, ...) MF_PRINTF(2, 3);

/**
 * The task's argument as a C string (one submitted with mf_submit_str()):
 * `*s` points at the argument's bytes, valid while the task runs. An
 * argument that does not end with its NUL is MF_EINVAL (the message says
 * so), never a read past its end. Errors: MF_EINVAL.
 */
MF_API int mf_task_arg_str(const mf_task *task, const char **s);

/**
 * Append `len` bytes to the task's result, growing it as needed (a result
 * built piece by piece, with no second copy at the end). Starts from the
 * result set so far (empty at first). Errors: MF_EINVAL (NULL task, NULL
 * data with len > 0), MF_E2BIG (the result would exceed the limit; it
 * keeps what it had), MF_ENOMEM.
 */
MF_API int mf_task_append(mf_task *task, const void *data, size_t len);

/**
 * Append printf-formatted text to the task's result, as mf_task_append()
 * does; the text is appended without a terminating NUL (append "" with
 * length 1 for a C string). Errors: those of mf_task_append().
 */
MF_API int mf_task_printf(mf_task *task, const char *fmt, ...)
    MF_PRINTF(2, 3);

/** The id of the function being run. */
MF_API mf_fn_id mf_task_function(const mf_task *task);

/**
 * The worker running the task: its rank in the executor's communicator
 * (1 to size - 1 with MPI, the root being 0), or its number (1 to N) in a
 * local pool, where every worker shares the process's MPI rank (if any).
 * For logs and records, as mf-factorial's `rank=`; which worker runs a
 * task is the scheduler's choice, so results must not depend on it.
 * -1 for a NULL task. Thread-safe (reads the task only).
 */
MF_API int mf_task_worker(const mf_task *task);

#ifdef __cplusplus
}
#endif

#endif /* MPIFUTURES_H */
