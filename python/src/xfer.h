/* SPDX-License-Identifier: MIT */
/*
 * One blocking transfer between a buffer and consecutive LBAs: split into
 * commands of at most MDTS, through DMA memory (the buffer itself when it
 * came from Device.alloc(), a bounce buffer otherwise).
 */
#ifndef AISIO_PY_XFER_H
#define AISIO_PY_XFER_H

#include "mod.h"

struct py_xfer {
	struct aisio_dev *dev;
	int write;
	uint64_t lba;
	uint32_t lba_size, nsid, chunk;
	struct py_ubuf *b;
	char *dma;          /* what the commands transfer: b->ptr or the bounce */
	char *bounce;       /* aisio_buf_alloc()'d, or NULL */
	size_t len;
	/* result */
	int err;            /* -errno of submit/reap/copy, 0 */
	int status;         /* first failed command's status */
	uint64_t bad_lba;   /* its first LBA */
	char msg[512];      /* the library's message at the failure */
	uint32_t inflight;
};

/* Largest bytes per command for @g: MDTS, NLB (16 bits) and 1 MiB. */
uint32_t py_xfer_chunk(const struct aisio_geo *g);

/*
 * Check the buffer against the device, get the bounce buffer, copy in for a
 * write (GIL held). Returns 0, or -1 with an exception set.
 */
int py_xfer_setup(struct py_xfer *x, struct py_dev *d, int write, uint64_t lba, struct py_ubuf *b);
/* Run the commands on @q (GIL released, queue owned by the caller). */
void py_xfer_run(struct py_xfer *x, struct aisio_queue *q);
/* Copy out for a read, free the bounce, raise on failure. Returns 0 or -1. */
int py_xfer_finish(struct py_xfer *x, struct py_state *st);

/* Copy @len bytes between a host/GPU user buffer and host memory. 0 or -errno, message in @why. */
int py_copy_in(void *host, const struct py_ubuf *b, size_t off, size_t len, char *why, size_t whylen);
int py_copy_out(const struct py_ubuf *b, size_t off, const void *host, size_t len, char *why, size_t whylen);

/* Reap until @done() says so, yielding the CPU after 64 empty polls (a device model may share it). */
int py_reap_until(struct aisio_queue *q, int (*done)(void *), void *arg);

#endif
