/* SPDX-License-Identifier: MIT */
/*
 * Device model, NVM commands through PRPs and SGLs built by hand: Read,
 * Write, Compare (and Compare Failure), Write Zeroes, Dataset Management
 * deallocate, Flush, and the statuses for bad commands (LBA Out of Range,
 * MDTS, Invalid PRP Offset, SGL errors, Invalid Namespace, Invalid Opcode).
 */
#include "emu_t.h"

#define NLBAS 4096 /* 512-byte LBAs: a 2 MiB namespace */

static struct et_host h;
static struct et_queue q;

/* PRPs for @buf/@len with list pages from @lists (chained when one page is not enough). */
static void build_prp(struct aisio_nvme_sqe *cmd, uint8_t *buf, size_t len, uint64_t *lists)
{
	uint64_t b = et_bus(buf);
	size_t first = 4096 - (b & 4095);
	size_t rest, npages, slot = 0;
	uint64_t *l = lists;

	cmd->flags = AISIO_NVME_PSDT_PRP;
	cmd->dptr.prp.prp1 = b;
	cmd->dptr.prp.prp2 = 0;
	if (len <= first)
		return;
	rest = len - first;
	b += first;
	npages = (rest + 4095) / 4096;
	if (npages == 1) {
		cmd->dptr.prp.prp2 = b;
		return;
	}
	cmd->dptr.prp.prp2 = et_bus(l);
	for (size_t i = 0; i < npages; i++) {
		if (slot == 511 && i != npages - 1) {
			l[511] = et_bus(l + 512);
			l += 512;
			slot = 0;
		}
		l[slot++] = b + i * 4096;
	}
}

/* An SGL: one data block descriptor per 4 KiB piece, in a last segment (or a chain of two segments). */
static void build_sgl(struct aisio_nvme_sqe *cmd, uint8_t *buf, size_t len,
		      struct aisio_nvme_sgl_desc *seg, int chain)
{
	size_t n = (len + 4095) / 4096, half = chain ? n / 2 : n;
	struct aisio_nvme_sgl_desc *s2 = seg + 64;

	cmd->flags = AISIO_NVME_PSDT_SGL_MPTR_CONTIG;
	for (size_t i = 0; i < n; i++) {
		struct aisio_nvme_sgl_desc *d = i < half ? &seg[i] : &s2[i - half];

		d->addr = et_bus(buf + i * 4096);
		d->length = (uint32_t)(len - i * 4096 < 4096 ? len - i * 4096 : 4096);
		d->type = AISIO_NVME_SGL_TYPE(AISIO_NVME_SGL_TYPE_DATA_BLOCK, 0);
	}
	if (chain) {
		seg[half].addr = et_bus(s2);
		seg[half].length = (uint32_t)((n - half) * 16);
		seg[half].type = AISIO_NVME_SGL_TYPE(AISIO_NVME_SGL_TYPE_LAST_SEGMENT, 0);
		cmd->dptr.sgl1.addr = et_bus(seg);
		cmd->dptr.sgl1.length = (uint32_t)((half + 1) * 16);
		cmd->dptr.sgl1.type = AISIO_NVME_SGL_TYPE(AISIO_NVME_SGL_TYPE_SEGMENT, 0);
	} else {
		cmd->dptr.sgl1.addr = et_bus(seg);
		cmd->dptr.sgl1.length = (uint32_t)(n * 16);
		cmd->dptr.sgl1.type = AISIO_NVME_SGL_TYPE(AISIO_NVME_SGL_TYPE_LAST_SEGMENT, 0);
	}
}

static int io(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb, uint8_t *buf, int mode,
	      uint64_t *lists)
{
	struct aisio_nvme_sqe cmd;

	aisio_nvme_cmd_rw(&cmd, opc, nsid, slba, nlb, 0);
	if (buf) {
		if (mode == 0)
			build_prp(&cmd, buf, (size_t)nlb * 512, lists);
		else
			build_sgl(&cmd, buf, (size_t)nlb * 512, (struct aisio_nvme_sgl_desc *)lists,
				  mode == 2);
	}
	return et_cmd(&q, &cmd, NULL);
}

/* Write with one data pointer shape, read back with another, compare. */
static void roundtrip(uint64_t slba, uint32_t nlb, size_t off, int wmode, int rmode, uint64_t seed)
{
	size_t len = (size_t)nlb * 512;
	uint8_t *wb = et_alloc(len + 8192), *rb = et_alloc(len + 8192);
	uint64_t *lists = et_alloc(8 * 4096);
	int st;

	et_fill(wb + off, len, seed);
	st = io(AISIO_NVME_NVM_WRITE, 1, slba, nlb, wb + off, wmode, lists);
	if (st)
		fprintf(stderr, "write slba %llu nlb %u off %zu mode %d: status 0x%x\n",
			(unsigned long long)slba, nlb, off, wmode, st);
	CHECK_EQ(st, 0);
	memset(lists, 0, 8 * 4096);
	st = io(AISIO_NVME_NVM_READ, 1, slba, nlb, rb + off, rmode, lists);
	CHECK_EQ(st, 0);
	CHECK(memcmp(wb + off, rb + off, len) == 0);
	CHECK_EQ(io(AISIO_NVME_NVM_COMPARE, 1, slba, nlb, wb + off, 0, lists), 0);
	wb[off + len / 2] ^= 0x40;
	CHECK_EQ(io(AISIO_NVME_NVM_COMPARE, 1, slba, nlb, wb + off, 0, lists),
		 AISIO_NVME_SC_COMPARE_FAILED);
	free(wb);
	free(rb);
	free(lists);
}

static void test_data_pointers(void)
{
	/* PRP1 only, PRP1 + PRP2, PRP list, chained list (more than 511 entries) */
	roundtrip(0, 1, 0, 0, 0, 1);
	roundtrip(10, 8, 0, 0, 0, 2);
	roundtrip(20, 8, 512, 0, 0, 3);	   /* PRP1 offset: spills into PRP2 */
	roundtrip(40, 16, 1024, 0, 0, 4);  /* offset buffer + list */
	roundtrip(100, 64, 0, 0, 1, 5);	   /* write PRP list, read SGL */
	roundtrip(200, 64, 0, 1, 2, 6);	   /* SGL last segment, SGL chained segments */
	roundtrip(300, 255, 256, 2, 0, 7); /* chained SGL write, PRP read, odd length */
	roundtrip(2048, 256, 0, 0, 0, 8);  /* MDTS: 128 KiB, 32 pages */
}

static void test_chained_prp(void)
{
	/* Chained PRP lists need more than 512 pages: a namespace with 4 KiB LBAs and no MDTS. */
	struct aisio_emu_opts o;
	struct et_host h2;
	struct et_queue q2;
	size_t len = 600 * 4096;
	uint8_t *wb = et_alloc(len + 4096), *rb = et_alloc(len + 4096);
	uint64_t *lists = et_alloc(4 * 4096);
	struct aisio_nvme_sqe cmd;

	aisio_emu_opts_init(&o);
	o.ns_size = 4 << 20;
	o.lba_shift = 12;
	o.mdts = 0;
	et_open(&h2, &o);
	et_enable(&h2);
	REQUIRE(et_ioq_create(&h2, &q2, 1, 8) == 0);
	et_fill(wb + 8, len, 99);
	aisio_nvme_cmd_rw(&cmd, AISIO_NVME_NVM_WRITE, 1, 3, 600, 0);
	build_prp(&cmd, wb + 8, len, lists);
	CHECK_EQ(lists[511], et_bus(lists + 512)); /* really chained */
	CHECK_EQ(et_cmd(&q2, &cmd, NULL), 0);
	memset(lists, 0, 4 * 4096);
	aisio_nvme_cmd_rw(&cmd, AISIO_NVME_NVM_READ, 1, 3, 600, 0);
	build_prp(&cmd, rb + 8, len, lists);
	CHECK_EQ(et_cmd(&q2, &cmd, NULL), 0);
	CHECK(memcmp(wb + 8, rb + 8, len) == 0);
	/* the chain pointer must be page aligned */
	lists[511] += 8;
	CHECK_EQ(et_cmd(&q2, &cmd, NULL), AISIO_NVME_SC_PRP_INVALID_OFFSET);
	et_ioq_delete(&h2, &q2);
	et_close(&h2);
	free(wb);
	free(rb);
	free(lists);
}

static void test_errors(void)
{
	uint8_t *buf = et_alloc(1 << 20);
	uint64_t *lists = et_alloc(4096);
	struct aisio_nvme_sgl_desc *seg = (struct aisio_nvme_sgl_desc *)lists;
	struct aisio_nvme_sqe cmd;

	CHECK_EQ(io(AISIO_NVME_NVM_READ, 1, NLBAS - 1, 2, buf, 0, lists), AISIO_NVME_SC_LBA_RANGE);
	CHECK_EQ(io(AISIO_NVME_NVM_READ, 1, NLBAS, 1, buf, 0, lists), AISIO_NVME_SC_LBA_RANGE);
	CHECK_EQ(io(AISIO_NVME_NVM_WRITE, 1, ~0ull, 1, buf, 0, lists), AISIO_NVME_SC_LBA_RANGE);
	/* MDTS 5 = 128 KiB = 256 blocks */
	CHECK_EQ(io(AISIO_NVME_NVM_READ, 1, 0, 257, buf, 0, lists), AISIO_NVME_SC_INVALID_FIELD);
	CHECK_EQ(io(AISIO_NVME_NVM_READ, 1, 0, 256, buf, 0, lists), 0);
	/* namespaces: 0, beyond NN, broadcast for a read */
	CHECK_EQ(io(AISIO_NVME_NVM_READ, 0, 0, 1, buf, 0, lists), AISIO_NVME_SC_INVALID_NS);
	CHECK_EQ(io(AISIO_NVME_NVM_READ, 2, 0, 1, buf, 0, lists), AISIO_NVME_SC_INVALID_NS);
	CHECK_EQ(io(AISIO_NVME_NVM_READ, 0xffffffff, 0, 1, buf, 0, lists),
		 AISIO_NVME_SC_INVALID_NS);
	CHECK_EQ(io(0x7e, 1, 0, 1, buf, 0, lists), AISIO_NVME_SC_INVALID_OPCODE);
	CHECK_EQ(io(AISIO_NVME_NVM_WRITE_UNCOR, 1, 0, 1, NULL, 0, lists),
		 AISIO_NVME_SC_INVALID_OPCODE);
	/* flush: one namespace, all of them, none */
	aisio_nvme_cmd_flush(&cmd, 1);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
	aisio_nvme_cmd_flush(&cmd, 0xffffffff);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
	aisio_nvme_cmd_flush(&cmd, 0);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_INVALID_NS);

	/* PRP offsets: PRP1 not dword aligned, PRP2 (second page) with an offset, list entry with an offset */
	aisio_nvme_cmd_read(&cmd, 1, 0, 1);
	cmd.dptr.prp.prp1 = et_bus(buf) + 2;
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_PRP_INVALID_OFFSET);
	aisio_nvme_cmd_read(&cmd, 1, 0, 8);
	cmd.dptr.prp.prp1 = et_bus(buf) + 512;
	cmd.dptr.prp.prp2 = et_bus(buf) + 4096 + 512;
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_PRP_INVALID_OFFSET);
	aisio_nvme_cmd_read(&cmd, 1, 0, 24);
	build_prp(&cmd, buf, 24 * 512, lists);
	lists[1] += 512;
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_PRP_INVALID_OFFSET);

	/* SGL: too short, too long, bad type, segment length not a multiple of 16, PSDT 3 */
	aisio_nvme_cmd_read(&cmd, 1, 0, 8);
	build_sgl(&cmd, buf, 8 * 512, seg, 0);
	seg[0].length -= 512;
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_SGL_INVALID_DATA);
	build_sgl(&cmd, buf, 8 * 512, seg, 0);
	seg[0].length += 512;
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_SGL_INVALID_DATA);
	build_sgl(&cmd, buf, 8 * 512, seg, 0);
	seg[0].type = AISIO_NVME_SGL_TYPE(AISIO_NVME_SGL_TYPE_KEYED_DATA_BLOCK, 0);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_SGL_INVALID_TYPE);
	build_sgl(&cmd, buf, 8 * 512, seg, 0);
	cmd.dptr.sgl1.length = 8;
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_SGL_INVALID_COUNT);
	/* a segment descriptor inside a last segment */
	aisio_nvme_cmd_read(&cmd, 1, 0, 24);
	build_sgl(&cmd, buf, 24 * 512, seg, 0);
	seg[0].type = AISIO_NVME_SGL_TYPE(AISIO_NVME_SGL_TYPE_SEGMENT, 0);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_SGL_INVALID_LAST);
	/* a single data block in the command itself */
	aisio_nvme_cmd_read(&cmd, 1, 0, 8);
	cmd.flags = AISIO_NVME_PSDT_SGL_MPTR_CONTIG;
	cmd.dptr.sgl1.addr = et_bus(buf);
	cmd.dptr.sgl1.length = 4096;
	cmd.dptr.sgl1.type = 0;
	CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
	cmd.flags = AISIO_NVME_PSDT_MASK;
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_INVALID_FIELD);
	free(buf);
	free(lists);
}

static void test_zeroes_and_dsm(void)
{
	uint8_t *buf = et_alloc(256 * 512), *zero = et_alloc(256 * 512);
	uint64_t *lists = et_alloc(4096);
	struct aisio_nvme_dsm_range *r = et_alloc(4096);
	struct aisio_nvme_sqe cmd;

	et_fill(buf, 256 * 512, 42);
	CHECK_EQ(io(AISIO_NVME_NVM_WRITE, 1, 1000, 256, buf, 0, lists), 0);
	/* Write Zeroes on 10 blocks in the middle */
	aisio_nvme_cmd_write_zeroes(&cmd, 1, 1010, 10, 0);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
	CHECK_EQ(io(AISIO_NVME_NVM_READ, 1, 1000, 256, buf, 0, lists), 0);
	CHECK(memcmp(buf + 10 * 512, zero, 10 * 512) == 0);
	CHECK(memcmp(buf + 20 * 512, zero, 512) != 0);
	aisio_nvme_cmd_write_zeroes(&cmd, 1, NLBAS - 5, 10, 1);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), AISIO_NVME_SC_LBA_RANGE);

	/* DSM deallocate of two ranges (one of 256 blocks spans whole pages); an out-of-range one is skipped */
	r[0].slba = 1100;
	r[0].nlb = 3;
	r[1].slba = 1000;
	r[1].nlb = 256;
	r[2].slba = NLBAS + 10;
	r[2].nlb = 1;
	aisio_nvme_cmd_dsm(&cmd, 1, 3, AISIO_NVME_DSM_AD);
	cmd.dptr.prp.prp1 = et_bus(r);
	CHECK_EQ(et_cmd(&q, &cmd, NULL), 0);
	CHECK_EQ(io(AISIO_NVME_NVM_READ, 1, 1000, 256, buf, 0, lists), 0);
	CHECK(memcmp(buf, zero, 256 * 512) == 0);
	free(buf);
	free(zero);
	free(lists);
	free(r);
}

static void test_batch_and_wrap(void)
{
	/* Many commands per doorbell, wrapping the rings several times. */
	enum { DEPTH = 16, ROUNDS = 40 };
	uint8_t *buf = et_alloc(DEPTH * 512), *chk = et_alloc(512);
	struct aisio_nvme_cqe cqe;
	uint64_t *lists = et_alloc(4096);

	for (int r = 0; r < ROUNDS; r++) {
		int n = 1 + r % (DEPTH - 2), got = 0;

		for (int i = 0; i < n; i++) {
			struct aisio_nvme_sqe cmd;

			et_fill(buf + i * 512, 512, (uint64_t)(r * 100 + i));
			aisio_nvme_cmd_write(&cmd, 1, (uint64_t)(3000 + r * 16 + i), 1);
			cmd.dptr.prp.prp1 = et_bus(buf + i * 512);
			et_push(&q, &cmd);
		}
		et_ring(&q);
		while (got < n && !et_reap(&q, &cqe, ET_TIMEOUT_MS)) {
			CHECK_EQ(cqe.status >> 1, 0);
			CHECK_EQ(cqe.sqid, 1);
			got++;
		}
		CHECK_EQ(got, n);
		for (int i = 0; i < n; i += 5) {
			CHECK_EQ(io(AISIO_NVME_NVM_READ, 1, (uint64_t)(3000 + r * 16 + i), 1, chk,
				    0, lists),
				 0);
			CHECK(memcmp(chk, buf + i * 512, 512) == 0);
		}
	}
	free(buf);
	free(chk);
	free(lists);
}

int main(void)
{
	struct aisio_emu_opts o;

	aisio_emu_opts_init(&o);
	o.ns_size = NLBAS * 512;
	o.mdts = 5;
	et_open(&h, &o);
	et_enable(&h);
	REQUIRE(et_ioq_create(&h, &q, 1, 16) == 0);

	test_errors();
	test_data_pointers();
	test_zeroes_and_dsm();
	test_batch_and_wrap();

	CHECK_EQ(et_ioq_delete(&h, &q), 0);
	et_close(&h);
	test_chained_prp();
	return t_result("emu_rw");
}
