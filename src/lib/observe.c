/* observe.c — seeing the work: per-worker statistics, a progress line and
 * a Chrome trace-event timeline (opts.stats, opts.progress,
 * opts.trace_path and their MF_* variables).
 *
 * Everything is measured on the root from what it already receives: each
 * result carries its task's start (worker clock) and duration, and the
 * open handshake gives each rank's clock offset. So observing costs no
 * messages, and with tracing off only a few additions per result.
 */
#include "observe.h"

#include "alloc.h"
#include "clock.h"
#include "registry.h"

#include "observe.h"

#include "alloc.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int mf__obs_init(mf_obs *o, const mf_obs_view *v, const int64_t *offsets)
{
    memset(o, 0, sizeof *o);
    o->v = *v;
    o->t_open_ns = mf__mono_ns();
    o->w = mf__calloc((size_t)o->v.size, sizeof *o->w);
    o->offset = mf__calloc((size_t)o->v.size, sizeof *o->offset);
    if (!o->w || !o->offset)
        return MF_ENOMEM;
    memcpy(o->offset, offsets, (size_t)o->v.size * sizeof *o->offset);
    if (o->v.opts->trace_path) {
        o->trace_path = mf__strdup(o->v.opts->trace_path);
        if (!o->trace_path)
            return MF_ENOMEM;
    }
    o->tty = isatty(2);
    o->last_print = mf__now();
    return MF_OK;
}

static void mf_trace_push(mf_obs *o, mf_trace_ev ev)
{
    if (o->nev == o->capev) {
        size_t cap = o->capev ? 2 * o->capev : 4096;
        mf_trace_ev *n = mf__realloc(o->ev, cap * sizeof *n);
        if (!n) {
            o->trace_lost++;
            return;
        }
        o->ev = n;
        o->capev = cap;
    }
    o->ev[o->nev++] = ev;
}

void mf__obs_result(mf_obs *o, int src, mf_fn_id fn, uint64_t tag,
                    uint32_t nitems, uint64_t start, uint64_t ns,
                    size_t bytes, uint32_t failed)
{
    mf_obs_worker *w = &o->w[src];
    uint64_t items = nitems ? nitems : 1;
    w->tasks += items;
    w->failures += failed;
    w->bytes_out += bytes;
    w->busy_ns += ns;
    if (ns > w->max_ns)
        w->max_ns = ns;
    o->done += items;
    o->failed += failed;
    if (o->trace_path) {
        int64_t t = (int64_t)start + o->offset[src];
        mf_trace_ev ev = {
            t > 0 ? (uint64_t)t : 0, ns, src, MF_EV_TASK, fn, tag, !failed};
        mf_trace_push(o, ev);
    }
}

void mf__obs_phase(mf_obs *o, int kind, uint64_t t0, uint64_t t1)
{
    if (o->trace_path && t1 > t0) {
        mf_trace_ev ev = {t0, t1 - t0, o->v.root, kind, 0, 0, 1};
        mf_trace_push(o, ev);
    }
}

static void mf_fmt_eta(char *b, size_t n, double s)
{
    if (s < 0 || s > 360000) {
        snprintf(b, n, "?");
        return;
    }
    unsigned long t = (unsigned long)(s + 0.5);
    if (t >= 3600)
        snprintf(b, n, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(b, n, "%lu:%02lu", t / 60, t % 60);
}

static void mf_progress_line(mf_obs *o, int final)
{
    double el = (double)(mf__mono_ns() - o->t_open_ns) * 1e-9;
    /* Done = submitted minus what the executor still holds, so cancelled
     * futures count as done (they will never run). */
    uint64_t total = o->submitted;
    uint64_t done = total > *o->v.held_items ? total - *o->v.held_items : 0;
    double rate = el > 0 ? (double)done / el : 0;
    char eta[32];
    mf_fmt_eta(eta, sizeof eta,
               rate > 0 ? (double)(total - done) / rate : -1);
    fprintf(stderr,
            "%smpifutures: %llu/%llu done, %llu failed, %.0f/s, "
            "ETA %s%s",
            o->tty ? "\r" : "", (unsigned long long)done,
            (unsigned long long)total, (unsigned long long)o->failed, rate,
            final ? "0:00" : eta,
            o->tty ? (final ? "\033[K\n" : "\033[K") : "\n");
    fflush(stderr);
}

void mf__obs_tick(mf_obs *o)
{
    if (!o->v.opts->progress)
        return;
    double now = mf__now();
    double every = o->tty ? 0.2 : (double)o->v.opts->progress_interval;
    if (now - o->last_print < every)
        return;
    o->last_print = now;
    o->printed = 1;
    mf_progress_line(o, 0);
}

int mf__obs_stats(const mf_obs *o, mf_worker_stats *out, size_t n)
{
    double open_s = (double)(mf__mono_ns() - o->t_open_ns) * 1e-9;
    size_t k = 0;
    for (int r = 0; r < o->v.size && k < n; r++) {
        if (r == o->v.root)
            continue;
        const mf_obs_worker *w = &o->w[r];
        mf_worker_stats *s = &out[k++];
        s->rank = r;
        s->host = o->v.hosts[r];
        s->tasks = w->tasks;
        s->failures = w->failures;
        s->bytes_in = w->bytes_in;
        s->bytes_out = w->bytes_out;
        s->busy_seconds = (double)w->busy_ns * 1e-9;
        s->busy_share = open_s > 0 ? s->busy_seconds / open_s : 0;
        s->mean_task_seconds =
            w->tasks ? s->busy_seconds / (double)w->tasks : 0;
        s->max_task_seconds = (double)w->max_ns * 1e-9;
    }
    return (int)k;
}

static void mf_print_stats(mf_obs *o)
{
    mf_worker_stats *s = mf__calloc((size_t)o->v.nworkers, sizeof *s);
    if (!s)
        return;
    int n = mf__obs_stats(o, s, (size_t)o->v.nworkers);
    double open_s = (double)(mf__mono_ns() - o->t_open_ns) * 1e-9;
    fprintf(stderr,
            "mpifutures: per-worker statistics (executor open %.3f s)\n"
            "  %5s %-16s %10s %8s %6s %10s %10s %9s %9s\n",
            open_s, "rank", "host", "tasks", "failed", "busy", "mean ms",
            "max ms", "MB in", "MB out");
    for (int i = 0; i < n; i++)
        fprintf(stderr,
                "  %5d %-16.16s %10llu %8llu %5.1f%% %10.3f %10.3f %9.2f "
                "%9.2f\n",
                s[i].rank, s[i].host, (unsigned long long)s[i].tasks,
                (unsigned long long)s[i].failures, s[i].busy_share * 100,
                s[i].mean_task_seconds * 1e3, s[i].max_task_seconds * 1e3,
                (double)s[i].bytes_in / 1e6, (double)s[i].bytes_out / 1e6);
    mf__free(s);
}

/* JSON string contents: escape what JSON requires. */
static void mf_json_str(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
}

/* Executors of this process that wrote a trace: the first writes the
 * path given, the next ones PATH.2, PATH.3, ... so none overwrites an
 * earlier one (mf-factorial, for one, opens two executors). */
static unsigned mf_traces_written;

static int mf_write_trace(mf_obs *o)
{
    char path[4096];
    if (mf_traces_written++ == 0)
        snprintf(path, sizeof path, "%s", o->trace_path);
    else
        snprintf(path, sizeof path, "%s.%u", o->trace_path,
                 mf_traces_written);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "mpifutures: cannot write trace file %s\n", path);
        return MF_EINVAL;
    }
    fprintf(f,
            "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"library\":"
            "\"mpifutures %s\",\"ranks\":%d,\"root\":%d,\"lost_events\":"
            "%zu},\"traceEvents\":[\n",
            mf_version(), o->v.size, o->v.root, o->trace_lost);
    fprintf(f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"tid\":0,"
               "\"args\":{\"name\":\"mpifutures executor\"}}");
    for (int r = 0; r < o->v.size; r++) {
        fprintf(f,
                ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,"
                "\"tid\":%d,\"args\":{\"name\":\"rank %d%s (",
                r, r, r == o->v.root ? " root" : "");
        mf_json_str(f, o->v.hosts[r]);
        fprintf(f, ")\"}}");
        fprintf(f,
                ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\","
                "\"pid\":0,\"tid\":%d,\"args\":{\"sort_index\":%d}}",
                r, r);
    }
    for (size_t i = 0; i < o->nev; i++) {
        const mf_trace_ev *e = &o->ev[i];
        double ts = ((double)e->ts_ns - (double)o->t_open_ns) / 1e3;
        double dur = (double)e->dur_ns / 1e3;
        if (e->kind == MF_EV_TASK) {
            const mf_reg_entry *re = mf__snap_find(o->v.reg, e->fn);
            fprintf(f, ",\n{\"name\":\"");
            mf_json_str(f, re ? re->name : "?");
            fprintf(f,
                    "\",\"cat\":\"task\",\"ph\":\"X\",\"pid\":0,"
                    "\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,\"args\":{"
                    "\"id\":\"%016llx\",\"function\":\"%016llx\","
                    "\"status\":\"%s\"}}",
                    e->tid, ts, dur, (unsigned long long)e->tag,
                    (unsigned long long)e->fn, e->ok ? "ok" : "failed");
        } else {
            fprintf(f,
                    ",\n{\"name\":\"%s\",\"cat\":\"root\",\"ph\":\"X\","
                    "\"pid\":0,\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f}",
                    e->kind == MF_EV_DISPATCH ? "dispatch" : "wait", e->tid,
                    ts, dur);
        }
    }
    fprintf(f, "\n]}\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "mpifutures: error writing trace file %s\n", path);
        return MF_EINVAL;
    }
    return MF_OK;
}

void mf__obs_close(mf_obs *o)
{
    if (o->v.opts->progress && (o->printed || o->done))
        mf_progress_line(o, 1);
    if (o->v.opts->stats)
        mf_print_stats(o);
    if (o->trace_path)
        mf_write_trace(o);
}

void mf__obs_free(mf_obs *o)
{
    mf__free(o->w);
    mf__free(o->offset);
    mf__free(o->trace_path);
    mf__free(o->ev);
    memset(o, 0, sizeof *o);
}
