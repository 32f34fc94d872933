/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "xfer.h"

uint32_t py_xfer_chunk(const struct aisio_geo *g)
{
	uint64_t c = 1u << 20;

	if (g->max_xfer && g->max_xfer < c)
		c = g->max_xfer;
	if ((uint64_t)g->lba_size * 65536 < c)
		c = (uint64_t)g->lba_size * 65536;
	c -= c % g->lba_size;
	return (uint32_t)(c ? c : g->lba_size);
}

int py_copy_in(void *host, const struct py_ubuf *b, size_t off, size_t len, char *why, size_t whylen)
{
	if (b->gpu)
		return py_cuda_dtoh(host, b->ptr + off, len, why, whylen);
	memcpy(host, b->ptr + off, len);
	return 0;
}

int py_copy_out(const struct py_ubuf *b, size_t off, const void *host, size_t len, char *why, size_t whylen)
{
	if (b->gpu)
		return py_cuda_htod(b->ptr + off, host, len, why, whylen);
	memcpy(b->ptr + off, host, len);
	return 0;
}

int py_xfer_setup(struct py_xfer *x, struct py_dev *d, int write, uint64_t lba, struct py_ubuf *b)
{
	memset(x, 0, sizeof(*x));
	x->dev = d->dev;
	x->write = write;
	x->lba = lba;
	x->lba_size = d->lba_size;
	x->nsid = d->nsid;
	x->chunk = d->max_xfer;
	x->b = b;
	x->len = b->len;
	if (!b->len || b->len % d->lba_size) {
		PyErr_Format(PyExc_ValueError,
			     "%s: a buffer of %zu bytes is not a whole number of %u-byte LBAs",
			     aisio_dev_uri(d->dev), b->len, d->lba_size);
		return -1;
	}
	if (!b->gpu && py_dev_is_dma(d, b->ptr, b->len)) {
		x->dma = b->ptr;
		return 0;
	}
	x->bounce = aisio_buf_alloc(d->dev, b->len);
	if (!x->bounce) {
		PyErr_Format(PyExc_MemoryError, "%s: no DMA memory for a %zu-byte bounce buffer: %s",
			     aisio_dev_uri(d->dev), b->len, aisio_errmsg());
		return -1;
	}
	x->dma = x->bounce;
	if (write) {
		int err;

		Py_BEGIN_ALLOW_THREADS
		err = py_copy_in(x->bounce, b, 0, b->len, x->msg, sizeof(x->msg));
		Py_END_ALLOW_THREADS
		if (err) {
			x->err = err;
			py_xfer_finish(x, py_state_of_type(Py_TYPE((PyObject *)d)));
			return -1;
		}
	}
	return 0;
}

static void xfer_cb(struct aisio_io *io, void *arg)
{
	struct py_xfer *x = arg;

	x->inflight--;
	if (io->status && !x->status) {
		x->status = io->status;
		x->bad_lba = io->submit_ts;
		if (io->status < 0)
			snprintf(x->msg, sizeof(x->msg), "%s", aisio_errmsg());
	}
}

static int xfer_idle(void *arg)
{
	return ((struct py_xfer *)arg)->inflight == 0;
}

void py_xfer_run(struct py_xfer *x, struct aisio_queue *q)
{
	size_t off = 0;

	if (!q) {
		x->err = -EBADF;
		snprintf(x->msg, sizeof(x->msg), "the device was closed");
		return;
	}
	while (off < x->len && !x->status) {
		uint32_t n = 0;
		struct aisio_io *io;

		while (off < x->len && (io = aisio_queue_get_io(q))) {
			size_t len = x->len - off < x->chunk ? x->len - off : x->chunk;
			uint64_t slba = x->lba + off / x->lba_size;
			uint32_t nlb = (uint32_t)(len / x->lba_size);

			if (x->write)
				aisio_prep_write(io, x->nsid, slba, nlb, x->dma + off, len);
			else
				aisio_prep_read(io, x->nsid, slba, nlb, x->dma + off, len);
			io->submit_ts = slba;
			aisio_io_set_cb(io, xfer_cb, x);
			off += len;
			n++;
		}
		x->inflight += n;
		int r = aisio_queue_submit(q);
		if (r < 0) {
			snprintf(x->msg, sizeof(x->msg), "%s", aisio_errmsg());
			x->err = r;
		}
		r = py_reap_until(q, xfer_idle, x);
		if (r < 0 && !x->err) {
			snprintf(x->msg, sizeof(x->msg), "%s", aisio_errmsg());
			x->err = r;
		}
		if (x->err)
			break;
	}
	if (!x->err && !x->status && !x->write && x->bounce)
		x->err = py_copy_out(x->b, 0, x->bounce, x->len, x->msg, sizeof(x->msg));
}

int py_reap_until(struct aisio_queue *q, int (*done)(void *), void *arg)
{
	unsigned idle = 0;

	while (!done(arg)) {
		if (!aisio_queue_outstanding(q))
			return 0;
		int n = aisio_queue_reap(q, 0);

		if (n < 0)
			return n;
		if (n == 0 && ++idle >= 64) {
			idle = 0;
			sched_yield();
		} else if (n) {
			idle = 0;
		}
	}
	return 0;
}

int py_xfer_finish(struct py_xfer *x, struct py_state *st)
{
	const char *op = x->write ? "write" : "read";
	const char *uri = aisio_dev_uri(x->dev);
	char buf[1024];

	if (x->bounce)
		aisio_buf_free(x->dev, x->bounce);
	x->bounce = NULL;
	if (x->err) {
		snprintf(buf, sizeof(buf), "%s: %s of %zu bytes at LBA %llu: %s", uri, op, x->len,
			 (unsigned long long)x->lba, x->msg[0] ? x->msg : strerror(-x->err));
		py_raise_msg(st, x->err, buf);
		return -1;
	}
	if (x->status) {
		if (x->status < 0 && x->msg[0])
			snprintf(buf, sizeof(buf), "%s: %s at LBA %llu: %s (%s)", uri, op,
				 (unsigned long long)x->bad_lba, aisio_status_str(x->status), x->msg);
		else
			snprintf(buf, sizeof(buf), "%s: %s at LBA %llu: %s", uri, op,
				 (unsigned long long)x->bad_lba, aisio_status_str(x->status));
		py_raise_msg(st, x->status, buf);
		return -1;
	}
	return 0;
}
