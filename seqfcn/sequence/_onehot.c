/* One-hot hot loop for seqfcn.encode: split a byte sequence into four 0/1 rows.
 *
 * acgt_rows(source, start, a, c, g, t) -> int
 *   source: an ASCII str (read in place) or a bytes-like object; a, c, g, t: writable
 *   buffers of one length n. Row X gets 1 where source[start + i] is X or x, else 0.
 *   Returns how many of the n positions matched none of A/C/G/T (the caller encodes
 *   those through the policy table).
 * The loop is written so compilers vectorise it (branch-free, restrict pointers,
 * a per-block 32-bit counter); the GIL is released while it runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define BLOCK 4096

static size_t split_rows(const uint8_t *restrict s, size_t n, uint8_t *restrict a,
                         uint8_t *restrict c, uint8_t *restrict g, uint8_t *restrict t)
{
    size_t missing = 0;
    for (size_t base = 0; base < n; base += BLOCK) {
        size_t end = base + BLOCK < n ? base + BLOCK : n;
        uint32_t hits = 0;
        for (size_t i = base; i < end; i++) {
            uint8_t x = s[i] | 0x20;
            uint8_t ia = x == 'a', ic = x == 'c', ig = x == 'g', it = x == 't';
            a[i] = ia;
            c[i] = ic;
            g[i] = ig;
            t[i] = it;
            hits += ia + ic + ig + it;
        }
        missing += (end - base) - hits;
    }
    return missing;
}

static PyObject *acgt_rows(PyObject *self, PyObject *args)
{
    PyObject *source;
    Py_ssize_t start;
    Py_buffer row[4];
    if (!PyArg_ParseTuple(args, "Onw*w*w*w*", &source, &start, &row[0], &row[1], &row[2], &row[3]))
        return NULL;
    Py_buffer view = {0};
    const uint8_t *data = NULL;
    Py_ssize_t size = 0;
    const char *problem = NULL;
    if (PyUnicode_Check(source)) {
        /* an ASCII str keeps one byte per character: read it in place, no copy */
        if (!PyUnicode_IS_ASCII(source))
            problem = "acgt_rows: str source must be ASCII";
        else {
            data = PyUnicode_1BYTE_DATA(source);
            size = PyUnicode_GET_LENGTH(source);
        }
    } else if (PyObject_GetBuffer(source, &view, PyBUF_SIMPLE) == 0) {
        data = (const uint8_t *)view.buf;
        size = view.len;
    } else {
        for (int k = 0; k < 4; k++)
            PyBuffer_Release(&row[k]);
        return NULL;
    }
    Py_ssize_t n = row[0].len;
    for (int k = 1; k < 4 && !problem; k++)
        if (row[k].len != n)
            problem = "acgt_rows: the four rows must have the same length";
    if (!problem && (start < 0 || start + n > size))
        problem = "acgt_rows: rows reach past the end of the source";
    size_t missing = 0;
    if (!problem) {
        Py_BEGIN_ALLOW_THREADS
        missing = split_rows(data + start, (size_t)n, (uint8_t *)row[0].buf, (uint8_t *)row[1].buf,
                             (uint8_t *)row[2].buf, (uint8_t *)row[3].buf);
        Py_END_ALLOW_THREADS
    }
    if (view.obj)
        PyBuffer_Release(&view);
    for (int k = 0; k < 4; k++)
        PyBuffer_Release(&row[k]);
    if (problem) {
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    return PyLong_FromSize_t(missing);
}

static PyMethodDef methods[] = {
    {"acgt_rows", acgt_rows, METH_VARARGS, "Split a sequence into A/C/G/T 0/1 rows; return the unmatched count."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_onehot", NULL, -1, methods};

PyMODINIT_FUNC PyInit__onehot(void) { return PyModule_Create(&module); }
