/* SPDX-License-Identifier: MIT */
/* aisio.Future (future.h): get() waits with the GIL released, done() polls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "future.h"

const char *py_served_name(unsigned served)
{
	switch (served & (PY_SERVED_EXTENT | PY_SERVED_KERNEL)) {
	case PY_SERVED_EXTENT: return "extent";
	case PY_SERVED_KERNEL: return "kernel";
	case PY_SERVED_EXTENT | PY_SERVED_KERNEL: return "extent+kernel";
	}
	return "none";
}

int py_fut_task_done(struct py_fut_state *s, size_t bytes, int err, const char *msg, unsigned served,
		     const char *why, uint32_t cmds)
{
	int last;

	pthread_mutex_lock(&s->lock);
	s->bytes += bytes;
	s->cmds += cmds;
	if (bytes)
		s->served |= served;
	if (why && why[0] && !s->why[0])
		snprintf(s->why, sizeof(s->why), "%s", why);
	if (err && !s->err) {
		s->err = err;
		snprintf(s->msg, sizeof(s->msg), "%s", msg ? msg : "");
	}
	last = --s->left == 0;
	pthread_mutex_unlock(&s->lock);
	return last;
}

void py_fut_complete(struct py_fut_state *s)
{
	pthread_mutex_lock(&s->lock);
	s->finished = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void fut_wait(struct py_fut_state *s)
{
	pthread_mutex_lock(&s->lock);
	while (!s->finished)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* Wait for the tasks, keep the report, free the state and let the buffer go. */
static void fut_free_state(struct py_future *fu)
{
	struct py_fut_state *s = fu->s;

	if (!s)
		return;
	Py_BEGIN_ALLOW_THREADS
	fut_wait(s);
	Py_END_ALLOW_THREADS
	fu->served = s->served;
	fu->cmds = s->cmds;
	memcpy(fu->why, s->why, sizeof(fu->why));
	free(s->host);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
	fu->s = NULL;
	if (fu->have_b)
		py_ubuf_release(&fu->b);
	fu->have_b = 0;
	if (fu->release)
		fu->release(fu->owner);
	fu->release = NULL;
}

struct py_future *py_future_new(struct py_state *st, PyObject *owner, uint32_t ntasks,
				void (*release)(PyObject *owner))
{
	struct py_future *fu = (struct py_future *)PyType_GenericAlloc((PyTypeObject *)st->FutureType, 0);
	struct py_fut_state *s;

	if (!fu)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		Py_DECREF(fu);
		PyErr_NoMemory();
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->left = ntasks;
	s->finished = ntasks == 0;
	fu->s = s;
	fu->owner = Py_NewRef(owner);
	fu->release = release;
	return fu;
}

void py_future_abort(struct py_future *fu)
{
	pthread_mutex_lock(&fu->s->lock);
	fu->s->left = 0;
	fu->s->finished = 1;
	pthread_mutex_unlock(&fu->s->lock);
	Py_DECREF(fu);
}

int py_io_args(PyObject *args, PyObject *kw, int write, const char *what, struct py_ubuf *b,
	       size_t *size, uint64_t *off)
{
	static char *kwlist[] = { "buf", "size", "file_offset", NULL };
	PyObject *obj, *size_obj = Py_None;
	long long o = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kw, write ? "O|OL:pwrite" : "O|OL:pread", kwlist, &obj, &size_obj,
					 &o))
		return -1;
	if (o < 0) {
		PyErr_Format(PyExc_ValueError, "%s: negative file offset %lld", what, o);
		return -1;
	}
	if (py_ubuf_get(obj, !write, b))
		return -1;
	*size = b->len;
	if (size_obj != Py_None) {
		Py_ssize_t sz = PyLong_AsSsize_t(size_obj);

		if (sz < 0 || (size_t)sz > b->len) {
			if (!PyErr_Occurred())
				PyErr_Format(PyExc_ValueError, "%s: size %zd does not fit the %zu-byte buffer", what, sz,
					     b->len);
			py_ubuf_release(b);
			return -1;
		}
		*size = (size_t)sz;
	}
	*off = (uint64_t)o;
	return 0;
}

static void future_dealloc(PyObject *self)
{
	struct py_future *fu = (struct py_future *)self;
	PyTypeObject *tp = Py_TYPE(self);

	fut_free_state(fu);
	Py_XDECREF(fu->owner);
	((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
	Py_DECREF(tp);
}

static PyObject *future_done(PyObject *self, PyObject *unused)
{
	struct py_future *fu = (struct py_future *)self;
	int done;

	if (!fu->s)
		Py_RETURN_TRUE;
	pthread_mutex_lock(&fu->s->lock);
	done = fu->s->finished;
	pthread_mutex_unlock(&fu->s->lock);
	return PyBool_FromLong(done);
}

PyObject *py_future_get(PyObject *self)
{
	struct py_future *fu = (struct py_future *)self;
	struct py_state *st = py_state_of_type(Py_TYPE(self));
	PyObject *r;

	if (!fu->s) {
		PyErr_SetString(PyExc_RuntimeError, "aisio.Future.get: the result was already taken");
		return NULL;
	}
	if (fu->getting) {
		PyErr_SetString(PyExc_RuntimeError, "aisio.Future.get: another thread is already waiting for it");
		return NULL;
	}
	fu->getting = 1;
	Py_BEGIN_ALLOW_THREADS
	fut_wait(fu->s);
	Py_END_ALLOW_THREADS
	fu->getting = 0;
	if (fu->s->err)
		r = py_raise_msg(st, fu->s->err, fu->s->msg);
	else
		r = PyLong_FromSize_t(fu->s->bytes);
	fut_free_state(fu);
	return r;
}

static PyObject *future_get(PyObject *self, PyObject *unused)
{
	return py_future_get(self);
}

/* served/reason/cmds: the tasks' report, final once done() is true. */
static PyObject *future_report(PyObject *self, void *what)
{
	struct py_future *fu = (struct py_future *)self;
	unsigned served = fu->served;
	uint32_t cmds = fu->cmds;
	char why[192];

	if (fu->s) {
		pthread_mutex_lock(&fu->s->lock);
		served = fu->s->served;
		cmds = fu->s->cmds;
		memcpy(why, fu->s->why, sizeof(why));
		pthread_mutex_unlock(&fu->s->lock);
	} else {
		memcpy(why, fu->why, sizeof(why));
	}
	switch ((intptr_t)what) {
	case 0: return PyUnicode_FromString(py_served_name(served));
	case 1: return PyUnicode_FromString(why);
	default: return PyLong_FromUnsignedLong(cmds);
	}
}

static PyMethodDef future_methods[] = {
	{ "get", future_get, METH_NOARGS,
	  "get() -> int\n\nWait for the transfer and return the bytes moved (fewer than asked at the end of the "
	  "file); raise aisio.Error when it failed. The GIL is released while waiting." },
	{ "done", future_done, METH_NOARGS, "done() -> bool\n\nWhether the transfer has finished." },
	{ NULL }
};

static PyGetSetDef future_getset[] = {
	{ "served", future_report, NULL,
	  "the path that moved the bytes: 'extent' (NVMe reads of the file's extents), 'kernel' (pread/pwrite "
	  "through the file system), 'extent+kernel' (parts of it each way) or 'none' (nothing moved); final once "
	  "done()", (void *)0 },
	{ "reason", future_report, NULL, "why (a part of) it did not take the extent path; '' when it did",
	  (void *)1 },
	{ "cmds", future_report, NULL, "NVMe commands the extent path issued for it", (void *)2 },
	{ NULL }
};

static PyType_Slot future_slots[] = {
	{ Py_tp_dealloc, future_dealloc },
	{ Py_tp_methods, future_methods },
	{ Py_tp_getset, future_getset },
	{ Py_tp_doc, "The result of File.pread/pwrite and DeviceFile.pread/pwrite: get() waits for it, done() "
		     "polls, served says which path moved the bytes." },
	{ 0, NULL }
};

static PyType_Spec future_spec = {
	.name = "aisio.Future",
	.basicsize = sizeof(struct py_future),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = future_slots,
};

int py_future_init_type(PyObject *m, struct py_state *st)
{
	st->FutureType = PyType_FromModuleAndSpec(m, &future_spec, NULL);
	if (!st->FutureType)
		return -1;
	return PyModule_AddObjectRef(m, "Future", st->FutureType);
}
