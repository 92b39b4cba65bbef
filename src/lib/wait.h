/*
 * wait.h — what map.c uses of the as_completed machinery (wait.c).
 */
#ifndef MF_WAIT_H
#define MF_WAIT_H

#include "mpifutures.h"

#include <stddef.h>

/* Next index (into the distinct futures given, in input order) of an
 * as_completed iterator; lock held. */
int mf__ac_next(mf_as_completed_iter *it, size_t *index);

#endif
