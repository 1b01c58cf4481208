/* PWM scan hot loop for seqfcn.pwm.CScorer: integer q-mer block lookups with lookahead.
 *
 * seed_masks(q, tables, offsets, needs, first, nblocks) -> bytes
 *     the (SEED, ceil(F / 64), 4**q) uint64 seed masks of the filters (see build_masks),
 *     made once per motif set.
 * scan_hits(codes, n_windows, q, tables, offsets, needs, first, nblocks, widths, masks)
 *     -> (starts, filters, scores)
 *
 *   codes:    bytes-like, (L,) uint8 base codes: 0-3 = A, C, G, T, >= 4 for anything else.
 *   n_windows: windows start at 0 .. n_windows - 1.
 *   q:        bases per lookup block (1..8); a block's code is the q bases read from its
 *             offset, first base most significant (code = code * 4 + base), non-ACGT read as A.
 *   tables:   (B, 4**q) int32: per block, the integer score of every q-mer (columns past
 *             the block's own width score 0).
 *   offsets:  (B,) int32 column offset of each block inside the window.
 *   needs:    (B,) int32: the partial sum after a block must be >= its need to go on
 *             (threshold minus the best score the filter's later blocks can add); the
 *             last block's need is the filter's threshold.
 *   first, nblocks: (F,) int32: filter f uses blocks first[f] .. first[f] + nblocks[f] - 1,
 *             in evaluation order.
 *   widths:   (F,) int32 filter widths.
 *   masks:    seed_masks(...) of the same blocks.
 *
 *   Returns three bytes objects holding int64 arrays of one length n: window start,
 *   filter index and the window's exact integer score, for every window whose score is
 *   >= the filter's threshold and whose w bases are all A/C/G/T and inside codes
 *   (grouped by 64 filters, then by the position of the first block; callers sort).
 *   Requires L >= n_windows + offsets[first[f]] + SEED * q - 1 for every filter and
 *   L >= n_windows + offsets[b] + q - 1 for every block. Sums are exact int32 arithmetic
 *   (the caller checks the ranges). The GIL is released while scanning.
 *
 * exact_scores(codes, starts, filters, int_matrices, float_matrices, widths, W)
 *     -> (ints, floats, has_n): PWMSet.exact_scores in C (numpy's float summation replicated).
 *
 * score_pmf(int_matrix, background) -> bytes: pwm.score_distribution's DP in C (same operations).
 *
 * site_bytes(text, starts, widths, minus, complement) -> bytes: the sites concatenated, each on
 *     its motif's strand (hitblock.site_bytes in C).
 *
 * format_hits(chrom, chroms, chrom_off, starts, ends, motif, names, name_off, ids, id_off, minus, scores,
 *             pq, pq_text, pq_off, seq, seq_off) -> bytes
 *     BED lines "chrom start end name score strand p\tq sequence id\n" of n hits: chrom/motif/pq
 *     (int32) index the tables chroms/names/ids/pq_text (bytes, cut at the int64 *_off, k + 1
 *     entries); starts/ends int64; minus uint8; scores float64 written as Python's f"{x:.4f}"
 *     (fixed point, the rare ties and huge values through printf, which rounds exactly as
 *     Python does); seq the sites' bytes cut at seq_off (n + 1). The GIL is released.
 *
 * How: every position's q-mer code is computed once. Up to SEED leading blocks of each
 * filter that lie next to each other (offsets o, o + q, o + 2q) form its seed; for each,
 * a 64-bit mask per q-mer and per group of 64 filters marks the filters that can still
 * reach their threshold whatever the other blocks hold. At each position one AND of
 * SEED lookups per group leaves the few filters worth scoring; those windows are summed
 * block by block and dropped as soon as the lookahead bound fails (MOODS' idea).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef SEED
#define SEED 3 /* leading adjacent blocks tested through the 64-filter bit masks (2: 1.4x, 4: 1.1x slower) */
#endif
#if SEED < 1
#error "SEED must be >= 1"
#endif

static inline unsigned lowest_bit(uint64_t m) /* index of the lowest set bit; m != 0 */
{
#if defined(__GNUC__) || defined(__clang__)
    return (unsigned)__builtin_ctzll(m);
#else
    unsigned k = 0;
    while (!(m & 1u)) {
        m >>= 1;
        k++;
    }
    return k;
#endif
}

typedef struct {
    int64_t *start, *filter, *score;
    size_t n, cap;
} hits_t;

static int push(hits_t *h, int64_t start, int64_t filter, int64_t score)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 1024;
        int64_t *a = realloc(h->start, cap * sizeof(int64_t));
        if (!a) return -1;
        h->start = a;
        a = realloc(h->filter, cap * sizeof(int64_t));
        if (!a) return -1;
        h->filter = a;
        a = realloc(h->score, cap * sizeof(int64_t));
        if (!a) return -1;
        h->score = a;
        h->cap = cap;
    }
    h->start[h->n] = start;
    h->filter[h->n] = filter;
    h->score[h->n] = score;
    h->n++;
    return 0;
}

static int window_clean(const uint8_t *bases, size_t len, size_t i, size_t w)
{
    if (i + w > len) return 0;
    for (size_t j = 0; j < w; j++)
        if (bases[i + j] > 3) return 0;
    return 1;
}

/* The seed masks of all filters into masks, (SEED, ceil(F / 64), 4**q) uint64 zeroed:
 * bit f % 64 of masks[s][f / 64][c] says that q-mer c, read at offset o + s q (o: the
 * first block's offset), leaves filter f able to reach its threshold, given the best the
 * filter's other blocks can add. Each is necessary, so a window is looked at only where
 * the AND of the SEED lookups keeps its bit. Block s of a filter is a seed block when it
 * lies at o + s q; otherwise (and past the filter's last block) its mask passes all. */
static void build_masks(int q, const int32_t *tables, const int32_t *offsets, const int32_t *needs,
                        const int32_t *first, const int32_t *nblocks, size_t nfilt, uint64_t *masks)
{
    const size_t size = (size_t)1 << (2 * q);
    const size_t ngroups = (nfilt + 63) / 64;
    for (size_t f = 0; f < nfilt; f++) {
        const int32_t b0 = first[f], nb = nblocks[f];
        const int64_t thr = needs[b0 + nb - 1];
        int64_t total = 0, best[SEED] = {0};
        for (int32_t k = 0; k < nb; k++) {
            const int32_t *t = tables + (size_t)(b0 + k) * size;
            int32_t mx = t[0];
            for (size_t c = 1; c < size; c++)
                if (t[c] > mx) mx = t[c];
            total += mx;
            if (k < SEED) best[k] = mx;
        }
        const uint64_t bit = (uint64_t)1 << (f % 64);
        for (int32_t k = 0; k < SEED; k++) {
            uint64_t *mk = masks + ((size_t)k * ngroups + f / 64) * size;
            if (k < nb && offsets[b0 + k] == offsets[b0] + k * q) {
                const int32_t *t = tables + (size_t)(b0 + k) * size;
                const int64_t need = thr - (total - best[k]);
                for (size_t c = 0; c < size; c++)
                    if (t[c] >= need) mk[c] |= bit;
            } else {
                for (size_t c = 0; c < size; c++)
                    mk[c] |= bit;
            }
        }
    }
}

static int scan(const uint8_t *bases, size_t len, size_t n, int q, const int32_t *tables,
                const int32_t *offsets, const int32_t *needs, const int32_t *first,
                const int32_t *nblocks, const int32_t *widths, size_t nfilt, const uint64_t *masks,
                hits_t *out)
{
    size_t ncodes = len - (size_t)q + 1;
    uint16_t *codes = malloc(ncodes * sizeof(uint16_t));
    if (!codes) return -1;
    const uint32_t mask = (1u << (2 * q)) - 1u;
    uint32_t c = 0;
    for (size_t i = 0; i + 1 < (size_t)q; i++)
        c = (c << 2) | (bases[i] > 3 ? 0u : bases[i]);
    for (size_t i = 0; i < ncodes; i++) {
        uint8_t b = bases[i + q - 1];
        c = ((c << 2) | (b > 3 ? 0u : b)) & mask;
        codes[i] = (uint16_t)c;
    }
    const size_t size = (size_t)1 << (2 * q);
    size_t maxoff = 0;
    for (size_t f = 0; f < nfilt; f++)
        if ((size_t)offsets[first[f]] > maxoff) maxoff = (size_t)offsets[first[f]];
    const size_t ngroups = (nfilt + 63) / 64;
    int rc = 0;
    const size_t jend = n + maxoff;
    /* group-major: one group's seed masks (SEED x 4**q words) and its 64 filters' block tables
     * stay in cache while the tile streams past (position-major was 2.4x slower at p < 1e-4
     * with 879 motifs: every candidate's block look-ups missed cache) */
    for (size_t g = 0; g < ngroups && !rc; g++) {
        for (size_t j = 0; j < jend && !rc; j++) {
            const uint32_t cj = codes[j];
            uint64_t m = masks[g * size + cj];
            for (size_t k = 1; k < SEED; k++)
                m &= masks[(k * ngroups + g) * size + codes[j + k * (size_t)q]];
            while (m) {
                const size_t f = g * 64 + lowest_bit(m);
                m &= m - 1;
                const int32_t b0 = first[f];
                if ((size_t)offsets[b0] > j) continue;
                const size_t i = j - (size_t)offsets[b0];
                if (i >= n) continue;
                int32_t s = tables[(size_t)b0 * size + cj];
                const int32_t nb = nblocks[f];
                int32_t k = 1;
                for (; k < nb; k++) {
                    const int32_t b = b0 + k;
                    s += tables[(size_t)b * size + codes[i + (size_t)offsets[b]]];
                    if (s < needs[b]) break;
                }
                if (k == nb && window_clean(bases, len, i, (size_t)widths[f]) &&
                    push(out, (int64_t)i, (int64_t)f, (int64_t)s)) {
                    rc = -1;
                    break;
                }
            }
        }
    }
    free(codes);
    return rc;
}

/* Checks of the block layout shared by both entry points; NULL when it is sound. */
static const char *check_blocks(int q, const Py_buffer *tables, const Py_buffer *offsets, const Py_buffer *needs,
                                const Py_buffer *first, const Py_buffer *nblocks, size_t nfilt)
{
    size_t nblk = (size_t)offsets->len / sizeof(int32_t);
    const int32_t *f0 = first->buf, *nb = nblocks->buf;
    if (q < 1 || q > 8)
        return "q must be in 1..8";
    if ((size_t)tables->len != nblk * ((size_t)1 << (2 * q)) * sizeof(int32_t) ||
        (size_t)needs->len != nblk * sizeof(int32_t))
        return "tables/offsets/needs sizes disagree";
    if ((size_t)first->len != nfilt * sizeof(int32_t) || (size_t)nblocks->len != nfilt * sizeof(int32_t))
        return "first/nblocks/widths sizes disagree";
    for (size_t f = 0; f < nfilt; f++)
        if (nb[f] < 1 || f0[f] < 0 || (size_t)f0[f] + (size_t)nb[f] > nblk)
            return "a filter's blocks lie outside the block arrays";
    return NULL;
}

static PyObject *seed_masks(PyObject *self, PyObject *args)
{
    int q;
    Py_buffer v[5];
    if (!PyArg_ParseTuple(args, "iy*y*y*y*y*", &q, &v[0], &v[1], &v[2], &v[3], &v[4]))
        return NULL;
    size_t nfilt = (size_t)v[3].len / sizeof(int32_t);
    const char *problem = check_blocks(q, &v[0], &v[1], &v[2], &v[3], &v[4], nfilt);
    PyObject *result = NULL;
    if (problem)
        PyErr_Format(PyExc_ValueError, "seed_masks: %s", problem);
    else {
        size_t count = SEED * ((nfilt + 63) / 64) * ((size_t)1 << (2 * q));
        result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(count * sizeof(uint64_t)));
        if (result) {
            uint64_t *m = (uint64_t *)PyBytes_AS_STRING(result);
            memset(m, 0, count * sizeof(uint64_t));
            build_masks(q, v[0].buf, v[1].buf, v[2].buf, v[3].buf, v[4].buf, nfilt, m);
        }
    }
    for (int k = 0; k < 5; k++)
        PyBuffer_Release(&v[k]);
    return result;
}

static PyObject *scan_hits(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    int q;
    Py_buffer v[8];
    if (!PyArg_ParseTuple(args, "y*niy*y*y*y*y*y*y*", &v[0], &n, &q, &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                          &v[7]))
        return NULL;
    size_t len = (size_t)v[0].len;
    size_t nfilt = (size_t)v[4].len / sizeof(int32_t);
    const int32_t *offsets = v[2].buf, *first = v[4].buf;
    const char *problem = check_blocks(q, &v[1], &v[2], &v[3], &v[4], &v[5], nfilt);
    if (!problem && n < 0)
        problem = "n_windows must be >= 0";
    if (!problem && (size_t)v[6].len != nfilt * sizeof(int32_t))
        problem = "first/nblocks/widths sizes disagree";
    if (!problem && (size_t)v[7].len != SEED * ((nfilt + 63) / 64) * ((size_t)1 << (2 * q)) * sizeof(uint64_t))
        problem = "masks do not fit the filters (make them with seed_masks)";
    for (size_t f = 0; f < nfilt && !problem; f++)
        if ((size_t)n + (size_t)offsets[first[f]] + SEED * (size_t)q - 1 > len)
            problem = "codes too short for n_windows plus the block offsets";
    for (size_t b = 0; b < (size_t)v[2].len / sizeof(int32_t) && !problem; b++)
        if (offsets[b] < 0 || (size_t)n + (size_t)offsets[b] + (size_t)q - 1 > len)
            problem = "codes too short for n_windows plus the block offsets";
    hits_t out = {0};
    int rc = 0;
    if (!problem && n > 0 && nfilt > 0) {
        Py_BEGIN_ALLOW_THREADS
        rc = scan(v[0].buf, len, (size_t)n, q, v[1].buf, offsets, v[3].buf, first, v[5].buf, v[6].buf, nfilt,
                  v[7].buf, &out);
        Py_END_ALLOW_THREADS
    }
    for (int k = 0; k < 8; k++)
        PyBuffer_Release(&v[k]);
    PyObject *result = NULL;
    if (problem)
        PyErr_Format(PyExc_ValueError, "scan_hits: %s", problem);
    else if (rc)
        PyErr_NoMemory();
    else {
        /* y# turns a NULL pointer into None: point empty results at an empty string */
        Py_ssize_t bytes = (Py_ssize_t)(out.n * sizeof(int64_t));
        const char *a = out.n ? (const char *)out.start : "", *b = out.n ? (const char *)out.filter : "",
                   *c = out.n ? (const char *)out.score : "";
        result = Py_BuildValue("(y#y#y#)", a, bytes, b, bytes, c, bytes);
    }
    free(out.start);
    free(out.filter);
    free(out.score);
    return result;
}


/* x as "%.4f" would write it (exact binary value rounded half-even: Python's f"{x:.4f}"). */
static size_t put_score(char *out, double x)
{
    const double y = fabs(x) * 1e4;
    if (!(y < 1e9)) /* huge, inf or nan: printf */
        return (size_t)sprintf(out, "%.4f", x);
    const double fl = floor(y), fr = y - fl;
    if (fabs(fr - 0.5) < 1e-6) /* y carries at most 2**-23 of rounding error: a tie needs the exact value */
        return (size_t)sprintf(out, "%.4f", x);
    uint64_t r = (uint64_t)fl + (fr > 0.5);
    char tmp[24];
    size_t k = 0, n = 0;
    uint64_t whole = r / 10000, frac = r % 10000;
    if (signbit(x)) out[n++] = '-';
    do {
        tmp[k++] = (char)('0' + whole % 10);
        whole /= 10;
    } while (whole);
    while (k) out[n++] = tmp[--k];
    out[n++] = '.';
    out[n + 3] = (char)('0' + frac % 10);
    out[n + 2] = (char)('0' + frac / 10 % 10);
    out[n + 1] = (char)('0' + frac / 100 % 10);
    out[n] = (char)('0' + frac / 1000);
    return n + 4;
}

static size_t put_int(char *out, int64_t v)
{
    char tmp[24];
    size_t k = 0, n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    if (v < 0) out[n++] = '-';
    do {
        tmp[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    while (k) out[n++] = tmp[--k];
    return n;
}

static inline size_t put_text(char *out, const char *table, const int64_t *off, int32_t i)
{
    const size_t len = (size_t)(off[i + 1] - off[i]);
    memcpy(out, table + off[i], len);
    return len;
}

/* Index i of a table with k entries (offsets k + 1, non-decreasing, inside the text)? */
static const char *check_table(const Py_buffer *text, const Py_buffer *off, const int32_t *idx, size_t n,
                               size_t *longest)
{
    const size_t k1 = (size_t)off->len / sizeof(int64_t);
    const int64_t *o = off->buf;
    if (k1 < 1) return "a table has no offsets";
    *longest = 0;
    for (size_t i = 0; i + 1 < k1; i++) {
        if (o[i] < 0 || o[i + 1] < o[i] || (size_t)o[i + 1] > (size_t)text->len) return "table offsets out of order";
        if ((size_t)(o[i + 1] - o[i]) > *longest) *longest = (size_t)(o[i + 1] - o[i]);
    }
    if (idx)
        for (size_t i = 0; i < n; i++)
            if (idx[i] < 0 || (size_t)idx[i] + 1 >= k1) return "an index lies outside its table";
    return NULL;
}

static PyObject *format_hits(PyObject *self, PyObject *args)
{
    Py_buffer v[17];
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*y*y*y*y*y*y*y*", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                          &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14], &v[15], &v[16]))
        return NULL;
    /* 0 chrom, 1 chroms, 2 chrom_off, 3 starts, 4 ends, 5 motif, 6 names, 7 name_off, 8 ids, 9 id_off,
       10 minus, 11 scores, 12 pq, 13 pq_text, 14 pq_off, 15 seq, 16 seq_off */
    const size_t n = (size_t)v[0].len / sizeof(int32_t);
    const char *problem = NULL;
    size_t lc = 0, ln = 0, li = 0, lpq = 0, ls = 0;
    if ((size_t)v[3].len != n * 8 || (size_t)v[4].len != n * 8 || (size_t)v[5].len != n * 4 || (size_t)v[10].len != n ||
        (size_t)v[11].len != n * 8 || (size_t)v[12].len != n * 4 || (size_t)v[16].len != (n + 1) * 8)
        problem = "per-hit arrays disagree in length";
    if (!problem) problem = check_table(&v[1], &v[2], v[0].buf, n, &lc);
    if (!problem) problem = check_table(&v[6], &v[7], v[5].buf, n, &ln);
    if (!problem) problem = check_table(&v[8], &v[9], v[5].buf, n, &li);
    if (!problem) problem = check_table(&v[13], &v[14], v[12].buf, n, &lpq);
    if (!problem) problem = check_table(&v[15], &v[16], NULL, n, &ls);
    if (!problem && ((const int64_t *)v[16].buf)[0] != 0) problem = "sequence offsets must start at 0";
    char *buf = NULL;
    size_t used = 0;
    if (!problem) {
        const size_t total = (size_t)v[15].len + n * (lc + ln + li + lpq + 2 * 21 + 48 + 16);
        buf = malloc(total ? total : 1);
        if (!buf) {
            for (int k = 0; k < 17; k++) PyBuffer_Release(&v[k]);
            return PyErr_NoMemory();
        }
        Py_BEGIN_ALLOW_THREADS
        const int32_t *chrom = v[0].buf, *motif = v[5].buf, *pq = v[12].buf;
        const int64_t *starts = v[3].buf, *ends = v[4].buf, *so = v[16].buf;
        const uint8_t *minus = v[10].buf;
        const double *scores = v[11].buf;
        char *o = buf;
        for (size_t i = 0; i < n; i++) {
            o += put_text(o, v[1].buf, v[2].buf, chrom[i]);
            *o++ = '\t';
            o += put_int(o, starts[i]);
            *o++ = '\t';
            o += put_int(o, ends[i]);
            *o++ = '\t';
            o += put_text(o, v[6].buf, v[7].buf, motif[i]);
            *o++ = '\t';
            o += put_score(o, scores[i]);
            *o++ = '\t';
            *o++ = minus[i] ? '-' : '+';
            *o++ = '\t';
            o += put_text(o, v[13].buf, v[14].buf, pq[i]);
            *o++ = '\t';
            memcpy(o, (const char *)v[15].buf + so[i], (size_t)(so[i + 1] - so[i]));
            o += so[i + 1] - so[i];
            *o++ = '\t';
            o += put_text(o, v[8].buf, v[9].buf, motif[i]);
            *o++ = '\n';
        }
        used = (size_t)(o - buf);
        Py_END_ALLOW_THREADS
    }
    for (int k = 0; k < 17; k++) PyBuffer_Release(&v[k]);
    if (problem) {
        PyErr_Format(PyExc_ValueError, "format_hits: %s", problem);
        return NULL;
    }
    PyObject *result = PyBytes_FromStringAndSize(buf, (Py_ssize_t)used);
    free(buf);
    return result;
}


/* numpy's float64 add.reduce of n contiguous values (its pairwise summation: 8 accumulators
 * up to 128 values, halves above), so the sums are bit for bit numpy's .sum(axis=-1). */
static double pairwise_sum(const double *a, size_t n)
{
    if (n < 8) {
        double res = 0.;
        for (size_t i = 0; i < n; i++)
            res += a[i];
        return res;
    }
    if (n <= 128) {
        double r[8];
        size_t i;
        for (int j = 0; j < 8; j++)
            r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++)
                r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++)
            res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

/* exact_scores(codes, starts, filters, int_matrices, float_matrices, widths, W)
 *     -> (ints int64, floats float64, has_n uint8) bytes: for window i the sums over the W
 * columns c of int_matrices[f, b, c] and float_matrices[f, b, c] (f = filters[i], b = the
 * base codes[starts[i] + c], non-ACGT read as T = 3, as PWMSet.exact_scores), and whether a
 * column c < widths[f] holds a non-ACGT base. Matrices (F, 4, W) C order; codes must hold
 * W bases past every start. The GIL is released. */
static PyObject *exact_scores(PyObject *self, PyObject *args)
{
    Py_buffer v[6];
    Py_ssize_t W;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*n", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &W))
        return NULL;
    const size_t n = (size_t)v[1].len / sizeof(int64_t), nf = (size_t)v[5].len / sizeof(int64_t);
    const char *problem = NULL;
    if (W < 1 || W > 4096 || (size_t)v[2].len != n * sizeof(int64_t) || (size_t)v[3].len != nf * 4 * W * sizeof(int64_t) ||
        (size_t)v[4].len != nf * 4 * W * sizeof(double))
        problem = "arrays disagree in shape";
    const int64_t *starts = v[1].buf, *filters = v[2].buf;
    for (size_t i = 0; i < n && !problem; i++)
        if (starts[i] < 0 || (size_t)starts[i] + (size_t)W > (size_t)v[0].len || filters[i] < 0 || (size_t)filters[i] >= nf)
            problem = "a window outside the codes or a filter outside the matrices";
    int64_t *ints = NULL;
    double *floats = NULL;
    uint8_t *has_n = NULL;
    if (!problem) {
        ints = malloc(n ? n * sizeof(int64_t) : 1);
        floats = malloc(n ? n * sizeof(double) : 1);
        has_n = malloc(n ? n : 1);
        if (!ints || !floats || !has_n) {
            free(ints); free(floats); free(has_n);
            for (int k = 0; k < 6; k++) PyBuffer_Release(&v[k]);
            return PyErr_NoMemory();
        }
        Py_BEGIN_ALLOW_THREADS
        const uint8_t *codes = v[0].buf;
        const int64_t *im = v[3].buf, *widths = v[5].buf;
        const double *fm = v[4].buf;
        double col[4096];
        for (size_t i = 0; i < n; i++) {
            const uint8_t *w = codes + starts[i];
            const size_t f = (size_t)filters[i], width = (size_t)widths[f];
            const int64_t *ib = im + f * 4 * (size_t)W;
            const double *fb = fm + f * 4 * (size_t)W;
            int64_t total = 0;
            uint8_t nn = 0;
            for (size_t c = 0; c < (size_t)W; c++) {
                const size_t b = w[c] > 3 ? 3 : w[c];
                nn |= (uint8_t)(w[c] > 3 && c < width);
                total += ib[b * (size_t)W + c];
                col[c] = fb[b * (size_t)W + c];
            }
            ints[i] = total;
            floats[i] = pairwise_sum(col, (size_t)W);
            has_n[i] = nn;
        }
        Py_END_ALLOW_THREADS
    }
    for (int k = 0; k < 6; k++) PyBuffer_Release(&v[k]);
    if (problem) {
        PyErr_Format(PyExc_ValueError, "exact_scores: %s", problem);
        return NULL;
    }
    PyObject *result = Py_BuildValue("(y#y#y#)", (const char *)ints, (Py_ssize_t)(n * sizeof(int64_t)),
                                     (const char *)floats, (Py_ssize_t)(n * sizeof(double)), (const char *)has_n,
                                     (Py_ssize_t)n);
    free(ints); free(floats); free(has_n);
    return result;
}

/* site_bytes(text, starts, widths, minus, complement) -> bytes: the sites
 * text[starts[i] : starts[i] + widths[i]] (int64 starts and widths, uint8 minus) concatenated,
 * each reversed and mapped through the 256-byte complement table where minus[i]. The GIL is
 * released. */
static PyObject *site_bytes(PyObject *self, PyObject *args)
{
    Py_buffer v[5];
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*", &v[0], &v[1], &v[2], &v[3], &v[4]))
        return NULL;
    const size_t n = (size_t)v[1].len / sizeof(int64_t);
    const int64_t *starts = v[1].buf, *widths = v[2].buf;
    const char *problem = NULL;
    size_t total = 0;
    if ((size_t)v[2].len != n * sizeof(int64_t) || (size_t)v[3].len != n || v[4].len != 256)
        problem = "arrays disagree in length, or the complement table is not 256 bytes";
    for (size_t i = 0; i < n && !problem; i++) {
        if (starts[i] < 0 || widths[i] < 0 || (size_t)starts[i] + (size_t)widths[i] > (size_t)v[0].len)
            problem = "a site outside the text";
        total += (size_t)widths[i];
    }
    PyObject *result = NULL;
    if (!problem) {
        result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)total);
        if (result) {
            char *o = PyBytes_AS_STRING(result);
            Py_BEGIN_ALLOW_THREADS
            const uint8_t *text = v[0].buf, *minus = v[3].buf, *comp = v[4].buf;
            for (size_t i = 0; i < n; i++) {
                const uint8_t *site = text + starts[i];
                const size_t w = (size_t)widths[i];
                if (minus[i])
                    for (size_t c = 0; c < w; c++)
                        *o++ = (char)comp[site[w - 1 - c]];
                else {
                    memcpy(o, site, w);
                    o += w;
                }
            }
            Py_END_ALLOW_THREADS
        }
    }
    for (int k = 0; k < 5; k++) PyBuffer_Release(&v[k]);
    if (problem)
        PyErr_Format(PyExc_ValueError, "site_bytes: %s", problem);
    return result;
}

/* score_pmf(int_matrix, background) -> bytes: the (S + 1,) float64 probabilities of the
 * integer scores min .. min + S of a (4, w) int64 matrix (C order) under a 0-order background
 * ((4,) float64), by the column DP of pwm.score_distribution with the same operations in the
 * same order (a product, then a sum, per base and cell), so bit for bit its numpy result. */
static PyObject *score_pmf(PyObject *self, PyObject *args)
{
    Py_buffer v[2];
    if (!PyArg_ParseTuple(args, "y*y*", &v[0], &v[1]))
        return NULL;
    const size_t w = (size_t)v[0].len / (4 * sizeof(int64_t));
    const char *problem = NULL;
    if ((size_t)v[0].len != 4 * w * sizeof(int64_t) || v[1].len != 4 * sizeof(double))
        problem = "a (4, w) int64 matrix and a (4,) float64 background";
    const int64_t *m = v[0].buf;
    const double *bg = v[1].buf;
    size_t total = 0;
    for (size_t j = 0; j < w && !problem; j++) {
        int64_t lo = m[j], hi = m[j];
        for (size_t b = 1; b < 4; b++) {
            if (m[b * w + j] < lo) lo = m[b * w + j];
            if (m[b * w + j] > hi) hi = m[b * w + j];
        }
        if (hi - lo > ((int64_t)1 << 28) || total > ((size_t)1 << 31))
            problem = "score range too large";
        total += (size_t)(hi - lo);
    }
    double *cur = NULL, *nxt = NULL;
    if (!problem) {
        cur = calloc(total + 1, sizeof(double));
        nxt = calloc(total + 1, sizeof(double));
        if (!cur || !nxt) {
            free(cur); free(nxt);
            PyBuffer_Release(&v[0]); PyBuffer_Release(&v[1]);
            return PyErr_NoMemory();
        }
        Py_BEGIN_ALLOW_THREADS
        cur[0] = 1.0;
        size_t length = 1;
        for (size_t j = 0; j < w; j++) {
            int64_t lo = m[j], hi = m[j];
            for (size_t b = 1; b < 4; b++) {
                if (m[b * w + j] < lo) lo = m[b * w + j];
                if (m[b * w + j] > hi) hi = m[b * w + j];
            }
            const size_t next = length + (size_t)(hi - lo);
            memset(nxt, 0, next * sizeof(double));
            for (size_t b = 0; b < 4; b++) {
                const size_t off = (size_t)(m[b * w + j] - lo);
                const double p = bg[b];
                for (size_t i = 0; i < length; i++) {
                    const double term = p * cur[i];
                    nxt[off + i] += term;
                }
            }
            double *t = cur;
            cur = nxt;
            nxt = t;
            length = next;
        }
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&v[0]);
    PyBuffer_Release(&v[1]);
    if (problem) {
        PyErr_Format(PyExc_ValueError, "score_pmf: %s", problem);
        return NULL;
    }
    PyObject *result = PyBytes_FromStringAndSize((const char *)cur, (Py_ssize_t)((total + 1) * sizeof(double)));
    free(cur);
    free(nxt);
    return result;
}

static PyMethodDef methods[] = {
    {"seed_masks", seed_masks, METH_VARARGS,
     "seed_masks(q, tables, offsets, needs, first, nblocks) -> bytes: the (SEED, groups, 4**q) uint64 masks."},
    {"scan_hits", scan_hits, METH_VARARGS,
     "Windows whose integer PWM score reaches the filter's threshold: (starts, filters, scores) int64 bytes."},
    {"exact_scores", exact_scores, METH_VARARGS,
     "Exact integer and float scores of windows, and whether each holds a non-ACGT base (see the function)."},
    {"score_pmf", score_pmf, METH_VARARGS,
     "The exact score probabilities of a (4, w) integer matrix under a 0-order background: float64 bytes."},
    {"site_bytes", site_bytes, METH_VARARGS,
     "The sites of a text concatenated, reverse-complemented where minus (see the function): bytes."},
    {"format_hits", format_hits, METH_VARARGS,
     "BED lines of hits from index arrays and text tables (see the file's header): bytes."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_pwmscan", NULL, -1, methods};

PyMODINIT_FUNC PyInit__pwmscan(void) { return PyModule_Create(&module); }
