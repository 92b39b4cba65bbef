/* local.c — the worker processes of a local process pool.
 *
 * Workers are forked from the root at open (so they inherit the
 * registered functions and everything the program set up before), each
 * with one socket to the root (link_local.c), and run the same serve loop
 * as an MPI worker rank. They die with the root (PR_SET_PDEATHSIG), start
 * with default signal dispositions (the library's own handlers with
 * opts.handle_signals), an empty signal mask and no descriptor but stdio
 * and their socket, and leave with _exit(): the program's atexit
 * handlers and stdio buffers belong to the root. A worker that dies is
 * reaped, named (signal or status) and replaced in its place; the root
 * fails only the futures it held (progress.c). The child never takes the
 * library lock (another thread of the root may have held it at the fork).
 * Large payloads cross through shared regions (shm.h) made before the
 * forks: one the root writes arguments into (MF_SHM_DOWN), one per worker
 * for its results (MF_SHM_UP); a replaced worker gets a new one, and the
 * old one goes once the root lets go of the results that lie in it.
 */
#include "local.h"

#include "alloc.h"
#include "clock.h"
#include "errors.h"
#include "link.h"
#include "opts.h"
#include "shm.h"
#include "signals.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Shared region sizes: address space, not memory, until used (a ring
 * that starts again at its beginning whenever it empties). MF_SHM=N sets
 * both to N MiB, MF_SHM=0 turns them off. */
#define MF_SHM_DOWN ((size_t)256 << 20)
#define MF_SHM_UP ((size_t)128 << 20)

typedef struct mf_local {
    pid_t *pid;        /* per rank (0: the root); processes */
    mf_shm **up;       /* per rank: the worker's region for results */
    size_t up_bytes;   /* its size (0: none) */
    pthread_t *th;     /* per rank; threads */
    mf_executor **wex; /* per rank: a worker thread's executor struct */
    int *started;      /* per rank: the thread runs */
} mf_local;

/* Keep stdio and the socket (moved to descriptor 3); close the rest.
 * Returns the socket's descriptor. */
static int mf_close_others(int fd)
{
    if (fd != 3) {
        if (dup2(fd, 3) < 0)
            _exit(70);
        fd = 3;
    }
    if (syscall(SYS_close_range, 4u, ~0u, 0u) == 0)
        return fd;
    struct rlimit rl;
    long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
                       rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 65536
                   ? (long)rl.rlim_cur
                   : 65536;
    for (long i = 4; i < max; i++)
        close((int)i);
    return fd;
}

static void mf_child_signals(const mf_executor *root)
{
    sigset_t none;
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            (void)sigaction(s, &dfl, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (root->opts.handle_signals)
        (void)mf__signals_install(); /* a worker survives: the root
                                        decides */
}

/* A worker's own executor struct: the root's settings (and its immutable
 * registry copy, shared), its own rank and link. */
static void mf_worker_setup(mf_executor *ex, const mf_executor *root,
                            int rank, mf_link *l)
{
    ex->magic = MF_EX_MAGIC;
    ex->comm = MPI_COMM_NULL;
    ex->link = l;
    ex->rank = rank;
    ex->size = root->size;
    ex->root = root->root;
    ex->nworkers = root->nworkers;
    ex->opts = root->opts;
    ex->reg = root->reg;
    ex->oversub = root->oversub;
    ex->threads = root->threads;
    memcpy(ex->host, root->host, sizeof ex->host);
}

/* Ready, or why not: the initializer runs here, before any task, and the
 * worker's first message says how it went. 1 when ready. */
static int mf_worker_ready(mf_executor *ex)
{
    char err[300] = "";
    mf_link *l = ex->link;
    int ok = !ex->opts.initializer ||
             mf__run_once(ex, ex->opts.initializer, ex->opts.initializer_arg,
                          ex->opts.initializer_len, err, sizeof err) == MF_OK;
    mf_send hello;
    if (mf__wire_begin(&hello, MF_MSG_RESULTS) != MF_OK ||
        mf__wire_add_result(&hello, 0, ok ? MF_RS_OK : MF_RS_FAILED, 0, 0,
                            err, strlen(err), 0, 0) != MF_OK ||
        mf__wire_finish(&hello) != MF_OK ||
        l->ops->post(l, &hello, ex->root) != MF_OK ||
        l->ops->wait(l, &hello) != MF_OK)
        ok = 0;
    mf__wire_free(&hello);
    return ok;
}

/* The worker process: serve, then leave without the root's atexit. */
static void mf_child(const mf_executor *root, int rank, int fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1); /* the root died before the line above */
    fd = mf_close_others(fd);
    mf_child_signals(root);
    mf_executor *ex = calloc(1, sizeof *ex);
    mf_link *l = mf__link_local(root->size, 0);
    if (!ex || !l)
        _exit(70);
    mf__link_local_attach(l, root->root, fd);
    mf__link_local_set_tx(l, ((mf_local *)root->backend)->up[rank]);
    mf_worker_setup(ex, root, rank, l);
    if (!mf_worker_ready(ex))
        _exit(71);
    int rc = mf__serve(ex);
    fflush(stdout);
    fflush(stderr);
    _exit(rc == MF_OK ? 0 : 70);
}

/* A worker thread: ready, serve, return (joined at close). */
static void *mf_thread_main(void *arg)
{
    mf_executor *ex = arg;
    if (mf_worker_ready(ex))
        (void)mf__serve(ex);
    return NULL;
}

/* Fork the worker of `rank` and attach it. MF_OK or an error. */
static int mf_spawn(mf_executor *ex, int rank)
{
    mf_local *lo = ex->backend;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return mf__fail(MF_ENOMEM, "cannot make a socket for worker %d: %s",
                        rank, strerror(errno));
    int big = 1 << 20;
    (void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    /* Its region for results (none if it cannot be mapped: the socket
     * then carries them). */
    mf__shm_retire(lo->up[rank]);
    lo->up[rank] = lo->up_bytes ? mf__shm_new(lo->up_bytes) : NULL;
    fflush(stdout); /* (or the child would write the root's buffers) */
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return mf__fail(
            e == EAGAIN ? MF_ENOMEM : MF_EINVAL,
            "cannot start worker process %d: %s%s", rank, strerror(e),
            e == EAGAIN ? " (the process limit, RLIMIT_NPROC?)" : "");
    }
    if (pid == 0) {
        close(sv[0]);
        mf_child(ex, rank, sv[1], parent);
    }
    close(sv[1]);
    (void)fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    mf__link_local_attach(ex->link, rank, sv[0]);
    lo->pid[rank] = pid;
    return MF_OK;
}

/* Reap the worker of `rank` and say how it ended. */
static void mf_reap(mf_executor *ex, int rank, char *why, size_t len)
{
    mf_local *lo = ex->backend;
    int st = 0;
    pid_t pid = lo->pid[rank];
    lo->pid[rank] = 0;
    if (pid <= 0) {
        snprintf(why, len, "worker process of rank %d is gone", rank);
        return;
    }
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(st)) {
        const char *ab = sigabbrev_np(WTERMSIG(st));
        snprintf(why, len,
                 "worker process %d (rank %d) was killed by signal %d "
                 "(SIG%s)",
                 (int)pid, rank, WTERMSIG(st), ab ? ab : "?");
    } else {
        snprintf(why, len,
                 "worker process %d (rank %d) exited with status %d while "
                 "it held the task (exit() called?)",
                 (int)pid, rank, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
}

static int mf_hello(mf_executor *ex, int rank);

static int mf_local_revive(mf_executor *ex, int rank, char *why, size_t len)
{
    mf_reap(ex, rank, why, len);
    /* The argument blocks it held will never be released by it. */
    mf__shm_release_held_by(ex->shm, rank);
    if (ex->released)
        return MF_OK;
    int rc = mf_spawn(ex, rank);
    if (rc == MF_OK)
        rc = mf_hello(ex, rank); /* (its first message is not a result) */
    return rc;
}

static void mf_local_close(mf_executor *ex)
{
    mf_local *lo = ex->backend;
    if (!lo)
        return;
    /* The workers were released (SHUTDOWN) and leave; the link is closed
     * by now, so a worker that did not see it ends at the socket's end. */
    for (int r = 0; r < ex->size; r++) {
        if (lo->pid && lo->pid[r] > 0) {
            int st;
            while (waitpid(lo->pid[r], &st, 0) < 0 && errno == EINTR)
                ;
        }
        if (lo->started && lo->started[r])
            pthread_join(lo->th[r], NULL);
        if (lo->wex && lo->wex[r]) {
            if (lo->wex[r]->link)
                lo->wex[r]->link->ops->free(lo->wex[r]->link);
            free(lo->wex[r]);
        }
    }
    if (lo->up)
        for (int r = 0; r < ex->size; r++)
            mf__shm_retire(lo->up[r]);
    mf__shm_retire(ex->shm);
    ex->shm = NULL;
    mf__free(lo->up);
    mf__free(lo->pid);
    mf__free(lo->th);
    mf__free(lo->wex);
    mf__free(lo->started);
    mf__free(lo);
    ex->backend = NULL;
}

/* The worker's first message: ready, or its initializer failed. */
static int mf_hello(mf_executor *ex, int rank)
{
    mf_rbuf *rb = NULL;
    int from = -1;
    double deadline = mf__now() + 600;
    for (;;) {
        int rc = ex->link->ops->poll(ex->link, rank, &from, &rb);
        if (rc != MF_OK)
            return rc;
        if (rb)
            break;
        if (ex->link->ops->lost(ex->link) == rank || mf__now() > deadline) {
            char why[300];
            mf_reap(ex, rank, why, sizeof why);
            return mf__fail(MF_EBROKEN,
                            "executor not opened: %s before it was ready",
                            why);
        }
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    mf_wire_reader r;
    mf_wire_rec rec;
    int rc = mf__wire_open(&r, rb->data, rb->len);
    if (rc == MF_OK)
        rc = mf__wire_next(&r, &rec);
    if (rc == MF_OK && rec.status != MF_RS_OK) {
        const mf_reg_entry *e = mf__snap_find(&ex->reg, ex->opts.initializer);
        rc = mf__fail(MF_EBROKEN,
                      "executor not opened: the initializer '%s' failed on "
                      "rank %d: %.*s",
                      e ? e->name : "?", rank, (int)rec.len,
                      (const char *)rec.data);
    } else if (rc != MF_OK) {
        rc = mf__fail(MF_EPROTO, "worker %d's first message is malformed",
                      rank);
    }
    mf__rbuf_unref(rb);
    return rc;
}

/* Start the worker thread of `rank`, on the root's shared inboxes. */
static int mf_spawn_thread(mf_executor *ex, int rank)
{
    mf_local *lo = ex->backend;
    mf_executor *w = calloc(1, sizeof *w);
    mf_link *l =
        w ? mf__link_thread(mf__link_thread_pool(ex->link), rank, ex->size)
          : NULL;
    if (!w || !l) {
        free(w);
        return mf__fail(MF_ENOMEM, "out of memory starting a worker thread");
    }
    mf_worker_setup(w, ex, rank, l);
    lo->wex[rank] = w;
    int e = pthread_create(&lo->th[rank], NULL, mf_thread_main, w);
    if (e != 0)
        return mf__fail(MF_ENOMEM, "cannot start worker thread %d: %s", rank,
                        strerror(e));
    lo->started[rank] = 1;
    return MF_OK;
}

/* The shared regions' sizes from MF_SHM (MiB; 0: none). */
static int mf_shm_sizes(size_t *down, size_t *up)
{
    long x = -1;
    *down = MF_SHM_DOWN;
    *up = MF_SHM_UP;
    if (mf__env_long("MF_SHM", 0, 65536, "of MiB from 0 (off) to 65536",
                     &x) != MF_OK)
        return MF_EINVAL;
    if (x >= 0)
        *down = *up = (size_t)x << 20;
    return MF_OK;
}

int mf__local_start(mf_executor *ex, int kind)
{
    mf_local *lo;
    size_t n = (size_t)ex->size, down = 0, up = 0;
    int threads = kind == MF_THREADS;
    if (!threads && mf_shm_sizes(&down, &up) != MF_OK)
        return MF_EINVAL;
    lo = mf__calloc(1, sizeof *lo);
    if (!lo ||
        !(threads ? (lo->th = mf__calloc(n, sizeof *lo->th)) &&
                        (lo->wex = mf__calloc(n, sizeof *lo->wex)) &&
                        (lo->started = mf__calloc(n, sizeof *lo->started))
                  : (lo->pid = mf__calloc(n, sizeof *lo->pid)) &&
                        (lo->up = mf__calloc(n, sizeof *lo->up)))) {
        if (lo) {
            mf__free(lo->up);
            mf__free(lo->th);
            mf__free(lo->wex);
            mf__free(lo->started);
            mf__free(lo->pid);
        }
        mf__free(lo);
        return mf__fail(MF_ENOMEM, "out of memory starting the pool");
    }
    ex->backend = lo;
    ex->threads = threads;
    ex->revive = threads ? NULL : mf_local_revive;
    ex->backend_close = mf_local_close;
    ex->link = threads ? mf__link_thread(NULL, 0, ex->size)
                       : mf__link_local(ex->size, 1);
    if (!ex->link)
        return mf__fail(MF_ENOMEM, "out of memory starting the pool");
    if (!threads && down) { /* (none if it cannot be mapped: the
                                 socket then) */
        ex->shm = mf__shm_new(down);
        mf__link_local_set_tx(ex->link, ex->shm);
        lo->up_bytes = up;
    }
    for (int r = 1; r < ex->size; r++) {
        int rc = threads ? mf_spawn_thread(ex, r) : mf_spawn(ex, r);
        if (rc == MF_OK)
            rc = mf_hello(ex, r);
        if (rc != MF_OK) {
            /* Those started go: processes at the end of their socket,
             * threads when told to stop. */
            ex->released = true;
            if (threads) {
                for (int q = 1; q < r; q++)
                    (void)mf__link_shutdown(ex->link, q);
                mf_local_close(ex); /* joins them */
                ex->link->ops->free(ex->link);
            } else {
                ex->link->ops->free(ex->link); /* their sockets end */
                mf_local_close(ex);            /* reaps them */
            }
            ex->link = NULL;
            return rc;
        }
    }
    return MF_OK;
}
