/* SPDX-License-Identifier: MIT */
/*
 * aisio.DeviceFile: Device.open_file(path, image=False, queues=4), a file
 * read through its extents with aisio_file_read() (include/aisio/file.h).
 *
 * A handle of the library belongs to one thread at a time and reads on one
 * queue, so a DeviceFile runs its transfers on lanes: a lane is a thread
 * with a handle of its own and a queue of its own on the device. pread and
 * pwrite split the transfer into tasks of 4 MiB, queue them and return an
 * aisio.Future at once; up to `queues` lanes (started as the load needs
 * them) take tasks, so many reads of one file have their NVMe commands on
 * the device at the same time. Each Future says which path served it:
 * 'extent', or 'kernel' where the library fell back (the reason with it).
 *
 * pwrite goes through the kernel, always: writing the file's blocks with
 * NVMe commands would bypass the file system, which allocates blocks,
 * keeps unwritten extents, copy-on-write (reflink) and the page cache
 * coherent. After a write each lane maps the file afresh before its next
 * read (a new handle: homid's FILE_MAP syncs and maps the file again), so a
 * read that starts after a write's Future is done sees the new bytes.
 * A file inside an unmounted image (image=True) has no kernel path: its
 * pwrite is refused.
 *
 * open_file(path, fallback=True) on a device that has no extent path for
 * the file (not a homi: device, or a path outside homid's exports) gives a
 * DeviceFile that the kernel serves: the same lanes and futures, with
 * pread(2) instead of handles and queues, every Future served 'kernel'
 * with the library's refusal as its reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aisio/file.h>

#include "future.h"
#include "mod.h"
#include "xfer.h"

#define EF_TASK ((size_t)4 << 20) /* bytes per task */
#define EF_MAX_LANES 64
#define EF_QDEPTH 64

static const char write_why[] = "a write goes through the file system, which allocates the file's blocks";

struct ef_task {
	struct ef_task *next;
	struct py_fut_state *s;
	int write, direct;
	char *p;       /* host memory the bytes move through (the caller's, or staging) */
	char *gpu;     /* the caller's GPU memory for this task (p is then staging), or NULL */
	char *staging; /* to free */
	size_t len;
	uint64_t off;
};

struct py_efile;

struct ef_lane {
	pthread_t th;
	struct py_efile *e;
	struct aisio_file *f;
	struct aisio_queue *q;
	uint64_t wgen; /* the file's write generation this lane's handle has seen */
};

struct py_efile {
	PyObject_HEAD
	PyObject *dev;          /* the aisio.Device (kept open while this file is) */
	char *path;
	int image;
	int kernel;             /* no extent path: the kernel serves reads (rfd) */
	int rfd;
	char kwhy[192];         /* why not the extent path (kernel mode) */
	uint32_t qdepth;
	int shut;               /* the lanes are gone (close()) */
	pthread_mutex_t addlock; /* one thread adds lanes or closes at a time */
	/* shared with the lanes, under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ef_task *head, *tail;
	uint32_t nqueued;       /* tasks in head..tail */
	uint32_t nlanes, max_lanes, idle, busy, peak;
	int stop;
	uint64_t wgen;          /* writes finished (lanes map again when it moved) */
	int wfd;                /* the kernel path for pwrite, opened at the first one */
	uint64_t size;
	struct aisio_file_report last;
	char lane_err[256];     /* why the last lane that could not be added was not */
	struct ef_lane lanes[EF_MAX_LANES];
};

static PyTypeObject *efile_type;

static unsigned served_bit(int served)
{
	return served == AISIO_FILE_SERVED_EXTENT ? PY_SERVED_EXTENT
	       : served == AISIO_FILE_SERVED_KERNEL ? PY_SERVED_KERNEL
						  : 0;
}

/* ---- lanes (no GIL) ---- */

/* A fresh handle for lane @l after a write (the device's lock held around the library calls). */
static int lane_remap(struct ef_lane *l, char *msg, size_t mlen)
{
	struct py_efile *e = l->e;
	struct py_dev *d = (struct py_dev *)e->dev;
	struct aisio_file *nf = NULL;
	int err;

	PyThread_acquire_lock(d->lock, WAIT_LOCK);
	err = aisio_file_open(d->dev, e->path, e->image ? AISIO_FILE_IMAGE : 0, &nf);
	if (!err) {
		aisio_file_close(l->f);
		l->f = nf;
	} else {
		snprintf(msg, mlen, "%s: mapping the file again after a write: %s", e->path, aisio_errmsg());
	}
	PyThread_release_lock(d->lock);
	return err;
}

static void lane_write(struct ef_lane *l, struct ef_task *t, size_t *done, int *err, char *msg, size_t mlen)
{
	struct py_efile *e = l->e;

	if (t->gpu) {
		char why[256];

		*err = py_cuda_dtoh(t->p, t->gpu, t->len, why, sizeof(why));
		if (*err) {
			snprintf(msg, mlen, "%s: pwrite at offset %llu from a GPU array: %s", e->path,
				 (unsigned long long)t->off, why);
			return;
		}
	}
	while (*done < t->len) {
		ssize_t n = pwrite(e->wfd, t->p + *done, t->len - *done, (off_t)(t->off + *done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*err = n < 0 ? -errno : -EIO;
			snprintf(msg, mlen, "%s: pwrite at offset %llu (kernel path): %s", e->path,
				 (unsigned long long)(t->off + *done), n < 0 ? strerror(errno) : "wrote nothing");
			return;
		}
		*done += (size_t)n;
	}
}

/* The bytes a read task staged in host memory, to the caller's GPU array. */
static int gpu_copy_out(struct py_efile *e, struct ef_task *t, size_t n, char *msg, size_t mlen)
{
	char why[256];
	int err = py_cuda_htod(t->gpu, t->p, n, why, sizeof(why));

	if (err)
		snprintf(msg, mlen, "%s: pread at offset %llu into a GPU array: %s", e->path,
			 (unsigned long long)t->off, why);
	return err;
}

/* Kernel mode: pread(2) until the task is done or the file ends. */
static void lane_kernel_read(struct ef_lane *l, struct ef_task *t, size_t *done, int *err, char *msg, size_t mlen)
{
	struct py_efile *e = l->e;

	while (*done < t->len) {
		ssize_t n = pread(e->rfd, t->p + *done, t->len - *done, (off_t)(t->off + *done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = -errno;
			snprintf(msg, mlen, "%s: pread at offset %llu (kernel path): %s", e->path,
				 (unsigned long long)(t->off + *done), strerror(errno));
			return;
		}
		if (n == 0)
			return; /* end of file */
		*done += (size_t)n;
	}
}

static void lane_run(struct ef_lane *l, struct ef_task *t, int remap)
{
	struct py_efile *e = l->e;
	struct aisio_file_report rep;
	char msg[512] = "";
	const char *why = NULL;
	unsigned served = 0;
	size_t done = 0;
	int err = 0;

	memset(&rep, 0, sizeof(rep));
	if (t->write) {
		lane_write(l, t, &done, &err, msg, sizeof(msg));
		served = PY_SERVED_KERNEL;
		why = write_why;
	} else if (e->kernel) {
		lane_kernel_read(l, t, &done, &err, msg, sizeof(msg));
		served = PY_SERVED_KERNEL;
		why = e->kwhy;
		rep.served = done ? AISIO_FILE_SERVED_KERNEL : AISIO_FILE_SERVED_NONE;
		snprintf(rep.why, sizeof(rep.why), "%s", e->kwhy);
		if (!err && t->gpu && done)
			err = gpu_copy_out(e, t, done, msg, sizeof(msg));
	} else if (remap && (err = lane_remap(l, msg, sizeof(msg)))) {
		pthread_mutex_lock(&e->lock);
		l->wgen = UINT64_MAX; /* not mapped again yet: the next read tries again */
		pthread_mutex_unlock(&e->lock);
	} else {
		ssize_t n = t->direct ? aisio_file_read_dma(l->f, l->q, t->p, t->off, t->len, &rep)
				      : aisio_file_read(l->f, l->q, t->p, t->off, t->len, &rep);

		if (n < 0) {
			err = (int)n;
			snprintf(msg, sizeof(msg), "%s: pread of %zu bytes at offset %llu: %s", e->path, t->len,
				 (unsigned long long)t->off, aisio_errmsg());
		} else {
			done = (size_t)n;
			served = served_bit(rep.served);
			why = rep.why;
			if (t->gpu && done)
				err = gpu_copy_out(e, t, done, msg, sizeof(msg));
		}
	}
	pthread_mutex_lock(&e->lock);
	if (t->write) {
		if (done && t->off + done > e->size)
			e->size = t->off + done;
		e->wgen++; /* before the Future is done: later reads map again */
	} else {
		e->last = rep;
		if (!err && l->f)
			e->size = aisio_file_size(l->f);
	}
	pthread_mutex_unlock(&e->lock);
	if (py_fut_task_done(t->s, done, err, msg, served, why, rep.cmds))
		py_fut_complete(t->s);
	free(t->staging);
	free(t);
}

static void *lane_main(void *arg)
{
	struct ef_lane *l = arg;
	struct py_efile *e = l->e;

	pthread_mutex_lock(&e->lock);
	e->idle++;
	for (;;) {
		while (!e->head && !e->stop)
			pthread_cond_wait(&e->cond, &e->lock);
		if (!e->head)
			break; /* stopped, and every task taken */
		struct ef_task *t = e->head;
		int remap = 0;

		e->head = t->next;
		if (!e->head)
			e->tail = NULL;
		e->nqueued--;
		e->idle--;
		if (++e->busy > e->peak)
			e->peak = e->busy;
		if (!t->write && !e->kernel && l->wgen != e->wgen) {
			remap = 1;
			l->wgen = e->wgen;
		}
		pthread_mutex_unlock(&e->lock);
		lane_run(l, t, remap);
		pthread_mutex_lock(&e->lock);
		e->busy--;
		e->idle++;
	}
	e->idle--;
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/*
 * Add a lane (addlock held, no GIL): @f is a handle to take over, or NULL
 * to open one. Returns 0 or -errno with the reason in e->lane_err.
 */
static int lane_add(struct py_efile *e, struct aisio_file *f)
{
	struct py_dev *d = (struct py_dev *)e->dev;
	struct ef_lane *l = &e->lanes[e->nlanes];
	int err = 0;

	memset(l, 0, sizeof(*l));
	l->e = e;
	if (!e->kernel) {
		PyThread_acquire_lock(d->lock, WAIT_LOCK);
		if (!f)
			err = aisio_file_open(d->dev, e->path, e->image ? AISIO_FILE_IMAGE : 0, &f);
		if (!err)
			err = aisio_queue_init(d->dev, e->qdepth, &l->q);
		if (err)
			snprintf(e->lane_err, sizeof(e->lane_err), "%s", aisio_errmsg());
		PyThread_release_lock(d->lock);
	}
	if (!err) {
		l->f = f;
		pthread_mutex_lock(&e->lock);
		l->wgen = e->wgen;
		pthread_mutex_unlock(&e->lock);
		err = -pthread_create(&l->th, NULL, lane_main, l);
		if (err)
			snprintf(e->lane_err, sizeof(e->lane_err), "cannot start a thread: %s", strerror(-err));
	}
	if (err) {
		PyThread_acquire_lock(d->lock, WAIT_LOCK);
		if (l->q)
			aisio_queue_term(l->q);
		aisio_file_close(f);
		PyThread_release_lock(d->lock);
		memset(l, 0, sizeof(*l));
		return err;
	}
	e->nlanes++;
	return 0;
}

/* Queue @first..@last (@n tasks), adding lanes for them first (no GIL). -EBADF once closed. */
static int efile_start(struct py_efile *e, struct ef_task *first, struct ef_task *last, uint32_t n)
{
	uint32_t add = 0;

	pthread_mutex_lock(&e->addlock);
	pthread_mutex_lock(&e->lock);
	if (e->stop) {
		pthread_mutex_unlock(&e->lock);
		pthread_mutex_unlock(&e->addlock);
		return -EBADF;
	}
	uint32_t waiting = e->nqueued + n;
	if (waiting > e->idle)
		add = waiting - e->idle;
	if (add > e->max_lanes - e->nlanes)
		add = e->max_lanes - e->nlanes;
	pthread_mutex_unlock(&e->lock);
	for (uint32_t i = 0; i < add; i++)
		if (lane_add(e, NULL)) {
			/* no queue (or handle) for another lane: the lanes there are take the tasks */
			e->max_lanes = e->nlanes;
			break;
		}
	pthread_mutex_lock(&e->lock);
	if (e->tail)
		e->tail->next = first;
	else
		e->head = first;
	e->tail = last;
	e->nqueued += n;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_mutex_unlock(&e->addlock);
	return 0;
}

/* Stop the lanes once every queued task is done, then let handles, queues and the device go. */
static void efile_shut(struct py_efile *e)
{
	struct py_dev *d = (struct py_dev *)e->dev;

	if (e->shut)
		return;
	e->shut = 1;
	Py_BEGIN_ALLOW_THREADS
	pthread_mutex_lock(&e->addlock);
	pthread_mutex_lock(&e->lock);
	e->stop = 1;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	for (uint32_t i = 0; i < e->nlanes; i++)
		pthread_join(e->lanes[i].th, NULL);
	/* the handles' DMA memory and the queues belong to the device: under its lock */
	PyThread_acquire_lock(d->lock, WAIT_LOCK);
	for (uint32_t i = 0; i < e->nlanes; i++) {
		if (e->lanes[i].q)
			aisio_queue_term(e->lanes[i].q);
		aisio_file_close(e->lanes[i].f);
	}
	PyThread_release_lock(d->lock);
	e->nlanes = 0;
	if (e->wfd >= 0)
		close(e->wfd);
	e->wfd = -1;
	if (e->rfd >= 0)
		close(e->rfd);
	e->rfd = -1;
	pthread_mutex_unlock(&e->addlock);
	Py_END_ALLOW_THREADS
	d->nfiles--;
	py_dev_maybe_shut(d);
}

static void efile_dealloc(PyObject *self)
{
	struct py_efile *e = (struct py_efile *)self;
	PyTypeObject *tp = Py_TYPE(self);

	if (e->dev) {
		efile_shut(e);
		pthread_mutex_destroy(&e->addlock);
		pthread_mutex_destroy(&e->lock);
		pthread_cond_destroy(&e->cond);
	}
	Py_XDECREF(e->dev);
	free(e->path);
	((freefunc)PyType_GetSlot(tp, Py_tp_free))(self);
	Py_DECREF(tp);
}

PyObject *py_dev_open_file(PyObject *self, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = { "path", "image", "queues", "fallback", NULL };
	struct py_dev *d = (struct py_dev *)self;
	struct py_state *st = py_state_of_type(Py_TYPE(self));
	PyObject *pathobj, *bytes = NULL;
	int image = 0, queues = 4, fallback = 0, err, rfd = -1, kerr = 0;
	struct aisio_file *f = NULL;
	char kwhy[192] = "";
	struct stat sb;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|pip:open_file", kwlist, &pathobj, &image, &queues, &fallback))
		return NULL;
	if (queues < 1 || queues > EF_MAX_LANES) {
		PyErr_Format(PyExc_ValueError, "open_file: queues must be 1 to %d, not %d", EF_MAX_LANES, queues);
		return NULL;
	}
	if (py_dev_check_open(d) || !PyUnicode_FSConverter(pathobj, &bytes))
		return NULL;
	const char *path = PyBytes_AsString(bytes);
	Py_BEGIN_ALLOW_THREADS
	PyThread_acquire_lock(d->lock, WAIT_LOCK);
	err = aisio_file_open(d->dev, path, image ? AISIO_FILE_IMAGE : 0, &f);
	PyThread_release_lock(d->lock);
	/* no extent path for this file here: the kernel's, when asked for */
	if ((err == -EOPNOTSUPP || err == -EXDEV) && fallback && !image) {
		snprintf(kwhy, sizeof(kwhy), "%s", aisio_errmsg());
		rfd = open(path, O_RDONLY | O_CLOEXEC);
		if (rfd < 0 || fstat(rfd, &sb))
			kerr = -errno;
		else
			err = 0;
	}
	Py_END_ALLOW_THREADS
	if (kerr) {
		char msg[600];

		if (rfd >= 0)
			close(rfd);
		snprintf(msg, sizeof(msg), "open_file %s: no extent path (%s), and the kernel cannot open it: %s", path,
			 kwhy, strerror(-kerr));
		Py_DECREF(bytes);
		return py_raise_msg(st, kerr, msg);
	}
	if (err) {
		PyObject *r = py_raise(st, err, "open_file %s", path);
		Py_DECREF(bytes);
		return r;
	}
	struct py_efile *e = (struct py_efile *)PyType_GenericAlloc(efile_type, 0);
	if (!e || !(e->path = strdup(path))) {
		aisio_file_close(f);
		if (rfd >= 0)
			close(rfd);
		Py_DECREF(bytes);
		Py_XDECREF((PyObject *)e);
		return e ? PyErr_NoMemory() : NULL;
	}
	Py_DECREF(bytes);
	pthread_mutex_init(&e->addlock, NULL);
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	e->wfd = -1;
	e->rfd = rfd;
	e->kernel = rfd >= 0;
	memcpy(e->kwhy, kwhy, sizeof(kwhy));
	e->image = image;
	e->max_lanes = (uint32_t)queues;
	e->size = e->kernel ? (uint64_t)sb.st_size : aisio_file_size(f);
	const struct aisio_geo *g = aisio_dev_geo(d->dev);
	e->qdepth = g->max_qdepth && g->max_qdepth < EF_QDEPTH ? g->max_qdepth : EF_QDEPTH;
	e->dev = Py_NewRef(self);
	d->nfiles++;
	/* the first lane, on the handle just opened */
	Py_BEGIN_ALLOW_THREADS
	pthread_mutex_lock(&e->addlock);
	err = lane_add(e, f);
	pthread_mutex_unlock(&e->addlock);
	Py_END_ALLOW_THREADS
	if (err) {
		py_raise_msg(st, err, e->lane_err);
		Py_DECREF(e);
		return NULL;
	}
	return (PyObject *)e;
}

/* ---- pread / pwrite ---- */

static void tasks_free(struct ef_task *t)
{
	while (t) {
		struct ef_task *n = t->next;

		free(t->staging);
		free(t);
		t = n;
	}
}

static PyObject *efile_io(PyObject *self, PyObject *args, PyObject *kw, int write)
{
	struct py_efile *e = (struct py_efile *)self;
	struct py_dev *d = (struct py_dev *)e->dev;
	struct py_state *st = py_state_of_type(Py_TYPE(self));
	struct ef_task *first = NULL, *last = NULL;
	struct py_future *fu;
	struct py_ubuf b;
	char why[512];
	uint64_t off;
	size_t size;
	int err;

	if (e->shut) {
		PyErr_SetString(PyExc_ValueError, "I/O on a closed aisio.DeviceFile");
		return NULL;
	}
	if (py_dev_check_open(d))
		return NULL;
	if (write && e->image) {
		snprintf(why, sizeof(why),
			 "%s: pwrite refused: a file inside an unmounted image has no kernel path, and writing its "
			 "extents with NVMe commands would bypass the file system (allocation, unwritten extents, "
			 "reflink); write it on a mounted file system (a homi: device, image=False)", e->path);
		return py_raise_msg(st, -EOPNOTSUPP, why);
	}
	if (py_io_args(args, kw, write, "aisio.DeviceFile", &b, &size, &off))
		return NULL;
	if (b.gpu && size && (err = py_cuda_probe(b.ptr, why, sizeof(why)))) {
		char msg[700];

		py_ubuf_release(&b);
		snprintf(msg, sizeof(msg), "%s: %s into a GPU array: %s", e->path, write ? "pwrite" : "pread", why);
		return py_raise_msg(st, err, msg);
	}
	if (write && e->wfd < 0) {
		int fd;

		Py_BEGIN_ALLOW_THREADS
		fd = open(e->path, O_WRONLY | O_CLOEXEC);
		Py_END_ALLOW_THREADS
		if (fd < 0) {
			err = -errno;
			py_ubuf_release(&b);
			snprintf(why, sizeof(why), "%s: cannot open it for writing through the kernel: %s", e->path,
				 strerror(-err));
			return py_raise_msg(st, err, why);
		}
		if (e->wfd < 0)
			e->wfd = fd;
		else
			close(fd);
	}
	/* whole LBAs straight into DMA memory of the device (dev.alloc()); else through the handle's */
	int direct = !write && !b.gpu && py_dev_is_dma(d, b.ptr, size ? size : 1);
	uint32_t ntasks = (uint32_t)((size + EF_TASK - 1) / EF_TASK);

	fu = py_future_new(st, self, ntasks, NULL);
	if (!fu) {
		py_ubuf_release(&b);
		return NULL;
	}
	fu->b = b;
	fu->have_b = 1;
	for (uint32_t i = 0; i < ntasks; i++) {
		struct ef_task *t = calloc(1, sizeof(*t));
		size_t at = (size_t)i * EF_TASK;

		if (t) {
			t->len = size - at < EF_TASK ? size - at : EF_TASK;
			if (b.gpu && !(t->staging = malloc(t->len))) {
				free(t);
				t = NULL;
			}
		}
		if (!t) {
			tasks_free(first);
			py_future_abort(fu);
			return PyErr_NoMemory();
		}
		t->s = fu->s;
		t->write = write;
		t->direct = direct;
		t->off = off + at;
		if (b.gpu) {
			t->gpu = b.ptr + at;
			t->p = t->staging;
		} else {
			t->p = b.ptr + at;
		}
		if (last)
			last->next = t;
		else
			first = t;
		last = t;
	}
	if (!first)
		return (PyObject *)fu; /* nothing to move: finished */
	Py_BEGIN_ALLOW_THREADS
	err = efile_start(e, first, last, ntasks);
	Py_END_ALLOW_THREADS
	if (err) {
		tasks_free(first);
		py_future_abort(fu);
		PyErr_SetString(PyExc_ValueError, "I/O on a closed aisio.DeviceFile");
		return NULL;
	}
	return (PyObject *)fu;
}

static PyObject *efile_pread(PyObject *self, PyObject *args, PyObject *kw)
{
	return efile_io(self, args, kw, 0);
}

static PyObject *efile_pwrite(PyObject *self, PyObject *args, PyObject *kw)
{
	return efile_io(self, args, kw, 1);
}

static PyObject *efile_sync(PyObject *self, PyObject *args, PyObject *kw, int write)
{
	PyObject *fu = efile_io(self, args, kw, write), *r;

	if (!fu)
		return NULL;
	r = py_future_get(fu);
	Py_DECREF(fu);
	return r;
}

static PyObject *efile_read(PyObject *self, PyObject *args, PyObject *kw)
{
	return efile_sync(self, args, kw, 0);
}

static PyObject *efile_write(PyObject *self, PyObject *args, PyObject *kw)
{
	return efile_sync(self, args, kw, 1);
}

static PyObject *efile_close(PyObject *self, PyObject *unused)
{
	efile_shut((struct py_efile *)self);
	Py_RETURN_NONE;
}

static PyObject *efile_size(PyObject *self, PyObject *unused)
{
	struct py_efile *e = (struct py_efile *)self;
	uint64_t size;

	if (e->shut) {
		PyErr_SetString(PyExc_ValueError, "I/O on a closed aisio.DeviceFile");
		return NULL;
	}
	pthread_mutex_lock(&e->lock);
	size = e->size;
	pthread_mutex_unlock(&e->lock);
	if (e->kernel) { /* the kernel knows the size now */
		struct stat sb;

		if (fstat(e->rfd, &sb) == 0)
			size = (uint64_t)sb.st_size;
	}
	return PyLong_FromUnsignedLongLong(size);
}

static PyObject *efile_get(PyObject *self, void *what)
{
	struct py_efile *e = (struct py_efile *)self;
	PyObject *r;

	pthread_mutex_lock(&e->lock);
	switch ((intptr_t)what) {
	case 0: r = PyUnicode_FromString(aisio_file_served_str(e->last.served)); break;
	case 1: r = PyUnicode_FromString(e->last.why); break;
	case 2: r = PyLong_FromUnsignedLong(e->last.cmds); break;
	case 3: r = PyLong_FromUnsignedLong(e->max_lanes); break;
	case 4: r = PyLong_FromUnsignedLong(e->nlanes); break;
	case 5: r = PyLong_FromUnsignedLong(e->peak); break;
	case 6: r = PyUnicode_FromString(e->path); break;
	case 7: r = PyBool_FromLong(e->image); break;
	default: r = PyUnicode_FromString(e->kernel ? "kernel" : "extent"); break;
	}
	pthread_mutex_unlock(&e->lock);
	return r;
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
	  "file_offset into buf (host buffer, or GPU array through host memory) through the file's extents, the "
	  "kernel where the library says so; returns at once. The Future's served and reason say which path "
	  "served it." },
	{ "pwrite", (PyCFunction)(void (*)(void))efile_pwrite, METH_VARARGS | METH_KEYWORDS,
	  "pwrite(buf, size=None, file_offset=0) -> aisio.Future\n\nWrite size bytes of buf at file_offset "
	  "through the kernel (the file system allocates the blocks); reads that start after it is done map "
	  "the file again and see the new bytes. Refused for a file inside an unmounted image." },
	{ "read", (PyCFunction)(void (*)(void))efile_read, METH_VARARGS | METH_KEYWORDS,
	  "read(buf, size=None, file_offset=0) -> int\n\npread(...).get()" },
	{ "write", (PyCFunction)(void (*)(void))efile_write, METH_VARARGS | METH_KEYWORDS,
	  "write(buf, size=None, file_offset=0) -> int\n\npwrite(...).get()" },
	{ "size", efile_size, METH_NOARGS,
	  "size() -> int\n\nThe file's size as of its last mapping (or the end of the last write)." },
	{ "close", efile_close, METH_NOARGS, "close()\n\nWait for the transfers queued, then stop the lanes." },
	{ "__enter__", efile_enter, METH_NOARGS, NULL },
	{ "__exit__", efile_exit, METH_VARARGS, NULL },
	{ NULL }
};

static PyGetSetDef efile_getset[] = {
	{ "last_served", efile_get, NULL, "'extent', 'kernel' or 'none': the path that served the read finished last",
	  (void *)0 },
	{ "last_reason", efile_get, NULL, "why the extent path did not serve that read ('' when it did)", (void *)1 },
	{ "last_cmds", efile_get, NULL, "NVMe commands that read issued", (void *)2 },
	{ "queues", efile_get, NULL, "lanes (thread, handle and queue each) this file may use", (void *)3 },
	{ "lanes", efile_get, NULL, "lanes started so far", (void *)4 },
	{ "peak_inflight", efile_get, NULL, "the most transfers (tasks) in service at once so far", (void *)5 },
	{ "path", efile_get, NULL, "the path given to open_file", (void *)6 },
	{ "image", efile_get, NULL, "whether the path is inside the device's own unmounted XFS", (void *)7 },
	{ "path_kind", efile_get, NULL,
	  "'extent': reads go through the extents (the kernel where the library says so); 'kernel': open_file("
	  "fallback=True) found no extent path, the kernel serves every read", (void *)8 },
	{ NULL }
};

static PyType_Slot efile_slots[] = {
	{ Py_tp_dealloc, efile_dealloc },
	{ Py_tp_methods, efile_methods },
	{ Py_tp_getset, efile_getset },
	{ Py_tp_doc, "A file read through its extents on a device: Device.open_file(path, image=False, queues=4, "
		     "fallback=False)." },
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
