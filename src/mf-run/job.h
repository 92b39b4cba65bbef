/*
 * job.h — one command on a worker: its start, its end, its kill, and the
 * record (with its output) that goes back to the root.
 *
 * Each command is started with posix_spawn (vfork-like: the MPI process
 * is not copied) as `/bin/sh -c CMD` (or directly, direct.h) in a new
 * process group, stdin /dev/null, its stdout/stderr going to two
 * unlinked temporary files on the worker (or to DIR/<id>.out/.err with
 * --output). The worker waits for the main child only; when it has
 * ended, its process group is killed (SIGKILL), so no process outlives
 * its task.
 *
 * Design: no pipes, so a background child that keeps the output open
 * never wedges a slot, and the output's size is known at the end
 * (fstat): up to inline_max per stream travels in the batch's result, a
 * larger one is copied in CHUNK pieces to the spill directory (a shared
 * file system, as on clusters) for the root to stream out, so the worker
 * never holds more than a chunk of it.
 */
#ifndef MF_RUN_JOB_H
#define MF_RUN_JOB_H

#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"

typedef struct job {
    const char *cmd;
    char *cmd_own; /* cmd's own copy (kept between tasks), or NULL */
    uint64_t id;
    uint32_t attempt, len;
    pid_t pid;
    int pidfd, outfd, errfd;
    int state; /* 0 waiting, 1 running, 2 done */
    int timed_out, stopped;
    double t0, deadline, kill_at;
    rrec r;
    char *inl; /* inline output: r.inl_out then r.inl_err bytes */
} job;

/* Start j in `slot`: state 1 (running; pidfd, or -1 if the kernel has no
 * pidfd_open), or 2 when it could not start (a failed command, exit
 * status 127, the reason as its stderr). */
void job_start(job *j, int slot, const wsettings *set);

/* j's main child ended with `wstatus`: kill its group, set its record's
 * status and take its output. State 2. */
void job_finish(job *j, int wstatus, const wsettings *set);

/* Stop j (a timeout, a stop): SIGTERM to its group, SIGKILL 1 s later;
 * call again until it has ended. */
void job_kill(job *j, double now);

#endif
