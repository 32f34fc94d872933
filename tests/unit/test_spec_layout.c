/* SPDX-License-Identifier: MIT */
/*
 * The shared headers compile together (their static asserts run at compile
 * time), and the on-wire layout holds at run time too: offsets from the
 * specification, checked by writing through the struct and reading raw bytes.
 */
#include <stddef.h>
#include <string.h>

#include <aisio/aisio.h>
#include <aisio/nvme_ring.h>
#include <aisio/nvme_spec.h>

#include "mem/region.h"
#include "nvme/cmd.h"
#include "nvme/dptr.h"
#include "t.h"

#define OFF(type, field, want) CHECK_EQ(offsetof(type, field), want)

/* Set a field through the struct and find the byte it landed on. */
static size_t byte_of(const void *p, size_t len)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < len; i++)
		if (b[i])
			return i;
	return (size_t)-1;
}

int main(void)
{
	struct aisio_nvme_sqe sqe;
	struct aisio_nvme_cqe cqe;
	static struct aisio_nvme_id_ctrl ctrl;
	static struct aisio_nvme_id_ns ns;

	CHECK_EQ(sizeof(struct aisio_nvme_sqe), 64);
	CHECK_EQ(sizeof(struct aisio_nvme_cqe), 16);
	CHECK_EQ(sizeof(struct aisio_nvme_sgl_desc), 16);
	CHECK_EQ(sizeof(struct aisio_nvme_id_ctrl), 4096);
	CHECK_EQ(sizeof(struct aisio_nvme_id_ns), 4096);
	CHECK_EQ(sizeof(struct aisio_nvme_ns_list), 4096);
	CHECK_EQ(sizeof(struct aisio_nvme_smart_log), 512);
	CHECK_EQ(sizeof(struct aisio_nvme_error_log), 64);
	CHECK_EQ(sizeof(struct aisio_nvme_dsm_range), 16);
	CHECK_EQ(sizeof(struct aisio_nvme_lbaf), 4);
	CHECK_EQ(sizeof(struct aisio_nvme_power_state), 32);

	/* SQE: CDW0 = OPC, FUSE/PSDT, CID; NSID at 4; MPTR at 16; DPTR at 24; CDW10 at 40. */
	OFF(struct aisio_nvme_sqe, opc, 0);
	OFF(struct aisio_nvme_sqe, flags, 1);
	OFF(struct aisio_nvme_sqe, cid, 2);
	OFF(struct aisio_nvme_sqe, nsid, 4);
	OFF(struct aisio_nvme_sqe, mptr, 16);
	OFF(struct aisio_nvme_sqe, dptr.prp.prp1, 24);
	OFF(struct aisio_nvme_sqe, dptr.prp.prp2, 32);
	OFF(struct aisio_nvme_sqe, dptr.sgl1.type, 39);
	OFF(struct aisio_nvme_sqe, cdw10, 40);
	OFF(struct aisio_nvme_sqe, cdw15, 60);
	memset(&sqe, 0, sizeof(sqe));
	sqe.cid = 0x100;
	CHECK_EQ(byte_of(&sqe, sizeof(sqe)), 3); /* little-endian CID high byte */

	/* CQE: DW0, DW1, SQHD at 8, SQID at 10, CID at 12, status at 14. */
	OFF(struct aisio_nvme_cqe, sqhd, 8);
	OFF(struct aisio_nvme_cqe, sqid, 10);
	OFF(struct aisio_nvme_cqe, cid, 12);
	OFF(struct aisio_nvme_cqe, status, 14);
	memset(&cqe, 0, sizeof(cqe));
	cqe.status = 1; /* phase tag is bit 0 of byte 14 */
	CHECK_EQ(byte_of(&cqe, sizeof(cqe)), 14);

	/* Identify Controller and Namespace fields used by the driver and the model. */
	OFF(struct aisio_nvme_id_ctrl, sn, 4);
	OFF(struct aisio_nvme_id_ctrl, mn, 24);
	OFF(struct aisio_nvme_id_ctrl, fr, 64);
	OFF(struct aisio_nvme_id_ctrl, mdts, 77);
	OFF(struct aisio_nvme_id_ctrl, cntlid, 78);
	OFF(struct aisio_nvme_id_ctrl, oacs, 256);
	OFF(struct aisio_nvme_id_ctrl, sqes, 512);
	OFF(struct aisio_nvme_id_ctrl, cqes, 513);
	OFF(struct aisio_nvme_id_ctrl, nn, 516);
	OFF(struct aisio_nvme_id_ctrl, oncs, 520);
	OFF(struct aisio_nvme_id_ctrl, vwc, 525);
	OFF(struct aisio_nvme_id_ctrl, sgls, 536);
	OFF(struct aisio_nvme_id_ctrl, subnqn, 768);
	OFF(struct aisio_nvme_id_ctrl, psd, 2048);
	OFF(struct aisio_nvme_id_ctrl, vs, 3072);
	ctrl.mdts = 5;
	CHECK_EQ(byte_of(&ctrl, sizeof(ctrl)), 77);

	OFF(struct aisio_nvme_id_ns, nsze, 0);
	OFF(struct aisio_nvme_id_ns, ncap, 8);
	OFF(struct aisio_nvme_id_ns, nuse, 16);
	OFF(struct aisio_nvme_id_ns, nlbaf, 25);
	OFF(struct aisio_nvme_id_ns, flbas, 26);
	OFF(struct aisio_nvme_id_ns, nguid, 104);
	OFF(struct aisio_nvme_id_ns, eui64, 120);
	OFF(struct aisio_nvme_id_ns, lbaf, 128);
	OFF(struct aisio_nvme_id_ns, vs, 384);
	ns.lbaf[1].lbads = 12;
	CHECK_EQ(byte_of(&ns, sizeof(ns)), 128 + 4 + 2);
	ns.flbas = 0x21; /* index 1 + high bits 01 -> 17 */
	CHECK_EQ(aisio_nvme_id_ns_flbas_index(&ns), 17);

	/* Log pages. */
	OFF(struct aisio_nvme_error_log, sqid, 8);
	OFF(struct aisio_nvme_error_log, status_field, 12);
	OFF(struct aisio_nvme_error_log, lba, 16);
	OFF(struct aisio_nvme_error_log, nsid, 24);
	OFF(struct aisio_nvme_smart_log, temperature, 1);
	OFF(struct aisio_nvme_smart_log, data_units_read, 32);
	OFF(struct aisio_nvme_smart_log, host_reads, 64);
	OFF(struct aisio_nvme_smart_log, media_errors, 160);
	OFF(struct aisio_nvme_smart_log, temp_sensor, 200);

	/* Registers and their accessors. */
	uint64_t cap = AISIO_NVME_CAP_MQES(1023) | AISIO_NVME_CAP_CQR | AISIO_NVME_CAP_TO(20) |
		       AISIO_NVME_CAP_DSTRD(2) | AISIO_NVME_CAP_CSS_NVM | AISIO_NVME_CAP_MPSMIN(0) |
		       AISIO_NVME_CAP_MPSMAX(4);
	CHECK_EQ(aisio_nvme_cap_mqes(cap), 1023);
	CHECK_EQ(aisio_nvme_cap_cqr(cap), 1);
	CHECK_EQ(aisio_nvme_cap_to(cap), 20);
	CHECK_EQ(aisio_nvme_cap_dstrd(cap), 2);
	CHECK_EQ(aisio_nvme_cap_css(cap), 1);
	CHECK_EQ(aisio_nvme_cap_mpsmax(cap), 4);
	CHECK_EQ(cap >> 37 & 1, 1);
	uint32_t cc = AISIO_NVME_CC_EN | AISIO_NVME_CC_MPS(12) | AISIO_NVME_CC_IOSQES(6) |
		      AISIO_NVME_CC_IOCQES(4);
	CHECK_EQ(cc, 0x00460001u);
	CHECK_EQ(aisio_nvme_cc_iosqes(cc), 6);
	CHECK_EQ(aisio_nvme_cc_iocqes(cc), 4);
	CHECK_EQ(aisio_nvme_cc_mps(AISIO_NVME_CC_MPS(16)), 4);
	CHECK_EQ(AISIO_NVME_AQA(32, 64), 31u | 63u << 16);
	CHECK_EQ(aisio_nvme_aqa_asqs(AISIO_NVME_AQA(32, 64)), 32);
	CHECK_EQ(aisio_nvme_aqa_acqs(AISIO_NVME_AQA(32, 64)), 64);
	CHECK_EQ(AISIO_NVME_VS(2, 0, 1), 0x00020001u);
	CHECK_EQ(AISIO_NVME_REG_CC, 0x14);
	CHECK_EQ(AISIO_NVME_REG_CSTS, 0x1c);
	CHECK_EQ(AISIO_NVME_REG_ASQ, 0x28);
	CHECK_EQ(AISIO_NVME_REG_ACQ, 0x30);

	/* 128-bit SMART counters saturate to 64 bits. */
	uint8_t v[16];
	aisio_nvme_u128_set(v, 0x0102030405060708ull);
	CHECK_EQ(v[0], 0x08);
	CHECK_EQ(aisio_nvme_u128_lo(v), 0x0102030405060708ull);
	v[9] = 1;
	CHECK_EQ(aisio_nvme_u128_lo(v), UINT64_MAX);
	return t_result("spec_layout");
}
