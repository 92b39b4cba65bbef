/* rbuf.c — received message buffers.
 *
 * A results message is received into one buffer that the results in it
 * point into; each future keeping a result holds a reference, and the
 * buffer goes when the last one does. Big ones come from the big-block
 * cache (alloc.c) so large payloads do not land in fresh pages each time.
 * A thread pool's link does not copy what the sender gives up: it wraps
 * the sender's buffer (mf__rbuf_wrap), so a result or a large argument
 * crosses between threads with no copy; the same buffer can travel on
 * (a task returning its argument) by handing it over.
 */
#include "rbuf.h"

#include "alloc.h"

#include <stddef.h>

mf_rbuf *mf__rbuf_new(size_t len)
{
    int big = len >= MF_BIG_MIN;
    mf_rbuf *r =
        big ? mf__big_get(sizeof *r + len) : mf__malloc(sizeof *r + len);
    if (r) {
        r->refs = 1;
        r->big = (uint32_t)big;
        r->len = len;
        r->data = r->inl;
        r->ext_free = NULL;
    }
    return r;
}

mf_rbuf *mf__rbuf_wrap(void *p, size_t len, void (*free_fn)(void *))
{
    mf_rbuf *r = mf__malloc(sizeof *r);
    if (r) {
        r->refs = 1;
        r->big = 0;
        r->len = len;
        r->data = p;
        r->ext_free = free_fn;
    }
    return r;
}

void mf__rbuf_unref(mf_rbuf *r)
{
    if (r && --r->refs == 0) {
        if (r->ext_free)
            r->ext_free(r->data);
        if (r->big)
            mf__big_put(r);
        else
            mf__free(r);
    }
}

mf_rbuf *mf__rbuf_of(void *data)
{
    return (mf_rbuf *)((char *)data - offsetof(mf_rbuf, inl));
}

void mf__rbuf_release_data(void *data)
{
    mf__rbuf_unref(mf__rbuf_of(data));
}

int mf__rbuf_can_hand_over(const mf_rbuf *r)
{
    return r && (!r->ext_free || r->refs == 1);
}

void (*mf__rbuf_hand_over(mf_rbuf *r))(void *)
{
    if (!r->ext_free)
        return mf__rbuf_release_data; /* the reference goes with data */
    void (*fn)(void *) = r->ext_free;
    mf__free(r); /* its only reference: the bytes leave it */
    return fn;
}
