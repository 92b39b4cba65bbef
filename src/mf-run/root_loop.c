/*
 * root_loop.c — the root's loop (see root_loop.h), as named steps: the
 * stop on a signal, the stop at the --halt threshold, the filling of new
 * batches (retries first), the wait for finished ones, and the summary.
 *
 * Design: the loop's state is one struct (loop), so each step is a
 * function of it; the loop ends when nothing is outstanding and nothing
 * more will be sent (a stop, or the input's end with no retry left). If
 * batches are still out 30 s after a stop's grace, the root gives up on
 * them: the job ends (MPI_Abort, or _exit alone: the workers die with
 * the process).
 */
#define _GNU_SOURCE
#include "root_loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "common.h"
#include "control.h"
#include "input.h"
#include "ranks.h"

/* Under this mean run time, a rank with --slots N gets N commands more
 * than it runs, waiting there, so a slot that frees starts the next at
 * once instead of after a round trip to the root. Longer commands get
 * none: one waiting behind long ones could idle another rank for as long
 * at the end. */
#define PREFETCH_BELOW_S 0.1

typedef struct loop {
    root *R;
    mf_executor *ex;
    mf_fn_id fn_batch, fn_slots;
    int nranks;
    rankst *rk; /* --slots N > 1: the worker ranks (else NULL) */
    int nrk, nbusy;
    double mean_rt; /* of the commands so far (< 0: none yet) */
    input in;
    size_t maxout; /* batches outstanding at most */
    batch *bs;     /* the outstanding ones: bs[0..nb) */
    mf_future *futs;
    unsigned char *flags;
    size_t nb;
    retryq rq;
    int eof, stopping, bad;
    int halted; /* the stop is --halt's */
    int sig;    /* the signal that stopped the run */
    double stop_at;
} loop;

/* --halt's threshold: N tasks failed, or N% of the tasks (of those
 * finished while the total is unknown: stdin). */
static int halt_reached(const root *R)
{
    if (!R->o.halt || !R->failed)
        return 0;
    if (!R->o.halt_pct)
        return (double)R->failed >= R->o.halt_fail;
    double base = R->total ? (double)R->total : (double)R->finished;
    return base > 0 && 100.0 * (double)R->failed / base >= R->o.halt_fail;
}

/* Cancel the outstanding batches (those already running go on). */
static void cancel_all(loop *L)
{
    for (size_t k = 0; k < L->nb; k++)
        mf_future_cancel(L->bs[k].fut);
    for (int k = 0; k < L->nrk; k++)
        if (L->rk[k].busy)
            mf_future_cancel(L->rk[k].fut);
}

/* The first queued retry that may run on `rank` (-1: any) moved into *c:
 * 1, or 0 if none. A retry is kept off the rank it failed on while there
 * is another. */
static int take_retry(loop *L, int rank, cmdent *c)
{
    retryq *q = &L->rq;
    size_t i = q->head;
    if (rank >= 0 && L->nrk > 1)
        while (i < q->n && q->e[i].avoid == rank + 1)
            i++;
    if (i >= q->n)
        return 0;
    *c = q->e[i];
    memmove(&q->e[q->head + 1], &q->e[q->head], (i - q->head) * sizeof *q->e);
    q->head++;
    return 1;
}

/* A signal came: no new tasks, STOP(grace) to the workers. */
static void stop_on_signal(loop *L)
{
    if (!g_signal || L->sig)
        return;
    L->sig = g_signal;
    L->stopping = 1;
    L->stop_at = mono_now();
    fprintf(stderr,
            "mf-run: got SIG%s: no new tasks; running ones get "
            "%.0f s\n",
            sig_name(L->sig), L->R->o.grace);
    send_ctrl_all(L->nranks, L->R->o.grace);
    cancel_all(L);
}

/* --halt reached: no new tasks; `now` also kills the running ones. */
static void stop_on_halt(loop *L)
{
    const opts *o = &L->R->o;
    if (L->stopping || !halt_reached(L->R))
        return;
    L->stopping = L->halted = 1;
    L->stop_at = mono_now();
    fprintf(stderr,
            "mf-run: --halt %s,fail=%g%s: %llu failed: no new "
            "tasks%s\n",
            o->halt == 2 ? "now" : "soon", o->halt_fail,
            o->halt_pct ? "%" : "", (unsigned long long)L->R->failed,
            o->halt == 2 ? "; killing the running ones" : "");
    if (o->halt == 2)
        send_ctrl_all(L->nranks, 0);
    cancel_all(L);
}

/* Up to `max` commands into b, for `rank` (-1: any): retries first,
 * then the input's next ones (those the job log shows finished are
 * skipped). */
static void take_commands(loop *L, batch *b, uint32_t max, int rank)
{
    root *R = L->R;
    const opts *o = &R->o;
    retryq *q = &L->rq;
    while (b->n < max) {
        if (take_retry(L, rank, &b->c[b->n])) {
            b->n++;
            continue;
        }
        if (L->eof)
            break;
        int r = input_next(&L->in);
        if (r <= 0) {
            L->eof = 1;
            if (r < 0) {
                L->bad = 1;
                L->stopping = 1;
            }
            break;
        }
        uint64_t dg = digest(L->in.cmd, L->in.cmdlen);
        int st = lm_get(&R->lm, L->in.seq, dg);
        if (st == 2 || (st == 1 && !o->resume_failed)) {
            R->skipped++;
            output_skipped(&R->out, L->in.seq);
            continue;
        }
        cmdent *c = &b->c[b->n++];
        c->id = L->in.seq;
        c->attempt = 1;
        c->avoid = 0;
        c->len = L->in.cmdlen;
        c->cmd = xmalloc(L->in.cmdlen + 1);
        memcpy(c->cmd, L->in.cmd, L->in.cmdlen + 1);
    }
    if (q->head == q->n)
        q->head = q->n = 0;
}

/* Fill: batches of up to --slots commands, retries first. */
static void fill(loop *L)
{
    root *R = L->R;
    while (!L->stopping && L->nb < L->maxout &&
           (!L->eof || L->rq.head < L->rq.n)) {
        batch *b = &L->bs[L->nb];
        b->c = xmalloc(R->o.slots * sizeof *b->c);
        b->n = 0;
        take_commands(L, b, R->o.slots, -1);
        if (b->n == 0) {
            free(b->c);
            b->c = NULL;
            break;
        }
        int rc = batch_submit(b, L->ex, L->fn_batch, -1);
        if (rc != MF_OK) {
            if (rc != MF_EINTR)
                die_msg("submit: %s: %s", mf_strerror(rc), mf_last_error());
            R->notrun += b->n;
            batch_free(b);
            L->stopping = 1;
            break;
        }
        L->nb++;
    }
}

/* --slots N > 1: every rank without a task out gets one, with commands
 * up to N running (2N when commands are short, PREFETCH_BELOW_S), or
 * none if it only has commands to report. */
static void fill_ranks(loop *L)
{
    const opts *o = &L->R->o;
    uint32_t depth = o->slots;
    if (L->mean_rt >= 0 && L->mean_rt < PREFETCH_BELOW_S)
        depth *= 2;
    for (int k = 0; k < L->nrk; k++) {
        rankst *rs = &L->rk[k];
        if (rs->busy)
            continue;
        batch b;
        memset(&b, 0, sizeof b);
        b.c = xmalloc(depth * sizeof *b.c);
        if (!L->stopping && rs->nheld < depth)
            take_commands(L, &b, depth - (uint32_t)rs->nheld, rs->rank);
        if (b.n == 0 && rs->nheld == 0) {
            free(b.c);
            continue;
        }
        int rc = ranks_submit(L->R, rs, &b, L->ex, L->fn_slots);
        if (rc != MF_OK) {
            if (rc != MF_EINTR)
                die_msg("submit: %s: %s", mf_strerror(rc), mf_last_error());
            L->stopping = 1;
            continue;
        }
        L->nbusy++;
    }
}

/* --slots N > 1: wait up to 0.1 s for the ranks' tasks and take those
 * that ended: 0, or -1 when the wait failed (message printed). */
static int collect_ranks(loop *L)
{
    size_t n = 0;
    for (int k = 0; k < L->nrk; k++)
        if (L->rk[k].busy)
            L->futs[n++] = L->rk[k].fut;
    size_t nd = 0;
    int rc = mf_wait(L->futs, n, 0.1, MF_FIRST_COMPLETED, L->flags, &nd);
    if (rc != MF_OK && rc != MF_ETIMEDOUT) {
        die_msg("wait: %s: %s", mf_strerror(rc), mf_last_error());
        return -1;
    }
    n = 0;
    for (int k = 0; k < L->nrk; k++) {
        rankst *rs = &L->rk[k];
        if (!rs->busy || !L->flags[n++])
            continue;
        ranks_done(L->R, rs, &L->rq, L->stopping, &L->mean_rt);
        mf_future_release(rs->fut);
        L->nbusy--;
    }
    return 0;
}

/* Wait up to 0.1 s for finished batches and take them: 0, or -1 when
 * the wait failed (message printed). */
static int collect(loop *L)
{
    if (L->rk)
        return collect_ranks(L);
    for (size_t k = 0; k < L->nb; k++)
        L->futs[k] = L->bs[k].fut;
    size_t nd = 0;
    int rc = mf_wait(L->futs, L->nb, 0.1, MF_FIRST_COMPLETED, L->flags, &nd);
    if (rc != MF_OK && rc != MF_ETIMEDOUT) {
        die_msg("wait: %s: %s", mf_strerror(rc), mf_last_error());
        return -1;
    }
    size_t w = 0;
    for (size_t k = 0; k < L->nb; k++) {
        if (L->flags[k]) {
            batch_done(L->R, &L->bs[k], &L->rq, L->stopping);
            mf_future_release(L->bs[k].fut);
            batch_free(&L->bs[k]);
        } else {
            L->bs[w++] = L->bs[k];
        }
    }
    L->nb = w;
    return 0;
}

/* A stop: the queued retries are not run. */
static void drop_retries(loop *L)
{
    retryq *q = &L->rq;
    if (!L->stopping || !q->n)
        return;
    /* Only those not yet handed out: entries before head went into
     * batches still out, which free their commands when they end. */
    for (size_t k = q->head; k < q->n; k++)
        free(q->e[k].cmd);
    L->R->notrun += q->n - q->head;
    q->n = q->head = 0;
}

/* Batches still out 30 s after the stop's grace: end the job. */
static void give_up_if_late(loop *L)
{
    double grace = L->R->o.grace;
    if (!L->stopping || L->stop_at <= 0 ||
        mono_now() <= L->stop_at + grace + 30)
        return;
    die_msg("%zu batches still running %.0f s after the stop: "
            "giving up on them",
            L->nb + (size_t)L->nbusy, grace + 30);
    if (!g_mpi) /* alone: the workers die with this process */
        _exit(L->sig ? EX_INTERRUPTED : EX_INTERNAL);
    MPI_Abort(MPI_COMM_WORLD, L->sig ? EX_INTERRUPTED : EX_INTERNAL);
}

/* The last message and the exit status. */
static int summary(const loop *L)
{
    const root *R = L->R;
    if (L->bad)
        return EX_BADINPUT;
    if (L->sig) {
        char tot[32] = "?";
        if (R->total)
            snprintf(tot, sizeof tot, "%llu",
                     (unsigned long long)(R->total - R->skipped));
        fprintf(stderr,
                "mf-run: interrupted by SIG%s: %llu of %s tasks finished "
                "(%llu failed), %llu not run%s\n",
                sig_name(L->sig), (unsigned long long)R->finished, tot,
                (unsigned long long)R->failed,
                (unsigned long long)(R->total
                                         ? R->total - R->skipped - R->finished
                                         : R->notrun),
                R->o.joblog ? "; run again with --resume to finish them"
                            : "");
        return EX_INTERRUPTED;
    }
    if (R->failed)
        fprintf(stderr, "mf-run: %llu of %llu tasks failed\n",
                (unsigned long long)R->failed,
                (unsigned long long)R->finished);
    return R->failed > 100 ? 100 : (int)R->failed;
}

int root_main(root *R, mf_executor *ex, const mf_fn_id fn[2], int nranks)
{
    loop L;
    memset(&L, 0, sizeof L);
    L.R = R;
    L.ex = ex;
    L.fn_batch = fn[0];
    L.fn_slots = fn[1];
    L.nranks = nranks;
    L.mean_rt = -1;
    if (input_open(&L.in, &R->o) != 0)
        return EX_BADINPUT; /* checked before; a race at most */
    if (R->o.slots > 1 && ranks_init(ex, &L.rk, &L.nrk) != 0) {
        die_msg("cannot list the worker ranks");
        input_close(&L.in);
        return EX_INTERNAL;
    }
    L.maxout = (size_t)R->nworkers * 3 + 2;
    L.bs = calloc(L.maxout, sizeof *L.bs);
    L.futs = xmalloc(L.maxout * sizeof *L.futs);
    L.flags = xmalloc(L.maxout);
    for (;;) {
        stop_on_signal(&L);
        stop_on_halt(&L);
        if (L.rk)
            fill_ranks(&L);
        else
            fill(&L);
        size_t out = L.nb + (size_t)L.nbusy;
        if (out == 0 && (L.stopping || (L.eof && L.rq.n == 0)))
            break;
        if (out == 0)
            continue;
        if (collect(&L) != 0)
            break;
        drop_retries(&L);
        give_up_if_late(&L);
    }
    ranks_free(L.rk, L.nrk);
    free(L.rq.e);
    free(L.bs);
    free(L.futs);
    free(L.flags);
    input_close(&L.in);
    return summary(&L);
}
