/* SPDX-License-Identifier: MIT */
/*
 * aisio.Future: the result of a pread/pwrite split into tasks that worker
 * threads run (aisio.File: a pool of kernel pread/pwrite threads;
 * aisio.DeviceFile: lanes of their own, each with a queue). The tasks share
 * a struct py_fut_state; the Future waits on it with the GIL released and
 * keeps which path served the transfer after get().
 */
#ifndef AISIO_PY_FUTURE_H
#define AISIO_PY_FUTURE_H

#include <pthread.h>

#include "mod.h"

/* Which path moved a task's bytes (bits of py_fut_state.served). */
#define PY_SERVED_EXTENT 1u /* NVMe reads of the file's extents */
#define PY_SERVED_KERNEL 2u /* pread(2)/pwrite(2) through the file system */

struct py_fut_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint32_t left;    /* tasks not finished */
	int finished;     /* every task done, and what follows the last one */
	int err;          /* the first task's -errno */
	char msg[512];    /* its message */
	size_t bytes;     /* bytes moved by all tasks */
	unsigned served;  /* PY_SERVED_* of the tasks that moved data */
	char why[192];    /* the first reason a task did not take the extent path */
	uint32_t cmds;    /* NVMe commands of all tasks */
	/* aisio.File: the GPU copy after the last read task */
	struct py_ubuf *gpu_dst;
	char *host;
	size_t len;
};

struct py_future {
	PyObject_HEAD
	PyObject *owner;  /* the File or DeviceFile (kept alive while tasks may run) */
	struct py_fut_state *s;
	struct py_ubuf b; /* the caller's buffer, held until the transfer is over */
	int have_b;
	int getting;      /* a get() is waiting (GIL released) */
	/* called once the tasks are over (GIL held), e.g. to close a file closed meanwhile */
	void (*release)(PyObject *owner);
	/* the report, kept after get() */
	unsigned served;
	char why[192];
	uint32_t cmds;
};

/*
 * A Future owned by @owner with a state for @ntasks tasks (finished at once
 * when 0). The caller fills b/have_b and starts the tasks. NULL with an
 * exception on failure.
 */
struct py_future *py_future_new(struct py_state *st, PyObject *owner, uint32_t ntasks,
				void (*release)(PyObject *owner));

/*
 * A task is over (any thread, no GIL needed): adds its bytes, error and
 * report. Returns 1 for the last task: the caller then does what follows
 * the last task (if anything) and calls py_fut_complete().
 */
int py_fut_task_done(struct py_fut_state *s, size_t bytes, int err, const char *msg, unsigned served,
		     const char *why, uint32_t cmds);
/* Wake whoever waits for @s: the transfer is over. */
void py_fut_complete(struct py_fut_state *s);

/* "extent", "kernel", "extent+kernel" or "none" for PY_SERVED_* bits. */
const char *py_served_name(unsigned served);

/* Drop a Future whose tasks were never started (error paths). */
void py_future_abort(struct py_future *fu);

/*
 * The arguments of pread/pwrite: (buf, size=None, file_offset=0). Takes
 * buf's memory into *@b (writable for a read; py_ubuf_release() it) and
 * checks size and offset; @what names the class in messages. Returns 0,
 * or -1 with an exception (TypeError: not a buffer, read-only for a read;
 * ValueError: size beyond the buffer, negative offset).
 */
int py_io_args(PyObject *args, PyObject *kw, int write, const char *what, struct py_ubuf *b,
	       size_t *size, uint64_t *off);

/* Future.get() on @fu (for read()/write(): pread(...).get()). */
PyObject *py_future_get(PyObject *fu);
int py_future_init_type(PyObject *m, struct py_state *st);

#endif
