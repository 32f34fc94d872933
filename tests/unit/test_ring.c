/* SPDX-License-Identifier: MIT */
/*
 * The queue ring: head/tail arithmetic, full and empty, doorbell offsets
 * with CAP.DSTRD, and a simulated controller that consumes the SQ and posts
 * completions with the phase tag across many wraps, in batches of varying
 * size, for several depths.
 */
#include <string.h>

#include <aisio/nvme_ring.h>

#include "t.h"

static void test_arith(void)
{
	CHECK_EQ(aisio_ring_next(0, 4), 1);
	CHECK_EQ(aisio_ring_next(3, 4), 0);
	CHECK_EQ(aisio_ring_add(3, 2, 4), 1);
	CHECK_EQ(aisio_ring_add(0, 3, 4), 3);
	CHECK_EQ(aisio_ring_used(0, 0, 4), 0);
	CHECK_EQ(aisio_ring_used(3, 1, 4), 2);
	CHECK_EQ(aisio_ring_used(1, 0, 4), 3);
	CHECK_EQ(aisio_ring_space(0, 0, 4), 3); /* empty: N - 1 free */
	CHECK_EQ(aisio_ring_space(1, 0, 4), 0); /* full: tail + 1 == head */
	CHECK_EQ(aisio_ring_space(0, 3, 4), 0);
	CHECK_EQ(aisio_ring_space(2, 1, 4), 0);
	CHECK_EQ(aisio_ring_space(2, 2, 4), 3);
	CHECK_EQ(aisio_ring_space(0, 0, 65536), 65535);
	CHECK_EQ(aisio_ring_space(65535, 65534, 65536), 0);
	/* Exhaustive for small depths: used + space == depth - 1. */
	for (uint32_t d = 2; d < 9; d++)
		for (uint32_t h = 0; h < d; h++)
			for (uint32_t t = 0; t < d; t++) {
				CHECK_EQ(aisio_ring_used(h, t, d) + aisio_ring_space(h, t, d),
					 d - 1);
				CHECK_EQ(aisio_ring_used(h, t, d), (t + d - h) % d);
			}
	CHECK(aisio_nvme_db_valid(3, 4));
	CHECK(!aisio_nvme_db_valid(4, 4));
}

static void test_doorbells(void)
{
	static uint32_t bar[0x4000 / 4];
	struct aisio_nvme_sq sq;
	struct aisio_nvme_cq cq;
	struct aisio_nvme_sqe sqe[4];
	struct aisio_nvme_cqe cqe[4];

	CHECK_EQ(aisio_nvme_db_offset(0, 0, 0), 0x1000);
	CHECK_EQ(aisio_nvme_db_offset(0, 1, 0), 0x1004);
	CHECK_EQ(aisio_nvme_db_offset(1, 0, 0), 0x1008);
	CHECK_EQ(aisio_nvme_db_offset(5, 1, 0), 0x1000 + 11 * 4);
	CHECK_EQ(aisio_nvme_db_offset(5, 1, 2), 0x1000 + 11 * 16);
	CHECK_EQ(aisio_nvme_db_offset(3, 0, 1), 0x1000 + 6 * 8);
	for (uint32_t dstrd = 0; dstrd < 4; dstrd++) {
		aisio_nvme_sq_init(&sq, sqe, bar, 3, 4, dstrd);
		aisio_nvme_cq_init(&cq, cqe, bar, 3, 4, dstrd);
		CHECK_EQ((uintptr_t)sq.db - (uintptr_t)bar, 0x1000 + 6 * (4u << dstrd));
		CHECK_EQ((uintptr_t)cq.db - (uintptr_t)bar, 0x1000 + 7 * (4u << dstrd));
	}
	/* The SQ doorbell is written only when the tail moved. */
	memset(bar, 0, sizeof(bar));
	aisio_nvme_sq_init(&sq, sqe, bar, 1, 4, 0);
	CHECK_EQ(aisio_nvme_sq_ring_db(&sq), 0);
	aisio_nvme_sq_advance(&sq);
	aisio_nvme_sq_advance(&sq);
	CHECK_EQ(aisio_nvme_sq_ring_db(&sq), 1);
	CHECK_EQ(bar[0x1008 / 4], 2);
	CHECK_EQ(aisio_nvme_sq_ring_db(&sq), 0);
}

/* A controller: consumes SQEs from its head up to the doorbell tail, posts CQEs with a phase. */
struct ctrl {
	uint32_t sq_head, cq_tail, phase, depth;
	uint32_t next_cid;   /* CIDs must arrive in submission order */
	uint32_t cq_db_head; /* host's last CQ head doorbell value */
	int errors;
};

/* Post at most @max completions (less when the CQ is full). */
static uint32_t ctrl_run(struct ctrl *c, const struct aisio_nvme_sqe *sqe,
			 struct aisio_nvme_cqe *cqe, uint32_t sq_db, uint32_t max)
{
	uint32_t n = 0;

	if (!aisio_nvme_db_valid(sq_db, c->depth))
		c->errors++;
	while (n < max && c->sq_head != sq_db) {
		/* CQ full: the controller must wait for the host's head doorbell. */
		if (aisio_ring_next(c->cq_tail, c->depth) == c->cq_db_head)
			break;
		const struct aisio_nvme_sqe *s = &sqe[c->sq_head];
		if (s->cid != (uint16_t)c->next_cid || s->cdw10 != c->next_cid)
			c->errors++;
		c->next_cid++;
		c->sq_head = aisio_ring_next(c->sq_head, c->depth);
		struct aisio_nvme_cqe e = {
			.dw0 = s->cdw10, .sqhd = (uint16_t)c->sq_head, .sqid = 1, .cid = s->cid
		};
		/* Status and phase last, as hardware writes the entry before the phase is seen. */
		e.status = aisio_nvme_cqe_status_with_phase(
			aisio_nvme_status_field(s->cdw10 % 7 == 0 ? 0x80 : 0, 0), c->phase);
		cqe[c->cq_tail] = e;
		c->cq_tail = aisio_ring_next(c->cq_tail, c->depth);
		if (c->cq_tail == 0)
			c->phase ^= 1;
		n++;
	}
	return n;
}

static void simulate(uint32_t depth, uint32_t total)
{
	static uint32_t bar[0x2000 / 4];
	struct aisio_nvme_sqe *sqe = calloc(depth, sizeof(*sqe));
	struct aisio_nvme_cqe *cqe = calloc(depth, sizeof(*cqe));
	struct aisio_nvme_sq sq;
	struct aisio_nvme_cq cq;
	struct ctrl c = { .phase = 1, .depth = depth };
	uint32_t submitted = 0, reaped = 0, phase_flips = 0, seed = depth * 7919u;

	REQUIRE(sqe && cqe);
	memset(bar, 0, sizeof(bar));
	aisio_nvme_sq_init(&sq, sqe, bar, 1, depth, 0);
	aisio_nvme_cq_init(&cq, cqe, bar, 1, depth, 0);
	CHECK_EQ(aisio_nvme_sq_space(&sq), depth - 1);
	CHECK(aisio_nvme_cq_peek(&cq) == NULL); /* zeroed ring: phase 0 is not new */

	/* With the controller stopped, the SQ takes depth - 1 entries and is then full. */
	{
		uint32_t n = 0;
		while (aisio_nvme_sq_space(&sq)) {
			aisio_nvme_sq_advance(&sq);
			n++;
		}
		CHECK_EQ(n, depth - 1);
		CHECK_EQ(aisio_ring_next(sq.tail, depth), sq.head);
		aisio_nvme_sq_init(&sq, sqe, bar, 1, depth, 0);
	}

	while (reaped < total) {
		/* Submit a batch of random size (possibly filling the SQ). */
		seed = seed * 1103515245u + 12345u;
		uint32_t want = (seed >> 16) % depth + 1;
		for (uint32_t i = 0; i < want && submitted < total && aisio_nvme_sq_space(&sq);
		     i++) {
			/* Never more in flight than the CQ can hold. */
			if (submitted - reaped >= depth - 1)
				break;
			struct aisio_nvme_sqe *s = aisio_nvme_sq_slot(&sq);
			memset(s, 0, sizeof(*s));
			s->cid = (uint16_t)submitted;
			s->cdw10 = submitted;
			aisio_nvme_sq_advance(&sq);
			submitted++;
		}
		/* The host's view of the SQ lags the controller: never less room than in flight allows. */
		CHECK(aisio_nvme_sq_space(&sq) >= depth - 1 - (submitted - reaped));
		aisio_nvme_sq_ring_db(&sq);
		CHECK_EQ(*sq.db, sq.tail);

		/* The controller completes part of what it sees. */
		seed = seed * 1103515245u + 12345u;
		ctrl_run(&c, sqe, cqe, *sq.db, (seed >> 16) % depth + 1);

		/* Reap everything new, tracking phase and SQ head. */
		uint32_t n = 0;
		volatile struct aisio_nvme_cqe *e;
		while ((e = aisio_nvme_cq_peek(&cq))) {
			if (e->cid != (uint16_t)reaped || e->dw0 != reaped)
				t_failures++, fprintf(stderr, "depth %u: got cid %u, want %u\n",
						      depth, e->cid, reaped);
			CHECK_EQ(aisio_nvme_cqe_code(e->status), reaped % 7 == 0 ? 0x80 : 0);
			sq.head = e->sqhd;
			uint32_t before = cq.phase;
			aisio_nvme_cq_advance(&cq);
			if (cq.phase != before) {
				phase_flips++;
				CHECK_EQ(cq.head, 0);
			}
			reaped++;
			n++;
		}
		if (n) {
			aisio_nvme_cq_ring_db(&cq);
			c.cq_db_head = *cq.db;
			CHECK_EQ(c.cq_db_head, cq.head);
		}
		CHECK(n <= depth - 1);
	}
	CHECK_EQ(submitted, total);
	CHECK_EQ(c.errors, 0);
	/* Every completed wrap flipped the phase exactly once. */
	CHECK_EQ(phase_flips, total / depth);
	CHECK_EQ(cq.phase, (total / depth) % 2 ? 0 : 1);
	CHECK_EQ(sq.head, sq.tail);
	CHECK_EQ(aisio_nvme_sq_space(&sq), depth - 1);
	free(sqe);
	free(cqe);
}

int main(void)
{
	test_arith();
	test_doorbells();
	simulate(2, 1000);
	simulate(3, 1001);
	simulate(8, 5000);
	simulate(64, 20000);
	simulate(1024, 50000);
	return t_result("ring");
}
