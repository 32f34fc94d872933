/* SPDX-License-Identifier: MIT */
/*
 * Device model, fault injection: a chosen status on chosen commands (by
 * queue and opcode, with skip and count), a dropped completion, controller
 * fatal status (by API and on a command), recovery through reset, and the
 * error log / SMART counters that follow.
 */
#include "emu_t.h"

static struct et_host h;
static struct et_queue q;
static uint8_t *buf;

static int rd(uint64_t slba)
{
	struct aisio_nvme_sqe cmd;

	aisio_nvme_cmd_read(&cmd, 1, slba, 1);
	cmd.dptr.prp.prp1 = et_bus(buf);
	return et_cmd(&q, &cmd, NULL);
}

static int wr(uint64_t slba)
{
	struct aisio_nvme_sqe cmd;

	aisio_nvme_cmd_write(&cmd, 1, slba, 1);
	cmd.dptr.prp.prp1 = et_bus(buf);
	return et_cmd(&q, &cmd, NULL);
}

static void test_status_faults(void)
{
	struct aisio_emu_fault f = {
		.action = AISIO_EMU_FAULT_STATUS,
		.qid = 1,
		.opc = AISIO_NVME_NVM_READ,
		.status = AISIO_NVME_SC_READ_ERROR,
		.dnr = 1,
		.skip = 2,
		.count = 3,
	};
	struct aisio_nvme_sqe cmd;
	struct aisio_nvme_cqe cqe;
	int id;

	id = aisio_emu_fault_add(h.c, &f);
	CHECK(id >= 0);
	CHECK_EQ(rd(0), 0); /* skipped */
	CHECK_EQ(wr(0), 0); /* other opcode */
	CHECK_EQ(rd(0), 0); /* skipped */
	for (int i = 0; i < 3; i++) {
		aisio_nvme_cmd_read(&cmd, 1, 0, 1);
		cmd.dptr.prp.prp1 = et_bus(buf);
		et_push(&q, &cmd);
		et_ring(&q);
		REQUIRE(et_reap(&q, &cqe, ET_TIMEOUT_MS) == 0);
		CHECK_EQ(aisio_nvme_cqe_code(cqe.status), AISIO_NVME_SC_READ_ERROR);
		CHECK_EQ(aisio_nvme_cqe_dnr(cqe.status), 1);
	}
	CHECK_EQ(rd(0), 0); /* count reached: disarmed */
	CHECK_EQ(aisio_emu_fault_hits(h.c, id), 3);
	CHECK_EQ(aisio_emu_fault_hits(h.c, id + 1), -ENOENT);

	/* any queue, any opcode: admin commands fail too, until cleared */
	f = (struct aisio_emu_fault){ .action = AISIO_EMU_FAULT_STATUS,
				      .qid = -1,
				      .opc = -1,
				      .status = AISIO_NVME_SC_INTERNAL };
	CHECK(aisio_emu_fault_add(h.c, &f) >= 0);
	CHECK_EQ(wr(1), AISIO_NVME_SC_INTERNAL);
	aisio_nvme_cmd_get_features(&cmd, AISIO_NVME_FEAT_NUM_QUEUES, 0, 0);
	CHECK_EQ(et_admin(&h, &cmd, NULL), AISIO_NVME_SC_INTERNAL);
	aisio_emu_fault_clear(h.c);
	CHECK_EQ(wr(1), 0);

	/* bad fault descriptions */
	f = (struct aisio_emu_fault){ .action = 7 };
	CHECK_EQ(aisio_emu_fault_add(h.c, &f), -EINVAL);
	f = (struct aisio_emu_fault){
		.action = AISIO_EMU_FAULT_STATUS, .qid = 99, .opc = -1, .status = 6
	};
	CHECK_EQ(aisio_emu_fault_add(h.c, &f), -EINVAL);
	f = (struct aisio_emu_fault){
		.action = AISIO_EMU_FAULT_STATUS, .qid = -1, .opc = -1, .status = 0
	};
	CHECK_EQ(aisio_emu_fault_add(h.c, &f), -EINVAL);
}

static void test_drop(void)
{
	struct aisio_emu_fault f = {
		.action = AISIO_EMU_FAULT_DROP, .qid = 1, .opc = AISIO_NVME_NVM_WRITE, .count = 1
	};
	struct aisio_emu_stats st0, st1;
	struct aisio_nvme_sqe cmd;
	struct aisio_nvme_cqe cqe;
	uint16_t cid;

	aisio_emu_ctrl_stats(h.c, &st0);
	CHECK(aisio_emu_fault_add(h.c, &f) >= 0);
	aisio_nvme_cmd_write(&cmd, 1, 5, 1);
	cmd.dptr.prp.prp1 = et_bus(buf);
	et_push(&q, &cmd);
	et_ring(&q);
	CHECK_EQ(et_reap(&q, &cqe, 300), -1); /* never completes: the host must time out */
	/* the queue keeps working; the next completion's SQHD covers the dropped slot */
	aisio_nvme_cmd_read(&cmd, 1, 5, 1);
	cmd.dptr.prp.prp1 = et_bus(buf);
	cid = et_push(&q, &cmd);
	et_ring(&q);
	REQUIRE(et_reap(&q, &cqe, ET_TIMEOUT_MS) == 0);
	CHECK_EQ(cqe.cid, cid);
	CHECK_EQ(cqe.sqhd, q.sq.tail);
	aisio_emu_ctrl_stats(h.c, &st1);
	CHECK_EQ(st1.dropped - st0.dropped, 1);
	aisio_emu_fault_clear(h.c);
}

static void test_fatal(void)
{
	struct aisio_emu_fault f = {
		.action = AISIO_EMU_FAULT_FATAL, .qid = 1, .opc = AISIO_NVME_NVM_READ, .count = 1
	};
	struct aisio_nvme_sqe cmd;
	struct aisio_nvme_cqe cqe;

	/* fatal on a command: CFS set, no completion */
	CHECK(aisio_emu_fault_add(h.c, &f) >= 0);
	aisio_nvme_cmd_read(&cmd, 1, 0, 1);
	cmd.dptr.prp.prp1 = et_bus(buf);
	et_push(&q, &cmd);
	et_ring(&q);
	CHECK(et_wait_csts(&h, AISIO_NVME_CSTS_CFS, AISIO_NVME_CSTS_CFS) == 0);
	CHECK_EQ(et_reap(&q, &cqe, 100), -1);
	/* while fatal, admin commands are not processed either */
	aisio_nvme_cmd_get_features(&cmd, AISIO_NVME_FEAT_NUM_QUEUES, 0, 0);
	et_push(&h.aq, &cmd);
	et_ring(&h.aq);
	CHECK_EQ(et_reap(&h.aq, &cqe, 100), -1);

	/* reset recovers: queues are gone, CSTS clean, enable works */
	et_ioq_free(&q);
	et_disable(&h);
	CHECK_EQ(et_rd(&h, AISIO_NVME_REG_CSTS), 0);
	et_enable(&h);
	REQUIRE(et_ioq_create(&h, &q, 1, 8) == 0);
	CHECK_EQ(rd(0), 0);

	/* fatal through the API */
	aisio_emu_ctrl_fatal(h.c);
	CHECK(et_wait_csts(&h, AISIO_NVME_CSTS_CFS, AISIO_NVME_CSTS_CFS) == 0);
	CHECK(et_rd(&h, AISIO_NVME_REG_CSTS) &
	      AISIO_NVME_CSTS_RDY); /* RDY stays until the host resets */
	et_ioq_free(&q);
	et_disable(&h);
	et_enable(&h);
	REQUIRE(et_ioq_create(&h, &q, 1, 8) == 0);
	CHECK_EQ(wr(3), 0);
}

static void test_counters(void)
{
	struct aisio_nvme_smart_log *sl = et_alloc(4096);
	struct aisio_nvme_error_log *el = et_alloc(4096);
	struct aisio_nvme_sqe cmd;
	struct aisio_emu_stats st;
	struct aisio_emu_fault f = { .action = AISIO_EMU_FAULT_STATUS,
				     .qid = 1,
				     .opc = AISIO_NVME_NVM_WRITE,
				     .status = AISIO_NVME_SC_WRITE_FAULT,
				     .count = 1 };
	uint64_t r0, w0, dr0, dw0;

	aisio_nvme_cmd_get_log_page(&cmd, AISIO_NVME_LOG_SMART, 0xffffffff, 512, 0);
	cmd.dptr.prp.prp1 = et_bus(sl);
	CHECK_EQ(et_admin(&h, &cmd, NULL), 0);
	r0 = aisio_nvme_u128_lo(sl->host_reads);
	w0 = aisio_nvme_u128_lo(sl->host_writes);
	dr0 = aisio_nvme_u128_lo(sl->data_units_read);
	dw0 = aisio_nvme_u128_lo(sl->data_units_written);
	aisio_emu_ctrl_stats(h.c, &st);
	CHECK_EQ(st.reads, r0);
	CHECK_EQ(st.writes, w0);
	CHECK_EQ(dw0, (st.bytes_written / 512 + 999) / 1000);

	/* 1000 single-block reads: 1000 host reads, about one more data unit */
	for (int i = 0; i < 1000; i++)
		REQUIRE(rd((uint64_t)i) == 0);
	CHECK_EQ(wr(9), 0);
	CHECK(aisio_emu_fault_add(h.c, &f) >= 0);
	CHECK_EQ(wr(9), AISIO_NVME_SC_WRITE_FAULT);
	CHECK_EQ(et_admin(&h, &cmd, NULL), 0);
	CHECK_EQ(aisio_nvme_u128_lo(sl->host_reads) - r0, 1000);
	CHECK_EQ(aisio_nvme_u128_lo(sl->host_writes) - w0, 1);
	CHECK(aisio_nvme_u128_lo(sl->data_units_read) - dr0 >= 1);
	CHECK(aisio_nvme_u128_lo(sl->data_units_read) - dr0 <= 3);
	aisio_emu_ctrl_stats(h.c, &st);
	CHECK_EQ(st.bytes_read - st.reads * 512, 0);
	CHECK_EQ(aisio_nvme_u128_lo(sl->data_units_read), (st.bytes_read / 512 + 999) / 1000);
	CHECK_EQ(aisio_nvme_u128_lo(sl->data_units_written), (st.bytes_written / 512 + 999) / 1000);
	CHECK(aisio_nvme_u128_lo(sl->data_units_written) >= dw0);

	/* the newest error log entry is the injected write fault, with its queue and LBA */
	aisio_nvme_cmd_get_log_page(&cmd, AISIO_NVME_LOG_ERROR, 0xffffffff, 4096, 0);
	cmd.dptr.prp.prp1 = et_bus(el);
	CHECK_EQ(et_admin(&h, &cmd, NULL), 0);
	CHECK_EQ(aisio_nvme_cqe_code(el[0].status_field), AISIO_NVME_SC_WRITE_FAULT);
	CHECK_EQ(el[0].sqid, 1);
	CHECK_EQ(el[0].lba, 9);
	CHECK_EQ(el[0].nsid, 1);
	CHECK(el[0].error_count > el[1].error_count);
	free(sl);
	free(el);
}

int main(void)
{
	struct aisio_emu_opts o;

	aisio_emu_opts_init(&o);
	o.ns_size = 4 << 20;
	o.nqueues = 4;
	et_open(&h, &o);
	et_enable(&h);
	buf = et_alloc(4096);
	REQUIRE(et_ioq_create(&h, &q, 1, 8) == 0);

	test_status_faults();
	test_drop();
	test_counters();
	test_fatal();

	et_ioq_free(&q);
	et_close(&h);
	free(buf);
	return t_result("emu_faults");
}
