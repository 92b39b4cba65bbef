/*
 * set_run.h — the set run: the factorials of many integers, in chunks
 * of integers per task, collected as they complete.
 */
#ifndef MF_FACTORIAL_SET_RUN_H
#define MF_FACTORIAL_SET_RUN_H

#include <stdint.h>

#include <mpifutures.h>

#include "cli.h"

/* Run the set of `o` on `ex` (the root), printing a line per integer;
 * the totals of the summary line in *seconds, *digits, *checksum (left
 * as they are when the run cannot start). An exit status. */
int run_set(mf_executor *ex, const opts *o, mf_fn_id fn_chunk,
            double *seconds, uint64_t *digits, uint64_t *checksum);

#endif
