/* rbuf.c — received message buffers.
 *
 * A results message is received into one buffer that the results in it
 * point into; each future keeping a result holds a reference, and the
 * buffer goes when the last one does. Big ones come from the big-block
 * cache (alloc.c) so large payloads do not land in fresh pages each time.
 */
#include "rbuf.h"

#include "alloc.h"

#include "rbuf.h"

#include "alloc.h"

mf_rbuf *mf__rbuf_new(size_t len)
{
    int big = len >= MF_BIG_MIN;
    mf_rbuf *r =
        big ? mf__big_get(sizeof *r + len) : mf__malloc(sizeof *r + len);
    if (r) {
        r->refs = 1;
        r->big = (uint32_t)big;
        r->len = len;
    }
    return r;
}

void mf__rbuf_unref(mf_rbuf *r)
{
    if (r && --r->refs == 0) {
        if (r->big)
            mf__big_put(r);
        else
            mf__free(r);
    }
}
