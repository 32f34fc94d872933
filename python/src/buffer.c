/* SPDX-License-Identifier: MIT */
/*
 * Memory the device transfers to and from: aisio.Buffer (Device.alloc(),
 * DMA memory, no copy), and what callers pass in: anything with the buffer
 * protocol (host memory), __cuda_array_interface__ or DLPack (GPU memory).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mod.h"

struct py_buffer {
	PyObject_HEAD
	struct py_dev *dev;
	char *ptr;
	Py_ssize_t len;
};

PyObject *py_buffer_new(struct py_dev *d, Py_ssize_t len)
{
	struct py_state *st = py_state_of_type(Py_TYPE((PyObject *)d));
	struct py_buffer *b;
	void *p;

	if (len <= 0) {
		PyErr_Format(PyExc_ValueError, "aisio.Device.alloc: size must be positive, not %zd", len);
		return NULL;
	}
	Py_BEGIN_ALLOW_THREADS
	p = aisio_buf_alloc(d->dev, (size_t)len);
	if (p)
		memset(p, 0, (size_t)len);
	Py_END_ALLOW_THREADS
	if (!p)
		return py_raise(st, -ENOMEM, "%s: cannot allocate %zd bytes of DMA memory", aisio_dev_uri(d->dev), len);
	b = (struct py_buffer *)PyType_GenericAlloc((PyTypeObject *)st->BufferType, 0);
	if (!b || py_dev_dma_add(d, p, (size_t)len)) {
		aisio_buf_free(d->dev, p);
		Py_XDECREF((PyObject *)b);
		return b ? PyErr_NoMemory() : NULL;
	}
	b->dev = (struct py_dev *)Py_NewRef((PyObject *)d);
	b->ptr = p;
	b->len = len;
	return (PyObject *)b;
}

static void buffer_dealloc(PyObject *self)
{
	struct py_buffer *b = (struct py_buffer *)self;
	PyTypeObject *tp = Py_TYPE(self);

	if (b->ptr && b->dev->dev) {
		py_dev_dma_del(b->dev, b->ptr);
		aisio_buf_free(b->dev->dev, b->ptr);
		py_dev_maybe_shut(b->dev);
	}
	Py_XDECREF((PyObject *)b->dev);
	((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
	Py_DECREF(tp);
}

static int buffer_getbuffer(PyObject *self, Py_buffer *view, int flags)
{
	struct py_buffer *b = (struct py_buffer *)self;

	return PyBuffer_FillInfo(view, self, b->ptr, b->len, 0, flags);
}

static Py_ssize_t buffer_len(PyObject *self)
{
	return ((struct py_buffer *)self)->len;
}

static PyObject *buffer_get_address(PyObject *self, void *unused)
{
	return PyLong_FromSize_t((size_t)(uintptr_t)((struct py_buffer *)self)->ptr);
}

static PyObject *buffer_repr(PyObject *self)
{
	struct py_buffer *b = (struct py_buffer *)self;

	return PyUnicode_FromFormat("<aisio.Buffer %zd bytes of DMA memory of %s>", b->len,
				    b->dev->dev ? aisio_dev_uri(b->dev->dev) : "(closed device)");
}

static PyGetSetDef buffer_getset[] = {
	{ "address", buffer_get_address, NULL, "the buffer's address in this process", NULL },
	{ NULL }
};

static PyType_Slot buffer_slots[] = {
	{ Py_tp_dealloc, buffer_dealloc },
	{ Py_bf_getbuffer, buffer_getbuffer },
	{ Py_mp_length, buffer_len },
	{ Py_sq_length, buffer_len },
	{ Py_tp_getset, buffer_getset },
	{ Py_tp_repr, buffer_repr },
	{ Py_tp_doc, "DMA memory of a device (Device.alloc(n)): a writable bytes-like object; "
		     "numpy.frombuffer() and memoryview() slices of it are read and written without a copy." },
	{ 0, NULL }
};

static PyType_Spec buffer_spec = {
	.name = "aisio.Buffer",
	.basicsize = sizeof(struct py_buffer),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = buffer_slots,
};

int py_buffer_init_type(PyObject *m, struct py_state *st)
{
	st->BufferType = PyType_FromModuleAndSpec(m, &buffer_spec, NULL);
	if (!st->BufferType)
		return -1;
	return PyModule_AddObjectRef(m, "Buffer", st->BufferType);
}

/* ---- Arrays in GPU memory ---- */

/* Itemsize from a typestr such as "<f4", "|u1". */
static int cai_itemsize(PyObject *typestr, Py_ssize_t *out)
{
	const char *s = PyUnicode_AsUTF8AndSize(typestr, NULL);
	long n;

	if (!s || strlen(s) < 3)
		return -1;
	n = strtol(s + 2, NULL, 10);
	if (n <= 0)
		return -1;
	*out = n;
	return 0;
}

/* Bytes covered by a C-contiguous shape; -1 (exception) when the strides say otherwise. */
static int cai_nbytes(PyObject *shape, PyObject *strides, Py_ssize_t itemsize, size_t *out)
{
	Py_ssize_t nd = PyTuple_Size(shape);
	Py_ssize_t n = itemsize, expect = itemsize;

	if (nd < 0)
		return -1;
	for (Py_ssize_t i = nd - 1; i >= 0; i--) {
		Py_ssize_t dim = PyLong_AsSsize_t(PyTuple_GetItem(shape, i));

		if (dim < 0 && PyErr_Occurred())
			return -1;
		if (strides && strides != Py_None && dim > 1) {
			Py_ssize_t s = PyLong_AsSsize_t(PyTuple_GetItem(strides, i));

			if (s != expect) {
				PyErr_SetString(PyExc_ValueError,
						"aisio: a GPU array must be C-contiguous (call .contiguous() first)");
				return -1;
			}
		}
		expect *= dim;
		n *= dim;
	}
	*out = (size_t)n;
	return 0;
}

static int ubuf_cai(PyObject *obj, PyObject *cai, int writable, struct py_ubuf *b)
{
	PyObject *data, *shape, *typestr, *strides;
	Py_ssize_t itemsize;
	unsigned long long ptr;
	int readonly;

	if (!PyDict_Check(cai)) {
		PyErr_SetString(PyExc_TypeError, "__cuda_array_interface__ is not a dict");
		return -1;
	}
	data = PyDict_GetItemString(cai, "data");
	shape = PyDict_GetItemString(cai, "shape");
	typestr = PyDict_GetItemString(cai, "typestr");
	strides = PyDict_GetItemString(cai, "strides");
	if (!data || !shape || !typestr || !PyTuple_Check(data) || !PyTuple_Check(shape) ||
	    !PyArg_ParseTuple(data, "Kp", &ptr, &readonly) || cai_itemsize(typestr, &itemsize)) {
		PyErr_SetString(PyExc_TypeError, "__cuda_array_interface__ lacks data, shape or typestr");
		return -1;
	}
	if (writable && readonly) {
		PyErr_SetString(PyExc_TypeError, "aisio: cannot read into a read-only GPU array");
		return -1;
	}
	if (cai_nbytes(shape, strides, itemsize, &b->len))
		return -1;
	b->ptr = (char *)(uintptr_t)ptr;
	b->gpu = 1;
	b->keep = Py_NewRef(obj);
	return 0;
}

/* DLPack (the managed tensor of the DLPack specification, version 0.x ABI). */
struct py_dl_tensor {
	void *data;
	struct { int32_t device_type, device_id; } device;
	int32_t ndim;
	struct { uint8_t code, bits; uint16_t lanes; } dtype;
	int64_t *shape;
	int64_t *strides;
	uint64_t byte_offset;
};
struct py_dl_managed {
	struct py_dl_tensor t;
	void *manager_ctx;
	void (*deleter)(struct py_dl_managed *self);
};
#define PY_DL_CPU 1
#define PY_DL_CUDA 2
#define PY_DL_CUDA_HOST 3

static int ubuf_dlpack(PyObject *obj, struct py_ubuf *b)
{
	PyObject *cap = PyObject_CallMethod(obj, "__dlpack__", NULL);
	struct py_dl_managed *m;
	int64_t n;

	if (!cap)
		return -1;
	m = PyCapsule_GetPointer(cap, "dltensor");
	if (!m) {
		Py_DECREF(cap);
		return -1;
	}
	n = (m->t.dtype.bits * m->t.dtype.lanes + 7) / 8;
	for (int i = 0; i < m->t.ndim; i++)
		n *= m->t.shape[i];
	/* C-contiguity: strides (in elements) must be the running products. */
	if (m->t.strides) {
		int64_t run = 1;

		for (int i = m->t.ndim - 1; i >= 0; i--) {
			if (m->t.shape[i] > 1 && m->t.strides[i] != run) {
				Py_DECREF(cap);
				PyErr_SetString(PyExc_ValueError, "aisio: a DLPack tensor must be C-contiguous");
				return -1;
			}
			run *= m->t.shape[i];
		}
	}
	if (m->t.device.device_type != PY_DL_CPU && m->t.device.device_type != PY_DL_CUDA &&
	    m->t.device.device_type != PY_DL_CUDA_HOST) {
		Py_DECREF(cap);
		PyErr_Format(PyExc_TypeError, "aisio: DLPack device type %d is neither host nor CUDA memory",
			     m->t.device.device_type);
		return -1;
	}
	/* Ours now: the capsule must not free it. */
	if (PyCapsule_SetName(cap, "used_dltensor")) {
		Py_DECREF(cap);
		return -1;
	}
	Py_DECREF(cap);
	b->ptr = (char *)m->t.data + m->t.byte_offset;
	b->len = (size_t)n;
	b->gpu = m->t.device.device_type == PY_DL_CUDA;
	b->dl = m;
	b->keep = Py_NewRef(obj);
	return 0;
}

int py_ubuf_get(PyObject *obj, int writable, struct py_ubuf *b)
{
	PyObject *cai;

	memset(b, 0, sizeof(*b));
	if (PyObject_CheckBuffer(obj)) {
		if (PyObject_GetBuffer(obj, &b->view, PyBUF_C_CONTIGUOUS))
			return -1;
		if (writable && b->view.readonly) {
			PyBuffer_Release(&b->view);
			PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(obj), "__name__");

			PyErr_Format(PyExc_TypeError,
				     "aisio: cannot read into a read-only buffer (%U); pass a bytearray, a "
				     "writable numpy array or an aisio.Buffer", name);
			Py_XDECREF(name);
			return -1;
		}
		b->have_view = 1;
		b->ptr = b->view.buf;
		b->len = (size_t)b->view.len;
		return 0;
	}
	cai = PyObject_GetAttrString(obj, "__cuda_array_interface__");
	if (cai) {
		int r = ubuf_cai(obj, cai, writable, b);

		Py_DECREF(cai);
		return r;
	}
	if (!PyErr_ExceptionMatches(PyExc_AttributeError))
		return -1;
	PyErr_Clear();
	if (PyObject_HasAttrString(obj, "__dlpack__"))
		return ubuf_dlpack(obj, b);
	PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(obj), "__name__");

	PyErr_Format(PyExc_TypeError,
		     "aisio: %U is not a buffer: pass an object with the buffer protocol (bytearray, numpy array, "
		     "aisio.Buffer) or a GPU array (__cuda_array_interface__ or DLPack: torch, cupy)", name);
	Py_XDECREF(name);
	return -1;
}

void py_ubuf_release(struct py_ubuf *b)
{
	if (b->have_view)
		PyBuffer_Release(&b->view);
	b->have_view = 0;
	if (b->dl) {
		struct py_dl_managed *m = b->dl;

		if (m->deleter)
			m->deleter(m);
		b->dl = NULL;
	}
	Py_CLEAR(b->keep);
}
