/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the PRP and SGL tests: regions with hand-made chunk tables,
 * a reverse (bus -> virtual) mapping that searches the tables independently
 * of aisio_mem_bus(), and decoders that walk PRPs and SGLs the way a
 * controller does. A decoded data pointer is a list of virtual runs that must
 * cover the buffer exactly, in order.
 */
#ifndef AISIO_TESTS_UNIT_DPTR_CHECK_H
#define AISIO_TESTS_UNIT_DPTR_CHECK_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mem/region.h"
#include "nvme/dptr.h"
#include "t.h"

/* A region over aligned heap memory whose chunk bus addresses the test chooses. */
struct fake_region {
	struct aisio_mem_region r;
	uint64_t *bus;
	size_t nchunks;
};

static inline struct fake_region *fake_region_new(size_t nchunks, unsigned chunk_shift)
{
	struct fake_region *f = calloc(1, sizeof(*f));
	size_t cs = (size_t)1 << chunk_shift;

	REQUIRE(f);
	f->nchunks = nchunks;
	f->bus = calloc(nchunks, sizeof(uint64_t));
	f->r.va = aligned_alloc(cs < 4096 ? 4096 : cs, nchunks * cs);
	REQUIRE(f->bus && f->r.va);
	memset(f->r.va, 0, nchunks * cs);
	f->r.len = nchunks * cs;
	f->r.chunk_shift = chunk_shift;
	f->r.bus = f->bus;
	f->r.kind = AISIO_MEM_HOST;
	f->r.name = "fake";
	return f;
}

static inline void fake_region_free(struct fake_region *f)
{
	free(f->r.va);
	free(f->bus);
	free(f);
}

/* Regions the reverse mapping searches. */
#define MAX_REV 8
static const struct aisio_mem_region *rev_regions[MAX_REV];
static int rev_nregions;

static inline void rev_reset(void)
{
	rev_nregions = 0;
}

static inline void rev_add(const struct aisio_mem_region *r)
{
	REQUIRE(rev_nregions < MAX_REV);
	rev_regions[rev_nregions++] = r;
}

/* Virtual address of bus address @b and the bytes left in its chunk; NULL if unmapped. */
static inline uint8_t *rev_map(uint64_t b, size_t *left)
{
	for (int k = 0; k < rev_nregions; k++) {
		const struct aisio_mem_region *r = rev_regions[k];
		size_t cs = (size_t)1 << r->chunk_shift;
		size_t n = (r->len + cs - 1) / cs;

		for (size_t i = 0; i < n; i++) {
			size_t clen = i == n - 1 ? r->len - i * cs : cs;
			if (b >= r->bus[i] && b - r->bus[i] < clen) {
				if (left)
					*left = clen - (size_t)(b - r->bus[i]);
				return r->va + i * cs + (b - r->bus[i]);
			}
		}
	}
	return NULL;
}

/* The decoded data pointer: virtual runs, merged when adjacent. */
struct runs {
	size_t n;
	uint8_t *va[8192];
	size_t len[8192];
	int bad; /* a bus address did not map */
	unsigned list_pages;
	unsigned descs;
};

static inline void runs_add(struct runs *rs, uint8_t *va, size_t len)
{
	if (rs->n && rs->va[rs->n - 1] + rs->len[rs->n - 1] == va) {
		rs->len[rs->n - 1] += len;
		return;
	}
	REQUIRE(rs->n < 8192);
	rs->va[rs->n] = va;
	rs->len[rs->n++] = len;
}

/* Map a bus range, possibly crossing bus-contiguous chunks. */
static inline void runs_add_bus(struct runs *rs, uint64_t b, size_t len)
{
	while (len) {
		size_t left;
		uint8_t *va = rev_map(b, &left);
		if (!va) {
			fprintf(stderr, "bus address 0x%llx maps to no region\n",
				(unsigned long long)b);
			rs->bad = 1;
			return;
		}
		if (left > len)
			left = len;
		runs_add(rs, va, left);
		b += left;
		len -= left;
	}
}

/* True when the runs are exactly buf..buf+len. */
static inline int runs_cover(const struct runs *rs, const void *buf, size_t len)
{
	if (rs->bad || rs->n != 1 || rs->va[0] != buf || rs->len[0] != len) {
		fprintf(stderr, "decoded %zu run(s)%s; first %p+%zu, want %p+%zu\n", rs->n,
			rs->bad ? " with unmapped addresses" : "", rs->n ? (void *)rs->va[0] : NULL,
			rs->n ? rs->len[0] : 0, buf, len);
		return 0;
	}
	return 1;
}

/*
 * Walk PRP1/PRP2 as a controller does. Returns 0, or -1 on a rule broken:
 * PRP1 not dword aligned, a later entry not page aligned, a list pointer
 * that does not map.
 */
static inline int decode_prp(const struct aisio_nvme_sqe *c, size_t len, unsigned page_shift,
			     struct runs *rs)
{
	size_t ps = (size_t)1 << page_shift;
	size_t per = ps / 8;
	uint64_t prp1 = c->dptr.prp.prp1, prp2 = c->dptr.prp.prp2;
	size_t first = ps - (prp1 & (ps - 1));
	size_t rest;

	memset(rs, 0, sizeof(*rs));
	if ((c->flags & AISIO_NVME_PSDT_MASK) != AISIO_NVME_PSDT_PRP || (prp1 & 3))
		return -1;
	runs_add_bus(rs, prp1, len < first ? len : first);
	if (len <= first)
		return 0;
	rest = len - first;
	if (rest <= ps) {
		if (prp2 & (ps - 1))
			return -1;
		runs_add_bus(rs, prp2, rest);
		return 0;
	}
	/* PRP2 is a list pointer: entries up to the page end, the last one chains. */
	uint64_t *list = (uint64_t *)rev_map(prp2, NULL);
	size_t slot = (prp2 & (ps - 1)) / 8;
	if (!list || (prp2 & 7))
		return -1;
	rs->list_pages = 1;
	while (rest) {
		if (slot == per - 1 && rest > ps) {
			uint64_t next = list[0];
			if (next & (ps - 1))
				return -1;
			list = (uint64_t *)rev_map(next, NULL);
			if (!list)
				return -1;
			rs->list_pages++;
			slot = 0;
		}
		uint64_t e = *list++;
		slot++;
		if (e & (ps - 1))
			return -1;
		size_t n = rest < ps ? rest : ps;
		runs_add_bus(rs, e, n);
		rest -= n;
	}
	return 0;
}

/*
 * Walk an SGL: a data block in SGL1, or segments of data block descriptors
 * where only the last descriptor of a segment may point to the next one.
 * Returns 0, or -1 on a malformed list.
 */
static inline int decode_sgl(const struct aisio_nvme_sqe *c, struct runs *rs)
{
	struct aisio_nvme_sgl_desc d = c->dptr.sgl1;

	memset(rs, 0, sizeof(*rs));
	if ((c->flags & AISIO_NVME_PSDT_MASK) != AISIO_NVME_PSDT_SGL_MPTR_CONTIG)
		return -1;
	for (;;) {
		unsigned type = d.type >> 4;
		if ((d.type & 0xf) != AISIO_NVME_SGL_SUBTYPE_ADDRESS)
			return -1;
		if (type == AISIO_NVME_SGL_TYPE_DATA_BLOCK) {
			runs_add_bus(rs, d.addr, d.length);
			rs->descs++;
			return 0;
		}
		if (type != AISIO_NVME_SGL_TYPE_SEGMENT && type != AISIO_NVME_SGL_TYPE_LAST_SEGMENT)
			return -1;
		if (!d.length || d.length % 16)
			return -1;
		size_t left;
		struct aisio_nvme_sgl_desc *seg =
			(struct aisio_nvme_sgl_desc *)rev_map(d.addr, &left);
		size_t n = d.length / 16;
		if (!seg || left < d.length)
			return -1;
		rs->list_pages++;
		for (size_t i = 0; i < n; i++) {
			unsigned t = seg[i].type >> 4;
			if (t == AISIO_NVME_SGL_TYPE_DATA_BLOCK) {
				runs_add_bus(rs, seg[i].addr, seg[i].length);
				rs->descs++;
				continue;
			}
			/* A segment descriptor ends a segment; none in the last segment. */
			if (i != n - 1 || type == AISIO_NVME_SGL_TYPE_LAST_SEGMENT)
				return -1;
		}
		if (type == AISIO_NVME_SGL_TYPE_LAST_SEGMENT)
			return 0;
		d = seg[n - 1];
		if ((d.type >> 4) != AISIO_NVME_SGL_TYPE_SEGMENT &&
		    (d.type >> 4) != AISIO_NVME_SGL_TYPE_LAST_SEGMENT)
			return -1;
	}
}

#endif
