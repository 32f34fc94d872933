/* SPDX-License-Identifier: MIT */
/*
 * A minimal host for the device-model tests: it drives a controller through
 * its registers and the shared ring header only (no driver), with identity
 * DMA (bus address == pointer).
 */
#ifndef AISIO_TESTS_MODEL_EMU_T_H
#define AISIO_TESTS_MODEL_EMU_T_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aisio/nvme_ring.h>
#include <aisio/nvme_spec.h>

#include "../unit/t.h"
#include "emu/emu.h"
#include "nvme/cmd.h"

/*
 * How long a command, or a controller's state change, may take before the
 * test calls it lost: long, because it only catches a hang, and a sanitizer
 * build on a loaded 2-core machine can keep a controller thread off the CPU
 * for seconds. Tests that expect no completion pass their own short wait.
 */
#define ET_TIMEOUT_MS 30000

struct et_queue {
	struct aisio_nvme_sq sq;
	struct aisio_nvme_cq cq;
	void *sq_mem;
	void *cq_mem;
	uint16_t cid;
};

struct et_host {
	struct aisio_emu_ctrl *c;
	volatile uint8_t *bar;
	uint32_t dstrd;
	struct et_queue aq;
};

static inline void *et_alloc(size_t len)
{
	size_t n = (len + 4095) & ~(size_t)4095;
	void *p = aligned_alloc(4096, n ? n : 4096);

	REQUIRE(p);
	memset(p, 0, n ? n : 4096);
	return p;
}

static inline uint64_t et_bus(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static inline uint32_t et_rd(struct et_host *h, uint32_t off)
{
	return *(volatile uint32_t *)(h->bar + off);
}

static inline void et_wr(struct et_host *h, uint32_t off, uint32_t v)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	*(volatile uint32_t *)(h->bar + off) = v;
}

static inline uint64_t et_rd64(struct et_host *h, uint32_t off)
{
	return et_rd(h, off) | (uint64_t)et_rd(h, off + 4) << 32;
}

static inline void et_wr64(struct et_host *h, uint32_t off, uint64_t v)
{
	et_wr(h, off, (uint32_t)v);
	et_wr(h, off + 4, (uint32_t)(v >> 32));
}

static inline uint64_t et_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait until (CSTS & mask) == val; 0 or -1 on timeout. */
static inline int et_wait_csts(struct et_host *h, uint32_t mask, uint32_t val)
{
	uint64_t end = et_ms() + ET_TIMEOUT_MS;

	while ((et_rd(h, AISIO_NVME_REG_CSTS) & mask) != val)
		if (et_ms() > end)
			return -1;
	return 0;
}

static inline void et_open(struct et_host *h, const struct aisio_emu_opts *o)
{
	int err;

	memset(h, 0, sizeof(*h));
	err = aisio_emu_ctrl_create(o, &h->c);
	if (err) {
		fprintf(stderr, "aisio_emu_ctrl_create: %d\n", err);
		exit(1);
	}
	h->bar = (volatile uint8_t *)aisio_emu_ctrl_bar0(h->c, NULL);
	h->dstrd = aisio_nvme_cap_dstrd(et_rd64(h, AISIO_NVME_REG_CAP));
}

static inline uint32_t et_cc_default(void)
{
	return AISIO_NVME_CC_EN | AISIO_NVME_CC_MPS(12) | AISIO_NVME_CC_IOSQES(6) |
	       AISIO_NVME_CC_IOCQES(4);
}

/* Program the admin queue (depth entries) and enable with @cc. Returns CSTS once RDY or CFS is set. */
static inline uint32_t et_enable_cc(struct et_host *h, uint32_t depth, uint32_t cc)
{
	uint64_t end = et_ms() + ET_TIMEOUT_MS;
	uint32_t csts;

	if (!h->aq.sq_mem) {
		h->aq.sq_mem = et_alloc(4096 * 4);
		h->aq.cq_mem = et_alloc(4096);
	}
	memset(h->aq.sq_mem, 0, 4096 * 4);
	memset(h->aq.cq_mem, 0, 4096);
	aisio_nvme_sq_init(&h->aq.sq, h->aq.sq_mem, h->bar, 0, depth, h->dstrd);
	aisio_nvme_cq_init(&h->aq.cq, h->aq.cq_mem, h->bar, 0, depth, h->dstrd);
	et_wr(h, AISIO_NVME_REG_AQA, AISIO_NVME_AQA(depth, depth));
	et_wr64(h, AISIO_NVME_REG_ASQ, et_bus(h->aq.sq_mem));
	et_wr64(h, AISIO_NVME_REG_ACQ, et_bus(h->aq.cq_mem));
	et_wr(h, AISIO_NVME_REG_CC, cc);
	do {
		csts = et_rd(h, AISIO_NVME_REG_CSTS);
		if (csts & (AISIO_NVME_CSTS_RDY | AISIO_NVME_CSTS_CFS))
			return csts;
	} while (et_ms() < end);
	return csts;
}

static inline void et_enable(struct et_host *h)
{
	uint32_t csts = et_enable_cc(h, 32, et_cc_default());

	REQUIRE(csts == AISIO_NVME_CSTS_RDY);
}

static inline void et_disable(struct et_host *h)
{
	et_wr(h, AISIO_NVME_REG_CC, et_rd(h, AISIO_NVME_REG_CC) & ~(uint32_t)AISIO_NVME_CC_EN);
	REQUIRE(et_wait_csts(h, AISIO_NVME_CSTS_RDY, 0) == 0);
}

static inline void et_close(struct et_host *h)
{
	aisio_emu_ctrl_destroy(h->c);
	free(h->aq.sq_mem);
	free(h->aq.cq_mem);
	h->c = NULL;
}

/* Queue a command (CID assigned here) without ringing the doorbell. */
static inline uint16_t et_push(struct et_queue *q, struct aisio_nvme_sqe *cmd)
{
	REQUIRE(aisio_nvme_sq_space(&q->sq) > 0);
	cmd->cid = q->cid++;
	memcpy(aisio_nvme_sq_slot(&q->sq), cmd, sizeof(*cmd));
	aisio_nvme_sq_advance(&q->sq);
	return cmd->cid;
}

static inline void et_ring(struct et_queue *q)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	aisio_nvme_sq_ring_db(&q->sq);
}

/* Next completion within @ms, or -1. Frees SQ space from SQHD and rings the CQ doorbell. */
static inline int et_reap(struct et_queue *q, struct aisio_nvme_cqe *out, uint32_t ms)
{
	uint64_t end = et_ms() + ms;
	volatile struct aisio_nvme_cqe *e;

	while (!(e = aisio_nvme_cq_peek(&q->cq)))
		if (et_ms() > end)
			return -1;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	out->dw0 = e->dw0;
	out->dw1 = e->dw1;
	out->sqhd = e->sqhd;
	out->sqid = e->sqid;
	out->cid = e->cid;
	out->status = e->status;
	q->sq.head = out->sqhd;
	aisio_nvme_cq_advance(&q->cq);
	aisio_nvme_cq_ring_db(&q->cq);
	return 0;
}

/* Submit one command and wait for it: returns SCT << 8 | SC, or -1 on timeout. */
static inline int et_cmd(struct et_queue *q, struct aisio_nvme_sqe *cmd, uint32_t *dw0)
{
	struct aisio_nvme_cqe cqe;
	uint16_t cid = et_push(q, cmd);

	et_ring(q);
	if (et_reap(q, &cqe, ET_TIMEOUT_MS))
		return -1;
	CHECK_EQ(cqe.cid, cid);
	if (dw0)
		*dw0 = cqe.dw0;
	return (int)aisio_nvme_cqe_code(cqe.status);
}

static inline int et_admin(struct et_host *h, struct aisio_nvme_sqe *cmd, uint32_t *dw0)
{
	return et_cmd(&h->aq, cmd, dw0);
}

/* PRP1 (+PRP2) for a buffer of at most two pages. */
static inline void et_prp_simple(struct aisio_nvme_sqe *cmd, void *buf, size_t len)
{
	uint64_t b = et_bus(buf);
	size_t first = 4096 - (b & 4095);

	cmd->dptr.prp.prp1 = b;
	cmd->dptr.prp.prp2 = len > first ? ((b + first) & ~4095ull) : 0;
}

static inline int et_identify(struct et_host *h, uint8_t cns, uint32_t nsid, void *buf4k)
{
	struct aisio_nvme_sqe cmd;

	aisio_nvme_cmd_identify(&cmd, cns, nsid, 0);
	et_prp_simple(&cmd, buf4k, 4096);
	return et_admin(h, &cmd, NULL);
}

/* Create I/O CQ and SQ @qid of @depth entries; returns the first failing status. */
static inline int et_ioq_create(struct et_host *h, struct et_queue *q, uint16_t qid, uint32_t depth)
{
	struct aisio_nvme_sqe cmd;
	size_t sqb = (size_t)depth * 64, cqb = (size_t)depth * 16;
	int st;

	memset(q, 0, sizeof(*q));
	q->sq_mem = et_alloc(sqb);
	q->cq_mem = et_alloc(cqb);
	aisio_nvme_sq_init(&q->sq, q->sq_mem, h->bar, qid, depth, h->dstrd);
	aisio_nvme_cq_init(&q->cq, q->cq_mem, h->bar, qid, depth, h->dstrd);
	aisio_nvme_cmd_create_cq(&cmd, qid, depth, et_bus(q->cq_mem), 0, 0);
	st = et_admin(h, &cmd, NULL);
	if (st)
		return st;
	aisio_nvme_cmd_create_sq(&cmd, qid, depth, et_bus(q->sq_mem), qid);
	return et_admin(h, &cmd, NULL);
}

static inline void et_ioq_free(struct et_queue *q)
{
	free(q->sq_mem);
	free(q->cq_mem);
	q->sq_mem = q->cq_mem = NULL;
}

static inline int et_ioq_delete(struct et_host *h, struct et_queue *q)
{
	struct aisio_nvme_sqe cmd;
	int st;

	aisio_nvme_cmd_delete_queue(&cmd, AISIO_NVME_ADM_DELETE_SQ, q->sq.qid);
	st = et_admin(h, &cmd, NULL);
	if (st)
		return st;
	aisio_nvme_cmd_delete_queue(&cmd, AISIO_NVME_ADM_DELETE_CQ, q->cq.qid);
	st = et_admin(h, &cmd, NULL);
	et_ioq_free(q);
	return st;
}

/* xorshift pattern for data checks */
static inline void et_fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

#endif
