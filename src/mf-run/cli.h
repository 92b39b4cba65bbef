/*
 * cli.h — mf-run's command line: the options, the operands, --help, and
 * the checks of how mf-run was started (alone or under a launcher).
 *
 * Design: only rank 0 parses (main broadcasts the verdict), so every
 * error here is a message on standard error and EX_BADINPUT, before any
 * task runs. The opts keep pointers into argv (the command words, the
 * ::: values, the names): nothing is copied, argv lives as long as the
 * run.
 */
#ifndef MF_RUN_CLI_H
#define MF_RUN_CLI_H

typedef struct opts {
    const char *taskfile; /* or NULL */
    char **tmpl;          /* command words (-- CMD ARG...) */
    int ntmpl;
    char **vals; /* after ::: */
    int nvals, have_colons;
    const char *argsfile;
    unsigned slots;
    unsigned jobs; /* -j: worker processes of a run alone (0: cores) */
    const char *outdir, *joblog, *workdir, *spilldir;
    int tag, keep_order, resume, resume_failed, always_shell;
    double timeout, grace;
    unsigned retries;
    int halt;         /* 0 never, 1 soon, 2 now */
    double halt_fail; /* count, or percent */
    int halt_pct;
} opts;

/* Returns 0 to run, -1 for "exit 0 now" (help/version), or an exit
 * status. */
int parse_opts(int argc, char **argv, opts *o);

/* The options against the way mf-run was started (-j only alone; a run
 * alone needs worker processes): 0, or EX_BADINPUT. Alone with -j N,
 * sets MF_WORKERS=N for the library's pool. */
int check_mode(const opts *o, int nranks);

#endif
