/*
 * registry.h — the registry of task functions and its immutable copy taken at
 * open (registry.c).
 */
#ifndef MF_REGISTRY_H
#define MF_REGISTRY_H

#include "mpifutures.h"
#include <stdint.h>

typedef struct mf_reg_entry {
    mf_fn_id id;
    mf_task_fn fn;
    void *userdata;
    char *name;
} mf_reg_entry;

/* An immutable copy of the registry, sorted by id, taken at open. */
typedef struct mf_reg_snap {
    size_t n;
    mf_reg_entry *e;
} mf_reg_snap;

int mf__registry_snapshot(mf_reg_snap *out);
void mf__registry_snap_free(mf_reg_snap *s);
const mf_reg_entry *mf__snap_find(const mf_reg_snap *s, mf_fn_id id);
const mf_reg_entry *mf__snap_find_name(const mf_reg_snap *s,
                                       const char *name);
uint64_t mf__hash64(const char *s);

#endif
