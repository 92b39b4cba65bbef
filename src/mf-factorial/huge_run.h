/*
 * huge_run.h — the huge run: one huge N! split over all workers.
 */
#ifndef MF_FACTORIAL_HUGE_RUN_H
#define MF_FACTORIAL_HUGE_RUN_H

#include <mpifutures.h>

#include "cli.h"

/* Compute o->huge! on the workers of `ex` (the root) and print its
 * "huge:" line (and check, print or write it as `o` says). An exit
 * status. */
int run_huge(mf_executor *ex, const opts *o, mf_fn_id fn_part,
             mf_fn_id fn_mul);

#endif
