/* SPDX-License-Identifier: MIT */
/*
 * SGL builder: a single data block when the buffer is bus-contiguous, a last
 * segment of data blocks when it is not, and chained segments when one list
 * page cannot hold them all. Built SGLs are decoded back through the
 * regions' reverse mapping.
 */
#include <aisio/aisio.h>

#include "dptr_check.h"

#define PG 4096u

static struct runs rs;

/* Build and decode; returns the number of data block descriptors used (0 on failure). */
static unsigned check_sgl(const struct aisio_mem_region *r, const void *buf, size_t len,
			  const struct aisio_nvme_list_mem *lists)
{
	struct aisio_nvme_sqe c;
	int err;

	memset(&c, 0x5a, sizeof(c));
	c.flags = 0x02; /* FUSE bits survive, PSDT replaced */
	err = aisio_nvme_sgl_build(&c, r, buf, len, 0, lists, 12);
	if (err) {
		fprintf(stderr, "sgl_build(off %zu, len %zu): %d %s\n",
			(size_t)((const uint8_t *)buf - r->va), len, err, aisio_errmsg());
		t_failures++;
		return 0;
	}
	CHECK_EQ(c.flags, AISIO_NVME_PSDT_SGL_MPTR_CONTIG | 0x02);
	CHECK_EQ(c.cdw10, 0x5a5a5a5au);
	if (decode_sgl(&c, &rs)) {
		fprintf(stderr, "SGL decode failed: off %zu len %zu\n",
			(size_t)((const uint8_t *)buf - r->va), len);
		t_failures++;
		return 0;
	}
	if (!runs_cover(&rs, buf, len)) {
		t_failures++;
		return 0;
	}
	return rs.descs;
}

static void test_identity(void)
{
	struct aisio_mem_region *r;
	struct aisio_nvme_sqe c = { 0 };

	REQUIRE(!aisio_mem_region_identity(8u << 20, &r));
	rev_reset();
	rev_add(r);
	/* Identity memory is contiguous: one data block, no list memory needed. */
	CHECK_EQ(check_sgl(r, r->va + 3, 5 * PG + 1, NULL), 1);
	CHECK_EQ(check_sgl(r, r->va + (2u << 20) - 100, 300, NULL), 1); /* across 2 MiB chunks */
	CHECK_EQ(check_sgl(r, r->va, r->len, NULL), 1);
	CHECK_EQ(aisio_nvme_sgl_build(&c, r, r->va + 1, 777, 0, NULL, 12), 0);
	CHECK_EQ(c.dptr.sgl1.addr, (uint64_t)(uintptr_t)r->va + 1);
	CHECK_EQ(c.dptr.sgl1.length, 777);
	CHECK_EQ(c.dptr.sgl1.type, AISIO_NVME_SGL_TYPE(AISIO_NVME_SGL_TYPE_DATA_BLOCK, 0));
	/* Errors. */
	CHECK_EQ(aisio_nvme_sgl_build(&c, r, r->va, 0, 0, NULL, 12), -EINVAL);
	CHECK_EQ(aisio_nvme_sgl_build(&c, r, r->va + r->len - 1, 2, 0, NULL, 12), -EINVAL);
	CHECK_EQ(aisio_nvme_sgl_build(&c, r, r->va, 65537, 65536, NULL, 12), -E2BIG);
	CHECK(strstr(aisio_errmsg(), "MDTS") != NULL);
	CHECK_EQ(aisio_nvme_sgl_build(&c, r, r->va, 65536, 65536, NULL, 12), 0);
	aisio_mem_region_release(r);
}

/*
 * 4 KiB chunks where pairs (2k, 2k+1) are contiguous on the bus and pairs
 * are scattered: a buffer of n aligned pages has n / 2 data blocks.
 */
static void test_scattered(void)
{
	const size_t nchunks = 2048;
	struct fake_region *f = fake_region_new(nchunks, 12);
	struct fake_region *fl = fake_region_new(4, 12);
	struct aisio_nvme_list_mem lists;
	struct aisio_nvme_sgl_desc *seg0 = (struct aisio_nvme_sgl_desc *)fl->r.va;
	struct aisio_nvme_sqe c = { 0 };

	for (size_t i = 0; i < nchunks; i++)
		f->bus[i] = 0x40000000000ull + (uint64_t)(nchunks / 2 - 1 - i / 2) * 4 * PG +
			    (i & 1) * PG;
	for (size_t i = 0; i < 4; i++)
		fl->bus[i] = 0x50000000000ull + (uint64_t)i * 0x10000;
	rev_reset();
	rev_add(&f->r);
	rev_add(&fl->r);
	lists.va = fl->r.va;
	lists.region = &fl->r;
	lists.npages = 4;

	/* Inside one pair: single data block. */
	CHECK_EQ(check_sgl(&f->r, f->r.va + 100, 2 * PG - 100, &lists), 1);
	/* Across a pair boundary: a last segment with two data blocks. */
	CHECK_EQ(check_sgl(&f->r, f->r.va + PG + 8, 2 * PG, &lists), 2);
	CHECK_EQ(aisio_nvme_sgl_build(&c, &f->r, f->r.va + PG + 8, 2 * PG, 0, &lists, 12), 0);
	CHECK_EQ(c.dptr.sgl1.type >> 4, AISIO_NVME_SGL_TYPE_LAST_SEGMENT);
	CHECK_EQ(c.dptr.sgl1.length, 2 * 16);
	CHECK_EQ(c.dptr.sgl1.addr, fl->bus[0]);
	CHECK_EQ(seg0[0].addr, f->bus[1] + 8);
	CHECK_EQ(seg0[0].length, PG - 8);
	CHECK_EQ(seg0[1].addr, f->bus[2]);
	CHECK_EQ(seg0[1].length, PG + 8);
	/* 256 data blocks fill one list page exactly: still a single last segment. */
	CHECK_EQ(check_sgl(&f->r, f->r.va, 512 * PG, &lists), 256);
	CHECK_EQ(rs.list_pages, 1);
	/* 257 need a chain: 255 blocks + segment descriptor, then a last segment of 2. */
	CHECK_EQ(check_sgl(&f->r, f->r.va, 514 * PG, &lists), 257);
	CHECK_EQ(rs.list_pages, 2);
	CHECK_EQ(aisio_nvme_sgl_build(&c, &f->r, f->r.va, 514 * PG, 0, &lists, 12), 0);
	CHECK_EQ(c.dptr.sgl1.type >> 4, AISIO_NVME_SGL_TYPE_SEGMENT);
	CHECK_EQ(c.dptr.sgl1.length, 256 * 16);
	CHECK_EQ(seg0[255].type >> 4, AISIO_NVME_SGL_TYPE_LAST_SEGMENT);
	CHECK_EQ(seg0[255].addr, fl->bus[1]);
	CHECK_EQ(seg0[255].length, 2 * 16);
	/* 1000 blocks: segment, segment, segment, last segment. */
	CHECK_EQ(check_sgl(&f->r, f->r.va + 4, 2000 * PG - 4, &lists), 1000);
	CHECK_EQ(rs.list_pages, 4);
	/* Odd offsets and lengths through scattered memory. */
	for (size_t off = 1; off < 3 * PG; off += 1531)
		for (size_t len = 1; len < 40 * PG; len = len * 3 + 7)
			check_sgl(&f->r, f->r.va + off, len, &lists);
	/* Not enough list memory. */
	lists.npages = 3;
	CHECK_EQ(aisio_nvme_sgl_build(&c, &f->r, f->r.va, 2000 * PG, 0, &lists, 12), -ENOSPC);
	CHECK_EQ(aisio_nvme_sgl_build(&c, &f->r, f->r.va, 3 * PG, 0, NULL, 12), -ENOSPC);
	CHECK(strstr(aisio_errmsg(), "list") != NULL);
	fake_region_free(f);
	fake_region_free(fl);
}

int main(void)
{
	test_identity();
	test_scattered();
	return t_result("sgl");
}
