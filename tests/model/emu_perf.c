/* SPDX-License-Identifier: MIT */
/*
 * Device model throughput: 512-byte random reads at queue depth 128 against
 * null namespaces, driven by a minimal host loop (ring header only: one SQ
 * doorbell per submitted batch, one CQ doorbell per reaped batch). As a test
 * it checks every command succeeds; as a tool it prints what the model can
 * serve:  emu_perf [SECONDS [CONTROLLERS [QDEPTH]]]
 */
#include <pthread.h>

#include "emu_t.h"

struct perf_job {
	struct et_host h;
	struct et_queue q;
	uint32_t qd;
	double seconds;
	uint64_t done;
	uint64_t errors;
	uint8_t *buf;
};

static void *perf_run(void *arg)
{
	struct perf_job *j = arg;
	struct et_queue *q = &j->q;
	uint64_t x = 88172645463325252ull, end = et_ms() + (uint64_t)(j->seconds * 1000);
	uint32_t inflight = 0, check = 0;

	for (;;) {
		volatile struct aisio_nvme_cqe *e;
		uint32_t reaped = 0;

		while (inflight < j->qd) {
			struct aisio_nvme_sqe *s = aisio_nvme_sq_slot(&q->sq);

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			aisio_nvme_cmd_read(s, 1, x % 2000000, 1);
			s->cid = (uint16_t)q->sq.tail;
			s->dptr.prp.prp1 = et_bus(j->buf);
			aisio_nvme_sq_advance(&q->sq);
			inflight++;
		}
		__atomic_thread_fence(__ATOMIC_RELEASE);
		aisio_nvme_sq_ring_db(&q->sq);
		while ((e = aisio_nvme_cq_peek(&q->cq))) {
			j->errors += (e->status >> 1) != 0;
			aisio_nvme_cq_advance(&q->cq);
			reaped++;
		}
		if (reaped) {
			aisio_nvme_cq_ring_db(&q->cq);
			inflight -= reaped;
			j->done += reaped;
		}
		if (++check == 4096) {
			check = 0;
			if (et_ms() > end)
				break;
		}
	}
	/* drain */
	{
		uint64_t stop = et_ms() + ET_TIMEOUT_MS;
		while (inflight && et_ms() < stop) {
			volatile struct aisio_nvme_cqe *e;

			while ((e = aisio_nvme_cq_peek(&q->cq))) {
				j->errors += (e->status >> 1) != 0;
				aisio_nvme_cq_advance(&q->cq);
				inflight--;
				j->done++;
			}
			aisio_nvme_cq_ring_db(&q->cq);
		}
		j->errors += inflight;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 0.5;
	int n = argc > 2 ? atoi(argv[2]) : 1;
	uint32_t qd = argc > 3 ? (uint32_t)atoi(argv[3]) : 128;
	struct perf_job *jobs;
	pthread_t *th;
	struct aisio_emu_opts o;
	uint64_t total = 0, t0, t1;

	REQUIRE(n >= 1 && n <= 64 && qd >= 1 && qd < 1024);
	jobs = calloc((size_t)n, sizeof(*jobs));
	th = calloc((size_t)n, sizeof(*th));
	REQUIRE(jobs && th);
	aisio_emu_opts_init(&o);
	o.ns_size = 1ull << 30;
	o.backing = AISIO_EMU_NULL;
	for (int i = 0; i < n; i++) {
		jobs[i].qd = qd;
		jobs[i].seconds = seconds;
		jobs[i].buf = et_alloc(4096);
		et_open(&jobs[i].h, &o);
		et_enable(&jobs[i].h);
		REQUIRE(et_ioq_create(&jobs[i].h, &jobs[i].q, 1, 1024) == 0);
	}
	t0 = et_ms();
	for (int i = 0; i < n; i++)
		REQUIRE(pthread_create(&th[i], NULL, perf_run, &jobs[i]) == 0);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	t1 = et_ms();
	for (int i = 0; i < n; i++) {
		struct aisio_emu_stats st;

		aisio_emu_ctrl_stats(jobs[i].h.c, &st);
		CHECK_EQ(jobs[i].errors, 0);
		CHECK_EQ(st.reads, jobs[i].done);
		total += jobs[i].done;
		et_ioq_free(&jobs[i].q);
		et_close(&jobs[i].h);
		free(jobs[i].buf);
	}
	CHECK(total > 0);
	printf("emu_perf: %d controller(s), qd %u, 512 B random reads on null namespaces: %.0f IOPS total "
	       "(%.0f per controller) over %.2f s\n",
	       n, qd, total * 1000.0 / (double)(t1 - t0), total * 1000.0 / (double)(t1 - t0) / n,
	       (double)(t1 - t0) / 1000);
	free(jobs);
	free(th);
	return t_result("emu_perf");
}
