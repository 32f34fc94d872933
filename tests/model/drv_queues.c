/* SPDX-License-Identifier: MIT */
/*
 * I/O queue pairs: as many as the controller grants, at the maximum depth
 * and at depth 2; one more is refused; raw Create/Delete with bad QIDs
 * get the controller's statuses; a queue pair on caller memory is driven
 * by hand through the ring header, as the GPU does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <aisio/nvme_ring.h>

#include "mt.h"
#include "nvme/cmd.h"

static int read_ok(struct aisio_queue *q, uint32_t nsid, void *buf)
{
	return mt_read(q, nsid, 0, 1, buf, 512);
}

static void test_max_count_depth(struct aisio_dev *dev)
{
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_queue **qs = calloc(g->max_queues + 1, sizeof(*qs));
	struct aisio_queue *extra;
	void *buf = aisio_buf_alloc(dev, 4096);

	REQUIRE(qs && buf);
	for (uint32_t round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < g->max_queues; i++) {
			uint32_t depth = i == 0 ? g->max_qdepth : i == 1 ? 2 : g->max_qdepth < 32 ? g->max_qdepth : 32;
			int err = aisio_queue_init(dev, depth, &qs[i]);

			if (err) {
				fprintf(stderr, "queue %u: %s\n", i, aisio_errmsg());
				CHECK_EQ(err, 0);
				exit(1);
			}
			CHECK_EQ(aisio_queue_depth(qs[i]), depth - 1);
		}
		CHECK_EQ(aisio_queue_init(dev, 2, &extra), -EBUSY);
		CHECK(strstr(aisio_errmsg(), "in use") != NULL);
		printf("queue %u: %s\n", g->max_queues + 1, aisio_errmsg());
		for (uint32_t i = 0; i < g->max_queues; i += 7)
			CHECK_EQ(read_ok(qs[i], g->nsid, buf), 0);
		CHECK_EQ(read_ok(qs[g->max_queues - 1], g->nsid, buf), 0);

		/* Fill the deepest queue completely; depth 2 holds one command. */
		{
			uint32_t n = 0;
			struct aisio_io *io;

			while ((io = aisio_queue_get_io(qs[0]))) {
				aisio_io_set_cb(io, NULL, NULL);
				aisio_prep_read(io, g->nsid, n % g->nlbas, 1, buf, 512);
				n++;
			}
			CHECK_EQ(n, g->max_qdepth - 1);
			CHECK_EQ(aisio_queue_submit(qs[0]), (int)n);
			CHECK_EQ(aisio_queue_wait(qs[0]), 0);
			CHECK_EQ(aisio_queue_outstanding(qs[0]), 0);
			CHECK(aisio_queue_get_io(qs[1]) != NULL);
			CHECK(aisio_queue_get_io(qs[1]) == NULL);
		}
		for (uint32_t i = 0; i < g->max_queues; i++)
			aisio_queue_term(qs[i]);
	}
	CHECK_EQ(aisio_queue_init(dev, g->max_qdepth + 1, &extra), -EINVAL);
	CHECK_EQ(aisio_queue_init(dev, 1, &extra), -EINVAL);
	printf("depth 1: %s\n", aisio_errmsg());
	CHECK_EQ(aisio_nvme_qpair_create(aisio_upci_ctrl(dev), dev, g->max_qdepth + 1, 0,
					 (struct aisio_nvme_qpair **)&extra), -EINVAL);
	aisio_buf_free(dev, buf);
	free(qs);
}

static void test_raw_queue_cmds(struct aisio_dev *dev)
{
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_nvme_ctrl *c = aisio_upci_ctrl(dev);
	void *mem = aisio_nvme_ctrl_dma_alloc(c, 4096, 4096);
	const struct aisio_mem_region *r = aisio_nvme_ctrl_dma_region(c, mem);
	struct aisio_nvme_sqe cmd;
	int st;

	REQUIRE(mem && r);
	/* QID beyond the granted count. */
	aisio_nvme_cmd_create_cq(&cmd, (uint16_t)(g->max_queues + 1), 16, aisio_mem_bus(r, mem), 0, 0);
	st = aisio_dev_admin(dev, &cmd, NULL, 0, NULL);
	CHECK_EQ(st, AISIO_NVME_SC_QID_INVALID);
	printf("create cq %u: %s\n", g->max_queues + 1, aisio_errmsg());
	/* Depth above CAP.MQES + 1. */
	aisio_nvme_cmd_create_cq(&cmd, 5, g->max_qdepth + 1, aisio_mem_bus(r, mem), 0, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, NULL, 0, NULL), AISIO_NVME_SC_QUEUE_SIZE);
	/* SQ on a CQ that does not exist. */
	aisio_nvme_cmd_create_sq(&cmd, 5, 16, aisio_mem_bus(r, mem), 5);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, NULL, 0, NULL), AISIO_NVME_SC_CQ_INVALID);
	/* Deleting queues that do not exist. */
	aisio_nvme_cmd_delete_queue(&cmd, AISIO_NVME_ADM_DELETE_SQ, 7);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, NULL, 0, NULL), AISIO_NVME_SC_QID_INVALID);
	aisio_nvme_cmd_delete_queue(&cmd, AISIO_NVME_ADM_DELETE_CQ, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, NULL, 0, NULL), AISIO_NVME_SC_QID_INVALID);
	aisio_nvme_ctrl_dma_free(c, mem);
}

/* A queue pair whose rings the test owns and drives with the ring header alone. */
static void test_ext(struct aisio_dev *dev)
{
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_nvme_ctrl *c = aisio_upci_ctrl(dev);
	const uint32_t depth = 8;
	uint8_t *sqm = aisio_nvme_ctrl_dma_alloc(c, 4096, 4096);
	uint8_t *cqm = aisio_nvme_ctrl_dma_alloc(c, 4096, 4096);
	uint8_t *buf = aisio_nvme_ctrl_dma_alloc(c, 4096, 4096);
	const struct aisio_mem_region *r = aisio_nvme_ctrl_dma_region(c, sqm);
	struct aisio_nvme_qpair_ext e = { .depth = depth, .sq_va = sqm, .cq_va = cqm };
	struct aisio_queue *q = mt_queue(dev, 16);
	struct aisio_nvme_sq sq;
	struct aisio_nvme_cq cq;
	uint16_t qid = 0, done = 0;
	uint32_t gen = aisio_nvme_ctrl_generation(c);
	int tries;

	REQUIRE(sqm && cqm && buf && r);
	memset(cqm, 0, 4096);
	e.sq_bus = aisio_mem_bus(r, sqm);
	e.cq_bus = aisio_mem_bus(aisio_nvme_ctrl_dma_region(c, cqm), cqm);
	CHECK_EQ(aisio_nvme_ctrl_qpair_create_ext(c, &e, &qid), 0);
	CHECK(qid >= 1 && qid <= g->max_queues);

	/* Write a pattern with the driver's queue, read it back on the external one. */
	{
		void *wb = aisio_buf_alloc(dev, 4096);
		mt_fill(wb, 4096, 77);
		CHECK_EQ(mt_write(q, g->nsid, 100, 8, wb, 4096), 0);
		aisio_buf_free(dev, wb);
	}
	aisio_nvme_sq_init(&sq, sqm, aisio_nvme_ctrl_bar0(c), qid, depth, aisio_nvme_ctrl_info(c)->dstrd);
	aisio_nvme_cq_init(&cq, cqm, aisio_nvme_ctrl_bar0(c), qid, depth, aisio_nvme_ctrl_info(c)->dstrd);
	CHECK_EQ((uintptr_t)sq.db - (uintptr_t)aisio_nvme_ctrl_bar0(c), aisio_nvme_ctrl_db_offset(c, qid, 0));
	CHECK_EQ((uintptr_t)cq.db - (uintptr_t)aisio_nvme_ctrl_bar0(c), aisio_nvme_ctrl_db_offset(c, qid, 1));
	/* 20 reads wrap the 8-entry rings twice. */
	for (uint16_t i = 0; i < 20; i++) {
		struct aisio_nvme_sqe *s = aisio_nvme_sq_slot(&sq);
		volatile struct aisio_nvme_cqe *ce = NULL;

		aisio_nvme_cmd_read(s, g->nsid, 100, 8);
		s->cid = (uint16_t)(0x100 + i);
		s->dptr.prp.prp1 = aisio_mem_bus(r, buf);
		memset(buf, 0, 4096);
		aisio_nvme_sq_advance(&sq);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		aisio_nvme_sq_ring_db(&sq);
		/* The model may be dozing when idle: allow it a few seconds. */
		for (tries = 0; tries < 2000000 && !(ce = aisio_nvme_cq_peek(&cq)); tries++)
			if (tries > 1000)
				usleep(1);
		REQUIRE(ce);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		CHECK_EQ(ce->cid, 0x100 + i);
		CHECK_EQ(aisio_nvme_cqe_code(ce->status), 0);
		CHECK_EQ(ce->sqid, qid);
		sq.head = ce->sqhd;
		aisio_nvme_cq_advance(&cq);
		aisio_nvme_cq_ring_db(&cq);
		CHECK_EQ(mt_check(buf, 4096, 77), -1);
		done++;
	}
	CHECK_EQ(done, 20);
	CHECK_EQ(aisio_nvme_ctrl_generation(c), gen);
	CHECK_EQ(aisio_nvme_ctrl_qpair_delete_ext(c, qid), 0);
	CHECK_EQ(aisio_nvme_ctrl_qpair_delete_ext(c, qid), -ENOENT);
	e.sq_bus += 512;
	CHECK_EQ(aisio_nvme_ctrl_qpair_create_ext(c, &e, &qid), -EINVAL);
	aisio_queue_term(q);
	aisio_nvme_ctrl_dma_free(c, sqm);
	aisio_nvme_ctrl_dma_free(c, cqm);
	aisio_nvme_ctrl_dma_free(c, buf);
}

/* Depths that are not powers of two wrap like any other. */
static void test_odd_depths(struct aisio_dev *dev)
{
	const struct aisio_geo *g = aisio_dev_geo(dev);
	static const uint32_t depths[] = { 3, 7, 13, 100 };
	uint8_t *buf = aisio_buf_alloc(dev, 128 * 512);

	REQUIRE(buf);
	for (size_t d = 0; d < sizeof(depths) / sizeof(depths[0]); d++) {
		struct aisio_queue *q = mt_queue(dev, depths[d]);
		uint32_t total = 0;

		mt_fill(buf, 128 * 512, depths[d]);
		CHECK_EQ(mt_write(q, g->nsid, 0, 128, buf, 128 * 512), 0);
		for (int round = 0; round < 50; round++) {
			struct aisio_io *io;
			uint32_t n = 0;

			memset(buf, 0, 128 * 512);
			while ((io = aisio_queue_get_io(q))) {
				aisio_io_set_cb(io, NULL, NULL);
				aisio_prep_read(io, g->nsid, n, 1, buf + n * 512, 512);
				n++;
			}
			CHECK_EQ(n, depths[d] - 1);
			CHECK_EQ(aisio_queue_submit(q), (int)n);
			CHECK_EQ(aisio_queue_wait(q), 0);
			CHECK_EQ(mt_check(buf, n * 512, depths[d]), -1);
			total += n;
		}
		CHECK(total >= 50 * (depths[d] - 1));
		aisio_queue_term(q);
	}
	aisio_buf_free(dev, buf);
}

int main(void)
{
	struct aisio_dev *dev = mt_open("emu:8M", NULL);

	test_odd_depths(dev);
	test_max_count_depth(dev);
	test_raw_queue_cmds(dev);
	test_ext(dev);
	aisio_dev_close(dev);

	/* A small controller: every limit reached quickly. */
	dev = mt_open("emu:8M,nqueues=4,mqes=15", NULL);
	test_max_count_depth(dev);
	aisio_dev_close(dev);
	return t_result("drv_queues");
}
