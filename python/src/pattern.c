/* SPDX-License-Identifier: MIT */
/*
 * Dataset content (include/aisio/pattern.h) from Python: the bytes of the
 * file called NAME at any offset, to fill buffers and to check them.
 */
#include <string.h>

#include <aisio/pattern.h>

#include "mod.h"

/* NAME (str or bytes) or an int seed. */
static int seed_of(PyObject *o, uint64_t *seed)
{
	if (PyLong_Check(o)) {
		*seed = PyLong_AsUnsignedLongLongMask(o);
		return PyErr_Occurred() ? -1 : 0;
	}
	if (PyUnicode_Check(o)) {
		Py_ssize_t n;
		const char *s = PyUnicode_AsUTF8AndSize(o, &n);

		if (!s)
			return -1;
		*seed = aisio_pattern_seed(s, (size_t)n);
		return 0;
	}
	if (PyBytes_Check(o)) {
		*seed = aisio_pattern_seed(PyBytes_AsString(o), (size_t)PyBytes_Size(o));
		return 0;
	}
	PyErr_SetString(PyExc_TypeError, "aisio: the pattern is named by the file's relative path (str or bytes) "
					 "or given as an int seed");
	return -1;
}

/* The first byte of @p that differs from the pattern, or @len. Word compares where aligned. */
static size_t check_fast(uint64_t seed, uint64_t off, const uint8_t *p, size_t len)
{
	size_t i = 0;

	for (; i < len && ((off + i) & 7); i++)
		if (p[i] != aisio_pattern_byte(seed, off + i))
			return i;
	for (; i + 8 <= len; i += 8) {
		uint64_t w = aisio_pattern_word(seed, (off + i) >> 3), got;

		memcpy(&got, p + i, 8);
		if (got != w) /* little-endian host: byte b of the word is byte b of memory */
			return i + aisio_pattern_check(seed, off + i, p + i, 8);
	}
	return i + aisio_pattern_check(seed, off + i, p + i, len - i);
}

static int host_buf(PyObject *obj, int writable, Py_buffer *v)
{
	if (PyObject_GetBuffer(obj, v, writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS))
		return -1;
	return 0;
}

static PyObject *pattern_seed(PyObject *m, PyObject *args)
{
	PyObject *name;
	uint64_t seed;

	if (!PyArg_ParseTuple(args, "O:pattern_seed", &name) || seed_of(name, &seed))
		return NULL;
	return PyLong_FromUnsignedLongLong(seed);
}

static PyObject *pattern_fill(PyObject *m, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "buf", "name", "offset", NULL };
	PyObject *obj, *name;
	unsigned long long off = 0;
	uint64_t seed;
	Py_buffer v;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|K:pattern_fill", kwlist, &obj, &name, &off) ||
	    seed_of(name, &seed) || host_buf(obj, 1, &v))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	aisio_pattern_fill(seed, off, v.buf, (size_t)v.len);
	Py_END_ALLOW_THREADS
	PyBuffer_Release(&v);
	Py_RETURN_NONE;
}

static PyObject *pattern_check(PyObject *m, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "buf", "name", "offset", NULL };
	PyObject *obj, *name;
	unsigned long long off = 0;
	uint64_t seed;
	Py_buffer v;
	size_t r;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "OO|K:pattern_check", kwlist, &obj, &name, &off) ||
	    seed_of(name, &seed) || host_buf(obj, 0, &v))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	r = check_fast(seed, off, v.buf, (size_t)v.len);
	Py_END_ALLOW_THREADS
	PyBuffer_Release(&v);
	return PyLong_FromSize_t(r);
}

PyMethodDef py_pattern_methods[] = {
	{ "pattern_seed", pattern_seed, METH_VARARGS,
	  "pattern_seed(name) -> int\n\nThe seed of the file whose path relative to the dataset root is name." },
	{ "pattern_fill", (PyCFunction)(void (*)(void))pattern_fill, METH_VARARGS | METH_KEYWORDS,
	  "pattern_fill(buf, name, offset=0)\n\nFill buf with the bytes of file name (or int seed) from offset." },
	{ "pattern_check", (PyCFunction)(void (*)(void))pattern_check, METH_VARARGS | METH_KEYWORDS,
	  "pattern_check(buf, name, offset=0) -> int\n\nlen(buf) when buf holds the bytes of file name from offset, "
	  "else the index of the first byte that differs." },
	{ NULL }
};
