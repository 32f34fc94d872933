/* SPDX-License-Identifier: MIT */
/*
 * Every admin command through aisio_dev_admin(): Identify (CNS 0, 1, 2),
 * Get/Set Features, Get Log Page (Error, SMART), Abort, an Asynchronous
 * Event Request that stays pending, and the statuses of bad commands.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mt.h"
#include "nvme/cmd.h"

static void test_identify(struct aisio_dev *dev)
{
	struct aisio_nvme_id_ctrl idc;
	struct aisio_nvme_id_ns idn;
	struct aisio_nvme_ns_list list;
	struct aisio_nvme_sqe cmd;
	int st;

	CHECK_EQ(aisio_dev_identify_ctrl(dev, &idc), 0);
	CHECK_EQ(idc.nn, 3);
	CHECK(idc.oncs & AISIO_NVME_ONCS_WRITE_ZEROES);

	for (uint32_t nsid = 1; nsid <= 3; nsid++) {
		memset(&idn, 0xa5, sizeof(idn));
		CHECK_EQ(aisio_dev_identify_ns(dev, nsid, &idn), 0);
		CHECK_EQ(idn.nsze, (8u << 20) / 512);
		CHECK_EQ(idn.lbaf[aisio_nvme_id_ns_flbas_index(&idn)].lbads, 9);
	}

	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0, 0);
	memset(&list, 0xff, sizeof(list));
	CHECK_EQ(aisio_dev_admin(dev, &cmd, &list, sizeof(list), NULL), 0);
	CHECK_EQ(list.nsid[0], 1);
	CHECK_EQ(list.nsid[1], 2);
	CHECK_EQ(list.nsid[2], 3);
	CHECK_EQ(list.nsid[3], 0);
	/* Active IDs above 2 only. */
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 2, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, &list, sizeof(list), NULL), 0);
	CHECK_EQ(list.nsid[0], 3);
	CHECK_EQ(list.nsid[1], 0);

	/* A namespace that does not exist. */
	st = aisio_dev_identify_ns(dev, 99, &idn);
	CHECK_EQ(st, AISIO_NVME_SC_INVALID_NS);
	CHECK(strstr(aisio_errmsg(), "Invalid Namespace") != NULL);
	printf("identify ns 99: %s\n", aisio_errmsg());

	/* An unknown CNS. */
	aisio_nvme_cmd_identify(&cmd, 0x7f, 0, 0);
	st = aisio_dev_admin(dev, &cmd, &list, sizeof(list), NULL);
	CHECK(st > 0);
}

static uint32_t get_feat(struct aisio_dev *dev, uint8_t fid, uint8_t sel, int *st)
{
	struct aisio_nvme_sqe cmd;
	uint32_t dw0 = 0xdeadbeef;

	aisio_nvme_cmd_get_features(&cmd, fid, 0, sel);
	*st = aisio_dev_admin(dev, &cmd, NULL, 0, &dw0);
	return dw0;
}

static void test_features(struct aisio_dev *dev)
{
	struct aisio_nvme_sqe cmd;
	uint32_t v, dw0;
	int st;

	v = get_feat(dev, AISIO_NVME_FEAT_NUM_QUEUES, AISIO_NVME_FEAT_SEL_CURRENT, &st);
	CHECK_EQ(st, 0);
	CHECK_EQ(aisio_nvme_feat_nsq(v), 64);
	CHECK_EQ(aisio_nvme_feat_ncq(v), 64);

	v = get_feat(dev, AISIO_NVME_FEAT_TEMP_THRESH, AISIO_NVME_FEAT_SEL_CURRENT, &st);
	CHECK_EQ(st, 0);
	aisio_nvme_cmd_set_features(&cmd, AISIO_NVME_FEAT_TEMP_THRESH, 0, 350, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, NULL, 0, &dw0), 0);
	CHECK_EQ(get_feat(dev, AISIO_NVME_FEAT_TEMP_THRESH, AISIO_NVME_FEAT_SEL_CURRENT, &st), 350);
	CHECK_EQ(get_feat(dev, AISIO_NVME_FEAT_TEMP_THRESH, AISIO_NVME_FEAT_SEL_DEFAULT, &st), v);

	aisio_nvme_cmd_set_features(&cmd, AISIO_NVME_FEAT_VOLATILE_WC, 0, 0, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, NULL, 0, NULL), 0);
	CHECK_EQ(get_feat(dev, AISIO_NVME_FEAT_VOLATILE_WC, AISIO_NVME_FEAT_SEL_CURRENT, &st), 0);

	/* Saving is not supported by the model; an unknown feature is an invalid field. */
	get_feat(dev, 0x7e, AISIO_NVME_FEAT_SEL_CURRENT, &st);
	CHECK_EQ(st, AISIO_NVME_SC_INVALID_FIELD);
	printf("get feature 0x7e: %s\n", aisio_errmsg());

	/* Number of Queues may be set only once after a reset. */
	aisio_nvme_cmd_set_features(&cmd, AISIO_NVME_FEAT_NUM_QUEUES, 0,
				    AISIO_NVME_FEAT_NUM_QUEUES_VAL(2, 2), 0);
	st = aisio_dev_admin(dev, &cmd, NULL, 0, NULL);
	CHECK(st > 0);
}

static void test_logs(struct aisio_dev *dev, struct aisio_queue *q)
{
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct aisio_nvme_smart_log smart;
	struct aisio_nvme_error_log err[4];
	struct aisio_nvme_sqe cmd;
	void *buf = aisio_buf_alloc(dev, 8192);
	uint64_t w0, e0;
	int st;

	REQUIRE(buf);
	aisio_nvme_cmd_get_log_page(&cmd, AISIO_NVME_LOG_SMART, 0xffffffff, sizeof(smart), 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, &smart, sizeof(smart), NULL), 0);
	w0 = aisio_nvme_u128_lo(smart.host_writes);
	e0 = aisio_nvme_u128_lo(smart.num_err_log_entries);
	CHECK(smart.avail_spare > 0);

	for (int i = 0; i < 10; i++)
		CHECK_EQ(mt_write(q, g->nsid, (uint64_t)i * 16, 16, buf, 8192), 0);
	/* One error: a read past the end. */
	st = mt_read(q, g->nsid, g->nlbas, 1, buf, 512);
	CHECK_EQ(st, AISIO_NVME_SC_LBA_RANGE);

	CHECK_EQ(aisio_dev_admin(dev, &cmd, &smart, sizeof(smart), NULL), 0);
	CHECK_EQ(aisio_nvme_u128_lo(smart.host_writes), w0 + 10);
	CHECK(aisio_nvme_u128_lo(smart.data_units_written) >= 1);
	CHECK(aisio_nvme_u128_lo(smart.num_err_log_entries) > e0);

	aisio_nvme_cmd_get_log_page(&cmd, AISIO_NVME_LOG_ERROR, 0xffffffff, sizeof(err), 0);
	memset(err, 0, sizeof(err));
	CHECK_EQ(aisio_dev_admin(dev, &cmd, err, sizeof(err), NULL), 0);
	CHECK(err[0].error_count >= 1);
	CHECK_EQ(err[0].sqid, aisio_nvme_qpair_qid(aisio_nvme_qpair_of(q)));
	CHECK_EQ(aisio_nvme_cqe_code(err[0].status_field), AISIO_NVME_SC_LBA_RANGE);
	CHECK_EQ(err[0].lba, g->nlbas);

	aisio_nvme_cmd_get_log_page(&cmd, 0x7f, 0xffffffff, 512, 0);
	st = aisio_dev_admin(dev, &cmd, &smart, 512, NULL);
	CHECK_EQ(st, AISIO_NVME_SC_INVALID_LOG_PAGE);
	aisio_buf_free(dev, buf);
}

static void test_abort_aer_bad(struct aisio_dev *dev, struct aisio_queue *q)
{
	struct aisio_nvme_ctrl *c = aisio_upci_ctrl(dev);
	struct aisio_nvme_id_ctrl id;
	struct aisio_nvme_sqe cmd;
	uint32_t dw0 = 0, events = 99;
	int st;

	/* Abort of a command that is not there: success, dw0 bit 0 = not aborted. */
	aisio_nvme_cmd_abort(&cmd, aisio_nvme_qpair_qid(aisio_nvme_qpair_of(q)), 5);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, NULL, 0, &dw0), 0);
	CHECK_EQ(dw0 & 1, 1);

	/* An AER stays posted while other admin commands come and go. */
	CHECK_EQ(aisio_nvme_ctrl_aer_submit(c), 0);
	for (int i = 0; i < 5; i++)
		CHECK_EQ(aisio_dev_identify_ctrl(dev, &id), 0);
	aisio_nvme_ctrl_admin_poll(c);
	CHECK_EQ(aisio_nvme_ctrl_aer_pending(c, &events, NULL), 1);
	CHECK_EQ(events, 0);
	/* A synchronous AER would wait forever: refused with a reason. */
	aisio_nvme_cmd_async_event(&cmd);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, NULL, 0, NULL), -EINVAL);
	CHECK(strstr(aisio_errmsg(), "aer_submit") != NULL);

	/* An opcode no controller implements. */
	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = 0x7b;
	st = aisio_dev_admin(dev, &cmd, NULL, 0, NULL);
	CHECK_EQ(st, AISIO_NVME_SC_INVALID_OPCODE);
	CHECK(strstr(aisio_errmsg(), "Invalid Command Opcode") != NULL);
	printf("opcode 0x7b: %s\n", aisio_errmsg());
	CHECK_EQ(aisio_dev_identify_ctrl(dev, &id), 0);

	/* Bad arguments. */
	CHECK_EQ(aisio_dev_admin(dev, &cmd, NULL, 64, NULL), -EINVAL);
}

int main(void)
{
	struct aisio_dev *dev = mt_open("emu:8M,nns=3", NULL);
	struct aisio_queue *q = mt_queue(dev, 16);

	test_identify(dev);
	test_features(dev);
	test_logs(dev, q);
	test_abort_aer_bad(dev, q);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	return t_result("drv_admin");
}
