/* worker.c — a worker rank's serve loop and the task-side API.
 *
 * The worker receives batches of tasks from the root, runs them in order,
 * and sends results back in batches. A finished result is never held
 * behind a task that has not finished for longer than MF_HOLD_NS: before
 * each task the worker sends what it gathered unless the oldest unsent
 * result plus the next task's predicted time (the largest time of that
 * function's recent runs; unknown counts as long) stays below the bound.
 * It also sends when it has nothing left to run, when the batch is large,
 * or when as many are done as are still queued (so the root refills the
 * queue before it runs dry). While idle it backs off to sleeping.
 *
 * The root may take back the tasks a worker has not started (RECALL):
 * the worker, between tasks or while an isolated task runs, removes them
 * from its queue and sends them back in a RETURNED message. Only this
 * thread starts tasks, so a task is either started or returned.
 */

#include "worker.h"

#include "alloc.h"
#include "clock.h"
#include "crash.h"
#include "errors.h"
#include "executor.h"
#include "journal.h"
#include "link.h"
#include "rbuf.h"
#include "registry.h"
#include "wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MF_FLUSH_BYTES ((size_t)256 << 10)
/* Longest a finished result waits on the worker behind other work (when
 * the next task's time is predicted right). */
#define MF_HOLD_NS 50000u
/* Predicted task times: the largest of the last 32 to 64 runs of each
 * function (per kind: single, chunk, isolated), in a small table. */
#define MF_PRED_SLOTS 64
#define MF_PRED_RUNS 32
/* While an isolated task runs, the worker looks at its messages (a
 * RECALL, results to send) at least this often (ms). */
#define MF_POLL_MAX_MS 20
#define MF_TASK_MSG 4096
/* The longest nap of an idle worker of a local pool (woken by work). */
#define MF_NAP_US 250000u
/* How long a worker keeps polling after the root said "more". */
#define MF_MORE_SECONDS 0.01
/* Room kept for message and record headers below MPI's int count. */
#define MF_MAX_RESULT (MF_WIRE_MAX - 4096)

struct mf_task {
    mf_fn_id fn;
    int worker; /* the rank running it (mf_task_worker) */
    const void *arg;
    size_t arg_len;
    void *res;
    size_t res_len;
    size_t res_cap;  /* bytes allocated at res (mf_task_append) */
    int res_in_arg;  /* res is the argument buffer (mf_task_return_arg) */
    int res_scratch; /* res is `scratch` (not ours to free) */
    void *scratch;   /* reusable room for a small result, or NULL */
    size_t scratch_cap;
    int failed;
    char msg[MF_TASK_MSG];
};

/* Free the task's result unless it is the argument buffer itself. */
static void mf_task_drop_res(mf_task *task)
{
    if (!task->res_in_arg && !task->res_scratch)
        mf__res_free(task->res);
    task->res = NULL;
    task->res_len = 0;
    task->res_cap = 0;
    task->res_in_arg = 0;
    task->res_scratch = 0;
}

typedef struct mf_wtask {
    uint64_t tag;
    int chunk;
    int isolate;
    uint32_t timeout_ms;
    mf_fn_id fn;
    const void *data;
    size_t len;
    mf_rbuf *rb;
} mf_wtask;

typedef struct mf_pred {
    mf_fn_id fn;
    uint32_t kind; /* 0 unused; 1 + chunk + 2 * isolated */
    uint32_t runs;
    uint64_t cur_max, prev_max; /* ns */
} mf_pred;

typedef struct mf_wstate {
    mf_executor *ex;
    mf_wtask *q;
    size_t qhead, qlen, qcap;
    mf_send *out;       /* results being gathered */
    uint64_t out_since; /* end of the first result gathered (ns) */
    uint64_t last_end;  /* end of the last task run (ns) */
    mf_send **sends;
    size_t nsends, capsends;
    bool more;      /* the root said it has more work queued */
    double more_at; /* when */
    /* isolation: a child process that runs tasks one after another; it
     * is replaced when it dies or is killed at a timeout */
    pid_t runner;
    int to_runner, from_runner; /* pipe ends */
    int stop;                   /* SHUTDOWN received */
    int poll_err; /* error met while polling during an isolated task */
    mf_pred pred[MF_PRED_SLOTS];
    /* A task's small result lands here (no allocation per task): it is
     * copied into the results message before the next task runs. */
    uint64_t scratch[64];
} mf_wstate;

static const uint64_t mf_empty_arg;

MF_API const void *mf_task_arg(const mf_task *task, size_t *len)
{
    if (!task) {
        if (len)
            *len = 0;
        return &mf_empty_arg;
    }
    if (len)
        *len = task->arg_len;
    return task->arg_len ? task->arg : (const void *)&mf_empty_arg;
}

MF_API mf_fn_id mf_task_function(const mf_task *task)
{
    return task ? task->fn : 0;
}

MF_API int mf_task_worker(const mf_task *task)
{
    return task ? task->worker : -1;
}

MF_API int mf_task_result_buffer(mf_task *task, size_t len, void **buf)
{
    if (!task || !buf)
        return mf__fail(MF_EINVAL, "mf_task_result_buffer: NULL argument");
    if (len > MF_MAX_RESULT)
        return mf__fail(MF_E2BIG,
                        "result of %zu bytes is above the limit "
                        "of %zu",
                        len, (size_t)MF_MAX_RESULT);
    if (task->scratch && len <= task->scratch_cap) {
        /* A chunk's item: its result is copied into the chunk's right
         * after the call, so a small one needs no allocation. */
        mf_task_drop_res(task);
        task->res = task->scratch;
        task->res_len = len;
        task->res_cap = task->scratch_cap;
        task->res_scratch = 1;
        *buf = task->scratch;
        return MF_OK;
    }
    void *p = mf__res_alloc(len ? len : 1);
    if (!p)
        return mf__fail(MF_ENOMEM, "out of memory for a %zu-byte result",
                        len);
    mf_task_drop_res(task);
    task->res = p;
    task->res_len = len;
    task->res_cap = len ? len : 1;
    *buf = p;
    return MF_OK;
}

MF_API int mf_task_return(mf_task *task, const void *data, size_t len)
{
    void *p;
    int rc;
    if (!task || (!data && len))
        return mf__fail(MF_EINVAL, "mf_task_return: NULL argument");
    rc = mf_task_result_buffer(task, len, &p);
    if (rc == MF_OK && len)
        memmove(p, data, len); /* (data may be the scratch room itself) */
    return rc;
}

static uint64_t mf_empty_inplace; /* "writable" zero bytes */

MF_API void *mf_task_arg_inplace(mf_task *task, size_t *len)
{
    if (!task || !task->arg_len) {
        if (len)
            *len = 0;
        return &mf_empty_inplace;
    }
    if (len)
        *len = task->arg_len;
    /* The bytes are this task's own copy (a receive buffer, or the
     * isolated child's), so writing them is safe. */
    return (void *)task->arg;
}

MF_API int mf_task_return_arg(mf_task *task, size_t len)
{
    if (!task)
        return mf__fail(MF_EINVAL, "mf_task_return_arg: NULL task");
    if (len > task->arg_len)
        return mf__fail(MF_EINVAL,
                        "mf_task_return_arg: %zu bytes asked, "
                        "the argument has %zu",
                        len, task->arg_len);
    mf_task_drop_res(task);
    task->res = len ? (void *)task->arg : NULL;
    task->res_len = len;
    task->res_in_arg = len > 0;
    return MF_OK;
}

MF_API int mf_task_arg_str(const mf_task *task, const char **s)
{
    if (!task || !s)
        return mf__fail(MF_EINVAL, "mf_task_arg_str: NULL argument");
    const char *a = task->arg;
    if (!task->arg_len || a[task->arg_len - 1] != '\0')
        return mf__fail(MF_EINVAL,
                        "mf_task_arg_str: the %zu-byte argument does not "
                        "end with a NUL (submit strings with "
                        "mf_submit_str())",
                        task->arg_len);
    *s = a;
    return MF_OK;
}

/* Room for `more` bytes after the result so far (copied out of the
 * argument buffer if it was returned in place). */
static int mf_task_grow(mf_task *task, size_t more)
{
    size_t need = task->res_len + more;
    if (more > MF_MAX_RESULT || need > MF_MAX_RESULT)
        return mf__fail(MF_E2BIG,
                        "result of %zu bytes would be above the limit of "
                        "%zu",
                        task->res_len + more, (size_t)MF_MAX_RESULT);
    if (need <= task->res_cap && !task->res_in_arg)
        return MF_OK; /* (scratch room included: it is res_cap long) */
    size_t cap = task->res_cap * 2 > need ? task->res_cap * 2 : need;
    if (cap < 256)
        cap = 256;
    if (cap > MF_MAX_RESULT)
        cap = MF_MAX_RESULT;
    void *p;
    if (task->res_in_arg || task->res_scratch) {
        p = mf__res_alloc(cap);
        if (p && task->res_len)
            memcpy(p, task->res, task->res_len);
    } else {
        p = task->res ? mf__res_realloc(task->res, cap) : mf__res_alloc(cap);
    }
    if (!p)
        return mf__fail(MF_ENOMEM, "out of memory for a %zu-byte result",
                        cap);
    task->res = p;
    task->res_cap = cap;
    task->res_in_arg = 0;
    task->res_scratch = 0;
    return MF_OK;
}

MF_API int mf_task_append(mf_task *task, const void *data, size_t len)
{
    if (!task || (!data && len))
        return mf__fail(MF_EINVAL, "mf_task_append: NULL argument");
    int rc = mf_task_grow(task, len);
    if (rc != MF_OK)
        return rc;
    if (len)
        memcpy((char *)task->res + task->res_len, data, len);
    task->res_len += len;
    return MF_OK;
}

MF_API int mf_task_printf(mf_task *task, const char *fmt, ...)
{
    va_list ap;
    if (!task || !fmt)
        return mf__fail(MF_EINVAL, "mf_task_printf: NULL argument");
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return mf__fail(MF_EINVAL, "mf_task_printf: bad format");
    /* vsnprintf writes a NUL after the text: room for it, not counted. */
    int rc = mf_task_grow(task, (size_t)n + 1);
    if (rc != MF_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)task->res + task->res_len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    task->res_len += (size_t)n;
    return MF_OK;
}

MF_API int mf_task_fail(mf_task *task, const char *fmt, ...)
{
    va_list ap;
    if (!task)
        return MF_ETASK;
    task->failed = 1;
    if (!fmt) {
        snprintf(task->msg, sizeof task->msg, "task failed");
        return MF_ETASK;
    }
    va_start(ap, fmt);
    vsnprintf(task->msg, sizeof task->msg, fmt, ap);
    va_end(ap);
    return MF_ETASK;
}

/* ---- the serve loop --------------------------------------------------- */

static int mf_w_reap(mf_wstate *w, int all)
{
    int rc = MF_OK;
    size_t k = 0;
    for (size_t i = 0; i < w->nsends; i++) {
        if (all && w->ex->link->ops->wait(w->ex->link, w->sends[i]) != MF_OK)
            rc = mf__fail(MF_EMPI, "worker: sending results failed");
        if (all || w->ex->link->ops->test(w->ex->link, w->sends[i])) {
            mf__wire_free(w->sends[i]);
            mf__free(w->sends[i]);
        } else {
            w->sends[k++] = w->sends[i];
        }
    }
    w->nsends = k;
    return rc;
}

/* Finish `s` and post it to the root; `s` is owned by the list of sends
 * from here (freed on failure). */
static int mf_w_post(mf_wstate *w, mf_send *s)
{
    int rc = mf__wire_finish(s);
    if (rc == MF_OK && w->nsends == w->capsends) {
        size_t cap = w->capsends ? 2 * w->capsends : 8;
        mf_send **ns = mf__realloc(w->sends, cap * sizeof *ns);
        if (ns) {
            w->sends = ns;
            w->capsends = cap;
        } else {
            rc = MF_ENOMEM;
        }
    }
    if (rc == MF_OK) {
        rc = w->ex->link->ops->post(w->ex->link, s, w->ex->root);
        if (rc != MF_OK)
            w->ex->link->ops->wait(w->ex->link, s);
    }
    if (rc != MF_OK) {
        mf__wire_free(s);
        mf__free(s);
        return mf__fail(rc, "worker rank %d could not send results",
                        w->ex->rank);
    }
    w->sends[w->nsends++] = s;
    return MF_OK;
}

static int mf_w_flush(mf_wstate *w)
{
    mf_send *s = w->out;
    if (!s)
        return MF_OK;
    w->out = NULL;
    return mf_w_post(w, s);
}

/* RECALL: give every task not started back to the root (a RETURNED
 * message, possibly empty) and drop them from the queue. The results
 * gathered go first. If the message cannot be built (out of memory), the
 * tasks stay here and run, and the RETURNED message lists none. */
static int mf_w_give_back(mf_wstate *w)
{
    int rc = mf_w_flush(w);
    size_t n = w->qlen - w->qhead, i;
    if (rc != MF_OK)
        return rc;
    mf_send *s = mf__malloc(sizeof *s);
    if (!s || mf__wire_begin(s, MF_MSG_RETURNED) != MF_OK) {
        mf__free(s);
        return mf__fail(MF_ENOMEM, "worker: out of memory");
    }
    for (i = 0; i < n; i++) {
        mf_wtask *t = &w->q[w->qhead + i];
        uint32_t flags =
            (t->chunk ? MF_REC_CHUNK : 0) | (t->isolate ? MF_REC_ISOLATE : 0);
        /* A large argument is its own receive buffer: it goes back in
         * place (handed over below). */
        if (t->len >= MF_WIRE_OOL_MIN && !(t->rb && t->data == t->rb->data &&
                                           mf__rbuf_can_hand_over(t->rb)))
            break;
        if (mf__wire_add_task_t(s, t->tag, t->fn, t->data, t->len, NULL,
                                flags, t->timeout_ms) != MF_OK)
            break;
    }
    if (i < n) {
        mf__wire_free(s);
        if (mf__wire_begin(s, MF_MSG_RETURNED) != MF_OK) {
            mf__free(s);
            return mf__fail(MF_ENOMEM, "worker: out of memory");
        }
        n = 0;
    }
    /* Hand the buffers over: large ones to the message, small ones were
     * copied into it. */
    size_t k = 0;
    for (i = 0; i < n; i++) {
        mf_wtask *t = &w->q[w->qhead + i];
        if (t->len >= MF_WIRE_OOL_MIN) {
            s->ool[k++].release = mf__rbuf_hand_over(t->rb);
            t->rb = NULL;
        } else {
            mf__rbuf_unref(t->rb);
            t->rb = NULL;
        }
    }
    w->qlen -= n;
    return mf_w_post(w, s);
}

/* Room in the worker's queue for n more tasks: compact, then grow. */
static int mf_w_room(mf_wstate *w, size_t n)
{
    if (w->qlen + n <= w->qcap)
        return MF_OK;
    if (w->q && w->qhead)
        memmove(w->q, w->q + w->qhead, (w->qlen - w->qhead) * sizeof *w->q);
    w->qlen -= w->qhead;
    w->qhead = 0;
    size_t cap = w->qcap ? w->qcap : 64;
    while (cap < w->qlen + n)
        cap *= 2;
    if (cap != w->qcap) {
        mf_wtask *nq = mf__realloc(w->q, cap * sizeof *nq);
        if (!nq)
            return mf__fail(MF_ENOMEM, "worker: out of memory");
        w->q = nq;
        w->qcap = cap;
    }
    return MF_OK;
}

/* Receive every message waiting. Sets w->stop on SHUTDOWN. */
static int mf_w_receive(mf_wstate *w, int *got)
{
    for (;;) {
        int rc, from = -1;
        mf_wire_reader r;
        mf_wire_rec rec;
        mf_rbuf *rb = NULL;
        rc = w->ex->link->ops->poll(w->ex->link, w->ex->root, &from, &rb);
        if (rc != MF_OK)
            return rc; /* (the link recorded what failed) */
        if (!rb) {
            /* (A local pool's root that is gone: nothing will come.) */
            if (w->ex->link->ops->lost(w->ex->link) == w->ex->root)
                return mf__fail(MF_EBROKEN, "worker: the root is gone");
            return MF_OK;
        }
        *got = 1;
        rc = mf__wire_open(&r, rb->data, rb->len);
        if (rc == MF_OK && r.kind == MF_MSG_TASKS) {
            w->more = (r.flags & MF_HDR_MORE) != 0;
            w->more_at = mf__now();
        }
        if (rc == MF_OK && r.kind == MF_MSG_SHUTDOWN) {
            w->stop = 1;
            mf__rbuf_unref(rb);
            return MF_OK;
        }
        if (rc == MF_OK && r.kind == MF_MSG_RECALL) {
            mf__rbuf_unref(rb);
            rc = mf_w_give_back(w);
            if (rc != MF_OK)
                return rc;
            continue;
        }
        if (rc == MF_OK && r.kind != MF_MSG_TASKS)
            rc = mf__fail(MF_EPROTO, "worker received message kind %d",
                          r.kind);
        if (rc == MF_OK)
            rc = mf_w_room(w, r.count);
        while (rc == MF_OK && (rc = mf__wire_next(&r, &rec)) == MF_OK) {
            mf_rbuf *own = rb;
            if (rec.ool) {
                /* The argument is the next data message from the root. */
                rc = w->ex->link->ops->recv_ool(w->ex->link, w->ex->root,
                                                rec.len, &own);
                if (rc != MF_OK)
                    break;
                rec.data = own->data;
            } else {
                rb->refs++;
            }
            w->q[w->qlen++] =
                (mf_wtask){rec.tag, rec.chunk, rec.isolate, rec.timeout_ms,
                           rec.fn,  rec.data,  rec.len,     own};
        }
        mf__rbuf_unref(rb);
        if (rc != MF_EDONE)
            return rc; /* malformed: the root and this worker disagree */
    }
}

/* A fresh task for one call of fn (no function run yet). */
static void mf_w_task_init(mf_wstate *w, mf_task *task, mf_fn_id fn,
                           const void *arg, size_t len)
{
    memset(task, 0, offsetof(mf_task, msg));
    task->msg[0] = '\0';
    task->fn = fn;
    task->worker = w->ex->rank;
    task->arg = arg;
    task->arg_len = len;
}

/* fn's registry entry, or NULL with `task` failed saying so. */
static const mf_reg_entry *mf_w_lookup(mf_wstate *w, mf_task *task,
                                       mf_fn_id fn)
{
    const mf_reg_entry *e = mf__snap_find(&w->ex->reg, fn);
    if (!e)
        mf_task_fail(task,
                     "function id %016llx is not registered on "
                     "rank %d",
                     (unsigned long long)fn, w->ex->rank);
    return e;
}

/* Around a run of the function (one task, or a whole chunk), on an MPI
 * rank: the crash report names the task, and the task sees the program's
 * own MPI yield setting. (Process-wide state: a local pool's workers,
 * threads among them, leave it alone.) */
static unsigned mf_w_enter(mf_wstate *w, const mf_reg_entry *e)
{
    if (w->ex->comm == MPI_COMM_NULL)
        return 0;
    mf__crash_task(e->name, w->qlen - w->qhead + 1);
    return mf__mpi_quiet_suspend();
}

static void mf_w_leave(mf_wstate *w, unsigned quiet)
{
    if (w->ex->comm == MPI_COMM_NULL)
        return;
    mf__mpi_quiet_resume(quiet);
    mf__crash_task(NULL, 0);
}

/* Run e's function on the prepared task; a failure keeps no result. */
static void mf_w_invoke(mf_task *task, const mf_reg_entry *e)
{
    int rc = e->fn(task, e->userdata);
    if (rc != 0 || task->failed) {
        if (!task->failed)
            snprintf(task->msg, sizeof task->msg, "task returned %d", rc);
        task->failed = 1;
        mf_task_drop_res(task);
    }
}

/* Call the function once; on return `task` holds the result or error. */
static int mf_w_call(mf_wstate *w, mf_task *task, mf_fn_id fn,
                     const void *arg, size_t len)
{
    mf_w_task_init(w, task, fn, arg, len);
    task->scratch = w->scratch;
    task->scratch_cap = sizeof w->scratch;
    const mf_reg_entry *e = mf_w_lookup(w, task, fn);
    if (!e)
        return MF_ETASK;
    unsigned quiet = mf_w_enter(w, e);
    mf_w_invoke(task, e);
    mf_w_leave(w, quiet);
    return MF_OK;
}

/* Append one item's record (status, length, bytes padded to 8) to the
 * chunk result being built in *buf (*len used of *cap), growing it.
 * MF_ESIZE past the result limit, MF_ENOMEM when it cannot grow. */
static int mf_chunk_put(unsigned char **buf, size_t *cap, size_t *len,
                        size_t i, const mf_task *item)
{
    const void *p = item->failed ? (const void *)item->msg : item->res;
    uint64_t l = item->failed ? strlen(item->msg) : item->res_len;
    uint32_t st = item->failed ? MF_RS_FAILED : MF_RS_OK, zero = 0;
    if (*len + MF_PAD8(l) > MF_MAX_RESULT)
        return MF_ESIZE;
    if (*len + MF_PAD8(l) > *cap) {
        size_t nc = *cap * 2;
        while (nc < *len + MF_PAD8(l))
            nc *= 2;
        unsigned char *nb = mf__res_realloc(*buf, nc);
        if (!nb)
            return MF_ENOMEM;
        *buf = nb;
        *cap = nc;
    }
    unsigned char *h = *buf + 8 + 16 * i;
    memcpy(h, &st, 4);
    memcpy(h + 4, &zero, 4);
    memcpy(h + 8, &l, 8);
    if (l)
        memcpy(*buf + *len, p, l);
    memset(*buf + *len + l, 0, MF_PAD8(l) - l);
    *len += MF_PAD8(l);
    return MF_OK;
}

/* Run every item of a chunk; the result is one chunk-result payload. */
static int mf_w_run_chunk(mf_wstate *w, mf_wtask *t, mf_task *out)
{
    mf_chunk_view v;
    mf_task item;
    unsigned char *buf = NULL;
    size_t cap = 0, len;
    int rc = mf__chunk_parse(t->data, t->len, 0, &v);
    memset(out, 0, offsetof(mf_task, msg));
    out->msg[0] = '\0';
    if (rc != MF_OK) {
        mf_task_fail(out, "malformed chunk: %s", mf_last_error());
        return MF_OK;
    }
    len = 8 + 16 * v.n;
    cap = len + 64 * v.n;
    buf = mf__res_alloc(cap); /* becomes the result as it is */
    if (!buf) {
        mf__chunk_view_free(&v);
        mf_task_fail(out, "out of memory running a chunk");
        return MF_OK;
    }
    uint64_t n = v.n;
    memcpy(buf, &n, 8);
    /* Once per chunk: the lookup, the crash/yield switches, the room
     * small results are written to. */
    mf_w_task_init(w, &item, t->fn, NULL, 0);
    const mf_reg_entry *e = mf_w_lookup(w, &item, t->fn);
    uint64_t scratch[64]; /* 512 bytes, aligned for any result */
    unsigned quiet = e ? mf_w_enter(w, e) : 0;
    for (size_t i = 0; i < v.n; i++) {
        mf_w_task_init(w, &item, t->fn, v.ptr[i], v.len[i]);
        item.scratch = scratch;
        item.scratch_cap = sizeof scratch;
        if (e)
            mf_w_invoke(&item, e);
        else
            (void)mf_w_lookup(w, &item, t->fn); /* fails the item */
        int bad = mf_chunk_put(&buf, &cap, &len, i, &item);
        mf_task_drop_res(&item);
        if (bad) {
            if (e)
                mf_w_leave(w, quiet);
            mf__res_free(buf);
            mf__chunk_view_free(&v);
            if (bad == MF_ESIZE)
                mf_task_fail(out, "results of the chunk exceed %zu bytes",
                             (size_t)MF_MAX_RESULT);
            else
                mf_task_fail(out, "out of memory running a chunk");
            return MF_OK;
        }
    }
    if (e)
        mf_w_leave(w, quiet);
    mf__chunk_view_free(&v);
    out->res = buf;
    out->res_len = len;
    return MF_OK;
}

/* ---- isolation: a task in a child process ------------------------------ */

/* While an isolated task runs: take the root's messages (tasks, a
 * RECALL), send results held too long, reap sends. An error is kept for
 * the serve loop. */
static void mf_w_service(mf_wstate *w)
{
    int got = 0, rc;
    if (w->poll_err)
        return;
    rc = mf_w_receive(w, &got);
    if (rc == MF_OK && w->out && mf__mono_ns() - w->out_since >= MF_HOLD_NS)
        rc = mf_w_flush(w);
    mf_w_reap(w, 0);
    if (rc != MF_OK)
        w->poll_err = rc;
}

/* Read exactly n bytes before `deadline` (monotonic seconds; INFINITY =
 * none). Returns 0, -1 on EOF/error, -2 on timeout. With a worker state
 * `w` (the worker waiting for its runner), the worker's messages are
 * looked at between polls (1 ms at first, then up to MF_POLL_MAX_MS). */
static int mf_read_all(mf_wstate *w, int fd, void *p, size_t n,
                       double deadline)
{
    char *b = p;
    int slice = 1;
    while (n) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int ms = -1, sliced = 0;
        if (deadline < INFINITY) {
            double left = deadline - mf__now();
            if (left <= 0)
                return -2;
            ms = (int)(left * 1000) + 1;
        }
        if (w && (ms < 0 || ms > slice)) {
            ms = slice;
            sliced = 1;
        }
        int r = poll(&pfd, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0 && sliced) {
            mf_w_service(w);
            if (slice < MF_POLL_MAX_MS)
                slice *= 2;
            continue;
        }
        if (r == 0)
            return -2;
        ssize_t k = read(fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static void mf_run_here(mf_wstate *w, mf_wtask *t, mf_task *task);

/* The runner's loop: read {fn u64, chunk u32, len u64, arg}, run, write
 * {failed u32, len u64, bytes}; exit when the parent closes the pipe. */
static void mf_runner_main(mf_wstate *w, int in, int out)
{
    unsigned char *arg = NULL;
    size_t cap = 0;
    mf__crash_child();
    for (;;) {
        uint64_t fn, len;
        uint32_t chunk;
        if (mf_read_all(NULL, in, &fn, 8, INFINITY) ||
            mf_read_all(NULL, in, &chunk, 4, INFINITY) ||
            mf_read_all(NULL, in, &len, 8, INFINITY))
            _exit(0); /* the worker is done with us */
        if (len > cap) {
            free(arg);
            arg = malloc((size_t)len);
            cap = arg ? (size_t)len : 0;
            if (!arg)
                _exit(122);
        }
        if (len && mf_read_all(NULL, in, arg, (size_t)len, INFINITY))
            _exit(0);
        mf_wtask t = {0, (int)chunk, 0, 0, fn, arg, (size_t)len, NULL};
        mf_task task;
        mf_run_here(w, &t, &task);
        uint32_t failed = (uint32_t)task.failed;
        const void *p = task.failed ? (const void *)task.msg : task.res;
        uint64_t rl = task.failed ? strlen(task.msg) : task.res_len;
        int bad = mf__write_all(out, &failed, 4) ||
                  mf__write_all(out, &rl, 8) ||
                  (rl && mf__write_all(out, p, (size_t)rl));
        mf_task_drop_res(&task);
        if (bad)
            _exit(121);
    }
}

static void mf_runner_stop(mf_wstate *w, int kill_it)
{
    int st;
    if (w->runner <= 0)
        return;
    close(w->to_runner);
    close(w->from_runner);
    if (kill_it)
        kill(w->runner, SIGKILL);
    while (waitpid(w->runner, &st, 0) < 0 && errno == EINTR)
        ;
    w->runner = 0;
}

/* Close every descriptor but 0, 1, 2, `x` and `y`:
 * close_range where the kernel has it, else /proc/self/fd, else every
 * number below the limit. */
static void mf_close_others(int x, int y)
{
    int keep[5] = {0, 1, 2, x, y};
    for (int i = 1; i < 5; i++) /* sort (x, y may be below 3) */
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
#ifdef SYS_close_range
    int ok = 1;
    for (int i = 0; i < 5 && ok; i++) {
        unsigned lo = (unsigned)keep[i] + 1;
        unsigned hi = i < 4 ? (unsigned)keep[i + 1] : 0u;
        if (i < 4 && hi <= lo)
            continue; /* nothing between */
        hi = i < 4 ? hi - 1 : ~0u;
        if (syscall(SYS_close_range, lo, hi, 0) != 0)
            ok = 0;
    }
    if (ok)
        return;
#endif
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int self = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char *end;
            long fd = strtol(e->d_name, &end, 10);
            if (*end || end == e->d_name || fd == self || fd <= 2 ||
                fd == x || fd == y)
                continue;
            close((int)fd);
        }
        closedir(d);
        return;
    }
    struct rlimit rl;
    long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536
                   ? (long)rl.rlim_cur
                   : 65536;
    for (long fd = 3; fd < max; fd++)
        if (fd != x && fd != y)
            close((int)fd);
}

/* In the runner, before anything else: die with the worker (a worker
 * killed, or ended by the launcher, must not leave it computing, nor
 * holding the rank's pipes and sockets), default signal actions, no
 * signal blocked, and no descriptor but stdio and its two pipes. */
static void mf_runner_reset(pid_t parent, int in, int out)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(0); /* the worker died before prctl: nothing to serve */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* (glibc's own ones refuse) */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    mf_close_others(in, out);
}

static int mf_runner_start(mf_wstate *w, char *err, size_t errlen)
{
    int a[2], b[2];
    if (pipe(a) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe(b) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        close(a[0]);
        close(a[1]);
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(a[0]);
        close(a[1]);
        close(b[0]);
        close(b[1]);
        return -1;
    }
    if (pid == 0) {
        /* No MPI here: only the task functions. */
        close(a[1]);
        close(b[0]);
        mf_runner_reset(parent, a[0], b[1]);
        mf_runner_main(w, a[0], b[1]);
        _exit(0);
    }
    close(a[0]);
    close(b[1]);
    fcntl(a[1], F_SETFD, FD_CLOEXEC);
    fcntl(b[0], F_SETFD, FD_CLOEXEC);
    w->runner = pid;
    w->to_runner = a[1];
    w->from_runner = b[0];
    return 0;
}

/* The runner died: say how in the task's failure, reap it, and start a
 * new one next time. */
static void mf_runner_died(mf_wstate *w, mf_task *out)
{
    int st = 0;
    close(w->to_runner);
    close(w->from_runner);
    while (waitpid(w->runner, &st, 0) < 0 && errno == EINTR)
        ;
    w->runner = 0;
    if (WIFSIGNALED(st)) {
        const char *ab = sigabbrev_np(WTERMSIG(st));
        mf_task_fail(out, "killed by signal %d (SIG%s)", WTERMSIG(st),
                     ab ? ab : "?");
    } else {
        mf_task_fail(out,
                     "the task's process exited with status %d before "
                     "returning (exit() called?)",
                     WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
}

/* Run `t` in the runner process, so a crash or a timeout fails only this
 * task; the runner is restarted for the next one. */
static uint32_t mf_run_isolated(mf_wstate *w, mf_wtask *t, mf_task *out)
{
    char err[160];
    double deadline =
        t->timeout_ms ? mf__now() + t->timeout_ms / 1000.0 : INFINITY;
    memset(out, 0, offsetof(mf_task, msg));
    out->msg[0] = '\0';
    if (w->runner <= 0 && mf_runner_start(w, err, sizeof err) != 0) {
        mf_task_fail(out, "cannot isolate the task: %s", err);
        return MF_RS_FAILED;
    }
    uint64_t fn = t->fn, len = t->len;
    uint32_t chunk = (uint32_t)t->chunk;
    /* A runner that died shows up as a failed write: ignore SIGPIPE for
     * the write, so the worker itself is not killed by it. */
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    int r = mf__write_all(w->to_runner, &fn, 8) ||
            mf__write_all(w->to_runner, &chunk, 4) ||
            mf__write_all(w->to_runner, &len, 8) ||
            (len && mf__write_all(w->to_runner, t->data, (size_t)len));
    sigaction(SIGPIPE, &old, NULL);
    uint32_t failed = 0;
    uint64_t rl = 0;
    void *buf = NULL;
    if (r == 0)
        r = mf_read_all(w, w->from_runner, &failed, 4, deadline);
    if (r == 0)
        r = mf_read_all(w, w->from_runner, &rl, 8, deadline);
    if (r == 0 && rl > MF_MAX_RESULT) {
        mf_task_fail(out,
                     "isolated task sent a %llu-byte result, above the "
                     "limit",
                     (unsigned long long)rl);
        mf_runner_stop(w, 1);
        return MF_RS_FAILED;
    }
    if (r == 0) {
        buf = mf__res_alloc(rl ? (size_t)rl : 1);
        if (!buf) {
            mf_task_fail(out, "out of memory for an isolated result");
            mf_runner_stop(w, 1);
            return MF_RS_FAILED;
        }
        if (rl)
            r = mf_read_all(w, w->from_runner, buf, (size_t)rl, deadline);
    }
    if (r == -2) {
        mf__res_free(buf);
        mf_runner_stop(w, 1);
        mf_task_fail(out, "task timed out after %.3f s; killed",
                     t->timeout_ms / 1000.0);
        return MF_RS_TIMEOUT;
    }
    if (r != 0) {
        mf__res_free(buf);
        mf_runner_died(w, out);
        return MF_RS_CRASHED;
    }
    if (failed) {
        size_t k =
            rl < sizeof out->msg - 1 ? (size_t)rl : sizeof out->msg - 1;
        memcpy(out->msg, buf, k);
        out->msg[k] = '\0';
        out->failed = 1;
        mf__res_free(buf);
        return MF_RS_FAILED;
    }
    out->res = buf;
    out->res_len = (size_t)rl;
    return MF_RS_OK;
}

static void mf_run_here(mf_wstate *w, mf_wtask *t, mf_task *task)
{
    if (t->chunk)
        mf_w_run_chunk(w, t, task);
    else
        mf_w_call(w, task, t->fn, t->data, t->len);
}

/* The predictor's slot for `t` (NULL if the table is full). */
static mf_pred *mf_pred_slot(mf_wstate *w, const mf_wtask *t)
{
    uint32_t kind =
        1u + (t->chunk ? 1u : 0u) + (t->isolate || t->timeout_ms ? 2u : 0u);
    size_t h = (size_t)((t->fn ^ (t->fn >> 29) ^ kind) % MF_PRED_SLOTS);
    for (size_t i = 0; i < MF_PRED_SLOTS; i++) {
        mf_pred *p = &w->pred[(h + i) % MF_PRED_SLOTS];
        if (p->kind == 0) {
            p->kind = kind;
            p->fn = t->fn;
            p->cur_max = p->prev_max = UINT64_MAX; /* unknown: long */
            return p;
        }
        if (p->kind == kind && p->fn == t->fn)
            return p;
    }
    return NULL;
}

static uint64_t mf_pred_time(const mf_pred *p)
{
    if (!p)
        return UINT64_MAX;
    return p->cur_max > p->prev_max ? p->cur_max : p->prev_max;
}

static void mf_pred_note(mf_pred *p, uint64_t ns)
{
    if (!p)
        return;
    if (p->runs == 0) {
        /* A new block: the previous one is the last full block (the
         * first block replaces "unknown" once it has one run). */
        p->prev_max = p->cur_max == UINT64_MAX ? ns : p->cur_max;
        p->cur_max = 0;
    }
    if (ns > p->cur_max)
        p->cur_max = ns;
    if (++p->runs == MF_PRED_RUNS)
        p->runs = 0;
}

/* Run one task (or chunk) and add its result to the outgoing batch. */
/* Before a task: the results gathered go now unless they would still be
 * young enough after it, as far as its function's recent runs tell. */
static int mf_w_flush_before(mf_wstate *w, mf_pred *pred, uint64_t *t0)
{
    if (!w->out)
        return MF_OK;
    uint64_t age = *t0 - w->out_since, next = mf_pred_time(pred);
    if (next < MF_HOLD_NS && age + next < MF_HOLD_NS)
        return MF_OK;
    int rc = mf_w_flush(w);
    *t0 = mf__mono_ns();
    return rc;
}

/* What a finished task sends back: its bytes, and who releases them. */
typedef struct mf_wout {
    uint32_t status;
    const void *payload;
    size_t plen;
    mf_free_fn release; /* frees payload once sent (NULL: not ours) */
} mf_wout;

static void mf_w_payload(mf_wtask *t, mf_task *task, mf_wout *o)
{
    if (task->failed) {
        o->payload = task->msg;
        o->plen = strlen(task->msg);
    } else if (task->res_in_arg) {
        /* The task returned its own argument buffer. From the out-of-line
         * size up, that buffer is the whole receive buffer of the
         * argument: it goes out as it is and is released once sent.
         * Below, the bytes are copied into the message as usual. */
        o->payload = task->res;
        o->plen = task->res_len;
        if (o->plen >= MF_WIRE_OOL_MIN && t->rb &&
            o->payload == t->rb->data && mf__rbuf_can_hand_over(t->rb)) {
            o->release = mf__rbuf_hand_over(t->rb);
            t->rb = NULL;
        } else if (o->plen >= MF_WIRE_OOL_MIN) {
            /* (Not expected: a large argument always has its own buffer.
             * Sent out of line, the bytes must outlive t->rb: copy.) */
            void *copy = mf__res_alloc(o->plen);
            if (copy) {
                memcpy(copy, o->payload, o->plen);
                task->res = copy;
                task->res_in_arg = 0;
                o->payload = copy;
                o->release = mf__res_free;
            } else {
                o->status = MF_RS_FAILED;
                o->payload = "out of memory returning the argument";
                o->plen = strlen(o->payload);
            }
        }
    } else {
        o->payload = task->res;
        o->plen = task->res_len;
        /* (a result in the scratch room is copied into the message) */
        o->release = task->res && !task->res_scratch ? mf__res_free : NULL;
    }
}

/* Add one result to the message being gathered (started if none). The
 * message owns the payload from the add on, even on failure. */
static int mf_w_add(mf_wstate *w, mf_wtask *t, const mf_wout *o, uint64_t t0,
                    uint64_t t1, int *added)
{
    int rc;
    *added = 0;
    /* A result that would not fit next to the others goes out alone. */
    if (w->out && w->out->total + o->plen + 64 > MF_WIRE_MAX &&
        (rc = mf_w_flush(w)) != MF_OK)
        return rc;
    if (!w->out) {
        w->out = mf__malloc(sizeof *w->out);
        if (!w->out || mf__wire_begin(w->out, MF_MSG_RESULTS) != MF_OK) {
            mf__free(w->out);
            w->out = NULL;
            return mf__fail(MF_ENOMEM, "worker: out of memory");
        }
        w->out_since = t1;
    }
    *added = 1;
    rc = mf__wire_add_result_r(w->out, t->tag, o->status, t0, t1 - t0,
                               o->payload, o->plen, o->release,
                               t->chunk ? MF_REC_CHUNK : 0);
    return rc == MF_OK
               ? MF_OK
               : mf__fail(rc, "worker: out of memory adding a result");
}

/* Run one task (here or isolated) and gather its result. */
static int mf_w_run(mf_wstate *w, mf_wtask *t)
{
    mf_task task;
    mf_wout o = {MF_RS_OK, NULL, 0, NULL};
    mf_pred *pred = mf_pred_slot(w, t);
    uint64_t t0 = mf__mono_ns(), t1;
    int rc, added;

    if ((rc = mf_w_flush_before(w, pred, &t0)) != MF_OK) {
        mf__rbuf_unref(t->rb);
        t->rb = NULL;
        return rc;
    }
    if (t->isolate || t->timeout_ms) {
        o.status = mf_run_isolated(w, t, &task);
    } else {
        mf_run_here(w, t, &task);
        o.status = task.failed ? MF_RS_FAILED : MF_RS_OK;
    }
    t1 = mf__mono_ns();
    w->last_end = t1; /* (the flush check reads it: one clock call less) */
    mf_pred_note(pred, t1 - t0);
    mf_w_payload(t, &task, &o);
    rc = mf_w_add(w, t, &o, t0, t1, &added);
    if (rc != MF_OK && !added && o.release)
        o.release((void *)o.payload); /* (the message never took it) */
    /* The argument's buffer, unless the message holds it now. */
    mf__rbuf_unref(t->rb);
    t->rb = NULL;
    return rc;
}

/* The longest idle sleep now: none while a large send needs polling to
 * move (when the MPI has no single-copy path, fragments go one poll at a
 * time), nor shortly after the root said more work is coming. */
static unsigned mf_w_ceiling(const mf_wstate *w)
{
    unsigned ceiling = w->ex->opts.idle_sleep_max_us;
    for (size_t i = 0; i < w->nsends; i++)
        if (w->sends[i]->nool && ceiling > 50)
            ceiling = 50;
    /* The root said more is coming: poll, not sleep (a blind sleep would
     * delay it). A link that naps is woken by it anyway: no need. */
    if (w->more && !w->ex->link->ops->nap &&
        mf__now() - w->more_at < MF_MORE_SECONDS)
        ceiling = 0;
    return ceiling;
}

/* Run the next queued task, then send the results gathered so far if
 * it is time. */
static int mf_w_step(mf_wstate *w)
{
    /* A copy: while an isolated task runs, the queue may grow
     * (and move) or be given back. Taken off the queue here, the
     * task counts as started. */
    mf_wtask t = w->q[w->qhead++];
    int rc = mf_w_run(w, &t);
    if (rc == MF_OK)
        rc = w->poll_err;
    if (rc != MF_OK)
        return rc;
    /* Send results once as many are done as are still queued
     * (and when the queue is empty, the batch large, or the
     * oldest result waited too long; mf_w_run also sends before
     * a task that may be long): the root, which gives a busy
     * worker more once half its window is free, then refills
     * this queue before it runs dry, and reads these results
     * while this rank works on the rest. */
    if (w->out &&
        (w->qhead == w->qlen || w->out->count >= w->qlen - w->qhead ||
         w->out->total >= MF_FLUSH_BYTES ||
         w->last_end - w->out_since >= MF_HOLD_NS))
        rc = mf_w_flush(w);
    if (w->qhead == w->qlen)
        w->qhead = w->qlen = 0;
    mf_w_reap(w, 0);
    return rc;
}

int mf__serve(mf_executor *ex)
{
    mf_wstate w;
    mf_backoff b;
    int rc = MF_OK;

    memset(&w, 0, sizeof w);
    w.ex = ex;
    mf__backoff_init(&b, ex->oversub);
    if (ex->link->ops->nap) { /* a local pool: sleeps end with work */
        b.nap = mf__link_nap;
        b.nap_ctx = ex->link;
    }
    /* On MPI ranks: the crash report, and Open MPI's yield switch off
     * while polling. A local pool's root sees a dead worker itself. */
    bool on_mpi = ex->comm != MPI_COMM_NULL;
    if (on_mpi) {
        mf__crash_install(ex->rank, ex->host);
        mf__mpi_quiet_enter();
    }
    while (rc == MF_OK) {
        int got = 0;
        rc = mf_w_receive(&w, &got);
        if (rc != MF_OK)
            break;
        if (w.qhead < w.qlen) {
            if ((rc = mf_w_step(&w)) != MF_OK)
                break;
            mf__backoff_reset(&b);
            continue;
        }
        if (w.stop)
            break;
        mf_w_reap(&w, 0);
        if (got) {
            mf__backoff_reset(&b);
            continue;
        }
        unsigned ceiling = mf_w_ceiling(&w);
        /* Napping, a message ends the sleep: an idle worker of a local
         * pool may sleep long and cost nothing. */
        if (b.nap && ex->opts.idle_sleep_max_us > 0 &&
            ceiling >= ex->opts.idle_sleep_max_us && ceiling < MF_NAP_US)
            ceiling = MF_NAP_US;
        mf__backoff_idle(&b, INFINITY, ceiling);
    }
    if (w.out)
        mf_w_flush(&w);
    int r2 = mf_w_reap(&w, 1);
    if (rc == MF_OK)
        rc = r2;
    if (on_mpi)
        mf__mpi_quiet_leave();
    mf_runner_stop(&w, 0);
    if (on_mpi)
        mf__crash_restore();
    for (size_t i = w.qhead; i < w.qlen; i++)
        mf__rbuf_unref(w.q[i].rb);
    mf__free(w.q);
    mf__free(w.sends);
    return rc;
}

int mf__run_once(mf_executor *ex, mf_fn_id fn, const void *arg, size_t len,
                 char *err, size_t errlen)
{
    mf_wstate w;
    mf_task task;
    memset(&w, 0, sizeof w);
    w.ex = ex;
    mf_w_call(&w, &task, fn, arg, len);
    mf_task_drop_res(&task);
    if (task.failed) {
        snprintf(err, errlen, "%s", task.msg);
        return MF_ETASK;
    }
    return MF_OK;
}
