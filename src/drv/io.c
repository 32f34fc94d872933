/* SPDX-License-Identifier: MIT */
/*
 * The I/O hot path: get_io / submit / reap on one queue pair.
 *
 * Per command it touches only its slot (ios[cid]), one SQ entry and one CQ
 * entry: CIDs come from a free stack, a completion finds its command by
 * CID, a 1-page buffer gets PRP1 from the cached region without a call.
 * One SQ doorbell write per submit, one CQ doorbell write per reaped batch
 * (up to DRV_REAP_BATCH completions, all of them in practice). A submit of
 * one command and a reap that finds one completion (every call at queue
 * depth 1) take paths without the batch's setup and loop. The
 * clock is read once per submit; deadlines and CSTS are looked at only
 * when a reap finds nothing (at most every check_every ticks) or every
 * DRV_CHECK_REAPS reaps.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "drv/clock.h"
#include "drv/ctrl_int.h"
#include "util/err.h"

/* Completions consumed per pass; one CQ head doorbell write each. */
#define DRV_REAP_BATCH 256u

/* A CQE's dword 3 read in one load (CID and status are 16-bit fields of the struct). */
typedef uint32_t __attribute__((may_alias)) drv_u32_alias;

/* Mark a completed slot free: cid and be_flags (AISIO_NVME_IO_FREE = 0) in one store. */
static inline void drv_io_free(struct aisio_io *io, uint32_t cid)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	_Static_assert(offsetof(struct aisio_io, be_flags) == offsetof(struct aisio_io, cid) + 2 &&
			       offsetof(struct aisio_io, cid) % 4 == 0 && AISIO_NVME_IO_FREE == 0,
		       "cid and be_flags share one aligned dword");
	*(drv_u32_alias *)&io->cid = cid;
#else
	(void)cid;
	io->be_flags = AISIO_NVME_IO_FREE;
#endif
}

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
		drv_qpair_set_rcache(qp, r);
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

/* A command whose data pointer the fast path does not cover: build it into io->cmd. */
static __attribute__((noinline)) void submit_slow(struct aisio_nvme_qpair *qp, struct aisio_io *io,
						  struct aisio_nvme_sqe *sqe)
{
	int err = io->len ? dptr_slow(qp, io) : 0;

	if (unlikely(err)) {
		/* The slot stays a no-op entry nobody reads: the ring does not advance for it. */
		io_done_early(qp, io, err);
		return;
	}
	*sqe = io->cmd;
	sqe->cid = io->cid;
}

/*
 * The PRP1-only fast path: a dword-aligned buffer of 1..page bytes within
 * one controller page of the cached region (SGL queues cache an empty
 * region, so it never matches there). Returns 1 with the bus address.
 */
static inline __attribute__((always_inline)) int
prp1_fast(const uint8_t *rva, size_t rlen, const uint64_t *rbus, unsigned cshift, size_t cmask,
	  uint64_t pmask, const struct aisio_io *io, uint64_t *busp)
{
	size_t off = (size_t)((const uint8_t *)io->buf - rva);
	uint64_t bus;

	if (unlikely(off >= rlen))
		return 0;
	bus = rbus[off >> cshift] + (off & cmask);
	*busp = bus;
	/* len - 1 wraps when len is 0 */
	return likely((io->len - 1 < pmask + 1 - (bus & pmask)) & !(bus & 3));
}

/*
 * The 64-byte copy of the prepared command into the ring, then CID and PRP1
 * written into the ring entry itself, so the copy never reloads a field
 * just stored into io->cmd.
 */
static inline __attribute__((always_inline)) void
sqe_fill_prp1(struct aisio_nvme_sqe *sqe, const struct aisio_io *io, uint64_t bus)
{
	*sqe = io->cmd;
	sqe->cid = io->cid;
	sqe->flags &= (uint8_t)~AISIO_NVME_PSDT_MASK;
	sqe->dptr.prp.prp1 = bus;
	sqe->dptr.prp.prp2 = 0;
}

/* The new tail to the controller: one doorbell write after the entries. */
static inline __attribute__((always_inline)) void
sq_publish(struct aisio_nvme_qpair *qp, uint32_t tail)
{
	qp->sq.tail = tail;
	qp->sq.db_tail = tail;
	/* Entries must be visible to the controller before it sees the new tail. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*qp->sq.db = tail;
}

/* Any number of commands; the ring wraps by a pointer compare. */
static __attribute__((noinline)) int submit_batch(struct aisio_nvme_qpair *qp)
{
	const uint32_t n = qp->npend;
	struct aisio_io *const *p = qp->pend, *const *const end = p + n;
	struct aisio_nvme_sqe *const ring = qp->sq.entries;
	struct aisio_nvme_sqe *const ring_end = qp->sq_end;
	struct aisio_nvme_sqe *sqe = ring + qp->sq.tail;
	const uint8_t *rva = qp->rc_va;
	size_t rlen = qp->rc_len;
	const uint64_t *rbus = qp->rc_bus;
	size_t cmask = qp->rc_cmask;
	unsigned cshift = qp->rc_cshift;
	const uint64_t pmask = qp->pmask;
	uint32_t tail;
	uint64_t now;

	if (unlikely(!n))
		return 0;
	if (unlikely(__atomic_load_n(&qp->ctrl->failed, __ATOMIC_RELAXED)))
		return submit_failed(qp);
	now = aisio_drv_ticks();
	do {
		struct aisio_io *io = *p;
		uint64_t bus;

		io->be_flags = AISIO_NVME_IO_INFLIGHT;
		io->be_data = now;
		if (likely(prp1_fast(rva, rlen, rbus, cshift, cmask, pmask, io, &bus))) {
			sqe_fill_prp1(sqe, io, bus);
		} else {
			uint32_t nd = qp->ndone;

			submit_slow(qp, io, sqe);
			rva = qp->rc_va;
			rlen = qp->rc_len;
			rbus = qp->rc_bus;
			cmask = qp->rc_cmask;
			cshift = qp->rc_cshift;
			if (unlikely(qp->ndone != nd))
				continue; /* failed: completes at the next reap, takes no ring slot */
		}
		if (unlikely(++sqe == ring_end))
			sqe = ring;
	} while (++p != end);
	tail = (uint32_t)(sqe - ring);
	qp->npend = 0;
	qp->outstanding += n;
	if (likely(tail != qp->sq.tail))
		sq_publish(qp, tail);
	/* else every command failed early: nothing for the controller */
	return (int)n;
}

/*
 * One command on the fast path (low queue depth) without the batch's setup;
 * anything else goes through submit_batch().
 */
int aisio_nvme_qpair_submit(struct aisio_nvme_qpair *qp)
{
	struct aisio_io *io;
	uint32_t tail;
	uint64_t bus;

	if (qp->npend != 1 || unlikely(__atomic_load_n(&qp->ctrl->failed, __ATOMIC_RELAXED)))
		return submit_batch(qp);
	io = qp->pend[0];
	if (unlikely(!prp1_fast(qp->rc_va, qp->rc_len, qp->rc_bus, qp->rc_cshift, qp->rc_cmask,
				qp->pmask, io, &bus)))
		return submit_batch(qp);
	io->be_flags = AISIO_NVME_IO_INFLIGHT;
	io->be_data = aisio_drv_ticks();
	tail = qp->sq.tail;
	sqe_fill_prp1(&qp->sq.entries[tail], io, bus);
	if (unlikely(++tail == qp->sq.depth))
		tail = 0;
	qp->npend = 0;
	qp->outstanding++;
	sq_publish(qp, tail);
	return 1;
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

/* Dword 3 of a CQE whose phase said new: CID (15:0) and status (31:16). */
static inline __attribute__((always_inline)) uint32_t cqe_dw3(volatile struct aisio_nvme_cqe *e)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return *((volatile drv_u32_alias *)e + 3);
}

/* The slot a CQE completes, or NULL when its CID is not in flight. */
static inline __attribute__((always_inline)) struct aisio_io *
cqe_io(struct aisio_io *ios, uint32_t ncids, uint32_t w3)
{
	uint32_t cid = w3 & 0xffff;
	struct aisio_io *io = &ios[cid];

	if (likely(cid < ncids) && likely(io->be_flags == AISIO_NVME_IO_INFLIGHT))
		return io;
	return NULL;
}

static inline __attribute__((always_inline)) void
cqe_complete(struct aisio_io *io, volatile struct aisio_nvme_cqe *e, uint32_t w3)
{
	io->result = e->dw0;
	io->status = (int)aisio_nvme_cqe_code((uint16_t)(w3 >> 16));
	drv_io_free(io, w3 & 0xffff);
}

/* Consumed up to @head: ring state, SQ head, and one CQ head doorbell write. */
static inline __attribute__((always_inline)) void
cq_publish(struct aisio_nvme_qpair *qp, uint32_t head, uint32_t phase, uint32_t sqhd, uint32_t got)
{
	qp->cq.head = head;
	qp->cq.phase = phase;
	qp->sq.head = sqhd;
	qp->outstanding -= got;
	aisio_nvme_cq_ring_db(&qp->cq);
}

/* Free the CID just before the callback runs (a callback may take a slot). */
static inline __attribute__((always_inline)) void
io_callback(struct aisio_nvme_qpair *qp, uint16_t *free_cids, struct aisio_io *io)
{
	free_cids[qp->nfree++] = io->cid;
	if (likely(io->cb != NULL))
		io->cb(io, io->cb_arg);
}

/*
 * One batch, two passes. The first consumes up to @room CQEs with the ring
 * state in registers (no call can change it), writes the slots' status and
 * rings the CQ head doorbell once. The second frees each CID just before
 * its callback runs, so a callback that takes a new slot never gets one
 * whose own callback is still to come. Returns the callbacks run; *@fullp
 * says whether the batch stopped at @room (more may be waiting).
 */
static inline __attribute__((always_inline)) uint32_t
reap_batch(struct aisio_nvme_qpair *qp, uint32_t room, int peeked, uint32_t *fullp)
{
	struct aisio_io *batch[DRV_REAP_BATCH];
	struct aisio_io *const ios = qp->ios;
	volatile struct aisio_nvme_cqe *const entries = qp->cq.entries;
	volatile struct aisio_nvme_cqe *const cq_end = entries + qp->cq.depth;
	volatile struct aisio_nvme_cqe *e = entries + qp->cq.head;
	const uint32_t ncids = qp->ncids;
	uint32_t phase = qp->cq.phase, got = 0, sqhd = 0;
	uint16_t *const free_cids = qp->free_cids;

	/*
	 * Only commands in flight bound the loop: the controller cannot post
	 * more CQEs than the ring holds before the head doorbell moves.
	 */
	/* @peeked: the caller saw a new entry at head (compile-time constant). */
	if (!peeked && (e->status & 1u) != phase) {
		*fullp = 0;
		return 0;
	}
	do {
		uint32_t w3 = cqe_dw3(e);
		struct aisio_io *io = cqe_io(ios, ncids, w3);

		sqhd = e->sqhd;
		if (likely(io != NULL)) {
			cqe_complete(io, e, w3);
			batch[got++] = io;
		} else {
			cqe_unexpected(qp, (uint16_t)w3);
		}
		if (unlikely(++e == cq_end)) {
			e = entries;
			phase ^= 1;
		}
		if (unlikely(got == room))
			break;
	} while ((e->status & 1u) == phase);
	*fullp = got == room;
	cq_publish(qp, (uint32_t)(e - entries), phase, sqhd, got);
	for (uint32_t i = 0; i < got; i++)
		io_callback(qp, free_cids, batch[i]);
	return got;
}

/* Any reap after the first batch: driver-made completions, a limit, more than one batch. */
static __attribute__((noinline)) int reap_more(struct aisio_nvme_qpair *qp, uint32_t n, uint32_t limit)
{
	if (unlikely(qp->ndone))
		n += drain_done(qp, limit - n);
	while (n < limit) {
		uint32_t room = limit - n < DRV_REAP_BATCH ? limit - n : DRV_REAP_BATCH, full;

		n += reap_batch(qp, room, 0, &full);
		if (!full)
			break;
	}
	if (likely(n) && likely(--qp->check_countdown))
		return (int)n;
	qp->check_countdown = DRV_CHECK_REAPS;
	return reap_idle(qp, n, limit);
}

/* A batch whose first CQE was seen new (kept out of line: the one-CQE path stays call-free). */
static __attribute__((noinline)) int reap_peeked(struct aisio_nvme_qpair *qp)
{
	uint32_t full, n = reap_batch(qp, DRV_REAP_BATCH, 1, &full);

	if (unlikely(full))
		return reap_more(qp, n, UINT32_MAX);
	if (likely(n) && likely(--qp->check_countdown))
		return (int)n;
	qp->check_countdown = DRV_CHECK_REAPS;
	return reap_idle(qp, n, UINT32_MAX);
}

int aisio_nvme_qpair_reap(struct aisio_nvme_qpair *qp, uint32_t max)
{
	volatile struct aisio_nvme_cqe *e;
	uint32_t head, phase;

	if (unlikely(max | qp->ndone))
		return reap_more(qp, 0, max ? max : UINT32_MAX);
	/* Polling an idle queue is the common case: keep it to a peek and a clock read. */
	e = aisio_nvme_cq_peek(&qp->cq);
	if (!e)
		return reap_idle(qp, 0, UINT32_MAX);
	/*
	 * One completion alone (low queue depth): no batch, no loop, and no
	 * work after the callback. Anything else goes through the batch.
	 */
	head = qp->cq.head + 1;
	phase = qp->cq.phase;
	if (unlikely(head == qp->cq.depth)) {
		head = 0;
		phase ^= 1;
	}
	if ((qp->cq.entries[head].status & 1u) != phase && likely(qp->check_countdown > 1)) {
		uint32_t w3 = cqe_dw3(e);
		struct aisio_io *io = cqe_io(qp->ios, qp->ncids, w3);

		if (likely(io != NULL)) {
			cqe_complete(io, e, w3);
			cq_publish(qp, head, phase, e->sqhd, 1);
			qp->check_countdown--;
			io_callback(qp, qp->free_cids, io);
			return 1;
		}
	}
	return reap_peeked(qp);
}
