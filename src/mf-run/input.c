/*
 * input.c — the reader of input.h (see there): lines and values, and
 * the substitution of {} and {#} in a command template.
 *
 * Design: a value goes into the command shell-quoted (unchanged when it
 * is made only of safe characters, else in single quotes), so any line
 * of an --args file is one word to the shell; the template's own words
 * are joined as they are, so shell syntax given as a word keeps its
 * meaning. A task file's line is taken as is: it is already a command.
 * Every refusal names the input and the line (or value) at fault.
 */
#define _GNU_SOURCE
#include "input.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"

int input_open(input *in, const opts *o)
{
    memset(in, 0, sizeof *in);
    in->o = o;
    const char *file = o->taskfile ? o->taskfile : o->argsfile;
    if (file) {
        in->name = strcmp(file, "-") == 0 ? "stdin" : file;
        if (strcmp(file, "-") == 0) {
            in->f = stdin;
        } else {
            struct stat st;
            if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
                die_msg("%s: is a directory, not a file", file);
                return -1;
            }
            in->f = fopen(file, "r");
            if (!in->f) {
                die_msg("cannot read %s '%s': %s",
                        o->taskfile ? "task file" : "--args file", file,
                        strerror(errno));
                return -1;
            }
        }
    }
    for (int k = 0; k < o->ntmpl; k++)
        if (strstr(o->tmpl[k], "{}"))
            in->has_brace = 1;
    return 0;
}

void input_close(input *in)
{
    if (in->f && in->f != stdin)
        fclose(in->f);
    in->f = NULL;
    free(in->line);
    free(in->cmd);
    in->line = in->cmd = NULL;
}

static void cmd_put(input *in, const char *s, size_t n)
{
    if (in->cmdlen + n + 1 > in->cmdcap) {
        in->cmdcap = (in->cmdlen + n + 1) * 2;
        in->cmd = xrealloc(in->cmd, in->cmdcap);
    }
    memcpy(in->cmd + in->cmdlen, s, n);
    in->cmdlen += n;
    in->cmd[in->cmdlen] = 0;
}

static void cmd_quoted(input *in, const char *v, size_t n)
{
    int safe = n > 0;
    for (size_t i = 0; i < n && safe; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("_-./,:=+@%^", c)))
            safe = 0;
    }
    if (safe) {
        cmd_put(in, v, n);
        return;
    }
    cmd_put(in, "'", 1);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '\'')
            cmd_put(in, "'\\''", 4);
        else
            cmd_put(in, v + i, 1);
    }
    cmd_put(in, "'", 1);
}

/* The next value or task-file line (*val, *vlen; a line stays in
 * in->line): 1, 0 at the end, -1 on bad input (message printed). */
static int input_read(input *in, const char **val, size_t *vlen)
{
    const opts *o = in->o;
    for (;;) {
        if (o->have_colons) {
            if (in->vi >= o->nvals)
                return 0;
            *val = o->vals[in->vi++];
            *vlen = strlen(*val);
            in->lineno = (uint64_t)in->vi;
            return 1;
        }
        ssize_t n = getline(&in->line, &in->cap, in->f);
        if (n < 0) {
            if (ferror(in->f)) {
                die_msg("%s: read error: %s", in->name, strerror(errno));
                return -1;
            }
            in->eof = 1;
            return 0;
        }
        in->lineno++;
        if (memchr(in->line, 0, (size_t)n)) {
            die_msg("%s line %llu: a NUL byte: a binary file, not a list "
                    "of %s",
                    in->name, (unsigned long long)in->lineno,
                    o->taskfile ? "commands" : "values");
            return -1;
        }
        if (n > 0 && in->line[n - 1] == '\n')
            in->line[--n] = 0;
        if (n > 0 && in->line[n - 1] == '\r')
            in->line[--n] = 0;
        if (o->taskfile) {
            const char *p = in->line;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p == 0 || *p == '#')
                continue;
        }
        *val = in->line;
        *vlen = (size_t)n;
        return 1;
    }
}

/* The template with {} replaced by the value (quoted) and {#} by the
 * task id; without {}, the value appended. */
static void input_fill(input *in, const char *val, size_t vlen)
{
    const opts *o = in->o;
    char num[24];
    int nl = snprintf(num, sizeof num, "%llu", (unsigned long long)in->seq);
    for (int k = 0; k < o->ntmpl; k++) {
        if (k)
            cmd_put(in, " ", 1);
        const char *w = o->tmpl[k];
        while (*w) {
            if (w[0] == '{' && w[1] == '}') {
                cmd_quoted(in, val, vlen);
                w += 2;
            } else if (w[0] == '{' && w[1] == '#' && w[2] == '}') {
                cmd_put(in, num, (size_t)nl);
                w += 3;
            } else {
                cmd_put(in, w, 1);
                w++;
            }
        }
    }
    if (!in->has_brace) {
        cmd_put(in, " ", 1);
        cmd_quoted(in, val, vlen);
    }
}

int input_next(input *in)
{
    const opts *o = in->o;
    const char *val = NULL;
    size_t vlen = 0;
    int r = input_read(in, &val, &vlen);
    if (r <= 0)
        return r;
    in->seq++;
    in->cmdlen = 0;
    cmd_put(in, "", 0);
    if (o->taskfile)
        cmd_put(in, val, vlen);
    else
        input_fill(in, val, vlen);
    if (in->cmdlen > MAX_CMD) {
        die_msg("%s %llu: the command has %zu bytes, more than the %d a "
                "shell command line may have",
                o->have_colons ? "value" : (in->name ? in->name : "input"),
                (unsigned long long)in->lineno, in->cmdlen, MAX_CMD);
        return -1;
    }
    return 1;
}
