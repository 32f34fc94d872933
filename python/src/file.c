/* SPDX-License-Identifier: MIT */
/*
 * aisio.File: pread/pwrite at byte offsets of a file through the kernel
 * (pread(2)/pwrite(2)), split into tasks of 4 MiB that a pool of threads
 * runs in parallel; GPU buffers go through host memory. Each returns an
 * aisio.Future (future.c) served by 'kernel'.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "future.h"
#include "mod.h"
#include "xfer.h"

#define TASK_SIZE ((size_t)4 << 20)

struct task {
	struct task *next;
	struct py_fut_state *f;
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
	struct py_fut_state *f = t->f;
	char msg[512] = "";

	if (err)
		snprintf(msg, sizeof(msg), "%s: %s at offset %lld: %s", t->path, t->write ? "pwrite" : "pread",
			 (long long)(t->off + (off_t)done), strerror(-err));
	if (py_fut_task_done(f, done, err, msg, PY_SERVED_KERNEL, NULL, 0)) {
		if (f->gpu_dst && !f->err) {
			/* One copy of everything read; no other task touches f now. */
			char why[256];
			int e = py_copy_out(f->gpu_dst, 0, f->host, f->bytes, why, sizeof(why));

			if (e) {
				f->err = e;
				snprintf(f->msg, sizeof(f->msg), "%s: %s", t->path, why);
			}
		}
		f->gpu_dst = NULL;
		py_fut_complete(f);
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

/* A Future's tasks are over: the fd may go now if close() was called. */
static void file_fut_release(PyObject *owner)
{
	struct py_file *f = (struct py_file *)owner;

	if (--f->nfut == 0 && f->closed && f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
}

/* pread/pwrite(buf, size=None, file_offset=0) -> Future */
static PyObject *file_io(PyObject *self, PyObject *args, PyObject *kw, int write)
{
	struct py_file *f = (struct py_file *)self;
	struct py_state *st = py_state_of_type(Py_TYPE(self));
	struct py_fut_state *s;
	struct py_future *fu;
	struct py_ubuf b;
	uint64_t off;
	size_t size;
	int err;

	if (f->closed) {
		PyErr_SetString(PyExc_ValueError, "I/O on a closed aisio.File");
		return NULL;
	}
	if (write && !f->writable) {
		char msg[600];

		snprintf(msg, sizeof(msg), "%s: pwrite on a file opened read-only (mode 'r')", f->path);
		return py_raise_msg(st, -EBADF, msg);
	}
	if (py_io_args(args, kw, write, "aisio.File", &b, &size, &off))
		return NULL;
	uint32_t ntasks = (uint32_t)((size + TASK_SIZE - 1) / TASK_SIZE);
	fu = py_future_new(st, self, ntasks, file_fut_release);
	if (!fu) {
		py_ubuf_release(&b);
		return NULL;
	}
	fu->b = b;
	fu->have_b = 1;
	f->nfut++;
	s = fu->s;
	char *p = fu->b.ptr;
	if (fu->b.gpu && size) {
		char why[256];

		s->host = malloc(size);
		if (!s->host) {
			py_future_abort(fu);
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
			py_future_abort(fu);
			return py_raise_msg(st, err, why);
		}
	}
	err = pool_start();
	if (err) {
		py_future_abort(fu);
		return py_raise_msg(st, err, "aisio.File: cannot start the I/O threads");
	}
	struct task *first = NULL, *last = NULL;

	for (uint32_t i = 0; i < ntasks; i++) {
		struct task *t = calloc(1, sizeof(*t));

		if (!t) {
			while (first) {
				struct task *n = first->next;
				free(first);
				first = n;
			}
			py_future_abort(fu);
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
	r = py_future_get(fu);
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
	return 0;
}
