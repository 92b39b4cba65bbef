/*
 * cli.h — mf-factorial's command line: the options, the integers read
 * from the arguments, --range and --from, and the help text.
 *
 * Design: only rank 0 parses (main broadcasts the verdict), so every
 * error here is a message on standard error and EX_USAGE, before any
 * work starts. The integers' limits come from the machine's memory
 * (cli_init_limits), so an n whose n! cannot fit is refused up front
 * instead of failing on a worker halfway through a run.
 */
#ifndef MF_FACTORIAL_CLI_H
#define MF_FACTORIAL_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <mpifutures.h>

typedef struct opts {
    uint64_t *ns;
    size_t count, cap;
    int have_huge;
    uint64_t huge;
    int ordered, print, check, quiet, demo;
    const char *outdir;
    size_t chunk;     /* items per task; 0 = automatic */
    size_t max_lines; /* demo: print only this many result lines */
    int workers;      /* --workers N (one rank only); 0 = default */
    int threads;      /* --threads (one rank only) */
} opts;

/* The largest n accepted for the set and for --huge, from the memory of
 * this machine. Call once before parse_args. */
void cli_init_limits(void);

/* "mf-factorial: <message>" and the --help hint on stderr; EX_USAGE. */
int usage_error(const char *fmt, ...) MF_PRINTF(1, 2);

/* Returns EX_OK to run, -1 for "exit 0 now" (help/version), or an error. */
int parse_args(opts *o, int argc, char **argv);

#endif
