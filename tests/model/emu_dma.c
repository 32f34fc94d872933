/* SPDX-License-Identifier: MIT */
/*
 * Device model, DMA interface: (1) bus ranges mapped to local memory, as for
 * queues and buffers shared with another process: the host programs bus
 * addresses that are not pointers; (2) a provider's copy hook with queued
 * copies finished in flush(), as a GPU host batching copy-engine transfers
 * per doorbell: data memory is not CPU-mappable, only the queues are.
 */
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

int main(void)
{
	test_ranges();
	test_copy_hook();
	return t_result("emu_dma");
}
