/* SPDX-License-Identifier: MIT */
/*
 * Device model: DMA ranges added and removed while the controller runs
 * (homid maps and unmaps clients' memory this way). A range added while
 * enabled serves I/O at once; once removed, the same bus address fails with
 * Data Transfer Error and the old memory is untouched; a slot is reused;
 * overlaps and unknown ranges are refused; ranges come and go by the
 * hundred on one thread while another keeps I/O going on a range that
 * stays, with two controller threads. BAR0 is a memfd another mapping of
 * which sees the same registers.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include "emu_t.h"

#define ARENA (1u << 20)
#define BUS_A 0x6a0000000000ull /* queues and steady data */
#define BUS_B 0x6b0000000000ull /* the range that comes and goes */

static uint8_t *arena;

static uint64_t tobus(const void *p)
{
	return BUS_A + (uint64_t)((const uint8_t *)p - arena);
}

static int pair_create(struct et_host *h, struct et_queue *q, uint16_t qid, void *sqm, void *cqm)
{
	struct aisio_nvme_sqe cmd;
	int st;

	memset(q, 0, sizeof(*q));
	aisio_nvme_sq_init(&q->sq, sqm, h->bar, qid, 16, 0);
	aisio_nvme_cq_init(&q->cq, cqm, h->bar, qid, 16, 0);
	aisio_nvme_cmd_create_cq(&cmd, qid, 16, tobus(cqm), 0, 0);
	st = et_admin(h, &cmd, NULL);
	if (st)
		return st;
	aisio_nvme_cmd_create_sq(&cmd, qid, 16, tobus(sqm), qid);
	return et_admin(h, &cmd, NULL);
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

struct steady {
	struct et_queue *q;
	int stop;
	int errors;
	int done;
};

/* I/O on range A all along: write a pattern, read it back, compare. */
static void *steady_io(void *arg)
{
	struct steady *s = arg;
	uint8_t *wb = arena + 3 * 65536, *rb = arena + 4 * 65536;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		et_fill(wb, 4096, (uint64_t)s->done);
		if (rw(s->q, 1, 64, tobus(wb)) || rw(s->q, 0, 64, tobus(rb)) || memcmp(wb, rb, 4096))
			s->errors++;
		__atomic_store_n(&s->done, s->done + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

int main(void)
{
	struct aisio_emu_opts o;
	struct et_host h;
	struct et_queue q1, q2;
	uint8_t *asq, *acq, *b1, *b2;
	struct steady s = { 0 };
	pthread_t th;

	arena = et_alloc(ARENA);
	b1 = et_alloc(65536);
	b2 = et_alloc(65536);
	asq = arena;
	acq = arena + 4096;
	aisio_emu_opts_init(&o);
	o.ns_size = 1 << 20;
	o.threads = 2;
	et_open(&h, &o);

	/* BAR0 is shared memory: a second mapping of its memfd sees CAP */
	{
		size_t len;
		volatile uint32_t *m;

		aisio_emu_ctrl_bar0(h.c, &len);
		REQUIRE(aisio_emu_ctrl_bar0_fd(h.c) >= 0);
		m = mmap(NULL, len, PROT_READ, MAP_SHARED, aisio_emu_ctrl_bar0_fd(h.c), 0);
		REQUIRE(m != MAP_FAILED);
		CHECK_EQ(m[AISIO_NVME_REG_CAP / 4], et_rd(&h, AISIO_NVME_REG_CAP));
		munmap((void *)m, len);
	}

	CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, BUS_A, ARENA, arena), 0);
	aisio_nvme_sq_init(&h.aq.sq, asq, h.bar, 0, 16, 0);
	aisio_nvme_cq_init(&h.aq.cq, acq, h.bar, 0, 16, 0);
	et_wr(&h, AISIO_NVME_REG_AQA, AISIO_NVME_AQA(16, 16));
	et_wr64(&h, AISIO_NVME_REG_ASQ, tobus(asq));
	et_wr64(&h, AISIO_NVME_REG_ACQ, tobus(acq));
	et_wr(&h, AISIO_NVME_REG_CC, et_cc_default());
	REQUIRE(et_wait_csts(&h, AISIO_NVME_CSTS_RDY, AISIO_NVME_CSTS_RDY) == 0);
	REQUIRE(pair_create(&h, &q1, 1, arena + 65536, arena + 69632) == 0);
	REQUIRE(pair_create(&h, &q2, 2, arena + 131072, arena + 135168) == 0);

	/* added while enabled: serves at once */
	CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, BUS_B, 65536, b1), 0);
	CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, BUS_B + 4096, 4096, b2), -EINVAL); /* overlap */
	CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, BUS_B + 65536, 0, b2), -EINVAL);
	et_fill(b1, 4096, 11);
	CHECK_EQ(rw(&q1, 1, 8, BUS_B), 0);
	memset(b1, 0, 4096);
	CHECK_EQ(rw(&q1, 0, 8, BUS_B), 0);
	{
		uint8_t want[4096];

		et_fill(want, 4096, 11);
		CHECK(!memcmp(b1, want, 4096));
	}
	/* removed: the bus address fails, the old memory is not written */
	CHECK_EQ(aisio_emu_ctrl_dma_range_remove(h.c, BUS_B), 0);
	CHECK_EQ(aisio_emu_ctrl_dma_range_remove(h.c, BUS_B), -ENOENT);
	memset(b1, 0x77, 4096);
	CHECK_EQ(rw(&q1, 0, 8, BUS_B), AISIO_NVME_SC_DATA_XFER_ERROR);
	CHECK(b1[0] == 0x77 && b1[4095] == 0x77);
	/* the same bus address on other memory */
	CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, BUS_B, 65536, b2), 0);
	CHECK_EQ(rw(&q1, 0, 8, BUS_B), 0);
	CHECK(b1[0] == 0x77);
	CHECK(b2[0] != 0 || b2[1] != 0);
	CHECK_EQ(aisio_emu_ctrl_dma_range_remove(h.c, BUS_B), 0);

	/* churn on one thread, steady I/O on another (queue 2, served by the second controller thread) */
	s.q = &q2;
	REQUIRE(pthread_create(&th, NULL, steady_io, &s) == 0);
	{
		/*
		 * The churn overlaps steady I/O for real: it starts once the
		 * steady thread is under way and goes on past 100 rounds until
		 * that thread has done STEADY_MIN more I/Os (a loaded machine
		 * may hold the thread back for a while).
		 */
		enum { ROUNDS = 100, STEADY_MIN = 20 };
		uint64_t end = et_ms() + 30000;
		int start, i = 0;

		while (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) == 0 && et_ms() < end)
			sched_yield();
		start = __atomic_load_n(&s.done, __ATOMIC_ACQUIRE);
		while (i < ROUNDS ||
		       (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) - start < STEADY_MIN && et_ms() < end)) {
			uint64_t bus = BUS_B + (uint64_t)(i % 7) * 65536;

			CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, bus, 65536, i & 1 ? b1 : b2), 0);
			CHECK_EQ(rw(&q1, i & 2, 16, bus), 0);
			CHECK_EQ(aisio_emu_ctrl_dma_range_remove(h.c, bus), 0);
			i++;
		}
		__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		CHECK_EQ(s.errors, 0);
		CHECK(start > 0);
		CHECK(s.done - start >= STEADY_MIN);
	}

	/* the table holds 128 ranges; freed slots are reused */
	for (int i = 0; i < 127; i++)
		CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, BUS_B + (uint64_t)i * 4096, 4096, b1), 0);
	CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, BUS_B + 127ull * 4096, 4096, b1), -ENOSPC);
	CHECK_EQ(aisio_emu_ctrl_dma_range_remove(h.c, BUS_B + 5 * 4096), 0);
	CHECK_EQ(aisio_emu_ctrl_dma_range_add(h.c, BUS_B + 127ull * 4096, 4096, b1), 0);

	h.aq.sq_mem = h.aq.cq_mem = NULL; /* arena memory */
	et_close(&h);
	free(arena);
	free(b1);
	free(b2);
	return t_result("emu_dma_live");
}
