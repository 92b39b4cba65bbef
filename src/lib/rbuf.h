/*
 * rbuf.h — received message buffers, shared by the results that point into
 * them (rbuf.c).
 */
#ifndef MF_RBUF_H
#define MF_RBUF_H

#include <stddef.h>
#include <stdint.h>

/* A received message buffer, shared by the results that point into it. */
typedef struct mf_rbuf {
    size_t refs;
    uint32_t big; /* from mf__big_get */
    uint32_t pad;
    size_t len;
    uint64_t data[]; /* 8-byte aligned payload */
} mf_rbuf;
mf_rbuf *mf__rbuf_new(size_t len);
void mf__rbuf_unref(mf_rbuf *r);

#endif
