/*
 * signals.h — walltime signals caught while an executor is open (signals.c).
 */
#ifndef MF_SIGNALS_H
#define MF_SIGNALS_H

#include "mpifutures.h"

int mf__signals_install(void);
void mf__signals_restore(void);
int mf__signal_caught(void); /* the first signal caught, or 0 */
const char *mf__signal_name(int sig);

#endif
