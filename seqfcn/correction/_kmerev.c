/* Substitution k-mer evidence for seqfcn.kmers (the 12 "sub" channels), compiled.
 *
 * substitutions(codes, n, w, k, slots, shift, keys, values, out[, threads]) -> None
 *
 *   codes:  bytes-like, (n, w) uint8 base codes, row-major: 0-3 = A, C, G, T, anything
 *           else is N (the caller turns positions past a read's end into N).
 *   k:      k-mer length, odd, 3..31.
 *   slots:  (2**bits,) int64 open-addressing hash table of indices into keys (-1 empty),
 *           home slot (key * 0x9E3779B97F4A7C15) >> shift, linear probing
 *           (seqfcn.kmers._HashIndex).
 *   keys:   (m,) uint64 canonical k-mers; values: (m,) float32 feature value of each.
 *   out:    writable (n, 12, w) float32: channel 3 * b + j, placement j = 0, 1, 2 with
 *           a = k - 1, k / 2, 0 bases of the k-mer left of the position; the k-mer's value
 *           when the read has base b at the position (0 when the k-mer is absent), -1 when
 *           the k-mer leaves the row or holds an N other than the position itself.
 *
 * Same numbers as the numpy path in seqfcn.kmers._substitutions (tests/test_kmers.py).
 * Rows are split over `threads` POSIX threads; the GIL is released during the loop.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

#include "_rows.h"

static const uint64_t MULT = 0x9E3779B97F4A7C15ULL;

static inline float lookup(uint64_t v, const int64_t *slots, uint64_t mask, unsigned shift, const uint64_t *keys,
                           const float *values)
{
    uint64_t h = (v * MULT) >> shift;
    for (;;) {
        int64_t idx = slots[h];
        if (idx < 0)
            return 0.0f;
        if (keys[idx] == v)
            return values[idx];
        h = (h + 1) & mask;
    }
}

static void release(Py_buffer *a, Py_buffer *b, Py_buffer *c, Py_buffer *d, Py_buffer *e)
{
    PyBuffer_Release(a);
    PyBuffer_Release(b);
    PyBuffer_Release(c);
    PyBuffer_Release(d);
    PyBuffer_Release(e);
}

typedef struct {
    const uint8_t *c; const int64_t *sl; const uint64_t *ky; const float *val; float *o;
    uint64_t mask; unsigned shift; Py_ssize_t w; int k;
    uint64_t *want; float **where;  /* per thread: 12 * (w + 1) entries each */
} sub_ctx;

/* rows [start, stop): a row's k-mers are gathered first and looked up as a batch with
 * prefetching (the lookups are independent, so their cache misses overlap) */
static void sub_rows(void *arg, ptrdiff_t start, ptrdiff_t stop, int t)
{
    const sub_ctx *x = (const sub_ctx *)arg;
    const Py_ssize_t w = x->w;
    const int k = x->k;
    const unsigned shift = x->shift;
    const int64_t *sl = x->sl;
    uint64_t *want = x->want + (size_t)t * 12 * (size_t)(w + 1);
    float **where = x->where + (size_t)t * 12 * (size_t)(w + 1);
    const int place[3] = {k - 1, k / 2, 0};
    for (Py_ssize_t r = start; r < stop; r++) {
        const uint8_t *row = x->c + r * w;
        float *orow = x->o + r * 12 * w;
        Py_ssize_t m = 0;
        for (Py_ssize_t i = 0; i < w; i++) {
            for (int j = 0; j < 3; j++) {
                const Py_ssize_t s = i - place[j], e = s + k;
                float *dst = orow + (Py_ssize_t)(3 * 0 + j) * w + i;
                int ok = s >= 0 && e <= w;
                uint64_t fwd = 0, rc = 0;
                for (Py_ssize_t p = s; ok && p < e; p++) {
                    uint64_t b = 0;
                    if (p != i) {
                        if (row[p] > 3) {
                            ok = 0;
                            break;
                        }
                        b = row[p];
                    }
                    fwd = (fwd << 2) | b;
                    if (p != i)
                        rc |= (3 - b) << (2 * (p - s));
                }
                if (!ok) {
                    for (int b = 0; b < 4; b++)
                        dst[(Py_ssize_t)3 * b * w] = -1.0f;
                    continue;
                }
                const unsigned fshift = (unsigned)(2 * (e - 1 - i)), rshift = (unsigned)(2 * (i - s));
                for (uint64_t b = 0; b < 4; b++) {
                    const uint64_t f = fwd | (b << fshift), q = rc | ((3 - b) << rshift);
                    want[m] = f < q ? f : q;
                    where[m++] = dst + (Py_ssize_t)3 * b * w;
                }
            }
        }
        enum { PF = 16 };
        for (Py_ssize_t u = 0; u < m && u < PF; u++)
            __builtin_prefetch(&sl[(want[u] * MULT) >> shift]);
        for (Py_ssize_t u = 0; u < m; u++) {
            if (u + PF < m)
                __builtin_prefetch(&sl[(want[u + PF] * MULT) >> shift]);
            if (u + PF / 2 < m) {
                int64_t j = sl[(want[u + PF / 2] * MULT) >> shift];
                if (j >= 0) {
                    __builtin_prefetch(&x->ky[j]);
                    __builtin_prefetch(&x->val[j]);
                }
            }
            *where[u] = lookup(want[u], sl, x->mask, shift, x->ky, x->val);
        }
    }
}

static PyObject *substitutions(PyObject *self, PyObject *args)
{
    Py_buffer codes, slots, keys, values, out;
    Py_ssize_t n, w;
    int k, shift, threads = 1;
    if (!PyArg_ParseTuple(args, "y*nniy*iy*y*w*|i", &codes, &n, &w, &k, &slots, &shift, &keys, &values, &out,
                          &threads))
        return NULL;
    const char *err = NULL;
    if (k < 3 || k > 31 || k % 2 == 0)
        err = "k must be odd and in 3..31";
    else if (codes.len != n * w)
        err = "codes must hold n * w bytes";
    else if (out.len != (Py_ssize_t)sizeof(float) * n * 12 * w)
        err = "out must hold n * 12 * w float32";
    else if (keys.len / 8 != values.len / 4)
        err = "keys and values differ in length";
    else if (slots.len < 8 || (slots.len / 8 & (slots.len / 8 - 1)) != 0 || shift < 1 || shift > 63 ||
             ((uint64_t)1 << (64 - shift)) != (uint64_t)(slots.len / 8))
        err = "slots must be a power-of-two table of 2**(64 - shift) int64";
    if (err) {
        release(&codes, &slots, &keys, &values, &out);
        PyErr_SetString(PyExc_ValueError, err);
        return NULL;
    }
    threads = rows_threads(n, threads);
    const size_t each = 12 * (size_t)(w + 1);
    sub_ctx x = {(const uint8_t *)codes.buf, (const int64_t *)slots.buf, (const uint64_t *)keys.buf,
                 (const float *)values.buf, (float *)out.buf, (uint64_t)(slots.len / 8) - 1, (unsigned)shift, w, k,
                 malloc(sizeof(uint64_t) * each * threads), malloc(sizeof(float *) * each * threads)};
    if (!x.want || !x.where) {
        free(x.want);
        free(x.where);
        release(&codes, &slots, &keys, &values, &out);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    run_rows(n, threads, sub_rows, &x);
    Py_END_ALLOW_THREADS
    free(x.want);
    free(x.where);
    release(&codes, &slots, &keys, &values, &out);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"substitutions", substitutions, METH_VARARGS, "Substitution k-mer evidence channels (see the module source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kmerev", "Compiled k-mer evidence for seqfcn.kmers.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__kmerev(void) { return PyModule_Create(&module); }
