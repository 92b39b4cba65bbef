/*
 * worker.c — the task functions of worker.h (see there): the settings,
 * the stop, and the loop that runs a batch.
 *
 * Design: the batch loop is a poll loop in the task's thread, in steps:
 * look for a stop, start waiting commands in free slots, sleep until a
 * child ends (pidfd + poll), a deadline or 20 ms (to look at the control
 * channel), then reap the ended children and kill those past their time.
 * Without pidfd_open (old kernels) it polls waitpid every millisecond.
 * A stop (a signal here, or the root's STOP) starts no new command: the
 * waiting ones end as notrun, the running ones get the grace, then the
 * kill.
 */
#define _GNU_SOURCE
#include "worker.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common.h"
#include "control.h"
#include "job.h"
#include "protocol.h"

static wsettings g_set;
static int g_stopping;   /* stop: no new command */
static double g_stop_at; /* mono time of the stop */
static double g_stop_grace;

/* Notice a signal or the root's STOP (or END) message. */
static void worker_check_stop(void)
{
    double grace;
    if (ctrl_poll(&grace) && grace >= 0 && !g_stopping) {
        g_stopping = 1;
        g_stop_at = mono_now();
        g_stop_grace = grace;
    }
    if (g_signal && !g_stopping) {
        g_stopping = 1;
        g_stop_at = mono_now();
        g_stop_grace = g_set.grace;
    }
}

static int task_init(mf_task *task, void *ud)
{
    (void)ud;
    size_t len;
    const void *a = mf_task_arg(task, &len);
    if (len != sizeof g_set)
        return mf_task_fail(task, "mf-run: bad settings (%zu bytes)", len);
    memcpy(&g_set, a, sizeof g_set);
    if (g_local) {
        /* A worker process of a run alone: the library reset its signal
         * handlers; it stops as a worker rank does (a Ctrl-C reaches the
         * whole foreground group), and its rank is its pool number. */
        g_rank = mf_task_worker(task);
        catch_signals();
    }
    return 0;
}

/* A batch being run: its commands, and which slot each one holds. */
typedef struct wbatch {
    job *jobs;
    uint32_t n, next, ndone, nrun;
    uint32_t slots; /* a batch is at most --slots commands */
    int *slot_of;
    char *slot_busy;
    struct pollfd *pf;
} wbatch;

/* The n commands of a batch argument a[0..len) into jobs[0..n) (zeroed
 * by the caller): 0, or -1 when malformed. With `copy` each job owns a
 * copy of its command (kept after the task); else it points into the
 * argument (NUL-terminated by the root). */
static int wb_read(const char *a, size_t len, uint32_t n, job *jobs, int copy)
{
    size_t off = 4;
    for (uint32_t i = 0; i < n; i++) {
        ahead h;
        if (off + sizeof h > len)
            return -1;
        memcpy(&h, a + off, sizeof h);
        off += sizeof h;
        if (off + h.len + 1 > len || a[off + h.len] != 0)
            return -1;
        jobs[i].id = h.id;
        jobs[i].attempt = h.attempt;
        jobs[i].len = h.len;
        if (copy) {
            jobs[i].cmd_own = xmalloc((size_t)h.len + 1);
            memcpy(jobs[i].cmd_own, a + off, (size_t)h.len + 1);
            jobs[i].cmd = jobs[i].cmd_own;
        } else {
            jobs[i].cmd = a + off;
        }
        jobs[i].outfd = jobs[i].errfd = jobs[i].pidfd = -1;
        off += h.len + 1;
    }
    return 0;
}

/* The batch argument (protocol.h) into b (zeroed by the caller): 0, or
 * the task's failure. */
static int wb_parse(mf_task *task, wbatch *b)
{
    size_t len;
    const char *a = mf_task_arg(task, &len);
    uint32_t n;
    if (len < 4)
        return mf_task_fail(task, "mf-run: short batch");
    memcpy(&n, a, 4);
    if (n == 0 || n > MAX_SLOTS * 4u)
        return mf_task_fail(task, "mf-run: bad batch of %u", n);
    job *jobs = calloc(n, sizeof *jobs);
    if (!jobs)
        return mf_task_fail(task, "mf-run: out of memory");
    if (wb_read(a, len, n, jobs, 0) != 0) {
        free(jobs);
        return mf_task_fail(task, "mf-run: malformed batch");
    }
    b->jobs = jobs;
    b->n = n;
    b->slots = n;
    b->slot_of = xmalloc(n * sizeof *b->slot_of);
    b->slot_busy = calloc(b->slots, 1);
    b->pf = xmalloc(n * sizeof *b->pf);
    return 0;
}

/* A stop: the commands not started yet end as notrun. */
static void wb_drop_rest(wbatch *b)
{
    for (; b->next < b->n; b->next++) {
        job *j = &b->jobs[b->next];
        j->state = 2;
        memset(&j->r, 0, sizeof j->r);
        j->r.id = j->id;
        j->r.attempt = j->attempt;
        j->r.status = ST_NOTRUN;
        b->ndone++;
    }
}

/* Start waiting commands while a slot is free. */
static void wb_fill(wbatch *b)
{
    while (b->next < b->n && b->nrun < b->slots) {
        int s = 0;
        while (b->slot_busy[s])
            s++;
        job_start(&b->jobs[b->next], s, &g_set);
        if (b->jobs[b->next].state == 2) {
            b->ndone++;
        } else {
            b->slot_busy[s] = 1;
            b->slot_of[b->next] = s;
            b->nrun++;
        }
        b->next++;
    }
}

/* Sleep until a child ends, a deadline, or 20 ms (to look at the
 * control channel). */
static void wb_sleep(wbatch *b, double now)
{
    double wake = now + 0.02;
    nfds_t np = 0;
    int polling = 1;
    for (uint32_t i = 0; i < b->next; i++) {
        const job *j = &b->jobs[i];
        if (j->state != 1)
            continue;
        if (j->pidfd >= 0) {
            b->pf[np].fd = j->pidfd;
            b->pf[np].events = POLLIN;
            b->pf[np].revents = 0;
            np++;
        } else {
            polling = 0;
        }
        if (j->deadline > 0 && j->deadline < wake)
            wake = j->deadline;
        if (j->kill_at > 0 && j->kill_at < wake)
            wake = j->kill_at;
    }
    if (g_stopping && g_stop_at + g_stop_grace < wake)
        wake = g_stop_at + g_stop_grace;
    if (!polling && wake > now + 0.001)
        wake = now + 0.001; /* no pidfd: poll waitpid every ms */
    int ms = (int)((wake - now) * 1000.0 + 0.999);
    if (ms < 0)
        ms = 0;
    poll(b->pf, np, ms);
}

/* Reap the children that ended; kill those past their deadline or the
 * stop's grace. */
static void wb_reap(wbatch *b)
{
    double now = mono_now();
    for (uint32_t i = 0; i < b->next; i++) {
        job *j = &b->jobs[i];
        if (j->state != 1)
            continue;
        int ws;
        pid_t r = waitpid(j->pid, &ws, WNOHANG);
        if (r == j->pid) {
            job_finish(j, ws, &g_set);
            b->slot_busy[b->slot_of[i]] = 0;
            b->nrun--;
            b->ndone++;
            continue;
        }
        if (j->deadline > 0 && now >= j->deadline) {
            j->timed_out = 1;
            job_kill(j, now);
        } else if (g_stopping && now >= g_stop_at + g_stop_grace) {
            j->stopped = 1;
            job_kill(j, now);
        }
    }
}

/* The result: a header, then each record and its inline output; with
 * `only_done`, of the ended commands only. 0, or the task's failure. */
static int wb_result(mf_task *task, const wbatch *b, int only_done)
{
    size_t total = sizeof(rhead);
    uint32_t nrec = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        if (only_done && b->jobs[i].state != 2)
            continue;
        total += sizeof(rrec) + b->jobs[i].r.inl_out + b->jobs[i].r.inl_err;
        nrec++;
    }
    void *buf;
    int rc = mf_task_result_buffer(task, total, &buf);
    if (rc != MF_OK)
        return mf_task_fail(task, "mf-run: result of %zu bytes: %s", total,
                            mf_strerror(rc));
    char *p = buf;
    rhead h;
    memset(&h, 0, sizeof h);
    h.rank = g_rank;
    h.n = nrec;
    snprintf(h.host, sizeof h.host, "%s", g_host);
    memcpy(p, &h, sizeof h);
    p += sizeof h;
    for (uint32_t i = 0; i < b->n; i++) {
        const job *j = &b->jobs[i];
        if (only_done && j->state != 2)
            continue;
        memcpy(p, &j->r, sizeof(rrec));
        p += sizeof(rrec);
        size_t k = (size_t)j->r.inl_out + j->r.inl_err;
        if (k)
            memcpy(p, j->inl, k);
        p += k;
    }
    return 0;
}

static void wb_free(wbatch *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        free(b->jobs[i].inl);
    free(b->jobs);
    free(b->slot_of);
    free(b->slot_busy);
    free(b->pf);
}

static int task_batch(mf_task *task, void *ud)
{
    (void)ud;
    wbatch b;
    memset(&b, 0, sizeof b);
    int rc = wb_parse(task, &b);
    if (rc != 0)
        return rc;
    while (b.ndone < b.n) {
        worker_check_stop();
        double now = mono_now();
        if (g_stopping)
            wb_drop_rest(&b);
        wb_fill(&b);
        if (b.nrun == 0)
            continue;
        wb_sleep(&b, now);
        wb_reap(&b);
    }
    rc = wb_result(task, &b, 0);
    wb_free(&b);
    return rc;
}

/* ---- --slots N > 1: the rank's commands outlive the task -------------
 *
 * The root pins each task to one rank (mf_submit_opts.pin) and keeps at
 * most one out per rank. A task adds its commands (possibly none) to the
 * rank's set, starts what fits in free slots, and returns as soon as one
 * or more commands have ended, with their records; the others run on,
 * and the rank's next task (the root sends one while the rank holds
 * commands) takes them. So a slot that frees is refilled at once, never
 * held by a slower neighbour. */
static wbatch g_carry; /* slots = g_set.slots; jobs in start order */

/* Append the task's commands to g_carry: 0, or the task's failure. */
static int wc_append(mf_task *task, wbatch *b)
{
    size_t len;
    const char *a = mf_task_arg(task, &len);
    uint32_t n;
    if (len < 4)
        return mf_task_fail(task, "mf-run: short batch");
    memcpy(&n, a, 4);
    if (n > MAX_SLOTS * 4u || b->n + n > MAX_SLOTS * 8u)
        return mf_task_fail(task, "mf-run: bad batch of %u", n);
    if (!b->slot_busy) {
        b->slots = g_set.slots ? g_set.slots : 1;
        b->slot_busy = xmalloc(b->slots);
        memset(b->slot_busy, 0, b->slots);
    }
    if (n == 0)
        return 0;
    uint32_t m = b->n + n;
    b->jobs = xrealloc(b->jobs, m * sizeof *b->jobs);
    b->slot_of = xrealloc(b->slot_of, m * sizeof *b->slot_of);
    b->pf = xrealloc(b->pf, m * sizeof *b->pf);
    memset(b->jobs + b->n, 0, n * sizeof *b->jobs);
    if (wb_read(a, len, n, b->jobs + b->n, 1) != 0) {
        for (uint32_t i = b->n; i < m; i++)
            free(b->jobs[i].cmd_own);
        return mf_task_fail(task, "mf-run: malformed batch");
    }
    b->n = m;
    return 0;
}

/* Drop the ended commands (their records were sent), keeping the order
 * of the others. */
static void wc_compact(wbatch *b)
{
    uint32_t k = 0, next = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        job *j = &b->jobs[i];
        if (j->state == 2) {
            free(j->inl);
            free(j->cmd_own);
            continue;
        }
        if (i < b->next)
            next++;
        b->jobs[k] = *j;
        b->slot_of[k] = b->slot_of[i];
        k++;
    }
    b->n = k;
    b->next = next;
    b->ndone = 0;
}

static int task_slots(mf_task *task, void *ud)
{
    (void)ud;
    wbatch *b = &g_carry;
    int rc = wc_append(task, b);
    if (rc != 0)
        return rc;
    for (;;) {
        worker_check_stop();
        double now = mono_now();
        if (g_stopping)
            wb_drop_rest(b);
        wb_fill(b);
        if (b->ndone > 0 || b->nrun == 0)
            break;
        wb_sleep(b, now);
        wb_reap(b);
    }
    rc = wb_result(task, b, 1);
    wc_compact(b);
    return rc;
}

void worker_register(mf_fn_id *fn_batch, mf_fn_id *fn_slots,
                     mf_fn_id *fn_init)
{
    mf_register("mf-run.batch", task_batch, NULL, fn_batch);
    mf_register("mf-run.slots", task_slots, NULL, fn_slots);
    mf_register("mf-run.init", task_init, NULL, fn_init);
}
