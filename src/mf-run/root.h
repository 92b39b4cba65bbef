/*
 * root.h — the root's state of a run (rank 0), and its preparation:
 * everything that can be refused before a task runs.
 *
 * Design: the state is one struct, filled by root_prepare (the options,
 * the workers' settings, the job log being resumed, the output) and then
 * by the run (root_loop.h: the counts the summary and the exit status
 * come from). The preparation reads a task file (not stdin) in a first
 * streaming pass, so bad input is refused before any task runs and the
 * number of tasks is known (for --halt fail=N% and the summary).
 */
#ifndef MF_RUN_ROOT_H
#define MF_RUN_ROOT_H

#include <stdint.h>

#include "cli.h"
#include "joblog.h"
#include "output.h"
#include "protocol.h"

typedef struct root {
    opts o;
    wsettings set; /* what the workers get (the initializer argument) */
    output out;
    logmap lm; /* the job log being resumed */
    int nworkers;
    uint64_t total; /* tasks known from the first pass (0: unknown) */
    uint64_t finished, failed, skipped, notrun;
    int spill_made; /* set.spilldir was made by this run */
} root;

/* After parse_opts: check the input and the job log, make the
 * directories, open the job log and the output. 0 or an exit status
 * (message printed). */
int root_prepare(root *R);

/* Remove the spill directory if this run made it (it is empty by then:
 * every spilled output was copied out and removed). */
void root_remove_spill(const root *R);

/* At the end of a run: close the job log, remove the spill directory,
 * flush stdout. */
void root_finish(const root *R);

#endif
