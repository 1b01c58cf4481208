/* The compact k-mer spectrum index shared by seqfcn's compiled k-mer kernels
 * (_kmercount.c, _kmerev.c; the layout of seqfcn.correction.spectrum_index.SpectrumIndex).
 *
 * A canonical k-mer v (n = 2k bits) is mixed by a bijection of n-bit words, h = mix(v).
 * The top p bits of h pick a bucket, the r = n - p low bits (the remainder) are all that
 * is stored of the k-mer, with its count, in one entry of W = 4 or 8 bytes:
 * remainder << c | min(count, 2**c - 1), c = 8 W - r. Entries are sorted, so bucket b holds
 * entries [off[b], off[b + 1]) in increasing remainder; one uint32 offset per bucket (about
 * 12 k-mers per bucket). A lookup is one mix, one offset pair and a short scan within one
 * cache line. The mix is a bijection, so a remainder in its bucket is the k-mer: lookups
 * are exact, counts exact up to 2**c - 1.
 *
 * The index travels from Python as a tuple (offsets, entries, rbits); W is the entries'
 * bytes over the last offset. Include after Python.h. */
#ifndef SEQFCN_SPECTRUM_INDEX_H
#define SEQFCN_SPECTRUM_INDEX_H
#include <stdint.h>
#include <string.h>

static inline uint64_t nmask(unsigned n) { return n >= 64 ? ~0ULL : (1ULL << n) - 1; }

/* a bijection of n-bit words (xorshift-multiply rounds, each invertible mod 2**n) */
static inline uint64_t mix(uint64_t x, unsigned n)
{
    uint64_t m = nmask(n);
    unsigned s = (n + 1) / 2;
    x ^= x >> s;
    x = (x * 0xFF51AFD7ED558CCDULL) & m;
    x ^= x >> s;
    x = (x * 0xC4CEB9FE1A85EC53ULL) & m;
    x ^= x >> s;
    return x;
}

typedef struct {
    const uint32_t *off; const void *ent;
    unsigned rbits, cbits, wide, n; uint64_t entries, cmask;
    Py_buffer b[2];
} cindex_t;

/* fill ix from the Python tuple `obj` for k; 0, or -1 with a Python error set */
static int cindex_parse(PyObject *obj, int k, cindex_t *ix)
{
    memset(ix, 0, sizeof(*ix));
    unsigned rbits;
    if (!PyArg_ParseTuple(obj, "y*y*I", &ix->b[0], &ix->b[1], &rbits))
        return -1;
    ix->off = ix->b[0].buf;
    ix->ent = ix->b[1].buf;
    ix->rbits = rbits;
    ix->n = 2u * (unsigned)k;
    uint64_t buckets = (uint64_t)ix->b[0].len / 4;
    const char *err = NULL;
    if (k < 1 || k > 31 || rbits > ix->n || buckets != (1ULL << (ix->n - rbits)) + 1)
        err = "offsets must hold 2**(2k - rbits) + 1 uint32";
    else {
        ix->entries = ix->off[buckets - 1];
        uint64_t bytes = (uint64_t)ix->b[1].len;
        ix->wide = ix->entries ? bytes == 8 * ix->entries : rbits > 31;  /* empty: as the layout says */
        if (bytes != (ix->wide ? 8 : 4) * ix->entries)
            err = "entries must be uint32 or uint64, as many as the last offset";
        else if (rbits + 1 > (ix->wide ? 64u : 32u))
            err = "entries too narrow for the remainder and a count";
        ix->cbits = (ix->wide ? 64u : 32u) - rbits;
        ix->cmask = nmask(ix->cbits);
    }
    if (err) {
        PyBuffer_Release(&ix->b[0]);
        PyBuffer_Release(&ix->b[1]);
        PyErr_SetString(PyExc_ValueError, err);
        return -1;
    }
    return 0;
}

static inline void cindex_release(cindex_t *ix)
{
    PyBuffer_Release(&ix->b[0]);
    PyBuffer_Release(&ix->b[1]);
}

static inline uint64_t cindex_entry(const cindex_t *ix, uint64_t i)
{
    return ix->wide ? ((const uint64_t *)ix->ent)[i] : ((const uint32_t *)ix->ent)[i];
}

/* the count of canonical k-mer v (0 when absent) */
static inline int64_t cindex_count(const cindex_t *ix, uint64_t v)
{
    uint64_t h = mix(v, ix->n), want = h & nmask(ix->rbits);
    uint64_t b = h >> ix->rbits;
    for (uint64_t i = ix->off[b], e = ix->off[b + 1]; i < e; i++) {
        uint64_t x = cindex_entry(ix, i), r = x >> ix->cbits;
        if (r >= want)
            return r == want ? (int64_t)(x & ix->cmask) : 0;
    }
    return 0;
}

/* stage 1 of a prefetched batch: the bucket's offsets */
static inline void cindex_prefetch(const cindex_t *ix, uint64_t v)
{
    __builtin_prefetch(&ix->off[mix(v, ix->n) >> ix->rbits]);
}

/* stage 2: the bucket's first entries (its offsets are in cache by now) */
static inline void cindex_prefetch_entries(const cindex_t *ix, uint64_t v)
{
    uint64_t i = ix->off[mix(v, ix->n) >> ix->rbits];
    __builtin_prefetch((const char *)ix->ent + (i << (ix->wide ? 3 : 2)));
}

#endif
