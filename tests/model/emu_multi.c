/* SPDX-License-Identifier: MIT */
/*
 * Device model, concurrency: several controllers in one process driven at
 * the same time, and one controller with three threads serving six queue
 * pairs (queues partitioned by CQ), with data checked across ring wraps.
 */
#include <pthread.h>

#include <aisio/aisio.h>

#include "emu_t.h"

#define NCTRL 4
#define QDEPTH 16
#define ROUNDS 150

struct job {
	struct et_queue *q[2];
	uint32_t nq;
	uint64_t base; /* first LBA this job owns */
	int failures;
};

/* Fill the SQ with writes of LBA-stamped blocks, reap them, read them back batched. */
static void *job_run(void *arg)
{
	struct job *j = arg;
	uint8_t *buf = et_alloc(QDEPTH * 512 * 2);

	for (int r = 0; r < ROUNDS; r++) {
		struct et_queue *q = j->q[r % j->nq];
		int n = 1 + (r * 7) % (QDEPTH - 1);
		struct aisio_nvme_cqe cqe;

		for (int pass = 0; pass < 2; pass++) {
			for (int i = 0; i < n; i++) {
				struct aisio_nvme_sqe cmd;
				uint64_t lba = j->base + (uint64_t)((r * 13 + i) % 512);
				uint8_t *b = buf + (size_t)i * 512 + (pass ? QDEPTH * 512 : 0);

				if (!pass)
					et_fill(b, 512, lba * 1000 + (uint64_t)r);
				else
					memset(b, 0, 512);
				aisio_nvme_cmd_rw(&cmd,
						  pass ? AISIO_NVME_NVM_READ : AISIO_NVME_NVM_WRITE,
						  1, lba, 1, 0);
				cmd.dptr.prp.prp1 = et_bus(b);
				et_push(q, &cmd);
			}
			et_ring(q);
			for (int i = 0; i < n; i++) {
				if (et_reap(q, &cqe, ET_TIMEOUT_MS)) {
					fprintf(stderr, "round %d: no completion on queue %u within %d ms\n",
						r, q->sq.qid, ET_TIMEOUT_MS);
					j->failures++;
					goto out;
				}
				if (cqe.status >> 1) {
					fprintf(stderr, "round %d: queue %u: %s\n", r, q->sq.qid,
						aisio_nvme_status_str(aisio_nvme_cqe_code(cqe.status)));
					j->failures++;
					goto out;
				}
			}
		}
		for (int i = 0; i < n; i++)
			if (memcmp(buf + (size_t)i * 512, buf + QDEPTH * 512 + (size_t)i * 512,
				   512)) {
				/* two writes in one batch may hit one LBA: only the last one counts */
				int later = 0;

				for (int k = i + 1; k < n; k++)
					later |= (r * 13 + k) % 512 == (r * 13 + i) % 512;
				if (!later) {
					fprintf(stderr, "round %d: LBA %llu read back differs\n", r,
						(unsigned long long)(j->base + (uint64_t)((r * 13 + i) % 512)));
					j->failures++;
				}
			}
	}
out:
	free(buf);
	return NULL;
}

static void test_many_controllers(void)
{
	struct et_host h[NCTRL];
	struct et_queue q[NCTRL][2];
	struct job jobs[NCTRL];
	pthread_t th[NCTRL];
	struct aisio_emu_opts o;
	char sn[NCTRL][21];

	aisio_emu_opts_init(&o);
	o.ns_size = 1 << 20;
	for (int i = 0; i < NCTRL; i++) {
		struct aisio_nvme_id_ctrl *id = et_alloc(4096);

		et_open(&h[i], &o);
		et_enable(&h[i]);
		CHECK_EQ(et_identify(&h[i], AISIO_NVME_CNS_CTRL, 0, id), 0);
		memcpy(sn[i], id->sn, 20);
		sn[i][20] = 0;
		for (int k = 0; k < i; k++)
			CHECK(strcmp(sn[i], sn[k]) != 0);
		free(id);
		REQUIRE(et_ioq_create(&h[i], &q[i][0], 1, QDEPTH) == 0);
		REQUIRE(et_ioq_create(&h[i], &q[i][1], 2, QDEPTH) == 0);
		jobs[i] = (struct job){ .q = { &q[i][0], &q[i][1] }, .nq = 2, .base = 0 };
	}
	for (int i = 0; i < NCTRL; i++)
		REQUIRE(pthread_create(&th[i], NULL, job_run, &jobs[i]) == 0);
	for (int i = 0; i < NCTRL; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(jobs[i].failures, 0);
	}
	for (int i = 0; i < NCTRL; i++) {
		struct aisio_emu_stats st;

		aisio_emu_ctrl_stats(h[i].c, &st);
		CHECK(st.io_cmds >= ROUNDS * 2);
		CHECK_EQ(st.errors, 0);
		CHECK_EQ(et_ioq_delete(&h[i], &q[i][0]), 0);
		CHECK_EQ(et_ioq_delete(&h[i], &q[i][1]), 0);
		et_close(&h[i]);
	}
}

static void test_threads(void)
{
	enum { NQ = 6, NJOB = 3 };
	struct et_host h;
	struct et_queue q[NQ];
	struct job jobs[NJOB];
	pthread_t th[NJOB];
	struct aisio_emu_opts o;

	aisio_emu_opts_init(&o);
	o.ns_size = 4 << 20;
	o.threads = 3;
	o.nqueues = NQ;
	et_open(&h, &o);
	et_enable(&h);
	for (int i = 0; i < NQ; i++)
		REQUIRE(et_ioq_create(&h, &q[i], (uint16_t)(i + 1), QDEPTH) == 0);
	for (int i = 0; i < NJOB; i++) {
		jobs[i] = (struct job){ .q = { &q[i], &q[i + NJOB] },
					.nq = 2,
					.base = (uint64_t)i * 1024 };
		REQUIRE(pthread_create(&th[i], NULL, job_run, &jobs[i]) == 0);
	}
	for (int i = 0; i < NJOB; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(jobs[i].failures, 0);
	}
	/* delete and re-create queues served by the other threads, then use them again */
	for (int i = 0; i < NQ; i++)
		CHECK_EQ(et_ioq_delete(&h, &q[i]), 0);
	for (int i = 0; i < NQ; i++)
		REQUIRE(et_ioq_create(&h, &q[i], (uint16_t)(i + 1), QDEPTH) == 0);
	jobs[0] = (struct job){ .q = { &q[4], &q[5] }, .nq = 2, .base = 3000 };
	job_run(&jobs[0]);
	CHECK_EQ(jobs[0].failures, 0);
	/* a reset with queues on every thread */
	for (int i = 0; i < NQ; i++)
		et_ioq_free(&q[i]);
	et_disable(&h);
	et_enable(&h);
	REQUIRE(et_ioq_create(&h, &q[2], 3, QDEPTH) == 0);
	jobs[0] = (struct job){ .q = { &q[2] }, .nq = 1, .base = 0 };
	job_run(&jobs[0]);
	CHECK_EQ(jobs[0].failures, 0);
	et_ioq_free(&q[2]);
	et_close(&h);
}

int main(void)
{
	test_many_controllers();
	test_threads();
	return t_result("emu_multi");
}
