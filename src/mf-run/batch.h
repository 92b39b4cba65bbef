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

/* Submit b (its n commands) as one task of `fn`, pinned to worker rank
 * `pin` when pin >= 0 (else kept off the rank a retry failed on): MF_OK
 * or the submit's error. */
int batch_submit(batch *b, mf_executor *ex, mf_fn_id fn, int pin);

/* Handle one finished batch; may queue retries (none when stopping). */
void batch_done(root *R, batch *b, retryq *q, int stopping);

/* One command's record r (its inline output inl) from the rank and host
 * of h: the job log, the counts, the output, or a retry (c's command is
 * then moved to q). */
void batch_record(root *R, const rhead *h, cmdent *c, const rrec *r,
                  const char *inl, retryq *q, int stopping);

/* Read a result's head into *h: a pointer to its first record, or NULL
 * (message printed) when it is too short. */
const char *batch_head(const void *data, size_t len, rhead *h);

#endif
