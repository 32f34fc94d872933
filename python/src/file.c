/* SPDX-License-Identifier: MIT */
/*
 * aisio.File and aisio.Future: pread/pwrite at byte offsets of a file
 * through the kernel (pread(2)/pwrite(2)), split into tasks of 4 MiB that a
 * pool of threads runs in parallel; GPU buffers go through host memory.
 * A Future's get() waits with the GIL released.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mod.h"
#include "xfer.h"

#define TASK_SIZE ((size_t)4 << 20)

/* What the worker threads share with a Future (freed by the Future, after completion). */
struct fut_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t left;      /* tasks not finished */
	int err;            /* first -errno */
	char msg[512];
	size_t bytes;       /* bytes transferred by all tasks */
	/* the GPU copy after the last read task */
	struct py_ubuf *gpu_dst;
	char *host;
	size_t len;
};

struct task {
	struct task *next;
	struct fut_state *f;
	int fd, write;
	char *p;
	size_t len;
	off_t off;
	const char *path;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct task *head, *tail;
	int started;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static void task_run(struct task *t)
{
	size_t done = 0;
	int err = 0;

	while (done < t->len) {
		ssize_t n = t->write ? pwrite(t->fd, t->p + done, t->len - done, t->off + (off_t)done)
				     : pread(t->fd, t->p + done, t->len - done, t->off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break; /* end of file */
		done += (size_t)n;
	}
	struct fut_state *f = t->f;
	pthread_mutex_lock(&f->lock);
	f->bytes += done;
	if (err && !f->err) {
		f->err = err;
		snprintf(f->msg, sizeof(f->msg), "%s: %s at offset %lld: %s", t->path, t->write ? "pwrite" : "pread",
			 (long long)(t->off + (off_t)done), strerror(-err));
	}
	int last = --f->left == 0;
	pthread_mutex_unlock(&f->lock);
	if (last && f->gpu_dst && !f->err) {
		/* One copy of everything read; no other task touches f now. */
		char why[256];
		int e = py_copy_out(f->gpu_dst, 0, f->host, f->bytes, why, sizeof(why));

		if (e) {
			f->err = e;
			snprintf(f->msg, sizeof(f->msg), "%s: %s", t->path, why);
		}
	}
	if (last) {
		pthread_mutex_lock(&f->lock);
		f->gpu_dst = NULL; /* marks the copy as finished */
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->lock);
	}
	free(t);
}

static void *worker(void *arg)
{
	for (;;) {
		pthread_mutex_lock(&pool.lock);
		while (!pool.head)
			pthread_cond_wait(&pool.cond, &pool.lock);
		struct task *t = pool.head;
		pool.head = t->next;
		if (!pool.head)
			pool.tail = NULL;
		pthread_mutex_unlock(&pool.lock);
		task_run(t);
	}
	return NULL;
}

/* Start the pool (AISIO_PY_THREADS threads, default 4). 0 or -errno. */
static int pool_start(void)
{
	int n = 4;
	const char *e = getenv("AISIO_PY_THREADS");

	if (pool.started)
		return 0;
	if (e && atoi(e) > 0 && atoi(e) <= 256)
		n = atoi(e);
	for (int i = 0; i < n; i++) {
		pthread_t th;
		pthread_attr_t a;

		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		int err = pthread_create(&th, &a, worker, NULL);
		pthread_attr_destroy(&a);
		if (err) {
			if (i)
				break;
			return -err;
		}
	}
	pool.started = 1;
	return 0;
}

/* ---- File ---- */

struct py_file {
	PyObject_HEAD
	int fd;
	char *path;
	int writable;
	int closed;           /* close() was called; the fd goes when the last Future is done */
	Py_ssize_t nfut;      /* Futures whose tasks may use fd */
};

static PyObject *file_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "path", "mode", NULL };
	struct py_state *st = py_state_of_type(type);
	PyObject *pathobj, *bytes = NULL;
	const char *mode = "r";
	int flags, fd;
	struct py_file *f;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|s:File", kwlist, &pathobj, &mode))
		return NULL;
	if (!PyUnicode_FSConverter(pathobj, &bytes))
		return NULL;
	const char *path = PyBytes_AsString(bytes);
	if (!strcmp(mode, "r"))
		flags = O_RDONLY;
	else if (!strcmp(mode, "r+"))
		flags = O_RDWR;
	else if (!strcmp(mode, "w"))
		flags = O_RDWR | O_CREAT | O_TRUNC;
	else if (!strcmp(mode, "a"))
		flags = O_RDWR | O_CREAT;
	else {
		Py_DECREF(bytes);
		PyErr_Format(PyExc_ValueError, "aisio.File: mode must be 'r', 'r+', 'w' or 'a', not '%s'", mode);
		return NULL;
	}
	Py_BEGIN_ALLOW_THREADS
	fd = open(path, flags | O_CLOEXEC, 0644);
	Py_END_ALLOW_THREADS
	if (fd < 0) {
		char msg[600];

		snprintf(msg, sizeof(msg), "%s: cannot open: %s", path, strerror(errno));
		Py_DECREF(bytes);
		return py_raise_msg(st, -errno, msg);
	}
	f = (struct py_file *)PyType_GenericAlloc(type, 0);
	if (!f || !(f->path = strdup(path))) {
		close(fd);
		Py_DECREF(bytes);
		Py_XDECREF((PyObject *)f);
		return f ? PyErr_NoMemory() : NULL;
	}
	Py_DECREF(bytes);
	f->fd = fd;
	f->writable = flags != O_RDONLY;
	return (PyObject *)f;
}

static void file_dealloc(PyObject *self)
{
	struct py_file *f = (struct py_file *)self;
	PyTypeObject *tp = Py_TYPE(self);

	if (f->fd >= 0 && f->path)
		close(f->fd);
	free(f->path);
	((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
	Py_DECREF(tp);
}

/* ---- Future ---- */

struct py_future {
	PyObject_HEAD
	PyObject *file;       /* keeps the fd open */
	struct fut_state *s;
	struct py_ubuf b;
	int have_b;
	int getting;          /* a get() is waiting (GIL released) */
	int finished;         /* made finished by py_future_finished(); file is not an aisio.File */
};

static void fut_wait(struct fut_state *s)
{
	pthread_mutex_lock(&s->lock);
	while (s->left || s->gpu_dst)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

static void fut_free_state(struct py_future *fu)
{
	if (!fu->s)
		return;
	Py_BEGIN_ALLOW_THREADS
	fut_wait(fu->s);
	Py_END_ALLOW_THREADS
	free(fu->s->host);
	pthread_mutex_destroy(&fu->s->lock);
	pthread_cond_destroy(&fu->s->cond);
	free(fu->s);
	fu->s = NULL;
	if (fu->finished)
		return;
	struct py_file *f = (struct py_file *)fu->file;
	if (--f->nfut == 0 && f->closed && f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
}

static void future_dealloc(PyObject *self)
{
	struct py_future *fu = (struct py_future *)self;
	PyTypeObject *tp = Py_TYPE(self);

	fut_free_state(fu);
	if (fu->have_b)
		py_ubuf_release(&fu->b);
	Py_XDECREF(fu->file);
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
	done = !fu->s->left && !fu->s->gpu_dst;
	pthread_mutex_unlock(&fu->s->lock);
	return PyBool_FromLong(done);
}

static PyObject *future_get(PyObject *self, PyObject *unused)
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
	if (fu->have_b)
		py_ubuf_release(&fu->b);
	fu->have_b = 0;
	return r;
}

static PyMethodDef future_methods[] = {
	{ "get", future_get, METH_NOARGS,
	  "get() -> int\n\nWait for the transfer and return the bytes moved (fewer than asked at the end of the "
	  "file); raise aisio.Error when it failed." },
	{ "done", future_done, METH_NOARGS, "done() -> bool\n\nWhether the transfer has finished." },
	{ NULL }
};

static PyType_Slot future_slots[] = {
	{ Py_tp_dealloc, future_dealloc },
	{ Py_tp_methods, future_methods },
	{ Py_tp_doc, "The result of File.pread/pwrite: get() waits for it, done() polls." },
	{ 0, NULL }
};

static PyType_Spec future_spec = {
	.name = "aisio.Future",
	.basicsize = sizeof(struct py_future),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = future_slots,
};

PyObject *py_future_finished(struct py_state *st, PyObject *owner, size_t bytes)
{
	struct py_future *fu = (struct py_future *)PyType_GenericAlloc((PyTypeObject *)st->FutureType, 0);
	struct fut_state *s;

	if (!fu)
		return NULL;
	fu->finished = 1;
	fu->file = Py_NewRef(owner);
	s = calloc(1, sizeof(*s));
	if (!s) {
		Py_DECREF(fu);
		return PyErr_NoMemory();
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->bytes = bytes;
	fu->s = s;
	return (PyObject *)fu;
}

/* pread/pwrite(buf, size=None, file_offset=0) -> Future */
static PyObject *file_io(PyObject *self, PyObject *args, PyObject *kw, int write)
{
	static char *kwlist[] = { "buf", "size", "file_offset", NULL };
	struct py_file *f = (struct py_file *)self;
	struct py_state *st = py_state_of_type(Py_TYPE(self));
	PyObject *obj, *size_obj = Py_None;
	long long off = 0;
	size_t size;
	struct py_future *fu;
	struct fut_state *s;
	int err;

	if (!PyArg_ParseTupleAndKeywords(args, kw, write ? "O|OL:pwrite" : "O|OL:pread", kwlist, &obj, &size_obj, &off))
		return NULL;
	if (f->closed) {
		PyErr_SetString(PyExc_ValueError, "I/O on a closed aisio.File");
		return NULL;
	}
	if (off < 0) {
		PyErr_Format(PyExc_ValueError, "aisio.File: negative file offset %lld", off);
		return NULL;
	}
	if (write && !f->writable) {
		char msg[600];

		snprintf(msg, sizeof(msg), "%s: pwrite on a file opened read-only (mode 'r')", f->path);
		return py_raise_msg(st, -EBADF, msg);
	}
	fu = (struct py_future *)PyType_GenericAlloc((PyTypeObject *)st->FutureType, 0);
	if (!fu)
		return NULL;
	fu->file = Py_NewRef(self);
	if (py_ubuf_get(obj, !write, &fu->b)) {
		Py_DECREF(fu);
		return NULL;
	}
	fu->have_b = 1;
	size = fu->b.len;
	if (size_obj != Py_None) {
		Py_ssize_t sz = PyLong_AsSsize_t(size_obj);

		if (sz < 0 || (size_t)sz > fu->b.len) {
			if (!PyErr_Occurred())
				PyErr_Format(PyExc_ValueError, "aisio.File: size %zd does not fit the %zu-byte buffer", sz,
					     fu->b.len);
			Py_DECREF(fu);
			return NULL;
		}
		size = (size_t)sz;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		Py_DECREF(fu);
		return PyErr_NoMemory();
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	fu->s = s;
	f->nfut++;
	char *p = fu->b.ptr;
	if (fu->b.gpu && size) {
		char why[256];

		s->host = malloc(size);
		if (!s->host) {
			Py_DECREF(fu);
			return PyErr_NoMemory();
		}
		p = s->host;
		err = 0;
		if (write) {
			Py_BEGIN_ALLOW_THREADS
			err = py_copy_in(s->host, &fu->b, 0, size, why, sizeof(why));
			Py_END_ALLOW_THREADS
		}
		if (err) {
			Py_DECREF(fu);
			return py_raise_msg(st, err, why);
		}
	}
	err = pool_start();
	if (err) {
		Py_DECREF(fu);
		return py_raise_msg(st, err, "aisio.File: cannot start the I/O threads");
	}
	uint32_t ntasks = (uint32_t)((size + TASK_SIZE - 1) / TASK_SIZE);
	struct task *first = NULL, *last = NULL;

	for (uint32_t i = 0; i < ntasks; i++) {
		struct task *t = calloc(1, sizeof(*t));

		if (!t) {
			while (first) {
				struct task *n = first->next;
				free(first);
				first = n;
			}
			Py_DECREF(fu);
			return PyErr_NoMemory();
		}
		t->f = s;
		t->fd = f->fd;
		t->write = write;
		t->p = p + (size_t)i * TASK_SIZE;
		t->len = size - (size_t)i * TASK_SIZE < TASK_SIZE ? size - (size_t)i * TASK_SIZE : TASK_SIZE;
		t->off = (off_t)off + (off_t)((size_t)i * TASK_SIZE);
		t->path = f->path;
		if (last)
			last->next = t;
		else
			first = t;
		last = t;
	}
	s->left = ntasks;
	if (fu->b.gpu && !write && ntasks) {
		s->gpu_dst = &fu->b;
		s->len = size;
	}
	if (first) {
		pthread_mutex_lock(&pool.lock);
		if (pool.tail)
			pool.tail->next = first;
		else
			pool.head = first;
		pool.tail = last;
		pthread_cond_broadcast(&pool.cond);
		pthread_mutex_unlock(&pool.lock);
	}
	return (PyObject *)fu;
}

static PyObject *file_pread(PyObject *self, PyObject *args, PyObject *kw)
{
	return file_io(self, args, kw, 0);
}

static PyObject *file_pwrite(PyObject *self, PyObject *args, PyObject *kw)
{
	return file_io(self, args, kw, 1);
}

static PyObject *file_sync_io(PyObject *self, PyObject *args, PyObject *kw, int write)
{
	PyObject *fu = file_io(self, args, kw, write), *r;

	if (!fu)
		return NULL;
	r = future_get(fu, NULL);
	Py_DECREF(fu);
	return r;
}

static PyObject *file_read(PyObject *self, PyObject *args, PyObject *kw)
{
	return file_sync_io(self, args, kw, 0);
}

static PyObject *file_write(PyObject *self, PyObject *args, PyObject *kw)
{
	return file_sync_io(self, args, kw, 1);
}

static PyObject *file_close(PyObject *self, PyObject *unused)
{
	struct py_file *f = (struct py_file *)self;

	f->closed = 1;
	if (!f->nfut && f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	Py_RETURN_NONE;
}

static PyObject *file_size(PyObject *self, PyObject *unused)
{
	struct py_file *f = (struct py_file *)self;
	struct stat sb;

	if (f->closed) {
		PyErr_SetString(PyExc_ValueError, "I/O on a closed aisio.File");
		return NULL;
	}
	if (fstat(f->fd, &sb))
		return PyErr_SetFromErrno(PyExc_OSError);
	return PyLong_FromLongLong((long long)sb.st_size);
}

static PyObject *file_enter(PyObject *self, PyObject *unused)
{
	return Py_NewRef(self);
}

static PyObject *file_exit(PyObject *self, PyObject *args)
{
	return file_close(self, NULL);
}

static PyMethodDef file_methods[] = {
	{ "pread", (PyCFunction)(void (*)(void))file_pread, METH_VARARGS | METH_KEYWORDS,
	  "pread(buf, size=None, file_offset=0) -> aisio.Future\n\nRead size bytes (default len(buf)) at "
	  "file_offset into buf (host buffer or GPU array) in parallel tasks." },
	{ "pwrite", (PyCFunction)(void (*)(void))file_pwrite, METH_VARARGS | METH_KEYWORDS,
	  "pwrite(buf, size=None, file_offset=0) -> aisio.Future\n\nWrite size bytes of buf at file_offset." },
	{ "read", (PyCFunction)(void (*)(void))file_read, METH_VARARGS | METH_KEYWORDS,
	  "read(buf, size=None, file_offset=0) -> int\n\npread(...).get()" },
	{ "write", (PyCFunction)(void (*)(void))file_write, METH_VARARGS | METH_KEYWORDS,
	  "write(buf, size=None, file_offset=0) -> int\n\npwrite(...).get()" },
	{ "size", file_size, METH_NOARGS, "size() -> int\n\nThe file's size in bytes." },
	{ "close", file_close, METH_NOARGS, "close()" },
	{ "__enter__", file_enter, METH_NOARGS, NULL },
	{ "__exit__", file_exit, METH_VARARGS, NULL },
	{ NULL }
};

static PyType_Slot file_slots[] = {
	{ Py_tp_new, file_new },
	{ Py_tp_dealloc, file_dealloc },
	{ Py_tp_methods, file_methods },
	{ Py_tp_doc, "File(path, mode='r')\n\nA file read and written at byte offsets through the kernel, "
		     "with futures (pread/pwrite). mode: 'r', 'r+', 'w' (create, truncate), 'a' (create)." },
	{ 0, NULL }
};

static PyType_Spec file_spec = {
	.name = "aisio.File",
	.basicsize = sizeof(struct py_file),
	.flags = Py_TPFLAGS_DEFAULT,
	.slots = file_slots,
};

int py_file_init_type(PyObject *m, struct py_state *st)
{
	st->FileType = PyType_FromModuleAndSpec(m, &file_spec, NULL);
	if (!st->FileType || PyModule_AddObjectRef(m, "File", st->FileType))
		return -1;
	st->FutureType = PyType_FromModuleAndSpec(m, &future_spec, NULL);
	if (!st->FutureType)
		return -1;
	return PyModule_AddObjectRef(m, "Future", st->FutureType);
}
