/*
 * batch.c — the root's batches (see batch.h): the argument's encoding,
 * the submit, and the per-command records of the result.
 *
 * Design: each record is final or not: a failed attempt with attempts
 * left (and no stop under way) is logged as "retried" and queued again,
 * to run on another rank when there is one (the batch that carries it
 * is kept off the rank where its first retry failed);
 * an interrupted command is logged and counted as not run; anything
 * else is logged under its status, counted, and its output printed.
 * Spilled output of an attempt that is not printed is removed at once.
 */
#define _GNU_SOURCE
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "protocol.h"

void batch_free(batch *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        free(b->c[i].cmd);
    free(b->c);
    b->c = NULL;
    b->n = 0;
}

int batch_submit(batch *b, mf_executor *ex, mf_fn_id fn, int pin)
{
    size_t alen = 4;
    for (uint32_t i = 0; i < b->n; i++)
        alen += sizeof(ahead) + b->c[i].len + 1;
    char *arg = xmalloc(alen);
    memcpy(arg, &b->n, 4);
    size_t off = 4;
    for (uint32_t i = 0; i < b->n; i++) {
        ahead h = {b->c[i].id, b->c[i].attempt, (uint32_t)b->c[i].len};
        memcpy(arg + off, &h, sizeof h);
        off += sizeof h;
        memcpy(arg + off, b->c[i].cmd, b->c[i].len + 1);
        off += b->c[i].len + 1;
    }
    mf_submit_opts so;
    memset(&so, 0, sizeof so);
    so.timeout = -1;
    so.free_arg = free;
    so.pin = pin >= 0;
    so.pin_rank = pin;
    for (uint32_t i = 0; i < b->n && !so.avoid && !so.pin; i++)
        if (b->c[i].avoid > 0 && mf_executor_workers(ex) > 1) {
            so.avoid = 1;
            so.avoid_rank = b->c[i].avoid - 1;
        }
    return mf_submit_ex(ex, fn, arg, alen, &so, &b->fut);
}

/* Queue c (moved: c->cmd is taken) for its next attempt, away from
 * `rank` where this one failed. */
static void retry_push(retryq *q, cmdent *c, uint32_t attempt, int rank)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->e = xrealloc(q->e, q->cap * sizeof *q->e);
    }
    cmdent *e = &q->e[q->n++];
    *e = *c;
    e->attempt = attempt;
    e->avoid = rank + 1;
    c->cmd = NULL; /* moved */
}

void batch_record(root *R, const rhead *h, cmdent *c, const rrec *r,
                  const char *inl, retryq *q, int stopping)
{
    if (r->status == ST_NOTRUN) {
        R->notrun++;
        return;
    }
    int ok = r->status == ST_OK;
    if (!ok && r->status != ST_INTERRUPTED && !stopping &&
        r->attempt <= R->o.retries) {
        joblog_write(r, h->host, h->rank, c->cmd, c->len, "retried");
        spill_discard(&R->out, r);
        retry_push(q, c, r->attempt + 1, h->rank);
        return;
    }
    joblog_write(r, h->host, h->rank, c->cmd, c->len, st_name[r->status]);
    if (r->status == ST_INTERRUPTED) {
        R->notrun++;
        spill_discard(&R->out, r);
        return;
    }
    R->finished++;
    if (!ok)
        R->failed++;
    output_final(&R->out, r, inl);
}

const char *batch_head(const void *data, size_t len, rhead *h)
{
    if (len < sizeof *h) {
        die_msg("short result");
        return NULL;
    }
    memcpy(h, data, sizeof *h);
    h->host[sizeof h->host - 1] = 0;
    return (const char *)data + sizeof *h;
}

void batch_done(root *R, batch *b, retryq *q, int stopping)
{
    const void *data = NULL;
    size_t len = 0;
    int rc = mf_future_result(b->fut, 0, &data, &len);
    if (rc != MF_OK) {
        const mf_task_error *te = NULL;
        mf_future_error(b->fut, 0, &te);
        if (rc != MF_ECANCELLED)
            die_msg("batch of tasks %llu..: %s%s%s",
                    (unsigned long long)b->c[0].id, mf_strerror(rc),
                    te ? ": " : "", te ? te->message : "");
        R->notrun += b->n; /* not run: a resume runs them */
        return;
    }
    const char *end = (const char *)data + len;
    rhead h;
    const char *p = batch_head(data, len, &h);
    if (!p) {
        R->notrun += b->n;
        return;
    }
    for (uint32_t i = 0; i < h.n && i < b->n; i++) {
        rrec r;
        if ((size_t)(end - p) < sizeof r)
            break;
        memcpy(&r, p, sizeof r);
        p += sizeof r;
        const char *inl = p;
        p += (size_t)r.inl_out + r.inl_err;
        if (p > end)
            break;
        batch_record(R, &h, &b->c[i], &r, inl, q, stopping);
    }
}
