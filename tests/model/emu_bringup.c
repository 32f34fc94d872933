/* SPDX-License-Identifier: MIT */
/*
 * Device model, register level: CAP/VS, enable and reset state machine, a
 * bad CC or admin queue setting gives CSTS.CFS, shutdown notification,
 * register reset on CC.EN 1->0.
 */
#include "emu_t.h"

static void check_bad_cc(struct et_host *h, uint32_t cc, const char *what)
{
	uint32_t csts = et_enable_cc(h, 32, cc);

	if (!(csts & AISIO_NVME_CSTS_CFS) || (csts & AISIO_NVME_CSTS_RDY)) {
		fprintf(stderr, "%s: CSTS 0x%x, want CFS without RDY\n", what, csts);
		t_failures++;
	}
	/* clearing EN resets the controller and clears CFS */
	et_wr(h, AISIO_NVME_REG_CC, 0);
	CHECK(et_wait_csts(h, ~0u, 0) == 0);
}

int main(void)
{
	struct aisio_emu_opts o;
	struct et_host h;
	uint64_t cap;
	uint32_t csts, cc;

	aisio_emu_opts_init(&o);
	o.ns_size = 1 << 20;
	et_open(&h, &o);

	cap = et_rd64(&h, AISIO_NVME_REG_CAP);
	CHECK_EQ(aisio_nvme_cap_mqes(cap), 1023);
	CHECK_EQ(aisio_nvme_cap_cqr(cap), 1);
	CHECK(aisio_nvme_cap_to(cap) >= 1);
	CHECK_EQ(aisio_nvme_cap_dstrd(cap), 0);
	CHECK(aisio_nvme_cap_css(cap) & 1);
	CHECK_EQ(aisio_nvme_cap_mpsmin(cap), 0);
	CHECK(aisio_nvme_cap_mpsmax(cap) >= aisio_nvme_cap_mpsmin(cap));
	CHECK_EQ(et_rd(&h, AISIO_NVME_REG_VS), AISIO_NVME_VS(1, 4, 0));
	CHECK_EQ(et_rd(&h, AISIO_NVME_REG_CSTS), 0);

	/* enable, then reset, twice: the state machine is repeatable */
	for (int i = 0; i < 2; i++) {
		et_enable(&h);
		CHECK_EQ(et_rd(&h, AISIO_NVME_REG_CSTS), AISIO_NVME_CSTS_RDY);
		et_disable(&h);
		CHECK_EQ(et_rd(&h, AISIO_NVME_REG_CSTS), 0);
		/* admin queue registers survive a reset, the read-only ones are intact */
		CHECK_EQ(et_rd64(&h, AISIO_NVME_REG_ASQ), et_bus(h.aq.sq_mem));
		CHECK_EQ(et_rd64(&h, AISIO_NVME_REG_CAP), cap);
	}

	cc = et_cc_default();
	check_bad_cc(&h,
		     (cc & ~(0xfu << 7)) | AISIO_NVME_CC_MPS(12 + aisio_nvme_cap_mpsmax(cap) + 1),
		     "MPS > MPSMAX");
	check_bad_cc(&h, (cc & ~(0xfu << 16)) | AISIO_NVME_CC_IOSQES(5), "IOSQES 5");
	check_bad_cc(&h, (cc & ~(0xfu << 20)) | AISIO_NVME_CC_IOCQES(3), "IOCQES 3");
	check_bad_cc(&h, cc | (1u << 4), "CSS 1");
	check_bad_cc(&h, cc | (1u << 11), "AMS WRR");
	/* an admin queue of one entry */
	csts = et_enable_cc(&h, 1, cc);
	CHECK(csts & AISIO_NVME_CSTS_CFS);
	et_wr(&h, AISIO_NVME_REG_CC, 0);
	CHECK(et_wait_csts(&h, ~0u, 0) == 0);
	/* ASQ not page aligned */
	et_wr64(&h, AISIO_NVME_REG_ASQ, et_bus(h.aq.sq_mem) + 64);
	et_wr(&h, AISIO_NVME_REG_CC, cc);
	CHECK(et_wait_csts(&h, AISIO_NVME_CSTS_CFS, AISIO_NVME_CSTS_CFS) == 0);
	CHECK(!(et_rd(&h, AISIO_NVME_REG_CSTS) & AISIO_NVME_CSTS_RDY));
	et_wr(&h, AISIO_NVME_REG_CC, 0);
	CHECK(et_wait_csts(&h, ~0u, 0) == 0);
	/* ACQ zero */
	et_wr64(&h, AISIO_NVME_REG_ASQ, et_bus(h.aq.sq_mem));
	et_wr64(&h, AISIO_NVME_REG_ACQ, 0);
	et_wr(&h, AISIO_NVME_REG_CC, cc);
	CHECK(et_wait_csts(&h, AISIO_NVME_CSTS_CFS, AISIO_NVME_CSTS_CFS) == 0);
	et_wr(&h, AISIO_NVME_REG_CC, 0);
	CHECK(et_wait_csts(&h, ~0u, 0) == 0);

	/* after all that, a good CC still works and commands run */
	et_enable(&h);
	{
		struct aisio_nvme_id_ctrl *id = et_alloc(4096);

		CHECK_EQ(et_identify(&h, AISIO_NVME_CNS_CTRL, 0, id), 0);
		CHECK_EQ(id->sqes, 0x66);
		free(id);
	}

	/* shutdown notification: SHST goes to complete, RDY stays */
	et_wr(&h, AISIO_NVME_REG_CC, cc | AISIO_NVME_CC_SHN_NORMAL);
	CHECK(et_wait_csts(&h, AISIO_NVME_CSTS_SHST_MASK, AISIO_NVME_CSTS_SHST_CMPLT) == 0);
	/* reset after shutdown clears SHST and RDY */
	et_wr(&h, AISIO_NVME_REG_CC, 0);
	CHECK(et_wait_csts(&h, ~0u, 0) == 0);

	/* reset zeroes doorbells */
	et_enable(&h);
	{
		struct aisio_nvme_sqe cmd;
		uint32_t dw0;

		aisio_nvme_cmd_get_features(&cmd, AISIO_NVME_FEAT_NUM_QUEUES, 0, 0);
		CHECK_EQ(et_admin(&h, &cmd, &dw0), 0);
		CHECK(et_rd(&h, AISIO_NVME_REG_DBS) != 0);
	}
	et_disable(&h);
	CHECK_EQ(et_rd(&h, AISIO_NVME_REG_DBS), 0);
	CHECK_EQ(et_rd(&h, AISIO_NVME_REG_DBS + 4), 0);

	et_close(&h);
	return t_result("emu_bringup");
}
