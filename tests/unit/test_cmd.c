/* SPDX-License-Identifier: MIT */
/* Command builders: every field lands in the dword and bits the specification names. */
#include <string.h>

#include <aisio/nvme_spec.h>

#include "nvme/cmd.h"
#include "t.h"

/* Dword @i of the 64-byte entry, as the controller reads it. */
static uint32_t dw(const struct aisio_nvme_sqe *c, int i)
{
	uint32_t v;
	memcpy(&v, (const uint8_t *)c + 4 * i, 4);
	return v;
}

/* Dwords other than those in @mask (bit per dword) are zero. */
static int rest_zero(const struct aisio_nvme_sqe *c, uint32_t mask)
{
	for (int i = 0; i < 16; i++)
		if (!(mask & (1u << i)) && dw(c, i))
			return 0;
	return 1;
}

int main(void)
{
	struct aisio_nvme_sqe c;

	/* Read: opcode in CDW0 7:0, SLBA in CDW10/11, NLB 0's based in CDW12 15:0. */
	memset(&c, 0xff, sizeof(c));
	aisio_nvme_cmd_read(&c, 7, 0x123456789abull, 8);
	CHECK_EQ(dw(&c, 0) & 0xff, 0x02);
	CHECK_EQ(dw(&c, 0) >> 8, 0); /* flags and CID cleared */
	CHECK_EQ(dw(&c, 1), 7);
	CHECK_EQ(dw(&c, 10), 0x456789abu);
	CHECK_EQ(dw(&c, 11), 0x123u);
	CHECK_EQ(dw(&c, 12), 7);
	CHECK(rest_zero(&c, 1u << 0 | 1u << 1 | 1u << 10 | 1u << 11 | 1u << 12));

	aisio_nvme_cmd_write(&c, 1, 0, 65536);
	CHECK_EQ(c.opc, AISIO_NVME_NVM_WRITE);
	CHECK_EQ(dw(&c, 12), 0xffff);
	aisio_nvme_cmd_rw(&c, AISIO_NVME_NVM_WRITE, 1, 5, 1, AISIO_NVME_RW_FUA);
	CHECK_EQ(dw(&c, 12), 1u << 30);
	aisio_nvme_cmd_compare(&c, 2, 9, 2);
	CHECK_EQ(c.opc, 0x05);
	CHECK_EQ(dw(&c, 12), 1);

	aisio_nvme_cmd_write_zeroes(&c, 3, 100, 4, 1);
	CHECK_EQ(c.opc, 0x08);
	CHECK_EQ(dw(&c, 12), 3u | 1u << 25);
	aisio_nvme_cmd_write_zeroes(&c, 3, 100, 4, 0);
	CHECK_EQ(dw(&c, 12), 3u);

	memset(&c, 0xff, sizeof(c));
	aisio_nvme_cmd_flush(&c, 0xffffffffu);
	CHECK_EQ(c.opc, 0x00);
	CHECK_EQ(c.nsid, 0xffffffffu);
	CHECK(rest_zero(&c, 1u << 1));

	/* DSM: NR 0's based in CDW10 7:0, attributes in CDW11. */
	aisio_nvme_cmd_dsm(&c, 1, 256, AISIO_NVME_DSM_AD);
	CHECK_EQ(c.opc, 0x09);
	CHECK_EQ(dw(&c, 10), 255);
	CHECK_EQ(dw(&c, 11), 4);

	/* Identify: CNS in CDW10 7:0, CNTID in 31:16. */
	aisio_nvme_cmd_identify(&c, AISIO_NVME_CNS_CTRL, 0, 0x1234);
	CHECK_EQ(c.opc, 0x06);
	CHECK_EQ(dw(&c, 10), 0x12340001u);

	/* Create I/O CQ: QID 15:0, QSIZE 0's based 31:16, PC, IEN, IV 31:16 of CDW11. */
	aisio_nvme_cmd_create_cq(&c, 3, 1024, 0xabcd000ull, 1, 5);
	CHECK_EQ(c.opc, 0x05);
	CHECK_EQ(c.dptr.prp.prp1, 0xabcd000ull);
	CHECK_EQ(dw(&c, 10), 3u | 1023u << 16);
	CHECK_EQ(dw(&c, 11), 1u | 2u | 5u << 16);
	aisio_nvme_cmd_create_cq(&c, 3, 65536, 0x1000, 0, 9);
	CHECK_EQ(dw(&c, 10), 3u | 0xffffu << 16);
	CHECK_EQ(dw(&c, 11), 1u);

	/* Create I/O SQ: CQID in CDW11 31:16, PC bit 0. */
	aisio_nvme_cmd_create_sq(&c, 4, 64, 0x2000, 3);
	CHECK_EQ(c.opc, 0x01);
	CHECK_EQ(dw(&c, 6), 0x2000);
	CHECK_EQ(dw(&c, 10), 4u | 63u << 16);
	CHECK_EQ(dw(&c, 11), 1u | 3u << 16);

	aisio_nvme_cmd_delete_queue(&c, AISIO_NVME_ADM_DELETE_SQ, 4);
	CHECK_EQ(c.opc, 0x00);
	CHECK_EQ(dw(&c, 10), 4);
	aisio_nvme_cmd_delete_queue(&c, AISIO_NVME_ADM_DELETE_CQ, 4);
	CHECK_EQ(c.opc, 0x04);

	/* Get Log Page: NUMDL in CDW10 31:16, NUMDU in CDW11 15:0, offset in CDW12/13. */
	aisio_nvme_cmd_get_log_page(&c, AISIO_NVME_LOG_SMART, 0xffffffffu, 512, 0);
	CHECK_EQ(c.opc, 0x02);
	CHECK_EQ(dw(&c, 10), 0x02u | 127u << 16);
	CHECK_EQ(dw(&c, 11), 0);
	aisio_nvme_cmd_get_log_page(&c, AISIO_NVME_LOG_ERROR, 0, 4u << 18, 0x100000008ull);
	CHECK_EQ(dw(&c, 10), 0x01u | 0xffffu << 16); /* (1 MiB / 4) - 1 = 0x3ffff */
	CHECK_EQ(dw(&c, 11), 0x3);
	CHECK_EQ(dw(&c, 12), 8);
	CHECK_EQ(dw(&c, 13), 1);

	/* Features: FID 7:0, SV bit 31; Get: SEL 10:8. */
	aisio_nvme_cmd_set_features(&c, AISIO_NVME_FEAT_NUM_QUEUES, 0,
				    AISIO_NVME_FEAT_NUM_QUEUES_VAL(8, 4), 1);
	CHECK_EQ(c.opc, 0x09);
	CHECK_EQ(dw(&c, 10), 0x07u | 1u << 31);
	CHECK_EQ(dw(&c, 11), 7u | 3u << 16);
	CHECK_EQ(aisio_nvme_feat_nsq(dw(&c, 11)), 8);
	CHECK_EQ(aisio_nvme_feat_ncq(dw(&c, 11)), 4);
	aisio_nvme_cmd_get_features(&c, AISIO_NVME_FEAT_VOLATILE_WC, 1,
				    AISIO_NVME_FEAT_SEL_SUPPORTED);
	CHECK_EQ(c.opc, 0x0a);
	CHECK_EQ(dw(&c, 10), 0x06u | 3u << 8);
	CHECK_EQ(c.nsid, 1);

	/* Virtualization Management: ACT 3:0, RT 10:8, CNTLID 31:16; NR in CDW11 15:0. */
	memset(&c, 0x11, sizeof(c));
	aisio_nvme_cmd_virt_mgmt(&c, AISIO_NVME_VIRT_ACT_SEC_ASSIGN, AISIO_NVME_VIRT_RT_VI, 3, 2);
	CHECK_EQ(c.opc, 0x1c);
	CHECK_EQ(dw(&c, 10), 0x8u | 1u << 8 | 3u << 16);
	CHECK_EQ(dw(&c, 11), 2);
	CHECK(rest_zero(&c, 1u << 0 | 1u << 10 | 1u << 11));
	aisio_nvme_cmd_virt_mgmt(&c, AISIO_NVME_VIRT_ACT_PRI_FLEX_ALLOC, AISIO_NVME_VIRT_RT_VQ, 0, 0);
	CHECK_EQ(dw(&c, 10), 0x1u);
	CHECK_EQ(dw(&c, 11), 0);

	/* Namespace Attachment: SEL in CDW10 3:0, the namespace in NSID. */
	memset(&c, 0x11, sizeof(c));
	aisio_nvme_cmd_ns_attach(&c, 3, AISIO_NVME_NS_ATTACH_SEL_DETACH);
	CHECK_EQ(c.opc, 0x15);
	CHECK_EQ(c.nsid, 3);
	CHECK_EQ(dw(&c, 10), 1);
	CHECK(rest_zero(&c, 1u << 0 | 1u << 1 | 1u << 10));
	aisio_nvme_cmd_ns_attach(&c, 1, AISIO_NVME_NS_ATTACH_SEL_ATTACH);
	CHECK_EQ(dw(&c, 10), 0);

	/* Abort: SQID 15:0, CID 31:16. */
	aisio_nvme_cmd_abort(&c, 2, 0xbeef);
	CHECK_EQ(c.opc, 0x08);
	CHECK_EQ(dw(&c, 10), 2u | 0xbeefu << 16);

	memset(&c, 0x11, sizeof(c));
	aisio_nvme_cmd_async_event(&c);
	CHECK_EQ(c.opc, 0x0c);
	CHECK(rest_zero(&c, 1u << 0));

	/* Completion status field round trip. */
	uint16_t st = aisio_nvme_status_field(AISIO_NVME_SC_LBA_RANGE, 1);
	CHECK_EQ(aisio_nvme_cqe_code(st), 0x080);
	CHECK_EQ(aisio_nvme_cqe_sc(st), 0x80);
	CHECK_EQ(aisio_nvme_cqe_sct(st), 0);
	CHECK_EQ(aisio_nvme_cqe_dnr(st), 1);
	CHECK_EQ(aisio_nvme_cqe_phase(st), 0);
	st = aisio_nvme_status_field(AISIO_NVME_SC_COMPARE_FAILED, 0) | 1;
	CHECK_EQ(aisio_nvme_cqe_sct(st), 2);
	CHECK_EQ(aisio_nvme_cqe_sc(st), 0x85);
	CHECK_EQ(aisio_nvme_cqe_phase(st), 1);
	CHECK_EQ(aisio_nvme_cqe_dnr(st), 0);
	return t_result("cmd");
}
