/* SPDX-License-Identifier: MIT */
/*
 * The controller's side of the rings: fetch a batch of commands at the SQ
 * tail doorbell, execute them, post their completions (CQE body first, the
 * dword with CID, status and phase tag last, release-ordered).
 */
#include <stdlib.h>

#include "emu/priv.h"

/* Rebuild the list of I/O SQs this thread serves after a queue change. */
void emu_worker_rebuild(struct emu_worker *w)
{
	struct aisio_emu_ctrl *c = w->c;

	w->qgen = EMU_LOAD(&c->qgen);
	w->nlist = 0;
	for (uint32_t q = 1; q <= c->nq; q++) {
		struct emu_sq *sq = &c->sqs[q];

		if (EMU_LOAD(&sq->active) && sq->cq->worker == w->idx)
			w->list[w->nlist++] = sq;
	}
}

/*
 * EMU_CQ_DEMOTE=1 (default on x86): each CQ line the model has filled is
 * pushed out of its core's caches to the shared cache (CLDEMOTE; a no-op
 * on cores without it), where a device's completion writes land too
 * (DDIO), so the host reads it there rather than from the model's core.
 */
#ifndef EMU_CQ_DEMOTE
#if defined(__x86_64__) || defined(__i386__)
#define EMU_CQ_DEMOTE 1
#else
#define EMU_CQ_DEMOTE 0
#endif
#endif

/* EMU_SQ_PREFETCH=1: read a batch's SQ lines ahead of executing it (a switch for the driver-cost study). */
#ifndef EMU_SQ_PREFETCH
#define EMU_SQ_PREFETCH 0
#endif

static inline void cq_post(struct emu_cq *cq, const struct aisio_nvme_cqe *e, uint32_t sqhd)
{
	volatile uint32_t *d = (volatile uint32_t *)&cq->ring[cq->tail];
	uint32_t last = e->cid | (uint32_t)aisio_nvme_cqe_status_with_phase(e->status, cq->phase)
					 << 16;

	d[0] = e->dw0;
	d[1] = e->dw1;
	d[2] = sqhd | (uint32_t)e->sqid << 16;
	__atomic_store_n(&d[3], last, __ATOMIC_RELEASE);
#if EMU_CQ_DEMOTE && (defined(__x86_64__) || defined(__i386__))
	if ((((uintptr_t)d + 16) & 63) == 0)
		/* CLDEMOTE [rdi] spelled in bytes: older assemblers lack the mnemonic */
		__asm__ volatile(".byte 0x0f, 0x1c, 0x07" : : "D"(d) : "memory");
#endif
	if (++cq->tail == cq->depth) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
	cq->owed--;
}

static int pend_grow(struct emu_worker *w)
{
	uint32_t cap = w->pend_cap ? w->pend_cap * 2 : 1024;
	struct emu_pending *p = malloc(sizeof(*p) * cap);

	if (!p)
		return -1;
	for (uint32_t i = 0; i < w->pend_n; i++)
		p[i] = w->pend[(w->pend_head + i) % w->pend_cap];
	free(w->pend);
	w->pend = p;
	w->pend_cap = cap;
	w->pend_head = 0;
	return 0;
}

/* Completion time under the latency and rate limits (deadlines never decrease). */
static uint64_t rate_due(struct emu_worker *w, uint64_t now, uint32_t bytes)
{
	const struct aisio_emu_opts *o = &w->c->o;
	uint64_t cost = 0, slot;

	if (o->iops)
		cost = 1000000000ull / o->iops;
	if (o->bw) {
		uint64_t b = (uint64_t)bytes * 1000000000ull / o->bw;
		if (b > cost)
			cost = b;
	}
	slot = w->next_free_ns > now ? w->next_free_ns : now;
	w->next_free_ns = slot + cost;
	slot += cost;
	now += (uint64_t)o->latency_us * 1000;
	return now > slot ? now : slot;
}

/* Post delayed completions whose time has come. Returns 1 if any was posted. */
int emu_pending_post(struct emu_worker *w)
{
	struct aisio_emu_ctrl *c = w->c;
	uint64_t now = emu_now_ns();
	int work = 0;

	if (EMU_LOADR(&c->fatal))
		return 0;
	while (w->pend_n) {
		struct emu_pending *e = &w->pend[w->pend_head];

		if (e->due_ns > now)
			break;
		if (e->ticket) {
			/* its data copies are still running: completions stay in order */
			int d = c->dma.done(c->dma.ctx, e->ticket);

			if (!d)
				break;
			if (d < 0 && !e->cqe.status)
				e->cqe.status = (uint16_t)emu_status(AISIO_NVME_SC_DATA_XFER_ERROR, 1);
		}
		if (EMU_LOADR(&e->sq->gen) == e->gen && EMU_LOADR(&e->sq->active))
			cq_post(e->sq->cq, &e->cqe, e->sq->head);
		else if (EMU_LOADR(&e->cq->gen) == e->cq_gen && EMU_LOADR(&e->cq->active))
			e->cq->owed--; /* its SQ was deleted: the completion is dropped */
		if (++w->pend_head == w->pend_cap)
			w->pend_head = 0;
		w->pend_n--;
		work = 1;
	}
	return work;
}

static uint32_t exec_one(struct emu_worker *w, struct emu_sq *sq, const struct aisio_nvme_sqe *cmd,
			 uint32_t *dw0, uint32_t *bytes, int *drop)
{
	struct aisio_emu_ctrl *c = w->c;
	enum aisio_emu_fault_action act;
	uint32_t st;

	if (__builtin_expect(EMU_LOADR(&c->nfaults) != 0, 0) &&
	    emu_fault_match(c, sq->qid, cmd, &st, &act)) {
		if (act == AISIO_EMU_FAULT_STATUS)
			return st;
		if (act == AISIO_EMU_FAULT_FATAL) {
			aisio_emu_ctrl_fatal(c);
			return EMU_NO_CQE;
		}
		*drop = 1;
	}
	if (sq->qid == 0)
		return emu_admin_exec(w, sq, cmd, dw0);
	return emu_nvm_exec(w, cmd, bytes);
}

/*
 * Fetch and execute up to EMU_BATCH commands of @sq, never more than its CQ
 * has room for, then post their completions. Returns 1 if it did anything.
 */
int emu_sq_process(struct emu_worker *w, struct emu_sq *sq)
{
	struct aisio_emu_ctrl *c = w->c;
	struct emu_cq *cq = sq->cq;
	uint32_t tail = __atomic_load_n(sq->db, __ATOMIC_RELAXED);
	uint32_t n, room, h, k = 0;

	if (tail == sq->head || EMU_LOADR(&c->fatal))
		return 0;
	if (tail >= sq->depth) {
		/* like QEMU: the write is ignored and an error event raised */
		if (tail != sq->bad_db) {
			sq->bad_db = tail;
			EMU_STORE(&c->aer_event, 1);
		}
		return 0;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* SQEs were written before the doorbell */
	n = aisio_ring_used(sq->head, tail, sq->depth);
	h = __atomic_load_n(cq->db, __ATOMIC_RELAXED);
	if (h < cq->depth)
		cq->host_head = h;
	room = aisio_ring_space(cq->host_head, cq->tail, cq->depth);
	room = room > cq->owed ? room - cq->owed : 0;
	if (n > room)
		n = room;
	if (n > EMU_BATCH)
		n = EMU_BATCH;
	if (!n)
		return 0;

	if (EMU_SQ_PREFETCH)
		for (uint32_t i = 0, h = sq->head; i < n; i++, h = aisio_ring_next(h, sq->depth))
			__builtin_prefetch((const void *)&sq->ring[h], 0, 3);
	for (uint32_t i = 0; i < n; i++) {
		struct aisio_nvme_sqe cmd;
		struct aisio_nvme_cqe *e = &w->batch[k];
		uint32_t dw0 = 0, bytes = 0, st;
		int drop = 0;

		memcpy(&cmd, (const void *)&sq->ring[sq->head], sizeof(cmd));
		sq->head = aisio_ring_next(sq->head, sq->depth);
		if (sq->qid)
			w->st.io_cmds++;
		else
			w->st.admin_cmds++;
		st = exec_one(w, sq, &cmd, &dw0, &bytes, &drop);
		if (st == EMU_NO_CQE)
			continue;
		if (st) {
			w->st.errors++;
			emu_error_record(c, sq->qid, &cmd, st);
		}
		if (drop) {
			w->st.dropped++;
			continue;
		}
		e->dw0 = dw0;
		e->dw1 = 0;
		e->sqid = sq->qid;
		e->cid = cmd.cid;
		e->status = (uint16_t)st;
		w->bytes[k] = bytes;
		k++;
	}
	if (!k)
		return 1;
	cq->owed += k;
	/*
	 * I/O queues of a provider that pipelines: start this batch's copies
	 * and post its completions when they have landed (emu_pending_post),
	 * fetching the next batch meanwhile. Otherwise wait for them here.
	 */
	uint64_t ticket = 0;
	int xfer_err = 0;

	if (c->dma.submit && sq->qid)
		xfer_err = c->dma.submit(c->dma.ctx, &ticket) != 0;
	else if (c->dma.flush)
		xfer_err = emu_dma_flush(c) != 0;
	if (xfer_err) {
		/* the copies of this batch did not land: report it on every command */
		for (uint32_t i = 0; i < k; i++)
			if (!w->batch[i].status)
				w->batch[i].status = emu_status(AISIO_NVME_SC_DATA_XFER_ERROR, 1);
		ticket = 0;
	}
	if (EMU_LOADR(&c->fatal))
		return 1;
	if ((!c->rate && !ticket) || sq->qid == 0) {
		for (uint32_t i = 0; i < k; i++)
			cq_post(cq, &w->batch[i], sq->head);
		return 1;
	}
	{
		uint64_t now = emu_now_ns();

		for (uint32_t i = 0; i < k; i++) {
			struct emu_pending *p;

			if (w->pend_n == w->pend_cap && pend_grow(w)) {
				/* no memory to delay: complete now (after the copies) */
				if (ticket && emu_dma_flush(c) && !w->batch[i].status)
					w->batch[i].status = emu_status(AISIO_NVME_SC_DATA_XFER_ERROR, 1);
				ticket = 0;
				cq_post(cq, &w->batch[i], sq->head);
				continue;
			}
			p = &w->pend[(w->pend_head + w->pend_n) % w->pend_cap];
			p->due_ns = c->rate ? rate_due(w, now, w->bytes[i]) : 0;
			p->ticket = ticket;
			p->sq = sq;
			p->gen = sq->gen;
			p->cq = cq;
			p->cq_gen = cq->gen;
			p->cqe = w->batch[i];
			w->pend_n++;
		}
	}
	return 1;
}

void emu_cq_post(struct emu_cq *cq, const struct aisio_nvme_cqe *e, uint32_t sqhd)
{
	cq_post(cq, e, sqhd);
}
