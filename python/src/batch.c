/* SPDX-License-Identifier: MIT */
/*
 * aisio.Batch: a queue of its own on a device. Prepare many commands
 * (read/write/read_many/write_many), submit them with one doorbell, wait for
 * N completions. Buffers stay referenced until their command is collected.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mod.h"
#include "xfer.h"

/* A user buffer shared by the commands prepared from it. */
struct hold {
	struct py_ubuf b;
	Py_ssize_t refs;
};

struct rec {
	PyObject *tag;       /* NULL: the tag is the LBA */
	struct hold *hold;
	size_t off, len;     /* part of the user buffer */
	char *bounce;        /* DMA copy when the user buffer is not DMA memory */
	uint64_t lba;
	int write;
	int status;
};

struct py_batch {
	PyObject_HEAD
	struct py_dev *dev;
	struct aisio_queue *q;
	uint32_t depth;
	struct rec *recs;
	uint32_t *free_idx, nfree;
	uint32_t *done_idx, ndone;
	uint32_t prepared, inflight;
	int busy;
	char msg[512];       /* the library's message at the first negative status */
};

static void hold_put(struct hold *h)
{
	if (h && --h->refs == 0) {
		py_ubuf_release(&h->b);
		PyMem_Free(h);
	}
}

PyObject *py_batch_new(struct py_dev *d, uint32_t depth)
{
	struct py_state *st = py_state_of_type(Py_TYPE((PyObject *)d));
	struct py_batch *b;
	struct aisio_queue *q;
	const struct aisio_geo *g = aisio_dev_geo(d->dev);
	int err;

	if (depth < 1) {
		PyErr_SetString(PyExc_ValueError, "aisio.Device.batch: depth must be at least 1");
		return NULL;
	}
	/* An NVMe ring of N entries holds N - 1 commands. */
	if (g->max_qdepth && depth + 1 > g->max_qdepth)
		depth = g->max_qdepth - 1;
	Py_BEGIN_ALLOW_THREADS
	err = aisio_queue_init(d->dev, depth + 1, &q);
	Py_END_ALLOW_THREADS
	if (err)
		return py_raise(st, err, "%s: cannot create a queue of depth %u for a batch", aisio_dev_uri(d->dev),
				depth + 1);
	b = (struct py_batch *)PyType_GenericAlloc((PyTypeObject *)st->BatchType, 0);
	if (!b) {
		aisio_queue_term(q);
		return NULL;
	}
	b->q = q;
	b->depth = aisio_queue_depth(q);
	b->dev = (struct py_dev *)Py_NewRef((PyObject *)d);
	d->nbatches++;
	b->recs = PyMem_Calloc(b->depth, sizeof(*b->recs));
	b->free_idx = PyMem_Calloc(b->depth, sizeof(uint32_t));
	b->done_idx = PyMem_Calloc(b->depth, sizeof(uint32_t));
	if (!b->recs || !b->free_idx || !b->done_idx) {
		Py_DECREF(b);
		return PyErr_NoMemory();
	}
	for (uint32_t i = 0; i < b->depth; i++)
		b->free_idx[i] = b->depth - 1 - i;
	b->nfree = b->depth;
	return (PyObject *)b;
}

static void rec_done(struct py_batch *b, struct rec *r)
{
	if (r->bounce)
		aisio_buf_free(b->dev->dev, r->bounce);
	r->bounce = NULL;
	hold_put(r->hold);
	r->hold = NULL;
	Py_CLEAR(r->tag);
}

static int batch_until(void *arg);

static void batch_drain(struct py_batch *b)
{
	if (b->inflight) {
		Py_BEGIN_ALLOW_THREADS
		py_reap_until(b->q, batch_until, b);
		Py_END_ALLOW_THREADS
	}
}

static void batch_shut(struct py_batch *b)
{
	if (!b->q)
		return;
	batch_drain(b);
	aisio_queue_term(b->q); /* prepared, unsubmitted commands go with it */
	b->q = NULL;
	for (uint32_t i = 0; i < b->depth; i++)
		if (b->recs)
			rec_done(b, &b->recs[i]);
	b->dev->nbatches--;
	py_dev_maybe_shut(b->dev);
}

static void batch_dealloc(PyObject *self)
{
	struct py_batch *b = (struct py_batch *)self;
	PyTypeObject *tp = Py_TYPE(self);

	batch_shut(b);
	PyMem_Free(b->recs);
	PyMem_Free(b->free_idx);
	PyMem_Free(b->done_idx);
	Py_XDECREF((PyObject *)b->dev);
	((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
	Py_DECREF(tp);
}

static int batch_enter_call(struct py_batch *b)
{
	if (!b->q) {
		PyErr_SetString(PyExc_ValueError, "I/O on a closed aisio.Batch");
		return -1;
	}
	if (b->busy) {
		PyErr_SetString(PyExc_RuntimeError, "aisio.Batch is in use by another thread; use one batch per thread");
		return -1;
	}
	b->busy = 1;
	return 0;
}

static void batch_cb(struct aisio_io *io, void *arg)
{
	struct py_batch *b = arg;
	struct rec *r = &b->recs[io->submit_ts];

	r->status = io->status;
	if (io->status < 0 && !b->msg[0])
		snprintf(b->msg, sizeof(b->msg), "%s", aisio_errmsg());
	if (!io->status && !r->write && r->bounce &&
	    py_copy_out(&r->hold->b, r->off, r->bounce, r->len, b->msg, sizeof(b->msg)))
		r->status = -EIO;
	b->done_idx[b->ndone++] = (uint32_t)io->submit_ts;
	b->inflight--;
}

/* Prepare one command over [off, off + len) of @h. 0 or -1 with an exception. */
static int batch_prep(struct py_batch *b, int write, uint64_t lba, struct hold *h, size_t off, size_t len,
		      int dma, PyObject *tag)
{
	struct py_dev *d = b->dev;
	struct aisio_io *io;
	struct rec *r;
	uint32_t idx;
	char *p;

	if (!len || len % d->lba_size || len > d->max_xfer) {
		PyErr_Format(PyExc_ValueError,
			     "%s: a command of %zu bytes: it must be a positive multiple of the %u-byte LBA and at most "
			     "%u bytes (the largest transfer); Device.read/write split larger buffers",
			     aisio_dev_uri(d->dev), len, d->lba_size, d->max_xfer);
		return -1;
	}
	if (!b->nfree || !(io = aisio_queue_get_io(b->q))) {
		PyErr_Format(PyExc_RuntimeError,
			     "aisio.Batch is full: %u commands prepared, in flight or not yet collected (depth %u); "
			     "submit() and wait() first", b->depth - b->nfree, b->depth);
		return -1;
	}
	idx = b->free_idx[--b->nfree];
	r = &b->recs[idx];
	r->hold = h;
	h->refs++;
	r->off = off;
	r->len = len;
	r->lba = lba;
	r->write = write;
	r->status = 0;
	r->tag = tag == Py_None ? NULL : Py_XNewRef(tag);
	if (dma) {
		p = h->b.ptr + off;
	} else {
		char why[256];
		int err = 0;

		r->bounce = p = aisio_buf_alloc(d->dev, len);
		if (p && write) {
			if (h->b.gpu) {
				Py_BEGIN_ALLOW_THREADS
				err = py_copy_in(p, &h->b, off, len, why, sizeof(why));
				Py_END_ALLOW_THREADS
			} else {
				err = py_copy_in(p, &h->b, off, len, why, sizeof(why));
			}
		}
		if (!p || err) {
			aisio_queue_put_io(b->q, io);
			rec_done(b, r);
			b->free_idx[b->nfree++] = idx;
			if (!p)
				PyErr_Format(PyExc_MemoryError, "%s: no DMA memory for a %zu-byte bounce buffer",
					     aisio_dev_uri(d->dev), len);
			else
				py_raise_msg(py_state_of_type(Py_TYPE((PyObject *)b)), err, why);
			return -1;
		}
	}
	if (write)
		aisio_prep_write(io, d->nsid, lba, (uint32_t)(len / d->lba_size), p, len);
	else
		aisio_prep_read(io, d->nsid, lba, (uint32_t)(len / d->lba_size), p, len);
	io->submit_ts = idx;
	aisio_io_set_cb(io, batch_cb, b);
	b->prepared++;
	return 0;
}

static struct hold *hold_get(PyObject *obj, int writable)
{
	struct hold *h = PyMem_Calloc(1, sizeof(*h));

	if (!h) {
		PyErr_NoMemory();
		return NULL;
	}
	if (py_ubuf_get(obj, writable, &h->b)) {
		PyMem_Free(h);
		return NULL;
	}
	h->refs = 1; /* the caller's, dropped with hold_put at the end of the call */
	return h;
}

/* read(lba, buf, tag=None) / write(lba, buf, tag=None) */
static PyObject *batch_one(PyObject *self, PyObject *args, PyObject *kw, int write)
{
	static char *kwlist[] = { "lba", "buf", "tag", NULL };
	struct py_batch *b = (struct py_batch *)self;
	unsigned long long lba;
	PyObject *obj, *tag = Py_None;
	struct hold *h;
	int err;

	if (!PyArg_ParseTupleAndKeywords(args, kw, write ? "KO|O:write" : "KO|O:read", kwlist, &lba, &obj, &tag))
		return NULL;
	if (batch_enter_call(b))
		return NULL;
	h = hold_get(obj, !write);
	err = !h || batch_prep(b, write, lba, h, 0, h->b.len,
			       !h->b.gpu && py_dev_is_dma(b->dev, h->b.ptr, h->b.len), tag);
	hold_put(h);
	b->busy = 0;
	if (err)
		return NULL;
	Py_RETURN_NONE;
}

static PyObject *batch_read(PyObject *self, PyObject *args, PyObject *kw)
{
	return batch_one(self, args, kw, 0);
}

static PyObject *batch_write(PyObject *self, PyObject *args, PyObject *kw)
{
	return batch_one(self, args, kw, 1);
}

/* The LBAs of read_many/write_many: a buffer of 64-bit integers (numpy) or any iterable of ints. */
static uint64_t *lbas_get(PyObject *obj, Py_ssize_t *n)
{
	uint64_t *v = NULL;

	if (PyObject_CheckBuffer(obj)) {
		Py_buffer view;

		if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT))
			return NULL;
		const char *f = view.format ? view.format : "B";
		if (*f == '<' || *f == '=' || *f == '@')
			f++;
		if (view.itemsize != 8 || !strchr("QqLlNn", *f) || f[1]) {
			PyBuffer_Release(&view);
			PyErr_Format(PyExc_TypeError,
				     "aisio.Batch: lbas must hold 64-bit integers (numpy uint64/int64), not format '%s'",
				     view.format ? view.format : "B");
			return NULL;
		}
		*n = view.len / 8;
		v = PyMem_Malloc(view.len ? (size_t)view.len : 1);
		if (v) {
			memcpy(v, view.buf, (size_t)view.len);
			if (strchr("qln", *f))
				for (Py_ssize_t i = 0; i < *n; i++)
					if ((int64_t)v[i] < 0) {
						PyMem_Free(v);
						v = NULL;
						PyErr_Format(PyExc_ValueError, "aisio.Batch: negative LBA at index %zd", i);
						break;
					}
		} else {
			PyErr_NoMemory();
		}
		PyBuffer_Release(&view);
		return v;
	}
	PyObject *it = PyObject_GetIter(obj), *x;
	Py_ssize_t cap = 0;

	if (!it)
		return NULL;
	*n = 0;
	while ((x = PyIter_Next(it))) {
		unsigned long long l = PyLong_AsUnsignedLongLong(x);

		Py_DECREF(x);
		if (l == (unsigned long long)-1 && PyErr_Occurred())
			break;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			uint64_t *nv = PyMem_Realloc(v, (size_t)cap * 8);
			if (!nv) {
				PyErr_NoMemory();
				break;
			}
			v = nv;
		}
		v[(*n)++] = l;
	}
	Py_DECREF(it);
	if (PyErr_Occurred()) {
		PyMem_Free(v);
		return NULL;
	}
	return v ? v : PyMem_Malloc(1);
}

/* read_many(lbas, buf, nbytes, tags=None): command i moves buf[i*nbytes:(i+1)*nbytes] at lbas[i]. */
static PyObject *batch_many(PyObject *self, PyObject *args, PyObject *kw, int write)
{
	static char *kwlist[] = { "lbas", "buf", "nbytes", "tags", NULL };
	struct py_batch *b = (struct py_batch *)self;
	PyObject *lobj, *obj, *tags = Py_None;
	Py_ssize_t nbytes, n = 0;
	uint64_t *lbas;
	struct hold *h = NULL;
	int err = -1, dma;

	if (!PyArg_ParseTupleAndKeywords(args, kw, write ? "OOn|O:write_many" : "OOn|O:read_many", kwlist, &lobj,
					 &obj, &nbytes, &tags))
		return NULL;
	if (batch_enter_call(b))
		return NULL;
	lbas = lbas_get(lobj, &n);
	if (!lbas)
		goto out;
	if (tags != Py_None && (!PyList_Check(tags) || PyList_Size(tags) != n)) {
		PyErr_Format(PyExc_ValueError, "aisio.Batch: tags must be a list of %zd items, one per LBA", n);
		goto out;
	}
	if ((uint64_t)n > b->nfree) {
		PyErr_Format(PyExc_RuntimeError,
			     "aisio.Batch is full: %zd commands asked for, %u free (depth %u); submit() and wait() first",
			     n, b->nfree, b->depth);
		goto out;
	}
	h = hold_get(obj, !write);
	if (!h)
		goto out;
	if (nbytes <= 0 || (size_t)nbytes * (size_t)n > h->b.len) {
		PyErr_Format(PyExc_ValueError, "aisio.Batch: %zd commands of %zd bytes need %zd bytes; the buffer has %zu",
			     n, nbytes, n * nbytes, h->b.len);
		goto out;
	}
	dma = !h->b.gpu && py_dev_is_dma(b->dev, h->b.ptr, (size_t)n * (size_t)nbytes);
	for (Py_ssize_t i = 0; i < n; i++)
		if (batch_prep(b, write, lbas[i], h, (size_t)i * (size_t)nbytes, (size_t)nbytes, dma,
			       tags == Py_None ? Py_None : PyList_GetItem(tags, i)))
			goto out;
	err = 0;
out:
	hold_put(h);
	PyMem_Free(lbas);
	b->busy = 0;
	if (err)
		return NULL;
	return PyLong_FromSsize_t(n);
}

static PyObject *batch_read_many(PyObject *self, PyObject *args, PyObject *kw)
{
	return batch_many(self, args, kw, 0);
}

static PyObject *batch_write_many(PyObject *self, PyObject *args, PyObject *kw)
{
	return batch_many(self, args, kw, 1);
}

static PyObject *batch_submit(PyObject *self, PyObject *unused)
{
	struct py_batch *b = (struct py_batch *)self;
	int r;

	if (batch_enter_call(b))
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	r = aisio_queue_submit(b->q);
	Py_END_ALLOW_THREADS
	/* Commands the queue could not take complete at the next reap with their status. */
	b->inflight += b->prepared;
	b->prepared = 0;
	b->busy = 0;
	if (r < 0)
		return py_raise(py_state_of_type(Py_TYPE(self)), r, "%s: submit", aisio_dev_uri(b->dev->dev));
	return PyLong_FromLong(r);
}

struct until {
	struct py_batch *b;
	uint32_t want;
	uint64_t deadline_ns;
	unsigned polls;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int batch_until(void *arg)
{
	struct py_batch *b = arg;

	return b->inflight == 0;
}

static int until_n(void *arg)
{
	struct until *u = arg;

	if (u->b->ndone >= u->want)
		return 1;
	if (u->deadline_ns && (++u->polls & 255) == 0 && now_ns() >= u->deadline_ns)
		return 1;
	return 0;
}

/* wait(min_nr=None, timeout=None) -> list of tags of the commands completed */
static PyObject *batch_wait(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "min_nr", "timeout", NULL };
	struct py_batch *b = (struct py_batch *)self;
	struct py_state *st = py_state_of_type(Py_TYPE(self));
	PyObject *min_obj = Py_None, *list, *failed = NULL;
	double timeout = -1;
	struct until u = { .b = b };
	int r;
	uint32_t nfail = 0;
	struct rec first = { 0 };

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|Od:wait", kwlist, &min_obj, &timeout))
		return NULL;
	if (batch_enter_call(b))
		return NULL;
	if (min_obj == Py_None) {
		u.want = b->ndone + b->inflight;
	} else {
		long want = PyLong_AsLong(min_obj);

		if (want == -1 && PyErr_Occurred()) {
			b->busy = 0;
			return NULL;
		}
		if (want < 0 || (uint64_t)want > (uint64_t)b->ndone + b->inflight) {
			PyErr_Format(PyExc_ValueError,
				     "aisio.Batch.wait: min_nr=%ld but only %u commands are submitted and not collected "
				     "(%u prepared: submit() them first)", want, b->ndone + b->inflight, b->prepared);
			b->busy = 0;
			return NULL;
		}
		u.want = (uint32_t)want;
	}
	if (timeout >= 0)
		u.deadline_ns = now_ns() + (uint64_t)(timeout * 1e9);
	Py_BEGIN_ALLOW_THREADS
	r = py_reap_until(b->q, until_n, &u);
	Py_END_ALLOW_THREADS
	list = PyList_New(b->ndone);
	for (uint32_t i = 0; i < b->ndone; i++) {
		struct rec *rc = &b->recs[b->done_idx[i]];
		PyObject *tag = rc->tag ? Py_NewRef(rc->tag) : PyLong_FromUnsignedLongLong(rc->lba);

		if (rc->status) {
			if (!nfail++) {
				first = *rc;
				failed = PyList_New(0);
			}
			if (failed && tag) {
				PyObject *t = Py_BuildValue("(Oi)", tag, rc->status);

				if (t)
					PyList_Append(failed, t);
				Py_XDECREF(t);
			}
		}
		if (list && tag)
			PyList_SetItem(list, i, tag);
		else
			Py_XDECREF(tag);
		rec_done(b, rc);
		b->free_idx[b->nfree++] = b->done_idx[i];
	}
	b->ndone = 0;
	b->busy = 0;
	if (r < 0) {
		Py_XDECREF(list);
		Py_XDECREF(failed);
		return py_raise(st, r, "%s: wait", aisio_dev_uri(b->dev->dev));
	}
	if (nfail) {
		char msg[1024];

		if (first.status < 0 && b->msg[0])
			snprintf(msg, sizeof(msg), "%s: %s at LBA %llu: %s (%s); %u of %zd commands failed",
				 aisio_dev_uri(b->dev->dev), first.write ? "write" : "read",
				 (unsigned long long)first.lba, aisio_status_str(first.status), b->msg, nfail,
				 list ? PyList_Size(list) : (Py_ssize_t)0);
		else
			snprintf(msg, sizeof(msg), "%s: %s at LBA %llu: %s; %u of %zd commands failed",
				 aisio_dev_uri(b->dev->dev), first.write ? "write" : "read",
				 (unsigned long long)first.lba, aisio_status_str(first.status), nfail,
				 list ? PyList_Size(list) : (Py_ssize_t)0);
		b->msg[0] = '\0';
		py_raise_msg(st, first.status, msg);
		/* Let the caller see which: exc.completed (tags) and exc.failed ((tag, status) pairs). */
		PyObject *et, *ev, *tb;
		PyErr_Fetch(&et, &ev, &tb);
		if (ev && list && failed) {
			PyObject_SetAttrString(ev, "completed", list);
			PyObject_SetAttrString(ev, "failed", failed);
		}
		PyErr_Restore(et, ev, tb);
		Py_XDECREF(list);
		Py_XDECREF(failed);
		return NULL;
	}
	return list;
}

static PyObject *batch_close(PyObject *self, PyObject *unused)
{
	struct py_batch *b = (struct py_batch *)self;

	if (b->busy) {
		PyErr_SetString(PyExc_RuntimeError, "aisio.Batch is in use by another thread");
		return NULL;
	}
	batch_shut(b);
	Py_RETURN_NONE;
}

static PyObject *batch_enter(PyObject *self, PyObject *unused)
{
	return Py_NewRef(self);
}

static PyObject *batch_exit(PyObject *self, PyObject *args)
{
	return batch_close(self, NULL);
}

static PyObject *batch_get(PyObject *self, void *what)
{
	struct py_batch *b = (struct py_batch *)self;

	switch ((intptr_t)what) {
	case 0: return PyLong_FromUnsignedLong(b->depth);
	case 1: return PyLong_FromUnsignedLong(b->prepared);
	case 2: return PyLong_FromUnsignedLong(b->inflight + b->ndone);
	}
	Py_RETURN_NONE;
}

static PyMethodDef batch_methods[] = {
	{ "read", (PyCFunction)(void (*)(void))batch_read, METH_VARARGS | METH_KEYWORDS,
	  "read(lba, buf, tag=None)\n\nPrepare a read of len(buf) bytes (at most max_xfer) at lba." },
	{ "write", (PyCFunction)(void (*)(void))batch_write, METH_VARARGS | METH_KEYWORDS,
	  "write(lba, buf, tag=None)\n\nPrepare a write of buf at lba." },
	{ "read_many", (PyCFunction)(void (*)(void))batch_read_many, METH_VARARGS | METH_KEYWORDS,
	  "read_many(lbas, buf, nbytes, tags=None) -> int\n\nPrepare len(lbas) reads: command i reads nbytes at "
	  "lbas[i] into buf[i*nbytes:(i+1)*nbytes]. lbas: numpy uint64/int64 array or iterable of ints." },
	{ "write_many", (PyCFunction)(void (*)(void))batch_write_many, METH_VARARGS | METH_KEYWORDS,
	  "write_many(lbas, buf, nbytes, tags=None) -> int\n\nPrepare len(lbas) writes (see read_many)." },
	{ "submit", batch_submit, METH_NOARGS,
	  "submit() -> int\n\nSubmit every prepared command at once; returns how many." },
	{ "wait", (PyCFunction)(void (*)(void))batch_wait, METH_VARARGS | METH_KEYWORDS,
	  "wait(min_nr=None, timeout=None) -> list\n\nWait until at least min_nr commands (default: all submitted) "
	  "have completed, or timeout seconds; return the tags (default: the LBA) of every completed command. "
	  "A failed command raises aisio.Error after all are collected; it has .completed and .failed." },
	{ "close", batch_close, METH_NOARGS, "close()\n\nWait for commands in flight and delete the queue." },
	{ "__enter__", batch_enter, METH_NOARGS, NULL },
	{ "__exit__", batch_exit, METH_VARARGS, NULL },
	{ NULL }
};

static PyGetSetDef batch_getset[] = {
	{ "depth", batch_get, NULL, "commands the batch holds at once", (void *)0 },
	{ "prepared", batch_get, NULL, "commands prepared and not submitted", (void *)1 },
	{ "submitted", batch_get, NULL, "commands submitted and not collected by wait()", (void *)2 },
	{ NULL }
};

static PyType_Slot batch_slots[] = {
	{ Py_tp_dealloc, batch_dealloc },
	{ Py_tp_methods, batch_methods },
	{ Py_tp_getset, batch_getset },
	{ Py_tp_doc, "A batch of commands on a queue of its own (Device.batch(depth)). One thread at a time." },
	{ 0, NULL }
};

static PyType_Spec batch_spec = {
	.name = "aisio.Batch",
	.basicsize = sizeof(struct py_batch),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = batch_slots,
};

int py_batch_init_type(PyObject *m, struct py_state *st)
{
	st->BatchType = PyType_FromModuleAndSpec(m, &batch_spec, NULL);
	if (!st->BatchType)
		return -1;
	return PyModule_AddObjectRef(m, "Batch", st->BatchType);
}
