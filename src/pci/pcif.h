/* SPDX-License-Identifier: MIT */
/*
 * A PCI function as the user-space NVMe driver sees it: a mapped BAR0,
 * configuration space, and a source of DMA memory that knows its bus
 * addresses. Providers: the device model (emu), sysfs+uio, vfio.
 */
#ifndef AISIO_PCI_PCIF_H
#define AISIO_PCI_PCIF_H

#include <stddef.h>
#include <stdint.h>

#include "mem/region.h"

struct aisio_pcif;

struct aisio_pcif_ops {
	/* Config space access; return 0 or -errno. */
	int (*cfg_read)(struct aisio_pcif *f, uint32_t off, void *buf, size_t len);
	int (*cfg_write)(struct aisio_pcif *f, uint32_t off, const void *buf, size_t len);
	/* DMA memory of at least @len bytes, translated for this function. */
	int (*dma_alloc)(struct aisio_pcif *f, size_t len, struct aisio_mem_region **out);
	/* Unmap and release the function (restore the original driver binding). */
	void (*close)(struct aisio_pcif *f);
};

struct aisio_pcif {
	const struct aisio_pcif_ops *ops;
	volatile uint8_t *bar0; /* controller registers */
	size_t bar0_len;
	char name[64];          /* BDF or "emu0" */
	void *priv;
};

static inline uint32_t aisio_pcif_read32(const struct aisio_pcif *f, uint32_t off)
{
	return *(volatile uint32_t *)(f->bar0 + off);
}

static inline void aisio_pcif_write32(struct aisio_pcif *f, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(f->bar0 + off) = v;
}

/* 64-bit registers are accessed as two 32-bit halves, low first. */
static inline uint64_t aisio_pcif_read64(const struct aisio_pcif *f, uint32_t off)
{
	uint64_t lo = aisio_pcif_read32(f, off);
	uint64_t hi = aisio_pcif_read32(f, off + 4);
	return lo | hi << 32;
}

static inline void aisio_pcif_write64(struct aisio_pcif *f, uint32_t off, uint64_t v)
{
	aisio_pcif_write32(f, off, (uint32_t)v);
	aisio_pcif_write32(f, off + 4, (uint32_t)(v >> 32));
}

static inline void aisio_pcif_close(struct aisio_pcif *f)
{
	if (f)
		f->ops->close(f);
}

#endif
