/* SPDX-License-Identifier: MIT */
/*
 * A model controller owned by homid. Its register file is the model's
 * shared BAR0; homid's own DMA memory (admin queue, Identify data, mediated
 * rings) and every client's registered memory are DMA ranges of the model,
 * added and removed while it runs. A device address is the address of the
 * memory in homid, so ranges never collide.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "homid.h"
#include "util/err.h"

#define EMU_HOST_CHUNK_SHIFT 21

struct emu_host_pcif {
	struct aisio_pcif f;
	struct aisio_emu_ctrl *c;
};

struct emu_host_region {
	struct aisio_mem_region r;
	struct aisio_emu_ctrl *c;
	size_t map_len;
	uint64_t bus[];
};

static void emu_host_release(struct aisio_mem_region *r)
{
	struct emu_host_region *er = (struct emu_host_region *)r;

	aisio_emu_ctrl_dma_range_remove(er->c, (uint64_t)(uintptr_t)r->va);
	munmap(r->va, er->map_len);
	free(er);
}

static const struct aisio_mem_region_ops emu_host_region_ops = { .release = emu_host_release };

static int emu_host_dma_alloc(struct aisio_pcif *f, size_t len, struct aisio_mem_region **out)
{
	struct emu_host_pcif *p = (struct emu_host_pcif *)f;
	size_t map_len = (len + 4095) & ~(size_t)4095;
	size_t nchunks = ((map_len - 1) >> EMU_HOST_CHUNK_SHIFT) + 1;
	struct emu_host_region *er;
	void *va;
	int err;

	*out = NULL;
	er = calloc(1, sizeof(*er) + nchunks * sizeof(uint64_t));
	if (!er)
		return aisio_err(-ENOMEM, "out of memory");
	va = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (va == MAP_FAILED) {
		free(er);
		return aisio_err(-ENOMEM, "%s: cannot map %zu bytes of DMA memory", f->name, map_len);
	}
	err = aisio_emu_ctrl_dma_range_add(p->c, (uint64_t)(uintptr_t)va, map_len, va);
	if (err) {
		munmap(va, map_len);
		free(er);
		return err;
	}
	aisio_mem_region_init_linear(&er->r, va, map_len, EMU_HOST_CHUNK_SHIFT, er->bus,
				     (uint64_t)(uintptr_t)va, &emu_host_region_ops, "homid-emu");
	er->c = p->c;
	er->map_len = map_len;
	*out = &er->r;
	return 0;
}

static int emu_host_cfg_read(struct aisio_pcif *f, uint32_t off, void *buf, size_t len)
{
	memset(buf, 0, len);
	return 0;
}

static int emu_host_cfg_write(struct aisio_pcif *f, uint32_t off, const void *buf, size_t len)
{
	return 0;
}

static void emu_host_close(struct aisio_pcif *f)
{
	free(f);
}

static const struct aisio_pcif_ops emu_host_ops = {
	.cfg_read = emu_host_cfg_read,
	.cfg_write = emu_host_cfg_write,
	.dma_alloc = emu_host_dma_alloc,
	.close = emu_host_close,
};

int homid_emu_pcif_open(struct aisio_emu_ctrl *c, struct aisio_pcif **out)
{
	struct emu_host_pcif *p = calloc(1, sizeof(*p));
	size_t len;

	*out = NULL;
	if (!p)
		return aisio_err(-ENOMEM, "out of memory");
	p->c = c;
	p->f.ops = &emu_host_ops;
	p->f.bar0 = (volatile uint8_t *)aisio_emu_ctrl_bar0(c, &len);
	p->f.bar0_len = len;
	snprintf(p->f.name, sizeof(p->f.name), "emu%u", aisio_emu_ctrl_index(c));
	*out = &p->f;
	return 0;
}
