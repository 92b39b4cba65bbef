/*
 * crash.h — crash reports of worker ranks and isolated tasks (crash.c).
 */
#ifndef MF_CRASH_H
#define MF_CRASH_H

#include <stddef.h>

void mf__crash_install(int rank, const char *host);
void mf__crash_restore(void);
/* The task about to run (NULL: none) and how many tasks the rank holds. */
void mf__crash_task(const char *name, size_t held);
/* In the child process of an isolated task. */
void mf__crash_child(void);

#endif
