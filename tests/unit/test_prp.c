/* SPDX-License-Identifier: MIT */
/*
 * PRP builder: sub-page offsets, 1, 2, 513 and 1025 pages, the exact
 * one-list-page boundary, chained lists, MDTS, list memory limits, larger
 * controller pages and regions whose chunks are scattered on the bus. Each
 * built command is decoded back through the regions' reverse mapping.
 */
#include <aisio/aisio.h>

#include "dptr_check.h"

#define PG 4096u

static struct runs rs;

/* Build, decode, and check coverage and the number of list pages used. */
static void check_prp(const struct aisio_mem_region *r, const void *buf, size_t len,
		      unsigned page_shift, const struct aisio_nvme_list_mem *lists)
{
	struct aisio_nvme_sqe c;
	size_t ps = (size_t)1 << page_shift;
	uint64_t b1;
	int err;

	memset(&c, 0xa5, sizeof(c));
	c.flags = 0xc3; /* PSDT bits set and FUSE bits that must survive */
	err = aisio_nvme_prp_build(&c, r, buf, len, page_shift, 0, lists);
	if (err) {
		fprintf(stderr, "prp_build(off %zu, len %zu, shift %u): %d %s\n",
			(size_t)((const uint8_t *)buf - r->va), len, page_shift, err,
			aisio_errmsg());
		t_failures++;
		return;
	}
	CHECK_EQ(c.flags, 0x03);
	CHECK_EQ(c.cdw10, 0xa5a5a5a5u); /* nothing outside the data pointer touched */
	CHECK_EQ(c.opc, 0xa5);
	b1 = aisio_mem_bus(r, buf);
	CHECK_EQ(c.dptr.prp.prp1, b1);
	if (len <= ps - (b1 & (ps - 1)))
		CHECK_EQ(c.dptr.prp.prp2, 0);
	if (decode_prp(&c, len, page_shift, &rs)) {
		fprintf(stderr, "PRP decode failed: off %zu len %zu\n",
			(size_t)((const uint8_t *)buf - r->va), len);
		t_failures++;
		return;
	}
	if (!runs_cover(&rs, buf, len)) {
		fprintf(stderr, "  (off %zu len %zu shift %u)\n",
			(size_t)((const uint8_t *)buf - r->va), len, page_shift);
		t_failures++;
	}
	CHECK_EQ(rs.list_pages, aisio_nvme_prp_list_pages(b1 & (ps - 1), len, page_shift));

	/* The inline fast path and the full builder agree. */
	struct aisio_nvme_sqe f;
	memset(&f, 0xa5, sizeof(f));
	f.flags = 0xc3;
	CHECK_EQ(aisio_nvme_prp_build_full(&f, r, buf, len, page_shift, 0, lists), 0);
	CHECK(!memcmp(&c, &f, sizeof(c)));
}

/* Explicit values for one small case on an identity region. */
static void test_explicit(struct aisio_mem_region *r, const struct aisio_nvme_list_mem *lists)
{
	struct aisio_nvme_sqe c = { 0 };
	uint64_t va = (uint64_t)(uintptr_t)r->va;
	uint64_t *list = lists->va;

	/* One page at offset 0x200: PRP1 only. */
	CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va + 0x200, 0xe00, 12, 0, NULL), 0);
	CHECK_EQ(c.dptr.prp.prp1, va + 0x200);
	CHECK_EQ(c.dptr.prp.prp2, 0);
	/* One byte past the page: PRP2 is the next page. */
	CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va + 0x200, 0xe01, 12, 0, NULL), 0);
	CHECK_EQ(c.dptr.prp.prp2, va + PG);
	/* Two full pages at offset 0: no list. */
	CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, 2 * PG, 12, 0, NULL), 0);
	CHECK_EQ(c.dptr.prp.prp2, va + PG);
	/* Three pages at offset 4 (odd dword): list of three entries. */
	CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va + 4, 3 * PG, 12, 0, lists), 0);
	CHECK_EQ(c.dptr.prp.prp1, va + 4);
	CHECK_EQ(c.dptr.prp.prp2, aisio_mem_bus(lists->region, lists->va));
	CHECK_EQ(list[0], va + PG);
	CHECK_EQ(list[1], va + 2 * PG);
	CHECK_EQ(list[2], va + 3 * PG);
}

static void test_identity(void)
{
	struct aisio_mem_region *r, *lr;
	struct aisio_nvme_list_mem lists;
	static const size_t offs[] = { 0, 4, 12, 0x204, 0x7fc, 0x800, PG - 4 };
	/* Page counts: 1, 2, 3, 513 and 1025 pages; one list page exactly; one entry more. */
	static const size_t pages[] = { 1, 2, 3, 4, 64, 512, 513, 514, 515, 1024, 1025, 1026, 2000 };
	int err;

	err = aisio_mem_region_identity(2100 * PG, &r);
	REQUIRE(!err);
	err = aisio_mem_region_identity(16 * 65536, &lr);
	REQUIRE(!err);
	rev_reset();
	rev_add(r);
	rev_add(lr);
	lists.va = lr->va;
	lists.region = lr;
	lists.npages = 8;

	test_explicit(r, &lists);

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (size_t j = 0; j < sizeof(pages) / sizeof(pages[0]); j++) {
			size_t full = pages[j] * PG;
			/* Exactly n pages' worth, a tail that fills the last page, and odd sizes. */
			check_prp(r, r->va + offs[i], full, 12, &lists);
			check_prp(r, r->va + offs[i], full - offs[i], 12, &lists);
			check_prp(r, r->va + offs[i], full + 1, 12, &lists);
			check_prp(r, r->va + offs[i], full - 512, 12, &lists);
		}
		check_prp(r, r->va + offs[i], 1, 12, &lists);
		check_prp(r, r->va + offs[i], 4, 12, &lists);
	}

	/* The list-page boundary: 512 entries fit in one page, 513 need a chain. */
	CHECK_EQ(aisio_nvme_prp_list_pages(0, 513 * PG, 12), 1);
	CHECK_EQ(aisio_nvme_prp_list_pages(0, 514 * PG, 12), 2);
	CHECK_EQ(aisio_nvme_prp_list_pages(4, 513 * PG - 4, 12), 1);
	CHECK_EQ(aisio_nvme_prp_list_pages(4, 513 * PG - 3, 12), 2);
	CHECK_EQ(aisio_nvme_prp_list_pages(0, 1025 * PG, 12), 3); /* 1024 entries: 511 + 511 + 2 */
	CHECK_EQ(aisio_nvme_prp_list_pages(0, 1024 * PG, 12), 2); /* 1023 entries: 511 + 512 */
	CHECK_EQ(aisio_nvme_prp_list_pages(0, 2 * PG, 12), 0);
	CHECK_EQ(aisio_nvme_prp_list_pages(PG - 4, PG + 4, 12), 0);
	CHECK_EQ(aisio_nvme_prp_list_pages(PG - 4, PG + 5, 12), 1);

	/* Chained: the last slot of a full list page points at the next list page. */
	{
		struct aisio_nvme_sqe c = { 0 };
		uint64_t *l0 = lists.va;
		uint8_t *lp1 = (uint8_t *)lists.va + PG;

		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, 514 * PG, 12, 0, &lists), 0);
		CHECK_EQ(l0[510], (uint64_t)(uintptr_t)r->va + 511 * PG);
		CHECK_EQ(l0[511], aisio_mem_bus(lr, lp1));
		CHECK_EQ(((uint64_t *)lp1)[0], (uint64_t)(uintptr_t)r->va + 512 * PG);
		CHECK_EQ(((uint64_t *)lp1)[1], (uint64_t)(uintptr_t)r->va + 513 * PG);
		/* Exactly one page: the last slot is data, not a chain. */
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, 513 * PG, 12, 0, &lists), 0);
		CHECK_EQ(l0[511], (uint64_t)(uintptr_t)r->va + 512 * PG);
	}

	/* Errors. */
	{
		struct aisio_nvme_sqe c = { 0 };
		struct aisio_nvme_list_mem small = lists;

		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, 128 * 1024, 12, 128 * 1024, &lists), 0);
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, 128 * 1024 + 1, 12, 128 * 1024, &lists),
			 -E2BIG);
		CHECK(strstr(aisio_errmsg(), "MDTS") != NULL);
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va + 4, 128 * 1024, 12, 128 * 1024, &lists),
			 0);
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va + 2, PG, 12, 0, &lists), -EINVAL);
		CHECK(strstr(aisio_errmsg(), "dword") != NULL);
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, 0, 12, 0, &lists), -EINVAL);
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va + r->len - PG, 2 * PG, 12, 0, &lists),
			 -EINVAL);
		CHECK(strstr(aisio_errmsg(), "not inside") != NULL);
		CHECK_EQ(aisio_nvme_prp_build(&c, r, lr->va, PG, 12, 0, &lists), -EINVAL);
		CHECK_EQ(aisio_nvme_prp_build(&c, NULL, r->va, PG, 12, 0, &lists), -EINVAL);
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, 3 * PG, 12, 0, NULL), -ENOSPC);
		small.npages = 1;
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, 513 * PG, 12, 0, &small), 0);
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, 514 * PG, 12, 0, &small), -ENOSPC);
		CHECK(strstr(aisio_errmsg(), "list pages") != NULL);
		small.va = (uint8_t *)lists.va + 8;
		small.npages = 2;
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, 4 * PG, 12, 0, &small), -EINVAL);
		/* Controller pages larger than the region's chunks cannot be described. */
		CHECK_EQ(aisio_nvme_prp_build(&c, r, r->va, PG, 22, 0, &lists), -EINVAL);
	}

	/* Larger controller pages (MPS 8 KiB and 64 KiB) over 2 MiB chunks. */
	for (unsigned shift = 13; shift <= 16; shift += 3) {
		size_t ps = (size_t)1 << shift;
		uintptr_t a = ((uintptr_t)lr->va + ps - 1) & ~(uintptr_t)(ps - 1);

		/* List pages are controller pages, aligned to their size. */
		lists.va = (void *)a;
		lists.npages = (uint32_t)((lr->len - (a - (uintptr_t)lr->va)) >> shift);
		for (size_t k = 1; k < 20; k += 3) {
			check_prp(r, r->va + 4, k * ps, shift, &lists);
			check_prp(r, r->va + ps - 8, k * ps + 100, shift, &lists);
		}
	}

	aisio_mem_region_release(r);
	aisio_mem_region_release(lr);
}

/* Chunks scattered on the bus, in reverse order with gaps (a uio pagemap, an IOMMU). */
static void test_scattered(unsigned chunk_shift, size_t nchunks)
{
	struct fake_region *f = fake_region_new(nchunks, chunk_shift);
	struct fake_region *fl = fake_region_new(4, 12);
	size_t cs = (size_t)1 << chunk_shift;
	struct aisio_nvme_list_mem lists;
	static const size_t offs[] = { 0, 4, 0x204, PG - 4 };

	for (size_t i = 0; i < nchunks; i++)
		f->bus[i] = 0x10000000000ull + (uint64_t)(nchunks - 1 - i) * cs * 3;
	for (size_t i = 0; i < 4; i++)
		fl->bus[i] = 0x20000000000ull + (uint64_t)(3 - i) * 0x100000;
	rev_reset();
	rev_add(&f->r);
	rev_add(&fl->r);
	lists.va = fl->r.va;
	lists.region = &fl->r;
	lists.npages = 4;

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		size_t max = f->r.len - offs[i];
		static const size_t lens[] = {
			1, PG, 2 * PG, 3 * PG, 513 * PG, 514 * PG, 1025 * PG
		};
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++)
			if (lens[j] <= max)
				check_prp(&f->r, f->r.va + offs[i], lens[j], 12, &lists);
		/* Start in the middle of a chunk and cross into the next one. */
		if (nchunks > 2)
			check_prp(&f->r, f->r.va + cs - PG + offs[i], 2 * PG, 12, &lists);
	}
	/* A second page in another chunk takes that chunk's bus address. */
	if (cs == PG) {
		struct aisio_nvme_sqe c = { 0 };
		CHECK_EQ(aisio_nvme_prp_build(&c, &f->r, f->r.va + 0x100, PG, 12, 0, &lists), 0);
		CHECK_EQ(c.dptr.prp.prp1, f->bus[0] + 0x100);
		CHECK_EQ(c.dptr.prp.prp2, f->bus[1]);
	}
	/* A controller page larger than a chunk is refused. */
	{
		struct aisio_nvme_sqe c = { 0 };
		CHECK_EQ(aisio_nvme_prp_build(&c, &f->r, f->r.va, PG, chunk_shift + 1, 0, &lists),
			 -EINVAL);
	}
	/* A chunk whose bus address is not page aligned is refused, not silently used. */
	if (nchunks > 3) {
		struct aisio_nvme_sqe c = { 0 };
		f->bus[2] += 0x200;
		CHECK_EQ(aisio_nvme_prp_build(&c, &f->r, f->r.va, 3 * cs, 12, 0, &lists), -EINVAL);
		f->bus[2] -= 0x200;
	}
	fake_region_free(f);
	fake_region_free(fl);
}

int main(void)
{
	test_identity();
	test_scattered(12, 1100);
	test_scattered(14, 300);
	test_scattered(21, 3);
	return t_result("prp");
}
