/*
 * batch.h — a batch of commands on the root's side: its commands, its
 * submission as one library task (mf-run.batch, protocol.h), and the
 * reading of its result: the job log, the retries, the output, the
 * counts.
 *
 * Design: a command a batch holds is a copy (cmdent), owned by the batch
 * until the batch is freed, or moved to the retry queue when it failed
 * and has attempts left; a retry goes out again in a later batch, before
 * any new command. A batch that failed as a whole (a lost worker, a
 * cancel at a stop) counts its commands as not run: a resume runs them.
 */
#ifndef MF_RUN_BATCH_H
#define MF_RUN_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <mpifutures.h>

#include "root.h"

typedef struct cmdent {
    uint64_t id;
    uint32_t attempt;
    int avoid; /* a retry: 1 + the rank its last attempt failed on */
    size_t len;
    char *cmd;
} cmdent;

typedef struct batch {
    mf_future fut;
    uint32_t n;
    cmdent *c;
} batch;

/* The commands to run again: e[head..n) wait; reset to empty once all
 * were taken. */
typedef struct retryq {
    cmdent *e;
    size_t n, cap, head;
} retryq;

void batch_free(batch *b);

/* Submit b (its n commands) as one task of fn_batch: MF_OK or the
 * submit's error. */
int batch_submit(batch *b, mf_executor *ex, mf_fn_id fn_batch);

/* Handle one finished batch; may queue retries (none when stopping). */
void batch_done(root *R, batch *b, retryq *q, int stopping);

#endif
