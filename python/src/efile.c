/* SPDX-License-Identifier: MIT */
/*
 * aisio.DeviceFile: Device.open_file(path, image=False), a file read through
 * its extents with aisio_file_read() on the device's queue (include/aisio/file.h),
 * the kernel serving it where the library says so. pread() reads at once
 * with the GIL released and returns a finished aisio.Future; which path
 * served each read is in last_served / last_reason, never silent.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <aisio/file.h>

#include "mod.h"

struct py_efile {
	PyObject_HEAD
	PyObject *dev;       /* the aisio.Device (kept open while this file is) */
	struct aisio_file *f;
	char *path;
	struct aisio_file_report last;
};

static PyTypeObject *efile_type;

static void efile_shut(struct py_efile *e)
{
	struct py_dev *d = (struct py_dev *)e->dev;

	struct aisio_file *f = e->f;

	if (!f)
		return;
	e->f = NULL;
	/* the handle's DMA memory belongs to the device: closed under the device's lock */
	Py_BEGIN_ALLOW_THREADS
	PyThread_acquire_lock(d->lock, WAIT_LOCK);
	aisio_file_close(f);
	PyThread_release_lock(d->lock);
	Py_END_ALLOW_THREADS
	d->nbatches--;
	py_dev_maybe_shut(d);
}

static void efile_dealloc(PyObject *self)
{
	struct py_efile *e = (struct py_efile *)self;
	PyTypeObject *tp = Py_TYPE(self);

	efile_shut(e);
	Py_XDECREF(e->dev);
	PyMem_Free(e->path);
	((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
	Py_DECREF(tp);
}

PyObject *py_dev_open_file(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "path", "image", NULL };
	struct py_dev *d = (struct py_dev *)self;
	struct py_state *st = py_state_of_type(Py_TYPE(self));
	PyObject *pathobj, *bytes = NULL;
	int image = 0, err;
	struct aisio_file *f = NULL;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|p:open_file", kwlist, &pathobj, &image))
		return NULL;
	if (py_dev_check_open(d) || !PyUnicode_FSConverter(pathobj, &bytes))
		return NULL;
	const char *path = PyBytes_AsString(bytes);
	Py_BEGIN_ALLOW_THREADS
	PyThread_acquire_lock(d->lock, WAIT_LOCK);
	err = aisio_file_open(d->dev, path, image ? AISIO_FILE_IMAGE : 0, &f);
	PyThread_release_lock(d->lock);
	Py_END_ALLOW_THREADS
	if (err) {
		PyObject *r = py_raise(st, err, "open_file %s", path);
		Py_DECREF(bytes);
		return r;
	}
	struct py_efile *e = (struct py_efile *)PyType_GenericAlloc(efile_type, 0);
	size_t n = strlen(path) + 1;
	if (!e || !(e->path = PyMem_Malloc(n))) {
		aisio_file_close(f);
		Py_DECREF(bytes);
		Py_XDECREF((PyObject *)e);
		return e ? PyErr_NoMemory() : NULL;
	}
	memcpy(e->path, path, n);
	Py_DECREF(bytes);
	e->dev = Py_NewRef(self);
	e->f = f;
	d->nbatches++;
	return (PyObject *)e;
}

static const char *served_name(int s)
{
	return s == AISIO_FILE_SERVED_EXTENT ? "extent" : s == AISIO_FILE_SERVED_KERNEL ? "kernel" : "none";
}

/* pread(buf, size=None, file_offset=0) -> Future (finished) */
static PyObject *efile_pread(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "buf", "size", "file_offset", NULL };
	struct py_efile *e = (struct py_efile *)self;
	struct py_dev *d = (struct py_dev *)e->dev;
	struct py_state *st = py_state_of_type(Py_TYPE(self));
	PyObject *obj, *size_obj = Py_None;
	long long off = 0;
	struct py_ubuf b;
	size_t size;
	ssize_t n;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OL:pread", kwlist, &obj, &size_obj, &off))
		return NULL;
	if (!e->f) {
		PyErr_SetString(PyExc_ValueError, "I/O on a closed aisio.DeviceFile");
		return NULL;
	}
	if (off < 0) {
		PyErr_Format(PyExc_ValueError, "aisio.DeviceFile: negative file offset %lld", off);
		return NULL;
	}
	if (py_dev_check_open(d) || py_ubuf_get(obj, 1, &b))
		return NULL;
	if (b.gpu) {
		py_ubuf_release(&b);
		return py_raise_msg(st, -EOPNOTSUPP,
				    "aisio.DeviceFile.pread: GPU buffers are not taken yet; read into a host buffer "
				    "(or use aisio.File for GPU arrays)");
	}
	size = b.len;
	if (size_obj != Py_None) {
		Py_ssize_t sz = PyLong_AsSsize_t(size_obj);

		if (sz < 0 || (size_t)sz > b.len) {
			if (!PyErr_Occurred())
				PyErr_Format(PyExc_ValueError, "aisio.DeviceFile: size %zd does not fit the %zu-byte buffer",
					     sz, b.len);
			py_ubuf_release(&b);
			return NULL;
		}
		size = (size_t)sz;
	}
	struct aisio_file_report rep;
	memset(&rep, 0, sizeof(rep));
	Py_BEGIN_ALLOW_THREADS
	PyThread_acquire_lock(d->lock, WAIT_LOCK);
	n = aisio_file_read(e->f, d->q, b.ptr, (uint64_t)off, size, &rep);
	PyThread_release_lock(d->lock);
	Py_END_ALLOW_THREADS
	py_ubuf_release(&b);
	e->last = rep;
	if (n < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s: pread at offset %lld (%s path%s%s): %s", e->path, off,
			 served_name(rep.served), rep.why[0] ? ": " : "", rep.why, aisio_errmsg());
		return py_raise_msg(st, (int)n, msg);
	}
	return py_future_finished(st, self, (size_t)n);
}

static PyObject *efile_read(PyObject *self, PyObject *args, PyObject *kw)
{
	PyObject *fu = efile_pread(self, args, kw), *r;

	if (!fu)
		return NULL;
	r = PyObject_CallMethod(fu, "get", NULL);
	Py_DECREF(fu);
	return r;
}

static PyObject *efile_close(PyObject *self, PyObject *unused)
{
	efile_shut((struct py_efile *)self);
	Py_RETURN_NONE;
}

static PyObject *efile_size(PyObject *self, PyObject *unused)
{
	struct py_efile *e = (struct py_efile *)self;

	if (!e->f) {
		PyErr_SetString(PyExc_ValueError, "I/O on a closed aisio.DeviceFile");
		return NULL;
	}
	return PyLong_FromUnsignedLongLong(aisio_file_size(e->f));
}

static PyObject *efile_last_served(PyObject *self, void *unused)
{
	return PyUnicode_FromString(served_name(((struct py_efile *)self)->last.served));
}

static PyObject *efile_last_reason(PyObject *self, void *unused)
{
	return PyUnicode_FromString(((struct py_efile *)self)->last.why);
}

static PyObject *efile_last_cmds(PyObject *self, void *unused)
{
	return PyLong_FromUnsignedLong(((struct py_efile *)self)->last.cmds);
}

static PyObject *efile_enter(PyObject *self, PyObject *unused)
{
	return Py_NewRef(self);
}

static PyObject *efile_exit(PyObject *self, PyObject *args)
{
	return efile_close(self, NULL);
}

static PyMethodDef efile_methods[] = {
	{ "pread", (PyCFunction)(void (*)(void))efile_pread, METH_VARARGS | METH_KEYWORDS,
	  "pread(buf, size=None, file_offset=0) -> aisio.Future\n\nRead size bytes (default len(buf)) at "
	  "file_offset into the host buffer buf through the file's extents (the kernel where the library says "
	  "so: see last_served); the read is done when pread returns, the Future is finished." },
	{ "read", (PyCFunction)(void (*)(void))efile_read, METH_VARARGS | METH_KEYWORDS,
	  "read(buf, size=None, file_offset=0) -> int\n\npread(...).get()" },
	{ "size", efile_size, METH_NOARGS, "size() -> int\n\nThe file's size as of its current mapping." },
	{ "close", efile_close, METH_NOARGS, "close()" },
	{ "__enter__", efile_enter, METH_NOARGS, NULL },
	{ "__exit__", efile_exit, METH_VARARGS, NULL },
	{ NULL }
};

static PyGetSetDef efile_getset[] = {
	{ "last_served", efile_last_served, NULL, "'extent', 'kernel' or 'none': the path that served the last read",
	  NULL },
	{ "last_reason", efile_last_reason, NULL, "why the extent path did not serve the last read ('' when it did)",
	  NULL },
	{ "last_cmds", efile_last_cmds, NULL, "NVMe commands the last read issued", NULL },
	{ NULL }
};

static PyType_Slot efile_slots[] = {
	{ Py_tp_dealloc, efile_dealloc },
	{ Py_tp_methods, efile_methods },
	{ Py_tp_getset, efile_getset },
	{ Py_tp_doc, "A file read through its extents on a device: Device.open_file(path, image=False)." },
	{ 0, NULL }
};

static PyType_Spec efile_spec = {
	.name = "aisio.DeviceFile",
	.basicsize = sizeof(struct py_efile),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = efile_slots,
};

int py_efile_init_type(PyObject *m)
{
	PyObject *t = PyType_FromModuleAndSpec(m, &efile_spec, NULL);

	if (!t || PyModule_AddObjectRef(m, "DeviceFile", t))
		return -1;
	efile_type = (PyTypeObject *)t; /* the module keeps its reference */
	return 0;
}
