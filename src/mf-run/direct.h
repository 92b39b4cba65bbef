/*
 * direct.h — the fast path of the worker: a command made only of plain
 * words whose first word is a program is started directly, without
 * /bin/sh.
 *
 * A plain command: letters, digits, _-./,:=+@%^ separated by spaces, the
 * first word without '=', not a shell builtin or keyword. Its program:
 * an ELF binary or a #! script, found as the shell would (PATH, or the
 * word itself when it has a '/').
 *
 * Design: the result is the same (the shell would split the words the
 * same way and exec the program), without the shell's start-up (about
 * 1 ms here). Builtins whose external twins may differ (echo, printf,
 * pwd, test) go through the shell. The last 8 program lookups are
 * cached, since a task farm runs the same program again and again.
 */
#ifndef MF_RUN_DIRECT_H
#define MF_RUN_DIRECT_H

#include <stddef.h>

#define DIRECT_MAX_WORDS 64

/* Split a plain command into argv (in buf, cap bytes); the number of
 * words, or 0 if it needs the shell. */
int plain_words(const char *cmd, char *buf, size_t cap, char **argv);

/* The program `word` names (out: PATH_MAX bytes), as the shell would
 * find it from `workdir`; 0 if none. */
int find_program(const char *word, const char *workdir, char *out);

#endif
