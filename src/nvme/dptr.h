/* SPDX-License-Identifier: MIT */
/*
 * Data pointers: PRP and SGL builders. They ask the buffer's memory region
 * for bus addresses and never special-case a backend.
 */
#ifndef AISIO_NVME_DPTR_H
#define AISIO_NVME_DPTR_H

#include <stddef.h>
#include <stdint.h>

#include <aisio/nvme_spec.h>

#include "mem/region.h"

/*
 * Memory for PRP lists or SGL segments of one command: @npages pages of
 * (1 << page_shift) bytes, virtually contiguous in @region.
 */
struct aisio_nvme_list_mem {
	void *va;
	const struct aisio_mem_region *region;
	uint32_t npages;
};

/* Entries a PRP list page holds (the last one chains to the next page). */
static inline uint32_t aisio_nvme_prp_per_page(unsigned page_shift)
{
	return (1u << page_shift) / 8;
}

/* List pages needed for a transfer of @len bytes starting at page offset @off. */
uint32_t aisio_nvme_prp_list_pages(size_t off, size_t len, unsigned page_shift);

/*
 * aisio_nvme_prp_build_full - the complete PRP builder: any length, PRP lists
 * and chains, and an error message for every failure. Same arguments and
 * returns as aisio_nvme_prp_build().
 */
int aisio_nvme_prp_build_full(struct aisio_nvme_sqe *cmd, const struct aisio_mem_region *r,
			      const void *buf, size_t len, unsigned page_shift, size_t max_xfer,
			      const struct aisio_nvme_list_mem *lists);

/*
 * aisio_nvme_prp_build - set PSDT=PRP and PRP1/PRP2 (and lists) for @buf/@len.
 * @page_shift: controller memory page size (CC.MPS + 12).
 * @max_xfer: MDTS in bytes (0 = no limit).
 * Returns 0, -EINVAL (len 0 or buffer outside @r, or a PRP entry would not be
 * dword aligned), -E2BIG (len > max_xfer), -ENOSPC (list memory too small).
 *
 * Inline because one- and two-page transfers are every small I/O: they take
 * a handful of compares and one or two chunk-table lookups. Everything else
 * (lists, errors) goes to aisio_nvme_prp_build_full().
 */
static inline int aisio_nvme_prp_build(struct aisio_nvme_sqe *cmd, const struct aisio_mem_region *r,
				       const void *buf, size_t len, unsigned page_shift,
				       size_t max_xfer, const struct aisio_nvme_list_mem *lists)
{
	if (__builtin_expect(r != NULL, 1)) {
		size_t off = (size_t)((const uint8_t *)buf - r->va);
		size_t ps = (size_t)1 << page_shift;
		/* len - 1 wraps when len is 0; max_xfer - 1 wraps when there is no limit. */
		if (__builtin_expect(off < r->len && len - 1 < r->len - off && len - 1 <= max_xfer - 1 &&
				     r->chunk_shift >= page_shift, 1)) {
			uint64_t prp1 = aisio_mem_bus(r, buf);
			size_t first = ps - (prp1 & (ps - 1)); /* PRP1 may start mid-page */
			uint64_t prp2 = 0;

			if (len > first) {
				if (len - first > ps)
					goto full;
				prp2 = aisio_mem_bus(r, (const uint8_t *)buf + first);
			}
			if (__builtin_expect(((prp1 & 3) | (prp2 & (ps - 1))) == 0, 1)) {
				cmd->flags &= (uint8_t)~AISIO_NVME_PSDT_MASK; /* PSDT 0: PRP */
				cmd->dptr.prp.prp1 = aisio_cpu_to_le64(prp1);
				cmd->dptr.prp.prp2 = aisio_cpu_to_le64(prp2);
				return 0;
			}
		}
	}
full:
	return aisio_nvme_prp_build_full(cmd, r, buf, len, page_shift, max_xfer, lists);
}

/*
 * aisio_nvme_sgl_build - set PSDT=SGL and SGL1 for @buf/@len: a single data
 * block when the buffer is bus-contiguous, else a (last) segment of data
 * block descriptors in @lists, chaining segments when one page is not enough.
 * Same returns as aisio_nvme_prp_build, except that data blocks may start at
 * any byte (no dword rule).
 */
int aisio_nvme_sgl_build(struct aisio_nvme_sqe *cmd, const struct aisio_mem_region *r,
			 const void *buf, size_t len, size_t max_xfer,
			 const struct aisio_nvme_list_mem *lists, unsigned page_shift);

#endif
