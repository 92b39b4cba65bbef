/* executor.c — opening an executor, the root's progress engine, submit,
 * shutdown and close.
 *
 * Progress is caller-driven: every library call on the root makes a
 * non-blocking pass (receive results, reap finished sends, dispatch queued
 * tasks), and blocking calls repeat passes with an idle backoff. Dispatch
 * keeps a window of tasks in flight per worker so a worker never waits for
 * a round trip; the window adapts to measured task times (short tasks: up
 * to opts.window; long ones: 2, so the tail of a run stays balanced).
 * Everything queued for one worker at a time goes out as one message.
 */
#include "internal.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MF_DEFAULT_WINDOW 64
#define MF_MAX_WINDOW 65536u
#define MF_DEFAULT_MAX_ARG ((size_t)1 << 30)
#define MF_DEFAULT_IDLE_US 10000
#define MF_DEFAULT_GRACE 10
#define MF_BATCH_BYTES ((size_t)1 << 20)
/* Aim for this much queued work per worker when choosing the window. */
#define MF_WINDOW_TARGET_NS 100000.0
#define MF_HELLO_MSG 440

static mf_executor *mf_open_list;
static int mf_timeout_ms(double t, uint32_t *ms);

MF_API void mf_executor_opts_init(mf_executor_opts *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->window = MF_DEFAULT_WINDOW;
    opts->max_arg_bytes = MF_DEFAULT_MAX_ARG;
    opts->idle_sleep_max_us = MF_DEFAULT_IDLE_US;
    opts->grace_seconds = MF_DEFAULT_GRACE;
    opts->progress_interval = 10;
}

/* An MF_* variable overriding an option: unset = keep; bad = error. */
static int mf_env_num(const char *var, unsigned long long max,
                      unsigned long long *val, char *msg, size_t msglen)
{
    const char *v = getenv(var);
    char *end;
    unsigned long long x;
    if (!v || !*v)
        return 0;
    errno = 0;
    x = strtoull(v, &end, 10);
    if (errno || *end || *v == '-' || x == 0 || x > max) {
        snprintf(msg, msglen,
                 "environment variable %s='%.40s' is not a "
                 "whole number from 1 to %llu",
                 var, v, max);
        return -1;
    }
    *val = x;
    return 1;
}

/* The same for an unsigned option: MF_OK (set or kept), or MF_EINVAL. */
static int mf_env_uint(const char *var, unsigned max, unsigned *out,
                       char *msg, size_t msglen)
{
    unsigned long long v;
    int r = mf_env_num(var, max, &v, msg, msglen);
    if (r < 0)
        return MF_EINVAL;
    if (r)
        *out = (unsigned)v;
    return MF_OK;
}

/* An MF_* variable that must be 0 or 1. */
static int mf_env_bool(const char *var, int *out, char *msg, size_t msglen)
{
    const char *v = getenv(var);
    if (!v || !*v)
        return MF_OK;
    if (strcmp(v, "0") && strcmp(v, "1")) {
        snprintf(msg, msglen, "environment variable %s='%.40s' is not 0 or 1",
                 var, v);
        return MF_EINVAL;
    }
    *out = *v == '1';
    return MF_OK;
}

/* Apply defaults to zero fields, then the environment, and check ranges. */
static int mf_opts_resolve(const mf_executor_opts *in, mf_executor_opts *out,
                           char *msg, size_t msglen)
{
    unsigned long long v;
    int r;
    mf_executor_opts_init(out);
    if (in && in->window)
        out->window = in->window;
    if (in && in->max_arg_bytes)
        out->max_arg_bytes = in->max_arg_bytes;
    if (in && in->idle_sleep_max_us)
        out->idle_sleep_max_us = in->idle_sleep_max_us;
    /* Environment variables win, so job scripts can tune a program
     * without recompiling it. */
    if (mf_env_uint("MF_WINDOW", MF_MAX_WINDOW, &out->window, msg, msglen))
        return MF_EINVAL;
    if ((r = mf_env_num("MF_MAX_ARG_BYTES", MF_DEFAULT_MAX_ARG, &v, msg,
                        msglen)) < 0)
        return MF_EINVAL;
    if (r)
        out->max_arg_bytes = (size_t)v;
    if (mf_env_uint("MF_IDLE_SLEEP_US", 1000000, &out->idle_sleep_max_us, msg,
                    msglen))
        return MF_EINVAL;
    if (in) {
        out->progress_thread = in->progress_thread;
        out->handle_signals = in->handle_signals;
        if (in->grace_seconds)
            out->grace_seconds = in->grace_seconds;
    }
    if (mf_env_uint("MF_GRACE_SECONDS", 86400, &out->grace_seconds, msg,
                    msglen))
        return MF_EINVAL;
    if (in) {
        out->stats = in->stats;
        out->progress = in->progress;
        if (in->progress_interval)
            out->progress_interval = in->progress_interval;
        out->trace_path = in->trace_path;
    }
    if (mf_env_uint("MF_PROGRESS_INTERVAL", 86400, &out->progress_interval,
                    msg, msglen))
        return MF_EINVAL;
    if (mf_env_bool("MF_STATS", &out->stats, msg, msglen) != MF_OK ||
        mf_env_bool("MF_PROGRESS", &out->progress, msg, msglen) != MF_OK)
        return MF_EINVAL;
    {
        const char *t = getenv("MF_TRACE");
        if (t && *t)
            out->trace_path = t;
    }
    if (in) {
        out->isolate = in->isolate;
        out->task_timeout = in->task_timeout;
        out->initializer = in->initializer;
        out->initializer_arg = in->initializer_arg;
        out->initializer_len = in->initializer_len;
    }
    if (out->initializer_len && !out->initializer_arg) {
        snprintf(msg, msglen,
                 "option initializer_len=%zu with a NULL "
                 "initializer_arg",
                 out->initializer_len);
        return MF_EINVAL;
    }
    if (out->initializer_len > MF_DEFAULT_MAX_ARG) {
        snprintf(msg, msglen, "option initializer_len=%zu is above 1 GiB",
                 out->initializer_len);
        return MF_EINVAL;
    }
    if (mf_env_bool("MF_ISOLATE", &out->isolate, msg, msglen) != MF_OK)
        return MF_EINVAL;
    {
        const char *t = getenv("MF_TASK_TIMEOUT");
        if (t && *t) {
            char *end;
            errno = 0;
            double d = strtod(t, &end);
            if (errno || *end || !(d >= 0) || d > 4.2e6) {
                snprintf(msg, msglen,
                         "environment variable "
                         "MF_TASK_TIMEOUT='%.40s' is not a "
                         "number of seconds",
                         t);
                return MF_EINVAL;
            }
            out->task_timeout = d;
        }
    }
    if (in)
        out->journal_path = in->journal_path;
    {
        const char *jp = getenv("MF_JOURNAL");
        if (jp && *jp)
            out->journal_path = jp;
        if (out->journal_path && !*out->journal_path)
            out->journal_path = NULL;
    }
    if (out->isolate != 0 && out->isolate != 1) {
        snprintf(msg, msglen, "option isolate=%d is not 0 or 1",
                 out->isolate);
        return MF_EINVAL;
    }
    if (out->task_timeout < 0 || out->task_timeout > 4.2e6) {
        snprintf(msg, msglen, "option task_timeout=%g is out of range",
                 out->task_timeout);
        return MF_EINVAL;
    }
    if ((out->stats != 0 && out->stats != 1) ||
        (out->progress != 0 && out->progress != 1)) {
        snprintf(msg, msglen, "options stats and progress must be 0 or 1");
        return MF_EINVAL;
    }
    if (out->trace_path && !*out->trace_path)
        out->trace_path = NULL;
    if (mf_env_bool("MF_PROGRESS_THREAD", &out->progress_thread, msg,
                    msglen) != MF_OK ||
        mf_env_bool("MF_SIGNALS", &out->handle_signals, msg, msglen) != MF_OK)
        return MF_EINVAL;
    if (out->progress_thread != 0 && out->progress_thread != 1) {
        snprintf(msg, msglen, "option progress_thread=%d is not 0 or 1",
                 out->progress_thread);
        return MF_EINVAL;
    }
    if (out->handle_signals != 0 && out->handle_signals != 1) {
        snprintf(msg, msglen, "option handle_signals=%d is not 0 or 1",
                 out->handle_signals);
        return MF_EINVAL;
    }
    if (out->grace_seconds > 86400) {
        snprintf(msg, msglen, "option grace_seconds=%u is above a day",
                 out->grace_seconds);
        return MF_EINVAL;
    }
    if (out->progress_thread) {
        int level = MPI_THREAD_SINGLE;
        MPI_Query_thread(&level);
        if (level < MPI_THREAD_MULTIPLE) {
            snprintf(msg, msglen,
                     "the progress thread needs MPI "
                     "initialised with MPI_THREAD_MULTIPLE "
                     "(mf_init() asks for it)");
            return MF_EINVAL;
        }
    }
    if (out->window > MF_MAX_WINDOW) {
        snprintf(msg, msglen, "option window=%u is above %u", out->window,
                 MF_MAX_WINDOW);
        return MF_EINVAL;
    }
    if (out->max_arg_bytes > MF_DEFAULT_MAX_ARG) {
        snprintf(msg, msglen, "option max_arg_bytes=%zu is above 1 GiB",
                 out->max_arg_bytes);
        return MF_EINVAL;
    }
    if (out->idle_sleep_max_us > 1000000) {
        snprintf(msg, msglen, "option idle_sleep_max_us=%u is above 1 s",
                 out->idle_sleep_max_us);
        return MF_EINVAL;
    }
    return MF_OK;
}

/* ---- opening: the registry handshake --------------------------------- */

typedef struct mf_hello {
    int32_t status;
    int32_t nmismatch;
    uint64_t mono_ns; /* clock at the handshake, for trace offsets */
    cpu_set_t cpus;   /* where this rank may run (oversubscription) */
    char host[64];
    char msg[MF_HELLO_MSG];
} mf_hello;

/* Compare our registry with the root's list of names (NUL-separated). */
static void mf_compare_registry(const mf_reg_snap *mine, const char *blob,
                                size_t bloblen, int rank, int root,
                                mf_hello *h)
{
    size_t off = 0, nroot = 0;
    char first[MF_HELLO_MSG] = "";
    while (off < bloblen) {
        const char *name = blob + off;
        size_t l = strnlen(name, bloblen - off);
        if (l == bloblen - off)
            break; /* unterminated: ignore the tail */
        nroot++;
        if (!mf__snap_find_name(mine, name)) {
            if (!h->nmismatch)
                snprintf(first, sizeof first,
                         "function '%s' is registered on the root (rank %d) "
                         "but not on rank %d",
                         name, root, rank);
            h->nmismatch++;
        }
        off += l + 1;
    }
    /* Names we have that the root lacks: count ours found in the blob. */
    for (size_t i = 0; i < mine->n; i++) {
        const char *n = mine->e[i].name;
        int found = 0;
        for (size_t o = 0; o < bloblen;) {
            const char *name = blob + o;
            size_t l = strnlen(name, bloblen - o);
            if (l == bloblen - o)
                break;
            if (strcmp(name, n) == 0) {
                found = 1;
                break;
            }
            o += l + 1;
        }
        if (!found) {
            if (!h->nmismatch)
                snprintf(first, sizeof first,
                         "function '%s' is registered on rank %d but not on "
                         "the root (rank %d)",
                         n, rank, root);
            h->nmismatch++;
        }
    }
    (void)nroot;
    if (h->nmismatch) {
        h->status = MF_EMISMATCH;
        if (h->nmismatch > 1)
            snprintf(h->msg, sizeof h->msg,
                     "%.380s (and %d more "
                     "differences)",
                     first, h->nmismatch - 1);
        else
            snprintf(h->msg, sizeof h->msg, "%s", first);
    }
}

/* Is `ex` an open executor? (Lock not needed: the magic of a closed one
 * never changes again.) */
int mf__ex_check(const mf_executor *ex, const char *fn)
{
    if (!ex)
        return mf__fail(MF_EINVAL, "%s: NULL executor", fn);
    if (ex->magic == MF_EX_CLOSED)
        return mf__fail(MF_EBADHANDLE, "%s: the executor was closed", fn);
    if (ex->magic != MF_EX_MAGIC)
        return mf__fail(MF_EINVAL, "%s: not an executor", fn);
    return MF_OK;
}

/* Free what `ex` holds. With `keep`, the struct itself stays, marked
 * closed, so later calls with the stale pointer get MF_EBADHANDLE instead
 * of touching freed memory (a few hundred bytes per executor a program
 * closes). */
static void mf_executor_free_ex(mf_executor *ex, int keep)
{
    if (!ex)
        return;
    if (ex->hosts) {
        for (int i = 0; i < ex->size; i++)
            mf__free(ex->hosts[i]);
        mf__free(ex->hosts);
    }
    mf__free(ex->workers);
    mf__free(ex->packed);
    mf__free(ex->inflight);
    mf__free(ex->sends);
    mf__obs_free(ex);
    mf__journal_close(ex->journal);
    mf__registry_snap_free(&ex->reg);
    if (keep) {
        memset(ex, 0, sizeof *ex);
        ex->magic = MF_EX_CLOSED;
        ex->comm = MPI_COMM_NULL;
        return;
    }
    free(ex);
}

static void mf_executor_free(mf_executor *ex)
{
    mf_executor_free_ex(ex, 0);
}

int mf__waiters;
static void *mf_progress_thread(void *arg);

typedef struct mf_init_status {
    int32_t status;
    char msg[300];
} mf_init_status;

/* Collective: the root sends its initializer (id, argument), every worker
 * runs it, and all ranks learn whether any failed. */
static int mf_run_initializer(mf_executor *ex, MPI_Comm comm, int rank,
                              int root, int size, const char *host)
{
    uint64_t hdr[3] = {0, 0, 0}; /* id, length, root failed */
    mf_init_status me, *all;
    char *arg = NULL;
    int rc;
    memset(&me, 0, sizeof me);
    if (rank == root && ex->opts.initializer) {
        hdr[0] = ex->opts.initializer;
        hdr[1] = ex->opts.initializer_len; /* checked at open: <= 1 GiB */
        if (!mf__snap_find(&ex->reg, hdr[0])) {
            me.status = MF_EINVAL;
            snprintf(me.msg, sizeof me.msg,
                     "the initializer %016llx is "
                     "not a registered function",
                     (unsigned long long)hdr[0]);
            hdr[0] = 0;
            hdr[2] = 1;
        }
    }
    if (MPI_Bcast(hdr, 3, MPI_UINT64_T, root, comm) != MPI_SUCCESS)
        return mf__fail(MF_EMPI, "broadcasting the initializer failed");
    if (hdr[0] == 0 && hdr[2] == 0)
        return MF_OK; /* none: every rank returns here */
    if (hdr[0]) {
        arg = rank == root ? (char *)ex->opts.initializer_arg
                           : mf__malloc(hdr[1] ? (size_t)hdr[1] : 1);
        char scratch;
        rc = MPI_Bcast(arg ? arg : &scratch, arg ? (int)hdr[1] : 0, MPI_BYTE,
                       root, comm);
        if (rank != root && (rc != MPI_SUCCESS || !arg)) {
            me.status = arg ? MF_EMPI : MF_ENOMEM;
            snprintf(me.msg, sizeof me.msg,
                     "could not receive the "
                     "initializer's argument");
        } else if (rank != root) {
            char err[300];
            if (mf__run_once(ex, hdr[0], arg, (size_t)hdr[1], err,
                             sizeof err) != MF_OK) {
                me.status = MF_EBROKEN;
                snprintf(me.msg, sizeof me.msg, "%s", err);
            }
        }
        if (rank != root)
            mf__free(arg);
    }
    all = malloc((size_t)size * sizeof *all);
    if (!all ||
        MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, all, (int)sizeof me,
                      MPI_BYTE, comm) != MPI_SUCCESS) {
        free(all);
        return mf__fail(MF_EMPI, "gathering the initializers' status "
                                 "failed");
    }
    rc = MF_OK;
    for (int r = 0; r < size && rc == MF_OK; r++) {
        if (all[r].status != MF_OK) {
            all[r].msg[sizeof all[r].msg - 1] = '\0';
            const mf_reg_entry *e = mf__snap_find(&ex->reg, hdr[0]);
            rc = mf__fail(MF_EBROKEN,
                          "executor not opened: the initializer "
                          "'%s' failed on rank %d: %s",
                          e ? e->name : "?", r, all[r].msg);
        }
    }
    (void)host;
    free(all);
    return rc;
}

MF_API int mf_executor_open(MPI_Comm comm, int root,
                            const mf_executor_opts *opts, mf_executor **out)
{
    int rank, size, inter = 0, rc, init = 0, fin = 0;
    mf_executor *ex = NULL;
    mf_hello me, *all = NULL;
    char *blob = NULL;
    uint64_t bloblen = 0;

    mf__clear_error();
    if (!out)
        return mf__fail(MF_EINVAL, "mf_executor_open: NULL executor pointer");
    *out = NULL;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin)
        return mf__fail(MF_ESTATE, "mf_executor_open: MPI is not "
                                   "initialised (or already finalised)");
    if (comm == MPI_COMM_NULL)
        return mf__fail(MF_EINVAL, "mf_executor_open: MPI_COMM_NULL");
    if (MPI_Comm_test_inter(comm, &inter) != MPI_SUCCESS || inter)
        return mf__fail(MF_EINVAL, "mf_executor_open: needs an "
                                   "intra-communicator");
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (root < 0 || root >= size)
        return mf__fail(MF_EINVAL,
                        "mf_executor_open: root %d is not a rank "
                        "of a communicator of size %d",
                        root, size);
    if (size < 2)
        return mf__fail(MF_ENOWORKERS, "mf_executor_open: the communicator "
                                       "has 1 rank, so no workers (run with "
                                       "mpirun -n 2 or more)");

    memset(&me, 0, sizeof me);
    /* Not counted as a library block: a closed executor's struct is kept
     * (see mf_executor_free_ex). */
    ex = calloc(1, sizeof *ex);
    if (!ex) {
        me.status = MF_ENOMEM;
        snprintf(me.msg, sizeof me.msg, "out of memory");
    } else {
        ex->magic = MF_EX_MAGIC;
        ex->comm = MPI_COMM_NULL;
        ex->rank = rank;
        ex->size = size;
        ex->root = root;
        ex->nworkers = size - 1;
        me.status = mf_opts_resolve(opts, &ex->opts, me.msg, sizeof me.msg);
        if (me.status == MF_OK && mf__registry_snapshot(&ex->reg) != MF_OK) {
            me.status = MF_ENOMEM;
            snprintf(me.msg, sizeof me.msg, "out of memory");
        }
        if (me.status == MF_OK && rank == root && ex->opts.journal_path)
            me.status = mf__journal_open(ex->opts.journal_path,
                                         mf__registry_digest(&ex->reg),
                                         &ex->journal, me.msg, sizeof me.msg);
    }
    gethostname(me.host, sizeof me.host - 1);
    mf__cpuset(&me.cpus);

    /* Collective from here on: every rank takes the same steps whatever
     * its local status, so a failure anywhere can never hang the others. */
    MPI_Comm dup = MPI_COMM_NULL;
    if (MPI_Comm_dup(comm, &dup) != MPI_SUCCESS) {
        mf_executor_free(ex);
        return mf__fail(MF_EMPI, "mf_executor_open: MPI_Comm_dup failed");
    }
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);

    if (rank == root && ex && me.status == MF_OK) {
        for (size_t i = 0; i < ex->reg.n; i++)
            bloblen += strlen(ex->reg.e[i].name) + 1;
        blob = mf__malloc(bloblen ? bloblen : 1);
        if (blob) {
            size_t o = 0;
            for (size_t i = 0; i < ex->reg.n; i++) {
                size_t l = strlen(ex->reg.e[i].name) + 1;
                memcpy(blob + o, ex->reg.e[i].name, l);
                o += l;
            }
        } else {
            me.status = MF_ENOMEM;
            snprintf(me.msg, sizeof me.msg, "out of memory");
        }
        if (!blob || bloblen > INT_MAX)
            bloblen = UINT64_MAX; /* tells workers to skip the comparison */
    } else if (rank == root) {
        bloblen = UINT64_MAX;
    }
    rc = MPI_Bcast(&bloblen, 1, MPI_UINT64_T, root, dup);
    if (rc == MPI_SUCCESS && bloblen != UINT64_MAX) {
        if (rank != root) {
            blob = mf__malloc(bloblen ? bloblen : 1);
            /* Must take part in the broadcast even without memory. */
            char *dst = blob;
            char *scratch = NULL;
            if (!dst) {
                me.status = MF_ENOMEM;
                snprintf(me.msg, sizeof me.msg, "out of memory");
                scratch = malloc(bloblen ? bloblen : 1);
                dst = scratch;
            }
            rc = MPI_Bcast(dst, (int)bloblen, MPI_CHAR, root, dup);
            free(scratch);
        } else {
            rc = MPI_Bcast(blob, (int)bloblen, MPI_CHAR, root, dup);
        }
        if (rc == MPI_SUCCESS && rank != root && blob && me.status == MF_OK)
            mf_compare_registry(&ex->reg, blob, bloblen, rank, root, &me);
    }
    mf__free(blob);

    all = malloc((size_t)size * sizeof *all);
    me.mono_ns = mf__mono_ns();
    if (rc == MPI_SUCCESS) {
        if (all)
            rc = MPI_Allgather(&me, (int)sizeof me, MPI_BYTE, all,
                               (int)sizeof me, MPI_BYTE, dup);
        else
            rc = MPI_ERR_NO_MEM;
    }
    if (rc != MPI_SUCCESS) {
        free(all);
        mf_executor_free(ex);
        MPI_Comm_free(&dup);
        return mf__fail(MF_EMPI,
                        "mf_executor_open: collective set-up "
                        "failed (MPI error %d)",
                        rc);
    }
    for (int r = 0; r < size; r++) {
        if (all[r].status != MF_OK) {
            int st = all[r].status;
            int nbad = 0;
            for (int q = r; q < size; q++)
                nbad += all[q].status != MF_OK;
            all[r].msg[sizeof all[r].msg - 1] = '\0';
            mf__fail(st, "executor not opened: rank %d (%.64s): %s%s", r,
                     all[r].host, all[r].msg,
                     nbad > 1 ? " (other ranks failed too)" : "");
            free(all);
            mf_executor_free(ex);
            MPI_Comm_free(&dup);
            return st < MF_ERR_COUNT_ && st > 0 ? st : MF_EMPI;
        }
    }

    /* The initializer: the root's choice, run on every worker now. */
    if (mf_run_initializer(ex, dup, rank, root, size, me.host) != MF_OK) {
        int st = MF_EBROKEN;
        free(all);
        mf_executor_free(ex);
        MPI_Comm_free(&dup);
        return st;
    }

    ex->comm = dup;
    {
        /* Ranks on this host (same name) against the CPUs they may run
         * on together: when there are more ranks, waiting ranks yield
         * instead of spinning. */
        int local = 0;
        cpu_set_t *sets = mf__malloc((size_t)size * sizeof *sets);
        for (int r = 0; sets && r < size; r++)
            if (strncmp(all[r].host, me.host, sizeof me.host) == 0)
                sets[local++] = all[r].cpus;
        /* (Out of memory: assume the worst; yielding is merely slower.) */
        ex->oversub = !sets || mf__oversubscribed(sets, local);
        mf__free(sets);
    }
    mf__mpi_quiet_setup();
    memcpy(ex->host, me.host, sizeof ex->host);
    ex->host[sizeof ex->host - 1] = '\0';
    if (rank != root) {
        free(all);
        /* A worker only survives the signal: the root decides. */
        bool sig = ex->opts.handle_signals && mf__signals_install() == MF_OK;
        rc = mf__serve(ex);
        mf__big_trim();
        if (sig)
            mf__signals_restore();
        if (rc != MF_OK) {
            /* The root counts on this rank for the tasks it holds; going
             * on would leave it waiting forever. End the job, loudly. */
            fprintf(stderr,
                    "mpifutures: worker rank %d (%s): fatal: %s; aborting "
                    "the job\n",
                    rank, me.host, mf_last_error());
            MPI_Abort(comm, 70);
        }
        MPI_Comm_free(&ex->comm);
        mf_executor_free(ex);
        return rc;
    }

    /* Root: the executor proper. */
    ex->workers = mf__malloc((size_t)ex->nworkers * sizeof *ex->workers);
    ex->packed = mf__malloc(ex->opts.window * sizeof *ex->packed);
    ex->inflight = mf__calloc((size_t)size, sizeof *ex->inflight);
    ex->hosts = mf__calloc((size_t)size, sizeof *ex->hosts);
    rc = ex->workers && ex->inflight && ex->hosts && ex->packed ? MF_OK
                                                                : MF_ENOMEM;
    for (int r = 0, w = 0; rc == MF_OK && r < size; r++) {
        all[r].host[sizeof all[r].host - 1] = '\0';
        ex->hosts[r] = mf__strdup(all[r].host);
        if (!ex->hosts[r])
            rc = MF_ENOMEM;
        if (r != root)
            ex->workers[w++] = r;
    }
    if (rc == MF_OK) {
        int64_t *off = malloc((size_t)size * sizeof *off);
        if (off) {
            /* One host, one monotonic clock: no offset. Across hosts,
             * estimate it from the handshake (good to its latency). */
            for (int r = 0; r < size; r++)
                off[r] = strncmp(all[r].host, me.host, sizeof me.host) == 0
                             ? 0
                             : (int64_t)(me.mono_ns - all[r].mono_ns);
            rc = mf__obs_init(ex, off);
            free(off);
        } else {
            rc = MF_ENOMEM;
        }
    }
    free(all);
    if (rc != MF_OK) {
        /* The workers are serving: tell them to stop before failing. */
        mf_hello none;
        (void)none;
        for (int r = 0; r < size; r++) {
            if (r == root)
                continue;
            unsigned char hdr[MF_WIRE_HDR] = {0};
            uint32_t magic = MF_WIRE_MAGIC;
            memcpy(hdr, &magic, 4);
            hdr[4] = MF_WIRE_VERSION;
            hdr[5] = MF_MSG_SHUTDOWN;
            MPI_Send(hdr, MF_WIRE_HDR, MPI_BYTE, r, MF_WIRE_TAG, dup);
        }
        mf_executor_free(ex);
        MPI_Comm_free(&dup);
        return mf__fail(MF_ENOMEM, "mf_executor_open: out of memory");
    }
    ex->task_ns_avg = -1;
    ex->last_src = -1;
    mf_timeout_ms(ex->opts.task_timeout, &ex->timeout_ms);
    mf__lock();
    ex->next_open = mf_open_list;
    mf_open_list = ex;
    if (ex->opts.handle_signals && mf__signals_install() == MF_OK)
        ex->signals = true;
    if (ex->opts.progress_thread) {
        if (pthread_create(&ex->thread, NULL, mf_progress_thread, ex) == 0) {
            ex->has_thread = true;
        } else {
            mf__unlock();
            mf_executor_close(ex);
            return mf__fail(MF_ENOMEM, "cannot start the progress thread");
        }
    }
    mf__unlock();
    *out = ex;
    return MF_OK;
}

MF_API int mf_executor_workers(const mf_executor *ex)
{
    return ex && ex->magic == MF_EX_MAGIC ? ex->nworkers : 0;
}

MF_API int mf_executor_interrupted(const mf_executor *ex)
{
    int sig;
    if (!ex || ex->magic != MF_EX_MAGIC)
        return 0;
    mf__lock();
    sig = ex->interrupted;
    mf__unlock();
    return sig;
}

/* ---- progress -------------------------------------------------------- */

static void mf_fail_future(mf_executor *ex, mf_fut *f, int rank,
                           const char *msg, size_t msglen)
{
    mf_ferr *e = mf__calloc(1, sizeof *e);
    const mf_reg_entry *re = mf__snap_find(&ex->reg, f->fn);
    if (e) {
        e->message = mf__malloc(msglen + 1);
        e->function = mf__strdup(re ? re->name : "?");
        e->host = mf__strdup(rank >= 0 && rank < ex->size && ex->hosts[rank]
                                 ? ex->hosts[rank]
                                 : "?");
        if (!e->message || !e->function || !e->host) {
            mf__free(e->message);
            mf__free(e->function);
            mf__free(e->host);
            mf__free(e);
            e = NULL;
        } else {
            memcpy(e->message, msg, msglen);
            e->message[msglen] = '\0';
            e->pub.message = e->message;
            e->pub.function = e->function;
            e->pub.host = e->host;
            e->pub.rank = rank;
        }
    }
    f->err = e ? e : &mf__oom_err;
    mf__fut_finish(f, MF_FS_FAILED);
}

/* Handle one RESULTS message from `src`. */
static int mf_take_results(mf_executor *ex, int src, mf_rbuf *rb)
{
    mf_wire_reader r;
    mf_wire_rec rec;
    int rc = mf_wire_open(&r, rb->data, rb->len);
    if (rc != MF_OK)
        return rc;
    if (r.kind != MF_MSG_RESULTS)
        return mf__fail(MF_EPROTO,
                        "root received a message of kind %d from "
                        "rank %d",
                        r.kind, src);
    while ((rc = mf_wire_next(&r, &rec)) == MF_OK) {
        mf_future h = {rec.tag};
        mf_fut *f = mf__fut_lookup(h);
        if (!f || f->state != MF_FS_RUNNING || f->worker != src) {
            if (ex->abandoned)
                continue; /* a late answer to a task we gave up on */
            rc = mf__fail(MF_EPROTO,
                          "rank %d answered a task it was not "
                          "given (tag %llx)",
                          src, (unsigned long long)rec.tag);
            continue;
        }
        if (ex->inflight[src])
            ex->inflight[src]--;
        ex->last_src = src;
        if (ex->task_ns_avg < 0)
            ex->task_ns_avg = (double)rec.ns;
        else
            ex->task_ns_avg = 0.9 * ex->task_ns_avg + 0.1 * (double)rec.ns;
        mf_rbuf *own = rb;
        /* A small result is copied into the future (its argument is gone
         * by now), and the message buffer is freed once read. */
        bool small = !rec.ool && rec.status == MF_RS_OK &&
                     rec.len <= sizeof f->inline_buf;
        if (small) {
            own = NULL;
        } else if (rec.ool) {
            /* The payload is the next data message from src. */
            int r2 = mf__wire_recv_ool(ex->comm, src, rec.len, &own);
            if (r2 != MF_OK) {
                static const char m[] = "the root could not receive the "
                                        "result";
                mf_fail_future(ex, f, src, m, sizeof m - 1);
                rc = r2;
                continue;
            }
            rec.data = own->data;
        } else {
            rb->refs++;
        }
        mf__obs_result(ex, src, f, rec.start, rec.ns, rec.len,
                       rec.status != MF_RS_OK);
        if (ex->journal &&
            mf__journal_append(ex->journal, f->fn, f->digest, rec.status, 0,
                               rec.data, rec.len) != MF_OK &&
            !ex->journal_warned) {
            ex->journal_warned = true;
            fprintf(stderr, "mpifutures: cannot append to the journal; "
                            "results from now on are not saved\n");
        }
        if (small) {
            if (rec.len)
                memcpy(f->inline_buf, rec.data, rec.len);
            f->res = f->inline_buf;
            f->res_len = rec.len;
            mf__fut_finish(f, MF_FS_OK);
        } else if (rec.status == MF_RS_OK) {
            f->rbuf = own;
            f->res = rec.data;
            f->res_len = rec.len;
            mf__fut_finish(f, MF_FS_OK);
        } else {
            mf_fail_future(ex, f, src, rec.data, rec.len);
            if (f->err != &mf__oom_err)
                f->err->pub.reason =
                    rec.status == MF_RS_CRASHED   ? MF_FAIL_CRASH
                    : rec.status == MF_RS_TIMEOUT ? MF_FAIL_TIMEOUT
                                                  : MF_FAIL_TASK;
            mf__rbuf_unref(own);
        }
    }
    return rc == MF_EDONE ? MF_OK : rc;
}

static int mf_recv_results(mf_executor *ex, bool *act)
{
    /* Probe, then allocate, then receive: if the allocation fails, the
     * message stays queued in MPI and nothing is lost (a matched probe
     * would have to be received at once). Only this library receives on
     * its private communicator, under the library lock, so the message
     * probed is the one received. */
    for (int i = 0; i < 256; i++) {
        int flag = 0, count = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, MF_WIRE_TAG, ex->comm, &flag, &st) !=
            MPI_SUCCESS)
            return mf__fail(MF_EMPI, "MPI_Iprobe failed on the root");
        if (!flag)
            return MF_OK;
        *act = true;
        MPI_Get_count(&st, MPI_BYTE, &count);
        mf_rbuf *rb = mf__rbuf_new(count > 0 ? (size_t)count : 0);
        if (!rb)
            return mf__fail(MF_ENOMEM, "out of memory receiving results "
                                       "(they stay queued)");
        int src = st.MPI_SOURCE;
        if (MPI_Recv(rb->data, count, MPI_BYTE, src, MF_WIRE_TAG, ex->comm,
                     &st) != MPI_SUCCESS) {
            mf__rbuf_unref(rb);
            return mf__fail(MF_EMPI, "MPI_Recv failed on the root");
        }
        int rc = mf_take_results(ex, src, rb);
        mf__rbuf_unref(rb);
        if (rc != MF_OK)
            return rc;
    }
    return MF_OK;
}

static void mf_reap_sends(mf_executor *ex)
{
    size_t w = 0;
    for (size_t i = 0; i < ex->nsends; i++) {
        if (mf_wire_test(ex->sends[i])) {
            mf_wire_free(ex->sends[i]);
            mf__free(ex->sends[i]);
        } else {
            ex->sends[w++] = ex->sends[i];
        }
    }
    ex->nsends = w;
}

static int mf_wait_loop(bool (*pred)(void *), void *ctx, double deadline);

static int mf_push_send(mf_executor *ex, mf_send *s, int dest)
{
    if (ex->nsends == ex->capsends) {
        size_t cap = ex->capsends ? 2 * ex->capsends : 16;
        mf_send **ns = mf__realloc(ex->sends, cap * sizeof *ns);
        if (!ns)
            return MF_ENOMEM;
        ex->sends = ns;
        ex->capsends = cap;
    }
    int rc = mf_wire_isend(s, dest, ex->comm);
    if (rc != MF_OK) {
        /* Parts already posted must finish before s can be freed. */
        mf_wire_wait(s);
        return rc;
    }
    ex->sends[ex->nsends++] = s;
    return MF_OK;
}

static mf_fut *mf_pop(mf_executor *ex)
{
    mf_fut *f = ex->qhead;
    if (f) {
        ex->qhead = f->next;
        if (!ex->qhead)
            ex->qtail = NULL;
        f->next = NULL;
        f->queued = 0;
    }
    return f;
}

void mf__enqueue(mf_executor *ex, mf_fut *f)
{
    f->next = NULL;
    f->queued = 1;
    if (ex->qtail)
        ex->qtail->next = f;
    else
        ex->qhead = f;
    ex->qtail = f;
}

/* Drop cancelled entries at the head of the queue. */
static void mf_skip_cancelled(mf_executor *ex)
{
    while (ex->qhead && ex->qhead->state != MF_FS_PENDING) {
        mf_fut *f = mf_pop(ex);
        mf__fut_maybe_free(f);
    }
}

static unsigned mf_window(mf_executor *ex)
{
    unsigned max = ex->opts.window;
    if (max <= 2 || ex->task_ns_avg < 0)
        return max < 2 ? max : 2;
    double w = 2.0 + MF_WINDOW_TARGET_NS / (ex->task_ns_avg + 1.0);
    return w >= (double)max ? max : (unsigned)w;
}

static void mf_release_arg(void *p)
{
    mf__free(p);
}

/* Move one queued future into message `s` for worker `w`. */
static int mf_pack(mf_executor *ex, mf_send *s, mf_fut *f, int w)
{
    mf_free_fn release = f->arg_free                       ? f->arg_free
                         : f->arg != (void *)f->inline_buf ? mf_release_arg
                                                           : NULL;
    mf_future h = mf__fut_handle(f);
    uint32_t flags = (f->nitems ? MF_REC_CHUNK : 0) |
                     (f->isolate || f->timeout_ms ? MF_REC_ISOLATE : 0);
    int rc = mf_wire_add_task_t(s, h.h, f->fn, f->arg, f->arg_len, release,
                                flags, f->timeout_ms);
    f->arg = NULL; /* now owned by the message (or freed) */
    if (rc != MF_OK) {
        static const char m[] = "out of memory sending the task";
        mf_fail_future(ex, f, ex->rank, m, sizeof m - 1);
        return rc;
    }
    f->state = MF_FS_RUNNING;
    f->worker = w;
    ex->inflight[w]++;
    ex->obs.w[w].bytes_in += f->arg_len;
    return MF_OK;
}

static int mf_dispatch(mf_executor *ex, bool *act)
{
    unsigned window = mf_window(ex);
    int nw = ex->nworkers;
    int rc = MF_OK;
    /* Start with the worker that answered last: with little work about,
     * one warm worker serves it and the others stay asleep. Two passes:
     * first every idle worker gets one task (so two long tasks never queue
     * on one worker while another idles), then windows are filled. */
    int start =
        ex->last_src < 0
            ? ex->rr
            : (ex->last_src < ex->root ? ex->last_src : ex->last_src - 1);
    for (int k = 0; k < 2 * nw; k++) {
        int pass1 = k < nw;
        mf_skip_cancelled(ex);
        if (!ex->qhead)
            break;
        int w = ex->workers[(start + k) % nw];
        if (ex->inflight[w] >= window || (pass1 && ex->inflight[w] > 0))
            continue;
        /* Batch: an idle worker gets work at once (latency); a busy one
         * only once half its window is free, so messages carry many
         * tasks while the worker still has half a window to chew on. */
        if (ex->inflight[w] > 0 && window >= 4 &&
            ex->inflight[w] > window / 2)
            continue;
        long room = pass1 ? 1 : (long)window - (long)ex->inflight[w];
        mf_send *s = mf__malloc(sizeof *s);
        if (!s || mf_wire_begin(s, MF_MSG_TASKS) != MF_OK) {
            mf__free(s);
            return mf__fail(MF_ENOMEM, "out of memory dispatching tasks");
        }
        size_t bytes = 0, npacked = 0;
        while (room > 0 && bytes < MF_BATCH_BYTES &&
               npacked < ex->opts.window) {
            mf_skip_cancelled(ex);
            mf_fut *f = mf_pop(ex);
            if (!f)
                break;
            bytes += f->arg_len;
            if (mf_pack(ex, s, f, w) != MF_OK)
                continue;
            ex->packed[npacked++] = f;
            room--;
        }
        if (s->count == 0) {
            mf_wire_free(s);
            mf__free(s);
            continue;
        }
        if (ex->qhead)
            mf_wire_set_flags(s, MF_HDR_MORE);
        rc = mf_wire_finish(s);
        if (rc == MF_OK)
            rc = mf_push_send(ex, s, w);
        if (rc != MF_OK) {
            /* Out of memory or an MPI failure: the tasks of `s` were not
             * sent. Fail their futures (nothing waits forever) and go on. */
            char m[160];
            int n = snprintf(m, sizeof m,
                             "could not send the task to rank "
                             "%d: %s",
                             w, mf_strerror(rc));
            mf_wire_free(s);
            mf__free(s);
            for (size_t i = 0; i < npacked; i++) {
                mf_fut *f = ex->packed[i];
                if (ex->inflight[w])
                    ex->inflight[w]--;
                mf_fail_future(ex, f, w, m, (size_t)n);
            }
            return mf__fail(rc, "failed to send tasks to rank %d", w);
        }
        *act = true;
    }
    if (nw)
        ex->rr = (ex->rr + 1) % nw;
    return rc;
}

static int mf_release_workers(mf_executor *ex)
{
    int rc = MF_OK;
    for (int k = 0; k < ex->nworkers; k++) {
        unsigned char hdr[MF_WIRE_HDR] = {0};
        uint32_t magic = MF_WIRE_MAGIC;
        memcpy(hdr, &magic, 4);
        hdr[4] = MF_WIRE_VERSION;
        hdr[5] = MF_MSG_SHUTDOWN;
        if (MPI_Send(hdr, MF_WIRE_HDR, MPI_BYTE, ex->workers[k], MF_WIRE_TAG,
                     ex->comm) != MPI_SUCCESS)
            rc = mf__fail(MF_EMPI, "failed to release rank %d",
                          ex->workers[k]);
    }
    ex->released = true;
    return rc;
}

/* Dispatch without polling for results (submit's fast path). */
static int mf_dispatch_only(mf_executor *ex)
{
    bool act = false;
    int rc = MF_OK;
    if (ex->in_progress || ex->released)
        return MF_OK;
    ex->in_progress = true;
    if (ex->qhead) {
        mf__mpi_quiet_enter();
        rc = mf_dispatch(ex, &act);
        mf__mpi_quiet_leave();
    }
    ex->in_progress = false;
    return rc;
}

/* Fail a running future of `ex` given up after the grace period. */
static void mf_abandon_one(mf_fut *f, void *ctx)
{
    mf_executor *ex = ctx;
    char m[200];
    if (f->ex != ex || f->state != MF_FS_RUNNING)
        return;
    int n =
        snprintf(m, sizeof m,
                 "abandoned: the job was interrupted by %s and the task "
                 "did not finish within the %u s grace period",
                 mf__signal_name(ex->interrupted), ex->opts.grace_seconds);
    mf_fail_future(ex, f, f->worker, m, (size_t)n);
    if (f->err != &mf__oom_err)
        f->err->pub.reason = MF_FAIL_ABANDONED;
}

/* Notice a caught signal, and the end of the grace period after it. */
static void mf_check_signal(mf_executor *ex)
{
    int sig = mf__signal_caught();
    if (!sig)
        return;
    if (!ex->interrupted) {
        ex->interrupted = sig;
        ex->interrupt_at = mf__now();
        ex->shutdown = true;
        for (mf_fut *f = ex->qhead; f; f = f->next)
            if (f->state == MF_FS_PENDING)
                mf__fut_finish(f, MF_FS_CANCELLED);
    } else if (!ex->abandoned && ex->outstanding > 0 &&
               mf__now() - ex->interrupt_at >= ex->opts.grace_seconds) {
        ex->abandoned = true;
        mf__fut_foreach(mf_abandon_one, ex);
    }
}

int mf__progress(mf_executor *ex, bool *activity)
{
    bool act = false;
    int rc = MF_OK;
    if (ex->in_progress || ex->released)
        return MF_OK;
    ex->in_progress = true;
    mf__mpi_quiet_enter();
    if (ex->signals)
        mf_check_signal(ex);
    rc = mf_recv_results(ex, &act);
    mf_reap_sends(ex);
    if (rc == MF_OK && ex->qhead) {
        uint64_t t0 = ex->obs.trace_path ? mf__mono_ns() : 0;
        bool sent = false;
        rc = mf_dispatch(ex, &sent);
        if (sent && t0)
            mf__obs_phase(ex, MF_EV_DISPATCH, t0, mf__mono_ns());
        act |= sent;
    }
    if (ex->opts.progress)
        mf__obs_tick(ex);
    if (ex->shutdown && ex->outstanding == 0 && !ex->released) {
        mf_skip_cancelled(ex);
        int r2 = mf_release_workers(ex);
        if (rc == MF_OK)
            rc = r2;
    }
    mf__mpi_quiet_leave();
    ex->in_progress = false;
    if (activity && act)
        *activity = true;
    return rc;
}

int mf__progress_all(bool *activity)
{
    int rc = MF_OK;
    for (mf_executor *ex = mf_open_list; ex; ex = ex->next_open) {
        int r = mf__progress(ex, activity);
        if (rc == MF_OK)
            rc = r;
    }
    return rc;
}

/* The root's progress thread: makes progress while no caller does, with
 * the same idle backoff as a waiting caller. */
/* The longest sleep of a root waiting on `ex` (lock held). The backoff
 * already keeps short waits hot (spin, then yield, then sleeps of at most
 * 10% of the wait); while a large send needs polling to move, sleeps stay
 * short. */
static unsigned mf_ceiling(const mf_executor *ex, unsigned max)
{
    for (size_t i = 0; i < ex->nsends; i++)
        if (ex->sends[i]->nool)
            return max < 50 ? max : 50;
    return max;
}

static void *mf_progress_thread(void *arg)
{
    mf_executor *ex = arg;
    mf_backoff b;
    mf__backoff_init(&b, ex->oversub);
    mf__lock();
    while (!ex->stop_thread) {
        bool act = false;
        unsigned ceiling;
        if (mf__waiters == 0)
            (void)mf__progress(ex, &act);
        if (act)
            mf__backoff_reset(&b);
        if (mf__waiters > 0)
            ceiling = 200; /* a caller drives progress: stand back */
        else
            ceiling = mf_ceiling(ex, ex->opts.idle_sleep_max_us);
        mf__unlock();
        mf__backoff_idle(&b, INFINITY, ceiling);
        mf__lock();
    }
    mf__unlock();
    return NULL;
}

static void mf_stop_thread(mf_executor *ex)
{
    if (!ex->has_thread)
        return;
    ex->stop_thread = true;
    mf__unlock();
    pthread_join(ex->thread, NULL);
    mf__lock();
    ex->has_thread = false;
}

int mf__wait_until(bool (*pred)(void *), void *ctx, double deadline)
{
    int rc;
    uint64_t t0 = mf__mono_ns();
    mf__waiters++;
    rc = mf_wait_loop(pred, ctx, deadline);
    mf__waiters--;
    for (mf_executor *ex = mf_open_list; ex; ex = ex->next_open)
        if (ex->obs.trace_path)
            mf__obs_phase(ex, MF_EV_WAIT, t0, mf__mono_ns());
    return rc;
}

static int mf_wait_loop(bool (*pred)(void *), void *ctx, double deadline)
{
    mf_backoff b;
    int oversub = 0;
    for (mf_executor *ex = mf_open_list; ex; ex = ex->next_open)
        oversub |= ex->oversub;
    mf__backoff_init(&b, oversub);
    for (;;) {
        bool act = false;
        unsigned ceiling = 1000000;
        int rc = mf__progress_all(&act);
        if (pred(ctx))
            return MF_OK;
        if (rc != MF_OK)
            return rc;
        if (mf__now() >= deadline)
            return mf__fail(MF_ETIMEDOUT, "timed out");
        if (!mf_open_list)
            return mf__fail(MF_ESTATE, "waiting with no open executor");
        if (act)
            mf__backoff_reset(&b);
        for (mf_executor *ex = mf_open_list; ex; ex = ex->next_open) {
            unsigned c = mf_ceiling(ex, ex->opts.idle_sleep_max_us);
            if (c < ceiling)
                ceiling = c;
        }
        mf__unlock();
        mf__backoff_idle(&b, deadline, ceiling);
        mf__lock();
    }
}

/* ---- submit ---------------------------------------------------------- */

int mf__check_submit(mf_executor *ex, mf_fn_id fn, const void *arg,
                     size_t len)
{
    if (!arg && len)
        return mf__fail(MF_EINVAL, "NULL argument with length %zu", len);
    if (ex->interrupted)
        return mf__fail(MF_EINTR, "the executor was interrupted by %s",
                        mf__signal_name(ex->interrupted));
    if (ex->shutdown)
        return mf__fail(MF_ESHUTDOWN, "the executor is shut down");
    if (!mf__snap_find(&ex->reg, fn))
        return mf__fail(MF_ENOENT,
                        "function id %016llx was not registered "
                        "when the executor opened",
                        (unsigned long long)fn);
    if (len > ex->opts.max_arg_bytes)
        return mf__fail(MF_E2BIG,
                        "argument of %zu bytes is above the "
                        "limit of %zu (max_arg_bytes)",
                        len, ex->opts.max_arg_bytes);
    return MF_OK;
}

int mf__new_task(mf_executor *ex, mf_fn_id fn, const void *arg, size_t len,
                 mf_fut **out)
{
    mf_fut *f = mf__fut_alloc();
    if (!f)
        return mf__fail(MF_ENOMEM, "out of memory creating a future");
    if (len <= MF_INLINE_ARG) {
        f->arg = f->inline_buf;
    } else if (len >= MF_BIG_MIN) {
        /* Reused large blocks: no fresh pages for every big argument. */
        f->arg = mf__big_get(len);
        f->arg_free = mf__big_put;
        if (!f->arg) {
            mf__fut_slot_free(f);
            return mf__fail(MF_ENOMEM,
                            "out of memory copying a %zu-byte "
                            "argument",
                            len);
        }
    } else {
        f->arg = mf__malloc(len);
        if (!f->arg) {
            mf__fut_slot_free(f);
            return mf__fail(MF_ENOMEM,
                            "out of memory copying a %zu-byte "
                            "argument",
                            len);
        }
    }
    if (len)
        memcpy(f->arg, arg, len);
    f->arg_len = len;
    f->fn = fn;
    f->ex = ex;
    f->refs = 1;
    f->held = 1;
    f->isolate = (uint8_t)ex->opts.isolate;
    f->timeout_ms = ex->timeout_ms;
    ex->outstanding++;
    *out = f;
    return MF_OK;
}

MF_API int mf_submit(mf_executor *ex, mf_fn_id fn, const void *arg,
                     size_t len, mf_future *fut)
{
    return mf_submit_ex(ex, fn, arg, len, NULL, fut);
}

/* Seconds to whole milliseconds for the wire (at least 1 if positive). */
static int mf_timeout_ms(double t, uint32_t *ms)
{
    if (!(t > 0)) {
        *ms = 0;
        return MF_OK;
    }
    if (t > 4.2e6)
        return MF_EINVAL;
    *ms = (uint32_t)(t * 1000.0 + 0.5);
    if (*ms == 0)
        *ms = 1;
    return MF_OK;
}

MF_API int mf_submit_ex(mf_executor *ex, mf_fn_id fn, const void *arg,
                        size_t len, const mf_submit_opts *opts,
                        mf_future *fut)
{
    int rc;
    mf_fut *f = NULL;
    uint32_t tms = 0;
    mf__clear_error();
    if ((rc = mf__ex_check(ex, "mf_submit")) != MF_OK)
        return rc;
    if (!fut)
        return mf__fail(MF_EINVAL, "mf_submit: NULL future pointer");
    if (opts && opts->timeout != 0 &&
        mf_timeout_ms(opts->timeout, &tms) != MF_OK)
        return mf__fail(MF_EINVAL, "mf_submit_ex: timeout %g s is too long",
                        opts->timeout);
    mf__lock();
    rc = mf__check_submit(ex, fn, arg, len);
    if (rc == MF_OK && opts && opts->free_arg && len > MF_INLINE_ARG) {
        /* Take the caller's buffer as it is: no copy. */
        rc = mf__new_task(ex, fn, NULL, 0, &f);
        if (rc == MF_OK) {
            f->arg = (void *)arg;
            f->arg_len = len;
            f->arg_free = opts->free_arg;
        }
    } else if (rc == MF_OK) {
        rc = mf__new_task(ex, fn, arg, len, &f);
        if (rc == MF_OK && opts && opts->free_arg && arg)
            opts->free_arg((void *)arg); /* small: copied inline */
    }
    if (rc != MF_OK && opts && opts->free_arg && arg)
        opts->free_arg((void *)arg); /* ownership passed even on failure */
    if (rc == MF_OK && opts) {
        if (opts->timeout != 0)
            f->timeout_ms = tms; /* negative: none */
        if (opts->isolate)
            f->isolate = 1;
    }
    if (rc == MF_OK) {
        ex->obs.submitted++;
        *fut = mf__fut_handle(f);
        if (ex->journal && mf__journal_try(ex, f)) {
            mf__unlock();
            return MF_OK;
        }
        mf__enqueue(ex, f);
        /* Send it now if a worker has room; a failure here belongs to the
         * executor, not to this submit (the future is queued). Polling
         * for results costs more than the rest of a submit, so a burst of
         * submits polls on every 16th only; a worker that runs dry in
         * between waits at most 15 submits. */
        if ((++ex->nsubmits & 15) == 0 || mf_dispatch_only(ex) != MF_OK)
            (void)mf__progress(ex, NULL);
    }
    mf__unlock();
    return rc;
}

/* ---- shutdown and close ---------------------------------------------- */

static bool mf_pred_released(void *ctx)
{
    mf_executor *ex = ctx;
    return ex->released;
}

MF_API int mf_executor_shutdown(mf_executor *ex, int wait, int cancel_futures)
{
    int rc = MF_OK;
    mf__clear_error();
    if ((rc = mf__ex_check(ex, "mf_executor_shutdown")) != MF_OK)
        return rc;
    mf__lock();
    if (wait && mf__cb_depth > 0) {
        mf__unlock();
        return mf__fail(MF_EINCALLBACK, "mf_executor_shutdown(wait) from a "
                                        "done callback");
    }
    ex->shutdown = true;
    if (cancel_futures) {
        for (mf_fut *f = ex->qhead; f; f = f->next)
            if (f->state == MF_FS_PENDING)
                mf__fut_finish(f, MF_FS_CANCELLED);
    }
    rc = mf__progress(ex, NULL);
    if (wait && rc == MF_OK && !ex->released)
        rc = mf__wait_until(mf_pred_released, ex, INFINITY);
    mf__unlock();
    return rc;
}

MF_API int mf_executor_close(mf_executor *ex)
{
    int rc;
    if (!ex)
        return MF_OK;
    if ((rc = mf__ex_check(ex, "mf_executor_close")) != MF_OK)
        return rc;
    mf__lock();
    if (mf__cb_depth > 0) {
        mf__unlock();
        return mf__fail(MF_EINCALLBACK, "mf_executor_close from a done "
                                        "callback");
    }
    rc = mf_executor_shutdown(ex, 1, 0);
    if (ex->abandoned) {
        /* Workers are still inside tasks we gave up on: they cannot be
         * released in order, and MPI_Finalize would wait for them. */
        fprintf(stderr,
                "mpifutures: interrupted by %s; tasks still running after "
                "the %u s grace period; ending the job\n",
                mf__signal_name(ex->interrupted), ex->opts.grace_seconds);
        fflush(stderr);
        MPI_Abort(ex->comm, 128 + ex->interrupted);
    }
    if (rc != MF_OK && !ex->released) {
        /* Broken beyond repair: cancel what is left so nobody waits
         * forever, then still release the workers. */
        for (mf_fut *f = ex->qhead; f; f = f->next)
            if (f->state == MF_FS_PENDING)
                mf__fut_finish(f, MF_FS_CANCELLED);
        mf_release_workers(ex);
    }
    for (size_t i = 0; i < ex->nsends; i++) {
        mf_wire_wait(ex->sends[i]);
        mf_wire_free(ex->sends[i]);
        mf__free(ex->sends[i]);
    }
    ex->nsends = 0;
    while (ex->qhead) {
        mf_fut *f = mf_pop(ex);
        mf__fut_maybe_free(f);
    }
    mf_stop_thread(ex);
    mf__obs_close(ex);
    mf__big_trim();
    if (ex->signals)
        mf__signals_restore();
    for (mf_executor **p = &mf_open_list; *p; p = &(*p)->next_open) {
        if (*p == ex) {
            *p = ex->next_open;
            break;
        }
    }
    MPI_Comm_free(&ex->comm);
    mf_executor_free_ex(ex, 1);
    mf__unlock();
    return rc;
}

bool mf__journal_try(mf_executor *ex, mf_fut *f)
{
    uint32_t status, reason;
    const void *bytes;
    size_t len;
    mf__journal_digest(f->arg, f->arg_len, f->digest);
    if (!mf__journal_find(ex->journal, f->fn, f->digest, &status, &reason,
                          &bytes, &len))
        return false;
    if (status == MF_RS_OK) {
        mf_rbuf *rb = mf__rbuf_new(len);
        if (!rb)
            return false; /* run it instead */
        memcpy(rb->data, bytes, len);
        f->rbuf = rb;
        f->res = rb->data;
        f->res_len = len;
        mf__fut_finish(f, MF_FS_OK);
    } else {
        mf_fail_future(ex, f, -1, bytes, len);
        if (f->err != &mf__oom_err)
            f->err->pub.reason = status == MF_RS_CRASHED   ? MF_FAIL_CRASH
                                 : status == MF_RS_TIMEOUT ? MF_FAIL_TIMEOUT
                                                           : MF_FAIL_TASK;
    }
    return true;
}

MF_API int mf_executor_journal(mf_executor *ex, size_t *loaded,
                               size_t *reused, size_t *torn_bytes)
{
    size_t l, r, t;
    int rc = mf__ex_check(ex, "mf_executor_journal");
    if (rc != MF_OK)
        return rc;
    mf__lock();
    mf__journal_counts(ex->journal, &l, &r, &t);
    mf__unlock();
    if (loaded)
        *loaded = l;
    if (reused)
        *reused = r;
    if (torn_bytes)
        *torn_bytes = t;
    return MF_OK;
}
