/* SPDX-License-Identifier: MIT */
/*
 * The NVMe queue ring, written once for every initiator: the host driver,
 * CUDA device code and the device model (controller side) all use these
 * functions. No libc: only compiler-provided <stdint.h>.
 *
 * A submission ring is produced by the host (tail) and consumed by the
 * controller (head, reported back in each CQE's SQHD). A completion ring is
 * produced by the controller with a phase tag that flips on every wrap and
 * consumed by the host (head).
 *
 * Memory ordering is the caller's: the host issues a release fence before
 * a doorbell write; device code uses __threadfence_system().
 */
#ifndef AISIO_NVME_RING_H
#define AISIO_NVME_RING_H

#include <stdint.h>

#include "nvme_spec.h"

#if defined(__CUDACC__)
#define AISIO_RING_FN static __host__ __device__ __forceinline__
#else
#define AISIO_RING_FN static inline __attribute__((always_inline))
#endif

/* Host-side view of a submission queue. */
struct aisio_nvme_sq {
	struct aisio_nvme_sqe *entries; /* depth entries */
	volatile uint32_t *db;          /* SQ tail doorbell */
	uint32_t depth;                 /* number of slots (CAP.MQES + 1 at most) */
	uint32_t tail;                  /* next slot to fill */
	uint32_t db_tail;               /* tail value last written to the doorbell */
	uint32_t head;                  /* controller's head, from CQE.SQHD */
	uint16_t qid;
};

/* Host-side view of a completion queue. */
struct aisio_nvme_cq {
	volatile struct aisio_nvme_cqe *entries;
	volatile uint32_t *db; /* CQ head doorbell */
	uint32_t depth;
	uint32_t head;
	uint32_t phase; /* expected phase tag of the next new entry */
	uint16_t qid;
};

AISIO_RING_FN uint32_t aisio_ring_next(uint32_t idx, uint32_t depth)
{
	return idx + 1 == depth ? 0 : idx + 1;
}

AISIO_RING_FN uint32_t aisio_ring_add(uint32_t idx, uint32_t n, uint32_t depth)
{
	uint32_t v = idx + n;
	return v >= depth ? v - depth : v;
}

/*
 * Slot of entry @count of a ring, counting every entry since the ring was
 * created (a 64-bit running count, as concurrent GPU producers reserve
 * them), and in @phase (when not NULL) the phase tag that entry carries:
 * 1 on the first pass, flipping on every wrap.
 */
AISIO_RING_FN uint32_t aisio_ring_pos(uint64_t count, uint32_t depth, uint32_t *phase)
{
	const uint64_t lap = count / depth;

	if (phase)
		*phase = (uint32_t)(lap & 1u) ^ 1u;
	return (uint32_t)(count - lap * depth);
}

/* Entries between head and tail (occupied slots). */
AISIO_RING_FN uint32_t aisio_ring_used(uint32_t head, uint32_t tail, uint32_t depth)
{
	return tail >= head ? tail - head : depth - head + tail;
}

/* A ring of depth N holds at most N - 1 entries (full when tail + 1 == head). */
AISIO_RING_FN uint32_t aisio_ring_space(uint32_t head, uint32_t tail, uint32_t depth)
{
	return depth - 1 - aisio_ring_used(head, tail, depth);
}

AISIO_RING_FN void aisio_nvme_sq_init(struct aisio_nvme_sq *sq, void *entries, volatile void *bar0,
				      uint16_t qid, uint32_t depth, uint32_t dstrd)
{
	sq->entries = (struct aisio_nvme_sqe *)entries;
	sq->db = (volatile uint32_t *)((volatile uint8_t *)bar0 + aisio_nvme_db_offset(qid, 0, dstrd));
	sq->depth = depth;
	sq->tail = 0;
	sq->db_tail = 0;
	sq->head = 0;
	sq->qid = qid;
}

AISIO_RING_FN void aisio_nvme_cq_init(struct aisio_nvme_cq *cq, void *entries, volatile void *bar0,
				      uint16_t qid, uint32_t depth, uint32_t dstrd)
{
	cq->entries = (volatile struct aisio_nvme_cqe *)entries;
	cq->db = (volatile uint32_t *)((volatile uint8_t *)bar0 + aisio_nvme_db_offset(qid, 1, dstrd));
	cq->depth = depth;
	cq->head = 0;
	cq->phase = 1;
	cq->qid = qid;
}

AISIO_RING_FN uint32_t aisio_nvme_sq_space(const struct aisio_nvme_sq *sq)
{
	return aisio_ring_space(sq->head, sq->tail, sq->depth);
}

/* Slot for the next command; the caller checks space first. */
AISIO_RING_FN struct aisio_nvme_sqe *aisio_nvme_sq_slot(struct aisio_nvme_sq *sq)
{
	return &sq->entries[sq->tail];
}

AISIO_RING_FN void aisio_nvme_sq_advance(struct aisio_nvme_sq *sq)
{
	sq->tail = aisio_ring_next(sq->tail, sq->depth);
}

/* Write the tail doorbell if it moved; returns 1 when a write was made. */
AISIO_RING_FN int aisio_nvme_sq_ring_db(struct aisio_nvme_sq *sq)
{
	if (sq->tail == sq->db_tail)
		return 0;
	*sq->db = sq->tail;
	sq->db_tail = sq->tail;
	return 1;
}

/* The CQE at head when it is new (phase matches), else 0. */
AISIO_RING_FN volatile struct aisio_nvme_cqe *aisio_nvme_cq_peek(const struct aisio_nvme_cq *cq)
{
	volatile struct aisio_nvme_cqe *e = &cq->entries[cq->head];
	if ((e->status & 1u) != cq->phase)
		return 0;
	return e;
}

/*
 * Copy a new CQE out of the ring after aisio_nvme_cq_peek() found it; the
 * caller orders this after the phase check (acquire fence on the host).
 */
AISIO_RING_FN void aisio_nvme_cqe_read(struct aisio_nvme_cqe *dst,
				       const volatile struct aisio_nvme_cqe *e)
{
	dst->dw0 = e->dw0;
	dst->dw1 = e->dw1;
	dst->sqhd = e->sqhd;
	dst->sqid = e->sqid;
	dst->cid = e->cid;
	dst->status = e->status;
}

AISIO_RING_FN void aisio_nvme_cq_advance(struct aisio_nvme_cq *cq)
{
	if (++cq->head == cq->depth) {
		cq->head = 0;
		cq->phase ^= 1;
	}
}

AISIO_RING_FN void aisio_nvme_cq_ring_db(struct aisio_nvme_cq *cq)
{
	*cq->db = cq->head;
}

/* ---- Controller side (the device model) -------------------------------- */

/* The controller's view of a completion ring: it produces at tail. */
AISIO_RING_FN uint16_t aisio_nvme_cqe_status_with_phase(uint16_t status_no_phase, uint32_t phase)
{
	return (uint16_t)((status_no_phase & ~1u) | (phase & 1u));
}

/* Doorbell value check: a valid doorbell value is below the queue depth. */
AISIO_RING_FN int aisio_nvme_db_valid(uint32_t value, uint32_t depth)
{
	return value < depth;
}

#endif /* AISIO_NVME_RING_H */
