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

typedef struct loop {
    root *R;
    mf_executor *ex;
    mf_fn_id fn_batch;
    int nranks;
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

/* Up to --slots commands into b: retries first, then the input's next
 * ones (those the job log shows finished are skipped). */
static void take_commands(loop *L, batch *b)
{
    root *R = L->R;
    const opts *o = &R->o;
    retryq *q = &L->rq;
    while (b->n < o->slots) {
        if (q->head < q->n) {
            b->c[b->n++] = q->e[q->head++];
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
        take_commands(L, b);
        if (b->n == 0) {
            free(b->c);
            b->c = NULL;
            break;
        }
        int rc = batch_submit(b, L->ex, L->fn_batch);
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

/* Wait up to 0.1 s for finished batches and take them: 0, or -1 when
 * the wait failed (message printed). */
static int collect(loop *L)
{
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
            L->nb, grace + 30);
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

int root_main(root *R, mf_executor *ex, mf_fn_id fn_batch, int nranks)
{
    loop L;
    memset(&L, 0, sizeof L);
    L.R = R;
    L.ex = ex;
    L.fn_batch = fn_batch;
    L.nranks = nranks;
    if (input_open(&L.in, &R->o) != 0)
        return EX_BADINPUT; /* checked before; a race at most */
    L.maxout = (size_t)R->nworkers * 3 + 2;
    L.bs = calloc(L.maxout, sizeof *L.bs);
    L.futs = xmalloc(L.maxout * sizeof *L.futs);
    L.flags = xmalloc(L.maxout);
    for (;;) {
        stop_on_signal(&L);
        stop_on_halt(&L);
        fill(&L);
        if (L.nb == 0 && (L.stopping || (L.eof && L.rq.n == 0)))
            break;
        if (L.nb == 0)
            continue;
        if (collect(&L) != 0)
            break;
        drop_retries(&L);
        give_up_if_late(&L);
    }
    free(L.rq.e);
    free(L.bs);
    free(L.futs);
    free(L.flags);
    input_close(&L.in);
    return summary(&L);
}
