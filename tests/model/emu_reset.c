/* SPDX-License-Identifier: MIT */
/*
 * Device model, reset and deletion with commands in flight: after CC.EN
 * 1->0 (or Delete I/O SQ) the controller never writes the old completion
 * queue again, even for commands it had fetched and was delaying; a CQ whose
 * SQ was deleted with commands in flight is fully usable by a new SQ.
 * Runs with one controller thread and with the queue on a second thread.
 */
#include "emu_t.h"

#define LAT_US 30000

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void submit_reads(struct et_queue *q, int n, uint8_t *buf)
{
	for (int i = 0; i < n; i++) {
		struct aisio_nvme_sqe cmd;

		aisio_nvme_cmd_read(&cmd, 1, (uint64_t)i, 1);
		cmd.dptr.prp.prp1 = et_bus(buf);
		et_push(q, &cmd);
	}
	et_ring(q);
}

static int untouched(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != 0xa5)
			return 0;
	return 1;
}

static void run(uint32_t threads)
{
	struct aisio_emu_opts o;
	struct et_host h;
	struct et_queue q, q2;
	uint8_t *buf = et_alloc(4096);
	struct aisio_nvme_sqe cmd;
	struct aisio_nvme_cqe cqe;
	uint16_t qid = (uint16_t)threads; /* with 2 threads, qid 2 lands on the second one */

	aisio_emu_opts_init(&o);
	o.ns_size = 1 << 20;
	o.latency_us = LAT_US;
	o.threads = threads;
	o.nqueues = 4;
	et_open(&h, &o);
	et_enable(&h);

	/* reset with 12 delayed reads in flight */
	REQUIRE(et_ioq_create(&h, &q, qid, 16) == 0);
	submit_reads(&q, 12, buf);
	sleep_ms(2); /* let the controller fetch them */
	et_disable(&h);
	memset(q.cq_mem, 0xa5, 16 * 16);
	sleep_ms(LAT_US / 1000 * 2);
	CHECK(untouched(q.cq_mem, 16 * 16));
	et_ioq_free(&q);

	/* delete an SQ with delayed reads in flight; its CQ takes a new SQ at full depth */
	et_enable(&h);
	REQUIRE(et_ioq_create(&h, &q, qid, 8) == 0);
	submit_reads(&q, 7, buf);
	sleep_ms(2);
	aisio_nvme_cmd_delete_queue(&cmd, AISIO_NVME_ADM_DELETE_SQ, qid);
	CHECK_EQ(et_admin(&h, &cmd, NULL), 0);
	memset(q.cq_mem, 0xa5, 8 * 16);
	sleep_ms(LAT_US / 1000 * 2);
	CHECK(untouched(q.cq_mem, 8 * 16));
	memset(q.cq_mem, 0, 8 * 16);
	/* new SQ on the same CQ (host CQ state starts over: nothing was posted) */
	q2 = q;
	q2.sq_mem = et_alloc(8 * 64);
	aisio_nvme_sq_init(&q2.sq, q2.sq_mem, h.bar, qid, 8, 0);
	aisio_nvme_cmd_create_sq(&cmd, qid, 8, et_bus(q2.sq_mem), qid);
	CHECK_EQ(et_admin(&h, &cmd, NULL), 0);
	submit_reads(&q2, 7, buf); /* a full CQ's worth: the dropped ones owe nothing */
	for (int i = 0; i < 7; i++) {
		REQUIRE(et_reap(&q2, &cqe, ET_TIMEOUT_MS) == 0);
		CHECK_EQ(cqe.status >> 1, 0);
	}
	free(q.sq_mem);
	q2.cq_mem = q.cq_mem;
	CHECK_EQ(et_ioq_delete(&h, &q2), 0);

	et_close(&h);
	free(buf);
}

int main(void)
{
	run(1);
	run(2);
	return t_result("emu_reset");
}
