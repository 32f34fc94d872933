/* SPDX-License-Identifier: MIT */
/*
 * Device model: a controller with its own DMA ops that resolve host memory
 * through the controller's live DMA ranges (.ranges = 1), as homid's model
 * with the GPU copy provider does. Here the "GPU" is a buffer only the
 * ops' copy() reaches (the provider's CPU-side contract, without CUDA):
 * queues live in a range added while running, data for bus addresses in
 * the device window goes through copy() into the device buffer, data for
 * host ranges through map(); a removed host range fails with Data Transfer
 * Error; a controller with own ops but without .ranges refuses ranges.
 */
#include "emu_t.h"

#define ARENA (1u << 20)
#define BUS_H 0x6a0000000000ull /* host memory: queues and a data page */
#define BUS_G 0x7f0000000000ull /* the device window (GPU memory in homid) */
#define GLEN (64u * 1024)

static uint8_t *arena, *gmem;
static struct aisio_emu_ctrl *ctrl;
static uint64_t copies_to, copies_from;

static uint64_t tobus(const void *p)
{
	return BUS_H + (uint64_t)((const uint8_t *)p - arena);
}

static int in_dev(uint64_t bus, size_t len)
{
	return bus >= BUS_G && bus - BUS_G < GLEN ? (len <= GLEN - (bus - BUS_G) ? 1 : -1) : 0;
}

static void *own_map(void *ctx, uint64_t bus, size_t len)
{
	if (in_dev(bus, len))
		return NULL;
	return aisio_emu_dma_ranges_map(*(struct aisio_emu_ctrl **)ctx, bus, len);
}

static int own_copy(void *ctx, uint64_t bus, void *local, size_t len, int to_bus)
{
	int d = in_dev(bus, len);
	void *p;

	if (d < 0)
		return -EFAULT;
	p = d ? gmem + (bus - BUS_G) : aisio_emu_dma_ranges_map(*(struct aisio_emu_ctrl **)ctx, bus, len);
	if (!p)
		return -EFAULT;
	if (d)
		__atomic_fetch_add(to_bus ? &copies_to : &copies_from, 1, __ATOMIC_RELAXED);
	if (to_bus)
		memcpy(p, local, len);
	else
		memcpy(local, p, len);
	return 0;
}

static int own_flush(void *ctx)
{
	return 0;
}

static int rw(struct et_queue *q, int write, uint64_t lba, uint64_t bus)
{
	struct aisio_nvme_sqe cmd;

	if (write)
		aisio_nvme_cmd_write(&cmd, 1, lba, 8);
	else
		aisio_nvme_cmd_read(&cmd, 1, lba, 8);
	cmd.dptr.prp.prp1 = bus;
	return et_cmd(q, &cmd, NULL);
}

int main(void)
{
	/* ctx: where the controller will be (the ops are copied when it is created) */
	struct aisio_emu_dma ops = { .map = own_map, .copy = own_copy, .flush = own_flush, .ctx = &ctrl };
	struct aisio_emu_opts o;
	struct et_host h, h2;
	struct et_queue q;
	uint8_t *asq, *acq, *data, want[4096];

	arena = et_alloc(ARENA);
	gmem = et_alloc(GLEN);
	asq = arena;
	acq = arena + 4096;
	data = arena + 8 * 4096;

	/* own ops without .ranges: ranges do not apply */
	aisio_emu_opts_init(&o);
	o.ns_size = 1 << 20;
	o.dma = &ops;
	et_open(&h2, &o);
	CHECK_EQ(aisio_emu_ctrl_dma_range_add(h2.c, BUS_H, ARENA, arena), -EPERM);
	et_close(&h2);

	/* own ops with .ranges: the live table applies, added while disabled or running */
	ops.ranges = 1;
	o.threads = 2;
	et_open(&h, &o);
	ctrl = h.c;
	CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, BUS_H, 8 * 4096, arena), 0);
	aisio_nvme_sq_init(&h.aq.sq, asq, h.bar, 0, 16, 0);
	aisio_nvme_cq_init(&h.aq.cq, acq, h.bar, 0, 16, 0);
	et_wr(&h, AISIO_NVME_REG_AQA, AISIO_NVME_AQA(16, 16));
	et_wr64(&h, AISIO_NVME_REG_ASQ, tobus(asq));
	et_wr64(&h, AISIO_NVME_REG_ACQ, tobus(acq));
	et_wr(&h, AISIO_NVME_REG_CC, et_cc_default());
	REQUIRE(et_wait_csts(&h, AISIO_NVME_CSTS_RDY, AISIO_NVME_CSTS_RDY) == 0);
	{
		struct aisio_nvme_sqe cmd;
		uint8_t *sqm = arena + 2 * 4096, *cqm = arena + 3 * 4096;

		memset(&q, 0, sizeof(q));
		aisio_nvme_sq_init(&q.sq, sqm, h.bar, 1, 16, 0);
		aisio_nvme_cq_init(&q.cq, cqm, h.bar, 1, 16, 0);
		aisio_nvme_cmd_create_cq(&cmd, 1, 16, tobus(cqm), 0, 0);
		REQUIRE(et_admin(&h, &cmd, NULL) == 0);
		aisio_nvme_cmd_create_sq(&cmd, 1, 16, tobus(sqm), 1);
		REQUIRE(et_admin(&h, &cmd, NULL) == 0);
	}
	/* data in the device window: through copy(), never map() */
	et_fill(gmem, 4096, 21);
	CHECK_EQ(rw(&q, 1, 0, BUS_G), 0);
	memset(gmem + 8192, 0, 4096);
	CHECK_EQ(rw(&q, 0, 0, BUS_G + 8192), 0);
	et_fill(want, 4096, 21);
	CHECK(!memcmp(gmem + 8192, want, 4096));
	CHECK(copies_to > 0 && copies_from > 0);
	/* just past the window, in no range: Data Transfer Error */
	CHECK_EQ(rw(&q, 0, 0, BUS_G + GLEN), AISIO_NVME_SC_DATA_XFER_ERROR);
	/* host data in a range added while running: through the table */
	CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, BUS_H + 8 * 4096, 4096, data), 0);
	memset(data, 0, 4096);
	CHECK_EQ(rw(&q, 0, 0, BUS_H + 8 * 4096), 0);
	CHECK(!memcmp(data, want, 4096));
	/* withdrawn: fails, and the memory is not written */
	CHECK_EQ(aisio_emu_ctrl_dma_range_remove(h.c, BUS_H + 8 * 4096), 0);
	memset(data, 0x77, 4096);
	CHECK_EQ(rw(&q, 0, 0, BUS_H + 8 * 4096), AISIO_NVME_SC_DATA_XFER_ERROR);
	CHECK(data[0] == 0x77 && data[4095] == 0x77);

	h.aq.sq_mem = h.aq.cq_mem = NULL; /* arena memory */
	et_close(&h);
	free(arena);
	free(gmem);
	return t_result("emu_dma_own_ranges");
}
