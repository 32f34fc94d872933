/* SPDX-License-Identifier: MIT */
/*
 * Taking a running controller over from an owner that died (src/drv/adopt.c,
 * AISIO_NVME_HO_CRASH): the record it left is older than the admin rings,
 * and the taker finds where the controller is from the rings themselves.
 *  - the owner ran many admin commands after its record, wrapping the admin
 *    completion queue several times, and once stopping exactly where a pass
 *    of phase 0 ends (every entry has one phase);
 *  - the owner rang the doorbell for a command and died before its
 *    completion: the taker consumes it;
 *  - the owner wrote a command and died before ringing: the taker waits up
 *    to the command timeout, then overwrites it.
 * Each time the new owner's own admin commands work, its rings agree with
 * the old owner's, and it deletes queues it does not know
 * (aisio_nvme_ctrl_sweep_qids).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drv/ctrl_int.h"
#include "emu/emu.h"
#include "mt.h"

/* An owner taken over from stays allocated, as a dead process's memory would (its rings are in use). */
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#define ABANDON(c) __lsan_ignore_object(c)
#else
#define ABANDON(c) ((void)(c))
#endif

static int get_features(struct aisio_nvme_ctrl *c)
{
	struct aisio_nvme_sqe cmd = { .opc = AISIO_NVME_ADM_GET_FEATURES,
				      .cdw10 = AISIO_NVME_FEAT_NUM_QUEUES };
	uint32_t res = 0;

	return aisio_nvme_ctrl_admin(c, &cmd, NULL, 0, &res);
}

/* What a dying owner leaves: a command on the admin SQ, the doorbell rung or not. */
static void post(struct aisio_nvme_ctrl *c, int ring)
{
	struct aisio_nvme_sqe cmd = { .opc = AISIO_NVME_ADM_GET_FEATURES,
				      .cdw10 = AISIO_NVME_FEAT_NUM_QUEUES };

	cmd.cid = c->admin_cid;
	c->admin_cid = (uint16_t)((c->admin_cid + 1) % DRV_AER_CID_BASE);
	*aisio_nvme_sq_slot(&c->asq) = cmd;
	if (!ring)
		return;
	aisio_nvme_sq_advance(&c->asq);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	aisio_nvme_sq_ring_db(&c->asq);
}

/*
 * @new took over from @old (which wrote @unrung commands it never rang) and
 * ran K admin commands of its own (Identify): its rings are K entries past
 * where @old left them, and nothing is outstanding.
 */
static void check_follows(const struct aisio_nvme_ctrl *old, const struct aisio_nvme_ctrl *new,
			  uint32_t unrung)
{
	uint32_t d = old->admin_depth;
	uint32_t k = (new->admin_cid + DRV_AER_CID_BASE - (old->admin_cid - unrung)) % DRV_AER_CID_BASE;
	uint32_t flips = (old->acq.head + k) / d;

	CHECK(k > 0 && k < d);
	CHECK_EQ(new->acq.head, (old->acq.head + k) % d);
	CHECK_EQ(new->acq.phase, old->acq.phase ^ (flips & 1));
	CHECK_EQ(new->asq.tail, (old->asq.tail + k) % d);
	CHECK_EQ(new->asq.head, new->asq.tail);
}

static struct aisio_nvme_ctrl *take_over(struct aisio_pcif *f, const struct aisio_nvme_ctrl_opts *o,
					 struct aisio_nvme_ctrl *old,
					 const struct aisio_nvme_ctrl_handover *h)
{
	struct aisio_nvme_ctrl *c = NULL;
	int err = aisio_nvme_ctrl_adopt(f, o, h, old->asq_mem, old->acq_mem, &c);

	if (err)
		fprintf(stderr, "adopt: %s\n", aisio_errmsg());
	REQUIRE(err == 0 && c);
	return c;
}

int main(void)
{
	struct aisio_nvme_ctrl_opts o = { .timeout_ms = 500 };
	struct aisio_nvme_ctrl_handover h;
	struct aisio_nvme_ctrl *c1, *c2, *c3, *c4;
	struct aisio_nvme_qpair_ext e = { .depth = 16 };
	struct aisio_pcif *f;
	uint8_t *sq, *cq;
	uint16_t qid;
	uint32_t d, n;

	REQUIRE(aisio_emu_pcif_open_uri("16M", 0, &f) == 0);
	REQUIRE(aisio_nvme_ctrl_init(f, &o, &c1) == 0);
	d = c1->admin_depth;

	/* a queue pair the old owner made after its record: the new one deletes it */
	CHECK_EQ(aisio_nvme_ctrl_crash_state(c1, &h), 0);
	CHECK_EQ(h.flags, AISIO_NVME_HO_CRASH);
	sq = aisio_nvme_ctrl_dma_alloc(c1, 4096, 4096);
	cq = aisio_nvme_ctrl_dma_alloc(c1, 4096, 4096);
	REQUIRE(sq && cq);
	memset(cq, 0, 4096);
	e.sq_bus = aisio_mem_bus(aisio_heap_region(c1->heap, sq), sq);
	e.cq_bus = aisio_mem_bus(aisio_heap_region(c1->heap, cq), cq);
	CHECK_EQ(aisio_nvme_ctrl_qpair_create_ext(c1, &e, &qid), 0);
	/* many commands past the record, ending where a pass of phase 0 is complete */
	for (n = 0; n < 3 * d || c1->acq.head || c1->acq.phase != 1; n++)
		REQUIRE(get_features(c1) == 0);
	fprintf(stderr, "%u admin commands after the record (depth %u)\n", n, d);
	c2 = take_over(f, &o, c1, &h);
	check_follows(c1, c2, 0);
	CHECK_EQ(get_features(c2), 0);
	CHECK_EQ(aisio_nvme_ctrl_sweep_qids(c2), 1); /* the queue no record named */
	CHECK_EQ(aisio_nvme_ctrl_sweep_qids(c2), 0);
	CHECK_EQ(get_features(c2), 0);

	/* a command on its way when the owner died: rung, not completed */
	CHECK_EQ(aisio_nvme_ctrl_crash_state(c2, &h), 0);
	for (int i = 0; i < 5; i++)
		REQUIRE(get_features(c2) == 0);
	post(c2, 1);
	c3 = take_over(f, &o, c2, &h);
	/* its completion was consumed: c2's view after it would have reaped it */
	c2->acq.head++;
	if (c2->acq.head == c2->admin_depth) {
		c2->acq.head = 0;
		c2->acq.phase ^= 1;
	}
	check_follows(c2, c3, 0);
	CHECK_EQ(get_features(c3), 0);
	CHECK_EQ(get_features(c3), 0);

	/* a command written but never rung: waited for, then its slot is used again */
	CHECK_EQ(aisio_nvme_ctrl_crash_state(c3, &h), 0);
	post(c3, 0);
	c4 = take_over(f, &o, c3, &h);
	check_follows(c3, c4, 1); /* the slot it wrote is used again */
	for (int i = 0; i < 2 * (int)d; i++)
		if (get_features(c4)) {
			CHECK(0);
			break;
		}
	/* the controller was never reset: a queue pair made now works like any */
	CHECK_EQ(aisio_nvme_ctrl_sweep_qids(c4), 0);
	/* c1..c3 were abandoned as a dead owner's; c4 is the owner now */
	ABANDON(c1);
	ABANDON(c2);
	ABANDON(c3);
	aisio_nvme_ctrl_term(c4);
	return t_result("drv_adopt");
}
