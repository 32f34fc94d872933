/* SPDX-License-Identifier: MIT */
/*
 * aisio.Device: a device opened by URI, its geometry, and blocking
 * read/write at an LBA. The GIL is released while commands run.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "mod.h"
#include "xfer.h"

static PyObject *dev_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "uri", "backend", "nsid", "create", "timeout_ms", NULL };
	struct py_state *st = py_state_of_type(type);
	const char *uri, *be = NULL;
	unsigned int nsid = 0, timeout_ms = 0;
	int create = 0, err;
	struct aisio_open_opts o;
	struct aisio_dev *dev = NULL;
	struct py_dev *d;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|$zIpI:open", kwlist, &uri, &be, &nsid, &create,
					 &timeout_ms))
		return NULL;
	memset(&o, 0, sizeof(o));
	o.be = be;
	o.nsid = nsid;
	o.timeout_ms = timeout_ms;
	o.flags = create ? AISIO_OPEN_CREATE : 0;
	Py_BEGIN_ALLOW_THREADS
	err = aisio_dev_open(uri, &o, &dev);
	Py_END_ALLOW_THREADS
	if (err)
		return py_raise(st, err, "cannot open %s", uri);
	d = (struct py_dev *)PyType_GenericAlloc(type, 0);
	if (!d) {
		aisio_dev_close(dev);
		return NULL;
	}
	d->dev = dev;
	const struct aisio_geo *g = aisio_dev_geo(dev);
	d->lba_size = g->lba_size;
	d->nlbas = g->nlbas;
	d->nsid = g->nsid;
	d->max_xfer = py_xfer_chunk(g);
	d->lock = PyThread_allocate_lock();
	if (!d->lock) {
		Py_DECREF(d);
		return PyErr_NoMemory();
	}
	err = aisio_queue_init(dev, g->max_qdepth && g->max_qdepth < 64 ? g->max_qdepth : 64, &d->q);
	if (err) {
		py_raise(st, err, "%s: cannot create an I/O queue", uri);
		Py_DECREF(d);
		return NULL;
	}
	return (PyObject *)d;
}

static void dev_shut(struct py_dev *d)
{
	if (d->q)
		aisio_queue_term(d->q);
	d->q = NULL;
	if (d->dev)
		aisio_dev_close(d->dev);
	d->dev = NULL;
}

static void dev_dealloc(PyObject *self)
{
	struct py_dev *d = (struct py_dev *)self;
	PyTypeObject *tp = Py_TYPE(self);

	dev_shut(d);
	if (d->lock)
		PyThread_free_lock(d->lock);
	PyMem_Free(d->dma);
	((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
	Py_DECREF(tp);
}

int py_dev_check_open(struct py_dev *d)
{
	if (d->dev && !d->closed)
		return 0;
	PyErr_SetString(PyExc_ValueError, "I/O on a closed aisio.Device");
	return -1;
}

void py_dev_maybe_shut(struct py_dev *d)
{
	if (!d->closed || d->nbatches || d->nfiles || d->ndma || !d->dev)
		return;
	Py_BEGIN_ALLOW_THREADS
	PyThread_acquire_lock(d->lock, WAIT_LOCK);
	dev_shut(d);
	PyThread_release_lock(d->lock);
	Py_END_ALLOW_THREADS
}

/* Buffers and batches still alive keep the device open until they go (their memory stays valid). */
static PyObject *dev_close(PyObject *self, PyObject *unused)
{
	struct py_dev *d = (struct py_dev *)self;

	d->closed = 1;
	py_dev_maybe_shut(d);
	Py_RETURN_NONE;
}

static PyObject *dev_enter(PyObject *self, PyObject *unused)
{
	return Py_NewRef(self);
}

static PyObject *dev_exit(PyObject *self, PyObject *args)
{
	return dev_close(self, NULL);
}

int py_dev_is_dma(struct py_dev *d, const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p;

	for (Py_ssize_t i = 0; i < d->ndma; i++)
		if (a >= d->dma[i].va && len <= d->dma[i].len && a - d->dma[i].va <= d->dma[i].len - len)
			return 1;
	return 0;
}

int py_dev_dma_add(struct py_dev *d, void *p, size_t len)
{
	if (d->ndma == d->dma_cap) {
		Py_ssize_t cap = d->dma_cap ? d->dma_cap * 2 : 8;
		void *n = PyMem_Realloc(d->dma, (size_t)cap * sizeof(*d->dma));

		if (!n)
			return -1;
		d->dma = n;
		d->dma_cap = cap;
	}
	d->dma[d->ndma].va = (uintptr_t)p;
	d->dma[d->ndma].len = len;
	d->ndma++;
	return 0;
}

void py_dev_dma_del(struct py_dev *d, void *p)
{
	for (Py_ssize_t i = 0; i < d->ndma; i++)
		if (d->dma[i].va == (uintptr_t)p) {
			d->dma[i] = d->dma[--d->ndma];
			return;
		}
}

/* read(lba, buf) / write(lba, buf): the whole buffer, in as many commands as MDTS needs. */
static PyObject *dev_rw(PyObject *self, PyObject *args, int write)
{
	struct py_dev *d = (struct py_dev *)self;
	struct py_state *st = py_state_of_type(Py_TYPE(self));
	unsigned long long lba;
	PyObject *obj;
	struct py_ubuf b;
	struct py_xfer x;
	int err;

	if (!PyArg_ParseTuple(args, write ? "KO:write" : "KO:read", &lba, &obj))
		return NULL;
	if (py_dev_check_open(d) || py_ubuf_get(obj, !write, &b))
		return NULL;
	if (py_xfer_setup(&x, d, write, lba, &b) == 0) {
		Py_BEGIN_ALLOW_THREADS
		PyThread_acquire_lock(d->lock, WAIT_LOCK);
		py_xfer_run(&x, d->q);
		PyThread_release_lock(d->lock);
		Py_END_ALLOW_THREADS
		err = py_xfer_finish(&x, st);
	} else {
		err = -1;
	}
	py_ubuf_release(&b);
	if (err)
		return NULL;
	return PyLong_FromSize_t(b.len);
}

static PyObject *dev_read(PyObject *self, PyObject *args)
{
	return dev_rw(self, args, 0);
}

static PyObject *dev_write(PyObject *self, PyObject *args)
{
	return dev_rw(self, args, 1);
}

static PyObject *dev_alloc(PyObject *self, PyObject *args)
{
	Py_ssize_t n;

	if (!PyArg_ParseTuple(args, "n:alloc", &n))
		return NULL;
	if (py_dev_check_open((struct py_dev *)self))
		return NULL;
	return py_buffer_new((struct py_dev *)self, n);
}

static PyObject *dev_batch(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "depth", NULL };
	unsigned int depth = 1024;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|I:batch", kwlist, &depth))
		return NULL;
	if (py_dev_check_open((struct py_dev *)self))
		return NULL;
	return py_batch_new((struct py_dev *)self, depth);
}

static PyObject *dev_get_geo(PyObject *self, void *what)
{
	struct py_dev *d = (struct py_dev *)self;
	const struct aisio_geo *g;

	if (py_dev_check_open(d))
		return NULL;
	g = aisio_dev_geo(d->dev);
	switch ((intptr_t)what) {
	case 0: return PyLong_FromUnsignedLong(g->lba_size);
	case 1: return PyLong_FromUnsignedLongLong(g->nlbas);
	case 2: return PyLong_FromUnsignedLong(g->nsid);
	case 3: return PyLong_FromUnsignedLong(g->max_xfer);
	case 4: return PyLong_FromUnsignedLong(g->max_queues);
	case 5: return PyLong_FromUnsignedLong(g->max_qdepth);
	case 6: return PyLong_FromUnsignedLong(g->buf_align);
	case 7: return PyBool_FromLong(g->sgl);
	case 8: return PyUnicode_FromString(g->backend ? g->backend : "");
	case 9: return PyUnicode_FromString(aisio_dev_uri(d->dev));
	case 10: return PyLong_FromUnsignedLongLong(g->nlbas * g->lba_size);
	}
	Py_RETURN_NONE;
}

static PyObject *dev_get_closed(PyObject *self, void *unused)
{
	return PyBool_FromLong(((struct py_dev *)self)->closed || !((struct py_dev *)self)->dev);
}

static PyObject *dev_repr(PyObject *self)
{
	struct py_dev *d = (struct py_dev *)self;

	if (!d->dev || d->closed)
		return PyUnicode_FromString("<aisio.Device (closed)>");
	const struct aisio_geo *g = aisio_dev_geo(d->dev);
	return PyUnicode_FromFormat("<aisio.Device %s backend=%s nsid=%u lba_size=%u nlbas=%llu>",
				    aisio_dev_uri(d->dev), g->backend, g->nsid, g->lba_size,
				    (unsigned long long)g->nlbas);
}

static PyMethodDef dev_methods[] = {
	{ "open_file", (PyCFunction)(void (*)(void))py_dev_open_file, METH_VARARGS | METH_KEYWORDS,
	  "open_file(path, image=False, queues=4, fallback=False) -> aisio.DeviceFile\n\nA file read through its "
	  "extents on this device (include/aisio/file.h): image=True for a path inside the device's own unmounted "
	  "XFS, else a mounted path on a homi: device. Up to `queues` reads in flight at once (a thread and a queue "
	  "each). fallback=True: where the device has no extent path for the file, the kernel serves it "
	  "(every Future served 'kernel', with the reason)." },
	{ "read", dev_read, METH_VARARGS,
	  "read(lba, buf) -> int\n\nRead len(buf) bytes (a multiple of lba_size) starting at LBA lba into buf "
	  "(writable host buffer or GPU array). Blocks with the GIL released; returns the bytes read." },
	{ "write", dev_write, METH_VARARGS,
	  "write(lba, buf) -> int\n\nWrite buf (a multiple of lba_size bytes) starting at LBA lba." },
	{ "alloc", dev_alloc, METH_VARARGS,
	  "alloc(nbytes) -> aisio.Buffer\n\nDMA memory of this device: I/O into it needs no copy." },
	{ "batch", (PyCFunction)(void (*)(void))dev_batch, METH_VARARGS | METH_KEYWORDS,
	  "batch(depth=1024) -> aisio.Batch\n\nA queue of its own: prepare many commands, submit once, wait for N." },
	{ "close", dev_close, METH_NOARGS,
	  "close()\n\nClose the device: no more I/O; buffers and batches still alive keep it open until they go." },
	{ "__enter__", dev_enter, METH_NOARGS, NULL },
	{ "__exit__", dev_exit, METH_VARARGS, NULL },
	{ NULL }
};

static PyGetSetDef dev_getset[] = {
	{ "lba_size", dev_get_geo, NULL, "bytes per LBA", (void *)0 },
	{ "nlbas", dev_get_geo, NULL, "namespace size in LBAs", (void *)1 },
	{ "nsid", dev_get_geo, NULL, "namespace ID", (void *)2 },
	{ "max_xfer", dev_get_geo, NULL, "largest transfer of one command in bytes (0: no limit)", (void *)3 },
	{ "max_queues", dev_get_geo, NULL, "I/O queues the device can give", (void *)4 },
	{ "max_qdepth", dev_get_geo, NULL, "entries per queue", (void *)5 },
	{ "buf_align", dev_get_geo, NULL, "required buffer alignment in bytes", (void *)6 },
	{ "sgl", dev_get_geo, NULL, "controller supports SGLs", (void *)7 },
	{ "backend", dev_get_geo, NULL, "I/O path: emu, upci, psync, io_uring, uring_cmd, homi", (void *)8 },
	{ "uri", dev_get_geo, NULL, "the URI the device was opened with", (void *)9 },
	{ "size", dev_get_geo, NULL, "namespace size in bytes", (void *)10 },
	{ "closed", dev_get_closed, NULL, "whether close() was called", NULL },
	{ NULL }
};

static PyType_Slot dev_slots[] = {
	{ Py_tp_new, dev_new },
	{ Py_tp_dealloc, dev_dealloc },
	{ Py_tp_methods, dev_methods },
	{ Py_tp_getset, dev_getset },
	{ Py_tp_repr, dev_repr },
	{ Py_tp_doc, "Device(uri, *, backend=None, nsid=0, create=False, timeout_ms=0)\n\n"
		     "An NVMe namespace opened by URI (emu:64M, pci:0000:01:00.0, /dev/nvme0n1, file:PATH,size=1G, "
		     "homi:...). aisio.open(uri) is the same." },
	{ 0, NULL }
};

static PyType_Spec dev_spec = {
	.name = "aisio.Device",
	.basicsize = sizeof(struct py_dev),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = dev_slots,
};

int py_dev_init_type(PyObject *m, struct py_state *st)
{
	st->DeviceType = PyType_FromModuleAndSpec(m, &dev_spec, NULL);
	if (!st->DeviceType)
		return -1;
	return PyModule_AddObjectRef(m, "Device", st->DeviceType);
}
