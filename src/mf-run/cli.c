/*
 * cli.c — mf-run's command line (see cli.h): the options, the operands
 * (TASKFILE, or CMD ... [::: V...]), the help text, and the checks of
 * the way mf-run was started.
 *
 * Design: parsing is a plain loop over argv up to the first operand (or
 * `--`); each option is handled by the small function of its kind (a
 * flag, a count, a time, a name), so the loop reads as the order of the
 * checks. Every error is a message and EX_BADINPUT, returned at once:
 * nothing runs on a bad command line. Options take their value as the
 * next word or after '=' (--slots=4).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "protocol.h"

static const char *const help_text =
    "usage: mpirun -n N mf-run [OPTIONS] TASKFILE|-\n"
    "       mpirun -n N mf-run [OPTIONS] [--] CMD [ARG...] ::: V1 V2 ...\n"
    "       mpirun -n N mf-run [OPTIONS] --args FILE [--] CMD [ARG...]\n"
    "       mf-run [-j N] [OPTIONS] ...   (alone: one machine)\n"
    "\n"
    "Runs shell commands on the worker ranks (rank 0 dispatches; ask for "
    "one\nrank more than the workers). Also under srun, and in Slurm/PBS "
    "jobs\n(jobs/slurm/run.sbatch, jobs/pbs/run.pbs). Started alone "
    "(no launcher,\nor one rank), it runs N worker processes on this "
    "machine instead.\n"
    "\n"
    "Inputs:\n"
    "  TASKFILE, -      one command per line (- : stdin); blank lines and\n"
    "                   lines starting with # (after blanks) are skipped;\n"
    "                   read as dispatched. Task ids count the commands\n"
    "                   from 1. A line is taken as is: no substitution.\n"
    "  CMD ::: V...     one task per value V; {} in CMD is replaced by V,\n"
    "                   {#} by the task id; without {}, V is appended.\n"
    "  --args FILE      the values are the lines of FILE (- : stdin).\n"
    "  Quoting: the words of CMD are joined with single spaces as they\n"
    "  are, so shell syntax given as a word ('|', '>' , 'a && b') keeps\n"
    "  its meaning; a value is inserted shell-quoted: unchanged if it is\n"
    "  made only of letters, digits and _-./,:=+@%^ (and not empty), else\n"
    "  in single quotes, each ' written as '\\''. A command (after\n"
    "  substitution) may have at most 131071 bytes (Linux's limit on one\n"
    "  argument of sh -c).\n"
    "\n"
    "Running:\n"
    "  --slots N        commands at once per worker rank (default 1)\n"
    "  -j N, --jobs N   alone (no launcher): N worker processes (default:\n"
    "                   the CPUs mf-run may use; MF_WORKERS also sets it);\n"
    "                   refused under mpirun/srun, where the ranks decide\n"
    "  --workdir DIR    directory the commands run in (default: the\n"
    "                   directory mf-run was started in)\n"
    "  --timeout S      kill a command's process group after S seconds\n"
    "                   (SIGTERM, SIGKILL 1 s later); status timeout\n"
    "  --retries N      run a failed command up to N more times (on\n"
    "                   another rank when there is one)\n"
    "  --halt H         never (default) | soon,fail=N | now,fail=N, N a\n"
    "                   count or a percentage (fail=10%) of the tasks:\n"
    "                   soon stops starting tasks, now also kills the\n"
    "                   running ones\n"
    "  --grace S        after SIGUSR1/SIGTERM/SIGINT, running commands\n"
    "                   get S seconds (default 10) before the kill\n"
    "  Each command runs as /bin/sh -c CMD in its own process group,\n"
    "  stdin /dev/null, with MF_TASK_ID, MF_TASK_ATTEMPT, MF_TASK_RANK,\n"
    "  MF_TASK_HOST and MF_TASK_SLOT set. When it exits, whatever it left\n"
    "  running in its process group is killed. A command of plain words\n"
    "  (letters, digits, _-./,:=+@%^ and spaces) whose first word is a\n"
    "  program on PATH (not a shell builtin) is started directly, without\n"
    "  the shell: the same result, about 1 ms less per command.\n"
    "  --always-shell   always go through /bin/sh -c\n"
    "\n"
    "Output:\n"
    "  (default)        each task's stdout, then stderr, reach mf-run's\n"
    "                   stdout/stderr whole, in completion order\n"
    "  --tag            prefix each output line with the task id and a tab\n"
    "  --keep-order     print in task id order\n"
    "  --output DIR     write DIR/<id>.out and DIR/<id>.err instead (on\n"
    "                   the workers: DIR must be on a shared file system)\n"
    "  --spill-dir DIR  where a worker puts an output stream above 256 KiB\n"
    "                   for the root to copy out (default: .mf-run.PID in\n"
    "                   the submit directory; shared file system)\n"
    "\n"
    "Job log:\n"
    "  --joblog FILE    one tab-separated line per finished attempt:\n"
    "                   Seq Attempt Rank Host Starttime JobRuntime Exitval\n"
    "                   Signal Bytes Status Digest Command (see README)\n"
    "  --resume         skip tasks the log shows finished (ok or failed\n"
    "                   for good) with the same command text\n"
    "  --resume-failed  skip only the tasks that succeeded\n"
    "  An existing log with records is refused without --resume or\n"
    "  --resume-failed, and with them if no record matches the tasks.\n"
    "\n"
    "Exit status: 0 every task succeeded; 1-100 that many tasks failed\n"
    "(100: 100 or more); 5 interrupted by SIGUSR1/SIGTERM/SIGINT (run\n"
    "again with --resume); 2 bad input or options, before any task runs;\n"
    "255 internal error.\n"
    "The message on stderr and the job log tell 2 and 5 from failures.\n"
    "Environment: MF_PROGRESS, MF_STATS, MF_TRACE, MF_WINDOW work as for\n"
    "any executor; MF_SIGNALS, MF_ISOLATE, MF_TASK_TIMEOUT and MF_JOURNAL\n"
    "are ignored (mf-run handles signals, timeouts and resume itself).\n";

static int parse_seconds(const char *s, double *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v > 0) || v > 49.0 * 86400)
        return -1;
    *out = v;
    return 0;
}

static int need_arg(int argc, char **argv, int *i, const char *opt,
                    const char **val)
{
    size_t n = strlen(opt);
    if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (strcmp(argv[*i], opt) != 0)
        return 0;
    if (*i + 1 >= argc) {
        die_msg("option %s needs a value (try --help)", opt);
        exit(EX_BADINPUT);
    }
    *val = argv[++*i];
    return 1;
}

static int parse_halt(const char *s, opts *o)
{
    if (strcmp(s, "never") == 0) {
        o->halt = 0;
        return 0;
    }
    const char *rest;
    if (strncmp(s, "soon,fail=", 10) == 0) {
        o->halt = 1;
        rest = s + 10;
    } else if (strncmp(s, "now,fail=", 9) == 0) {
        o->halt = 2;
        rest = s + 9;
    } else {
        return -1;
    }
    char buf[32];
    size_t n = strlen(rest);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, rest, n + 1);
    if (buf[n - 1] == '%') {
        buf[n - 1] = 0;
        o->halt_pct = 1;
        char *end;
        errno = 0;
        double v = strtod(buf, &end);
        if (errno || *end || !(v > 0) || v > 100 || buf[0] == '-')
            return -1;
        o->halt_fail = v;
        return 0;
    }
    unsigned long long v;
    if (parse_uint(buf, 1000000000ull, &v) || v == 0)
        return -1;
    o->halt_fail = (double)v;
    return 0;
}

/* --tag, --keep-order, --always-shell, --resume, --resume-failed: 1 if
 * `a` is one of them. */
static int parse_flag(const char *a, opts *o)
{
    if (strcmp(a, "--tag") == 0)
        o->tag = 1;
    else if (strcmp(a, "--keep-order") == 0)
        o->keep_order = 1;
    else if (strcmp(a, "--always-shell") == 0)
        o->always_shell = 1;
    else if (strcmp(a, "--resume") == 0)
        o->resume = 1;
    else if (strcmp(a, "--resume-failed") == 0)
        o->resume = o->resume_failed = 1;
    else
        return 0;
    return 1;
}

/* --jobs/-j, --slots, --retries: 1 if argv[*i] is one of them (*status:
 * 0, or EX_BADINPUT for a bad value), else 0. */
static int parse_count(int argc, char **argv, int *i, opts *o, int *status)
{
    const char *v;
    unsigned long long u;
    *status = 0;
    if (need_arg(argc, argv, i, "--jobs", &v) ||
        need_arg(argc, argv, i, "-j", &v)) {
        if (parse_uint(v, 4096, &u) || u == 0) {
            die_msg("--jobs: '%s' is not a whole number from 1 to 4096", v);
            *status = EX_BADINPUT;
            return 1;
        }
        o->jobs = (unsigned)u;
    } else if (need_arg(argc, argv, i, "--slots", &v)) {
        if (parse_uint(v, MAX_SLOTS, &u) || u == 0) {
            die_msg("--slots: '%s' is not a whole number from 1 to %d", v,
                    MAX_SLOTS);
            *status = EX_BADINPUT;
            return 1;
        }
        o->slots = (unsigned)u;
    } else if (need_arg(argc, argv, i, "--retries", &v)) {
        if (parse_uint(v, 1000, &u)) {
            die_msg("--retries: '%s' is not a whole number from 0 to "
                    "1000",
                    v);
            *status = EX_BADINPUT;
            return 1;
        }
        o->retries = (unsigned)u;
    } else {
        return 0;
    }
    return 1;
}

/* --timeout, --grace, --halt: as parse_count. */
static int parse_time(int argc, char **argv, int *i, opts *o, int *status)
{
    const char *v;
    *status = 0;
    if (need_arg(argc, argv, i, "--timeout", &v)) {
        if (parse_seconds(v, &o->timeout)) {
            die_msg("--timeout: '%s' is not a positive number of "
                    "seconds",
                    v);
            *status = EX_BADINPUT;
        }
    } else if (need_arg(argc, argv, i, "--grace", &v)) {
        if (strcmp(v, "0") == 0) {
            o->grace = 0;
        } else if (parse_seconds(v, &o->grace)) {
            die_msg("--grace: '%s' is not a number of seconds", v);
            *status = EX_BADINPUT;
        }
    } else if (need_arg(argc, argv, i, "--halt", &v)) {
        if (parse_halt(v, o)) {
            die_msg("--halt: '%s' is not never, soon,fail=N or "
                    "now,fail=N (N > 0, or a percentage N%%)",
                    v);
            *status = EX_BADINPUT;
        }
    } else {
        return 0;
    }
    return 1;
}

/* The option at argv[*i] (its value may move *i on): 0 taken, -1 help
 * or version printed, or EX_BADINPUT. */
static int parse_option(int argc, char **argv, int *i, opts *o)
{
    const char *a = argv[*i];
    int status;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
        fputs(help_text, stdout);
        return -1;
    }
    if (strcmp(a, "--version") == 0) {
        printf("mf-run (mpifutures %s)\n", mf_version());
        return -1;
    }
    if (parse_flag(a, o))
        return 0;
    if (parse_count(argc, argv, i, o, &status) ||
        parse_time(argc, argv, i, o, &status))
        return status;
    if (need_arg(argc, argv, i, "--output", &o->outdir) ||
        need_arg(argc, argv, i, "--joblog", &o->joblog) ||
        need_arg(argc, argv, i, "--workdir", &o->workdir) ||
        need_arg(argc, argv, i, "--spill-dir", &o->spilldir) ||
        need_arg(argc, argv, i, "--args", &o->argsfile))
        return 0;
    die_msg("unknown option '%s' (try --help)", a);
    return EX_BADINPUT;
}

/* The operands from argv[i] on: TASKFILE, or CMD ... [::: V...]. 0, or
 * EX_BADINPUT. */
static int parse_operands(int argc, char **argv, int i, opts *o)
{
    int colons = -1;
    for (int k = i; k < argc; k++)
        if (strcmp(argv[k], ":::") == 0) {
            colons = k;
            break;
        }
    if (colons >= 0) {
        o->have_colons = 1;
        o->tmpl = argv + i;
        o->ntmpl = colons - i;
        o->vals = argv + colons + 1;
        o->nvals = argc - colons - 1;
        if (o->argsfile) {
            die_msg("give the values with ::: or with --args, not both");
            return EX_BADINPUT;
        }
        if (o->nvals == 0) {
            die_msg("::: is followed by no values: nothing to run");
            return EX_BADINPUT;
        }
        if (o->ntmpl == 0) {
            die_msg("no command before :::");
            return EX_BADINPUT;
        }
    } else if (o->argsfile) {
        o->tmpl = argv + i;
        o->ntmpl = argc - i;
        if (o->ntmpl == 0) {
            die_msg("--args needs a command to run with each line");
            return EX_BADINPUT;
        }
    } else {
        if (argc - i == 0) {
            die_msg("no task file and no command (try --help)");
            return EX_BADINPUT;
        }
        if (argc - i > 1) {
            die_msg("one task file expected, got %d arguments (a command "
                    "needs ::: VALUES or --args FILE)",
                    argc - i);
            return EX_BADINPUT;
        }
        o->taskfile = argv[i];
    }
    return 0;
}

int parse_opts(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->slots = 1;
    o->grace = 10;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0)
            break;
        int status = parse_option(argc, argv, &i, o);
        if (status)
            return status;
    }
    const char *empties[] = {o->outdir, o->joblog, o->workdir, o->spilldir,
                             o->argsfile};
    for (size_t k = 0; k < 5; k++)
        if (empties[k] && !*empties[k]) {
            die_msg("an empty file or directory name was given");
            return EX_BADINPUT;
        }
    int status = parse_operands(argc, argv, i, o);
    if (status)
        return status;
    if (o->keep_order && o->outdir)
        o->keep_order = 0; /* nothing is printed */
    return 0;
}

int check_mode(const opts *o, int nranks)
{
    const char *be = getenv("MF_BACKEND");
    if (nranks > 1 && o->jobs) {
        die_msg("-j/--jobs is for a run alone; under mpirun/srun the "
                "ranks are the workers (ask for one rank more)");
        return EX_BADINPUT;
    }
    if (nranks == 1 && be && strcmp(be, "threads") == 0) {
        die_msg("MF_BACKEND=threads: mf-run's workers must be "
                "processes (each waits for its commands and handles "
                "signals); unset it or use MF_BACKEND=processes");
        return EX_BADINPUT;
    }
    if (nranks == 1 && be && strcmp(be, "none") == 0) {
        die_msg("one rank and MF_BACKEND=none: no workers; run under "
                "mpirun -n N or srun, or without MF_BACKEND=none");
        return EX_BADINPUT;
    }
    if (nranks == 1 && o->jobs) {
        char jb[16];
        snprintf(jb, sizeof jb, "%u", o->jobs);
        setenv("MF_WORKERS", jb, 1); /* the pool's size */
    }
    return 0;
}
