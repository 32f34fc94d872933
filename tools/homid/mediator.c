/* SPDX-License-Identifier: MIT */
/*
 * Mediated queues. The client writes commands into its own SQ ring (the
 * same layout as hardware) and rings a doorbell in a shadow page homid
 * shares with it. The mediator thread fetches each command, checks it
 * against the client's grant (opcode, NSID, LBA range, data pointers inside
 * the client's registered memory, length within MDTS), and forwards it to a
 * hardware queue pair that homid owns, with the CID replaced by a slot of
 * its own and any PRP list copied into homid's memory (the client cannot
 * change it after the check). Completions go back to the client's CQ ring
 * with the client's CID. A command that breaks the policy completes with an
 * NVMe error status and never reaches the device.
 *
 * On a remote controller (nvme+tcp://) the hardware queue pair is one of
 * homid's Fabrics I/O queues, a TCP connection: a checked command's PRPs are
 * resolved to homid's mapping of the client's memory, and the data moves
 * between the socket and that memory (straight into it when the pages are
 * contiguous there, else through a bounce buffer of the slot's).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aisio/nvme_ring.h>

#include "homid.h"
#include "tcp/tcp.h"
#include "util/err.h"

struct med_slot {
	uint16_t client_cid;
	uint8_t busy;
	/* nvme+tcp: a read through the bounce buffer is copied to the client's pages on completion */
	uint8_t bounce_read;
	uint32_t len;
	uint64_t prp1, prp2; /* the checked PRPs (PRP2: homid's copy of a list) */
};

/* nvme+tcp: a command the TCP queue completed, waiting for room in the client's CQ */
struct med_tcp_done {
	uint16_t slot;
	uint16_t status; /* CQE status field, no phase */
	uint32_t dw0;
};

struct homid_med {
	struct homid_client *cl;
	struct homid_ctrl *hc;
	uint16_t qid;
	uint32_t depth;
	/* client side: rings in its registered memory, doorbells in its shadow page */
	struct aisio_nvme_sqe *csq;
	volatile struct aisio_nvme_cqe *ccq;
	volatile uint32_t *csq_db; /* tail, written by the client */
	volatile uint32_t *ccq_db; /* head, written by the client */
	uint32_t csq_head;
	uint32_t ccq_head; /* the client's CQ head as last read from its doorbell */
	uint32_t ccq_tail;
	uint32_t ccq_phase;
	/* hardware side: homid's rings */
	struct aisio_nvme_sq hsq;
	struct aisio_nvme_cq hcq;
	void *hsq_mem, *hcq_mem;
	uint8_t *lists; /* list_pages PRP list pages per slot */
	uint64_t lists_bus;
	uint32_t list_pages;
	uint64_t list_cap; /* PRP entries those pages hold, chained */
	struct med_slot *slots;
	uint16_t *free_slots;
	uint32_t nfree;
	uint32_t page_shift;
	uint32_t max_xfer;
	/* nvme+tcp: homid's Fabrics I/O queue instead of hardware rings */
	struct aisio_tcp_queue *tq;
	struct med_tcp_done *tdone; /* a ring of depth entries */
	uint32_t tdone_head, ntdone;
	uint8_t **bounce; /* per slot, max_xfer bytes, allocated when first needed */
	int always_bounce; /* HOMID_TCP_BOUNCE=1: every transfer through it (tests) */
	struct homid_med *next;
};

struct homid_mediator {
	pthread_t th;
	pthread_mutex_t lock;
	struct homid_med *queues;
	int stop;
	int started;
};

/* ---- checks ------------------------------------------------------------------ */

/* homid's mapping of client bus range [bus, bus + len), or NULL when not all of it is the client's. */
static uint8_t *client_va(struct homid_client *cl, uint64_t bus, uint64_t len)
{
	for (struct homid_mem *m = __atomic_load_n(&cl->mems, __ATOMIC_ACQUIRE); m; m = m->next)
		if (bus >= m->bus && len <= m->len && bus - m->bus <= m->len - len)
			return m->va + (bus - m->bus);
	return NULL;
}

static uint16_t refuse(uint32_t code)
{
	return aisio_nvme_status_field(code, 1);
}

/*
 * Check the PRPs of a @len-byte transfer; a PRP list is copied to @list
 * (homid's page for the slot) and PRP2 pointed at it. Returns 0 or a status.
 */
static uint16_t check_prps(struct homid_med *mq, struct aisio_nvme_sqe *cmd, uint64_t len,
			   uint8_t *list, uint64_t list_bus)
{
	struct homid_client *cl = mq->cl;
	uint64_t page = (uint64_t)1 << mq->page_shift, pmask = page - 1;
	uint64_t prp1 = cmd->dptr.prp.prp1, prp2 = cmd->dptr.prp.prp2;
	uint64_t first = page - (prp1 & pmask), rest, npages;
	const uint64_t *src;

	if (prp1 & 3)
		return refuse(AISIO_NVME_SC_PRP_INVALID_OFFSET);
	if (first > len)
		first = len;
	if (!client_va(cl, prp1, first))
		return refuse(AISIO_NVME_SC_DATA_XFER_ERROR);
	rest = len - first;
	if (!rest)
		return 0;
	if (rest <= page) {
		if (prp2 & pmask)
			return refuse(AISIO_NVME_SC_PRP_INVALID_OFFSET);
		if (!client_va(cl, prp2, rest))
			return refuse(AISIO_NVME_SC_DATA_XFER_ERROR);
		return 0;
	}
	/*
	 * A PRP list, chained when it does not fit the rest of its page: every
	 * entry is copied into homid's pages for the slot (chained the same
	 * way) and checked there, and PRP2 pointed at the copy, so the client
	 * cannot change an entry or a chain pointer after the check.
	 */
	npages = (rest + pmask) >> mq->page_shift;
	if (npages > mq->list_cap)
		return refuse(AISIO_NVME_SC_INVALID_FIELD);
	{
		uint64_t per = page / 8, done = 0, cur = prp2, k = 0;
		uint64_t *out = (uint64_t *)list, out_bus = list_bus;

		while (done < npages) {
			uint64_t avail = (page - (cur & pmask)) / 8, left = npages - done;
			uint64_t take = left <= avail ? left : avail - 1;

			if ((cur & 7) || !take)
				return refuse(AISIO_NVME_SC_PRP_INVALID_OFFSET);
			src = (const uint64_t *)client_va(cl, cur, (take + (left > avail)) * 8);
			if (!src)
				return refuse(AISIO_NVME_SC_DATA_XFER_ERROR);
			for (uint64_t i = 0; i < take; i++, done++) {
				uint64_t e, elen = done + 1 == npages ? rest - done * page : page;

				if (k == per - 1 && npages - done > 1) {
					/* homid's page is full: chain to its next one */
					out[k] = out_bus + page;
					out = (uint64_t *)((uint8_t *)out + page);
					out_bus += page;
					k = 0;
				}
				memcpy(&out[k], &src[i], 8);
				e = out[k++];
				if (e & pmask)
					return refuse(AISIO_NVME_SC_PRP_INVALID_OFFSET);
				if (!client_va(cl, e, elen))
					return refuse(AISIO_NVME_SC_DATA_XFER_ERROR);
			}
			if (done < npages)
				memcpy(&cur, &src[take], 8);
		}
	}
	cmd->dptr.prp.prp2 = list_bus;
	return 0;
}

/*
 * Dataset Management: its range list (NR + 1 ranges of 16 bytes, in the
 * client's memory) is copied to homid's page for the slot and every range
 * checked against the grant [@gfirst, @gend); the device reads the copy,
 * so the client cannot change a range after the check.
 */
static uint16_t check_dsm(struct homid_med *mq, struct aisio_nvme_sqe *cmd, uint64_t gfirst,
			  uint64_t gend, uint8_t *list, uint64_t list_bus)
{
	uint64_t len = ((uint64_t)(cmd->cdw10 & 0xff) + 1) * sizeof(struct aisio_nvme_dsm_range);
	uint64_t page = (uint64_t)1 << mq->page_shift, prp1 = cmd->dptr.prp.prp1;
	uint64_t first = page - (prp1 & (page - 1));
	const uint8_t *a, *b = NULL;
	uint16_t st;

	if (len > page)
		return refuse(AISIO_NVME_SC_INVALID_FIELD);
	st = check_prps(mq, cmd, len, NULL, 0); /* at most two pages: PRP1 and PRP2, no list */
	if (st)
		return st;
	if (first > len)
		first = len;
	a = client_va(mq->cl, prp1, first);
	if (len > first)
		b = client_va(mq->cl, cmd->dptr.prp.prp2, len - first);
	if (!a || (len > first && !b))
		return refuse(AISIO_NVME_SC_DATA_XFER_ERROR);
	memcpy(list, a, first);
	if (len > first)
		memcpy(list + first, b, len - first);
	for (uint64_t off = 0; off < len; off += sizeof(struct aisio_nvme_dsm_range)) {
		struct aisio_nvme_dsm_range r;

		memcpy(&r, list + off, sizeof(r));
		if (r.nlb && (r.slba < gfirst || r.slba >= gend || r.nlb > gend - r.slba))
			return refuse(AISIO_NVME_SC_LBA_RANGE);
	}
	cmd->dptr.prp.prp1 = list_bus;
	cmd->dptr.prp.prp2 = 0;
	return 0;
}

/* 0 when @cmd may go to the device (possibly rewritten), else the status to complete it with. */
static uint16_t med_check(struct homid_med *mq, struct aisio_nvme_sqe *cmd, uint8_t *list,
			  uint64_t list_bus)
{
	struct homid_client *cl = mq->cl;
	const struct homid_grant *g = &cl->grant;
	const struct homid_ns *ns = cl->ns;
	uint64_t slba, nlb, gfirst, gend;
	uint32_t need;
	int data = 0;

	switch (cmd->opc) {
	case AISIO_NVME_NVM_READ:
	case AISIO_NVME_NVM_COMPARE:
		need = HOMID_OP_READ;
		data = 1;
		break;
	case AISIO_NVME_NVM_WRITE:
		need = HOMID_OP_WRITE;
		data = 1;
		break;
	case AISIO_NVME_NVM_WRITE_ZEROES:
	case AISIO_NVME_NVM_DSM:
		need = HOMID_OP_WRITE;
		break;
	case AISIO_NVME_NVM_FLUSH:
		need = HOMID_OP_FLUSH;
		break;
	default:
		return refuse(AISIO_NVME_SC_INVALID_OPCODE);
	}
	if ((need & HOMID_OP_WRITE) && !g->writable)
		return refuse(AISIO_NVME_SC_NS_WRITE_PROTECTED);
	if (!(g->ops & need))
		return refuse(AISIO_NVME_SC_INVALID_OPCODE);
	if (cmd->flags) /* fused operations and SGLs are not mediated */
		return refuse(AISIO_NVME_SC_INVALID_FIELD);
	if (cmd->nsid != ns->nsid)
		return refuse(AISIO_NVME_SC_INVALID_NS);
	if (cmd->opc == AISIO_NVME_NVM_FLUSH)
		return 0;
	gfirst = g->lba_first;
	gend = g->lba_count && g->lba_count < ns->nlbas - gfirst ? gfirst + g->lba_count : ns->nlbas;
	if (cmd->opc == AISIO_NVME_NVM_DSM)
		return check_dsm(mq, cmd, gfirst, gend, list, list_bus);
	slba = (uint64_t)cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	nlb = (uint64_t)(cmd->cdw12 & 0xffff) + 1;
	if (slba < gfirst || slba >= gend || nlb > gend - slba)
		return refuse(AISIO_NVME_SC_LBA_RANGE);
	if (!data)
		return 0;
	if ((nlb << ns->lba_shift) > mq->max_xfer)
		return refuse(AISIO_NVME_SC_INVALID_FIELD);
	return check_prps(mq, cmd, nlb << ns->lba_shift, list, list_bus);
}

/* ---- the rings ---------------------------------------------------------------- */

/*
 * Room for one more CQE in the client's CQ (its head doorbell tells what it
 * consumed). The doorbell is a line the client writes from another core:
 * it is read again only when the head last read says the ring is full.
 */
static int ccq_room(struct homid_med *mq)
{
	uint32_t next = aisio_ring_next(mq->ccq_tail, mq->depth), head;

	if (next != mq->ccq_head)
		return 1;
	head = __atomic_load_n(mq->ccq_db, __ATOMIC_ACQUIRE);
	if (head >= mq->depth)
		head = 0; /* a bad head value: treat the ring as empty rather than stall */
	mq->ccq_head = head;
	return next != head;
}

static void ccq_post(struct homid_med *mq, uint16_t cid, uint32_t dw0, uint16_t status)
{
	volatile struct aisio_nvme_cqe *e = &mq->ccq[mq->ccq_tail];
	uint32_t w3;

	e->dw0 = dw0;
	e->dw1 = 0;
	e->sqhd = (uint16_t)mq->csq_head;
	e->sqid = mq->qid;
	w3 = (uint32_t)cid | (uint32_t)aisio_nvme_cqe_status_with_phase(status, mq->ccq_phase) << 16;
	/* CID and status with the phase tag last, so the client never sees half an entry */
	__atomic_store_n((volatile uint32_t *)e + 3, w3, __ATOMIC_RELEASE);
	mq->ccq_tail = aisio_ring_next(mq->ccq_tail, mq->depth);
	if (!mq->ccq_tail)
		mq->ccq_phase ^= 1;
}

/* Completions from the device back to the client (out of line: a profiler sees it apart). */
__attribute__((noinline)) static int med_reap(struct homid_med *mq)
{
	volatile struct aisio_nvme_cqe *e;
	int n = 0;

	while (ccq_room(mq) && (e = aisio_nvme_cq_peek(&mq->hcq))) {
		struct aisio_nvme_cqe c;
		uint16_t slot;

		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		aisio_nvme_cqe_read(&c, e);
		aisio_nvme_cq_advance(&mq->hcq);
		slot = c.cid;
		n++;
		if (slot >= mq->depth || !mq->slots[slot].busy)
			continue;
		ccq_post(mq, mq->slots[slot].client_cid, c.dw0, c.status & ~1u);
		mq->slots[slot].busy = 0;
		mq->free_slots[mq->nfree++] = slot;
	}
	if (n)
		aisio_nvme_cq_ring_db(&mq->hcq);
	return n;
}

static uint16_t med_tcp_forward(struct homid_med *mq, uint16_t slot,
				const struct aisio_nvme_sqe *cmd);

/* Commands from the client, checked, to the device (out of line, as med_reap). */
__attribute__((noinline)) static int med_fetch(struct homid_med *mq)
{
	uint32_t tail = __atomic_load_n(mq->csq_db, __ATOMIC_ACQUIRE);
	uint64_t page = (uint64_t)1 << mq->page_shift;
	int n = 0, fwd = 0, refused = 0;

	if (tail >= mq->depth)
		return 0; /* invalid doorbell value: ignored, as a controller would */
	while (mq->csq_head != tail && mq->nfree) {
		struct aisio_nvme_sqe cmd;
		uint16_t slot = mq->free_slots[mq->nfree - 1], st;

		/* one copy of the entry: the checks and the forward see the same bytes */
		memcpy(&cmd, &mq->csq[mq->csq_head], sizeof(cmd));
		st = med_check(mq, &cmd, mq->lists + (size_t)slot * mq->list_pages * page,
			       mq->lists_bus + (uint64_t)slot * mq->list_pages * page);
		if (!st && mq->tq)
			st = med_tcp_forward(mq, slot, &cmd);
		if (st && !ccq_room(mq))
			break; /* the client's CQ is full: answer when it makes room */
		if (st) {
			mq->csq_head = aisio_ring_next(mq->csq_head, mq->depth);
			ccq_post(mq, cmd.cid, 0, st);
			refused++;
			n++;
			continue;
		}
		mq->csq_head = aisio_ring_next(mq->csq_head, mq->depth);
		mq->nfree--;
		mq->slots[slot].busy = 1;
		mq->slots[slot].client_cid = cmd.cid;
		n++;
		fwd++;
		if (mq->tq)
			continue;
		cmd.cid = slot;
		*aisio_nvme_sq_slot(&mq->hsq) = cmd;
		aisio_nvme_sq_advance(&mq->hsq);
	}
	if (fwd && mq->tq) {
		aisio_tcp_queue_submit(mq->tq);
	} else if (fwd) {
		__atomic_thread_fence(__ATOMIC_RELEASE);
		aisio_nvme_sq_ring_db(&mq->hsq);
	}
	/* the counters STATUS shows, once per batch */
	if (n)
		__atomic_add_fetch(&mq->cl->cmds, (uint64_t)n, __ATOMIC_RELAXED);
	if (refused)
		__atomic_add_fetch(&mq->cl->med_errors, (uint64_t)refused, __ATOMIC_RELAXED);
	return n;
}

/* ---- nvme+tcp: forwarding to homid's TCP queue ------------------------------ */

typedef void (*prp_fn)(void *arg, uint8_t *va, uint64_t n);

/*
 * Each piece of a checked PRP transfer of @len bytes, in homid's mapping of
 * the client's memory, in order. A PRP list is homid's checked copy (its
 * address is homid's: see med_tcp_alloc()).
 */
static void prp_walk(struct homid_med *mq, uint64_t prp1, uint64_t prp2, uint64_t len, prp_fn fn,
		     void *arg)
{
	uint64_t page = (uint64_t)1 << mq->page_shift, pmask = page - 1;
	uint64_t first = page - (prp1 & pmask), rest, per = page / 8, k = 0;
	const uint64_t *list;

	if (first > len)
		first = len;
	fn(arg, client_va(mq->cl, prp1, first), first);
	rest = len - first;
	if (!rest)
		return;
	if (rest <= page) {
		fn(arg, client_va(mq->cl, prp2, rest), rest);
		return;
	}
	list = (const uint64_t *)(uintptr_t)prp2;
	while (rest) {
		uint64_t n = rest < page ? rest : page;

		if (k == per - 1 && rest > page) { /* the copy chains to homid's next page */
			list = (const uint64_t *)(uintptr_t)list[k];
			k = 0;
		}
		fn(arg, client_va(mq->cl, list[k++], n), n);
		rest -= n;
	}
}

struct prp_span {
	uint8_t *start, *next;
	int contiguous;
};

static void span_add(void *arg, uint8_t *va, uint64_t n)
{
	struct prp_span *sp = arg;

	if (!sp->start)
		sp->start = va;
	else if (va != sp->next)
		sp->contiguous = 0;
	sp->next = va + n;
}

struct prp_copy {
	uint8_t *bounce;
	int to_client;
};

static void copy_piece(void *arg, uint8_t *va, uint64_t n)
{
	struct prp_copy *pc = arg;

	if (pc->to_client)
		memcpy(va, pc->bounce, n);
	else
		memcpy(pc->bounce, va, n);
	pc->bounce += n;
}

static void med_tcp_done(struct aisio_io *io, void *arg)
{
	struct homid_med *mq = arg;
	struct med_tcp_done *d = &mq->tdone[(mq->tdone_head + mq->ntdone++) % mq->depth];
	uint16_t st = 0;

	if (io->status > 0)
		st = aisio_nvme_status_field((uint32_t)io->status, 0);
	else if (io->status < 0) /* the connection failed or timed out: the client may retry */
		st = aisio_nvme_status_field(AISIO_NVME_SC_TRANSIENT_TRANSPORT, 0);
	d->slot = (uint16_t)io->submit_ts;
	d->status = st;
	d->dw0 = io->result;
}

/* A checked command to homid's TCP queue (submitted with the batch). Returns 0 or a status. */
static uint16_t med_tcp_forward(struct homid_med *mq, uint16_t slot, const struct aisio_nvme_sqe *cmd)
{
	struct med_slot *s = &mq->slots[slot];
	struct aisio_io *io;
	uint64_t len = 0;
	uint8_t *buf = NULL;

	s->bounce_read = 0;
	switch (cmd->opc) {
	case AISIO_NVME_NVM_READ:
	case AISIO_NVME_NVM_WRITE:
	case AISIO_NVME_NVM_COMPARE: {
		struct prp_span sp = { .contiguous = 1 };

		len = (uint64_t)((cmd->cdw12 & 0xffff) + 1) << mq->cl->ns->lba_shift;
		prp_walk(mq, cmd->dptr.prp.prp1, cmd->dptr.prp.prp2, len, span_add, &sp);
		buf = sp.start;
		if (sp.contiguous && !mq->always_bounce)
			break;
		if (!mq->bounce[slot] && !(mq->bounce[slot] = aligned_alloc(4096, mq->max_xfer)))
			return refuse(AISIO_NVME_SC_INTERNAL);
		buf = mq->bounce[slot];
		if (cmd->opc == AISIO_NVME_NVM_READ) {
			s->bounce_read = 1;
			s->len = (uint32_t)len;
			s->prp1 = cmd->dptr.prp.prp1;
			s->prp2 = cmd->dptr.prp.prp2;
		} else {
			struct prp_copy pc = { .bounce = buf };

			prp_walk(mq, cmd->dptr.prp.prp1, cmd->dptr.prp.prp2, len, copy_piece, &pc);
		}
		break;
	}
	case AISIO_NVME_NVM_DSM: /* the checked range list, in homid's page for the slot */
		len = ((uint64_t)(cmd->cdw10 & 0xff) + 1) * sizeof(struct aisio_nvme_dsm_range);
		buf = (uint8_t *)(uintptr_t)cmd->dptr.prp.prp1;
		break;
	default:
		break;
	}
	io = aisio_tcp_queue_get_io(mq->tq);
	if (!io)
		return refuse(AISIO_NVME_SC_INTERNAL); /* cannot happen: as many TCP slots as ours */
	io->cmd = *cmd;
	io->buf = buf;
	io->len = len;
	io->cb = med_tcp_done;
	io->cb_arg = mq;
	io->submit_ts = slot;
	return 0;
}

/* Completions from homid's TCP queue back to the client. */
__attribute__((noinline)) static int med_tcp_reap(struct homid_med *mq)
{
	int n = 0;

	if (aisio_tcp_queue_outstanding(mq->tq))
		n = aisio_tcp_queue_reap(mq->tq, 0, 0);
	while (mq->ntdone && ccq_room(mq)) {
		struct med_tcp_done *d = &mq->tdone[mq->tdone_head];
		struct med_slot *s = &mq->slots[d->slot];

		mq->tdone_head = (mq->tdone_head + 1) % mq->depth;
		mq->ntdone--;
		if (s->bounce_read && !d->status) {
			struct prp_copy pc = { .bounce = mq->bounce[d->slot], .to_client = 1 };

			prp_walk(mq, s->prp1, s->prp2, s->len, copy_piece, &pc);
		}
		ccq_post(mq, s->client_cid, d->dw0, d->status);
		s->busy = 0;
		mq->free_slots[mq->nfree++] = d->slot;
		n++;
	}
	return n;
}

static void *med_thread(void *arg)
{
	struct homid *h = arg;
	struct homid_mediator *md = h->med;
	unsigned idle = 0;

	while (!__atomic_load_n(&md->stop, __ATOMIC_ACQUIRE)) {
		int work = 0;

		pthread_mutex_lock(&md->lock);
		for (struct homid_med *mq = md->queues; mq; mq = mq->next) {
			work += mq->tq ? med_tcp_reap(mq) : med_reap(mq);
			work += med_fetch(mq);
		}
		pthread_mutex_unlock(&md->lock);
		if (work) {
			idle = 0;
		} else if (++idle > 64) {
			struct timespec ts = { 0, idle > 4096 ? 1000000 : 20000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

int homid_mediator_start(struct homid *h)
{
	struct homid_mediator *md = calloc(1, sizeof(*md));
	int err;

	if (!md)
		return aisio_err(-ENOMEM, "out of memory");
	pthread_mutex_init(&md->lock, NULL);
	h->med = md;
	err = pthread_create(&md->th, NULL, med_thread, h);
	if (err) {
		h->med = NULL;
		free(md);
		return aisio_err(-err, "cannot start the mediator thread: %s", strerror(err));
	}
	md->started = 1;
	return 0;
}

void homid_mediator_stop(struct homid *h)
{
	struct homid_mediator *md = h->med;

	if (!md)
		return;
	__atomic_store_n(&md->stop, 1, __ATOMIC_RELEASE);
	if (md->started)
		pthread_join(md->th, NULL);
	pthread_mutex_destroy(&md->lock);
	free(md);
	h->med = NULL;
}

void homid_mediator_lock(struct homid *h)
{
	pthread_mutex_lock(&h->med->lock);
}

void homid_mediator_unlock(struct homid *h)
{
	pthread_mutex_unlock(&h->med->lock);
}

static void med_free(struct homid_ctrl *hc, struct homid_med *mq)
{
	if (hc->kind == AISIO_HOMI_CTRL_TCP) {
		homid_tcp_queue_destroy(hc, mq->tq);
		for (uint32_t i = 0; mq->bounce && i < mq->depth; i++)
			free(mq->bounce[i]);
		free(mq->bounce);
		free(mq->tdone);
		free(mq->lists);
		free(mq->slots);
		free(mq->free_slots);
		free(mq);
		return;
	}
	aisio_nvme_ctrl_dma_free(hc->nc, mq->lists);
	aisio_nvme_ctrl_dma_free(hc->nc, mq->hcq_mem);
	aisio_nvme_ctrl_dma_free(hc->nc, mq->hsq_mem);
	free(mq->slots);
	free(mq->free_slots);
	free(mq);
}

/* nvme+tcp: homid's TCP queue, and list pages, completions and bounce buffers in plain memory. */
static int med_tcp_alloc(struct homid_ctrl *hc, struct homid_med *mq, size_t page)
{
	mq->lists = aligned_alloc(page, (size_t)mq->depth * mq->list_pages * page);
	mq->tdone = calloc(mq->depth, sizeof(*mq->tdone));
	mq->bounce = calloc(mq->depth, sizeof(*mq->bounce));
	if (!mq->lists || !mq->tdone || !mq->bounce)
		return aisio_err(-ENOMEM, "no memory for a mediated queue of depth %u", mq->depth);
	/* a PRP list is copied and walked in homid's memory: its address is homid's */
	mq->lists_bus = (uint64_t)(uintptr_t)mq->lists;
	mq->always_bounce = getenv("HOMID_TCP_BOUNCE") && !strcmp(getenv("HOMID_TCP_BOUNCE"), "1");
	return homid_tcp_queue_create(hc, mq->depth, &mq->tq, &mq->qid);
}

/* PCIe (model, vfio): homid's rings and list pages in its DMA memory, and the queue pair. */
static int med_hw_alloc(struct homid_ctrl *hc, struct homid_med *mq, size_t page, uint32_t dstrd)
{
	struct aisio_nvme_qpair_ext e = { .depth = mq->depth };
	uint32_t depth = mq->depth;
	int err;

	mq->hsq_mem = aisio_nvme_ctrl_dma_alloc(hc->nc, (size_t)depth * 64, page);
	mq->hcq_mem = aisio_nvme_ctrl_dma_alloc(hc->nc, (size_t)depth * 16, page);
	mq->lists = aisio_nvme_ctrl_dma_alloc(hc->nc, (size_t)depth * mq->list_pages * page, page);
	if (!mq->hsq_mem || !mq->hcq_mem || !mq->lists)
		return aisio_err(-ENOMEM, "no memory for a mediated queue of depth %u", depth);
	memset(mq->hcq_mem, 0, (size_t)depth * 16);
	mq->lists_bus = aisio_mem_bus(aisio_nvme_ctrl_dma_region(hc->nc, mq->lists), mq->lists);
	e.sq_bus = aisio_mem_bus(aisio_nvme_ctrl_dma_region(hc->nc, mq->hsq_mem), mq->hsq_mem);
	e.cq_bus = aisio_mem_bus(aisio_nvme_ctrl_dma_region(hc->nc, mq->hcq_mem), mq->hcq_mem);
	err = aisio_nvme_ctrl_qpair_create_ext(hc->nc, &e, &mq->qid);
	if (err)
		return err;
	aisio_nvme_sq_init(&mq->hsq, mq->hsq_mem, aisio_nvme_ctrl_bar0(hc->nc), mq->qid, depth, dstrd);
	aisio_nvme_cq_init(&mq->hcq, mq->hcq_mem, aisio_nvme_ctrl_bar0(hc->nc), mq->qid, depth, dstrd);
	return 0;
}

int homid_med_queue_create(struct homid *h, struct homid_client *cl, uint32_t depth, void *sq_va,
			   void *cq_va, struct homid_queue *q)
{
	struct homid_ctrl *hc = cl->ctrl;
	uint32_t max_qdepth, max_xfer, page_shift, dstrd;
	struct homid_med *mq;
	size_t page;
	int err;

	homid_ctrl_limits(hc, &max_qdepth, &max_xfer, &page_shift, &dstrd);
	page = (size_t)1 << page_shift;
	mq = calloc(1, sizeof(*mq));
	if (!mq)
		return aisio_err(-ENOMEM, "out of memory");
	mq->cl = cl;
	mq->hc = hc;
	mq->depth = depth;
	mq->page_shift = page_shift;
	mq->max_xfer = max_xfer;
	mq->slots = calloc(depth, sizeof(*mq->slots));
	mq->free_slots = calloc(depth, sizeof(*mq->free_slots));
	/* enough chained list pages for the largest transfer, starting mid-page */
	{
		uint64_t need = max_xfer / page + 1, per = page / 8;

		mq->list_pages = 1;
		mq->list_cap = per;
		while (mq->list_cap < need) {
			mq->list_pages++;
			mq->list_cap += per - 1;
		}
	}
	if (!mq->slots || !mq->free_slots)
		err = aisio_err(-ENOMEM, "no memory for a mediated queue of depth %u", depth);
	else if (hc->kind == AISIO_HOMI_CTRL_TCP)
		err = med_tcp_alloc(hc, mq, page);
	else
		err = med_hw_alloc(hc, mq, page, dstrd);
	if (err) {
		med_free(hc, mq);
		return err;
	}
	/* slots: at most depth - 1 commands in flight on the hardware ring */
	for (uint32_t i = 0; i + 1 < depth; i++)
		mq->free_slots[mq->nfree++] = (uint16_t)(depth - 2 - i);
	mq->csq = sq_va;
	mq->ccq = cq_va;
	mq->ccq_phase = 1;
	mq->csq_db = (volatile uint32_t *)(cl->shadow + aisio_nvme_db_offset(mq->qid, 0, dstrd));
	mq->ccq_db = (volatile uint32_t *)(cl->shadow + aisio_nvme_db_offset(mq->qid, 1, dstrd));
	*mq->csq_db = 0;
	*mq->ccq_db = 0;
	q->qid = mq->qid;
	q->med = mq;
	pthread_mutex_lock(&h->med->lock);
	mq->next = h->med->queues;
	h->med->queues = mq;
	pthread_mutex_unlock(&h->med->lock);
	return 0;
}

/*
 * Stop polling the queue; the caller then deletes the hardware queue pair
 * (what was in flight is dropped by the controller) and only then unmaps
 * the client's memory. homid's own ring memory is freed here, after the
 * hardware queues are gone: see homid_med_queue_free().
 */
void homid_med_queue_delete(struct homid *h, struct homid_client *cl, struct homid_queue *q)
{
	struct homid_med *mq = q->med;

	if (!mq)
		return;
	pthread_mutex_lock(&h->med->lock);
	for (struct homid_med **pp = &h->med->queues; *pp; pp = &(*pp)->next) {
		if (*pp == mq) {
			*pp = mq->next;
			break;
		}
	}
	pthread_mutex_unlock(&h->med->lock);
}

void homid_med_queue_free(struct homid_client *cl, struct homid_queue *q)
{
	if (q->med)
		med_free(cl->ctrl, q->med);
	q->med = NULL;
}
