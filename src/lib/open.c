/* open.c — mf_executor_open(): the collective open, step by step.
 *
 *   1. check the arguments          (local; a bad call returns at once)
 *   2. local preparation            (options, registry copy, journal)
 *   3. the handshake                (collective: registry names, facts)
 *   4. the initializer              (collective: run on every worker)
 *   5. a worker serves tasks until released, then returns no executor;
 *      the root sets up the executor proper and starts it.
 *
 * From step 3 on every rank takes the same collective steps whatever its
 * own state, and all ranks agree on the outcome (mf_agree): a failure on
 * one rank, out of memory included, fails the open on every rank with the
 * same message, and never leaves the others waiting in a collective.
 * Nothing here allocates what a collective needs without first agreeing
 * that every rank got it.
 */

#include "alloc.h"
#include "clock.h"
#include "errors.h"
#include "executor.h"
#include "guard.h"
#include "journal.h"
#include "link.h"
#include "local.h"
#include "observe.h"
#include "opts.h"
#include "progress.h"
#include "registry.h"
#include "signals.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MF_HELLO_MSG 440
/* mf_open_check_args: a one-rank program opens a local pool instead. */
#define MF_LOCAL_INSTEAD (-1)

/* A rank's state and facts at the handshake. */
typedef struct mf_hello {
    int32_t status;
    int32_t nmismatch;
    uint64_t mono_ns; /* clock at the handshake, for trace offsets */
    cpu_set_t cpus;   /* where this rank may run (oversubscription) */
    char host[64];
    char msg[MF_HELLO_MSG];
} mf_hello;

static void mf_hello_fail(mf_hello *h, int status, const char *what)
{
    if (h->status != MF_OK)
        return; /* the first failure is the one to report */
    h->status = status;
    snprintf(h->msg, sizeof h->msg, "%s", what);
}

/* Collective: every rank learns the lowest rank whose status is not MF_OK,
 * with that rank's status, host and message, and how many ranks failed.
 * Allocates nothing, so a rank short of memory takes part all the same.
 * Returns that rank, -1 if every rank is fine, or -2 on an MPI error. */
static int mf_agree(MPI_Comm comm, mf_hello *h, int *nbad)
{
    int rank, bad = h->status != MF_OK, count = 0;
    struct {
        int value, rank;
    } mine, first;
    MPI_Comm_rank(comm, &rank);
    mine.value = bad ? 0 : 1;
    mine.rank = rank;
    if (MPI_Allreduce(&bad, &count, 1, MPI_INT, MPI_SUM, comm) !=
            MPI_SUCCESS ||
        MPI_Allreduce(&mine, &first, 1, MPI_2INT, MPI_MINLOC, comm) !=
            MPI_SUCCESS)
        return -2;
    if (nbad)
        *nbad = count;
    if (count == 0)
        return -1;
    if (MPI_Bcast(h, (int)sizeof *h, MPI_BYTE, first.rank, comm) !=
        MPI_SUCCESS)
        return -2;
    h->msg[sizeof h->msg - 1] = '\0';
    h->host[sizeof h->host - 1] = '\0';
    return first.rank;
}

/* Broadcast len bytes in pieces. A rank without a buffer (buf NULL: out of
 * memory) still takes part, through a scratch piece, so the counts match
 * on every rank. */
static int mf_bcast_bytes(void *buf, size_t len, int root, MPI_Comm comm)
{
    char scratch[16384] = {0};
    const size_t piece = sizeof scratch;
    for (size_t off = 0; off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        void *dst = buf ? (char *)buf + off : scratch;
        if (MPI_Bcast(dst, (int)n, MPI_BYTE, root, comm) != MPI_SUCCESS)
            return MF_EMPI;
    }
    return MF_OK;
}

/* ---- 1. the arguments ----------------------------------------------- */

/* A launcher announces N > 1 ranks in its environment, yet this world has
 * 1: the process was started by another MPI's launcher, so each of the N
 * processes runs alone. Say so, naming both, once per process (as
 * mpi4py does); true with the text in why. */
static bool mf_launcher_mismatch(char *why, size_t len)
{
    static const struct {
        const char *var, *who;
    } env[] = {
        {"OMPI_COMM_WORLD_SIZE", "Open MPI's mpirun"},
        {"PMI_SIZE", "MPICH's mpiexec (Hydra) or another PMI launcher"},
        {"SLURM_STEP_NUM_TASKS", "Slurm's srun"},
    };
    static int told;
    int wsize = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &wsize);
    if (wsize != 1)
        return false;
    for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
        const char *v = getenv(env[i].var);
        long n = v ? strtol(v, NULL, 10) : 0;
        if (n < 2)
            continue;
        if (i == 2 && !getenv("SLURM_PROCID"))
            continue; /* a batch script itself, not a task of srun */
        char lib[MPI_MAX_LIBRARY_VERSION_STRING] = "?";
        int l = 0;
        MPI_Get_library_version(lib, &l);
        lib[strcspn(lib, "\n,")] = '\0';
        snprintf(
            why, len,
            "this process was started as one of %ld ranks by %s (%s=%s), "
            "but its MPI library (%s) sees a world of 1 rank: the "
            "launcher belongs to another MPI, so every rank runs alone. "
            "Start the program with the launcher of the MPI it was "
            "built with (Debian: mpiexec.openmpi or mpiexec.mpich), or "
            "rebuild it against the launcher's MPI",
            n, env[i].who, env[i].var, v, lib);
        if (!told++) {
            fprintf(stderr, "mpifutures: %s\n", why);
            fflush(stderr);
        }
        return true;
    }
    return false;
}

static int mf_open_check_args(MPI_Comm comm, int root, mf_executor **out,
                              int *rank, int *size)
{
    int inter = 0, init = 0, fin = 0;
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
    MPI_Comm_rank(comm, rank);
    MPI_Comm_size(comm, size);
    if (root < 0 || root >= *size)
        return mf__fail(MF_EINVAL,
                        "mf_executor_open: root %d is not a rank "
                        "of a communicator of size %d",
                        root, *size);
    if (*size < 2) {
        char why[600];
        int wsize = 1;
        if (mf_launcher_mismatch(why, sizeof why))
            return mf__fail(MF_ENOWORKERS, "mf_executor_open: %s", why);
        MPI_Comm_size(MPI_COMM_WORLD, &wsize);
        const char *be = getenv("MF_BACKEND");
        if (be && *be && strcmp(be, "processes") && strcmp(be, "threads") &&
            strcmp(be, "none"))
            return mf__fail(MF_EINVAL,
                            "environment variable MF_BACKEND='%.40s' is not "
                            "processes, threads or none",
                            be);
        /* A program started alone (./prog): its workers are local
         * processes. A one-rank part of a bigger job stays without. */
        if (wsize == 1 && !(be && strcmp(be, "none") == 0))
            return MF_LOCAL_INSTEAD;
        return mf__fail(
            MF_ENOWORKERS,
            "mf_executor_open: the communicator has 1 rank, so no "
            "workers (run with mpirun -n 2 or more%s)",
            wsize == 1 ? ", or without MF_BACKEND=none" : "");
    }
    return MF_OK;
}

/* ---- 2. local preparation ------------------------------------------- */

/* The trace file must be writable now, not found unwritable at the end of
 * a long run. Creates it (empty) if missing; it is written at close. */
static int mf_check_trace(const char *path, char *msg, size_t msglen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(msg, msglen,
                 "cannot write the trace file '%.300s' (MF_TRACE "
                 "or opts.trace_path): %s",
                 path, strerror(errno));
        return MF_EINVAL;
    }
    close(fd);
    return MF_OK;
}

/* The executor struct and what each rank can check alone. Returns it (NULL
 * out of memory); failures go to me->status. */
/* The executor is set up but its progress thread could not start:
 * close it (which releases the workers) and say why. */
static int mf_start_failed(mf_executor *ex)
{
    (void)mf_executor_close(ex);
    return mf__fail(MF_ENOMEM, "cannot start the progress thread");
}

static mf_executor *mf_open_prepare(int rank, int size, int root,
                                    const mf_executor_opts *opts,
                                    mf_hello *me)
{
    /* Not counted as a library block: a closed executor's struct is kept
     * (see mf__ex_free). */
    mf_executor *ex = calloc(1, sizeof *ex);
    gethostname(me->host, sizeof me->host - 1);
    mf__cpuset(&me->cpus);
    if (!ex) {
        mf_hello_fail(me, MF_ENOMEM, "out of memory");
        return NULL;
    }
    ex->magic = MF_EX_MAGIC;
    ex->comm = MPI_COMM_NULL;
    ex->rank = rank;
    ex->size = size;
    ex->root = root;
    ex->nworkers = size - 1;
    me->status = mf__opts_resolve(opts, &ex->opts, me->msg, sizeof me->msg);
    if (me->status == MF_OK && mf__registry_snapshot(&ex->reg) != MF_OK)
        mf_hello_fail(me, MF_ENOMEM, "out of memory");
    if (me->status != MF_OK || rank != root)
        return ex;
    /* The root's choices, checked once, on the root. */
    if (ex->opts.initializer &&
        !mf__snap_find(&ex->reg, ex->opts.initializer)) {
        me->status = MF_EINVAL;
        snprintf(me->msg, sizeof me->msg,
                 "option initializer: id %016llx is not a registered "
                 "function",
                 (unsigned long long)ex->opts.initializer);
        return ex;
    }
    if (ex->opts.trace_path)
        me->status =
            mf_check_trace(ex->opts.trace_path, me->msg, sizeof me->msg);
    if (me->status == MF_OK && ex->opts.journal_path)
        me->status = mf__journal_open(ex->opts.journal_path,
                                      mf__registry_digest(&ex->reg),
                                      &ex->journal, me->msg, sizeof me->msg);
    return ex;
}

/* ---- 3. the handshake ----------------------------------------------- */

/* Is `name` one of the NUL-separated names of blob? */
static bool mf_blob_has(const char *blob, size_t bloblen, const char *name)
{
    for (size_t o = 0; o < bloblen;) {
        size_t l = strnlen(blob + o, bloblen - o);
        if (l == bloblen - o)
            return false; /* unterminated tail */
        if (strcmp(blob + o, name) == 0)
            return true;
        o += l + 1;
    }
    return false;
}

/* Compare our registry with the root's list of names (NUL-separated). */
static void mf_compare_registry(const mf_reg_snap *mine, const char *blob,
                                size_t bloblen, int rank, int root,
                                mf_hello *h)
{
    char first[MF_HELLO_MSG] = "";
    for (size_t off = 0; off < bloblen;) {
        const char *name = blob + off;
        size_t l = strnlen(name, bloblen - off);
        if (l == bloblen - off)
            break; /* unterminated: ignore the tail */
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
    for (size_t i = 0; i < mine->n; i++) {
        if (mf_blob_has(blob, bloblen, mine->e[i].name))
            continue;
        if (!h->nmismatch)
            snprintf(first, sizeof first,
                     "function '%s' is registered on rank %d but not on "
                     "the root (rank %d)",
                     mine->e[i].name, rank, root);
        h->nmismatch++;
    }
    if (h->nmismatch) {
        h->status = MF_EMISMATCH;
        if (h->nmismatch > 1)
            snprintf(h->msg, sizeof h->msg,
                     "%.380s (and %d more differences)", first,
                     h->nmismatch - 1);
        else
            snprintf(h->msg, sizeof h->msg, "%s", first);
    }
}

/* The root's registry names, NUL-separated (NULL out of memory). */
static char *mf_registry_blob(const mf_reg_snap *reg, uint64_t *len)
{
    size_t n = 0, o = 0;
    for (size_t i = 0; i < reg->n; i++)
        n += strlen(reg->e[i].name) + 1;
    char *blob = mf__malloc(n ? n : 1);
    if (!blob)
        return NULL;
    for (size_t i = 0; i < reg->n; i++) {
        size_t l = strlen(reg->e[i].name) + 1;
        memcpy(blob + o, reg->e[i].name, l);
        o += l;
    }
    *len = n;
    return blob;
}

/* Collective: the root's registry goes to every worker, which compares it
 * with its own; then every rank agrees on the outcome and, if all is well,
 * learns every rank's facts (*all, size entries). MF_OK, or the agreed
 * failure (recorded with mf__fail) on every rank. */
static int mf_open_handshake(mf_executor *ex, MPI_Comm dup, int rank,
                             int root, int size, mf_hello *me, mf_hello **all)
{
    uint64_t bloblen = UINT64_MAX; /* "skip the comparison" */
    char *blob = NULL;
    int nbad = 0, bad;
    *all = NULL;
    if (rank == root && me->status == MF_OK) {
        blob = mf_registry_blob(&ex->reg, &bloblen);
        if (!blob)
            mf_hello_fail(me, MF_ENOMEM, "out of memory");
        if (!blob || bloblen > INT_MAX)
            bloblen = UINT64_MAX;
    }
    if (MPI_Bcast(&bloblen, 1, MPI_UINT64_T, root, dup) != MPI_SUCCESS)
        return mf__fail(MF_EMPI, "mf_executor_open: broadcasting the "
                                 "registry failed");
    if (bloblen != UINT64_MAX) {
        if (rank != root) {
            blob = mf__malloc(bloblen ? bloblen : 1);
            if (!blob)
                mf_hello_fail(me, MF_ENOMEM, "out of memory");
        }
        if (mf_bcast_bytes(blob, bloblen, root, dup) != MF_OK)
            return mf__fail(MF_EMPI, "mf_executor_open: broadcasting the "
                                     "registry failed");
        if (rank != root && blob && me->status == MF_OK && ex)
            mf_compare_registry(&ex->reg, blob, bloblen, rank, root, me);
    }
    mf__free(blob);

    /* Room for everyone's facts, before agreeing: a rank without it fails
     * the open like any other local failure. */
    *all = malloc((size_t)size * sizeof **all);
    if (!*all)
        mf_hello_fail(me, MF_ENOMEM, "out of memory");
    mf_hello verdict = *me;
    bad = mf_agree(dup, &verdict, &nbad);
    if (bad == -1) {
        me->mono_ns = mf__mono_ns();
        if (MPI_Allgather(me, (int)sizeof *me, MPI_BYTE, *all,
                          (int)sizeof *me, MPI_BYTE, dup) == MPI_SUCCESS)
            return MF_OK;
        bad = -2;
    }
    free(*all);
    *all = NULL;
    if (bad == -2)
        return mf__fail(MF_EMPI, "mf_executor_open: collective set-up "
                                 "failed (MPI error)");
    int st = verdict.status > 0 && verdict.status < MF_ERR_COUNT_
                 ? verdict.status
                 : MF_EMPI;
    return mf__fail(st, "executor not opened: rank %d (%.64s): %s%s", bad,
                    verdict.host, verdict.msg,
                    nbad > 1 ? " (other ranks failed too)" : "");
}

/* ---- 4. the initializer --------------------------------------------- */

/* Collective: the root sends its initializer (id, argument), every worker
 * runs it, and all ranks agree whether any failed. */
static int mf_run_initializer(mf_executor *ex, MPI_Comm comm, int rank,
                              int root, const mf_hello *facts)
{
    uint64_t hdr[2] = {0, 0}; /* id, length (checked at open: <= 1 GiB) */
    mf_hello me;
    char *arg = NULL;
    memset(&me, 0, sizeof me);
    memcpy(me.host, facts->host, sizeof me.host);
    if (rank == root && ex->opts.initializer) {
        hdr[0] = ex->opts.initializer; /* registered: checked at step 2 */
        hdr[1] = ex->opts.initializer_len;
    }
    if (MPI_Bcast(hdr, 2, MPI_UINT64_T, root, comm) != MPI_SUCCESS)
        return mf__fail(MF_EMPI, "broadcasting the initializer failed");
    if (hdr[0] == 0)
        return MF_OK; /* none: every rank returns here */
    if (rank == root) {
        arg = (char *)ex->opts.initializer_arg;
    } else {
        arg = mf__malloc(hdr[1] ? (size_t)hdr[1] : 1);
        if (!arg)
            mf_hello_fail(&me, MF_ENOMEM,
                          "out of memory for the initializer's argument");
    }
    if (mf_bcast_bytes(arg, (size_t)hdr[1], root, comm) != MF_OK)
        mf_hello_fail(&me, MF_EMPI,
                      "could not receive the initializer's argument");
    if (rank != root && me.status == MF_OK) {
        char err[300];
        if (mf__run_once(ex, hdr[0], arg, (size_t)hdr[1], err, sizeof err) !=
            MF_OK)
            mf_hello_fail(&me, MF_EBROKEN, err);
    }
    if (rank != root)
        mf__free(arg);
    int bad = mf_agree(comm, &me, NULL);
    if (bad == -1)
        return MF_OK;
    if (bad == -2)
        return mf__fail(MF_EMPI, "gathering the initializers' status "
                                 "failed");
    const mf_reg_entry *e = mf__snap_find(&ex->reg, hdr[0]);
    return mf__fail(me.status == MF_ENOMEM ? MF_ENOMEM : MF_EBROKEN,
                    "executor not opened: the initializer '%s' failed on "
                    "rank %d: %s",
                    e ? e->name : "?", bad, me.msg);
}

/* ---- 5. worker and root --------------------------------------------- */

/* Ranks on this host (same name) against the CPUs they may run on
 * together: with more ranks than CPUs, waiting ranks yield instead of
 * spinning. */
static void mf_open_local_facts(mf_executor *ex, const mf_hello *all,
                                const mf_hello *me)
{
    int local = 0;
    cpu_set_t *sets = mf__malloc((size_t)ex->size * sizeof *sets);
    for (int r = 0; sets && r < ex->size; r++)
        if (strncmp(all[r].host, me->host, sizeof me->host) == 0)
            sets[local++] = all[r].cpus;
    /* (Out of memory: assume the worst; yielding is merely slower.) */
    ex->oversub = !sets || mf__oversubscribed(sets, local);
    mf__free(sets);
    mf__mpi_quiet_setup();
    memcpy(ex->host, me->host, sizeof ex->host);
    ex->host[sizeof ex->host - 1] = '\0';
}

/* A worker: serve until the root releases us; no executor comes back. */
static int mf_open_serve(mf_executor *ex, MPI_Comm comm)
{
    /* A worker only survives the signal: the root decides. */
    bool sig = ex->opts.handle_signals && mf__signals_install() == MF_OK;
    int rc = mf__serve(ex);
    mf__big_trim();
    if (sig)
        mf__signals_restore();
    if (rc != MF_OK) {
        /* The root counts on this rank for the tasks it holds; going on
         * would leave it waiting forever. End the job, loudly. */
        fprintf(stderr,
                "mpifutures: worker rank %d (%s): fatal: %s; aborting the "
                "job\n",
                ex->rank, ex->host, mf_last_error());
        MPI_Abort(comm, 70);
    }
    MPI_Comm_free(&ex->comm);
    mf__ex_free(ex, 0);
    return rc;
}

/* The root's executor proper: worker list, hosts, observation. */
static int mf_open_root_setup(mf_executor *ex, const mf_hello *all,
                              const mf_hello *me)
{
    int size = ex->size;
    ex->workers = mf__malloc((size_t)ex->nworkers * sizeof *ex->workers);
    ex->packed = mf__malloc(ex->opts.window * sizeof *ex->packed);
    ex->inflight = mf__calloc((size_t)size, sizeof *ex->inflight);
    ex->inflight_units = mf__calloc((size_t)size, sizeof *ex->inflight_units);
    ex->hosts = mf__calloc((size_t)size, sizeof *ex->hosts);
    if (!ex->workers || !ex->inflight || !ex->inflight_units || !ex->hosts ||
        !ex->packed)
        return MF_ENOMEM;
    for (int r = 0, w = 0; r < size; r++) {
        char host[sizeof all[r].host];
        memcpy(host, all[r].host, sizeof host);
        host[sizeof host - 1] = '\0';
        if (!(ex->hosts[r] = mf__strdup(host)))
            return MF_ENOMEM;
        if (r != ex->root)
            ex->workers[w++] = r;
    }
    int64_t *off = malloc((size_t)size * sizeof *off);
    if (!off)
        return MF_ENOMEM;
    /* One host, one monotonic clock: no offset. Across hosts, estimate
     * it from the handshake (good to its latency). */
    for (int r = 0; r < size; r++)
        off[r] = strncmp(all[r].host, me->host, sizeof me->host) == 0
                     ? 0
                     : (int64_t)(me->mono_ns - all[r].mono_ns);
    mf_obs_view view = {ex->size, ex->root,  ex->nworkers,   ex->hosts,
                        &ex->reg, &ex->opts, &ex->held_items};
    int rc = mf__obs_init(&ex->obs, &view, off);
    free(off);
    for (int i = 0; i < MF_FNCOST_SLOTS; i++)
        ex->fncost[i].ns = -1;
    ex->last_src = -1;
    mf__timeout_ms(ex->opts.task_timeout, &ex->timeout_ms);
    return rc;
}

MF_API int mf_executor_open(MPI_Comm comm, int root,
                            const mf_executor_opts *opts, mf_executor **out)
{
    int rank, size, rc;
    mf_hello me, *all = NULL;
    MPI_Comm dup = MPI_COMM_NULL;

    mf__clear_error();
    if ((rc = mf_open_check_args(comm, root, out, &rank, &size)) ==
        MF_LOCAL_INSTEAD) {
        const char *be = getenv("MF_BACKEND");
        int threads = be && strcmp(be, "threads") == 0;
        rc = mf_executor_open_local(threads ? MF_THREADS : MF_PROCESSES, 0,
                                    opts, out);
        if (rc == MF_OK && ((*out)->opts.stats || (*out)->opts.progress))
            fprintf(
                stderr,
                "mpifutures: one rank: %d local worker %s (MF_WORKERS sets "
                "how many; MF_BACKEND=none for none)\n",
                (*out)->nworkers, threads ? "threads" : "processes");
        return rc;
    }
    if (rc != MF_OK)
        return rc;
    memset(&me, 0, sizeof me);
    mf_executor *ex = mf_open_prepare(rank, size, root, opts, &me);

    /* Collective from here on. */
    if (MPI_Comm_dup(comm, &dup) != MPI_SUCCESS) {
        mf__ex_free(ex, 0);
        return mf__fail(MF_EMPI, "mf_executor_open: MPI_Comm_dup failed");
    }
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    if (ex && !(ex->link = mf__link_mpi(dup)))
        mf_hello_fail(&me, MF_ENOMEM, "out of memory");
    rc = mf_open_handshake(ex, dup, rank, root, size, &me, &all);
    if (rc == MF_OK)
        rc = mf_run_initializer(ex, dup, rank, root, &me);
    if (rc != MF_OK) {
        free(all);
        mf__ex_free(ex, 0);
        MPI_Comm_free(&dup);
        return rc;
    }
    ex->comm = dup;
    mf_open_local_facts(ex, all, &me);
    if (rank != root) {
        free(all);
        return mf_open_serve(ex, comm);
    }
    rc = mf_open_root_setup(ex, all, &me);
    free(all);
    if (rc != MF_OK) {
        /* The workers are serving: tell them to stop before failing. */
        for (int r = 0; r < size; r++)
            if (r != root)
                (void)mf__link_shutdown(ex->link, r);
        mf__ex_free(ex, 0);
        MPI_Comm_free(&dup);
        return mf__fail(MF_ENOMEM, "mf_executor_open: out of memory");
    }
    mf__guard_install(); /* no hang if the root never closes */
    if ((rc = mf__ex_start(ex)) != MF_OK)
        return mf_start_failed(ex);
    *out = ex;
    return MF_OK;
}

/* ---- a local process pool ------------------------------------------- */

/* How many workers: MF_WORKERS, else the caller's number, else the CPUs
 * this process may use. */
static int mf_local_count(int nworkers, int *n)
{
    long x = 0;
    if (mf__env_long("MF_WORKERS", 1, 4096, "from 1 to 4096", &x) != MF_OK)
        return MF_EINVAL;
    if (x > 0) {
        *n = (int)x;
        return MF_OK;
    }
    if (nworkers > 0) {
        *n = nworkers;
        return MF_OK;
    }
    cpu_set_t cpus;
    mf__cpuset(&cpus);
    *n = CPU_COUNT(&cpus) > 0 ? CPU_COUNT(&cpus) : 1;
    return MF_OK;
}

MF_API int mf_executor_open_local(int kind, int nworkers,
                                  const mf_executor_opts *opts,
                                  mf_executor **out)
{
    int n = 0, rc;
    mf_hello me, *all = NULL;
    mf__clear_error();
    if (!out)
        return mf__fail(MF_EINVAL, "mf_executor_open_local: NULL executor "
                                   "pointer");
    *out = NULL;
    if (kind != MF_PROCESSES && kind != MF_THREADS)
        return mf__fail(MF_EINVAL,
                        "mf_executor_open_local: kind %d is not MF_PROCESSES "
                        "or MF_THREADS",
                        kind);
    if (nworkers < 0 || nworkers > 4096)
        return mf__fail(MF_EINVAL,
                        "mf_executor_open_local: %d workers (0 to 4096; 0: "
                        "the usable CPUs)",
                        nworkers);
    if ((rc = mf_local_count(nworkers, &n)) != MF_OK)
        return rc;
    memset(&me, 0, sizeof me);
    mf_executor *ex = mf_open_prepare(0, n + 1, 0, opts, &me);
    if (me.status != MF_OK) {
        mf__ex_free(ex, 0);
        return mf__fail(me.status > 0 && me.status < MF_ERR_COUNT_
                            ? me.status
                            : MF_EINVAL,
                        "mf_executor_open_local: %s", me.msg);
    }
    if (kind == MF_THREADS &&
        (ex->opts.isolate || ex->opts.task_timeout > 0)) {
        mf__ex_free(ex, 0);
        return mf__fail(
            MF_EINVAL, "mf_executor_open_local: a thread pool cannot isolate "
                       "tasks or time them out (a thread cannot be killed): "
                       "use MF_PROCESSES");
    }
    me.host[sizeof me.host - 1] = '\0';
    memcpy(ex->host, me.host, sizeof ex->host);
    ex->oversub = n + 1 > CPU_COUNT(&me.cpus);
    me.mono_ns = mf__mono_ns();
    all = malloc((size_t)(n + 1) * sizeof *all);
    if (!all) {
        mf__ex_free(ex, 0);
        return mf__fail(MF_ENOMEM, "mf_executor_open_local: out of memory");
    }
    for (int r = 0; r <= n; r++)
        all[r] = me;
    if ((rc = mf__local_start(ex, kind)) == MF_OK &&
        (rc = mf_open_root_setup(ex, all, &me)) != MF_OK) {
        for (int r = 1; r <= n; r++)
            (void)mf__link_shutdown(ex->link, r);
        rc = mf__fail(MF_ENOMEM, "mf_executor_open_local: out of memory");
    }
    free(all);
    if (rc != MF_OK) {
        if (ex->backend_close)
            ex->backend_close(ex); /* (released above: they end) */
        if (ex->link) {
            ex->link->ops->free(ex->link);
            ex->link = NULL;
        }
        mf__ex_free(ex, 0);
        return rc;
    }
    mf__guard_install();
    if ((rc = mf__ex_start(ex)) != MF_OK)
        return mf_start_failed(ex);
    *out = ex;
    return MF_OK;
}
