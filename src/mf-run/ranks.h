/*
 * ranks.h — the root's side of `--slots N` with N > 1: what each worker
 * rank holds, and the one task out per rank (worker.h mf-run.slots).
 *
 * Design: a rank's commands outlive the task that carried them, so the
 * root keeps, per rank, every command sent there and not yet reported
 * (held), and which of them went with the task now out (sent_from). A
 * task's result may report any of the rank's commands; each record is
 * matched by id and attempt. A task cancelled before it started took its
 * own commands nowhere: they count as not run, the rank's others run on.
 * A task that failed (a lost worker) leaves all of the rank's commands
 * not run: a resume runs them.
 */
#ifndef MF_RUN_RANKS_H
#define MF_RUN_RANKS_H

#include <stddef.h>

#include <mpifutures.h>

#include "batch.h"
#include "root.h"

typedef struct rankst {
    int rank;
    int busy; /* a task is out */
    mf_future fut;
    cmdent *held; /* sent there, not reported yet */
    size_t nheld, cap;
    size_t sent_from; /* held[sent_from..nheld) went with the task out */
} rankst;

/* The worker ranks of ex into *out (n of them; freed with ranks_free). */
int ranks_init(mf_executor *ex, rankst **out, int *n);
void ranks_free(rankst *rk, int n);

/* Send b's commands (moved into rs->held; b->c freed) to rs's rank as
 * one mf-run.slots task: MF_OK, or the submit's error (b's commands and
 * those the rank held are then counted as not run). */
int ranks_submit(root *R, rankst *rs, batch *b, mf_executor *ex, mf_fn_id fn);

/* rs's task ended: take its records (or count what it lost as not run),
 * note the commands' run times in *mean_rt (a moving mean; < 0: none
 * yet). Retries go to q unless stopping. */
void ranks_done(root *R, rankst *rs, retryq *q, int stopping,
                double *mean_rt);

#endif
