/* SPDX-License-Identifier: MIT */
/*
 * The I/O hot path: get_io / submit / reap on one queue pair.
 *
 * Per command it touches only its slot (ios[cid]), one SQ entry and one CQ
 * entry: CIDs come from a free stack, a completion finds its command by
 * CID, a 1-page buffer gets PRP1 from the cached region without a call.
 * One SQ doorbell write per submit, one CQ doorbell write per reaped batch
 * (up to DRV_REAP_BATCH completions, all of them in practice). The
 * clock is read once per submit; deadlines and CSTS are looked at only
 * when a reap finds nothing (at most every check_every ticks) or every
 * DRV_CHECK_REAPS reaps.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drv/clock.h"
#include "drv/ctrl_int.h"
#include "util/err.h"

/* Completions consumed per pass; one CQ head doorbell write each. */
#define DRV_REAP_BATCH 256u

/* A CQE's dword 3 read in one load (CID and status are 16-bit fields of the struct). */
typedef uint32_t __attribute__((may_alias)) drv_u32_alias;

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct aisio_io *aisio_nvme_qpair_get_io(struct aisio_nvme_qpair *qp)
{
	struct aisio_io *io;
	uint16_t cid;

	if (unlikely(!qp->nfree))
		return NULL;
	cid = qp->free_cids[--qp->nfree];
	io = &qp->ios[cid];
	qp->pend[qp->npend++] = io;
	io->be_flags = AISIO_NVME_IO_GOT;
	return io;
}

void aisio_nvme_qpair_put_io(struct aisio_nvme_qpair *qp, struct aisio_io *io)
{
	uint16_t cid = io->cid;

	if (io->q != &qp->q || io->be_flags != AISIO_NVME_IO_GOT)
		return;
	for (uint32_t i = 0; i < qp->npend; i++) {
		if (qp->pend[i] == io) {
			memmove(&qp->pend[i], &qp->pend[i + 1], (qp->npend - i - 1) * sizeof(qp->pend[0]));
			qp->npend--;
			break;
		}
	}
	io->be_flags = AISIO_NVME_IO_FREE;
	qp->free_cids[qp->nfree++] = cid;
}

/* The command completes at the next reap with @status, without reaching the controller. */
static void io_done_early(struct aisio_nvme_qpair *qp, struct aisio_io *io, int status)
{
	io->status = status;
	io->result = 0;
	io->be_flags = AISIO_NVME_IO_DONE;
	qp->doneq[qp->ndone++] = io->cid;
}

/* Any buffer: look up its region, then PRP lists or SGL segments in the CID's list pages. */
static __attribute__((noinline)) int dptr_slow(struct aisio_nvme_qpair *qp, struct aisio_io *io)
{
	struct aisio_nvme_ctrl *c = qp->ctrl;
	const struct aisio_mem_region *r = aisio_heap_region(c->heap, io->buf);
	struct aisio_nvme_list_mem lists = {
		.va = qp->lists ? qp->lists + ((size_t)io->cid * qp->list_pages << qp->page_shift) : NULL,
		.region = qp->lists_region,
		.npages = qp->list_pages,
	};
	char why[256];
	int err;

	if (!r || !aisio_mem_contains(r, io->buf, io->len))
		return aisio_err(-EFAULT, "%s: qid %u: buffer %p (%zu bytes) is not DMA memory of this "
				 "device; allocate it with aisio_buf_alloc", c->f->name, qp->sq.qid,
				 io->buf, io->len);
	if (io->len > qp->max_xfer)
		return aisio_err(-E2BIG, "%s: qid %u: transfer of %zu bytes exceeds the controller's "
				 "maximum of %u bytes (MDTS)", c->f->name, qp->sq.qid, io->len, qp->max_xfer);
	if (!(qp->flags & AISIO_NVME_QP_SGL))
		qp->rcache = r;
	/* MDTS is enforced above; the builders get no limit of their own. */
	if (qp->flags & AISIO_NVME_QP_SGL)
		err = aisio_nvme_sgl_build(&io->cmd, r, io->buf, io->len, 0, &lists, qp->page_shift);
	else
		err = aisio_nvme_prp_build(&io->cmd, r, io->buf, io->len, qp->page_shift, 0, &lists);
	if (err) {
		snprintf(why, sizeof(why), "%s", aisio_errmsg());
		return aisio_err(err, "%s: qid %u: cannot describe buffer %p (%zu bytes): %s", c->f->name,
				 qp->sq.qid, io->buf, io->len, why);
	}
	return 0;
}

/* A failed controller takes nothing: the batch completes with -EIO at the next reap. */
static __attribute__((noinline)) int submit_failed(struct aisio_nvme_qpair *qp)
{
	uint32_t n = qp->npend;

	for (uint32_t i = 0; i < n; i++)
		io_done_early(qp, qp->pend[i], -EIO);
	qp->npend = 0;
	qp->outstanding += n;
	aisio_err(-EIO, "%s: controller is in fatal status; reset it", qp->ctrl->f->name);
	return (int)n;
}

int aisio_nvme_qpair_submit(struct aisio_nvme_qpair *qp)
{
	const uint32_t n = qp->npend;
	struct aisio_io *const *pend = qp->pend;
	struct aisio_nvme_sqe *ring = qp->sq.entries;
	const uint32_t depth = qp->sq.depth;
	const uint64_t pmask = ((uint64_t)1 << qp->page_shift) - 1;
	uint32_t tail = qp->sq.tail;
	/* The cached region in locals: stores to commands cannot change them. */
	const struct aisio_mem_region *r = qp->rcache;
	const uint8_t *rva = r->va;
	size_t rlen = r->len, cmask = ((size_t)1 << r->chunk_shift) - 1;
	unsigned cshift = r->chunk_shift;
	const uint64_t *rbus = r->bus;
	uint64_t now;

	if (unlikely(!n))
		return 0;
	if (unlikely(__atomic_load_n(&qp->ctrl->failed, __ATOMIC_RELAXED)))
		return submit_failed(qp);
	now = aisio_drv_ticks();
	for (uint32_t i = 0; i < n; i++) {
		struct aisio_io *io = pend[i];

		io->cmd.cid = io->cid;
		if (io->len) {
			/*
			 * Fast path: PRP1 alone for a dword-aligned buffer within one
			 * page of the cached region (SGL queues cache an empty region).
			 */
			size_t off = (size_t)((const uint8_t *)io->buf - rva);
			uint64_t bus;

			if (likely(off < rlen) && (bus = rbus[off >> cshift] + (off & cmask),
						   likely(((bus & pmask) + io->len <= pmask + 1) & !(bus & 3)))) {
				io->cmd.flags &= (uint8_t)~AISIO_NVME_PSDT_MASK;
				io->cmd.dptr.prp.prp1 = bus;
				io->cmd.dptr.prp.prp2 = 0;
			} else {
				int err = dptr_slow(qp, io);

				r = qp->rcache;
				rva = r->va;
				rlen = r->len;
				cshift = r->chunk_shift;
				cmask = ((size_t)1 << cshift) - 1;
				rbus = r->bus;
				if (unlikely(err)) {
					io_done_early(qp, io, err);
					continue;
				}
			}
		}
		io->be_flags = AISIO_NVME_IO_INFLIGHT;
		io->be_data = now;
		ring[tail] = io->cmd;
		tail = aisio_ring_next(tail, depth);
	}
	qp->sq.tail = tail;
	qp->npend = 0;
	qp->outstanding += n;
	/* Entries must be visible to the controller before it sees the new tail. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	aisio_nvme_sq_ring_db(&qp->sq);
	return (int)n;
}

/* Completions the driver made itself (submit errors, reset); FIFO, up to @limit. */
static __attribute__((noinline)) uint32_t drain_done(struct aisio_nvme_qpair *qp, uint32_t limit)
{
	uint32_t i = 0;

	/* Callbacks may add entries; they are taken in the same pass. */
	while (i < qp->ndone && i < limit) {
		struct aisio_io *io = &qp->ios[qp->doneq[i++]];

		io->be_flags = AISIO_NVME_IO_FREE;
		qp->free_cids[qp->nfree++] = io->cid;
		qp->outstanding--;
		if (io->cb)
			io->cb(io, io->cb_arg);
	}
	memmove(qp->doneq, qp->doneq + i, (qp->ndone - i) * sizeof(qp->doneq[0]));
	qp->ndone -= i;
	return i;
}

/* A CQE for a CID that is not in flight: the late answer to a timed-out command frees its CID. */
static __attribute__((noinline)) void cqe_unexpected(struct aisio_nvme_qpair *qp, uint16_t cid)
{
	if (cid < qp->ncids && qp->ios[cid].be_flags == AISIO_NVME_IO_RESERVED) {
		qp->ios[cid].be_flags = AISIO_NVME_IO_FREE;
		qp->free_cids[qp->nfree++] = cid;
		return;
	}
	qp->stray++;
}

/* Complete @io now with @status; its CID stays reserved until a CQE or a reset. */
static void io_fail_reserved(struct aisio_nvme_qpair *qp, struct aisio_io *io, int status)
{
	io->status = status;
	io->result = 0;
	io->be_flags = AISIO_NVME_IO_RESERVED;
	qp->outstanding--;
	if (io->cb)
		io->cb(io, io->cb_arg);
}

/* The slow look: controller fatal status, then deadlines. */
static __attribute__((noinline)) int check(struct aisio_nvme_qpair *qp, uint64_t now, uint32_t room)
{
	struct aisio_nvme_ctrl *c = qp->ctrl;
	uint32_t csts = drv_csts(c), n = 0;

	qp->check_at = now + qp->check_every;
	qp->check_countdown = DRV_CHECK_REAPS;
	if ((csts & AISIO_NVME_CSTS_CFS) || csts == UINT32_MAX)
		__atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&c->failed, __ATOMIC_RELAXED)) {
		for (uint32_t cid = 0; cid < qp->ncids; cid++)
			if (qp->ios[cid].be_flags == AISIO_NVME_IO_INFLIGHT)
				io_fail_reserved(qp, &qp->ios[cid], -EIO);
		return aisio_err(-EIO, "%s: controller fatal status (CSTS 0x%x): commands in flight on "
				 "qid %u failed; reset the controller", c->f->name, csts, qp->sq.qid);
	}
	for (uint32_t cid = 0; cid < qp->ncids && n < room; cid++) {
		struct aisio_io *io = &qp->ios[cid];

		if (io->be_flags == AISIO_NVME_IO_INFLIGHT && now - io->be_data > qp->timeout_ticks) {
			aisio_err(-ETIMEDOUT, "%s: qid %u cid %u (%s) timed out after %u ms", c->f->name,
				  qp->sq.qid, cid, aisio_nvme_opc_str(io->cmd.opc, 0), c->info.timeout_ms);
			io_fail_reserved(qp, io, -ETIMEDOUT);
			n++;
		}
	}
	return (int)n;
}

/* Nothing new on the CQ: now and then look at the clock, deadlines and CSTS. */
static int reap_idle(struct aisio_nvme_qpair *qp, uint32_t n, uint32_t limit)
{
	uint64_t now = aisio_drv_ticks();

	if (likely(now < qp->check_at) && !__atomic_load_n(&qp->ctrl->failed, __ATOMIC_RELAXED))
		return (int)n;
	{
		int r = check(qp, now, limit - n);

		return r < 0 ? r : (int)(n + (uint32_t)r);
	}
}

/*
 * Two passes per batch. The first consumes CQEs with the ring state in
 * registers (no call can change it), writes the slots' status and rings
 * the CQ head doorbell once. The second frees each CID just before its
 * callback runs, so a callback that takes a new slot never gets one whose
 * own callback is still to come.
 */
static __attribute__((noinline)) int reap_some(struct aisio_nvme_qpair *qp, uint32_t limit)
{
	struct aisio_io *ios = qp->ios;
	const uint32_t ncids = qp->ncids;
	uint16_t *const free_cids = qp->free_cids;
	uint32_t n = 0;

	if (unlikely(qp->ndone))
		n = drain_done(qp, limit);
	while (n < limit) {
		struct aisio_io *batch[DRV_REAP_BATCH];
		struct aisio_nvme_cq cq = qp->cq;
		volatile struct aisio_nvme_cqe *e;
		uint32_t room = limit - n < DRV_REAP_BATCH ? limit - n : DRV_REAP_BATCH;
		uint32_t got = 0, used = 0, sqhd = 0;

		while (got < room && (e = aisio_nvme_cq_peek(&cq))) {
			struct aisio_io *io;
			uint32_t w3, cid, dw0;

			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			/* Dword 3 holds CID (15:0) and status (31:16). */
			w3 = *((volatile drv_u32_alias *)e + 3);
			dw0 = e->dw0;
			sqhd = e->sqhd;
			aisio_nvme_cq_advance(&cq);
			used++;
			cid = w3 & 0xffff;
			io = &ios[cid];
			if (unlikely(cid >= ncids) || unlikely(io->be_flags != AISIO_NVME_IO_INFLIGHT)) {
				cqe_unexpected(qp, (uint16_t)cid);
				continue;
			}
			io->result = dw0;
			io->status = (int)aisio_nvme_cqe_code((uint16_t)(w3 >> 16));
			io->be_flags = AISIO_NVME_IO_FREE;
			batch[got++] = io;
		}
		if (!used)
			break;
		qp->cq.head = cq.head;
		qp->cq.phase = cq.phase;
		qp->sq.head = sqhd;
		qp->outstanding -= got;
		aisio_nvme_cq_ring_db(&qp->cq);
		for (uint32_t i = 0; i < got; i++) {
			struct aisio_io *io = batch[i];

			free_cids[qp->nfree++] = io->cid;
			if (likely(io->cb != NULL))
				io->cb(io, io->cb_arg);
		}
		n += got;
		if (used < room)
			break;
	}
	if (likely(n) && likely(--qp->check_countdown))
		return (int)n;
	qp->check_countdown = DRV_CHECK_REAPS;
	return reap_idle(qp, n, limit);
}

int aisio_nvme_qpair_reap(struct aisio_nvme_qpair *qp, uint32_t max)
{
	const uint32_t limit = max ? max : UINT32_MAX;

	/* Polling an idle queue is the common case: keep it to a peek and a clock read. */
	if (likely(!qp->ndone) && !aisio_nvme_cq_peek(&qp->cq))
		return reap_idle(qp, 0, limit);
	return reap_some(qp, limit);
}
