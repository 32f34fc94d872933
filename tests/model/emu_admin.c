/* SPDX-License-Identifier: MIT */
/*
 * Device model, admin commands: Identify (CNS 0, 1, 2, 3 and bad ones),
 * Create/Delete I/O queue checks, Get/Set Features, Get Log Page (Error,
 * SMART), Abort, Asynchronous Event Request limit, invalid opcode.
 */
#include "emu_t.h"

static void test_identify(struct et_host *h)
{
	struct aisio_nvme_id_ctrl *ic = et_alloc(8192);
	struct aisio_nvme_id_ns *in = et_alloc(4096);
	struct aisio_nvme_ns_list *nl = et_alloc(4096);
	uint8_t *raw = et_alloc(4096);
	char mn[41];

	CHECK_EQ(et_identify(h, AISIO_NVME_CNS_CTRL, 0, ic), 0);
	CHECK_EQ(ic->vid, AISIO_EMU_PCI_VID);
	memcpy(mn, ic->mn, 40);
	mn[40] = 0;
	CHECK(strstr(mn, "aisio") != NULL);
	CHECK_EQ(ic->nn, 3);
	CHECK_EQ(ic->mdts, 5);
	CHECK_EQ(ic->sqes, 0x66);
	CHECK_EQ(ic->cqes, 0x44);
	CHECK_EQ(aisio_nvme_sgls_supported(ic->sgls), 1);
	CHECK(ic->oncs & AISIO_NVME_ONCS_COMPARE);
	CHECK(ic->oncs & AISIO_NVME_ONCS_DSM);
	CHECK(ic->oncs & AISIO_NVME_ONCS_WRITE_ZEROES);
	CHECK_EQ(ic->ver, AISIO_NVME_VS(1, 4, 0));
	CHECK_EQ(aisio_nvme_u128_lo(ic->tnvmcap), 3ull << 20);

	/* the buffer may start inside a page: PRP1 offset + PRP2 */
	memset(ic, 0, 8192);
	CHECK_EQ(et_identify(h, AISIO_NVME_CNS_CTRL, 0, (uint8_t *)ic + 512), 0);
	CHECK_EQ(((struct aisio_nvme_id_ctrl *)((uint8_t *)ic + 512))->nn, 3);

	CHECK_EQ(et_identify(h, AISIO_NVME_CNS_NS, 2, in), 0);
	CHECK_EQ(in->nsze, (1u << 20) / 4096);
	CHECK_EQ(in->ncap, in->nsze);
	CHECK_EQ(in->lbaf[aisio_nvme_id_ns_flbas_index(in)].lbads, 12);
	CHECK_EQ(in->dlfeat & 7, 1);
	CHECK_EQ(et_identify(h, AISIO_NVME_CNS_NS, 0, in), AISIO_NVME_SC_INVALID_NS);
	CHECK_EQ(et_identify(h, AISIO_NVME_CNS_NS, 4, in), AISIO_NVME_SC_INVALID_NS);
	CHECK_EQ(et_identify(h, AISIO_NVME_CNS_NS, 0xffffffff, in), AISIO_NVME_SC_INVALID_NS);

	CHECK_EQ(et_identify(h, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0, nl), 0);
	CHECK_EQ(nl->nsid[0], 1);
	CHECK_EQ(nl->nsid[1], 2);
	CHECK_EQ(nl->nsid[2], 3);
	CHECK_EQ(nl->nsid[3], 0);
	CHECK_EQ(et_identify(h, AISIO_NVME_CNS_NS_ACTIVE_LIST, 2, nl), 0);
	CHECK_EQ(nl->nsid[0], 3);
	CHECK_EQ(nl->nsid[1], 0);
	CHECK_EQ(et_identify(h, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0xfffffffe, nl),
		 AISIO_NVME_SC_INVALID_NS);

	CHECK_EQ(et_identify(h, AISIO_NVME_CNS_NS_DESC_LIST, 1, raw), 0);
	CHECK_EQ(raw[0], 3); /* UUID */
	CHECK_EQ(raw[1], 16);
	CHECK_EQ(raw[20], 4); /* CSI */
	CHECK_EQ(raw[24], 0); /* NVM */
	CHECK_EQ(et_identify(h, 0x7f, 0, raw), AISIO_NVME_SC_INVALID_FIELD);

	free(ic);
	free(in);
	free(nl);
	free(raw);
}

static int raw_admin(struct et_host *h, uint8_t opc, uint32_t cdw10, uint32_t cdw11, uint64_t prp1,
		     uint32_t *dw0)
{
	struct aisio_nvme_sqe cmd;

	aisio_nvme_cmd_clear(&cmd);
	cmd.opc = opc;
	cmd.cdw10 = cdw10;
	cmd.cdw11 = cdw11;
	cmd.dptr.prp.prp1 = prp1;
	return et_admin(h, &cmd, dw0);
}

static void test_queues(struct et_host *h)
{
	uint8_t *mem = et_alloc(1 << 16);
	uint64_t b = et_bus(mem);
	struct et_queue q;
	uint32_t pc = AISIO_NVME_QUEUE_PHYS_CONTIG;

	/* Create CQ: qid 0, qid > nqueues, size 1 (0's based 0), size > MQES, offset, not contiguous */
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_CQ, 0 | 15u << 16, pc, b, NULL),
		 AISIO_NVME_SC_QID_INVALID);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_CQ, 5 | 15u << 16, pc, b, NULL),
		 AISIO_NVME_SC_QID_INVALID);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_CQ, 1 | 0u << 16, pc, b, NULL),
		 AISIO_NVME_SC_QUEUE_SIZE);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_CQ, 1 | 64u << 16, pc, b, NULL),
		 AISIO_NVME_SC_QUEUE_SIZE);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_CQ, 1 | 15u << 16, pc, b + 256, NULL),
		 AISIO_NVME_SC_PRP_INVALID_OFFSET);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_CQ, 1 | 15u << 16, 0, b, NULL),
		 AISIO_NVME_SC_INVALID_FIELD);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_CQ, 1 | 15u << 16, pc | (3u << 16), b, NULL),
		 AISIO_NVME_SC_INVALID_VECTOR);
	/* Create SQ with no such CQ */
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_SQ, 1 | 15u << 16, pc | 1u << 16, b, NULL),
		 AISIO_NVME_SC_CQ_INVALID);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_SQ, 1 | 15u << 16, pc | 0u << 16, b, NULL),
		 AISIO_NVME_SC_CQ_INVALID);

	/* a good pair, then duplicates and bad deletions */
	CHECK_EQ(et_ioq_create(h, &q, 1, 16), 0);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_CQ, 1 | 15u << 16, pc, b, NULL),
		 AISIO_NVME_SC_QID_INVALID);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_SQ, 1 | 15u << 16, pc | 1u << 16, b, NULL),
		 AISIO_NVME_SC_QID_INVALID);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_SQ, 2 | 0u << 16, pc | 1u << 16, b, NULL),
		 AISIO_NVME_SC_QUEUE_SIZE);
	/* two SQs on one CQ are fine */
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_CREATE_SQ, 2 | 15u << 16, pc | 1u << 16, b, NULL), 0);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_DELETE_CQ, 1, 0, 0, NULL),
		 AISIO_NVME_SC_QUEUE_DELETION);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_DELETE_SQ, 2, 0, 0, NULL), 0);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_DELETE_SQ, 2, 0, 0, NULL), AISIO_NVME_SC_QID_INVALID);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_DELETE_SQ, 0, 0, 0, NULL), AISIO_NVME_SC_QID_INVALID);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_DELETE_CQ, 0, 0, 0, NULL), AISIO_NVME_SC_QID_INVALID);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_DELETE_CQ, 3, 0, 0, NULL), AISIO_NVME_SC_QID_INVALID);
	CHECK_EQ(et_ioq_delete(h, &q), 0);
	/* Number of Queues can no longer be set once queues were created */
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_SET_FEATURES, AISIO_NVME_FEAT_NUM_QUEUES, 0, 0, NULL),
		 AISIO_NVME_SC_CMD_SEQ_ERROR);
	free(mem);
}

static void test_features(struct et_host *h)
{
	uint32_t dw0 = 0;

	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_SET_FEATURES, AISIO_NVME_FEAT_NUM_QUEUES,
			   AISIO_NVME_FEAT_NUM_QUEUES_VAL(2, 2), 0, &dw0),
		 0);
	CHECK_EQ(aisio_nvme_feat_nsq(dw0), 4);
	CHECK_EQ(aisio_nvme_feat_ncq(dw0), 4);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_SET_FEATURES, AISIO_NVME_FEAT_NUM_QUEUES, 0xffff, 0,
			   NULL),
		 AISIO_NVME_SC_INVALID_FIELD);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_GET_FEATURES, AISIO_NVME_FEAT_NUM_QUEUES, 0, 0, &dw0),
		 0);
	CHECK_EQ(aisio_nvme_feat_nsq(dw0), 4);

	/* stored values: volatile write cache, arbitration, error recovery */
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_GET_FEATURES, AISIO_NVME_FEAT_VOLATILE_WC, 0, 0, &dw0),
		 0);
	CHECK_EQ(dw0, 1);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_SET_FEATURES, AISIO_NVME_FEAT_VOLATILE_WC, 0, 0, NULL),
		 0);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_GET_FEATURES, AISIO_NVME_FEAT_VOLATILE_WC, 0, 0, &dw0),
		 0);
	CHECK_EQ(dw0, 0);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_GET_FEATURES, AISIO_NVME_FEAT_VOLATILE_WC | 1u << 8, 0,
			   0, &dw0),
		 0);
	CHECK_EQ(dw0, 1); /* default */
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_SET_FEATURES, AISIO_NVME_FEAT_ARBITRATION, 0x01020303,
			   0, NULL),
		 0);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_GET_FEATURES, AISIO_NVME_FEAT_ARBITRATION, 0, 0, &dw0),
		 0);
	CHECK_EQ(dw0, 0x01020303);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_SET_FEATURES, AISIO_NVME_FEAT_ERR_RECOVERY, 100, 0,
			   NULL),
		 0);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_GET_FEATURES, AISIO_NVME_FEAT_ERR_RECOVERY, 0, 0,
			   &dw0),
		 0);
	CHECK_EQ(dw0, 100);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_GET_FEATURES, AISIO_NVME_FEAT_ERR_RECOVERY | 3u << 8,
			   0, 0, &dw0),
		 0);
	CHECK_EQ(dw0, 1u << 2); /* changeable */
	/* save is not supported; unknown features are invalid */
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_SET_FEATURES, AISIO_NVME_FEAT_ERR_RECOVERY | 1u << 31,
			   0, 0, NULL),
		 AISIO_NVME_SC_FEATURE_NOT_SAVEABLE);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_GET_FEATURES, 0x7e, 0, 0, &dw0),
		 AISIO_NVME_SC_INVALID_FIELD);
	CHECK_EQ(raw_admin(h, AISIO_NVME_ADM_SET_FEATURES, 0x7e, 0, 0, NULL),
		 AISIO_NVME_SC_INVALID_FIELD);
}

static void test_logs_and_misc(struct et_host *h)
{
	struct aisio_nvme_error_log *el = et_alloc(4096);
	struct aisio_nvme_smart_log *sl = et_alloc(4096);
	struct aisio_nvme_sqe cmd;
	uint32_t dw0;

	/* something to log: an invalid opcode */
	CHECK_EQ(raw_admin(h, 0x7f, 0, 0, 0, NULL), AISIO_NVME_SC_INVALID_OPCODE);
	aisio_nvme_cmd_get_log_page(&cmd, AISIO_NVME_LOG_ERROR, 0xffffffff, 4096, 0);
	et_prp_simple(&cmd, el, 4096);
	CHECK_EQ(et_admin(h, &cmd, NULL), 0);
	CHECK(el[0].error_count >= 1);
	CHECK_EQ(aisio_nvme_cqe_code(el[0].status_field), AISIO_NVME_SC_INVALID_OPCODE);
	CHECK_EQ(el[0].sqid, 0);

	aisio_nvme_cmd_get_log_page(&cmd, AISIO_NVME_LOG_SMART, 0xffffffff, 512, 0);
	et_prp_simple(&cmd, sl, 512);
	CHECK_EQ(et_admin(h, &cmd, NULL), 0);
	CHECK_EQ(sl->avail_spare, 100);
	CHECK(aisio_nvme_u128_lo(sl->num_err_log_entries) >= 1);

	/* offset past the page, unaligned offset, unknown log */
	aisio_nvme_cmd_get_log_page(&cmd, AISIO_NVME_LOG_SMART, 0xffffffff, 512, 1024);
	et_prp_simple(&cmd, sl, 512);
	CHECK_EQ(et_admin(h, &cmd, NULL), AISIO_NVME_SC_INVALID_FIELD);
	aisio_nvme_cmd_get_log_page(&cmd, AISIO_NVME_LOG_SMART, 0xffffffff, 64, 2);
	et_prp_simple(&cmd, sl, 64);
	CHECK_EQ(et_admin(h, &cmd, NULL), AISIO_NVME_SC_INVALID_FIELD);
	aisio_nvme_cmd_get_log_page(&cmd, 0x70, 0xffffffff, 512, 0);
	et_prp_simple(&cmd, sl, 512);
	CHECK_EQ(et_admin(h, &cmd, NULL), AISIO_NVME_SC_INVALID_LOG_PAGE);

	/* Abort: never aborts, says so in dw0 bit 0 */
	aisio_nvme_cmd_abort(&cmd, 1, 7);
	CHECK_EQ(et_admin(h, &cmd, &dw0), 0);
	CHECK_EQ(dw0 & 1, 1);

	/* admin commands with SGLs are invalid */
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_CTRL, 0, 0);
	cmd.flags = AISIO_NVME_PSDT_SGL_MPTR_CONTIG;
	CHECK_EQ(et_admin(h, &cmd, NULL), AISIO_NVME_SC_INVALID_FIELD);

	/* AERs stay pending; one past the limit (AERL + 1) fails at once */
	{
		struct aisio_nvme_id_ctrl *ic = et_alloc(4096);
		struct aisio_nvme_cqe cqe;
		uint32_t n;

		CHECK_EQ(et_identify(h, AISIO_NVME_CNS_CTRL, 0, ic), 0);
		n = ic->aerl + 1u;
		for (uint32_t i = 0; i < n; i++) {
			aisio_nvme_cmd_async_event(&cmd);
			et_push(&h->aq, &cmd);
		}
		et_ring(&h->aq);
		CHECK_EQ(et_reap(&h->aq, &cqe, 200), -1);
		aisio_nvme_cmd_async_event(&cmd);
		CHECK_EQ(et_admin(h, &cmd, NULL), AISIO_NVME_SC_ASYNC_LIMIT);
		free(ic);
	}
	free(el);
	free(sl);
}

int main(void)
{
	struct aisio_emu_opts o;
	struct et_host h;

	aisio_emu_opts_init(&o);
	o.ns_size = 1 << 20;
	o.lba_shift = 12;
	o.nns = 3;
	o.mdts = 5;
	o.mqes = 63;
	o.nqueues = 4;
	et_open(&h, &o);
	et_enable(&h);

	test_identify(&h);
	test_features(&h);
	test_queues(&h);
	test_logs_and_misc(&h);

	/* a reset drops the pending AERs: after it, four can be queued again */
	et_disable(&h);
	et_enable(&h);
	{
		struct aisio_nvme_sqe cmd;
		struct aisio_nvme_cqe cqe;

		for (int i = 0; i < 4; i++) {
			aisio_nvme_cmd_async_event(&cmd);
			et_push(&h.aq, &cmd);
		}
		et_ring(&h.aq);
		CHECK_EQ(et_reap(&h.aq, &cqe, 100), -1);

		/*
		 * An SQ tail doorbell beyond the queue is ignored and reported
		 * through an AER (error, Invalid Doorbell Write Value, Error log);
		 * the next one waits until the host has read the Error log.
		 */
		struct et_queue q;
		struct aisio_nvme_error_log *el = et_alloc(4096);
		volatile uint32_t *db;

		REQUIRE(et_ioq_create(&h, &q, 1, 16) == 0);
		db = (volatile uint32_t *)(h.bar + aisio_nvme_db_offset(1, 0, h.dstrd));
		*db = 100;
		REQUIRE(et_reap(&h.aq, &cqe, ET_TIMEOUT_MS) == 0);
		CHECK_EQ(cqe.dw0, AISIO_NVME_AER_TYPE_ERROR | 1u << 8 | AISIO_NVME_LOG_ERROR << 16);
		CHECK_EQ(aisio_nvme_cqe_code(cqe.status), 0);
		*db = 200;
		CHECK_EQ(et_reap(&h.aq, &cqe, 100), -1); /* masked */
		aisio_nvme_cmd_get_log_page(&cmd, AISIO_NVME_LOG_ERROR, 0xffffffff, 4096, 0);
		cmd.dptr.prp.prp1 = et_bus(el);
		CHECK_EQ(et_admin(&h, &cmd, NULL), 0); /* reaps the log command; the AER follows */
		REQUIRE(et_reap(&h.aq, &cqe, ET_TIMEOUT_MS) == 0);
		CHECK_EQ(cqe.dw0 & 0xff, AISIO_NVME_AER_TYPE_ERROR);
		/* the queue works again once the doorbell is sane */
		*db = 0;
		{
			uint8_t *buf = et_alloc(4096);

			aisio_nvme_cmd_read(&cmd, 1, 0, 1);
			cmd.dptr.prp.prp1 = et_bus(buf);
			CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
			free(buf);
		}
		CHECK_EQ(et_ioq_delete(&h, &q), 0);
		free(el);
	}
	et_close(&h);
	return t_result("emu_admin");
}
