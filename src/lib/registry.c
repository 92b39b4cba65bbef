/* registry.c — the process-wide table of task functions.
 *
 * Ids are a 64-bit hash (FNV-1a, then a final mix) of the name, so every
 * rank computes the same id whatever its registration order; the table is
 * kept sorted by id. Executors take an immutable snapshot when they open,
 * so later registrations never change a running executor's view.
 */

#include "registry.h"

#include "alloc.h"
#include "errors.h"
#include "lock.h"

#include <stdlib.h>
#include <string.h>

#define MF_NAME_MAX 255

static mf_reg_entry *mf_reg;
static size_t mf_reg_n, mf_reg_cap;

uint64_t mf__hash64(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    /* Final avalanche (splitmix64), so similar names spread out. */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h ? h : 1; /* 0 is reserved for "no function" */
}

MF_API mf_fn_id mf_fn_id_of(const char *name)
{
    return name ? mf__hash64(name) : 0;
}

/* Index of the first entry with id >= `id`. */
static size_t mf_lower_bound(const mf_reg_entry *e, size_t n, mf_fn_id id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

MF_API int mf_register(const char *name, mf_task_fn fn, void *userdata,
                       mf_fn_id *id)
{
    size_t len, pos;
    mf_fn_id h;
    char *copy;
    int rc = MF_OK;

    mf__clear_error();
    if (!name || !*name)
        return mf__fail(MF_EINVAL, "mf_register: empty or NULL name");
    len = strnlen(name, MF_NAME_MAX + 1);
    if (len > MF_NAME_MAX)
        return mf__fail(MF_EINVAL, "mf_register: name longer than %d bytes",
                        MF_NAME_MAX);
    if (!fn)
        return mf__fail(MF_EINVAL, "mf_register: NULL function for '%s'",
                        name);
    h = mf__hash64(name);

    mf__lock();
    pos = mf_lower_bound(mf_reg, mf_reg_n, h);
    if (pos < mf_reg_n && mf_reg[pos].id == h) {
        if (strcmp(mf_reg[pos].name, name) == 0)
            rc = mf__fail(MF_EEXIST, "function '%s' is already registered",
                          name);
        else
            rc = mf__fail(MF_ECOLLISION,
                          "function '%s' has the same id as '%s'", name,
                          mf_reg[pos].name);
        goto out;
    }
    if (mf_reg_n == mf_reg_cap) {
        size_t cap = mf_reg_cap ? 2 * mf_reg_cap : 16;
        mf_reg_entry *n = mf__realloc(mf_reg, cap * sizeof *n);
        if (!n) {
            rc = mf__fail(MF_ENOMEM, "mf_register: out of memory");
            goto out;
        }
        mf_reg = n;
        mf_reg_cap = cap;
    }
    copy = mf__strdup(name);
    if (!copy) {
        rc = mf__fail(MF_ENOMEM, "mf_register: out of memory");
        goto out;
    }
    memmove(&mf_reg[pos + 1], &mf_reg[pos],
            (mf_reg_n - pos) * sizeof *mf_reg);
    mf_reg[pos].id = h;
    mf_reg[pos].fn = fn;
    mf_reg[pos].userdata = userdata;
    mf_reg[pos].name = copy;
    mf_reg_n++;
    if (id)
        *id = h;
out:
    mf__unlock();
    return rc;
}

MF_API void mf_registry_clear(void)
{
    mf__lock();
    for (size_t i = 0; i < mf_reg_n; i++)
        mf__free(mf_reg[i].name);
    mf__free(mf_reg);
    mf_reg = NULL;
    mf_reg_n = mf_reg_cap = 0;
    mf__unlock();
}

int mf__registry_snapshot(mf_reg_snap *out)
{
    int rc = MF_OK;
    mf__lock();
    out->n = mf_reg_n;
    out->e = mf__calloc(mf_reg_n ? mf_reg_n : 1, sizeof *out->e);
    if (!out->e) {
        out->n = 0;
        rc = MF_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < mf_reg_n; i++) {
        out->e[i] = mf_reg[i];
        out->e[i].name = mf__strdup(mf_reg[i].name);
        if (!out->e[i].name) {
            out->n = i;
            mf__registry_snap_free(out);
            rc = MF_ENOMEM;
            goto out;
        }
    }
out:
    mf__unlock();
    return rc;
}

void mf__registry_snap_free(mf_reg_snap *s)
{
    if (!s->e)
        return;
    for (size_t i = 0; i < s->n; i++)
        mf__free(s->e[i].name);
    mf__free(s->e);
    s->e = NULL;
    s->n = 0;
}

const mf_reg_entry *mf__snap_find(const mf_reg_snap *s, mf_fn_id id)
{
    size_t pos = mf_lower_bound(s->e, s->n, id);
    if (pos < s->n && s->e[pos].id == id)
        return &s->e[pos];
    return NULL;
}

const mf_reg_entry *mf__snap_find_name(const mf_reg_snap *s, const char *name)
{
    const mf_reg_entry *e = mf__snap_find(s, mf__hash64(name));
    return e && strcmp(e->name, name) == 0 ? e : NULL;
}
