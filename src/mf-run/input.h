/*
 * input.h — the tasks' commands, one at a time: the lines of a task file
 * (or stdin), or a command template filled with each ::: value or each
 * line of an --args file.
 *
 * Design: a reader, not a list: the root reads its input as it
 * dispatches, so 10^6 lines never sit in memory; a file is read twice
 * (a first checking and counting pass, then the run), stdin once. Task
 * ids count the commands from 1 (in->seq), so the same input gives the
 * same ids on a resume. A command's text is kept in one buffer reused
 * from task to task.
 */
#ifndef MF_RUN_INPUT_H
#define MF_RUN_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

#define MAX_CMD 131071 /* Linux MAX_ARG_STRLEN - 1: one sh -c argument */

typedef struct input {
    const opts *o;
    FILE *f;
    const char *name;
    char *line;
    size_t cap;
    uint64_t lineno, seq;
    int vi;
    int has_brace;
    char *cmd;
    size_t cmdlen, cmdcap;
    int eof;
} input;

/* Open the task file or --args file of o (if any): 0, or -1 (message
 * printed). */
int input_open(input *in, const opts *o);
void input_close(input *in);

/* Next command: 1 (in->cmd, in->cmdlen, in->seq), 0 at the end, -1 on
 * bad input (message printed). */
int input_next(input *in);

#endif
