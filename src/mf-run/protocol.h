/*
 * protocol.h — what the root and the workers exchange through the
 * executor: the settings (the initializer's argument, sent once), a
 * batch of commands (a task's argument) and its per-command records (the
 * task's result), and the limits of these.
 *
 * Design: the records are plain structs copied byte for byte, because
 * both ends are the same program on the same kind of machine (one job);
 * the variable parts (a command's text, its inline output) follow their
 * fixed-size header, so a batch is one buffer each way:
 *
 *   argument  uint32 n, then n times: ahead, the command, a NUL
 *   result    rhead, then n times: rrec, inl_out bytes, inl_err bytes
 *
 * Output beyond inline_max per stream does not travel here: the worker
 * leaves it in the spill directory (rrec.spilled) and the root copies it
 * out from there.
 */
#ifndef MF_RUN_PROTOCOL_H
#define MF_RUN_PROTOCOL_H

#include <limits.h>
#include <stdint.h>

#define INLINE_MAX (256u * 1024u) /* output per stream in a result */
#define CHUNK 65536               /* unit of every copy of output */
#define MAX_SLOTS 1024            /* --slots: commands at once per rank */

/* What the root tells the workers once (initializer argument). */
typedef struct wsettings {
    double timeout; /* per command, 0: none */
    double grace;   /* after a stop, before the kill */
    uint32_t inline_max;
    uint32_t outdir_mode;  /* 1: output to outdir/<id>.out/.err */
    uint32_t always_shell; /* 1: no direct start of plain commands */
    uint32_t slots;        /* --slots: commands at once per rank */
    char workdir[PATH_MAX];
    char outdir[PATH_MAX];
    char spilldir[PATH_MAX];
} wsettings;

/* A command's end, as the job log names it (st_name). */
enum { ST_OK, ST_FAILED, ST_SIGNAL, ST_TIMEOUT, ST_INTERRUPTED, ST_NOTRUN };
extern const char *const st_name[];

/* One finished command, as the worker returns it (followed by inl_out
 * then inl_err bytes). */
typedef struct rrec {
    uint64_t id;
    uint32_t attempt, status;
    int32_t exitval, sig;
    double start, runtime;
    uint64_t outbytes, errbytes;
    uint32_t inl_out, inl_err, slot, spilled; /* spilled: 1 out, 2 err */
} rrec;

/* The head of a batch's result: who ran it, how many records follow. */
typedef struct rhead {
    int32_t rank;
    uint32_t n;
    char host[64];
} rhead;

typedef struct ahead { /* one command of a batch argument */
    uint64_t id;
    uint32_t attempt, len;
} ahead;

#endif
