/* SPDX-License-Identifier: MIT */
/*
 * dma-buf regions: any dma-buf (GPU memory, a dma-heap buffer, a udmabuf)
 * imported through the aisio-dmabuf kernel module (kmod/dmabuf_import)
 * becomes a DMA memory region whose chunk table holds the buffer's DMA
 * segments, so PRP and SGL builders use it like any other region.
 */
#ifndef AISIO_MEM_DMABUF_H
#define AISIO_MEM_DMABUF_H

#include <stdint.h>

#include "mem/region.h"

struct aisio_dmabuf_seg;

/* Import options; NULL means all defaults. */
struct aisio_mem_dmabuf_opts {
	/*
	 * Map for this PCI function ("0000:01:00.0") through its kernel DMA
	 * domain: identity under iommu=pt, IOVAs with a translating IOMMU.
	 * NULL: CPU physical addresses, right for uio without IOMMU or with
	 * iommu=pt. The function must be unbound or on uio_pci_generic; one
	 * bound to any other driver, or to vfio, is refused (-EBUSY). Unbinding,
	 * rebinding or removing it revokes the region (aisio_mem_dmabuf_check).
	 */
	const char *pci_dev;
	/*
	 * Address the region spans, e.g. the CUDA pointer of GPU memory the
	 * CPU cannot map. NULL: the dma-buf is mmap()ed (CPU-accessible
	 * buffers) and unmapped on release.
	 */
	void *va;
	enum aisio_mem_kind kind;   /* AISIO_MEM_HOST, or AISIO_MEM_GPU with @va */
	int gpu;                    /* GPU index with AISIO_MEM_GPU */
	const char *dev_path;       /* importer device; NULL: /dev/aisio-dmabuf */
};

/**
 * aisio_mem_dmabuf_import - a region over the dma-buf @fd.
 * The region keeps its own attachment (and mapping), so @fd may be closed
 * afterwards; aisio_mem_region_release() detaches. The chunk size is the
 * largest power of two (4 KiB to 1 GiB) that every segment is aligned to.
 * Returns 0, -ENOENT (importer module not loaded), -EACCES (no permission
 * on its device), -EBADF (@fd not open), -EINVAL (@fd is not a dma-buf;
 * segments not 4 KiB aligned), -ENODEV (no such PCI function), -EBUSY
 * (PCI function owned by another driver or vfio), -EPERM (neither
 * CAP_SYS_RAWIO nor CAP_SYS_ADMIN), -ENOTSUP (the CPU cannot map the buffer
 * and no @va was given), -ENOMEM, -EIO, or the exporter's error.
 */
int aisio_mem_dmabuf_import(int fd, const struct aisio_mem_dmabuf_opts *opts,
			    struct aisio_mem_region **out);

/**
 * aisio_mem_dmabuf_check - 0 while the region's mapping is valid, -ENODEV
 * (with a message) once the module revoked it: its PCI function was
 * unbound, bound to a driver or removed, or the exporter took the buffer
 * back. A revoked region's bus addresses must not be used again; release
 * it. -EINVAL when @r is not a dma-buf region.
 */
int aisio_mem_dmabuf_check(const struct aisio_mem_region *r);

/**
 * aisio_mem_dmabuf_poll_fd - a file descriptor that polls with POLLERR once
 * the region is revoked (for an event loop; owned by the region), or
 * -EINVAL when @r is not a dma-buf region.
 */
int aisio_mem_dmabuf_poll_fd(const struct aisio_mem_region *r);

/** aisio_mem_dmabuf_available - 1 when the importer device exists, else 0. */
int aisio_mem_dmabuf_available(void);

/**
 * aisio_mem_dmabuf_segs - the DMA segments behind a dma-buf region, in
 * buffer order, and AISIO_DMABUF_OUT_* flags in @out_flags (may be NULL).
 * Returns NULL when @r is not a dma-buf region.
 */
const struct aisio_dmabuf_seg *aisio_mem_dmabuf_segs(const struct aisio_mem_region *r,
						     uint32_t *nsegs, uint32_t *out_flags);

#endif
