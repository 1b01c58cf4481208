/* Substitution k-mer evidence for seqfcn.kmers (the 12 "sub" channels), compiled.
 *
 * substitutions(codes, n, w, k, index, values, out[, threads]) -> None
 *
 *   codes:  bytes-like, (n, w) uint8 base codes, row-major: 0-3 = A, C, G, T, anything
 *           else is N (the caller turns positions past a read's end into N).
 *   k:      k-mer length, odd, 3..31.
 *   index:  the spectrum, a seqfcn.correction.kmers.SpectrumIndex as its tuple
 *           (_spectrum_index.h); values: (top + 1,) float32 feature value of the counts
 *           0..top (a larger count takes top's).
 *   out:    writable (n, 12, w) float32: channel 3 * b + j, placement j = 0, 1, 2 with
 *           a = k - 1, k / 2, 0 bases of the k-mer left of the position; the k-mer's value
 *           when the read has base b at the position (0 when the k-mer is absent), -1 when
 *           the k-mer leaves the row or holds an N other than the position itself.
 *
 * Same numbers as the numpy path in seqfcn.correction.kmers._substitutions (tests/test_kmers.py).
 * Rows are split over `threads` POSIX threads; the GIL is released during the loop.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

#include "_rows.h"
#include "_spectrum_index.h"

static void release(Py_buffer *a, Py_buffer *b, Py_buffer *c)
{
    PyBuffer_Release(a);
    PyBuffer_Release(b);
    PyBuffer_Release(c);
}

typedef struct {
    const uint8_t *c; const cindex_t *ix; const float *val; int64_t top; float *o; Py_ssize_t w; int k;
    uint64_t *want; float **where;  /* per thread: 12 * (w + 1) entries each */
} sub_ctx;

/* rows [start, stop): a row's k-mers are gathered first and looked up as a batch with
 * prefetching (the lookups are independent, so their cache misses overlap) */
static void sub_rows(void *arg, ptrdiff_t start, ptrdiff_t stop, int t)
{
    const sub_ctx *x = (const sub_ctx *)arg;
    const Py_ssize_t w = x->w;
    const int k = x->k;
    const cindex_t *ix = x->ix;
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
            cindex_prefetch(ix, want[u]);
        for (Py_ssize_t u = 0; u < m; u++) {
            if (u + PF < m)
                cindex_prefetch(ix, want[u + PF]);
            if (u + PF / 2 < m)
                cindex_prefetch_entries(ix, want[u + PF / 2]);
            int64_t c = cindex_count(ix, want[u]);
            *where[u] = x->val[c < x->top ? c : x->top];
        }
    }
}

static PyObject *substitutions(PyObject *self, PyObject *args)
{
    Py_buffer codes, values, out;
    PyObject *index;
    Py_ssize_t n, w;
    int k, threads = 1;
    if (!PyArg_ParseTuple(args, "y*nniOy*w*|i", &codes, &n, &w, &k, &index, &values, &out, &threads))
        return NULL;
    const char *err = NULL;
    if (k < 3 || k > 31 || k % 2 == 0)
        err = "k must be odd and in 3..31";
    else if (codes.len != n * w)
        err = "codes must hold n * w bytes";
    else if (out.len != (Py_ssize_t)sizeof(float) * n * 12 * w)
        err = "out must hold n * 12 * w float32";
    else if (values.len < (Py_ssize_t)sizeof(float))
        err = "values must hold the feature value of counts 0.. (at least one float32)";
    cindex_t ix;
    if (err || cindex_parse(index, k, &ix) < 0) {
        release(&codes, &values, &out);
        if (err)
            PyErr_SetString(PyExc_ValueError, err);
        return NULL;
    }
    threads = rows_threads(n, threads);
    const size_t each = 12 * (size_t)(w + 1);
    sub_ctx x = {(const uint8_t *)codes.buf, &ix, (const float *)values.buf, (int64_t)(values.len / sizeof(float)) - 1,
                 (float *)out.buf, w, k, malloc(sizeof(uint64_t) * each * threads),
                 malloc(sizeof(float *) * each * threads)};
    if (x.want && x.where) {
        Py_BEGIN_ALLOW_THREADS
        run_rows(n, threads, sub_rows, &x);
        Py_END_ALLOW_THREADS
    }
    int oom = !x.want || !x.where;
    free(x.want);
    free(x.where);
    cindex_release(&ix);
    release(&codes, &values, &out);
    if (oom)
        return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"substitutions", substitutions, METH_VARARGS, "Substitution k-mer evidence channels (see the module source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kmerev", "Compiled k-mer evidence for seqfcn.kmers.", -1,
                                    methods};

PyMODINIT_FUNC PyInit__kmerev(void) { return PyModule_Create(&module); }
