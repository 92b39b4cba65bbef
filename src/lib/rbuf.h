/*
 * rbuf.h — received message buffers, shared by the results that point into
 * them (rbuf.c).
 */
#ifndef MF_RBUF_H
#define MF_RBUF_H

#include <stddef.h>
#include <stdint.h>

/* A received message buffer, shared by the results that point into it.
 * Its bytes lie right after it (inl), or, handed over by a thread pool's
 * sender instead of copied, in a buffer of their own that ext_free
 * releases. Either way `data` points at them, 8-byte aligned. */
typedef struct mf_rbuf {
    size_t refs;
    uint32_t big; /* from mf__big_get */
    uint32_t pad;
    size_t len;
    void *data;
    void (*ext_free)(void *); /* NULL: the bytes are inl */
    uint64_t inl[];
} mf_rbuf;

/* A buffer for len bytes (one reference), or NULL. */
mf_rbuf *mf__rbuf_new(size_t len);
/* A buffer whose bytes are the len bytes at p (8-byte aligned), which
 * free_fn(p) releases when the last reference goes; NULL when out of
 * memory (p is then still the caller's). */
mf_rbuf *mf__rbuf_wrap(void *p, size_t len, void (*free_fn)(void *));
void mf__rbuf_unref(mf_rbuf *r);

/* A message may send the bytes of r without a copy and then release them
 * with the function mf__rbuf_hand_over() gives: true when r's bytes can
 * be handed over (inline ones always; handed-over ones while r has one
 * reference). */
int mf__rbuf_can_hand_over(const mf_rbuf *r);
/* Pass the caller's reference to r over to r->data: the function
 * returned releases them, given r->data (r itself may be gone). Only
 * when mf__rbuf_can_hand_over(r). */
void (*mf__rbuf_hand_over(mf_rbuf *r))(void *);
/* The release function of inline bytes handed over: it drops the
 * reference of the buffer they lie in. */
void mf__rbuf_release_data(void *data);
/* The buffer whose inline bytes start at data (mf__rbuf_release_data's
 * data). */
mf_rbuf *mf__rbuf_of(void *data);

#endif
