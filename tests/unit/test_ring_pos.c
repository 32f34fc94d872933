/* SPDX-License-Identifier: MIT */
/*
 * aisio_ring_pos: the position of entry N of a ring, as GPU device code
 * computes it from 64-bit running counts (tickets, CQEs consumed), must be
 * where the host's step-by-step ring functions put it, slot and phase tag,
 * across many wraps. Also replays the GPU reaper's look-ahead (lanes read
 * entries head + 0..31 at once and take the run of new ones) against a
 * simulated controller that posts completions with the phase tag.
 */
#include <string.h>

#include <aisio/nvme_ring.h>

#include "t.h"

static void test_steps(uint32_t depth)
{
	struct aisio_nvme_cq cq;
	struct aisio_nvme_sq sq;
	static struct aisio_nvme_cqe ce[70000];
	static struct aisio_nvme_sqe se[4];
	static uint32_t bar[2048];
	uint32_t phase;

	aisio_nvme_cq_init(&cq, ce, bar, 1, depth, 0);
	aisio_nvme_sq_init(&sq, se, bar, 1, depth, 0);
	for (uint64_t n = 0; n < 5ull * depth + 7; n++) {
		CHECK_EQ(aisio_ring_pos(n, depth, &phase), cq.head);
		CHECK_EQ(phase, cq.phase);
		CHECK_EQ(aisio_ring_pos(n, depth, NULL), sq.tail);
		aisio_nvme_cq_advance(&cq);
		aisio_nvme_sq_advance(&sq);
	}
	/* Counts past 32 bits (a GPU ticket counter never wraps in practice). */
	uint64_t big = ((uint64_t)1 << 40) * depth + 1;
	CHECK_EQ(aisio_ring_pos(big, depth, &phase), 1);
	CHECK_EQ(phase, 1);
	CHECK_EQ(aisio_ring_pos(big + depth, depth, &phase), 1);
	CHECK_EQ(phase, 0);
}

/* Controller side: post one completion for @cid at the CQ tail. */
struct ctl {
	struct aisio_nvme_cqe *ring;
	uint32_t depth, tail, phase;
};

static void post(struct ctl *c, uint16_t cid)
{
	struct aisio_nvme_cqe *e = &c->ring[c->tail];

	memset(e, 0, sizeof(*e));
	e->cid = cid;
	e->status = aisio_nvme_cqe_status_with_phase(0, c->phase);
	if (++c->tail == c->depth) {
		c->tail = 0;
		c->phase ^= 1;
	}
}

/* The GPU reaper's pass with @lanes lanes; returns CQEs consumed, checks CIDs arrive in order. */
static uint32_t reap(struct aisio_nvme_cq *cq, uint64_t *count, uint32_t lanes, uint16_t *expect)
{
	uint32_t total = 0;

	for (;;) {
		uint32_t n = 0;
		for (uint32_t pos = 0; pos < lanes; pos++) {
			uint32_t phase;
			uint32_t slot = aisio_ring_pos(*count + pos, cq->depth, &phase);
			if ((cq->entries[slot].status & 1u) != phase)
				break;
			CHECK_EQ(cq->entries[slot].cid, *expect);
			(*expect)++;
			n++;
		}
		*count += n;
		total += n;
		if (n < lanes || total >= cq->depth)
			break;
	}
	if (total)
		cq->head = aisio_ring_pos(*count, cq->depth, &cq->phase);
	return total;
}

static void test_reaper(uint32_t depth, uint32_t lanes)
{
	static struct aisio_nvme_cqe ring[1024];
	static uint32_t bar[2048];
	struct aisio_nvme_cq cq;
	struct ctl c = { ring, depth, 0, 1 };
	uint64_t count = 0, rng = 88172645463325252ull;
	uint16_t next_cid = 0, expect = 0;

	memset(ring, 0, sizeof(ring));
	aisio_nvme_cq_init(&cq, ring, bar, 1, depth, 0);
	for (int round = 0; round < 2000; round++) {
		rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
		/* 0 .. depth - 1 new entries (a ring holds at most depth - 1) */
		uint32_t k = (uint32_t)(rng % depth);
		for (uint32_t i = 0; i < k; i++)
			post(&c, next_cid++);
		CHECK_EQ(reap(&cq, &count, lanes, &expect), k); /* every new entry, in one pass */
		CHECK_EQ(cq.head, c.tail);
		aisio_nvme_cq_ring_db(&cq);
		CHECK_EQ(bar[aisio_nvme_db_offset(1, 1, 0) / 4], c.tail);
	}
	CHECK_EQ(expect, next_cid);
}

int main(void)
{
	static const uint32_t depths[] = { 2, 3, 4, 7, 32, 33, 64, 1024, 65536 };

	for (size_t i = 0; i < sizeof(depths) / sizeof(depths[0]); i++)
		test_steps(depths[i]);
	for (uint32_t lanes = 1; lanes <= 32; lanes *= 2) {
		test_reaper(2, lanes);
		test_reaper(5, lanes);
		test_reaper(33, lanes);
		test_reaper(1024, lanes);
	}
	return t_result("ring_pos");
}
