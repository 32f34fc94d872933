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
 * aisio_nvme_prp_build - set PSDT=PRP and PRP1/PRP2 (and lists) for @buf/@len.
 * @page_shift: controller memory page size (CC.MPS + 12).
 * @max_xfer: MDTS in bytes (0 = no limit).
 * Returns 0, -EINVAL (len 0 or buffer outside @r, or a PRP entry would not be
 * dword aligned), -E2BIG (len > max_xfer), -ENOSPC (list memory too small).
 */
int aisio_nvme_prp_build(struct aisio_nvme_sqe *cmd, const struct aisio_mem_region *r,
			 const void *buf, size_t len, unsigned page_shift, size_t max_xfer,
			 const struct aisio_nvme_list_mem *lists);

/*
 * aisio_nvme_sgl_build - set PSDT=SGL and SGL1 for @buf/@len: a single data
 * block when the buffer is bus-contiguous, else a (last) segment of data
 * block descriptors in @lists, chaining segments when one page is not enough.
 * Same returns as aisio_nvme_prp_build.
 */
int aisio_nvme_sgl_build(struct aisio_nvme_sqe *cmd, const struct aisio_mem_region *r,
			 const void *buf, size_t len, size_t max_xfer,
			 const struct aisio_nvme_list_mem *lists, unsigned page_shift);

#endif
