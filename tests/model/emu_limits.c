/* SPDX-License-Identifier: MIT */
/*
 * Device model, latency and rate limits: every I/O completes no earlier than
 * latency_us after it was fetched; an IOPS limit and a bandwidth limit pace
 * completions; admin commands are not delayed. Only lower bounds are
 * asserted (a loaded machine can only make things slower).
 */
#include "emu_t.h"

static uint64_t us_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* @n reads of @nlb blocks, at most @qd in flight; returns elapsed microseconds. */
static uint64_t run_reads(struct et_queue *q, int n, int qd, uint32_t nlb, uint8_t *buf)
{
	uint64_t t0 = us_now();
	int sent = 0, done = 0, inflight = 0;
	struct aisio_nvme_cqe cqe;

	while (done < n) {
		while (sent < n && inflight < qd) {
			struct aisio_nvme_sqe cmd;

			aisio_nvme_cmd_read(&cmd, 1, (uint64_t)(sent % 64) * nlb, nlb);
			et_prp_simple(&cmd, buf, (size_t)nlb * 512);
			et_push(q, &cmd);
			sent++;
			inflight++;
		}
		et_ring(q);
		if (et_reap(q, &cqe, ET_TIMEOUT_MS)) {
			fprintf(stderr, "no completion after %d of %d\n", done, n);
			t_failures++;
			break;
		}
		CHECK_EQ(cqe.status >> 1, 0);
		done++;
		inflight--;
	}
	return us_now() - t0;
}

static void with_opts(uint32_t latency_us, uint64_t iops, uint64_t bw, int n, int qd, uint32_t nlb,
		      uint64_t min_us, const char *what)
{
	struct aisio_emu_opts o;
	struct et_host h;
	struct et_queue q;
	uint8_t *buf = et_alloc(8192);
	uint64_t t;

	aisio_emu_opts_init(&o);
	o.ns_size = 1 << 20;
	o.latency_us = latency_us;
	o.iops = iops;
	o.bw = bw;
	et_open(&h, &o);
	et_enable(&h);
	REQUIRE(et_ioq_create(&h, &q, 1, 32) == 0);
	t = run_reads(&q, n, qd, nlb, buf);
	printf("%s: %d reads in %llu us (at least %llu expected)\n", what, n, (unsigned long long)t,
	       (unsigned long long)min_us);
	CHECK(t >= min_us);
	CHECK_EQ(et_ioq_delete(&h, &q), 0);
	et_close(&h);
	free(buf);
}

/*
 * Admin commands are not paced: with a read held back by a 10 s latency, an
 * admin command completes while that read is still outstanding. Asserted as
 * an order of events, not as a time, so a loaded machine cannot fail it.
 */
static void admin_not_paced(void)
{
	struct aisio_emu_opts o;
	struct et_host h;
	struct et_queue q;
	uint8_t *buf = et_alloc(4096);
	struct aisio_nvme_sqe cmd;
	struct aisio_nvme_cqe cqe;

	aisio_emu_opts_init(&o);
	o.ns_size = 1 << 20;
	o.latency_us = 10 * 1000 * 1000;
	et_open(&h, &o);
	et_enable(&h);
	REQUIRE(et_ioq_create(&h, &q, 1, 32) == 0);
	aisio_nvme_cmd_read(&cmd, 1, 0, 1);
	et_prp_simple(&cmd, buf, 512);
	et_push(&q, &cmd);
	et_ring(&q);
	aisio_nvme_cmd_get_features(&cmd, AISIO_NVME_FEAT_NUM_QUEUES, 0, 0);
	CHECK_EQ(et_admin(&h, &cmd, NULL), 0);
	/* the read is still held back: its completion has not been posted */
	CHECK(et_reap(&q, &cqe, 0) != 0);
	printf("admin command completed while a read waits out its 10 s latency\n");
	et_disable(&h);
	et_ioq_free(&q);
	et_close(&h);
	free(buf);
}

int main(void)
{
	admin_not_paced();
	/* 20 ms latency: 10 sequential reads take 200 ms at least */
	with_opts(20000, 0, 0, 10, 1, 1, 200000, "latency 20 ms, qd 1");
	/* the same latency overlaps at qd 10: one latency for the batch... and still at least one */
	with_opts(20000, 0, 0, 10, 10, 1, 20000, "latency 20 ms, qd 10");
	/* 2000 IOPS: 200 reads take 100 ms at least, whatever the queue depth */
	with_opts(0, 2000, 0, 200, 16, 1, 99000, "2000 IOPS, qd 16");
	/* 1 MiB/s: 64 reads of 4 KiB (256 KiB) take 250 ms at least */
	with_opts(0, 0, 1 << 20, 64, 16, 8, 249000, "1 MiB/s, qd 16");
	return t_result("emu_limits");
}
