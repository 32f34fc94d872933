/* SPDX-License-Identifier: MIT */
/*
 * A PCI function over a device-model controller that uses its own DMA ops
 * (the GPU DMA provider). The driver needs BAR0 and DMA memory for queues
 * and lists; host memory with identity bus addresses is what the provider
 * maps directly. Config space holds the IDs and class code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu/emu.h"
#include "gpu/gpu.h"
#include "pci/pcif.h"
#include "util/err.h"

struct gpu_pcif {
	struct aisio_pcif f;
	uint8_t cfg[256];
};

static int cfg_read(struct aisio_pcif *f, uint32_t off, void *buf, size_t len)
{
	struct gpu_pcif *g = (struct gpu_pcif *)f;

	if (off > sizeof(g->cfg) || len > sizeof(g->cfg) - off)
		return aisio_err(-EINVAL, "%s: config read past 256 bytes", f->name);
	memcpy(buf, g->cfg + off, len);
	return 0;
}

static int cfg_write(struct aisio_pcif *f, uint32_t off, const void *buf, size_t len)
{
	return aisio_err(-ENOTSUP, "%s: config space is read-only", f->name);
}

static int dma_alloc(struct aisio_pcif *f, size_t len, struct aisio_mem_region **out)
{
	return aisio_mem_region_identity(len, out);
}

static void pcif_close(struct aisio_pcif *f)
{
	free(f);
}

static const struct aisio_pcif_ops gpu_pcif_ops = {
	.cfg_read = cfg_read,
	.cfg_write = cfg_write,
	.dma_alloc = dma_alloc,
	.close = pcif_close,
};

int aisio_gpu_emu_pcif_open(struct aisio_emu_ctrl *c, struct aisio_pcif **out)
{
	struct gpu_pcif *g = calloc(1, sizeof(*g));
	size_t len = 0;

	*out = NULL;
	if (!g)
		return aisio_err(-ENOMEM, "out of memory for a PCI function");
	g->f.ops = &gpu_pcif_ops;
	g->f.bar0 = (volatile uint8_t *)aisio_emu_ctrl_bar0(c, &len);
	g->f.bar0_len = len;
	snprintf(g->f.name, sizeof(g->f.name), "emu%u", aisio_emu_ctrl_index(c));
	g->cfg[0] = AISIO_EMU_PCI_VID & 0xff;
	g->cfg[1] = AISIO_EMU_PCI_VID >> 8;
	g->cfg[2] = AISIO_EMU_PCI_DID & 0xff;
	g->cfg[3] = AISIO_EMU_PCI_DID >> 8;
	g->cfg[9] = AISIO_EMU_PCI_CLASS & 0xff;
	g->cfg[10] = (AISIO_EMU_PCI_CLASS >> 8) & 0xff;
	g->cfg[11] = (AISIO_EMU_PCI_CLASS >> 16) & 0xff;
	g->f.priv = c;
	*out = &g->f;
	return 0;
}
