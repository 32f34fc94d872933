/* SPDX-License-Identifier: MIT */
/*
 * DMA memory for real PCI functions: hugepages that never move, so a
 * function can be given their addresses once. With @phys set, each chunk's
 * bus address is its physical address from /proc/self/pagemap (uio, no
 * IOMMU translation); otherwise bus[] is left for the caller (vfio IOVAs).
 */
#ifndef AISIO_PCI_HUGEMEM_H
#define AISIO_PCI_HUGEMEM_H

#include <stddef.h>

#include "mem/region.h"

/*
 * A region of at least @len bytes, chunk = one hugepage (chunk_shift = its
 * log2), rounded up to whole hugepages, locked and populated. Tries a
 * MFD_HUGETLB memfd, then a file on a hugetlbfs mount (/dev/hugepages or
 * $AISIO_HUGETLBFS). With @allow_small, falls back to ordinary pages aligned
 * to 2 MiB (only valid where an IOMMU maps them; never with @phys).
 * Returns 0, -ENOMEM (no free hugepages: the message says how to reserve
 * them), -EPERM (pagemap hides physical addresses: not root) or -errno.
 */
int aisio_pci_hugemem_alloc(size_t len, int phys, int allow_small, const char *name,
			    struct aisio_mem_region **out);

/* Physical address of the page holding @va from /proc/self/pagemap. */
int aisio_pci_virt_to_phys(const void *va, uint64_t *pa);

#endif
