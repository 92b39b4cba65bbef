/*
 * observe.h — statistics, the progress line and the trace of an executor
 * (observe.c). It sees its executor only through an mf_obs_view, so it
 * depends on nothing but the registry.
 */
#ifndef MF_OBSERVE_H
#define MF_OBSERVE_H

#include "mpifutures.h"
#include "registry.h"

#include <stddef.h>
#include <stdint.h>

enum { MF_EV_TASK = 0, MF_EV_DISPATCH = 1, MF_EV_WAIT = 2 };
typedef struct mf_trace_ev {
    uint64_t ts_ns, dur_ns; /* root clock */
    int tid;                /* rank */
    uint32_t kind;
    mf_fn_id fn;
    uint64_t tag;
    uint8_t ok;
} mf_trace_ev;
typedef struct mf_obs_worker {
    uint64_t tasks, failures, bytes_in, bytes_out, busy_ns, max_ns;
} mf_obs_worker;
/* What observation needs of its executor, borrowed for its lifetime. */
typedef struct mf_obs_view {
    int size, root, nworkers;
    char *const *hosts;           /* per rank */
    const mf_reg_snap *reg;       /* function names for the trace */
    const mf_executor_opts *opts; /* stats, progress, interval */
    const size_t *held_items;     /* items the executor still holds */
} mf_obs_view;

typedef struct mf_obs {
    mf_obs_view v;
    uint64_t t_open_ns;
    mf_obs_worker *w; /* per rank */
    int64_t *offset;  /* per rank: root clock minus that rank's clock */
    char *trace_path;
    mf_trace_ev *ev;
    size_t nev, capev, trace_lost;
    uint64_t submitted, done, failed;
    int tty, printed;
    double last_print;
} mf_obs;

/* Start observing (root, at open): MF_OK or MF_ENOMEM. offsets: per
 * rank, root clock minus that rank's clock. */
int mf__obs_init(mf_obs *o, const mf_obs_view *v, const int64_t *offsets);
/* One result from rank src: a task (or chunk of nitems items) of fn. */
void mf__obs_result(mf_obs *o, int src, mf_fn_id fn, uint64_t tag,
                    uint32_t nitems, uint64_t start, uint64_t ns,
                    size_t bytes, uint32_t failed);
/* A phase of the root (MF_EV_DISPATCH, MF_EV_WAIT) for the trace. */
void mf__obs_phase(mf_obs *o, int kind, uint64_t t0, uint64_t t1);
/* The progress line, when due. */
void mf__obs_tick(mf_obs *o);
/* Per-worker statistics into out[0..n-1]; returns how many. */
int mf__obs_stats(const mf_obs *o, mf_worker_stats *out, size_t n);
/* At close: the last progress line, the statistics, the trace file. */
void mf__obs_close(mf_obs *o);
void mf__obs_free(mf_obs *o);

#endif
