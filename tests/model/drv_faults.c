/* SPDX-License-Identifier: MIT */
/*
 * Every injected fault ends in a clean error: an error status reaches the
 * caller (I/O and admin), a dropped completion becomes -ETIMEDOUT and keeps
 * its CID reserved until the late completion or a reset, and controller
 * fatal status becomes -EIO until a reset brings the same queues back.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mt.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int add_fault(struct aisio_emu_ctrl *e, enum aisio_emu_fault_action a, int qid, int opc,
		     uint32_t status, uint32_t count)
{
	struct aisio_emu_fault f = { .action = a, .qid = qid, .opc = opc, .status = status, .count = count };
	int id = aisio_emu_fault_add(e, &f);

	REQUIRE(id >= 0);
	return id;
}

/* Free CIDs right now: take them all, then give them back. */
static uint32_t free_slots(struct aisio_queue *q)
{
	struct aisio_io *ios[1024];
	uint32_t n = 0;

	while (n < 1024 && (ios[n] = aisio_queue_get_io(q)))
		n++;
	for (uint32_t i = 0; i < n; i++)
		aisio_queue_put_io(q, ios[i]);
	return n;
}

static void test_status(struct aisio_dev *dev, struct aisio_queue *q, void *buf)
{
	struct aisio_emu_ctrl *e = mt_emu(dev);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_nvme_id_ctrl id;
	int st, fid;

	fid = add_fault(e, AISIO_EMU_FAULT_STATUS, -1, AISIO_NVME_NVM_READ, AISIO_NVME_SC_READ_ERROR, 1);
	st = mt_read(q, g->nsid, 0, 1, buf, 512);
	CHECK_EQ(st, AISIO_NVME_SC_READ_ERROR);
	CHECK(strstr(aisio_status_str(st), "Unrecovered Read Error") != NULL ||
	      strstr(aisio_status_str(st), "Read") != NULL);
	printf("injected read error: %s\n", aisio_status_str(st));
	CHECK_EQ(aisio_emu_fault_hits(e, fid), 1);
	CHECK_EQ(mt_read(q, g->nsid, 0, 1, buf, 512), 0);

	/* On the admin queue */
	add_fault(e, AISIO_EMU_FAULT_STATUS, 0, AISIO_NVME_ADM_IDENTIFY, AISIO_NVME_SC_INTERNAL, 1);
	st = aisio_dev_identify_ctrl(dev, &id);
	CHECK_EQ(st, AISIO_NVME_SC_INTERNAL);
	CHECK(strstr(aisio_errmsg(), "Internal Error") != NULL);
	printf("injected admin error: %s\n", aisio_errmsg());
	CHECK_EQ(aisio_dev_identify_ctrl(dev, &id), 0);
	aisio_emu_fault_clear(e);
}

static int cb_calls, cb_status;

static void on_done(struct aisio_io *io, void *arg)
{
	cb_calls++;
	cb_status = io->status;
}

static void test_drop(struct aisio_dev *dev, struct aisio_queue *q, void *buf)
{
	struct aisio_emu_ctrl *e = mt_emu(dev);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	uint32_t depth = aisio_queue_depth(q);
	struct aisio_nvme_id_ctrl id;
	struct aisio_io *io;
	uint64_t t0, ms;
	int st;

	add_fault(e, AISIO_EMU_FAULT_DROP, -1, AISIO_NVME_NVM_READ, 0, 1);
	io = mt_get(q);
	aisio_io_set_cb(io, on_done, NULL);
	aisio_prep_read(io, g->nsid, 0, 1, buf, 512);
	cb_calls = 0;
	t0 = now_ms();
	CHECK_EQ(aisio_queue_submit(q), 1);
	while (aisio_queue_outstanding(q))
		CHECK(aisio_queue_reap(q, 0) >= 0);
	ms = now_ms() - t0;
	CHECK_EQ(cb_calls, 1);
	CHECK_EQ(cb_status, -ETIMEDOUT);
	CHECK(strstr(aisio_errmsg(), "timed out") != NULL);
	CHECK(ms >= 290 && ms < 5000);
	printf("dropped completion: %s (after %llu ms)\n", aisio_errmsg(), (unsigned long long)ms);
	/* The CID stays reserved: the controller may still answer for it. */
	CHECK_EQ(free_slots(q), depth - 1);
	CHECK_EQ(mt_read(q, g->nsid, 0, 1, buf, 512), 0);

	/* A dropped admin completion */
	add_fault(e, AISIO_EMU_FAULT_DROP, 0, AISIO_NVME_ADM_IDENTIFY, 0, 1);
	st = aisio_dev_identify_ctrl(dev, &id);
	CHECK_EQ(st, -ETIMEDOUT);
	printf("dropped admin completion: %s\n", aisio_errmsg());
	CHECK_EQ(aisio_dev_identify_ctrl(dev, &id), 0);
	aisio_emu_fault_clear(e);

	/* A reset releases the reserved CID. */
	CHECK_EQ(aisio_dev_reset(dev), 0);
	CHECK_EQ(free_slots(q), depth);
	CHECK_EQ(mt_read(q, g->nsid, 0, 1, buf, 512), 0);
}

/*
 * A late completion frees its reserved CID and completes nothing else. The
 * answer comes 3 s after submission, far after the 100 ms timeout, so that
 * a loaded machine cannot reorder the two.
 */
static void test_late(void)
{
	struct aisio_open_opts o = { .timeout_ms = 100 };
	struct aisio_dev *dev = mt_open("emu:8M,latency_us=3000000", &o);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_queue *q = mt_queue(dev, 2); /* one CID */
	void *buf = aisio_buf_alloc(dev, 4096);
	struct aisio_nvme_qpair *qp = aisio_nvme_qpair_of(q);
	struct aisio_io *io;
	uint64_t t0 = now_ms();

	REQUIRE(buf);
	io = mt_get(q);
	aisio_io_set_cb(io, on_done, NULL);
	aisio_prep_read(io, g->nsid, 0, 1, buf, 512);
	cb_calls = 0;
	CHECK_EQ(aisio_queue_submit(q), 1);
	while (aisio_queue_outstanding(q))
		CHECK(aisio_queue_reap(q, 0) >= 0);
	CHECK_EQ(cb_calls, 1);
	CHECK_EQ(cb_status, -ETIMEDOUT);
	CHECK(now_ms() - t0 < 2900);
	CHECK(aisio_queue_get_io(q) == NULL);
	/* The answer arrives about 3 s after submission: the CID comes back, no callback runs. */
	while (!(io = aisio_queue_get_io(q)) && now_ms() - t0 < 20000)
		CHECK(aisio_queue_reap(q, 0) >= 0);
	CHECK(io != NULL);
	CHECK(now_ms() - t0 >= 2990);
	CHECK_EQ(cb_calls, 1);
	CHECK_EQ(qp->stray, 0);
	if (io)
		aisio_queue_put_io(q, io);
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
}

static int fatal_calls, fatal_eio;

static void on_fatal(struct aisio_io *io, void *arg)
{
	fatal_calls++;
	if (io->status == -EIO)
		fatal_eio++;
}

static void test_fatal(const char *how)
{
	struct aisio_dev *dev = mt_open("emu:8M,latency_us=20000", NULL);
	struct aisio_emu_ctrl *e = mt_emu(dev);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_queue *q = mt_queue(dev, 16), *q2 = mt_queue(dev, 8);
	uint8_t *buf = aisio_buf_alloc(dev, 16 * 512);
	struct aisio_nvme_id_ctrl id;
	struct aisio_io *io;
	int r = 0;

	REQUIRE(buf);
	fatal_calls = fatal_eio = 0;
	for (int i = 0; i < 8; i++) {
		io = mt_get(q);
		aisio_io_set_cb(io, on_fatal, NULL);
		aisio_prep_read(io, g->nsid, (uint64_t)i, 1, buf + i * 512, 512);
	}
	if (!strcmp(how, "inject"))
		add_fault(e, AISIO_EMU_FAULT_FATAL, -1, AISIO_NVME_NVM_READ, 0, 1);
	CHECK_EQ(aisio_queue_submit(q), 8);
	if (!strcmp(how, "call"))
		aisio_emu_ctrl_fatal(e);
	while (aisio_queue_outstanding(q) && (r = aisio_queue_reap(q, 0)) >= 0)
		;
	CHECK_EQ(r, -EIO);
	CHECK(strstr(aisio_errmsg(), "fatal") != NULL);
	printf("fatal (%s): %s\n", how, aisio_errmsg());
	CHECK_EQ(aisio_queue_outstanding(q), 0);
	CHECK_EQ(fatal_calls, 8);
	CHECK_EQ(fatal_eio, 8);
	CHECK(aisio_nvme_ctrl_failed(aisio_upci_ctrl(dev)));
	/* Everything else fails fast and says why. */
	CHECK_EQ(mt_read(q2, g->nsid, 0, 1, buf, 512), -EIO);
	CHECK_EQ(aisio_dev_identify_ctrl(dev, &id), -EIO);
	CHECK_EQ(aisio_queue_reap(q2, 0), -EIO);

	CHECK_EQ(aisio_dev_reset(dev), 0);
	CHECK(!aisio_nvme_ctrl_failed(aisio_upci_ctrl(dev)));
	aisio_emu_fault_clear(e);
	CHECK_EQ(free_slots(q), 15);
	CHECK_EQ(mt_read(q, g->nsid, 0, 1, buf, 512), 0);
	CHECK_EQ(mt_read(q2, g->nsid, 0, 1, buf, 512), 0);
	CHECK_EQ(aisio_dev_identify_ctrl(dev, &id), 0);
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_queue_term(q2);
	aisio_dev_close(dev);
}

int main(void)
{
	struct aisio_open_opts o = { .timeout_ms = 300 };
	struct aisio_dev *dev = mt_open("emu:8M", &o);
	struct aisio_queue *q = mt_queue(dev, 8);
	void *buf = aisio_buf_alloc(dev, 4096);

	REQUIRE(buf);
	test_status(dev, q, buf);
	test_drop(dev, q, buf);
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);

	test_late();
	test_fatal("inject");
	test_fatal("call");
	return t_result("drv_faults");
}
