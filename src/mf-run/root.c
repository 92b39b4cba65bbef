/*
 * root.c — the root's preparation (see root.h): the job log to resume,
 * the first pass over the input, the workers' settings and directories,
 * then the job log and the output opened for the run.
 *
 * Design: one step per concern, in a fixed order (the job log, the
 * input, the directories, then the files opened for the run); the first
 * refusal ends the preparation, so nothing is created or written before
 * the job log and the input have been accepted. Every path the workers use
 * is made absolute here, from the root's current directory, so each
 * worker reads it the same wherever it was started.
 */
#define _GNU_SOURCE
#include "root.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "input.h"

static int check_dir_writable(const char *what, const char *dir, int create)
{
    if (create && mkdir(dir, 0777) != 0 && errno != EEXIST) {
        die_msg("%s %s: cannot create it: %s", what, dir, strerror(errno));
        return -1;
    }
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/.mf-run-probe.%ld", dir, (long)getpid());
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        die_msg("%s %s: not writable: %s", what, dir, strerror(errno));
        return -1;
    }
    close(fd);
    unlink(p);
    return 0;
}

static int abs_path(const char *p, char *out)
{
    if (!realpath(p, out))
        return -1;
    return 0;
}

/* --joblog: load it (*recs records, *keep and *exists for joblog_open);
 * a log with records needs --resume. 0 or EX_BADINPUT. */
static int load_joblog(root *R, long long *recs, off_t *keep, int *exists)
{
    const opts *o = &R->o;
    *recs = 0;
    *keep = 0;
    *exists = 0;
    if (!o->joblog)
        return 0;
    *recs = joblog_load(o->joblog, &R->lm, keep, exists);
    if (*recs < 0)
        return EX_BADINPUT;
    if (*recs > 0 && !o->resume) {
        die_msg("--joblog %s has %lld records of an earlier run: add "
                "--resume (or --resume-failed) to continue it, or "
                "remove the file",
                o->joblog, *recs);
        return EX_BADINPUT;
    }
    return 0;
}

/* The first pass (files only, not stdin): every line checked, the tasks
 * counted, and a job log of `recs` records matched against them. 0 or
 * EX_BADINPUT. */
static int first_pass(root *R, long long recs)
{
    const opts *o = &R->o;
    const char *file = o->taskfile ? o->taskfile : o->argsfile;
    if (file && strcmp(file, "-") == 0)
        return 0; /* streamed */
    uint64_t matches = 0;
    input in;
    if (input_open(&in, o) != 0)
        return EX_BADINPUT;
    int r;
    while ((r = input_next(&in)) == 1) {
        R->total++;
        if (recs > 0 &&
            lm_get(&R->lm, in.seq, digest(in.cmd, in.cmdlen)) >= 0)
            matches++;
    }
    input_close(&in);
    if (r < 0)
        return EX_BADINPUT;
    if (R->total == 0) {
        if (o->taskfile)
            die_msg("task file %s has no commands (only blank lines "
                    "or # comments, or nothing)",
                    o->taskfile);
        else
            die_msg("--args %s has no lines: nothing to run", o->argsfile);
        return EX_BADINPUT;
    }
    if (recs > 0 && matches == 0) {
        die_msg("--joblog %s is from a different task list: none of "
                "its %lld records matches a task here (same id and "
                "command); give another file",
                o->joblog, recs);
        return EX_BADINPUT;
    }
    return 0;
}

/* Where the output goes: --output DIR, else large outputs to
 * --spill-dir DIR or to .mf-run.PID in cwd (made here, removed at the
 * end). 0 or EX_BADINPUT. */
static int output_dirs(root *R, const char *cwd)
{
    const opts *o = &R->o;
    if (o->outdir) {
        if (check_dir_writable("--output", o->outdir, 1) ||
            abs_path(o->outdir, R->set.outdir))
            return EX_BADINPUT;
        R->set.outdir_mode = 1;
        return 0;
    }
    if (o->spilldir) {
        if (check_dir_writable("--spill-dir", o->spilldir, 1) ||
            abs_path(o->spilldir, R->set.spilldir))
            return EX_BADINPUT;
        return 0;
    }
    int k = snprintf(R->set.spilldir, sizeof R->set.spilldir,
                     "%s/.mf-run.%ld", cwd, (long)getpid());
    if (k < 0 || (size_t)k >= sizeof R->set.spilldir ||
        mkdir(R->set.spilldir, 0700) != 0) {
        die_msg("cannot create %s for large outputs: %s (give "
                "--spill-dir DIR or --output DIR)",
                R->set.spilldir, strerror(errno));
        return EX_BADINPUT;
    }
    R->spill_made = 1;
    return 0;
}

/* The workers' settings: limits, the working directory, the output's
 * directories. 0 or EX_BADINPUT. */
static int worker_settings(root *R)
{
    const opts *o = &R->o;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
        die_msg("cannot get the current directory: %s", strerror(errno));
        return EX_BADINPUT;
    }
    R->set.timeout = o->timeout;
    R->set.grace = o->grace;
    R->set.inline_max = INLINE_MAX;
    R->set.always_shell = (uint32_t)o->always_shell;
    R->set.slots = o->slots;
    if (o->workdir) {
        struct stat st;
        if (stat(o->workdir, &st) != 0 || !S_ISDIR(st.st_mode) ||
            abs_path(o->workdir, R->set.workdir)) {
            die_msg("--workdir %s: not a directory", o->workdir);
            return EX_BADINPUT;
        }
    } else {
        snprintf(R->set.workdir, sizeof R->set.workdir, "%s", cwd);
    }
    return output_dirs(R, cwd);
}

int root_prepare(root *R)
{
    long long recs;
    off_t keep;
    int exists;
    int status = load_joblog(R, &recs, &keep, &exists);
    if (status == 0)
        status = first_pass(R, recs);
    if (status == 0)
        status = worker_settings(R);
    if (status != 0)
        return status;
    if (R->o.joblog && joblog_open(R->o.joblog, exists, keep) != 0)
        return EX_BADINPUT;
    if (output_open(&R->out, &R->o, R->set.spilldir) != 0)
        return EX_BADINPUT;
    return 0;
}

void root_remove_spill(const root *R)
{
    if (R->spill_made)
        rmdir(R->set.spilldir);
}

void root_finish(const root *R)
{
    joblog_close();
    root_remove_spill(R);
    fflush(stdout);
}
