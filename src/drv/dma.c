/* SPDX-License-Identifier: MIT */
/*
 * DMA memory of the controller's function: a heap that grows by asking the
 * PCI function for another region when it runs out, so that queues, PRP
 * lists and buffers all come from memory the function can translate.
 */
#include <errno.h>
#include <string.h>

#include "drv/ctrl_int.h"
#include "util/err.h"

#define DRV_DMA_CHUNK_DEFAULT ((size_t)8 << 20)
#define DRV_DMA_GRANULE ((size_t)2 << 20)
#define DRV_DMA_FIRST_GRANULE ((size_t)64 << 10)

/*
 * Regions are whole 2 MiB granules, except a first region the owner asked
 * to be small (opts.dma_first): a process that opens a device for one
 * buffer and one queue then pays for the memory it uses, not for 8 MiB of
 * pages allocated, zeroed and mapped for the device (homi: provisioning).
 */
static int dma_grow(struct aisio_nvme_ctrl *c, size_t need)
{
	struct aisio_mem_region *r;
	size_t len = c->opts.dma_chunk ? c->opts.dma_chunk : DRV_DMA_CHUNK_DEFAULT;
	size_t granule = DRV_DMA_GRANULE;
	int err;

	if (!c->dma_regions && c->opts.dma_first && need <= c->opts.dma_first) {
		len = c->opts.dma_first;
		granule = DRV_DMA_FIRST_GRANULE;
	}
	if (need > len)
		len = need;
	len = (len + granule - 1) & ~(granule - 1);
	err = c->f->ops->dma_alloc(c->f, len, &r);
	if (err)
		return err;
	err = aisio_heap_add_region(c->heap, r);
	if (err)
		aisio_mem_region_release(r);
	else
		c->dma_regions++;
	return err;
}

void *aisio_nvme_ctrl_dma_alloc(struct aisio_nvme_ctrl *c, size_t len, size_t align)
{
	void *p;

	if (!len)
		return NULL;
	p = aisio_heap_alloc(c->heap, len, align);
	if (p)
		return p;
	pthread_mutex_lock(&c->dma_lock);
	/*
	 * Another thread may have grown the heap meanwhile. Threads that find
	 * room take it without this lock, so what this one adds may be gone
	 * before it allocates: grow again (a few times at most).
	 */
	p = aisio_heap_alloc(c->heap, len, align);
	for (int tries = 0; !p && tries < 8; tries++) {
		if (dma_grow(c, len + (align > 4096 ? align : 0)))
			break;
		p = aisio_heap_alloc(c->heap, len, align);
	}
	pthread_mutex_unlock(&c->dma_lock);
	return p;
}

void aisio_nvme_ctrl_dma_free(struct aisio_nvme_ctrl *c, void *p)
{
	aisio_heap_free(c->heap, p);
}

const struct aisio_mem_region *aisio_nvme_ctrl_dma_region(struct aisio_nvme_ctrl *c, const void *p)
{
	return aisio_heap_region(c->heap, p);
}

/*
 * Queue memory must be one bus-contiguous, page-aligned piece (PC=1).
 * Aligning to the next power of two of the length keeps it inside one
 * translation chunk whenever it fits in one.
 */
void *drv_dma_alloc_contig(struct aisio_nvme_ctrl *c, size_t len, const char *what)
{
	size_t align = (size_t)1 << c->info.page_shift;
	const struct aisio_mem_region *r;
	void *p;

	while (align < len && align < DRV_DMA_GRANULE)
		align <<= 1;
	p = aisio_nvme_ctrl_dma_alloc(c, len, align);
	if (!p) {
		aisio_err(-ENOMEM, "%s: no DMA memory for %s (%zu bytes)", c->f->name, what, len);
		return NULL;
	}
	r = aisio_heap_region(c->heap, p);
	if (!r || aisio_mem_chunk_left(r, p) < len) {
		aisio_heap_free(c->heap, p);
		aisio_err(-ENOMEM, "%s: %s needs %zu bus-contiguous bytes but the %s memory is contiguous "
			  "in %zu-byte chunks only; use a smaller queue depth",
			  c->f->name, what, len, r && r->name ? r->name : "DMA", r ? (size_t)1 << r->chunk_shift : 0);
		return NULL;
	}
	memset(p, 0, len);
	return p;
}
