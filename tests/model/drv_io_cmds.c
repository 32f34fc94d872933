/* SPDX-License-Identifier: MIT */
/*
 * Every I/O command through the public API: Read, Write, Flush, Write
 * Zeroes, Dataset Management (deallocate), Compare (match and mismatch),
 * and the statuses and errors of bad ones (LBA out of range, invalid
 * opcode, invalid namespace, too large, not DMA memory).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mt.h"

static int run(struct aisio_io *io)
{
	return aisio_io_sync(io);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_cmds(const char *uri)
{
	struct aisio_dev *dev = mt_open(uri, NULL);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_queue *q = mt_queue(dev, 32);
	const uint32_t lbs = g->lba_size, nlb = 16384 / lbs;
	uint8_t *w = aisio_buf_alloc(dev, 16384), *r = aisio_buf_alloc(dev, 16384);
	struct aisio_nvme_dsm_range *ranges = aisio_buf_alloc(dev, 4096);
	struct aisio_io *io;
	uint8_t stackbuf[512];
	int st;

	REQUIRE(w && r && ranges);
	printf("%s: lba %u, %llu lbas\n", uri, lbs, (unsigned long long)g->nlbas);

	/* Write then Read */
	mt_fill(w, 16384, 1);
	CHECK_EQ(mt_write(q, g->nsid, 64, nlb, w, 16384), 0);
	memset(r, 0, 16384);
	CHECK_EQ(mt_read(q, g->nsid, 64, nlb, r, 16384), 0);
	CHECK_EQ(mt_check(r, 16384, 1), -1);

	/* Flush: this namespace and all namespaces */
	io = mt_get(q);
	aisio_prep_flush(io, g->nsid);
	CHECK_EQ(run(io), 0);
	io = mt_get(q);
	aisio_prep_flush(io, 0xffffffff);
	CHECK_EQ(run(io), 0);

	/* Compare: equal, then one byte off */
	io = mt_get(q);
	aisio_prep_compare(io, g->nsid, 64, nlb, w, 16384);
	CHECK_EQ(run(io), 0);
	w[5000] ^= 1;
	io = mt_get(q);
	aisio_prep_compare(io, g->nsid, 64, nlb, w, 16384);
	st = run(io);
	CHECK_EQ(st, AISIO_NVME_SC_COMPARE_FAILED);
	printf("compare mismatch: %s\n", aisio_status_str(st));
	w[5000] ^= 1;

	/* Write Zeroes over the middle half */
	io = mt_get(q);
	aisio_prep_write_zeroes(io, g->nsid, 64 + nlb / 4, nlb / 2, 0);
	CHECK_EQ(run(io), 0);
	CHECK_EQ(mt_read(q, g->nsid, 64, nlb, r, 16384), 0);
	CHECK(memcmp(r, w, 4096) == 0);
	CHECK(all_zero(r + 4096, 8192));
	CHECK(memcmp(r + 12288, w + 12288, 4096) == 0);

	/* Write Zeroes with deallocate, and DSM deallocate of two ranges */
	CHECK_EQ(mt_write(q, g->nsid, 64, nlb, w, 16384), 0);
	io = mt_get(q);
	aisio_prep_write_zeroes(io, g->nsid, 64, 1, 1);
	CHECK_EQ(run(io), 0);
	memset(ranges, 0, 4096);
	ranges[0].slba = 64 + 1;
	ranges[0].nlb = 1;
	ranges[1].slba = 64 + nlb - 1;
	ranges[1].nlb = 1;
	io = mt_get(q);
	aisio_prep_dsm(io, g->nsid, ranges, 2, AISIO_NVME_DSM_AD);
	CHECK_EQ(run(io), 0);
	CHECK_EQ(mt_read(q, g->nsid, 64, nlb, r, 16384), 0);
	/* DLFEAT says deallocated blocks read as zeroes. */
	CHECK(all_zero(r, 2 * lbs));
	CHECK(memcmp(r + 2 * lbs, w + 2 * lbs, 16384 - 3 * lbs) == 0);
	CHECK(all_zero(r + 16384 - lbs, lbs));

	/* LBA out of range: start beyond the end, and a range running over it */
	st = mt_read(q, g->nsid, g->nlbas, 1, r, lbs);
	CHECK_EQ(st, AISIO_NVME_SC_LBA_RANGE);
	printf("read at %llu: %s\n", (unsigned long long)g->nlbas, aisio_status_str(st));
	CHECK_EQ(mt_write(q, g->nsid, g->nlbas - 1, 2, w, 2 * lbs), AISIO_NVME_SC_LBA_RANGE);
	CHECK_EQ(mt_read(q, g->nsid, g->nlbas - 1, 1, r, lbs), 0);

	/* Invalid opcode, invalid namespace */
	{
		struct aisio_nvme_sqe cmd;

		memset(&cmd, 0, sizeof(cmd));
		cmd.opc = 0x7f;
		cmd.nsid = g->nsid;
		io = mt_get(q);
		aisio_prep_cmd(io, &cmd, NULL, 0);
		CHECK_EQ(run(io), AISIO_NVME_SC_INVALID_OPCODE);
	}
	CHECK_EQ(mt_read(q, 77, 0, 1, r, lbs), AISIO_NVME_SC_INVALID_NS);
	CHECK_EQ(mt_read(q, 0, 0, 1, r, lbs), AISIO_NVME_SC_INVALID_NS);

	/* Driver-side errors: they complete at the next reap with -errno and the queue goes on. */
	{
		uint8_t *big = aisio_buf_alloc(dev, g->max_xfer + 4096);
		REQUIRE(big);
		st = mt_read(q, g->nsid, 0, (g->max_xfer + lbs) / lbs, big, g->max_xfer + lbs);
		CHECK_EQ(st, -E2BIG);
		printf("too large: %s\n", aisio_errmsg());
		CHECK_EQ(mt_read(q, g->nsid, 0, g->max_xfer / lbs, big, g->max_xfer), 0);
		aisio_buf_free(dev, big);
	}
	/* aisio_io.len is 32 bits: 4 GiB + 512 bytes must not become 512 and read one block. */
	if (sizeof(size_t) > 4) {
		struct aisio_io *io = aisio_queue_get_io(q);

		REQUIRE(io);
		aisio_prep_read(io, g->nsid, 0, 1, r, (size_t)((4ull << 30) + 512));
		CHECK_EQ(io->len, UINT32_MAX);
		st = run(io);
		CHECK(st < 0);
		printf("beyond 4 GiB: %s\n", aisio_errmsg());
	}
	st = mt_read(q, g->nsid, 0, 1, stackbuf, lbs < sizeof(stackbuf) ? lbs : sizeof(stackbuf));
	CHECK_EQ(st, -EFAULT);
	CHECK(strstr(aisio_errmsg(), "aisio_buf_alloc") != NULL);
	printf("stack buffer: %s\n", aisio_errmsg());
	CHECK_EQ(mt_read(q, g->nsid, 64, nlb, r, 16384), 0);
	CHECK_EQ(aisio_queue_outstanding(q), 0);

	aisio_buf_free(dev, w);
	aisio_buf_free(dev, r);
	aisio_buf_free(dev, ranges);
	aisio_queue_term(q);
	aisio_dev_close(dev);
}

/* Callbacks, batches and put_io on one queue. */
static int cb_count, cb_bad;

static void on_done(struct aisio_io *io, void *arg)
{
	cb_count++;
	if (io->status != 0 || (uintptr_t)arg != io->cid + 1000u)
		cb_bad++;
}

static void test_async(void)
{
	struct aisio_dev *dev = mt_open("emu:8M", NULL);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_queue *q = mt_queue(dev, 64);
	uint8_t *buf = aisio_buf_alloc(dev, 63 * 512);
	struct aisio_io *ios[63], *extra;
	int n;

	REQUIRE(buf);
	for (int i = 0; i < 63; i++) {
		ios[i] = aisio_queue_get_io(q);
		REQUIRE(ios[i]);
		aisio_io_set_cb(ios[i], on_done, (void *)(uintptr_t)(ios[i]->cid + 1000u));
		aisio_prep_read(ios[i], g->nsid, (uint64_t)i, 1, buf + i * 512, 512);
	}
	CHECK(aisio_queue_get_io(q) == NULL);
	/* Two taken slots go back unsubmitted. */
	aisio_queue_put_io(q, ios[10]);
	aisio_queue_put_io(q, ios[62]);
	n = aisio_queue_submit(q);
	CHECK_EQ(n, 61);
	CHECK_EQ(aisio_queue_outstanding(q), 61);
	CHECK_EQ(aisio_queue_submit(q), 0);
	extra = aisio_queue_get_io(q);
	CHECK(extra != NULL);
	aisio_queue_put_io(q, extra);
	CHECK_EQ(aisio_queue_wait(q), 0);
	CHECK_EQ(cb_count, 61);
	CHECK_EQ(cb_bad, 0);
	CHECK_EQ(aisio_queue_reap(q, 0), 0);
	/* Every slot was used with a callback: fresh slots carry none, so a
	 * synchronous command calls nothing else. */
	for (int i = 0; i < 64; i++) {
		ios[i % 63] = aisio_queue_get_io(q);
		REQUIRE(ios[i % 63]);
		CHECK(ios[i % 63]->cb == NULL && ios[i % 63]->cb_arg == NULL);
		aisio_prep_read(ios[i % 63], g->nsid, 0, 1, buf, 512);
		CHECK_EQ(aisio_io_sync(ios[i % 63]), 0);
	}
	CHECK_EQ(cb_count, 61);
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
}

/* Buffers beyond the first DMA chunk: the heap grows, every piece stays usable. */
static void test_buffers(void)
{
	struct aisio_dev *dev = mt_open("emu:64M", NULL);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_queue *q = mt_queue(dev, 8);
	uint8_t *bufs[40];

	for (int i = 0; i < 40; i++) {
		bufs[i] = aisio_buf_alloc(dev, 1u << 20);
		REQUIRE(bufs[i]);
		CHECK_EQ((uintptr_t)bufs[i] % g->buf_align, 0);
		mt_fill(bufs[i], 4096, 100 + (uint64_t)i);
		CHECK_EQ(mt_write(q, g->nsid, (uint64_t)i * 8, 8, bufs[i], 4096), 0);
	}
	for (int i = 0; i < 40; i++) {
		memset(bufs[i], 0, 4096);
		CHECK_EQ(mt_read(q, g->nsid, (uint64_t)i * 8, 8, bufs[i], 4096), 0);
		CHECK_EQ(mt_check(bufs[i], 4096, 100 + (uint64_t)i), -1);
		aisio_buf_free(dev, bufs[i]);
	}
	aisio_queue_term(q);
	aisio_dev_close(dev);
}

/* The data pointer the driver put in the SQ: PRP by default, SGL with sgl=1. */
static void test_dptr_kind(const char *uri, uint8_t psdt)
{
	struct aisio_dev *dev = mt_open(uri, NULL);
	struct aisio_queue *q = mt_queue(dev, 8);
	struct aisio_nvme_qpair *qp = aisio_nvme_qpair_of(q);
	uint8_t *buf = aisio_buf_alloc(dev, 3 * 4096);
	const struct aisio_nvme_sqe *sqe;

	REQUIRE(buf);
	CHECK_EQ(mt_read(q, 1, 0, 1, buf, 512), 0);
	sqe = &qp->sq.entries[(qp->sq.tail + qp->sq.depth - 1) % qp->sq.depth];
	CHECK_EQ(sqe->flags & AISIO_NVME_PSDT_MASK, psdt);
	CHECK_EQ(sqe->opc, AISIO_NVME_NVM_READ);
	if (psdt == AISIO_NVME_PSDT_PRP) {
		CHECK_EQ(sqe->dptr.prp.prp1, (uintptr_t)buf);
		CHECK_EQ(sqe->dptr.prp.prp2, 0);
		/* Two pages from an offset: PRP1 at the offset, PRP2 the next page. */
		CHECK_EQ(mt_read(q, 1, 0, 8, buf + 2048, 4096), 0);
		sqe = &qp->sq.entries[(qp->sq.tail + qp->sq.depth - 1) % qp->sq.depth];
		CHECK_EQ(sqe->dptr.prp.prp1, (uintptr_t)buf + 2048);
		CHECK_EQ(sqe->dptr.prp.prp2, (uintptr_t)buf + 4096);
		/* Three pages: PRP2 points at a list that is not the buffer. */
		CHECK_EQ(mt_read(q, 1, 0, 16, buf + 2048, 8192), 0);
		sqe = &qp->sq.entries[(qp->sq.tail + qp->sq.depth - 1) % qp->sq.depth];
		CHECK(sqe->dptr.prp.prp2 != 0 && sqe->dptr.prp.prp2 != (uintptr_t)buf + 4096);
	} else {
		CHECK_EQ(sqe->dptr.sgl1.addr, (uintptr_t)buf);
		CHECK_EQ(sqe->dptr.sgl1.length, 512);
	}
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
}

int main(void)
{
	test_buffers();
	test_dptr_kind("emu:8M", AISIO_NVME_PSDT_PRP);
	test_dptr_kind("emu:8M,sgl=1", AISIO_NVME_PSDT_SGL_MPTR_CONTIG);
	test_cmds("emu:8M");
	test_cmds("emu:8M,lbads=12");
	test_cmds("emu:8M,sgl=1");
	test_async();
	return t_result("drv_io_cmds");
}
