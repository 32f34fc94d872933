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
 *
 * Lines shared with the controller's core are touched as little as the
 * protocol allows: an SQ entry gets one contiguous 64-byte store of a
 * command assembled in registers (non-temporal in a batch), a reap reads
 * no CQE beyond the commands in flight, and each doorbell is written once
 * per batch. One command (queue depth 1) takes paths without the batch's
 * setup that make the same stores to shared lines in the same order.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "drv/clock.h"
#include "drv/ctrl_int.h"
#include "util/err.h"

/*
 * Prefetch switches, 0 (off) by default; bench/driver-cost/variants-h200.sh
 * builds and compares them. DRV_PF_SQ=N: write-prefetch the SQ entry N
 * ahead while filling a batch. DRV_PF_SQ_REAP=1: write-prefetch the SQ
 * entry each completion's replacement will take, while reaping. DRV_PF_CQ=N:
 * prefetch the CQ entry N ahead while reaping.
 */
#ifndef DRV_PF_SQ
#define DRV_PF_SQ 0
#endif
#ifndef DRV_PF_SQ_REAP
#define DRV_PF_SQ_REAP 0
#endif
#ifndef DRV_PF_CQ
#define DRV_PF_CQ 0
#endif
/*
 * How a command reaches its SQ entry.
 *
 * DRV_SQE_REGS=1 (default with SSE2): assembled in registers, see
 * sqe_put_prp1(); 0: finished in the slot and copied from there.
 *
 * DRV_SQE_NT=1 (default with SSE2): a batch's entries are written with
 * non-temporal stores and fenced once before the doorbell. An ordinary
 * store must first take the line back from the controller's core, which
 * read it (a read for ownership), and the store buffer keeps only a few
 * entries' worth of those in flight; a non-temporal store writes the whole
 * line without reading it. One command alone (queue depth 1) takes
 * ordinary stores: the controller reads its entry at once, and the fence
 * would wait for the line to reach memory first.
 */
#if defined(__SSE2__) && defined(__x86_64__)
#ifndef DRV_SQE_REGS
#define DRV_SQE_REGS 1
#endif
#ifndef DRV_SQE_NT
#define DRV_SQE_NT 1
#endif
#endif
#ifndef DRV_SQE_REGS
#define DRV_SQE_REGS 0
#endif
#ifndef DRV_SQE_NT
#define DRV_SQE_NT 0
#endif
#if DRV_SQE_REGS || DRV_SQE_NT
#include <emmintrin.h>
#endif

/* Completions consumed per pass; one CQ head doorbell write each. */
#define DRV_REAP_BATCH 256u

/* A CQE's dword 3 read in one load (CID and status are 16-bit fields of the struct). */
typedef uint32_t __attribute__((may_alias)) drv_u32_alias;

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

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
		return aisio_err(-EFAULT, "%s: qid %u: buffer %p (%u bytes) is not DMA memory of this "
				 "device; allocate it with aisio_buf_alloc", c->f->name, qp->sq.qid,
				 io->buf, io->len);
	if (io->len > qp->max_xfer)
		return aisio_err(-E2BIG, "%s: qid %u: transfer of %u bytes exceeds the controller's "
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
		return aisio_err(err, "%s: qid %u: cannot describe buffer %p (%u bytes): %s", c->f->name,
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

/*
 * The PRP1-only fast path: a dword-aligned buffer of 1..page bytes within
 * one controller page of the cached region (@rva .. @cmask; SGL queues
 * cache an empty region, so it never matches there). Returns 1 and the bus
 * address in @busp.
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
	/* 1 <= len <= bytes left in the page: len - 1 wraps when len is 0 */
	return likely((io->len - 1 < pmask + 1 - (bus & pmask)) & !(bus & 3));
}

/* Write-prefetch @p (PREFETCHW; a no-op on x86 cores without it). */
static inline __attribute__((always_inline)) void prefetch_w(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

#if DRV_SQE_REGS || DRV_SQE_NT
/* A ring entry from four registers, in order; @nt: non-temporal. */
static inline __attribute__((always_inline)) void sqe_write(struct aisio_nvme_sqe *sqe, __m128i d0, __m128i d1,
							 __m128i d2, __m128i d3, int nt)
{
	__m128i *d = (__m128i *)sqe;

	if (DRV_SQE_NT && nt) {
		_mm_stream_si128(d, d0);
		_mm_stream_si128(d + 1, d1);
		_mm_stream_si128(d + 2, d2);
		_mm_stream_si128(d + 3, d3);
		return;
	}
	_mm_store_si128(d, d0);
	_mm_store_si128(d + 1, d1);
	_mm_store_si128(d + 2, d2);
	_mm_store_si128(d + 3, d3);
}
#endif

/* The 64 bytes of a finished command into its ring entry; @nt: non-temporal. */
static inline __attribute__((always_inline)) void sqe_store(struct aisio_nvme_sqe *sqe, const void *cmd, int nt)
{
#if DRV_SQE_REGS || DRV_SQE_NT
	const __m128i *s = cmd;

	sqe_write(sqe, _mm_loadu_si128(s), _mm_loadu_si128(s + 1), _mm_loadu_si128(s + 2),
		  _mm_loadu_si128(s + 3), nt);
#else
	(void)nt;
	memcpy(sqe, cmd, sizeof(*sqe));
#endif
}

/* Entries (@nt: non-temporal ones too) are visible to the controller before it sees a new tail. */
static inline __attribute__((always_inline)) void sqe_publish(int nt)
{
#if DRV_SQE_NT
	if (nt) {
		_mm_sfence();
		return;
	}
#endif
	(void)nt;
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/*
 * Finish @io's command with its CID and PRP data pointer in the ring entry
 * @sqe, a line the controller reads, with one contiguous 64-byte store and
 * no other.
 *
 * With DRV_SQE_REGS the entry is assembled in registers from the slot's
 * command as prepared, which keeps its own CID and data pointer fields.
 * Finishing the command in the slot and copying it from there makes each
 * 16-byte load wait for the narrow stores that set CID, flags and PRPs to
 * reach the cache (they cannot be forwarded), and so for every older
 * store: the previous entry's among them, which waits for the
 * controller's core to give up its line. That is one cross-core round
 * trip per command, in series.
 */
static inline __attribute__((always_inline)) void
sqe_put_prp1(struct aisio_nvme_sqe *sqe, struct aisio_io *io, uint64_t bus, uint64_t now, int nt)
{
#if DRV_SQE_REGS
	const __m128i *s = (const __m128i *)&io->cmd;
	/* word 0: opcode and FUSE kept, PSDT 0 (PRP); word 1: the slot's CID */
	int w0 = *(const uint16_t *)&io->cmd & ~(AISIO_NVME_PSDT_MASK << 8);
	__m128i d0 = _mm_insert_epi16(_mm_insert_epi16(_mm_loadu_si128(s), w0, 0), io->cid, 1);
	__m128i d1 = _mm_unpacklo_epi64(_mm_loadu_si128(s + 1), _mm_cvtsi64_si128((long long)bus)); /* MPTR, PRP1 */
	__m128i d2 = _mm_slli_si128(_mm_loadl_epi64((const __m128i *)&io->cmd.cdw10), 8); /* PRP2 0, CDW10-11 */
	__m128i d3 = _mm_loadu_si128(s + 3);

	io->be_flags = AISIO_NVME_IO_INFLIGHT;
	io->be_data = now;
	sqe_write(sqe, d0, d1, d2, d3, nt);
#else
	io->cmd.cid = io->cid;
	io->cmd.flags &= (uint8_t)~AISIO_NVME_PSDT_MASK;
	io->cmd.dptr.prp.prp1 = bus;
	io->cmd.dptr.prp.prp2 = 0;
	io->be_flags = AISIO_NVME_IO_INFLIGHT;
	io->be_data = now;
	sqe_store(sqe, &io->cmd, nt);
#endif
}

/* Any number of commands, any buffer; one doorbell write for all of them. */
static __attribute__((noinline)) int submit_batch(struct aisio_nvme_qpair *qp)
{
	const uint32_t n = qp->npend;
	struct aisio_io *const *p = qp->pend, *const *const end = p + n;
	struct aisio_nvme_sqe *const ring = qp->sq.entries;
	struct aisio_nvme_sqe *const ring_end = ring + qp->sq.depth;
	struct aisio_nvme_sqe *sqe = ring + qp->sq.tail;
	const uint64_t pmask = ((uint64_t)1 << qp->page_shift) - 1;
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
	do {
		struct aisio_io *io = *p;
		uint64_t bus;

		if (DRV_PF_SQ && sqe + DRV_PF_SQ < ring_end)
			prefetch_w(sqe + DRV_PF_SQ);
		if (likely(prp1_fast(rva, rlen, rbus, cshift, cmask, pmask, io, &bus))) {
			sqe_put_prp1(sqe, io, bus, now, 1);
		} else {
			int err = 0;

			io->cmd.cid = io->cid;
			/* No data (len 0) leaves the data pointer as prepared. */
			if (io->len) {
				err = dptr_slow(qp, io);
				r = qp->rcache;
				rva = r->va;
				rlen = r->len;
				cshift = r->chunk_shift;
				cmask = ((size_t)1 << cshift) - 1;
				rbus = r->bus;
			}
			if (unlikely(err)) {
				io_done_early(qp, io, err);
				continue;
			}
			io->be_flags = AISIO_NVME_IO_INFLIGHT;
			io->be_data = now;
			sqe_store(sqe, &io->cmd, 1);
		}
		if (unlikely(++sqe == ring_end))
			sqe = ring;
	} while (++p != end);
	qp->sq.tail = (uint32_t)(sqe - ring);
	qp->npend = 0;
	qp->outstanding += n;
	sqe_publish(1);
	aisio_nvme_sq_ring_db(&qp->sq);
	return (int)n;
}

/*
 * One command on the PRP1 fast path (every call at queue depth 1) without
 * the batch's setup; the ring entry, the doorbell and their order are the
 * batch's. Anything else goes through submit_batch().
 */
int aisio_nvme_qpair_submit(struct aisio_nvme_qpair *qp)
{
	const struct aisio_mem_region *r = qp->rcache;
	struct aisio_nvme_sqe *ring;
	uint32_t tail, next;
	struct aisio_io *io;
	uint64_t bus;

	if (qp->npend != 1 || unlikely(__atomic_load_n(&qp->ctrl->failed, __ATOMIC_RELAXED)))
		return submit_batch(qp);
	io = qp->pend[0];
	if (unlikely(!prp1_fast(r->va, r->len, r->bus, r->chunk_shift, ((size_t)1 << r->chunk_shift) - 1,
				((uint64_t)1 << qp->page_shift) - 1, io, &bus)))
		return submit_batch(qp);
	/* Read before the stores to the slot, which may alias anything. */
	ring = qp->sq.entries;
	tail = qp->sq.tail;
	next = aisio_ring_next(tail, qp->sq.depth);
	sqe_put_prp1(&ring[tail], io, bus, aisio_drv_ticks(), 0);
	qp->sq.tail = next;
	qp->sq.db_tail = next;
	qp->npend = 0;
	qp->outstanding++;
	sqe_publish(0);
	*qp->sq.db = next;
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
/* @n completions were returned; at most @max (0: no limit) may be. */
static inline __attribute__((always_inline)) int reap_idle(struct aisio_nvme_qpair *qp, uint32_t n,
						       uint32_t max)
{
	uint64_t now = aisio_drv_ticks();

	if (likely(now < qp->check_at) && !__atomic_load_n(&qp->ctrl->failed, __ATOMIC_RELAXED))
		return (int)n;
	{
		int r = check(qp, now, (max ? max : UINT32_MAX) - n);

		return r < 0 ? r : (int)(n + (uint32_t)r);
	}
}

/*
 * The slot of a completed command is free: CID (unchanged) and be_flags
 * in one store.
 */
typedef uint32_t __attribute__((may_alias)) drv_slot_word;
_Static_assert(offsetof(struct aisio_io, be_flags) == offsetof(struct aisio_io, cid) + 2 &&
		       AISIO_NVME_IO_FREE == 0,
	       "cid and be_flags share one 32-bit word");

static inline __attribute__((always_inline)) void slot_free(struct aisio_io *io, uint32_t cid)
{
	*(drv_slot_word *)&io->cid = cid;
}

/*
 * Dword 3 of a CQE in one load: CID (15:0), status (31:17) and the phase
 * tag (16), which the controller writes last.
 */
static inline __attribute__((always_inline)) uint32_t cqe_dw3(const volatile struct aisio_nvme_cqe *e)
{
	return *((const volatile drv_u32_alias *)e + 3);
}

/* The CQE whose dword 3 is @w3 is new: its phase tag is the expected @phase. */
static inline __attribute__((always_inline)) int cqe_new(uint32_t w3, uint32_t phase)
{
	return ((w3 >> 16) & 1u) == phase;
}

/*
 * Two passes per batch. The first consumes CQEs with the ring state in
 * registers (no call can change it), writes the slots' status and rings
 * the CQ head doorbell once. The second frees each CID just before its
 * callback runs, so a callback that takes a new slot never gets one whose
 * own callback is still to come.
 *
 * A pass consumes no more entries than there are commands in flight (at
 * least one, for a late CQE of a timed-out command): when it has them all
 * it stops without reading the next entry, a line the controller writes.
 */
static __attribute__((noinline)) int reap_some(struct aisio_nvme_qpair *qp, uint32_t max)
{
	const uint32_t limit = max ? max : UINT32_MAX; /* completions to return at most */
	struct aisio_io *const ios = qp->ios;
	const uint32_t ncids = qp->ncids;
	uint16_t *const free_cids = qp->free_cids;
	volatile struct aisio_nvme_cqe *const entries = qp->cq.entries;
	volatile struct aisio_nvme_cqe *const cq_end = entries + qp->cq.depth;
	uint32_t n = 0;

	if (unlikely(qp->ndone))
		n = drain_done(qp, limit);
	while (n < limit) {
		struct aisio_io *batch[DRV_REAP_BATCH];
		volatile struct aisio_nvme_cqe *e = entries + qp->cq.head;
		/* the expected phase tag where dword 3 has it, bit 16 */
		uint32_t pbit = qp->cq.phase << 16;
		uint32_t room = limit - n < DRV_REAP_BATCH ? limit - n : DRV_REAP_BATCH;
		uint32_t cap = qp->outstanding < room ? qp->outstanding : room;
		uint32_t left, got = 0, used;

		cap += !cap;
		/* @left: entries this pass may still consume, less one per stray CQE */
		left = cap;
		do {
			struct aisio_io *io;
			uint32_t w3 = cqe_dw3(e), cid = w3 & 0xffff;

			if ((w3 ^ pbit) & (1u << 16))
				break;
			if (DRV_PF_CQ && e + DRV_PF_CQ < cq_end)
				__builtin_prefetch((const void *)(e + DRV_PF_CQ), 0, 3);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			io = &ios[cid];
			if (unlikely(cid >= ncids) || unlikely(io->be_flags != AISIO_NVME_IO_INFLIGHT)) {
				cqe_unexpected(qp, (uint16_t)cid);
				left--;
			} else {
				io->result = e->dw0;
				io->status = (int)aisio_nvme_cqe_code((uint16_t)(w3 >> 16));
				slot_free(io, cid);
				batch[got++] = io;
			}
			if (unlikely(++e == cq_end)) {
				e = entries;
				pbit ^= 1u << 16;
			}
		} while (got < left);
		used = got + cap - left;
		if (!used)
			break;
		qp->cq.head = (uint32_t)(e - entries);
		qp->cq.phase = pbit >> 16;
		/* the controller's SQ head as of the last entry consumed */
		qp->sq.head = (e == entries ? cq_end : e)[-1].sqhd;
		qp->outstanding -= got;
		aisio_nvme_cq_ring_db(&qp->cq);
		for (uint32_t i = 0; i < got; i++) {
			struct aisio_io *io = batch[i];

			if (DRV_PF_SQ_REAP) {
				uint32_t t = qp->sq.tail + qp->npend;

				prefetch_w(&qp->sq.entries[t < qp->sq.depth ? t : t - qp->sq.depth]);
			}

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
	return reap_idle(qp, n, max);
}

int aisio_nvme_qpair_reap(struct aisio_nvme_qpair *qp, uint32_t max)
{
	volatile struct aisio_nvme_cqe *e = &qp->cq.entries[qp->cq.head];
	uint32_t w3 = cqe_dw3(e), cid = w3 & 0xffff;
	struct aisio_io *io;

	if (unlikely(qp->ndone))
		return reap_some(qp, max);
	/* Polling an idle queue is the common case: keep it to a peek and a clock read. */
	if (!cqe_new(w3, qp->cq.phase))
		return reap_idle(qp, 0, max);
	if (qp->outstanding != 1 || unlikely(qp->check_countdown <= 1))
		return reap_some(qp, max);
	/*
	 * The one command in flight (every call at queue depth 1): its CQE is
	 * the only one there can be, so nothing past it is read; the order of
	 * the updates, the doorbell and the callback is the batch's.
	 */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	io = &qp->ios[cid];
	if (unlikely(cid >= qp->ncids) || unlikely(io->be_flags != AISIO_NVME_IO_INFLIGHT))
		return reap_some(qp, max);
	io->result = e->dw0;
	qp->sq.head = e->sqhd;
	io->status = (int)aisio_nvme_cqe_code((uint16_t)(w3 >> 16));
	slot_free(io, cid);
	aisio_nvme_cq_advance(&qp->cq);
	qp->outstanding = 0;
	qp->check_countdown--;
	aisio_nvme_cq_ring_db(&qp->cq);
	qp->free_cids[qp->nfree++] = (uint16_t)cid;
	if (likely(io->cb != NULL))
		io->cb(io, io->cb_arg);
	return 1;
}
