/* SPDX-License-Identifier: MIT */
/*
 * Device-initiated NVMe I/O from CUDA threads.
 *
 * A queue pair (struct aisio_cuda_qp) lives in GPU memory; its SQ and CQ
 * rings live wherever both the GPU and the controller can reach them (GPU
 * memory, or host-pinned GPU-mapped memory), and its doorbells are the
 * controller's BAR0 mapped into the GPU. The host creates it (src/gpu/);
 * kernels use the functions below, built on the same ring header as the
 * host driver.
 *
 * Model: every GPU thread owns a fixed set of command IDs (CIDs); at most
 * one command per CID is in flight, and a queue has at most depth - 1 CIDs,
 * so a queue can never overflow and SQ slots need no separate credit.
 *
 *  - Submission is per thread and collective over the lanes of a warp that
 *    are converged at the call and use the same queue: one atomic reserves
 *    contiguous SQ slots for the warp, the SQEs are written with 16-byte
 *    stores that the warp coalesces into contiguous lines, and one doorbell
 *    write covers the warp (aisio_cuda_submit) or the whole block
 *    (aisio_cuda_submit_block). Doorbells are written in ticket order, so
 *    many warps can share one queue.
 *  - Completion is matched by CID, not by CQ slot: whichever warp holds the
 *    queue's reap lock reads new CQEs (a warp-wide coalesced read) and files
 *    each one under its CID; each thread then reads its own command's
 *    status. A thread resubmits as soon as its own command has completed:
 *    there are no lock-step rounds.
 *  - Timeouts are counted in GPU time (%globaltimer, nanoseconds).
 *  - Depth is limited only by CAP.MQES (up to 65536 entries per ring).
 *
 * Minimal use (one command per thread; cid unique in the queue):
 *
 *   struct aisio_nvme_sqe c;
 *   aisio_nvme_cmd_read(&c, nsid, lba, nlb);
 *   aisio_cuda_cmd_prp(&c, prp1, prp2);
 *   c.cid = cid;
 *   aisio_cuda_submit(q, &c, 1);
 *   int st = aisio_cuda_wait(q, cid, 1000000000ull); // 1 s
 *
 * The structures are plain C so the host can fill them; the functions
 * exist only in CUDA device code.
 */
#ifndef AISIO_CUDA_H
#define AISIO_CUDA_H

#include <stdint.h>

#include "nvme_ring.h"
#include "nvme_spec.h"

/* Negative returns of the device functions (errno values). */
#define AISIO_CUDA_ETIMEDOUT (-110)
#define AISIO_CUDA_EINVAL (-22)

/* Largest ring the API handles (CAP.MQES is 16 bits, 0's based). */
#define AISIO_CUDA_MAX_DEPTH 65536u

/* One command's completion, filed under its CID by the reaping warp. */
struct aisio_cuda_cpl {
	uint32_t done;   /* 1 once completed; cleared when the CID is submitted */
	uint32_t result; /* CQE dword 0 */
	uint32_t status; /* SCT << 8 | SC; 0 = success */
	uint32_t sqhd;   /* SQ head the controller reported with it */
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_cuda_cpl) == 16, "completion slot is 16 bytes");

/*
 * A queue pair as the GPU sees it: the NVMe rings of nvme_ring.h (the same
 * struct aisio_nvme_sq / aisio_nvme_cq, ring arithmetic and doorbell
 * functions as the host driver and the device model) plus what only the
 * GPU needs: per-CID completion slots, tickets that let many warps share
 * one ring, and the reap lock. The first 64 bytes are set by the host and
 * read-only on the GPU; the rest is state the GPU updates, kept on separate
 * 128-byte lines so submitters and reapers do not contend.
 */
struct aisio_cuda_qp {
	struct aisio_cuda_cpl *cpl; /* ncid completion slots (GPU memory) */
	uint32_t ncid;              /* CIDs 0..ncid-1 may be used; ncid < ring depth */
	uint16_t qid;
	uint16_t flags;
	uint64_t rsvd1[6];

	/*
	 * Submission: tickets taken, tickets covered by a doorbell write, and
	 * the SQ (entries and doorbell at GPU addresses). Ticket t fills slot
	 * aisio_ring_pos(t); the warp whose turn it is (sq_pub == its first
	 * ticket) moves sq.tail and writes the doorbell with aisio_nvme_sq_ring_db().
	 * sq.head is not tracked: CIDs bound what is in flight.
	 */
	uint64_t sq_ticket;
	uint64_t sq_pub;
	struct aisio_nvme_sq sq;
	uint8_t rsvd2[128 - 16 - sizeof(struct aisio_nvme_sq)];

	/*
	 * Completion: reap lock, CQEs consumed so far (a running count), and
	 * the CQ, whose head and phase follow cq_count (aisio_ring_pos) and
	 * whose doorbell is written with aisio_nvme_cq_ring_db().
	 */
	uint32_t cq_lock;
	uint32_t rsvd3;
	uint64_t cq_count;
	struct aisio_nvme_cq cq;
	uint8_t rsvd4[128 - 16 - sizeof(struct aisio_nvme_cq)];

	/* Statistics (relaxed counters; read by the host after the kernel). */
	uint64_t n_sq_db;    /* SQ doorbell writes */
	uint64_t n_cq_db;    /* CQ doorbell writes */
	uint64_t n_reaps;    /* reap passes that found the lock free */
	uint64_t n_empty;    /* of which found no new CQE */
	uint64_t n_bad_cid;  /* CQEs whose CID was out of range (dropped) */
	uint64_t rsvd5[11];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_cuda_qp) == 448, "aisio_cuda_qp layout");
AISIO_STATIC_ASSERT(offsetof(struct aisio_cuda_qp, sq_ticket) == 64, "submission state offset");
AISIO_STATIC_ASSERT(offsetof(struct aisio_cuda_qp, cq_lock) == 192, "completion state offset");
AISIO_STATIC_ASSERT(offsetof(struct aisio_cuda_qp, n_sq_db) == 320, "statistics offset");

#if defined(__CUDACC__)

#define AISIO_CUDA_FN static __device__ __forceinline__

AISIO_CUDA_FN unsigned aisio_cuda_lane(void)
{
	unsigned l;
	asm volatile("mov.u32 %0, %%laneid;" : "=r"(l));
	return l;
}

/* GPU time in nanoseconds (the global timer; same clock on every SM). */
AISIO_CUDA_FN uint64_t aisio_cuda_time_ns(void)
{
	uint64_t t;
	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
	return t;
}

/* Set a PRP data pointer (PSDT 0). */
AISIO_CUDA_FN void aisio_cuda_cmd_prp(struct aisio_nvme_sqe *c, uint64_t prp1, uint64_t prp2)
{
	c->flags = (uint8_t)(c->flags & ~AISIO_NVME_PSDT_MASK);
	c->dptr.prp.prp1 = prp1;
	c->dptr.prp.prp2 = prp2;
}

AISIO_CUDA_FN uint64_t aisio_cuda_ld_acquire_u64(const uint64_t *p)
{
	uint64_t v;
	asm volatile("ld.acquire.gpu.global.u64 %0, [%1];" : "=l"(v) : "l"(p) : "memory");
	return v;
}

AISIO_CUDA_FN void aisio_cuda_st_release_u64(uint64_t *p, uint64_t v)
{
	asm volatile("st.release.gpu.global.u64 [%0], %1;" ::"l"(p), "l"(v) : "memory");
}

AISIO_CUDA_FN uint32_t aisio_cuda_ld_acquire_u32(const uint32_t *p)
{
	uint32_t v;
	asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
	return v;
}

AISIO_CUDA_FN void aisio_cuda_st_release_u32(uint32_t *p, uint32_t v)
{
	asm volatile("st.release.gpu.global.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}

/* A 16-byte load that always goes to memory (CQEs change behind the GPU's back). */
AISIO_CUDA_FN uint4 aisio_cuda_ld_sys_v4(const volatile void *p)
{
	uint4 v;
	asm volatile("ld.volatile.global.v4.u32 {%0,%1,%2,%3}, [%4];"
		     : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
		     : "l"(p)
		     : "memory");
	return v;
}

AISIO_CUDA_FN void aisio_cuda_st_v4(void *p, uint4 v)
{
	asm volatile("st.global.v4.u32 [%0], {%1,%2,%3,%4};" ::"l"(p), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w)
		     : "memory");
}

/*
 * The lanes that cooperate on @q: those converged here that use the same
 * queue (a warp may serve several queues with fewer than 32 threads each).
 */
AISIO_CUDA_FN unsigned aisio_cuda_group(const struct aisio_cuda_qp *q)
{
	return __match_any_sync(__activemask(), (unsigned long long)(uintptr_t)q);
}

/* The n-th (0-based) set bit of @mask. */
AISIO_CUDA_FN unsigned aisio_cuda_nth_bit(unsigned mask, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		mask &= mask - 1;
	return (unsigned)__ffs(mask) - 1;
}

/*
 * Write the SQEs of the lanes in @mask (a subset of @active, all converged)
 * to SQ slots base, base+1, ... in lane order. Each store instruction of the
 * warp covers 16-byte pieces of consecutive SQEs, so a full warp writes
 * 512 contiguous bytes per instruction.
 */
AISIO_CUDA_FN void aisio_cuda_sq_write(struct aisio_cuda_qp *q, uint64_t base, const struct aisio_nvme_sqe *cmd,
				       unsigned mask, unsigned active)
{
	const unsigned lane = aisio_cuda_lane();
	const unsigned n = (unsigned)__popc(mask);
	const unsigned nact = (unsigned)__popc(active);
	const unsigned pos = (unsigned)__popc(active & ((1u << lane) - 1));
	const uint32_t *src = (const uint32_t *)cmd; /* an SQE is only 8-byte aligned */
	uint4 part[4];
	const uint32_t depth = q->sq.depth;

	for (int k = 0; k < 4; k++)
		part[k] = make_uint4(src[4 * k], src[4 * k + 1], src[4 * k + 2], src[4 * k + 3]);
	for (unsigned first = 0; first < 4 * n; first += nact) {
		const unsigned c = first + pos; /* 16-byte piece this lane stores */
		const unsigned rank = c / 4;
		const unsigned piece = c % 4;
		const unsigned srcl = mask == 0xffffffffu ? (rank & 31) : aisio_cuda_nth_bit(mask, rank < n ? rank : 0);
		uint4 v = make_uint4(0, 0, 0, 0);
		for (int k = 0; k < 4; k++) {
			uint4 t;
			t.x = __shfl_sync(active, part[k].x, srcl);
			t.y = __shfl_sync(active, part[k].y, srcl);
			t.z = __shfl_sync(active, part[k].z, srcl);
			t.w = __shfl_sync(active, part[k].w, srcl);
			if ((unsigned)k == piece)
				v = t;
		}
		if (c < 4 * n) {
			const uint32_t slot = aisio_ring_pos(base + rank, depth, NULL);
			aisio_cuda_st_v4((uint8_t *)&q->sq.entries[slot] + 16 * piece, v);
		}
	}
}

/*
 * Wait for every earlier ticket to be published, then (the ring is ours
 * until we publish) move the SQ tail past ticket @end - 1, ring the
 * doorbell and publish.
 */
AISIO_CUDA_FN void aisio_cuda_sq_publish(struct aisio_cuda_qp *q, uint64_t base, uint64_t end)
{
	/* Back off a little: the turn may belong to a diverged lane of this very warp. */
	for (unsigned spin = 0; aisio_cuda_ld_acquire_u64(&q->sq_pub) != base; spin++)
		if (spin > 64)
			__nanosleep(32);
	q->sq.tail = aisio_ring_pos(end, q->sq.depth, NULL);
	aisio_nvme_sq_ring_db(&q->sq);
	__threadfence_system(); /* the doorbell is seen before a later warp's */
	aisio_cuda_st_release_u64(&q->sq_pub, end);
	atomicAdd((unsigned long long *)&q->n_sq_db, 1ull);
}

/* Clear this lane's completion slot before its command can complete. */
AISIO_CUDA_FN int aisio_cuda_cpl_arm(struct aisio_cuda_qp *q, const struct aisio_nvme_sqe *cmd)
{
	if (cmd->cid >= q->ncid)
		return AISIO_CUDA_EINVAL;
	q->cpl[cmd->cid].done = 0;
	return 0;
}

/*
 * aisio_cuda_submit - submit this lane's @cmd when @want is nonzero.
 * Doorbells aggregate best when the warp is converged at the call
 * (__syncwarp() before it in divergent code).
 * Collective over the converged lanes of the warp that pass the same @q
 * (every such lane calls it, with or without a command); one ticket atomic and one doorbell
 * write for all of them. @cmd->cid must be one of this thread's CIDs
 * (below q->ncid) with no command in flight.
 * Returns 0 when this lane's command was submitted (or it had none),
 * AISIO_CUDA_EINVAL when its CID was out of range (not submitted).
 */
AISIO_CUDA_FN int aisio_cuda_submit(struct aisio_cuda_qp *q, const struct aisio_nvme_sqe *cmd, int want)
{
	const unsigned active = aisio_cuda_group(q);
	const unsigned lane = aisio_cuda_lane();
	const unsigned leader = (unsigned)__ffs(active) - 1;
	int err = 0;

	if (want)
		err = aisio_cuda_cpl_arm(q, cmd);
	const unsigned mask = __ballot_sync(active, want && !err);
	if (!mask)
		return err;
	const unsigned n = (unsigned)__popc(mask);
	unsigned long long base = 0;
	if (lane == leader)
		base = atomicAdd((unsigned long long *)&q->sq_ticket, (unsigned long long)n);
	base = __shfl_sync(active, base, leader);
	aisio_cuda_sq_write(q, base, cmd, mask, active);
	__threadfence_system(); /* SQEs (and cleared slots) before the doorbell */
	__syncwarp(active);
	if (lane == leader)
		aisio_cuda_sq_publish(q, base, base + n);
	__syncwarp(active);
	return err;
}

/* Shared-memory scratch for aisio_cuda_submit_block (one per block). */
struct aisio_cuda_block_scratch {
	unsigned count[32]; /* commands per warp */
	unsigned total;
	unsigned long long base;
};

/*
 * aisio_cuda_submit_block - like aisio_cuda_submit, but collective over the
 * whole block (every thread calls it, as for __syncthreads) with one ticket
 * atomic and one doorbell write for the block. @s is __shared__ scratch.
 */
AISIO_CUDA_FN int aisio_cuda_submit_block(struct aisio_cuda_qp *q, const struct aisio_nvme_sqe *cmd, int want,
					  struct aisio_cuda_block_scratch *s)
{
	const unsigned lane = aisio_cuda_lane();
	const unsigned tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
	const unsigned warp = tid / 32;
	const unsigned nwarps = (blockDim.x * blockDim.y * blockDim.z + 31) / 32;
	const unsigned active = __activemask();
	int err = 0;

	if (want)
		err = aisio_cuda_cpl_arm(q, cmd);
	const unsigned mask = __ballot_sync(active, want && !err);
	if (lane == (unsigned)__ffs(active) - 1)
		s->count[warp] = (unsigned)__popc(mask);
	__syncthreads();
	if (tid == 0) {
		unsigned total = 0;
		for (unsigned w = 0; w < nwarps; w++)
			total += s->count[w];
		s->total = total;
		s->base = total ? atomicAdd((unsigned long long *)&q->sq_ticket, (unsigned long long)total) : 0;
	}
	__syncthreads();
	unsigned long long base = s->base;
	for (unsigned w = 0; w < warp; w++)
		base += s->count[w];
	if (mask)
		aisio_cuda_sq_write(q, base, cmd, mask, active);
	__threadfence_system();
	__syncthreads();
	if (tid == 0 && s->total)
		aisio_cuda_sq_publish(q, s->base, s->base + s->total);
	__syncthreads();
	return err;
}

/*
 * aisio_cuda_reap - take the reap lock if it is free, file every new CQE
 * under its CID and write the CQ head doorbell once. Collective over the
 * converged lanes of the warp. Returns the number of CQEs reaped (0 also
 * when another warp holds the lock).
 */
AISIO_CUDA_FN unsigned aisio_cuda_reap(struct aisio_cuda_qp *q)
{
	const unsigned active = aisio_cuda_group(q);
	const unsigned lane = aisio_cuda_lane();
	const unsigned leader = (unsigned)__ffs(active) - 1;
	const unsigned nact = (unsigned)__popc(active);
	const unsigned pos = (unsigned)__popc(active & ((1u << lane) - 1));
	const uint32_t depth = q->cq.depth;
	int got = 0;

	if (lane == leader)
		got = atomicCAS(&q->cq_lock, 0u, 1u) == 0u;
	got = __shfl_sync(active, got, leader);
	if (!got)
		return 0;
	__threadfence();
	uint64_t head = *(volatile uint64_t *)&q->cq_count;
	unsigned total = 0;
	for (;;) {
		uint32_t phase;
		const uint32_t slot = aisio_ring_pos(head + pos, depth, &phase);
		const uint4 e = aisio_cuda_ld_sys_v4(&q->cq.entries[slot]);
		const uint32_t st = e.w >> 16;   /* status with phase */
		const uint32_t cid = e.w & 0xffff;
		const int valid = (st & 1u) == phase;
		const unsigned vm = __ballot_sync(active, valid);
		const unsigned inv = active & ~vm;
		/* only a run of new entries from the head counts */
		const unsigned n = inv ? (unsigned)__popc(active & ((1u << (__ffs(inv) - 1)) - 1)) : nact;
		if (pos < n) {
			if (cid < q->ncid) {
				struct aisio_cuda_cpl *c = &q->cpl[cid];
				c->result = e.x;
				c->status = aisio_nvme_cqe_code((uint16_t)st);
				c->sqhd = e.z & 0xffff;
				__threadfence();
				*(volatile uint32_t *)&c->done = 1;
			} else {
				atomicAdd((unsigned long long *)&q->n_bad_cid, 1ull);
			}
		}
		head += n;
		total += n;
		if (n < nact || total >= depth)
			break;
	}
	if (lane == leader) {
		if (total) {
			q->cq.head = aisio_ring_pos(head, depth, &q->cq.phase);
			aisio_nvme_cq_ring_db(&q->cq);
			atomicAdd((unsigned long long *)&q->n_cq_db, 1ull);
		} else {
			atomicAdd((unsigned long long *)&q->n_empty, 1ull);
		}
		atomicAdd((unsigned long long *)&q->n_reaps, 1ull);
		*(volatile uint64_t *)&q->cq_count = head;
		__threadfence();
		atomicExch(&q->cq_lock, 0u);
	}
	__syncwarp(active);
	return total;
}

/*
 * aisio_cuda_poll - reap (collective, as aisio_cuda_reap) and report whether
 * this lane's command @cid has completed. @cid < 0: this lane only helps.
 * Returns 1 and fills @out when completed, else 0.
 */
AISIO_CUDA_FN int aisio_cuda_poll(struct aisio_cuda_qp *q, int cid, struct aisio_cuda_cpl *out)
{
	aisio_cuda_reap(q);
	if (cid < 0 || (uint32_t)cid >= q->ncid)
		return 0;
	const struct aisio_cuda_cpl *c = &q->cpl[cid];
	if (!aisio_cuda_ld_acquire_u32(&c->done))
		return 0;
	out->done = 1;
	out->result = c->result;
	out->status = c->status;
	out->sqhd = c->sqhd;
	return 1;
}

/*
 * aisio_cuda_wait - wait for this thread's command @cid. Returns its status
 * (0 or SCT << 8 | SC, positive), AISIO_CUDA_ETIMEDOUT after @timeout_ns of
 * GPU time, AISIO_CUDA_EINVAL for a CID out of range. Lanes may call it
 * diverged; converged lanes share the reaping.
 */
AISIO_CUDA_FN int aisio_cuda_wait(struct aisio_cuda_qp *q, uint16_t cid, uint64_t timeout_ns)
{
	const uint64_t deadline = aisio_cuda_time_ns() + timeout_ns;
	struct aisio_cuda_cpl c;

	if (cid >= q->ncid)
		return AISIO_CUDA_EINVAL;
	for (;;) {
		if (aisio_cuda_poll(q, cid, &c))
			return (int)c.status;
		if (aisio_cuda_time_ns() > deadline)
			return AISIO_CUDA_ETIMEDOUT;
		__nanosleep(200);
	}
}

#endif /* __CUDACC__ */

#endif /* AISIO_CUDA_H */
