/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Internal interface between the misc-device front end and the attach logic. */
#ifndef DMABUF_IMPORT_H
#define DMABUF_IMPORT_H

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/types.h>

#include "aisio/uapi/dmabuf_import.h"

struct dma_buf;
struct dma_buf_attachment;
struct sg_table;

/* One dma-buf attached, pinned and mapped for one device. */
struct dmai_att {
	struct dma_buf *dmabuf;             /* our reference */
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	struct device *dev;                 /* device the mapping is for; referenced */
	struct aisio_dmabuf_seg *segs;      /* merged DMA segments, buffer order */
	u32 nsegs;
	u32 out_flags;                      /* AISIO_DMABUF_OUT_* */
};

/* Attachments alive in the whole module (sysfs "attachments"). */
extern atomic_t dmai_nr_atts;

/*
 * Attach to @dmabuf for @dev, pin it, map it and collect its segments.
 * Takes its own references to @dmabuf and @dev. Returns the attachment or
 * an ERR_PTR.
 */
struct dmai_att *dmai_att_create(struct dma_buf *dmabuf, struct device *dev, u32 out_flags);

/* Undo dmai_att_create(): unmap, unpin, detach, drop the references. */
void dmai_att_destroy(struct dmai_att *att);

/*
 * Find the PCI function @name ("0000:01:00.0") and check that the kernel
 * DMA API maps for it. Returns a referenced device (put_device() it) or an
 * ERR_PTR: -ENODEV (no such device), -EBUSY (DMA owned by user space).
 * Sets AISIO_DMABUF_OUT_PHYS in @out_flags when the device sees physical
 * addresses.
 */
struct device *dmai_pci_dev_get(const char *name, u32 *out_flags);

#endif
