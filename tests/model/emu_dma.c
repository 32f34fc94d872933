/* SPDX-License-Identifier: MIT */
/*
 * Device model, DMA interface: (1) bus ranges mapped to local memory, as for
 * queues and buffers shared with another process: the host programs bus
 * addresses that are not pointers; (2) a provider's copy hook with queued
 * copies finished in flush(), as a GPU host batching copy-engine transfers
 * per doorbell: data memory is not CPU-mappable, only the queues are.
 */
#include <pthread.h>

#include "emu_t.h"

/* ---- (1) bus ranges ----------------------------------------------------- */

#define ARENA (1u << 20)
#define BUS_BASE 0x5a0000000000ull

static uint8_t *arena;

static uint64_t tobus(const void *p)
{
	return BUS_BASE + (uint64_t)((const uint8_t *)p - arena);
}

static int create_pair_bus(struct et_host *h, struct et_queue *q, uint16_t qid, uint32_t depth,
			   void *sqm, void *cqm)
{
	struct aisio_nvme_sqe cmd;
	int st;

	memset(q, 0, sizeof(*q));
	aisio_nvme_sq_init(&q->sq, sqm, h->bar, qid, depth, 0);
	aisio_nvme_cq_init(&q->cq, cqm, h->bar, qid, depth, 0);
	aisio_nvme_cmd_create_cq(&cmd, qid, depth, tobus(cqm), 0, 0);
	st = et_admin(h, &cmd, NULL);
	if (st)
		return st;
	aisio_nvme_cmd_create_sq(&cmd, qid, depth, tobus(sqm), qid);
	return et_admin(h, &cmd, NULL);
}

static void test_ranges(void)
{
	struct aisio_emu_opts o;
	struct et_host h;
	struct et_queue q;
	uint8_t *asq, *acq, *id, *wb, *rb;
	struct aisio_nvme_sqe cmd;

	arena = et_alloc(ARENA);
	asq = arena;
	acq = arena + 4096;
	id = arena + 8192;
	wb = arena + 16384;
	rb = arena + 32768;

	aisio_emu_opts_init(&o);
	o.ns_size = 1 << 20;
	et_open(&h, &o);
	CHECK_EQ(aisio_emu_ctrl_dma_add_range(h.c, BUS_BASE, ARENA, arena), 0);
	CHECK_EQ(aisio_emu_ctrl_dma_add_range(h.c, BUS_BASE + 4096, 4096, arena),
		 -EINVAL); /* overlap */
	CHECK_EQ(aisio_emu_ctrl_dma_add_range(h.c, 0x1000, 0, arena), -EINVAL);

	/* admin queue at bus addresses */
	aisio_nvme_sq_init(&h.aq.sq, asq, h.bar, 0, 16, 0);
	aisio_nvme_cq_init(&h.aq.cq, acq, h.bar, 0, 16, 0);
	et_wr(&h, AISIO_NVME_REG_AQA, AISIO_NVME_AQA(16, 16));
	et_wr64(&h, AISIO_NVME_REG_ASQ, tobus(asq));
	et_wr64(&h, AISIO_NVME_REG_ACQ, tobus(acq));
	et_wr(&h, AISIO_NVME_REG_CC, et_cc_default());
	REQUIRE(et_wait_csts(&h, AISIO_NVME_CSTS_RDY, AISIO_NVME_CSTS_RDY) == 0);
	CHECK_EQ(aisio_emu_ctrl_dma_add_range(h.c, BUS_BASE + ARENA, 4096, arena), -EBUSY);

	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_CTRL, 0, 0);
	cmd.dptr.prp.prp1 = tobus(id);
	CHECK_EQ(et_admin(&h, &cmd, NULL), 0);
	CHECK_EQ(((struct aisio_nvme_id_ctrl *)id)->sqes, 0x66);
	/* a host pointer is not a bus address any more */
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_CTRL, 0, 0);
	cmd.dptr.prp.prp1 = et_bus(id);
	CHECK_EQ(et_admin(&h, &cmd, NULL), AISIO_NVME_SC_DATA_XFER_ERROR);

	REQUIRE(create_pair_bus(&h, &q, 1, 16, arena + 65536, arena + 69632) == 0);
	et_fill(wb, 8192, 5);
	aisio_nvme_cmd_write(&cmd, 1, 4, 16);
	cmd.dptr.prp.prp1 = tobus(wb);
	cmd.dptr.prp.prp2 = tobus(wb + 4096);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
	aisio_nvme_cmd_read(&cmd, 1, 4, 16);
	cmd.dptr.prp.prp1 = tobus(rb);
	cmd.dptr.prp.prp2 = tobus(rb + 4096);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
	CHECK(memcmp(wb, rb, 8192) == 0);
	/* a PRP outside every range */
	cmd.dptr.prp.prp2 = BUS_BASE + ARENA + 4096;
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_DATA_XFER_ERROR);

	h.aq.sq_mem = h.aq.cq_mem = NULL; /* arena memory, freed below */
	et_close(&h);
	free(arena);
}

/* ---- (2) copy hook ------------------------------------------------------ */

struct fake_gpu {
	uint8_t *qmem; /* CPU-visible: queues */
	size_t qlen;
	uint8_t *dmem; /* "device memory": reachable by copies only */
	size_t dlen;
	struct {
		uint64_t bus;
		void *local;
		size_t len;
		int to_bus;
	} pend[256];
	int npend;
	int copies, flushes, max_batch;
};

static void *fg_map(void *ctx, uint64_t bus, size_t len)
{
	struct fake_gpu *g = ctx;
	uint8_t *p = (uint8_t *)(uintptr_t)bus;

	if (p >= g->qmem && p + len <= g->qmem + g->qlen)
		return p;
	return NULL;
}

static int fg_copy(void *ctx, uint64_t bus, void *local, size_t len, int to_bus)
{
	struct fake_gpu *g = ctx;
	uint8_t *p = (uint8_t *)(uintptr_t)bus;

	if (p < g->dmem || p + len > g->dmem + g->dlen || g->npend == 256)
		return -EFAULT;
	g->pend[g->npend].bus = bus;
	g->pend[g->npend].local = local;
	g->pend[g->npend].len = len;
	g->pend[g->npend].to_bus = to_bus;
	g->npend++;
	g->copies++;
	return 0;
}

static int fg_flush(void *ctx)
{
	struct fake_gpu *g = ctx;

	if (g->npend > g->max_batch)
		g->max_batch = g->npend;
	for (int i = 0; i < g->npend; i++) {
		void *p = (void *)(uintptr_t)g->pend[i].bus;

		if (g->pend[i].to_bus)
			memcpy(p, g->pend[i].local, g->pend[i].len);
		else
			memcpy(g->pend[i].local, p, g->pend[i].len);
	}
	g->npend = 0;
	g->flushes++;
	return 0;
}

static void test_copy_hook(void)
{
	static struct fake_gpu g;
	struct aisio_emu_dma dma = { .map = fg_map, .copy = fg_copy, .flush = fg_flush, .ctx = &g };
	struct aisio_emu_opts o;
	struct et_host h;
	struct et_queue q;
	struct aisio_nvme_sqe cmd;
	struct aisio_nvme_cqe cqe;
	uint8_t *host = et_alloc(8 * 4096);

	g.qlen = 1 << 20;
	g.qmem = et_alloc(g.qlen);
	g.dlen = 1 << 20;
	g.dmem = et_alloc(g.dlen);

	aisio_emu_opts_init(&o);
	o.ns_size = 1 << 20;
	o.dma = &dma;
	et_open(&h, &o);
	CHECK_EQ(aisio_emu_ctrl_dma_add_range(h.c, 0, 4096, host), -EPERM);
	/* the admin queue lives in the CPU-visible part */
	free(h.aq.sq_mem);
	h.aq.sq_mem = NULL;
	aisio_nvme_sq_init(&h.aq.sq, g.qmem, h.bar, 0, 16, 0);
	aisio_nvme_cq_init(&h.aq.cq, g.qmem + 4096, h.bar, 0, 16, 0);
	et_wr(&h, AISIO_NVME_REG_AQA, AISIO_NVME_AQA(16, 16));
	et_wr64(&h, AISIO_NVME_REG_ASQ, et_bus(g.qmem));
	et_wr64(&h, AISIO_NVME_REG_ACQ, et_bus(g.qmem + 4096));
	et_wr(&h, AISIO_NVME_REG_CC, et_cc_default());
	REQUIRE(et_wait_csts(&h, AISIO_NVME_CSTS_RDY, AISIO_NVME_CSTS_RDY) == 0);

	/* Identify into "device memory": only a copy can reach it */
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_CTRL, 0, 0);
	cmd.dptr.prp.prp1 = et_bus(g.dmem);
	CHECK_EQ(et_admin(&h, &cmd, NULL), 0);
	CHECK_EQ(((struct aisio_nvme_id_ctrl *)g.dmem)->sqes, 0x66);
	CHECK(g.copies >= 1 && g.flushes >= 1);

	/* I/O queue in CPU-visible memory; 8 writes from device memory in one doorbell */
	memset(&q, 0, sizeof(q));
	aisio_nvme_sq_init(&q.sq, g.qmem + 16384, h.bar, 1, 16, 0);
	aisio_nvme_cq_init(&q.cq, g.qmem + 32768, h.bar, 1, 16, 0);
	aisio_nvme_cmd_create_cq(&cmd, 1, 16, et_bus(g.qmem + 32768), 0, 0);
	CHECK_EQ(et_admin(&h, &cmd, NULL), 0);
	aisio_nvme_cmd_create_sq(&cmd, 1, 16, et_bus(g.qmem + 16384), 1);
	CHECK_EQ(et_admin(&h, &cmd, NULL), 0);
	et_fill(g.dmem + 65536, 8 * 4096, 77);
	g.max_batch = 0;
	for (int i = 0; i < 8; i++) {
		aisio_nvme_cmd_write(&cmd, 1, (uint64_t)i * 8, 8);
		cmd.dptr.prp.prp1 = et_bus(g.dmem + 65536 + i * 4096);
		et_push(&q, &cmd);
	}
	et_ring(&q);
	for (int i = 0; i < 8; i++) {
		REQUIRE(et_reap(&q, &cqe, ET_TIMEOUT_MS) == 0);
		CHECK_EQ(cqe.status >> 1, 0);
	}
	CHECK(g.max_batch >= 1);
	/* read back into device memory, then a compare (needs its data right away) */
	aisio_nvme_cmd_read(&cmd, 1, 0, 64);
	cmd.dptr.prp.prp1 = et_bus(g.dmem + 262144);
	cmd.dptr.prp.prp2 = et_bus(g.dmem + 262144 + 4096);
	/* 64 blocks = 8 pages: PRP2 is a list, which must be CPU-visible */
	{
		uint64_t *list = (uint64_t *)(g.qmem + 65536);

		for (int i = 0; i < 7; i++)
			list[i] = et_bus(g.dmem + 262144 + 4096 * (i + 1));
		cmd.dptr.prp.prp2 = et_bus(list);
	}
	CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
	CHECK(memcmp(g.dmem + 65536, g.dmem + 262144, 8 * 4096) == 0);
	aisio_nvme_cmd_compare(&cmd, 1, 8, 8);
	cmd.dptr.prp.prp1 = et_bus(g.dmem + 65536 + 4096);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
	cmd.dptr.prp.prp1 = et_bus(g.dmem + 65536);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_COMPARE_FAILED);
	/* a buffer the provider cannot reach */
	aisio_nvme_cmd_read(&cmd, 1, 0, 8);
	cmd.dptr.prp.prp1 = et_bus(host);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_DATA_XFER_ERROR);

	h.aq.cq_mem = NULL;
	et_close(&h);
	free(g.qmem);
	free(g.dmem);
	free(host);
}

/* ---- (3) pipelined copies: submit()/done() ------------------------------ */

/*
 * A provider whose copies land some time after submit(), as a GPU's copy
 * engines do: batches are retired in order, each no earlier than
 * AFG_LAT_US after it was submitted, and only when done() or flush() looks.
 */
#define AFG_LAT_US 30
#define AFG_MAXP 8192

struct afg_piece {
	uint64_t bus;
	void *local;
	size_t len;
	int to_bus;
	uint64_t ticket; /* 0 while queued */
	uint64_t due_us;
};

struct afg {
	pthread_mutex_t lock;
	uint8_t *qmem;
	size_t qlen;
	uint8_t *dmem;
	size_t dlen;
	struct afg_piece p[AFG_MAXP]; /* FIFO: [head, tail) */
	uint32_t head, tail;
	uint64_t issued, retired;
	uint64_t submits, not_ready, max_inflight, flushes;
	int hold; /* done() reports nothing landed while set */
};

static uint64_t afg_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void *afg_map(void *ctx, uint64_t bus, size_t len)
{
	struct afg *g = ctx;
	uint8_t *p = (uint8_t *)(uintptr_t)bus;

	return p >= g->qmem && p + len <= g->qmem + g->qlen ? p : NULL;
}

/* Land issued pieces in order; @all: whatever their due time. Lock held. */
static void afg_retire(struct afg *g, int all)
{
	uint64_t now = afg_us();

	while (g->head != g->tail && g->p[g->head % AFG_MAXP].ticket) {
		struct afg_piece *x = &g->p[g->head % AFG_MAXP];

		if (!all && x->due_us > now)
			break;
		if (x->to_bus)
			memcpy((void *)(uintptr_t)x->bus, x->local, x->len);
		else
			memcpy(x->local, (void *)(uintptr_t)x->bus, x->len);
		g->retired = x->ticket;
		g->head++;
	}
	if (g->head == g->tail || !g->p[g->head % AFG_MAXP].ticket)
		g->retired = g->issued;
}

static int afg_copy(void *ctx, uint64_t bus, void *local, size_t len, int to_bus)
{
	struct afg *g = ctx;
	uint8_t *p = (uint8_t *)(uintptr_t)bus;
	int err = 0;

	if (p < g->dmem || p + len > g->dmem + g->dlen)
		return -EFAULT;
	pthread_mutex_lock(&g->lock);
	while (g->tail - g->head == AFG_MAXP)
		afg_retire(g, 1);
	struct afg_piece *x = &g->p[g->tail++ % AFG_MAXP];
	x->bus = bus;
	x->local = local; /* like the staging copy: the model's buffer is read at landing time */
	x->len = len;
	x->to_bus = to_bus;
	x->ticket = 0;
	pthread_mutex_unlock(&g->lock);
	return err;
}

static int afg_submit(void *ctx, uint64_t *ticket)
{
	struct afg *g = ctx;
	uint64_t due = afg_us() + AFG_LAT_US;
	int queued = 0;

	pthread_mutex_lock(&g->lock);
	for (uint32_t i = g->head; i != g->tail; i++)
		if (!g->p[i % AFG_MAXP].ticket) {
			if (!queued)
				g->issued++;
			queued = 1;
			g->p[i % AFG_MAXP].ticket = g->issued;
			g->p[i % AFG_MAXP].due_us = due;
		}
	if (queued)
		g->submits++;
	*ticket = g->issued > g->retired ? g->issued : 0;
	if (g->issued - g->retired > g->max_inflight)
		g->max_inflight = g->issued - g->retired;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

static int afg_done(void *ctx, uint64_t ticket)
{
	struct afg *g = ctx;
	int r;

	pthread_mutex_lock(&g->lock);
	if (!g->hold)
		afg_retire(g, 0);
	r = g->retired >= ticket;
	if (!r)
		g->not_ready++;
	pthread_mutex_unlock(&g->lock);
	return r;
}

static int afg_flush(void *ctx)
{
	struct afg *g = ctx;
	uint64_t t;

	afg_submit(ctx, &t);
	pthread_mutex_lock(&g->lock);
	afg_retire(g, 1);
	g->flushes++;
	pthread_mutex_unlock(&g->lock);
	return 0;
}

#define PL_CTRLS 8
#define PL_DEPTH 65 /* 64 commands in flight, as a 64-thread GPU queue */
#define PL_LBAS 2048

struct pl_ctrl {
	struct afg g;
	struct aisio_emu_dma dma;
	struct et_host h;
	struct et_queue q;
	uint16_t lba_of[65536]; /* CID -> LBA of the command in flight */
	uint8_t busy[65536];
	uint32_t next, done, inflight, bad;
	const uint32_t *order;
};

static void pl_open(struct pl_ctrl *p)
{
	struct aisio_emu_opts o;
	struct aisio_nvme_sqe cmd;

	pthread_mutex_init(&p->g.lock, NULL);
	p->g.qlen = 1 << 20;
	p->g.qmem = et_alloc(p->g.qlen);
	p->g.dlen = 2u << 20;
	p->g.dmem = et_alloc(p->g.dlen);
	p->dma = (struct aisio_emu_dma){ .map = afg_map, .copy = afg_copy, .flush = afg_flush,
					 .submit = afg_submit, .done = afg_done, .ctx = &p->g };
	aisio_emu_opts_init(&o);
	o.ns_size = (uint64_t)PL_LBAS * 512;
	o.mqes = 1023;
	o.dma = &p->dma;
	et_open(&p->h, &o);
	free(p->h.aq.sq_mem);
	p->h.aq.sq_mem = NULL;
	p->h.aq.cq_mem = NULL;
	aisio_nvme_sq_init(&p->h.aq.sq, p->g.qmem, p->h.bar, 0, 16, 0);
	aisio_nvme_cq_init(&p->h.aq.cq, p->g.qmem + 4096, p->h.bar, 0, 16, 0);
	et_wr(&p->h, AISIO_NVME_REG_AQA, AISIO_NVME_AQA(16, 16));
	et_wr64(&p->h, AISIO_NVME_REG_ASQ, et_bus(p->g.qmem));
	et_wr64(&p->h, AISIO_NVME_REG_ACQ, et_bus(p->g.qmem + 4096));
	et_wr(&p->h, AISIO_NVME_REG_CC, et_cc_default());
	REQUIRE(et_wait_csts(&p->h, AISIO_NVME_CSTS_RDY, AISIO_NVME_CSTS_RDY) == 0);
	memset(&p->q, 0, sizeof(p->q));
	aisio_nvme_sq_init(&p->q.sq, p->g.qmem + 16384, p->h.bar, 1, PL_DEPTH, 0);
	aisio_nvme_cq_init(&p->q.cq, p->g.qmem + 32768, p->h.bar, 1, PL_DEPTH, 0);
	aisio_nvme_cmd_create_cq(&cmd, 1, PL_DEPTH, et_bus(p->g.qmem + 32768), 0, 0);
	REQUIRE(et_admin(&p->h, &cmd, NULL) == 0);
	aisio_nvme_cmd_create_sq(&cmd, 1, PL_DEPTH, et_bus(p->g.qmem + 16384), 1);
	REQUIRE(et_admin(&p->h, &cmd, NULL) == 0);
}

/*
 * Every controller moves PL_LBAS 512-byte blocks (@opc: writes from device
 * memory [0, 1 MiB), reads into [1 MiB, 2 MiB)), 64 in flight per queue,
 * all queues driven at once. Every command must complete exactly once.
 */
static void pl_phase(struct pl_ctrl *pc, uint8_t opc)
{
	uint64_t end = et_ms() + 60000;
	uint32_t left = PL_CTRLS;

	for (int i = 0; i < PL_CTRLS; i++) {
		pc[i].next = pc[i].done = pc[i].inflight = pc[i].bad = 0;
		memset(pc[i].busy, 0, sizeof(pc[i].busy));
	}
	while (left && et_ms() < end) {
		for (int i = 0; i < PL_CTRLS; i++) {
			struct pl_ctrl *p = &pc[i];
			volatile struct aisio_nvme_cqe *e;
			int pushed = 0, reaped = 0;

			if (p->done == PL_LBAS)
				continue;
			while (p->inflight < PL_DEPTH - 1 && p->next < PL_LBAS) {
				struct aisio_nvme_sqe cmd;
				uint32_t lba = p->order[p->next++];
				uint16_t cid;

				aisio_nvme_cmd_rw(&cmd, opc, 1, lba, 1, 0);
				cmd.dptr.prp.prp1 = et_bus(p->g.dmem + (opc == AISIO_NVME_NVM_WRITE ? 0 : 1u << 20) +
							   (size_t)lba * 512);
				cid = et_push(&p->q, &cmd);
				p->lba_of[cid] = (uint16_t)lba;
				p->busy[cid] = 1;
				p->inflight++;
				/* a doorbell per 8 commands: the controller fetches several batches */
				if (++pushed % 8 == 0)
					et_ring(&p->q);
			}
			if (pushed)
				et_ring(&p->q);
			while ((e = aisio_nvme_cq_peek(&p->q.cq))) {
				__atomic_thread_fence(__ATOMIC_ACQUIRE);
				uint16_t cid = e->cid;

				if (!p->busy[cid] || (e->status >> 1))
					p->bad++;
				p->busy[cid] = 0;
				p->q.sq.head = e->sqhd;
				aisio_nvme_cq_advance(&p->q.cq);
				p->inflight--;
				p->done++;
				reaped = 1;
			}
			if (reaped)
				aisio_nvme_cq_ring_db(&p->q.cq);
			if (p->done == PL_LBAS)
				left--;
		}
	}
	for (int i = 0; i < PL_CTRLS; i++) {
		CHECK_EQ(pc[i].done, PL_LBAS);
		CHECK_EQ(pc[i].bad, 0);
	}
}

static void test_pipelined(void)
{
	static struct pl_ctrl pc[PL_CTRLS];
	static uint32_t order[PL_LBAS];
	struct aisio_nvme_sqe cmd;

	/* a scattered order: consecutive commands rarely touch neighbouring blocks */
	for (uint32_t i = 0; i < PL_LBAS; i++)
		order[i] = (i * 1031u) % PL_LBAS;
	for (int i = 0; i < PL_CTRLS; i++) {
		pl_open(&pc[i]);
		pc[i].order = order;
		et_fill(pc[i].g.dmem, 1u << 20, 100 + i);
	}
	pl_phase(pc, AISIO_NVME_NVM_WRITE);
	pl_phase(pc, AISIO_NVME_NVM_READ);
	for (int i = 0; i < PL_CTRLS; i++) {
		struct afg *g = &pc[i].g;

		CHECK(memcmp(g->dmem, g->dmem + (1u << 20), 1u << 20) == 0);
		CHECK(g->submits > 0);
		CHECK(g->not_ready > 0);
	}

	/* The controller fetches the next batch while the copies of the last one run. */
	struct pl_ctrl *p = &pc[0];
	struct aisio_emu_stats st0, st1;
	struct aisio_nvme_cqe cqe;
	p->g.hold = 1;
	p->g.max_inflight = 0;
	aisio_emu_ctrl_stats(p->h.c, &st0);
	for (uint32_t b = 0; b < 2; b++) {
		for (uint32_t i = 0; i < 8; i++) {
			aisio_nvme_cmd_read(&cmd, 1, b * 8 + i, 1);
			cmd.dptr.prp.prp1 = et_bus(p->g.dmem + (1u << 20) + (b * 8 + i) * 512);
			et_push(&p->q, &cmd);
		}
		et_ring(&p->q);
		for (uint64_t end = et_ms() + 5000; et_ms() < end;) {
			aisio_emu_ctrl_stats(p->h.c, &st1);
			if (st1.io_cmds - st0.io_cmds >= 8 * (b + 1))
				break;
		}
		CHECK_EQ(st1.io_cmds - st0.io_cmds, 8 * (b + 1));
	}
	/* the second batch's copies were started before the first's landed */
	uint64_t mi = 0;
	for (uint64_t end = et_ms() + 5000; et_ms() < end && mi < 2;) {
		pthread_mutex_lock(&p->g.lock);
		mi = p->g.max_inflight;
		pthread_mutex_unlock(&p->g.lock);
	}
	CHECK_EQ(mi, 2);
	CHECK(aisio_nvme_cq_peek(&p->q.cq) == NULL); /* nothing landed: nothing completed */
	pthread_mutex_lock(&p->g.lock);
	p->g.hold = 0;
	pthread_mutex_unlock(&p->g.lock);
	for (int i = 0; i < 16; i++) {
		REQUIRE(et_reap(&p->q, &cqe, ET_TIMEOUT_MS) == 0);
		CHECK_EQ(cqe.status >> 1, 0);
	}

	/* Delete I/O SQ returns only after the copies of its fetched commands landed */
	memset(p->g.dmem + (1u << 20), 0, 64 * 512);
	aisio_emu_ctrl_stats(p->h.c, &st0);
	for (uint32_t i = 0; i < 64; i++) {
		aisio_nvme_cmd_read(&cmd, 1, i, 1);
		cmd.dptr.prp.prp1 = et_bus(p->g.dmem + (1u << 20) + i * 512);
		et_push(&p->q, &cmd);
	}
	et_ring(&p->q);
	/* wait until the controller fetched them all */
	for (uint64_t end = et_ms() + 5000; et_ms() < end;) {
		aisio_emu_ctrl_stats(p->h.c, &st1);
		if (st1.io_cmds - st0.io_cmds >= 64)
			break;
	}
	CHECK_EQ(st1.io_cmds - st0.io_cmds, 64);
	aisio_nvme_cmd_delete_queue(&cmd, AISIO_NVME_ADM_DELETE_SQ, 1);
	CHECK_EQ(et_admin(&p->h, &cmd, NULL), 0);
	pthread_mutex_lock(&p->g.lock);
	CHECK_EQ(p->g.head, p->g.tail);
	pthread_mutex_unlock(&p->g.lock);
	CHECK(memcmp(p->g.dmem + (1u << 20), p->g.dmem, 64 * 512) == 0);

	for (int i = 0; i < PL_CTRLS; i++) {
		pc[i].h.aq.sq_mem = pc[i].h.aq.cq_mem = NULL;
		et_close(&pc[i].h);
		free(pc[i].g.qmem);
		free(pc[i].g.dmem);
	}
}

int main(void)
{
	test_ranges();
	test_copy_hook();
	test_pipelined();
	return t_result("emu_dma");
}
