/* SPDX-License-Identifier: MIT */
/*
 * The controller's DMA interface: identity by default (a bus address is a
 * pointer in this process), a table of bus ranges mapped to local memory
 * (queues and data shared with another process), or the creator's own ops
 * (a GPU host moving data with copy engines).
 */
#include <errno.h>

#include "emu/priv.h"
#include "util/err.h"

/* Slots are published by their length (release) and withdrawn by length 0; see dma_live.c. */
void *emu_ranges_map(void *ctx, uint64_t bus, size_t len)
{
	struct aisio_emu_ctrl *c = ctx;
	uint32_t n = EMU_LOAD(&c->nranges);

	for (uint32_t i = 0; i < n; i++) {
		uint64_t rlen = EMU_LOAD(&c->ranges[i].len);
		uint64_t off = bus - c->ranges[i].bus;

		if (bus >= c->ranges[i].bus && off < rlen && len <= rlen - off)
			return c->ranges[i].local + off;
	}
	return NULL;
}

void emu_dma_setup(struct aisio_emu_ctrl *c, const struct aisio_emu_dma *ops)
{
	if (ops) {
		c->dma = *ops;
		c->dma_identity = 0;
		c->dma_own = 1;
	} else {
		memset(&c->dma, 0, sizeof(c->dma));
		c->dma_identity = 1;
	}
}

int emu_dma_flush(struct aisio_emu_ctrl *c)
{
	return c->dma.flush ? c->dma.flush(c->dma.ctx) : 0;
}

int aisio_emu_ctrl_dma_add_range(struct aisio_emu_ctrl *c, uint64_t bus, size_t len, void *local)
{
	if (c->dma_own)
		return aisio_err(-EPERM,
				 "emu: controller %u has its own DMA ops; ranges do not apply",
				 c->index);
	if (EMU_LOAD(&c->ready))
		return aisio_err(-EBUSY, "emu: add DMA ranges while controller %u is disabled",
				 c->index);
	if (!len || bus + len < bus)
		return aisio_err(-EINVAL, "emu: empty or wrapping DMA range");
	for (uint32_t i = 0; i < c->nranges; i++)
		if (bus < c->ranges[i].bus + c->ranges[i].len && c->ranges[i].bus < bus + len)
			return aisio_err(-EINVAL,
					 "emu: DMA range 0x%llx+%zu overlaps an existing one",
					 (unsigned long long)bus, len);
	if (c->nranges == EMU_MAX_RANGES)
		return aisio_err(-ENOSPC, "emu: at most %d DMA ranges", EMU_MAX_RANGES);
	c->ranges[c->nranges].bus = bus;
	c->ranges[c->nranges].local = local;
	EMU_STORE(&c->ranges[c->nranges].len, (uint64_t)len);
	__atomic_store_n(&c->nranges, c->nranges + 1, __ATOMIC_RELEASE);
	c->dma.map = emu_ranges_map;
	c->dma.ctx = c;
	__atomic_store_n(&c->dma_identity, 0, __ATOMIC_RELEASE);
	return 0;
}
