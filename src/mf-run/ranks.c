/*
 * ranks.c — per-rank commands on the root (see ranks.h).
 */
#define _GNU_SOURCE
#include "ranks.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "protocol.h"

int ranks_init(mf_executor *ex, rankst **out, int *n)
{
    size_t nw = 0;
    if (mf_executor_stats(ex, NULL, 0, &nw) != MF_OK || nw == 0)
        return -1;
    mf_worker_stats *ws = xmalloc(nw * sizeof *ws);
    if (mf_executor_stats(ex, ws, nw, &nw) != MF_OK) {
        free(ws);
        return -1;
    }
    rankst *rk = xmalloc(nw * sizeof *rk);
    memset(rk, 0, nw * sizeof *rk);
    for (size_t i = 0; i < nw; i++)
        rk[i].rank = ws[i].rank;
    free(ws);
    *out = rk;
    *n = (int)nw;
    return 0;
}

void ranks_free(rankst *rk, int n)
{
    for (int i = 0; rk && i < n; i++) {
        for (size_t k = 0; k < rk[i].nheld; k++)
            free(rk[i].held[k].cmd);
        free(rk[i].held);
    }
    free(rk);
}

/* Drop held[k] (its command freed unless it was moved to a retry). */
static void held_remove(rankst *rs, size_t k)
{
    free(rs->held[k].cmd);
    memmove(&rs->held[k], &rs->held[k + 1],
            (rs->nheld - k - 1) * sizeof *rs->held);
    rs->nheld--;
    if (rs->sent_from > k)
        rs->sent_from--;
}

/* held[from..nheld) count as not run and are dropped. */
static void held_notrun(root *R, rankst *rs, size_t from)
{
    while (rs->nheld > from) {
        R->notrun++;
        held_remove(rs, rs->nheld - 1);
    }
}

int ranks_submit(root *R, rankst *rs, batch *b, mf_executor *ex, mf_fn_id fn)
{
    int rc = batch_submit(b, ex, fn, rs->rank);
    if (rc != MF_OK) { /* no task will collect the rank's commands now */
        R->notrun += b->n;
        batch_free(b);
        held_notrun(R, rs, 0);
        return rc;
    }
    if (rs->nheld + b->n > rs->cap) {
        rs->cap = (rs->nheld + b->n) * 2;
        rs->held = xrealloc(rs->held, rs->cap * sizeof *rs->held);
    }
    rs->fut = b->fut;
    rs->sent_from = rs->nheld;
    if (b->n)
        memcpy(&rs->held[rs->nheld], b->c, b->n * sizeof *b->c);
    rs->nheld += b->n;
    free(b->c);
    b->c = NULL;
    b->n = 0;
    rs->busy = 1;
    return MF_OK;
}

/* The held command a record reports (by id and attempt), or nheld. */
static size_t held_find(const rankst *rs, const rrec *r)
{
    for (size_t k = 0; k < rs->nheld; k++)
        if (rs->held[k].id == r->id && rs->held[k].attempt == r->attempt)
            return k;
    return rs->nheld;
}

void ranks_done(root *R, rankst *rs, retryq *q, int stopping, double *mean_rt)
{
    const void *data = NULL;
    size_t len = 0;
    rs->busy = 0;
    int rc = mf_future_result(rs->fut, 0, &data, &len);
    if (rc == MF_ECANCELLED) { /* never started: its commands went nowhere */
        held_notrun(R, rs, rs->sent_from);
        return;
    }
    if (rc != MF_OK) {
        const mf_task_error *te = NULL;
        mf_future_error(rs->fut, 0, &te);
        die_msg("rank %d: %s%s%s; its %zu commands count as not run",
                rs->rank, mf_strerror(rc), te ? ": " : "",
                te ? te->message : "", rs->nheld);
        held_notrun(R, rs, 0);
        return;
    }
    const char *end = (const char *)data + len;
    rhead h;
    const char *p = batch_head(data, len, &h);
    for (uint32_t i = 0; p && i < h.n; i++) {
        rrec r;
        if ((size_t)(end - p) < sizeof r)
            break;
        memcpy(&r, p, sizeof r);
        p += sizeof r;
        const char *inl = p;
        p += (size_t)r.inl_out + r.inl_err;
        if (p > end)
            break;
        size_t k = held_find(rs, &r);
        if (k == rs->nheld) {
            die_msg("rank %d reported task %llu, which it does not hold",
                    rs->rank, (unsigned long long)r.id);
            continue;
        }
        if (r.status != ST_NOTRUN)
            *mean_rt =
                *mean_rt < 0 ? r.runtime : 0.8 * *mean_rt + 0.2 * r.runtime;
        batch_record(R, &h, &rs->held[k], &r, inl, q, stopping);
        held_remove(rs, k);
    }
}
