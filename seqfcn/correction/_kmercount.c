/* Compact k-mer counting and per-base k-mer support for seqfcn.spectrum, compiled.
 *
 * Canonical k-mers (the smaller 2-bit packing of a k-mer and its reverse complement),
 * k <= 31, counted in an open-addressing table: keys uint64 (EMPTY = all ones, which no
 * canonical k-mer of k <= 31 can be), counts uint32, home slot (key * 0x9E3779B97F4A7C15)
 * >> shift, linear probing. Written here rather than taken from a library because the
 * table must be shared, without copying, with the evidence kernel (seqfcn/_kmerev.c) and
 * numpy, and none of jellyfish/KMC has a Python binding that stays in memory.
 *
 * count(codes, offsets, k, subs, caps, used, okeys, ocounts, oshift, ocap, bloom, bloom_shift[, part, parts[, sub_lo,
 *       sub_hi]])
 *       -> (new_distinct, new_in_overflow, kmers, records_done)
 *   codes:   uint8 bases of the reads concatenated (0-3; anything else is N: k-mers with
 *            an N are skipped); offsets: int64 (n + 1,) read starts.
 *   subs/caps/used, okeys/ocounts: the quotiented table of one partition and its overflow
 *            (see "the quotiented counting table" below), updated in place.
 *   bloom:   uint64 words of a Bloom filter with 2**(64 - bloom_shift) bits (2 hash
 *            functions), or an empty buffer for none. With a filter, the first sighting
 *            of a k-mer only sets its bits, so k-mers seen once (most error k-mers) never
 *            reach the table; a k-mer's table count is then its count less one (more
 *            rarely its full count, where a false positive of the filter let its first
 *            sighting through).
 *   part/parts: count only the k-mers of partition `part` of `parts` (a hash of the k-mer),
 *   so that partitions, each with its own table and filter, can be counted on threads.
 *   sub_lo/sub_hi: count only the k-mers of sub-tables sub_lo..sub_hi - 1 (a pass of a
 *   counting run in passes); every k-mer of the partition still sets its filter bits, so
 *   each counted sub-table gets exactly the counts of a run over all of them.
 *   It stops before the first record that could take a sub-table past its cap or the
 *   overflow past ocap new keys; the caller grows those and calls again from records_done.
 *
 * regrow(...), export(...): grow one sub-table; read one back (below).
 * rehash(keys, counts, new_keys, new_counts, new_shift) -> None: move all entries of an
 *   overflow table into a larger one.
 *
 * cover_min(codes, n, w, k, index, out[, largest[, threads]]) -> None
 *   codes: (n, w) uint8 padded reads (N past a read's end); index: a
 *   seqfcn.correction.kmers.SpectrumIndex as its tuple (_spectrum_index.h).
 *   out: (n, w) int64: for every base the smallest count of the N-free k-mers covering
 *   it (the largest with `largest` true), -1 where none covers it; O(w) per row (a monotonic
 *   deque over the k-mers), rows split over `threads` POSIX threads.
 *
 * index_build(src, cbits, counts, k, rbits, offsets, rem, cnt) -> None: fill a
 *   SpectrumIndex's arrays (below, at the function).
 *
 * parse_fastq(buf, codes, offsets) -> (consumed, records) or (-1, record) when malformed
 *   Splits the complete 4-line FASTQ records at the start of buf ('@' header, bases,
 *   '+' line, qualities as long as the bases) into codes (uint8, A/C/G/T/U either case
 *   -> 0-3 as seqfcn.encode.to_codes, any other byte 4; writable, len(buf) bytes) and offsets (int64 record starts
 *   in codes, writable, len(buf) / 4 + 2 entries); consumed = bytes of buf used (the
 *   rest is an incomplete last record). A record that breaks the 4-line layout gives
 *   (-1, its index): the caller then reads the file with the strict parser.
 *
 * fastq_spans(buf, offset, max_records, phred, valid, spans) -> (consumed, records, longest, bad)
 *   From buf[offset:], up to max_records complete 4-line records in the canonical layout that
 *   seqfcn/correction/blocks.py writes back byte for byte ('@name' or '@name comment' in printable
 *   ASCII with one space after the name and none at the end, bases whose byte is nonzero in
 *   the 256-byte `valid`, a bare '+', as many qualities in [phred, 126], '\n' line ends). spans:
 *   int64 (max_records, 4): record start, bases start, length, record end (offsets in buf).
 *   consumed: offset after the last record found; longest: the longest read; bad: the index
 *   of a record that is not canonical (or not a record), else -1.
 *
 * fill_rows(buf, spans, n, w, table, phred, codes, quals) -> None
 *   The n records of spans as (n, w) uint8 codes (table: 256 bytes, byte -> code; padding
 *   4) and Phred qualities (quality byte - phred; padding 0).
 *
 * extend(codes, lengths, n, w, k, index, solid, max_edits, min_run, quals, depth,
 *        weight, margin, max_q, passes, threads, flags) -> edits
 *   Spectrum-guided substitutions, in place on codes (n, w) uint8. Walking right from a
 *   read's longest run of solid k-mers (count >= solid), the first non-solid k-mer's new (last) base
 *   is the suspect; walking left from it, the first non-solid k-mer's first base (an N is a
 *   suspect too). Each other base at the suspect is scored by its best continuation:
 *   weight per solid k-mer reached (at most k, or the k-mers left) less the summed quality
 *   (quals (n, w) uint8, or an empty buffer: 0) of up to `depth` further substitutions, each
 *   at the entering base of the next non-solid k-mer and at a base of quality < max_q. The
 *   best base is taken when it reaches min(min_run, k-mers left) k-mers and scores `margin`
 *   above every other base; only the suspect changes and the walk goes on. At most
 *   max_edits per read; a read without a solid k-mer is not touched. Up to `passes` walks
 *   per read, each while the last one changed it and left a weak k-mer; rows over `threads`
 *   POSIX threads (the result does not depend on it). flags (n,) uint8, writable (or empty):
 *   per row 1 when it had a weak k-mer (or one with an N) before the walk, | 2 after it.
 *   Returns the edits.
 *   A lookahead of dense errors (several within k bases, as at MiSeq read starts) is what
 *   lets one substitution be judged when no single one can make the next k-mers solid.
 *
 * The GIL is released during the loops.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_rows.h"
#include "_spectrum_index.h"

static const uint64_t MULT = 0x9E3779B97F4A7C15ULL;
static const uint64_t EMPTY = ~0ULL;

/* roll base b (a code; > 3 is N) into a k-mer's forward and reverse-complement packings;
 * 1 with *v = the canonical k-mer once the last k bases hold no N */
typedef struct { uint64_t fwd, rev, kmask; unsigned top; int valid, k; } roller_t;

static inline roller_t roller(int k) { roller_t r = {0, 0, (1ULL << (2 * k)) - 1, 2u * (k - 1), 0, k}; return r; }

static inline int roll(roller_t *r, uint8_t b, uint64_t *v)
{
    if (b > 3) {
        r->valid = 0;
        r->fwd = r->rev = 0;
        return 0;
    }
    r->fwd = ((r->fwd << 2) | b) & r->kmask;
    r->rev = (r->rev >> 2) | ((uint64_t)(3 - b) << r->top);
    if (++r->valid < r->k)
        return 0;
    *v = r->fwd < r->rev ? r->fwd : r->rev;
    return 1;
}

static inline uint64_t bloom_hash2(uint64_t v) { return (v ^ (v >> 31)) * 0xBF58476D1CE4E5B9ULL; }

/* 1 when both bits were set already (a repeat sighting); sets them either way */
static inline int bloom_seen(uint64_t *bloom, unsigned bshift, uint64_t v)
{
    uint64_t h1 = (v * MULT) >> bshift, h2 = bloom_hash2(v) >> bshift;
    uint64_t m1 = 1ULL << (h1 & 63), m2 = 1ULL << (h2 & 63);
    int seen = (bloom[h1 >> 6] & m1) && (bloom[h2 >> 6] & m2);
    bloom[h1 >> 6] |= m1;
    bloom[h2 >> 6] |= m2;
    return seen;
}

/* which of `parts` partitions a canonical k-mer belongs to (a hash independent of the
 * table's and the filter's, whose bits come from the top of other products) */
static inline unsigned part_of(uint64_t v, unsigned parts)
{
    return parts > 1 ? (unsigned)(((v * 0xD6E8FEB86659FD93ULL) >> 32) % parts) : 0;
}

/* ---- the quotiented counting table (one per filter partition, SUBS sub-tables each) ----
 * A canonical k-mer v (n = 2k bits) is mixed by a bijection of n-bit words, h = mix(v);
 * the top SUB_BITS bits of h pick the sub-table, the next q bits are the home slot of the
 * sub-table's 2**q slots and the r = n - SUB_BITS - q low bits, the remainder, are all a
 * slot stores of the k-mer: slot = count (8 bits; 0 empty, 255: the count is in the
 * overflow table) | displacement from the home slot (D bits) << 8 | remainder << (8 + D),
 * in W = ceil((14 + r) / 8) bytes (D = 8 W - 8 - r >= 6). Linear probing; a k-mer whose
 * home run is longer than the largest displacement, and every count of 255 or more, lives
 * in the partition's overflow table (uint64 keys, uint32 counts, open addressing), so
 * counts are exact (saturating at 2**32 - 1 as before). */
#define SUB_BITS 4
#define SUBS (1 << SUB_BITS)

typedef struct { uint8_t *p; uint64_t qmask, dmask, dmax; unsigned q, r, d, w; } qtab_t;

static inline uint64_t unxorshift(uint64_t y, unsigned s, unsigned n)
{
    uint64_t x = y;
    for (unsigned t = s; t < n; t += s)
        x = y ^ (x >> s);
    return x;
}

static inline uint64_t inverse(uint64_t a)  /* of an odd a, mod 2**64 (Newton) */
{
    uint64_t x = a;
    for (int i = 0; i < 6; i++)
        x *= 2 - a * x;
    return x;
}

static inline uint64_t unmix(uint64_t x, unsigned n)
{
    uint64_t m = nmask(n);
    unsigned s = (n + 1) / 2;
    x = unxorshift(x, s, n);
    x = (x * inverse(0xC4CEB9FE1A85EC53ULL)) & m;
    x = unxorshift(x, s, n);
    x = (x * inverse(0xFF51AFD7ED558CCDULL)) & m;
    return unxorshift(x, s, n);
}

static inline qtab_t qtab(uint8_t *p, unsigned n, unsigned q)
{
    qtab_t t;
    t.p = p;
    t.q = q;
    t.r = n - SUB_BITS - q;
    t.w = (14 + t.r + 7) / 8;
    t.d = 8 * t.w - 8 - t.r;
    t.qmask = nmask(q);
    t.dmask = nmask(t.d);
    t.dmax = t.dmask < t.qmask ? t.dmask : t.qmask;
    return t;
}

static inline uint64_t qload(const qtab_t *t, uint64_t j)
{
    uint64_t x;
    memcpy(&x, t->p + j * t->w, 8);  /* buffers have 8 bytes of slack */
    return x & nmask(8 * t->w);
}

static inline void qstore(qtab_t *t, uint64_t j, uint64_t x) { memcpy(t->p + j * t->w, &x, t->w); }

/* set v's overflow count to c (inserting it); returns 1 when v is new there */
static inline int table_set(uint64_t *OK, uint32_t *OC, uint64_t omask, unsigned oshift, uint64_t v, uint32_t c)
{
    uint64_t s = (v * MULT) >> oshift;
    while (OK[s] != v && OK[s] != EMPTY)
        s = (s + 1) & omask;
    int fresh = OK[s] == EMPTY;
    OK[s] = v;
    OC[s] = c;
    return fresh;
}

/* 1 (and one more sighting counted) when v is in the overflow */
static inline int table_bump(uint64_t *OK, uint32_t *OC, uint64_t omask, unsigned oshift, uint64_t v)
{
    uint64_t s = (v * MULT) >> oshift;
    for (; OK[s] != EMPTY; s = (s + 1) & omask)
        if (OK[s] == v) {
            if (OC[s] != UINT32_MAX)
                OC[s]++;
            return 1;
        }
    return 0;
}

typedef struct { uint64_t *k; uint32_t *c; uint64_t mask; unsigned shift; long long added; int64_t *moved; } ovf_t;

/* add one sighting of v (h = mix(v)) to sub-table t; returns 1 when v is new to the
 * sub-table, 2 when it went to the overflow as a new key (a run longer than t->dmax),
 * 0 otherwise. *o->moved counts the k-mers kept in the overflow for their run: while there
 * are any, a k-mer about to be added to an empty slot is looked for there first. */
static inline int qadd(qtab_t *t, uint64_t h, uint64_t v, ovf_t *o)
{
    uint64_t home = (h >> t->r) & t->qmask, rem = h & nmask(t->r);
    for (uint64_t d = 0; d <= t->dmax; d++) {
        uint64_t j = (home + d) & t->qmask, x = qload(t, j), c = x & 255;
        if (c == 0) {
            if (*o->moved && table_bump(o->k, o->c, o->mask, o->shift, v))
                return 0;
            qstore(t, j, (rem << (8 + t->d)) | (d << 8) | 1);
            return 1;
        }
        if (((x >> 8) & t->dmask) == d && (x >> (8 + t->d)) == rem) {
            if (c < 254) {
                qstore(t, j, x + 1);
            } else if (c == 254) {  /* the 255th sighting: the count moves to the overflow */
                qstore(t, j, x + 1);
                o->added += table_set(o->k, o->c, o->mask, o->shift, v, 255);
            } else {
                table_bump(o->k, o->c, o->mask, o->shift, v);
            }
            return 0;
        }
    }
    if (table_bump(o->k, o->c, o->mask, o->shift, v))
        return 0;
    table_set(o->k, o->c, o->mask, o->shift, v, 1);
    o->added++;
    ++*o->moved;
    return 2;
}

/* count(codes, offsets, k, subs, caps, used, okeys, ocounts, oshift, ocap, bloom, bloom_shift, part, parts)
 *   -> (new_distinct, kmers, records_done): subs a list of SUBS writable uint8 buffers of
 *   2**q W + 8 bytes (q = their q_bits entry of caps: caps is int64 (2, SUBS): q bits, then
 *   the most keys each may hold), used int64 (SUBS + 1,) updated (the keys of each
 *   sub-table, then the k-mers kept in the overflow for their run). Stops before a record that
 *   could take a sub-table past its cap or the overflow past ocap new keys. */
static PyObject *count(PyObject *self, PyObject *args)
{
    Py_buffer codes, offsets, caps, used, okeys, ocounts, bloom, sb[SUBS];
    PyObject *subs;
    int k;
    unsigned oshift, bshift, part = 0, parts = 1, slo = 0, shi = SUBS;
    long long ocap;
    if (!PyArg_ParseTuple(args, "y*y*iOy*w*w*w*ILw*I|IIII", &codes, &offsets, &k, &subs, &caps, &used, &okeys,
                          &ocounts, &oshift, &ocap, &bloom, &bshift, &part, &parts, &slo, &shi))
        return NULL;
    int got = 0;
    if (!PyList_Check(subs) || PyList_GET_SIZE(subs) != SUBS) {
        PyErr_SetString(PyExc_ValueError, "subs must be a list of 16 buffers");
    } else {
        for (; got < SUBS; got++)
            if (PyObject_GetBuffer(PyList_GET_ITEM(subs, got), &sb[got], PyBUF_WRITABLE) < 0)
                break;
    }
    if (got < SUBS) {
        for (int i = 0; i < got; i++)
            PyBuffer_Release(&sb[i]);
        PyBuffer_Release(&codes); PyBuffer_Release(&offsets); PyBuffer_Release(&caps); PyBuffer_Release(&used);
        PyBuffer_Release(&okeys); PyBuffer_Release(&ocounts); PyBuffer_Release(&bloom);
        return NULL;
    }
    unsigned n2 = 2u * (unsigned)k;
    const int64_t *Q = caps.buf, *CAP = Q + SUBS;
    int64_t *U = used.buf;
    qtab_t T[SUBS];
    for (int i = 0; i < SUBS; i++)
        T[i] = qtab(sb[i].buf, n2, (unsigned)Q[i]);
    const uint8_t *c = codes.buf;
    const int64_t *off = offsets.buf;
    Py_ssize_t n = offsets.len / 8 - 1, done = n;
    uint64_t *OK = okeys.buf;
    uint32_t *OC = ocounts.buf;
    uint64_t omask = (uint64_t)(okeys.len / 8) - 1;
    uint64_t *B = bloom.len ? bloom.buf : NULL;
    long long added = 0, seen = 0, pending = 0, budget = -1;
    ovf_t ov = {OK, OC, omask, oshift, 0, U + SUBS};
    enum { WIN = 64 };
    uint64_t win[WIN], hw[WIN];
    Py_BEGIN_ALLOW_THREADS
    int m = 0;
    for (Py_ssize_t r = 0; r <= n; r++) {
        roller_t ro = roller(k);
        int64_t lo = r < n ? off[r] : 0, hi = r < n ? off[r + 1] : 0;
        if (r < n && budget < pending + (hi - lo)) {  /* the least room of a sub-table, recomputed */
            budget = ocap - ov.added;
            for (int i = 0; i < SUBS; i++)
                if (CAP[i] - U[i] < budget)
                    budget = CAP[i] - U[i];
            if (budget < pending + (hi - lo)) {
                done = r;
                hi = lo;
            }
        }
        for (int64_t i = lo; i <= hi; i++) {
            int flush = (i == hi && (r == n || done < n)) || m == WIN;
            if (flush && m) {
                for (int t = 0; t < m; t++) {
                    uint64_t v = win[t], h = hw[t];
                    if (B) {
                        __builtin_prefetch(&B[((v * MULT) >> bshift) >> 6]);
                        __builtin_prefetch(&B[(bloom_hash2(v) >> bshift) >> 6]);
                    }
                    unsigned s = (unsigned)(h >> (n2 - SUB_BITS));
                    if (s >= slo && s < shi)
                        __builtin_prefetch(T[s].p + ((h >> T[s].r) & T[s].qmask) * T[s].w);
                }
                for (int t = 0; t < m; t++) {
                    uint64_t v = win[t], h = hw[t];
                    seen++;
                    if (B && !bloom_seen(B, bshift, v))
                        continue;
                    unsigned s = (unsigned)(h >> (n2 - SUB_BITS));
                    if (s < slo || s >= shi)  /* another pass counts it; its filter bits are set all the same */
                        continue;
                    int a = qadd(&T[s], h, v, &ov);
                    U[s] += a == 1;
                    added += a != 0;
                    budget--;
                }
                m = 0;
                pending = 0;
            }
            if (i == hi)
                break;
            uint64_t v;
            if (roll(&ro, c[i], &v) && part_of(v, parts) == part) {
                hw[m] = mix(v, n2);
                win[m++] = v;
                pending++;
            }
        }
        if (done < n)
            break;
    }
    Py_END_ALLOW_THREADS
    for (int i = 0; i < SUBS; i++)
        PyBuffer_Release(&sb[i]);
    PyBuffer_Release(&codes); PyBuffer_Release(&offsets); PyBuffer_Release(&caps); PyBuffer_Release(&used);
    PyBuffer_Release(&okeys); PyBuffer_Release(&ocounts); PyBuffer_Release(&bloom);
    return Py_BuildValue("LLLn", added, ov.added, seen, done);
}

/* regrow(old, q, new, new_q, k, sub, okeys, ocounts, oshift, ocap) -> (kept, new_in_overflow, moved):
 * move sub-table `sub`'s slots into a larger empty one; a k-mer whose run there is too
 * long leaves it for the overflow (moved; new_in_overflow -1: more than ocap new ones there,
 * the caller grows the overflow and calls again with an empty new table). */
static PyObject *regrow(PyObject *self, PyObject *args)
{
    Py_buffer ob, nb, okeys, ocounts;
    unsigned q, nq, sub, oshift;
    int k;
    long long ocap;
    if (!PyArg_ParseTuple(args, "y*Iw*IiIw*w*IL", &ob, &q, &nb, &nq, &k, &sub, &okeys, &ocounts, &oshift, &ocap))
        return NULL;
    unsigned n2 = 2u * (unsigned)k;
    qtab_t o = qtab(ob.buf, n2, q), t = qtab(nb.buf, n2, nq);
    uint64_t *OK = okeys.buf;
    uint32_t *OC = ocounts.buf;
    uint64_t omask = (uint64_t)(okeys.len / 8) - 1;
    long long kept = 0, over = 0, moved = 0;
    Py_BEGIN_ALLOW_THREADS
    for (uint64_t j = 0; j <= o.qmask; j++) {
        uint64_t x = qload(&o, j), c = x & 255;
        if (!c)
            continue;
        uint64_t home = (j - ((x >> 8) & o.dmask)) & o.qmask;
        uint64_t h = ((uint64_t)sub << (n2 - SUB_BITS)) | (home << o.r) | (x >> (8 + o.d));
        uint64_t nhome = (h >> t.r) & t.qmask, rem = h & nmask(t.r), d = 0;
        for (; d <= t.dmax; d++) {
            uint64_t i = (nhome + d) & t.qmask;
            if (!(qload(&t, i) & 255)) {
                qstore(&t, i, (rem << (8 + t.d)) | (d << 8) | c);
                kept++;
                break;
            }
        }
        if (d <= t.dmax)
            continue;
        moved++;
        if (c < 255) {  /* (a count of 255 is in the overflow already) */
            if (over >= ocap) {
                over = -1;
                break;
            }
            over += table_set(OK, OC, omask, oshift, unmix(h, n2), (uint32_t)c);
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&ob); PyBuffer_Release(&nb); PyBuffer_Release(&okeys); PyBuffer_Release(&ocounts);
    return Py_BuildValue("LLL", kept, over, moved);
}

/* export(sub_table, q, k, sub, out, count_bits) -> written: the k-mers of a sub-table whose
 * count is below 255 (the others are the overflow's), as (key << count_bits) | count in
 * uint64 out (count_bits 0: the keys alone; then counts go to a second uint32 buffer
 * passed as out2). */
static PyObject *export(PyObject *self, PyObject *args)
{
    Py_buffer tb, out, out2;
    unsigned q, sub, bits;
    int k;
    if (!PyArg_ParseTuple(args, "y*IiIw*Iw*", &tb, &q, &k, &sub, &out, &bits, &out2))
        return NULL;
    unsigned n2 = 2u * (unsigned)k;
    qtab_t t = qtab(tb.buf, n2, q);
    uint64_t *O = out.buf;
    uint32_t *O2 = out2.buf;
    Py_ssize_t cap = out.len / 8, m = 0;
    Py_BEGIN_ALLOW_THREADS
    for (uint64_t j = 0; j <= t.qmask && m < cap; j++) {
        uint64_t x = qload(&t, j), c = x & 255;
        if (!c || c == 255)
            continue;
        uint64_t home = (j - ((x >> 8) & t.dmask)) & t.qmask;
        uint64_t v = unmix(((uint64_t)sub << (n2 - SUB_BITS)) | (home << t.r) | (x >> (8 + t.d)), n2);
        if (bits)
            O[m++] = (v << bits) | c;
        else {
            O2[m] = (uint32_t)c;
            O[m++] = v;
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&tb); PyBuffer_Release(&out); PyBuffer_Release(&out2);
    return PyLong_FromSsize_t(m);
}

static PyObject *rehash(PyObject *self, PyObject *args)
{
    Py_buffer keys, counts, nkeys, ncounts;
    unsigned nshift;
    if (!PyArg_ParseTuple(args, "y*y*w*w*I", &keys, &counts, &nkeys, &ncounts, &nshift))
        return NULL;
    const uint64_t *K = keys.buf;
    const uint32_t *C = counts.buf;
    uint64_t *NK = nkeys.buf;
    uint32_t *NC = ncounts.buf;
    Py_ssize_t m = keys.len / 8;
    uint64_t nmask = (1ULL << (64 - nshift)) - 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < m; i++) {
        if (K[i] == EMPTY)
            continue;
        uint64_t h = (K[i] * MULT) >> nshift;
        while (NK[h] != EMPTY)
            h = (h + 1) & nmask;
        NK[h] = K[i];
        NC[h] = C[i];
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&keys);
    PyBuffer_Release(&counts);
    PyBuffer_Release(&nkeys);
    PyBuffer_Release(&ncounts);
    Py_RETURN_NONE;
}

/* counts of n canonical k-mers, prefetched a batch ahead in two stages (bucket offsets, then
 * entries): the lookups are independent, so their cache misses overlap instead of queueing */
#define PF 16
static void find_counts(const uint64_t *v, Py_ssize_t n, const cindex_t *ix, int64_t *out)
{
    for (Py_ssize_t i = 0; i < n && i < PF; i++)
        cindex_prefetch(ix, v[i]);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i + PF < n)
            cindex_prefetch(ix, v[i + PF]);
        if (i + PF / 2 < n)
            cindex_prefetch_entries(ix, v[i + PF / 2]);
        out[i] = cindex_count(ix, v[i]);
    }
}

typedef struct {
    const uint8_t *c; int64_t *o; Py_ssize_t w; int k, largest;
    const cindex_t *ix;
    uint64_t *vals; int64_t *cnts; Py_ssize_t *at, *dq;  /* per thread: (w + 1) entries each */
} cover_ctx;

/* rows [start, stop): out[j] = min (max) count of the k-mers covering j, by a monotonic deque
 * over the k-mers in end order (the covering k-mers of j are those ending in [j, j + k - 1]) */
static void cover_rows(void *arg, ptrdiff_t start, ptrdiff_t stop, int t)
{
    const cover_ctx *x = (const cover_ctx *)arg;
    const Py_ssize_t w = x->w, off = (Py_ssize_t)t * (w + 1);
    uint64_t *vals = x->vals + off;
    int64_t *cnts = x->cnts + off;
    Py_ssize_t *at = x->at + off, *dq = x->dq + off;
    for (Py_ssize_t r = start; r < stop; r++) {
        const uint8_t *row = x->c + r * w;
        int64_t *orow = x->o + r * w;
        roller_t ro = roller(x->k);
        Py_ssize_t m = 0;
        for (Py_ssize_t i = 0; i < w; i++)
            if (roll(&ro, row[i], &vals[m]))
                at[m++] = i;
        find_counts(vals, m, x->ix, cnts);
        Py_ssize_t head = 0, tail = 0, next = 0;  /* deque dq[head..tail) of k-mer indices */
        for (Py_ssize_t j = 0; j < w; j++) {
            while (next < m && at[next] <= j + x->k - 1) {
                int64_t v = cnts[next];
                while (tail > head && (x->largest ? cnts[dq[tail - 1]] <= v : cnts[dq[tail - 1]] >= v))
                    tail--;
                dq[tail++] = next++;
            }
            while (tail > head && at[dq[head]] < j)
                head++;
            orow[j] = tail > head ? cnts[dq[head]] : -1;
        }
    }
}

static PyObject *cover_min(PyObject *self, PyObject *args)
{
    Py_buffer codes, out;
    PyObject *index;
    Py_ssize_t n, w;
    int k, largest = 0, threads = 1;
    if (!PyArg_ParseTuple(args, "y*nniOw*|pi", &codes, &n, &w, &k, &index, &out, &largest, &threads))
        return NULL;
    cindex_t ix;
    if (cindex_parse(index, k, &ix) < 0) {
        PyBuffer_Release(&codes);
        PyBuffer_Release(&out);
        return NULL;
    }
    threads = rows_threads(n, threads);
    size_t each = (size_t)threads * (size_t)(w + 1);
    cover_ctx x = {codes.buf, out.buf, w, k, largest, &ix, malloc(sizeof(uint64_t) * each),
                   malloc(sizeof(int64_t) * each), malloc(sizeof(Py_ssize_t) * each), malloc(sizeof(Py_ssize_t) * each)};
    int oom = !x.vals || !x.cnts || !x.at || !x.dq;
    if (!oom) {
        Py_BEGIN_ALLOW_THREADS
        run_rows(n, threads, cover_rows, &x);
        Py_END_ALLOW_THREADS
    }
    free(x.vals); free(x.cnts); free(x.at); free(x.dq);
    cindex_release(&ix);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&out);
    if (oom)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static inline uint64_t kmer_at(const uint8_t *row, int j, int k, int *ok)
{
    uint64_t f = 0, r = 0;
    for (int i = 0; i < k; i++) {
        uint8_t b = row[j + i];
        if (b > 3) { *ok = 0; return 0; }
        f = (f << 2) | b;
        r |= (uint64_t)(3 - b) << (2 * i);
    }
    *ok = 1;
    return f < r ? f : r;
}

typedef struct { const cindex_t *cx; int k; } index_t;

static inline int64_t count_at(const index_t *ix, const uint8_t *row, int j)
{
    int ok;
    uint64_t v = kmer_at(row, j, ix->k, &ok);
    return ok ? cindex_count(ix->cx, v) : -1;
}

/* solid k-mers in a row from start j0 stepping by dir, stopping at the first weak one (at most limit) */
static int run_len(const index_t *ix, const uint8_t *row, int j0, int dir, int nk, int limit, int64_t solid)
{
    int n = 0;
    for (int j = j0; j >= 0 && j < nk && n < limit; j += dir, n++)
        if (count_at(ix, row, j) < solid)
            break;
    return n;
}

/* a walk's parameters, fixed for one call of extend */
typedef struct {
    const index_t *ix; int64_t solid; int nk, min_run, depth, weight, margin, max_q;
} walk_t;

/* the best continuation from k-mer j0 going dir (at most limit k-mers): reach = solid k-mers,
 * cost = summed quality of the further substitutions made (at most depth of them, each at
 * the entering base of the first weak k-mer met, only at bases of quality < max_q); the
 * score weight * reach - cost decides between continuations */
typedef struct { int reach, cost; } path_t;

static inline int score(const walk_t *wk, path_t a) { return wk->weight * a.reach - a.cost; }

static path_t reach(const walk_t *wk, uint8_t *row, const uint8_t *qual, int j0, int dir, int limit, int depth)
{
    path_t best = {run_len(wk->ix, row, j0, dir, wk->nk, limit, wk->solid), 0};
    int r = best.reach;
    if (r == 0 || r >= limit || depth == 0)
        return best;  /* r == 0: the weak k-mer's entering base is the one being tried */
    int j = j0 + dir * r, p = dir > 0 ? j + wk->ix->k - 1 : j;
    int q = qual ? qual[p] : 0;
    if (q >= wk->max_q)
        return best;
    uint8_t orig = row[p];
    for (uint8_t b = 0; b < 4; b++) {
        if (b == orig)
            continue;
        row[p] = b;
        path_t sub = reach(wk, row, qual, j, dir, limit - r, depth - 1);
        path_t e = {r + sub.reach, q + sub.cost};
        if (score(wk, e) > score(wk, best))
            best = e;
    }
    row[p] = orig;
    return best;
}

/* A rival explanation of the weak k-mer j0 (its entering base p about to change): one
 * substitution at another base c of that k-mer, of quality at most p's, that makes solid
 * every k-mer covering c and the `run` k-mers from j0 going dir that the change at p makes
 * solid. This is the read of one repeat copy with an error at c, against the read of the
 * other copy, which differs from it at p. Returns the cheapest such c (its base in *base),
 * -1 when there is none; *tied is set when another rival, or p itself, is as cheap. */
static int rival(const walk_t *wk, uint8_t *row, const uint8_t *qual, int p, int j0, int dir, int run,
                 uint8_t *base, int *tied)
{
    const index_t *ix = wk->ix;
    int k = ix->k, nk = wk->nk, found = -1, found_q = 0;
    int qp = qual ? qual[p] : 0;
    int first = dir > 0 ? j0 : p + 1, last = dir > 0 ? p - 1 : j0 + k - 1;
    *tied = 0;
    for (int c = first; c <= last; c++) {
        int qc = qual ? qual[c] : 0;
        uint8_t orig = row[c];
        if (qc > qp || orig > 3)
            continue;
        for (uint8_t b = 0; b < 4; b++) {
            if (b == orig)
                continue;
            row[c] = b;
            if (count_at(ix, row, j0) >= wk->solid) {
                int lo = dir > 0 ? (c - k + 1 < 0 ? 0 : c - k + 1) : j0 - run + 1;
                int hi = dir > 0 ? j0 + run - 1 : (c < nk - 1 ? c : nk - 1);
                if (run_len(ix, row, lo, +1, nk, hi - lo + 1, wk->solid) == hi - lo + 1) {
                    if (found >= 0 && qc == found_q) {
                        *tied = 1;
                    } else if (found < 0 || qc < found_q) {
                        found = c; found_q = qc; *base = b; *tied = 0;
                    }
                }
            }
        }
        row[c] = orig;
    }
    if (found >= 0 && found_q == qp)
        *tied = 1;
    return found;
}

/* try the 3 other bases at position p; the k-mers checked start at j0 going dir. The base
 * whose best continuation scores highest is taken when it reaches at least min(min_run, the
 * k-mers left) k-mers and scores at least `margin` above every other base, unless a rival
 * (above) explains the weak k-mer as well: a cheaper one is taken instead, an equal one
 * leaves the read as it is. Returns the position changed, or -1 */
static int try_fix(const walk_t *wk, uint8_t *row, const uint8_t *qual, int p, int j0, int dir)
{
    int left = dir > 0 ? wk->nk - j0 : j0 + 1;
    int limit = left < wk->ix->k ? left : wk->ix->k;
    int need = limit < wk->min_run ? limit : wk->min_run;
    uint8_t orig = row[p];  /* an N (> 3) is a suspect like any other base */
    int best = -1, best_score = 0, second = 0;
    path_t best_path = {0, 0};
    for (uint8_t b = 0; b < 4; b++) {
        if (b == orig)
            continue;
        row[p] = b;
        path_t e = reach(wk, row, qual, j0, dir, limit, wk->depth);
        int sc = e.reach > 0 ? score(wk, e) : 0;
        if (best < 0 || sc > best_score) {
            second = best < 0 ? 0 : best_score;
            best = b; best_score = sc; best_path = e;
        } else if (sc > second) {
            second = sc;
        }
    }
    if (best_path.reach < need || best_score - second < wk->margin) {
        row[p] = orig;
        return -1;
    }
    row[p] = (uint8_t)best;
    int run = run_len(wk->ix, row, j0, dir, wk->nk, limit, wk->solid);
    row[p] = orig;
    uint8_t rb = 0;
    int tied = 0, c = run > 0 ? rival(wk, row, qual, p, j0, dir, run, &rb, &tied) : -1;
    if (c >= 0) {
        if (tied)
            return -1;
        row[c] = rb;
        return c;
    }
    /* a high-quality base is changed only when k solid k-mers confirm it: near a read's end
     * fewer k-mers cover it, and a repeat copy differing there explains the read as well */
    if (qual && qual[p] >= wk->max_q && best_path.reach < wk->ix->k)
        return -1;
    row[p] = (uint8_t)best;
    return p;
}

/* counts of the k-mers of row covering position p (k-mers [lo, hi]) after it changed */
static void recount(const index_t *ix, const uint8_t *row, int p, int nk, int64_t *cnt)
{
    int lo = p - ix->k + 1 < 0 ? 0 : p - ix->k + 1, hi = p < nk - 1 ? p : nk - 1;
    for (int j = lo; j <= hi; j++)
        cnt[j] = count_at(ix, row, j);
}

/* one walk over a row (rightwards from its longest run of solid k-mers, then leftwards); cnt[j] holds
 * the count of k-mer j and is kept up to date; returns the edits made */
static int walk_row(const walk_t *wk, uint8_t *row, const uint8_t *qual, int64_t *cnt, int budget)
{
    const index_t *ix = wk->ix;
    int nk = wk->nk, k = ix->k, made = 0, first = -1, longest = 0;
    /* the anchor: the longest run of solid k-mers (the first run when several are as long); an
     * error can make a few k-mers that another copy of the genome holds, a short solid run that
     * is not the read's */
    for (int j = 0, run = 0; j < nk; j++) {
        run = cnt[j] >= wk->solid ? run + 1 : 0;
        if (run > longest) { longest = run; first = j - run + 1; }
    }
    if (first < 0)
        return 0;
    int prev_solid = 1;
    for (int j = first + 1; j < nk && made < budget; j++) {
        int s = cnt[j] >= wk->solid;
        int c;
        if (!s && prev_solid && (c = try_fix(wk, row, qual, j + k - 1, j, +1)) >= 0) {
            recount(ix, row, c, nk, cnt);
            made++;
            s = 1;
        }
        prev_solid = s;
    }
    prev_solid = 1;
    for (int j = first - 1; j >= 0 && made < budget; j--) {
        int s = cnt[j] >= wk->solid;
        int c;
        if (!s && prev_solid && (c = try_fix(wk, row, qual, j, j, -1)) >= 0) {
            recount(ix, row, c, nk, cnt);
            made++;
            s = 1;
        }
        prev_solid = s;
    }
    return made;
}

typedef struct {
    uint8_t *codes; const uint8_t *quals; const int64_t *len; Py_ssize_t w;
    uint8_t *flags;  /* per row: 1 = a weak k-mer before the walk, 2 = after it (or NULL) */
    walk_t wk; int max_edits, passes;
    uint64_t *vals; int64_t *cnts;  /* per thread: w + 1 entries each */
    long long edits[SEQFCN_MAX_THREADS];
} extend_ctx;

static void extend_rows(void *arg, ptrdiff_t start, ptrdiff_t stop, int t)
{
    extend_ctx *x = (extend_ctx *)arg;
    walk_t wk = x->wk;
    const int k = wk.ix->k;
    uint64_t *vals = x->vals + (size_t)t * (x->w + 1);
    int64_t *cnt = x->cnts + (size_t)t * (x->w + 1);
    long long edits = 0;
    for (ptrdiff_t r = start; r < stop; r++) {
        uint8_t *row = x->codes + r * x->w;
        const uint8_t *qual = x->quals ? x->quals + r * x->w : NULL;
        int L = (int)x->len[r], nk = L - k + 1, made = 0, weak = 0;
        if (x->flags)
            x->flags[r] = 0;
        if (nk < 1)
            continue;
        wk.nk = nk;
        /* all k-mer counts at once, prefetched; k-mers with an N count -1 */
        roller_t ro = roller(k);
        Py_ssize_t m = 0;
        for (int i = 0; i < L; i++) {
            if (roll(&ro, row[i], &vals[m]))
                m++;
            else if (i >= k - 1)
                vals[m++] = EMPTY;  /* placeholder: an N in this k-mer */
        }
        const index_t *ix = wk.ix;
        find_counts(vals, m, ix->cx, cnt);
        for (int j = 0; j < nk; j++) {
            if (vals[j] == EMPTY)
                cnt[j] = -1;
            weak |= cnt[j] < wk.solid;
        }
        int weak_before = weak;
        for (int pass = 0; weak && pass < x->passes && made < x->max_edits; pass++) {
            int e = walk_row(&wk, row, qual, cnt, x->max_edits - made);
            made += e;
            weak = 0;
            for (int j = 0; j < nk && !weak; j++)
                weak = cnt[j] < wk.solid;
            if (!e)
                break;
        }
        if (x->flags)
            x->flags[r] = (uint8_t)(weak_before | (weak << 1));
        edits += made;
    }
    x->edits[t] = edits;
}

static PyObject *extend(PyObject *self, PyObject *args)
{
    Py_buffer codes, lengths, quals, flags;
    PyObject *index;
    Py_ssize_t n, w;
    int k, max_edits, min_run, depth, weight, margin, max_q, passes, threads;
    long long solid_ll;
    if (!PyArg_ParseTuple(args, "w*y*nniOLiiy*iiiiiiw*", &codes, &lengths, &n, &w, &k, &index, &solid_ll,
                          &max_edits, &min_run, &quals, &depth, &weight, &margin, &max_q, &passes, &threads, &flags))
        return NULL;
    cindex_t cx;
    if (cindex_parse(index, k, &cx) < 0) {
        PyBuffer_Release(&codes);
        PyBuffer_Release(&lengths);
        PyBuffer_Release(&quals);
        PyBuffer_Release(&flags);
        return NULL;
    }
    index_t ix = {&cx, k};
    threads = rows_threads(n, threads);
    size_t each = (size_t)threads * (size_t)(w + 1);
    extend_ctx x = {codes.buf, quals.len >= (Py_ssize_t)(n * w) ? quals.buf : NULL, lengths.buf, w,
                    flags.len >= n ? flags.buf : NULL, {&ix, solid_ll, 0, min_run, depth, weight, margin, max_q}, max_edits, passes,
                    malloc(sizeof(uint64_t) * each), malloc(sizeof(int64_t) * each), {0}};
    long long edits = 0;
    if (x.vals && x.cnts) {
        Py_BEGIN_ALLOW_THREADS
        run_rows(n, threads, extend_rows, &x);
        Py_END_ALLOW_THREADS
        for (int t = 0; t < threads; t++)
            edits += x.edits[t];
    }
    int oom = !x.vals || !x.cnts;
    free(x.vals);
    free(x.cnts);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&lengths);
    cindex_release(&cx);
    PyBuffer_Release(&quals);
    PyBuffer_Release(&flags);
    if (oom)
        return PyErr_NoMemory();
    return PyLong_FromLongLong(edits);
}

/* index_build(src, cbits, counts, k, rbits, offsets, entries[, lo, base]) -> None
 * Fill a SpectrumIndex (_spectrum_index.h) from m unique canonical k-mers in any order
 * (with lo and base, a range of it: offsets is the index's offsets[lo:lo + B + 1], entries
 * its entries[base:base + m], and every k-mer falls in buckets lo..lo + B - 1):
 * src uint64 (m,) holds key << cbits | count (cbits > 0; counts empty) or the keys alone
 * (cbits = 0; counts int64 (m,)). offsets uint32 (2**(2k - rbits) + 1,), entries uint32 or
 * uint64 (m,) by their size (counts saturate at the entry's count field; negative ones are
 * 0). A counting pass, a scatter pass and a sort of each bucket (insertion: ~12 entries). */
static PyObject *index_build(PyObject *self, PyObject *args)
{
    Py_buffer src, counts, off, ent;
    unsigned cbits, rbits;
    int k;
    unsigned long long lo = 0, base = 0;
    if (!PyArg_ParseTuple(args, "y*Iy*iIw*w*|KK", &src, &cbits, &counts, &k, &rbits, &off, &ent, &lo, &base))
        return NULL;
    const uint64_t m = (uint64_t)src.len / 8, n = 2u * (unsigned)k;
    const uint64_t buckets = (uint64_t)off.len / 4;
    const int wide = m ? (uint64_t)ent.len == 8 * m : rbits > 31;  /* empty: as the layout says */
    const unsigned fbits = (wide ? 64u : 32u) - rbits;  /* the entry's count field */
    const char *err = NULL;
    if (k < 1 || k > 31 || rbits > n || buckets < 1 || lo + buckets > (1ULL << (n - rbits)) + 1
        || (PyTuple_GET_SIZE(args) < 8 && buckets != (1ULL << (n - rbits)) + 1))
        err = "offsets must hold 2**(2k - rbits) + 1 uint32 (from bucket lo: at most as many as are left)";
    else if ((uint64_t)ent.len != (wide ? 8 : 4) * m || base + m >= (1ULL << 32) || rbits + 1 > (wide ? 64u : 32u))
        err = "entries must be one uint32 or uint64 per k-mer (fewer than 2**32), wider than the remainder";
    else if (cbits == 0 && (uint64_t)counts.len != 8 * m)
        err = "counts must hold one int64 per key";
    uint32_t *cur = err ? NULL : calloc(buckets, sizeof(uint32_t));
    if (!err && !cur)
        err = "out of memory";
    if (err) {
        PyBuffer_Release(&src); PyBuffer_Release(&counts); PyBuffer_Release(&off); PyBuffer_Release(&ent);
        PyErr_SetString(err[0] == 'o' ? PyExc_MemoryError : PyExc_ValueError, err);
        return NULL;
    }
    const uint64_t *S = src.buf;
    const int64_t *C = counts.buf;
    uint32_t *O = off.buf;
    uint32_t *E4 = ent.buf;
    uint64_t *E8 = ent.buf;
    const uint64_t cmask = nmask(cbits), rmask = nmask(rbits), cap = nmask(fbits);
    int outside = 0;
    Py_BEGIN_ALLOW_THREADS
    for (uint64_t i = 0; i < m; i++) {
        uint64_t b = (mix(cbits ? S[i] >> cbits : S[i], n) >> rbits) - lo;  /* wraps when below lo */
        if (b < buckets - 1)
            cur[b]++;
        else
            outside = 1;
    }
    O[0] = (uint32_t)base;
    for (uint64_t b = 0; b + 1 < buckets; b++) {
        O[b + 1] = O[b] + cur[b];
        cur[b] = O[b] - (uint32_t)base;  /* entries hold this range only */
    }
    for (uint64_t i = 0; i < m && !outside; i++) {
        uint64_t h = mix(cbits ? S[i] >> cbits : S[i], n);
        int64_t c = cbits ? (int64_t)(S[i] & cmask) : C[i];
        uint64_t x = (h & rmask) << fbits | (c < 0 ? 0 : (uint64_t)c > cap ? cap : (uint64_t)c);
        uint32_t j = cur[(h >> rbits) - lo]++;
        if (wide) E8[j] = x; else E4[j] = (uint32_t)x;
    }
    for (uint64_t b = 0; b + 1 < buckets && !outside; b++)  /* insertion sort of each bucket (distinct remainders) */
        for (uint64_t i = (uint64_t)O[b] - base + 1; i < O[b + 1] - base; i++) {
            uint64_t x = wide ? E8[i] : E4[i], j = i;
            for (; j > (uint64_t)O[b] - base; j--) {
                uint64_t y = wide ? E8[j - 1] : E4[j - 1];
                if (y <= x)
                    break;
                if (wide) E8[j] = y; else E4[j] = (uint32_t)y;
            }
            if (wide) E8[j] = x; else E4[j] = (uint32_t)x;
        }
    Py_END_ALLOW_THREADS
    free(cur);
    PyBuffer_Release(&src); PyBuffer_Release(&counts); PyBuffer_Release(&off); PyBuffer_Release(&ent);
    if (outside) {
        PyErr_SetString(PyExc_ValueError, "a k-mer falls outside the buckets given");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* One FASTQ record at p: its four lines (without their '\n'). 1: complete; 0: the buffer
 * ends inside it; -1: p is not a '@' header. */
typedef struct { const uint8_t *head, *seq, *plus, *qual, *next; size_t hlen, slen, plen, qlen; } fq_rec;

static int next_record(const uint8_t *p, const uint8_t *end, fq_rec *r)
{
    if (p >= end || *p != '@')
        return p >= end ? 0 : -1;
    const uint8_t *line = p, *nl;
    const uint8_t **starts[4] = {&r->head, &r->seq, &r->plus, &r->qual};
    size_t *lens[4] = {&r->hlen, &r->slen, &r->plen, &r->qlen};
    for (int i = 0; i < 4; i++) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            return 0;
        *starts[i] = line;
        *lens[i] = (size_t)(nl - line);
        line = nl + 1;
    }
    r->next = line;
    return 1;
}

static PyObject *parse_fastq(PyObject *self, PyObject *args)
{
    Py_buffer buf, codes, offsets;
    if (!PyArg_ParseTuple(args, "y*w*w*", &buf, &codes, &offsets))
        return NULL;
    static uint8_t table[256];
    static int ready = 0;
    if (!ready) {
        memset(table, 4, sizeof table);
        table['A'] = table['a'] = 0;
        table['C'] = table['c'] = 1;
        table['G'] = table['g'] = 2;
        table['T'] = table['t'] = 3;
        table['U'] = table['u'] = 3;
        ready = 1;
    }
    const uint8_t *p = buf.buf, *end = p + buf.len, *start = p;
    uint8_t *c = codes.buf;
    int64_t *off = offsets.buf;
    long long n = 0, bad = -1;
    int64_t pos = 0;
    fq_rec r;
    int got;
    Py_BEGIN_ALLOW_THREADS
    off[0] = 0;
    while ((got = next_record(p, end, &r)) == 1) {
        size_t slen = r.slen, qlen = r.qlen;
        if (slen && r.seq[slen - 1] == '\r') slen--;
        if (qlen && r.qual[qlen - 1] == '\r') qlen--;
        if (*r.plus != '+' || slen != qlen) { bad = n; break; }
        for (size_t i = 0; i < slen; i++)
            c[pos + i] = table[r.seq[i]];
        pos += (int64_t)slen;
        off[++n] = pos;
        p = r.next;
    }
    if (got < 0) bad = n;
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    PyBuffer_Release(&codes);
    PyBuffer_Release(&offsets);
    if (bad >= 0)
        return Py_BuildValue("LL", -1LL, bad);
    return Py_BuildValue("LL", (long long)(p - start), n);
}

/* Whether a complete record is in the canonical layout the block path writes back byte for
 * byte: "@name[ comment]" (printable ASCII, a non-empty name, one space after it, no trailing
 * space), bases all `valid`, a bare "+", as many qualities in [phred, 126], no '\r'. */
static int canonical(const fq_rec *r, const uint8_t *valid, int phred)
{
    if (r->hlen < 2 || r->head[1] == ' ' || r->head[r->hlen - 1] == ' ')
        return 0;
    int spaces = 0;
    for (size_t i = 1; i < r->hlen; i++) {
        uint8_t b = r->head[i];
        if (b < ' ' || b > '~') return 0;
        if (b == ' ' && !spaces++ && r->head[i + 1] == ' ') return 0;
    }
    if (r->plen != 1 || r->qlen != r->slen)
        return 0;
    for (size_t i = 0; i < r->slen; i++)
        if (!valid[r->seq[i]] || r->qual[i] < phred || r->qual[i] > 126)
            return 0;
    return 1;
}

static PyObject *fastq_spans(PyObject *self, PyObject *args)
{
    Py_buffer buf, valid, spans;
    Py_ssize_t offset, max_records;
    int phred;
    if (!PyArg_ParseTuple(args, "y*nniy*w*", &buf, &offset, &max_records, &phred, &valid, &spans))
        return NULL;
    if (valid.len != 256 || spans.len < max_records * 4 * (Py_ssize_t)sizeof(int64_t) || offset < 0
        || offset > buf.len) {
        PyBuffer_Release(&buf); PyBuffer_Release(&valid); PyBuffer_Release(&spans);
        PyErr_SetString(PyExc_ValueError, "fastq_spans: bad buffer sizes");
        return NULL;
    }
    const uint8_t *base = buf.buf, *p = base + offset, *end = base + buf.len, *ok = valid.buf;
    int64_t *sp = spans.buf;
    long long n = 0, maxlen = 0, bad = -1;
    fq_rec r;
    Py_BEGIN_ALLOW_THREADS
    while (n < max_records) {
        int got = next_record(p, end, &r);
        if (got == 0) break;
        if (got < 0 || !canonical(&r, ok, phred)) { bad = n; break; }
        sp[4 * n] = p - base;
        sp[4 * n + 1] = r.seq - base;
        sp[4 * n + 2] = (int64_t)r.slen;
        sp[4 * n + 3] = r.next - base;
        if ((long long)r.slen > maxlen) maxlen = (long long)r.slen;
        n++;
        p = r.next;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf);
    PyBuffer_Release(&valid);
    PyBuffer_Release(&spans);
    return Py_BuildValue("LLLL", (long long)(p - base), n, maxlen, bad);
}

static PyObject *fill_rows(PyObject *self, PyObject *args)
{
    Py_buffer buf, spans, table, codes, quals;
    Py_ssize_t n, w;
    int phred;
    if (!PyArg_ParseTuple(args, "y*y*nny*iw*w*", &buf, &spans, &n, &w, &table, &phred, &codes, &quals))
        return NULL;
    if (table.len != 256 || spans.len < n * 4 * (Py_ssize_t)sizeof(int64_t) || codes.len < n * w || quals.len < n * w) {
        PyBuffer_Release(&buf); PyBuffer_Release(&spans); PyBuffer_Release(&table);
        PyBuffer_Release(&codes); PyBuffer_Release(&quals);
        PyErr_SetString(PyExc_ValueError, "fill_rows: bad buffer sizes");
        return NULL;
    }
    const uint8_t *b = buf.buf, *t = table.buf;
    const int64_t *sp = spans.buf;
    uint8_t *c = codes.buf, *q = quals.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint8_t *s = b + sp[4 * i + 1];
        int64_t len = sp[4 * i + 2];
        const uint8_t *qs = s + len + 3;  /* after the bases' '\n', "+" and its '\n' */
        uint8_t *ci = c + i * w, *qi = q + i * w;
        for (int64_t j = 0; j < len; j++) {
            ci[j] = t[s[j]];
            qi[j] = (uint8_t)(qs[j] - phred);
        }
        memset(ci + len, 4, (size_t)(w - len));
        memset(qi + len, 0, (size_t)(w - len));
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&buf); PyBuffer_Release(&spans); PyBuffer_Release(&table);
    PyBuffer_Release(&codes); PyBuffer_Release(&quals);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"parse_fastq", parse_fastq, METH_VARARGS, "Split complete 4-line FASTQ records of a buffer into codes."},
    {"fastq_spans", fastq_spans, METH_VARARGS, "Find the canonical 4-line FASTQ records of a buffer."},
    {"fill_rows", fill_rows, METH_VARARGS, "Padded codes and qualities of FASTQ records found by fastq_spans."},
    {"count", count, METH_VARARGS, "Count canonical k-mers of concatenated reads into a quotiented table."},
    {"regrow", regrow, METH_VARARGS, "Move a quotiented sub-table into a larger one."},
    {"export", export, METH_VARARGS, "The k-mers and counts of a quotiented sub-table."},
    {"rehash", rehash, METH_VARARGS, "Move a table's entries into a larger one."},
    {"cover_min", cover_min, METH_VARARGS, "Per base, the smallest count of the k-mers covering it."},
    {"extend", extend, METH_VARARGS, "Spectrum-guided substitutions walking out of solid k-mers."},
    {"index_build", index_build, METH_VARARGS, "Fill a SpectrumIndex from k-mers and counts."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kmercount", NULL, -1, methods};

PyMODINIT_FUNC PyInit__kmercount(void) { return PyModule_Create(&module); }
