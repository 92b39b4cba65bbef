/* executor.c — the root's executor as a thing: checking a handle, freeing
 * it, finishing and failing its futures (the one place a future's outcome
 * is recorded and the executor's hold on it dropped), journal replay at
 * submit, and the small public getters.
 *
 * The machinery that moves work lives beside it: dispatch.c (the queue,
 * windows, sending), progress.c (result intake, the progress pass, waits,
 * the progress thread) and submit.c (submit, shutdown, close).
 */
#include "executor.h"

#include "alloc.h"
#include "clock.h"
#include "errors.h"
#include "future.h"
#include "journal.h"
#include "link.h"
#include "lock.h"
#include "observe.h"
#include "rbuf.h"
#include "registry.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
void mf__ex_free(mf_executor *ex, int keep)
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
    mf__free(ex->inflight_units);
    mf__free(ex->pinq);
    mf__free(ex->pinq_tail);
    mf__free(ex->heard_at);
    mf__free(ex->recalling);
    mf__free(ex->sends);
    mf__obs_free(&ex->obs);
    mf__journal_close(ex->journal);
    if (ex->link)
        ex->link->ops->free(ex->link);
    mf__registry_snap_free(&ex->reg);
    if (keep) {
        memset(ex, 0, sizeof *ex);
        ex->magic = MF_EX_CLOSED;
        ex->comm = MPI_COMM_NULL;
        return;
    }
    free(ex);
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

void mf__ex_finish(mf_fut *f, int state)
{
    if (f->held) {
        size_t items = f->nitems ? f->nitems : 1;
        f->held = 0;
        if (f->ex && f->ex->outstanding)
            f->ex->outstanding--;
        if (f->ex)
            f->ex->held_items -=
                f->ex->held_items >= items ? items : f->ex->held_items;
    }
    f->ex = NULL;
    mf__fut_finish(f, state);
}

/* Fail `f` with a complete error (message, function, host, rank and
 * reason all recorded first): finishing may free the future, and its
 * callbacks may read the error. */
void mf__ex_fail(mf_executor *ex, mf_fut *f, int rank, int reason,
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
            e->pub.reason = reason;
        }
    }
    f->err = e ? e : &mf__oom_err;
    mf__ex_finish(f, MF_FS_FAILED);
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
        mf__ex_finish(f, MF_FS_OK);
    } else {
        mf__ex_fail(ex, f, -1,
                    status == MF_RS_CRASHED   ? MF_FAIL_CRASH
                    : status == MF_RS_TIMEOUT ? MF_FAIL_TIMEOUT
                                              : MF_FAIL_TASK,
                    bytes, len);
    }
    return true;
}

MF_API int mf_executor_journal(mf_executor *ex, size_t *loaded,
                               size_t *reused, size_t *torn_bytes)
{
    size_t l, r, t;
    mf__lock();
    int rc = mf__ex_check(ex, "mf_executor_journal");
    if (rc != MF_OK) {
        mf__unlock();
        return rc;
    }
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

MF_API int mf_executor_stats(mf_executor *ex, mf_worker_stats *out, size_t n,
                             size_t *nworkers)
{
    mf__clear_error();
    if (!out && n)
        return mf__fail(MF_EINVAL, "mf_executor_stats: NULL argument");
    mf__lock();
    int rc = mf__ex_check(ex, "mf_executor_stats");
    if (rc != MF_OK) {
        mf__unlock();
        return rc;
    }
    if (nworkers)
        *nworkers = (size_t)ex->nworkers;
    if (n)
        mf__obs_stats(&ex->obs, out, n);
    mf__unlock();
    return MF_OK;
}
