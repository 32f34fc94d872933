/* SPDX-License-Identifier: MIT */
/*
 * The device model as a PCI function: BAR0 is the register file, config
 * space carries the identity and class code of an NVMe controller, and DMA
 * memory is identity-mapped host memory (bus address == pointer). It is
 * the provider of emu: URIs (src/pci/provider.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "emu/priv.h"
#include "pci/pci.h"
#include "pci/pcif.h"
#include "pci/provider.h"
#include "util/err.h"

struct emu_pcif {
	struct aisio_pcif f;
	struct aisio_emu_ctrl *c;
	int owns;
	uint8_t cfg[4096];
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static int emu_cfg_read(struct aisio_pcif *f, uint32_t off, void *buf, size_t len)
{
	struct emu_pcif *p = (struct emu_pcif *)f;

	if (off > sizeof(p->cfg) || len > sizeof(p->cfg) - off)
		return aisio_err(-EINVAL, "%s: config read at 0x%x+%zu is outside config space",
				 f->name, off, len);
	memcpy(buf, p->cfg + off, len);
	return 0;
}

static int emu_cfg_write(struct aisio_pcif *f, uint32_t off, const void *buf, size_t len)
{
	struct emu_pcif *p = (struct emu_pcif *)f;

	if (off > sizeof(p->cfg) || len > sizeof(p->cfg) - off)
		return aisio_err(-EINVAL, "%s: config write at 0x%x+%zu is outside config space",
				 f->name, off, len);
	/* only the command register is writable; the rest is read-only here */
	for (size_t i = 0; i < len; i++)
		if (off + i == 0x04 || off + i == 0x05)
			p->cfg[off + i] = ((const uint8_t *)buf)[i];
	return 0;
}

static int emu_dma_alloc(struct aisio_pcif *f, size_t len, struct aisio_mem_region **out)
{
	int err = aisio_mem_region_identity(len, out);

	if (err)
		return aisio_err(err, "%s: cannot allocate %zu bytes of DMA memory", f->name, len);
	return 0;
}

static void emu_close(struct aisio_pcif *f)
{
	struct emu_pcif *p = (struct emu_pcif *)f;

	if (p->owns)
		aisio_emu_ctrl_destroy(p->c);
	free(p);
}

static const struct aisio_pcif_ops emu_pcif_ops = {
	.cfg_read = emu_cfg_read,
	.cfg_write = emu_cfg_write,
	.dma_alloc = emu_dma_alloc,
	.close = emu_close,
};

int aisio_emu_pcif_open(struct aisio_emu_ctrl *c, struct aisio_pcif **out)
{
	struct emu_pcif *p;
	uint64_t bar;

	*out = NULL;
	if (!c->dma_identity)
		return aisio_err(
			-EPERM,
			"emu%u: a PCI function needs identity DMA (no custom DMA ops or ranges)",
			c->index);
	p = calloc(1, sizeof(*p));
	if (!p)
		return aisio_err(-ENOMEM, "emu: out of memory");
	p->c = c;
	p->f.ops = &emu_pcif_ops;
	p->f.bar0 = (volatile uint8_t *)c->bar;
	p->f.bar0_len = c->bar_len;
	p->f.priv = c;
	snprintf(p->f.name, sizeof(p->f.name), "emu%u", c->index);

	put16(p->cfg + 0x00, AISIO_EMU_PCI_VID);
	put16(p->cfg + 0x02, AISIO_EMU_PCI_DID);
	put16(p->cfg + 0x04, 0x0006); /* memory space, bus master */
	p->cfg[0x08] = 0x01;	      /* revision */
	p->cfg[0x09] = (uint8_t)AISIO_EMU_PCI_CLASS;
	p->cfg[0x0a] = (uint8_t)(AISIO_EMU_PCI_CLASS >> 8);
	p->cfg[0x0b] = (uint8_t)(AISIO_EMU_PCI_CLASS >> 16);
	bar = (uint64_t)(uintptr_t)c->bar;
	put32(p->cfg + 0x10, (uint32_t)(bar & ~0xfull) | 0x4); /* 64-bit memory BAR */
	put32(p->cfg + 0x14, (uint32_t)(bar >> 32));
	put16(p->cfg + 0x2c, AISIO_EMU_PCI_VID);
	put16(p->cfg + 0x2e, AISIO_EMU_PCI_DID);
	*out = &p->f;
	return 0;
}

int aisio_emu_pcif_open_uri(const char *spec, unsigned flags, struct aisio_pcif **out)
{
	struct aisio_emu_ctrl *c;
	struct aisio_emu_opts o;
	char *file;
	int err;

	*out = NULL;
	aisio_emu_opts_init(&o);
	err = aisio_emu_parse_uri(spec, &o, &file);
	if (err)
		return err;
	o.file_create = (flags & AISIO_PCIF_CREATE) != 0;
	err = aisio_emu_ctrl_create(&o, &c);
	free(file); /* the controller keeps its own copy */
	if (err)
		return err;
	err = aisio_emu_pcif_open(c, out);
	if (err) {
		aisio_emu_ctrl_destroy(c);
		return err;
	}
	((struct emu_pcif *)*out)->owns = 1;
	return 0;
}

static int emu_open_spec(const char *uri, const char *spec, unsigned flags, struct aisio_pcif **out)
{
	return aisio_emu_pcif_open_uri(spec, flags, out);
}

/* emu:SPEC, as aisio_emu_open_uri() takes SPEC. */
const struct aisio_pcif_provider aisio_pcif_provider_emu = {
	.scheme = "emu",
	.what = "the size (emu:SIZE)",
	.open = emu_open_spec,
};

struct aisio_emu_ctrl *aisio_emu_pcif_ctrl(struct aisio_pcif *f)
{
	if (!f || f->ops != &emu_pcif_ops)
		return NULL;
	return ((struct emu_pcif *)f)->c;
}
