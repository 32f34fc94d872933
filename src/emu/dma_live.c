/* SPDX-License-Identifier: MIT */
/*
 * DMA ranges added and removed while the controller runs (homid maps a
 * client's memory for the model when the client registers it, and unmaps
 * it when the client goes).
 *
 * Readers (controller threads, ranges_map() in dma.c) take no lock: a slot
 * is published by a release store of its length after bus and local are
 * set, and withdrawn by storing length 0. Removal then waits until every
 * controller thread has finished two polling passes, so that no thread
 * still uses a pointer it translated through the old slot; only then may
 * the caller unmap the memory, and only then may the slot be reused.
 */
#include <errno.h>
#include <sched.h>

#include "emu/priv.h"
#include "util/err.h"

/* Every controller thread (thread 0 included) has finished the pass it was in. */
static void dma_grace(struct aisio_emu_ctrl *c)
{
	for (unsigned i = 0; i < c->nworkers; i++) {
		struct emu_worker *w = &c->w[i];
		uint64_t start;

		if (!w->started)
			continue;
		start = EMU_LOAD(&w->pass);
		while (EMU_LOAD(&w->pass) < start + 2 && !EMU_LOAD(&c->stop))
			sched_yield();
	}
}

int aisio_emu_ctrl_dma_range_add(struct aisio_emu_ctrl *c, uint64_t bus, size_t len, void *local)
{
	uint32_t slot = EMU_MAX_RANGES;
	int err = 0;

	if (c->dma_own && !c->dma.ranges)
		return aisio_err(-EPERM, "emu: controller %u has its own DMA ops; ranges do not apply",
				 c->index);
	if (!len || bus + len < bus || !local)
		return aisio_err(-EINVAL, "emu: empty or wrapping DMA range, or no local memory");
	pthread_mutex_lock(&c->lock);
	for (uint32_t i = 0; i < c->nranges; i++) {
		uint64_t l = EMU_LOADR(&c->ranges[i].len);

		if (!l) {
			if (slot == EMU_MAX_RANGES)
				slot = i;
			continue;
		}
		if (bus < c->ranges[i].bus + l && c->ranges[i].bus < bus + len) {
			err = aisio_err(-EINVAL, "emu: DMA range 0x%llx+%zu overlaps an existing one",
					(unsigned long long)bus, len);
			goto out;
		}
	}
	if (slot == EMU_MAX_RANGES) {
		if (c->nranges == EMU_MAX_RANGES) {
			err = aisio_err(-ENOSPC, "emu: at most %d DMA ranges", EMU_MAX_RANGES);
			goto out;
		}
		slot = c->nranges;
	}
	c->ranges[slot].bus = bus;
	c->ranges[slot].local = local;
	EMU_STORE(&c->ranges[slot].len, (uint64_t)len);
	if (slot == c->nranges)
		EMU_STORE(&c->nranges, c->nranges + 1);
	if (c->dma_identity) {
		c->dma.map = emu_ranges_map;
		c->dma.ctx = c;
		EMU_STORE(&c->dma_identity, 0);
	}
out:
	pthread_mutex_unlock(&c->lock);
	return err;
}

void *aisio_emu_dma_ranges_map(void *ctrl, uint64_t bus, size_t len)
{
	return emu_ranges_map(ctrl, bus, len);
}

int aisio_emu_ctrl_dma_range_remove(struct aisio_emu_ctrl *c, uint64_t bus)
{
	int found = 0;

	pthread_mutex_lock(&c->lock);
	for (uint32_t i = 0; i < c->nranges; i++) {
		if (EMU_LOADR(&c->ranges[i].len) && c->ranges[i].bus == bus) {
			EMU_STORE(&c->ranges[i].len, (uint64_t)0);
			found = 1;
			break;
		}
	}
	/* Still under the lock: the slot cannot be reused before the grace period ends. */
	if (found)
		dma_grace(c);
	pthread_mutex_unlock(&c->lock);
	if (!found)
		return aisio_err(-ENOENT, "emu: no DMA range starts at bus address 0x%llx",
				 (unsigned long long)bus);
	return 0;
}
