/* SPDX-License-Identifier: MIT */
/*
 * PRP and SGL builders. Bus addresses come only from the buffer's region
 * (aisio_mem_bus), page by page, so a buffer that crosses chunks whose bus
 * addresses are not contiguous is described correctly without any special
 * case. Chunk bus addresses are assumed page aligned (every provider maps
 * whole pages); entries that turn out misaligned are rejected.
 *
 * The one- and two-page PRP cases are the hot path of every small I/O; they
 * are inlined from dptr.h and reach this file only for lists and errors.
 */
#include <errno.h>

#include "nvme/dptr.h"
#include "util/err.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Largest length one SGL data block carries (the field is 32 bits). */
#define SGL_MAX_BLOCK ((size_t)1 << 31)

/* List pages for @n entries of which a page holds @per (the last chains). */
static size_t list_pages(size_t n, size_t per)
{
	if (n <= per)
		return 1;
	return (n - 1 + per - 2) / (per - 1);
}

uint32_t aisio_nvme_prp_list_pages(size_t off, size_t len, unsigned page_shift)
{
	size_t ps = (size_t)1 << page_shift;
	size_t first = ps - (off & (ps - 1));
	size_t n;

	if (len <= first + ps)
		return 0;
	n = (len - first + ps - 1) >> page_shift;
	return (uint32_t)list_pages(n, ps / 8);
}

static int __attribute__((noinline, cold))
bad_buffer(const struct aisio_mem_region *r, const void *buf, size_t len)
{
	if (!len)
		return aisio_err(-EINVAL, "data pointer: transfer length is 0");
	if (!r)
		return aisio_err(-EINVAL, "data pointer: buffer %p has no DMA region", buf);
	return aisio_err(-EINVAL,
			 "data pointer: buffer %p+%zu is not inside DMA region '%s' (%p+%zu); "
			 "allocate I/O buffers with aisio_buf_alloc()",
			 buf, len, r->name ? r->name : "?", (void *)r->va, r->len);
}

static int __attribute__((noinline, cold)) too_big(size_t len, size_t max_xfer)
{
	return aisio_err(-E2BIG,
			 "data pointer: transfer of %zu bytes exceeds the controller's "
			 "maximum (MDTS) of %zu bytes",
			 len, max_xfer);
}

static int __attribute__((noinline, cold))
misaligned(uint64_t bus, const char *what, const char *need)
{
	return aisio_err(-EINVAL, "data pointer: %s bus address 0x%llx is not %s aligned", what,
			 (unsigned long long)bus, need);
}

/* Check the caller's list memory for @npages pages of @ps bytes. */
static int check_lists(const struct aisio_nvme_list_mem *lists, size_t npages, size_t ps)
{
	if (!lists || !lists->va || !lists->region)
		return aisio_err(-ENOSPC,
				 "data pointer: transfer needs %zu list page(s) and no "
				 "list memory was given",
				 npages);
	if (npages > lists->npages)
		return aisio_err(-ENOSPC,
				 "data pointer: transfer needs %zu list pages, only %u given",
				 npages, lists->npages);
	if (!aisio_mem_contains(lists->region, lists->va, npages * ps))
		return aisio_err(-EINVAL, "data pointer: list memory %p is outside its region",
				 lists->va);
	if ((uintptr_t)lists->va & (ps - 1))
		return aisio_err(-EINVAL, "data pointer: list memory %p is not page aligned",
				 lists->va);
	return 0;
}

/* More than two pages: PRP2 points to a list; full list pages chain through their last entry. */
static int __attribute__((noinline))
prp_build_list(struct aisio_nvme_sqe *cmd, const struct aisio_mem_region *r, const uint8_t *p,
	       size_t rest, unsigned page_shift, const struct aisio_nvme_list_mem *lists)
{
	size_t ps = (size_t)1 << page_shift;
	size_t per = ps / 8;
	size_t n = (rest + ps - 1) >> page_shift;
	const struct aisio_mem_region *lr;
	const uint8_t *lp;
	uint64_t *e, acc;
	size_t slot = 0;
	int err;

	err = check_lists(lists, list_pages(n, per), ps);
	if (err)
		return err;
	lr = lists->region;
	lp = lists->va;
	e = (uint64_t *)lists->va;
	acc = cmd->dptr.prp.prp2 = aisio_mem_bus(lr, lp);
	for (size_t i = 0; i < n; i++, p += ps) {
		if (slot == per - 1 && i != n - 1) {
			lp += ps;
			e[slot] = aisio_cpu_to_le64(aisio_mem_bus(lr, lp));
			acc |= e[slot];
			e = (uint64_t *)lp;
			slot = 0;
		}
		e[slot] = aisio_cpu_to_le64(aisio_mem_bus(r, p));
		acc |= e[slot++];
	}
	if (unlikely(acc & (ps - 1)))
		return aisio_err(-EINVAL,
				 "data pointer: a PRP list entry is not page aligned "
				 "(offset bits 0x%llx); the region's chunks must be page aligned",
				 (unsigned long long)(acc & (ps - 1)));
	return 0;
}

/* Cold: say which argument check of aisio_nvme_prp_build() failed. */
static int __attribute__((noinline, cold))
prp_bad_args(const struct aisio_mem_region *r, const void *buf, size_t len, unsigned page_shift,
	     size_t max_xfer)
{
	if (!r || !len || !aisio_mem_contains(r, buf, len))
		return bad_buffer(r, buf, len);
	if (max_xfer && len > max_xfer)
		return too_big(len, max_xfer);
	return aisio_err(-EINVAL,
			 "data pointer: region '%s' translates %u-byte chunks, "
			 "smaller than the %zu-byte controller page",
			 r->name ? r->name : "?", 1u << r->chunk_shift, (size_t)1 << page_shift);
}

int aisio_nvme_prp_build_full(struct aisio_nvme_sqe *cmd, const struct aisio_mem_region *r,
			      const void *buf, size_t len, unsigned page_shift, size_t max_xfer,
			      const struct aisio_nvme_list_mem *lists)
{
	size_t off, cmask, pmask, first, off2;
	uint64_t prp1, prp2;
	unsigned cs;

	if (unlikely(!r))
		return prp_bad_args(r, buf, len, page_shift, max_xfer);
	off = (size_t)((const uint8_t *)buf - r->va);
	cs = r->chunk_shift;
	/*
	 * All argument checks in few branches: len - 1 wraps when len is 0,
	 * and max_xfer - 1 wraps when there is no limit.
	 */
	if (unlikely(off >= r->len || len - 1 >= r->len - off || len - 1 > max_xfer - 1 ||
		     cs < page_shift))
		return prp_bad_args(r, buf, len, page_shift, max_xfer);
	cmask = ((size_t)1 << cs) - 1;
	pmask = ((size_t)1 << page_shift) - 1;
	prp1 = r->bus[off >> cs] + (off & cmask);
	if (unlikely(prp1 & 3))
		return misaligned(prp1, "buffer", "dword");
	cmd->flags = (uint8_t)((cmd->flags & ~AISIO_NVME_PSDT_MASK) | AISIO_NVME_PSDT_PRP);
	cmd->dptr.prp.prp1 = aisio_cpu_to_le64(prp1);
	/* Bytes up to the end of the first page: PRP1 may start mid-page. */
	first = pmask + 1 - (prp1 & pmask);
	if (likely(len <= first)) {
		cmd->dptr.prp.prp2 = 0;
		return 0;
	}
	if (likely(len - first <= pmask + 1)) {
		off2 = off + first;
		prp2 = r->bus[off2 >> cs] + (off2 & cmask);
		if (unlikely(prp2 & pmask))
			return misaligned(prp2, "second page", "page");
		cmd->dptr.prp.prp2 = aisio_cpu_to_le64(prp2);
		return 0;
	}
	return prp_build_list(cmd, r, (const uint8_t *)buf + first, len - first, page_shift, lists);
}

/* Length of the bus-contiguous run at @p (at most @rem bytes); its address in *@bus. */
static size_t sgl_run(const struct aisio_mem_region *r, const uint8_t *p, size_t rem, uint64_t *bus)
{
	uint64_t b = aisio_mem_bus(r, p);
	size_t n = aisio_mem_chunk_left(r, p);

	if (rem > SGL_MAX_BLOCK)
		rem = SGL_MAX_BLOCK;
	while (n < rem && aisio_mem_bus(r, p + n) == b + n)
		n += aisio_mem_chunk_left(r, p + n);
	*bus = b;
	return n < rem ? n : rem;
}

static void sgl_desc(struct aisio_nvme_sgl_desc *d, uint64_t addr, size_t len, uint8_t type)
{
	d->addr = aisio_cpu_to_le64(addr);
	d->length = aisio_cpu_to_le32((uint32_t)len);
	d->rsvd12[0] = d->rsvd12[1] = d->rsvd12[2] = 0;
	d->type = AISIO_NVME_SGL_TYPE(type, AISIO_NVME_SGL_SUBTYPE_ADDRESS);
}

/* Descriptor pointing at a segment that holds @ndesc descriptors. */
static void sgl_seg_desc(struct aisio_nvme_sgl_desc *d, uint64_t addr, size_t ndesc, int last)
{
	sgl_desc(d, addr, ndesc * sizeof(*d),
		 last ? AISIO_NVME_SGL_TYPE_LAST_SEGMENT : AISIO_NVME_SGL_TYPE_SEGMENT);
}

int aisio_nvme_sgl_build(struct aisio_nvme_sqe *cmd, const struct aisio_mem_region *r,
			 const void *buf, size_t len, size_t max_xfer,
			 const struct aisio_nvme_list_mem *lists, unsigned page_shift)
{
	const uint8_t *p = buf;
	size_t ps = (size_t)1 << page_shift;
	size_t per = ps / sizeof(struct aisio_nvme_sgl_desc);
	struct aisio_nvme_sgl_desc *d;
	const uint8_t *lp;
	size_t nruns = 0, npages, left, slot = 0;
	uint64_t bus;
	int err;

	if (unlikely(!r || !len || !aisio_mem_contains(r, buf, len)))
		return bad_buffer(r, buf, len);
	if (unlikely(max_xfer && len > max_xfer))
		return too_big(len, max_xfer);

	/* Common case: one data block. */
	if (likely(sgl_run(r, p, len, &bus) == len)) {
		cmd->flags = (uint8_t)((cmd->flags & ~AISIO_NVME_PSDT_MASK) |
				       AISIO_NVME_PSDT_SGL_MPTR_CONTIG);
		sgl_desc(&cmd->dptr.sgl1, bus, len, AISIO_NVME_SGL_TYPE_DATA_BLOCK);
		return 0;
	}

	for (left = len; left;) {
		size_t n = sgl_run(r, p + (len - left), left, &bus);
		left -= n;
		nruns++;
	}
	npages = list_pages(nruns, per);
	err = check_lists(lists, npages, ps);
	if (err)
		return err;

	lp = lists->va;
	d = (struct aisio_nvme_sgl_desc *)lists->va;
	cmd->flags =
		(uint8_t)((cmd->flags & ~AISIO_NVME_PSDT_MASK) | AISIO_NVME_PSDT_SGL_MPTR_CONTIG);
	sgl_seg_desc(&cmd->dptr.sgl1, aisio_mem_bus(lists->region, lp), nruns <= per ? nruns : per,
		     nruns <= per);
	left = len;
	for (size_t i = 0; i < nruns; i++) {
		/* A full page ends with a descriptor of the next segment. */
		if (slot == per - 1 && i != nruns - 1) {
			size_t remaining = nruns - i;
			lp += ps;
			sgl_seg_desc(&d[slot], aisio_mem_bus(lists->region, lp),
				     remaining <= per ? remaining : per, remaining <= per);
			d = (struct aisio_nvme_sgl_desc *)lp;
			slot = 0;
		}
		size_t n = sgl_run(r, p + (len - left), left, &bus);
		sgl_desc(&d[slot++], bus, n, AISIO_NVME_SGL_TYPE_DATA_BLOCK);
		left -= n;
	}
	return 0;
}
