/*
 * direct.c — the plain-command test and the program lookup of direct.h
 * (see there).
 *
 * Design: the test is conservative: any character the shell could give
 * a meaning to (quotes, $, globs, redirections, ~) sends the command to
 * /bin/sh, and so does a word list longer than DIRECT_MAX_WORDS; the
 * fast path only has to be right for what it accepts.
 */
#define _GNU_SOURCE
#include "direct.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The shell's builtins and keywords: a command starting with one goes
 * through the shell. */
static const char *const sh_builtin[] = {
    ".",        ":",       "[",        "alias",  "bg",      "break",
    "cd",       "command", "continue", "echo",   "eval",    "exec",
    "exit",     "export",  "fc",       "fg",     "getopts", "hash",
    "jobs",     "kill",    "local",    "printf", "pwd",     "read",
    "readonly", "return",  "set",      "shift",  "source",  "test",
    "times",    "trap",    "type",     "ulimit", "umask",   "unalias",
    "unset",    "wait",    "if",       "then",   "else",    "elif",
    "fi",       "case",    "esac",     "for",    "while",   "until",
    "do",       "done",    "function", "select", "time",    "{",
    "}",        "!",       NULL};

typedef struct prog_cache {
    char word[256];
    char path[PATH_MAX];
    int ok;
} prog_cache;

static prog_cache g_pcache[8];
static unsigned g_pcache_next;

/* An executable regular file that is an ELF binary or a #! script. */
static int is_program(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
        access(path, X_OK) != 0)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    unsigned char m[4] = {0, 0, 0, 0};
    ssize_t r = read(fd, m, sizeof m);
    close(fd);
    if (r >= 4 && m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F')
        return 1;
    return r >= 2 && m[0] == '#' && m[1] == '!';
}

/* The program `word` names, as the shell would find it; 0 if none. */
int find_program(const char *word, const char *workdir, char *out)
{
    if (strchr(word, '/')) {
        int k;
        if (word[0] == '/')
            k = snprintf(out, PATH_MAX, "%s", word);
        else
            k = snprintf(out, PATH_MAX, "%s/%s", workdir, word);
        return k > 0 && k < PATH_MAX && is_program(out);
    }
    if (strlen(word) >= sizeof g_pcache[0].word)
        return 0;
    for (unsigned i = 0; i < 8; i++)
        if (strcmp(g_pcache[i].word, word) == 0) {
            snprintf(out, PATH_MAX, "%s", g_pcache[i].path);
            return g_pcache[i].ok;
        }
    int ok = 0;
    const char *p = getenv("PATH");
    if (!p)
        p = "/usr/local/bin:/usr/bin:/bin";
    while (!ok) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int k = n ? snprintf(out, PATH_MAX, "%.*s/%s", (int)n, p, word)
                  : snprintf(out, PATH_MAX, "%s/%s", workdir, word);
        if (k > 0 && k < PATH_MAX && is_program(out))
            ok = 1;
        if (!e)
            break;
        p = e + 1;
    }
    prog_cache *c = &g_pcache[g_pcache_next++ % 8];
    snprintf(c->word, sizeof c->word, "%s", word);
    snprintf(c->path, sizeof c->path, "%s", ok ? out : "");
    c->ok = ok;
    return ok;
}

/* Split a plain command into argv (in buf); 0 if it needs the shell. */
int plain_words(const char *cmd, char *buf, size_t cap, char **argv)
{
    size_t n = strlen(cmd);
    if (n == 0 || n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)cmd[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == ' ' || strchr("_-./,:=+@%^", c)))
            return 0;
    }
    memcpy(buf, cmd, n + 1);
    int argc = 0;
    char *p = buf;
    while (*p) {
        while (*p == ' ')
            *p++ = 0;
        if (!*p)
            break;
        if (argc == DIRECT_MAX_WORDS)
            return 0;
        argv[argc++] = p;
        while (*p && *p != ' ')
            p++;
    }
    argv[argc] = NULL;
    if (argc == 0 || strchr(argv[0], '='))
        return 0;
    for (int i = 0; sh_builtin[i]; i++)
        if (strcmp(argv[0], sh_builtin[i]) == 0)
            return 0;
    return argc;
}
