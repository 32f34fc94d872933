/* SPDX-License-Identifier: MIT */
/* Kernel paths: command slots of a queue (free, pending, done). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/kpath.h"
#include "util/err.h"

int aisio_kq_init(struct aisio_kq *kq, struct aisio_dev *dev, uint32_t depth)
{
	kq->q.dev = dev;
	kq->q.depth = depth;
	kq->ios = calloc(depth, sizeof(*kq->ios));
	kq->free = calloc(depth, sizeof(*kq->free));
	kq->pend = calloc(depth, sizeof(*kq->pend));
	kq->done = calloc(depth, sizeof(*kq->done));
	if (!kq->ios || !kq->free || !kq->pend || !kq->done) {
		aisio_kq_term(kq);
		return aisio_err(-ENOMEM, "out of memory for a queue of depth %u", depth);
	}
	for (uint32_t i = 0; i < depth; i++) {
		kq->ios[i].q = &kq->q;
		kq->ios[i].cid = (uint16_t)i;
		kq->free[i] = depth - 1 - i; /* hand out slot 0 first */
	}
	kq->nfree = depth;
	return 0;
}

void aisio_kq_term(struct aisio_kq *kq)
{
	free(kq->ios);
	free(kq->free);
	free(kq->pend);
	free(kq->done);
	kq->ios = NULL;
	kq->free = kq->pend = kq->done = NULL;
}

static inline uint32_t slot_of(const struct aisio_kq *kq, const struct aisio_io *io)
{
	return (uint32_t)(io - kq->ios);
}

struct aisio_io *aisio_kq_get_io(struct aisio_kq *kq)
{
	struct aisio_io *io;
	uint32_t s;

	if (!kq->nfree)
		return NULL;
	s = kq->free[--kq->nfree];
	kq->pend[kq->npend++] = s;
	io = &kq->ios[s];
	io->cb = NULL;
	io->cb_arg = NULL;
	io->status = 0;
	io->result = 0;
	io->buf = NULL;
	io->len = 0;
	return io;
}

void aisio_kq_put_io(struct aisio_kq *kq, struct aisio_io *io)
{
	uint32_t s = slot_of(kq, io);

	for (uint32_t i = 0; i < kq->npend; i++) {
		if (kq->pend[i] != s)
			continue;
		memmove(&kq->pend[i], &kq->pend[i + 1], (kq->npend - i - 1) * sizeof(*kq->pend));
		kq->npend--;
		kq->free[kq->nfree++] = s;
		return;
	}
}

void aisio_kq_done(struct aisio_kq *kq, struct aisio_io *io, int status)
{
	uint32_t depth = kq->q.depth;

	io->status = status;
	kq->done[(kq->done_head + kq->ndone) % depth] = slot_of(kq, io);
	kq->ndone++;
}

void aisio_kq_complete(struct aisio_kq *kq, struct aisio_io *io)
{
	if (io->cb)
		io->cb(io, io->cb_arg);
	kq->inflight--;
	kq->free[kq->nfree++] = slot_of(kq, io);
}

uint32_t aisio_kq_reap_done(struct aisio_kq *kq, uint32_t max)
{
	uint32_t n = 0;

	while (kq->ndone && (!max || n < max)) {
		struct aisio_io *io = &kq->ios[kq->done[kq->done_head]];

		kq->done_head = (kq->done_head + 1) % kq->q.depth;
		kq->ndone--;
		aisio_kq_complete(kq, io);
		n++;
	}
	return n;
}
