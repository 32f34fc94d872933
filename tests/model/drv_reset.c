/* SPDX-License-Identifier: MIT */
/*
 * Controller reset with I/O in flight on several queues: every command in
 * flight completes with -ECANCELED at its queue's next reap, the same
 * queue objects work afterwards, data written before the reset is still
 * there, and an external queue pair is re-created with the same QID.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mt.h"

struct counts {
	int calls, canceled, ok, other;
};

static void on_done(struct aisio_io *io, void *arg)
{
	struct counts *c = arg;

	c->calls++;
	if (io->status == -ECANCELED)
		c->canceled++;
	else if (io->status == 0)
		c->ok++;
	else
		c->other++;
}

static void fill_queue(struct aisio_queue *q, const struct aisio_geo *g, uint8_t *buf, struct counts *c)
{
	struct aisio_io *io;
	uint32_t i = 0;

	while ((io = aisio_queue_get_io(q))) {
		aisio_io_set_cb(io, on_done, c);
		aisio_prep_read(io, g->nsid, i % 64, 1, buf + (i % 8) * 512, 512);
		i++;
	}
	CHECK_EQ(aisio_queue_submit(q), (int)i);
}

int main(void)
{
	struct aisio_dev *dev = mt_open("emu:16M,latency_us=100000", NULL);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_nvme_ctrl *ctrl = aisio_upci_ctrl(dev);
	struct aisio_queue *q[3];
	struct counts cnt[3];
	uint8_t *buf = aisio_buf_alloc(dev, 8 * 4096);
	uint8_t *cqm = aisio_nvme_ctrl_dma_alloc(ctrl, 4096, 4096);
	uint8_t *sqm = aisio_nvme_ctrl_dma_alloc(ctrl, 4096, 4096);
	struct aisio_nvme_qpair_ext ext = { .depth = 16 };
	uint16_t qid = 0;
	uint32_t gen;
	struct aisio_nvme_id_ctrl id;

	REQUIRE(buf && cqm && sqm);
	memset(cqm, 0, 4096);
	ext.sq_bus = aisio_mem_bus(aisio_nvme_ctrl_dma_region(ctrl, sqm), sqm);
	ext.cq_bus = aisio_mem_bus(aisio_nvme_ctrl_dma_region(ctrl, cqm), cqm);
	CHECK_EQ(aisio_nvme_ctrl_qpair_create_ext(ctrl, &ext, &qid), 0);

	q[0] = mt_queue(dev, 16);
	q[1] = mt_queue(dev, 64);
	q[2] = mt_queue(dev, 2);
	mt_fill(buf, 4096, 5);
	CHECK_EQ(mt_write(q[0], g->nsid, 1000, 8, buf, 4096), 0);

	for (int round = 0; round < 3; round++) {
		memset(cnt, 0, sizeof(cnt));
		for (int i = 0; i < 3; i++)
			fill_queue(q[i], g, buf, &cnt[i]);
		gen = aisio_nvme_ctrl_generation(ctrl);
		CHECK_EQ(aisio_dev_reset(dev), 0);
		CHECK_EQ(aisio_nvme_ctrl_generation(ctrl), gen + 1);
		for (int i = 0; i < 3; i++) {
			uint32_t n = aisio_queue_depth(q[i]);

			CHECK_EQ(aisio_queue_outstanding(q[i]), n);
			CHECK_EQ(aisio_queue_wait(q[i]), 0);
			CHECK_EQ(cnt[i].calls, (int)n);
			CHECK_EQ(cnt[i].canceled, (int)n);
		}
		/* The same queues, the same data. */
		for (int i = 0; i < 3; i++) {
			memset(buf, 0, 4096);
			CHECK_EQ(mt_read(q[i], g->nsid, 1000, 8, buf, 4096), 0);
			CHECK_EQ(mt_check(buf, 4096, 5), -1);
		}
		/* And a full queue completes normally again. */
		memset(cnt, 0, sizeof(cnt));
		fill_queue(q[1], g, buf + 4096, &cnt[1]);
		CHECK_EQ(aisio_queue_wait(q[1]), 0);
		CHECK_EQ(cnt[1].ok, 63);
	}
	printf("reset with %u + %u + %u commands in flight, 3 times: all -ECANCELED, queues work again\n",
	       aisio_queue_depth(q[0]), aisio_queue_depth(q[1]), aisio_queue_depth(q[2]));

	/* Reset with nothing in flight; admin and the external pair's QID survive. */
	CHECK_EQ(aisio_dev_reset(dev), 0);
	CHECK_EQ(aisio_dev_identify_ctrl(dev, &id), 0);
	CHECK_EQ(aisio_nvme_ctrl_qpair_delete_ext(ctrl, qid), 0);

	for (int i = 0; i < 3; i++)
		aisio_queue_term(q[i]);
	aisio_nvme_ctrl_dma_free(ctrl, cqm);
	aisio_nvme_ctrl_dma_free(ctrl, sqm);
	aisio_buf_free(dev, buf);
	aisio_dev_close(dev);
	return t_result("drv_reset");
}
