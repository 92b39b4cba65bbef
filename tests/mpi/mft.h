/*
 * mft.h — harness of the multi-rank tests (tests/mpi).
 *
 * A test program is a list of *scenarios*. Every rank walks the same list,
 * so every rank calls mf_executor_open() the same number of times:
 *
 *   - on the root, each scenario is one CUnit suite: its first test opens
 *     the executor ("open"), the scenario's own tests run while it is open,
 *     its last test ("close") closes it and collects the workers' verdicts;
 *   - on a worker, the harness calls mf_executor_open() (which serves until
 *     the root closes), checks what it returned and reports to the root.
 *
 * Checks that run on every rank use MFT_CHECK (a CUnit assert on the root,
 * a counted, printed failure on a worker). Root-only tests use CU_ASSERT.
 *
 * Gates make "running" and "queued" deterministic without any sleep: a gate
 * task tells the root it started (a message on a private duplicate of the
 * communicator) and blocks in MPI_Recv until the root releases it.
 *
 * The same scenarios also run on a local pool (mft_run_local: the thread
 * or process pool of mf_executor_open_local(), a plain process, MPI never
 * initialised). There the root is the only process running the harness:
 * no worker verdicts; gates use a shared memory region made before the
 * pool opens (see "Gates" below); scenarios that are inherently MPI are
 * skipped by name with a printed reason, and tests adapt where a local
 * backend legitimately differs (mft_local says which backend runs).
 */
#ifndef MFT_H
#define MFT_H

#include <mpifutures.h>

#include <CUnit/CUnit.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* ---- World of the current run --------------------------------------- */

extern MPI_Comm mft_comm; /* the communicator executors open on */
extern MPI_Comm
    mft_ucomm;         /* user duplicate of mft_comm (gates, handshakes) */
extern int mft_root;   /* root rank in mft_comm */
extern int mft_rank;   /* this process's rank in mft_comm */
extern int mft_size;   /* size of mft_comm */
extern int mft_nw;     /* number of workers (size - 1) */
extern int mft_thread; /* MPI thread level provided */
extern const char *mft_label;   /* printed in messages ("world", "half-B") */
extern mf_executor *mft_ex;     /* the open executor (root), or NULL */
extern int mft_open_rc;         /* what the last open returned here */
extern char mft_open_msg[4096]; /* mf_last_error() right after that open */
extern long mft_expect_marks;   /* root: expected "mark" runs, -1 = any */
extern int mft_force_progress_thread; /* open every executor with
                                         opts.progress_thread = 1 */
/* 0 for MPI ranks (mft_run), or the local pool kind of mft_run_local()
 * (MF_PROCESSES, MF_THREADS). In a local run mft_root = mft_rank = 0,
 * mft_size = workers + 1, mft_comm = mft_ucomm = MPI_COMM_NULL, and
 * mft_thread = MPI_THREAD_MULTIPLE (the library may be called from any
 * thread); a task's worker is mf_task_worker() (1..N). */
extern int mft_local;
/* "mpi", "processes" or "threads". */
const char *mft_backend(void);

/* Open an executor of the current run with options `o` (may be NULL):
 * mf_executor_open(mft_comm, mft_root, ...) with MPI (collective), or
 * mf_executor_open_local(mft_local, mft_nw, ...). */
int mft_open(const mf_executor_opts *o, mf_executor **ex);

/* Ids of the standard task functions (registered on every rank). */
extern mf_fn_id ID_ECHO, ID_ECHO_ZC, ID_MARK, ID_FAIL, ID_RETNZ, ID_EMPTY,
    ID_BIG, ID_GATE, ID_REPLACE, ID_SUM, ID_LONGFAIL, ID_USERSEND, ID_WHO,
    ID_FAILIF, ID_TASKAPI, ID_FAILRC, ID_INPLACE, ID_YIELDQ, ID_SLEEPMS,
    ID_STRLEN, ID_BUILD;

/* "strlen" returns the uint64 length of its C-string argument (read with
 * mf_task_arg_str); "build" builds "0,1,...,k-1;" then k 'x' bytes with
 * mf_task_printf and mf_task_append (k: uint32 argument). */

/* The "sleepms" task sleeps its uint32 argument's milliseconds and
 * returns the argument. */

/* Tag used by the "usersend" task on mft_comm. */
#define MFT_TAG_USERSEND 3

/* Open MPI's yield-when-idle switch (opal_progress_set_yield_when_idle):
 * set >= 0 sets it and returns the old value; set < 0 only reads it.
 * -1 when the MPI has no such switch (MPICH). The "yieldq" task returns
 * {value in the task, value when the tasks were registered} as int32. */
int mft_mpi_yield(int set);

/* The "inplace" task reverses its argument in place and returns the
 * first n - n % 5 bytes of it with mf_task_return_arg(). */
size_t mft_inplace_len(size_t n);

/* Word i of the pattern the "big" task writes. */
uint64_t mft_pattern_word(uint64_t seed, uint64_t i);
/* FNV-1a 64 of n bytes (the "sum" task returns {fnv, len}). */
uint64_t mft_fnv(const void *p, size_t n);

/* Standard task userdata: echo is registered with &mft_echo_ud. */
extern int mft_echo_ud;

/* ---- Scenarios ------------------------------------------------------ */

typedef struct mft_test {
    const char *name;
    void (*fn)(void);
} mft_test;

typedef struct mft_scenario {
    const char *name;
    /* Every rank, after the standard registrations (may add or omit). */
    void (*setup)(void);
    /* Every rank: executor options (NULL: open with NULL options). */
    void (*opts)(mf_executor_opts *o);
    /* What mf_executor_open() must return on every rank. */
    int expect_open;
    /* Every rank, after open returned (root: in the "open" test; a worker:
     * after serving). Checks mft_open_rc / mft_open_msg. May be NULL. */
    void (*after_open)(void);
    /* Every rank, right before open / right after close (root: inside the
     * "close" test, after mf_executor_close()). May be NULL. */
    void (*pre_open)(void);
    void (*post_close)(void);
    /* Instead of an executor: a function every rank runs (in lockstep). */
    void (*all_ranks)(void);
    /* Root-side tests run while the executor is open, NULL-terminated. */
    const mft_test *tests;
} mft_scenario;

/* Run the scenarios on `comm` with `root`. Returns this process's number
 * of failures (root: CUnit failures; worker: failed checks). Collective. */
int mft_run(MPI_Comm comm, int root, const mft_scenario *scns, size_t n,
            const char *label);

/* A scenario that only makes sense with MPI ranks, and why. */
typedef struct mft_mpi_only {
    const char *scenario; /* its name in the list (must exist) */
    const char *why;
} mft_mpi_only;

/* Run the scenarios on a local pool of `kind` (MF_PROCESSES or MF_THREADS)
 * with `nworkers` workers, in this process alone (MPI need not be
 * initialised), skipping the `nskip` scenarios of `skip` with their
 * reason. Prints the scenarios run and skipped, the tests skipped inside
 * scenarios and the known library bugs met (mft_known_bug). Returns the
 * number of failures. */
int mft_run_local(int kind, int nworkers, const mft_scenario *scns, size_t n,
                  const mft_mpi_only *skip, size_t nskip);

/* A test (or part of one) that cannot run on this backend: printed with
 * the reason and counted in the run's summary. */
void mft_skip_test(const char *why);

/* A check that fails because of a known library bug on this backend:
 * `ok` false is printed and counted in the run's list of known library
 * bugs (by `bug`, a short name) instead of failing the test; `ok` true
 * (the bug fixed) is printed too, so that the entry can go. */
void mft_known_bug(int ok, const char *bug, const char *expr,
                   const char *file, int line);
#define MFT_KNOWN_BUG(c, bug)                                                \
    mft_known_bug(!!(c), bug, #c, __FILE__, __LINE__)

/* Register the standard task functions (after mf_registry_clear()). */
void mft_register_std(void);

/* ---- Checks --------------------------------------------------------- */

void mft_check(int ok, const char *expr, const char *file, int line);
#define MFT_CHECK(c) mft_check(!!(c), #c, __FILE__, __LINE__)
#define MFT_CHECK_EQ(a, b)                                                   \
    mft_check_eq((long long)(a), (long long)(b), #a " == " #b, __FILE__,     \
                 __LINE__)
void mft_check_eq(long long a, long long b, const char *expr,
                  const char *file, int line);

/* Root test helpers. */
#define NEED_EX()                                                            \
    do {                                                                     \
        if (!mft_ex) {                                                       \
            CU_FAIL("no executor (open failed)");                            \
            return;                                                          \
        }                                                                    \
    } while (0)
#define ASSERT_RC(call, want)                                                \
    mft_assert_rc((call), (want), #call, __FILE__, __LINE__)
int mft_assert_rc(int got, int want, const char *expr, const char *file,
                  int line);

/* 1 if `s` contains the decimal number `v` as a whole token. */
int mft_has_int_token(const char *s, long v);
/* Safe strstr (NULL -> 0). */
int mft_contains(const char *s, const char *sub);

/* Seconds since an arbitrary origin. */
double mft_now(void);

/* ---- Gates ---------------------------------------------------------- */

/* With MPI a gate task sends "started" to the root on mft_ucomm and waits
 * in MPI_Recv for its release value. On a local pool it uses a shared
 * anonymous mapping made before the first pool opens (the process pool
 * forks its workers at the open, so they inherit it; threads share it):
 * one slot per gate of the scenario (the argument's `pad` names it), with
 * atomic "started" (the worker's number) and "release" words. The task
 * polls its release word (a 200 us sleep between looks, for at most 60 s,
 * then it fails); the root polls the started words (bounded as well). */

typedef struct mft_gate {
    int32_t id; /* unique over the run */
    int rank;   /* worker that runs it (rank in mft_ucomm, or the local
                   pool's worker number), once started */
    int started;
    int released;
    int in_use;
    mf_future f; /* when submitted with mft_gate_submit */
} mft_gate;

/* Gate argument and result records (8 bytes each). */
typedef struct mft_gate_arg {
    int32_t id;
    int32_t pad; /* local pool: the gate's slot in the shared region */
} mft_gate_arg;
typedef struct mft_gate_res {
    int32_t id;
    int32_t rank;
} mft_gate_res;

/* Release values. */
#define MFT_GATE_OK 0
#define MFT_GATE_FAIL 1

/* A fresh gate from the scenario's pool (never NULL; fails the test on
 * exhaustion). `arg` receives its argument (for use in mf_map). */
mft_gate *mft_gate_new(mft_gate_arg *arg);
/* New gate submitted with mf_submit() on mft_ex; `*g` receives it (NULL
 * on failure). Returns the submit code. */
int mft_gate_submit(mft_gate **g);
/* Wait (bounded: 30 s) until every gate of `gs` has started, making
 * progress with mf_wait() on `drv` (n_drv pending futures; the gates' own
 * futures are used as well). Also records any other gate that starts.
 * Returns 1 if all started. */
int mft_gates_started(mft_gate *const *gs, size_t n, const mf_future *drv,
                      size_t n_drv);
/* Release a started gate: it returns (MFT_GATE_OK) or fails
 * (MFT_GATE_FAIL). */
void mft_gate_release(mft_gate *g, int32_t value);
/* Poll once for gate start messages (non-blocking). */
void mft_gates_poll(void);
/* Release every gate of the scenario that is still held, cancel those not
 * started (bounded). Called by the harness before close, so that a failed
 * test does not leave workers blocked. */
void mft_gates_cleanup(void);
/* Submit one gate per worker and wait until all run: every worker is then
 * busy (with window 1, later submits stay queued). `gs` receives mft_nw
 * gates. Returns 1 on success. */
int mft_occupy_all(mft_gate **gs);

/* Make progress until *v >= at_least (bounded: 30 s), with mf_wait() on
 * the pending futures `drv` (or, without any, on a harness-owned empty
 * task). Returns 1 if reached. */
int mft_progress_until(atomic_int *v, int at_least, const mf_future *drv,
                       size_t n);

/* Release each gate of `gs` (MFT_GATE_OK) as soon as it starts, in
 * whatever order they start, making progress meanwhile (bounded: 30 s).
 * Returns 1 if all were released. */
int mft_release_as_started(mft_gate *const *gs, size_t n);

#endif /* MFT_H */
