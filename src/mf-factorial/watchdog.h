/*
 * watchdog.h — the lost-rank watchdog: a thread that ends this process
 * at once when a rank it can see is gone (see ranks.h for why).
 *
 *  - the root watches its workers on its own node while a phase runs:
 *    a worker whose process is gone (or a zombie, or a new process under
 *    the old pid) is a lost rank: say so, and exit at once (status 3);
 *  - a worker on the root's node exits at once when the root is gone,
 *    instead of surviving the launcher's SIGTERM until its SIGKILL;
 *  - workers on other nodes cannot be checked from the root: after a
 *    SIGTERM the root says that both causes are possible.
 */
#ifndef MF_FACTORIAL_WATCHDOG_H
#define MF_FACTORIAL_WATCHDOG_H

#include <mpifutures.h>

#include "cli.h"

/* Start watching (root: `ex` of `phase`; worker: ex NULL). Nothing when
 * the ranks are unknown, or a worker's root is on another node. */
void wd_start(mf_executor *ex, int phase, const opts *o);

/* Stop the thread and wait for it (nothing if none runs). */
void wd_stop(void);

#endif
