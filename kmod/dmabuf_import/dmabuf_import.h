/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Internal interface between the misc-device front end, the attach logic and the PCI side. */
#ifndef DMABUF_IMPORT_H
#define DMABUF_IMPORT_H

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "aisio/uapi/dmabuf_import.h"

struct dma_buf;
struct dma_buf_attachment;
struct sg_table;
struct dmai_pdev;

/*
 * Lock order: the PCI function's device_lock(), dmai_lock, then a
 * dma-buf's reservation lock. The exporter calls
 * move_notify with the reservation lock held, so that path takes none of
 * the others.
 */
extern struct mutex dmai_lock;

/* One open file of the misc device. */
struct dmai_file {
	struct xarray atts;         /* handle -> struct dmai_att; changed under dmai_lock */
	u32 next_handle;            /* cyclic handle allocation */
	u32 nr_atts;
	atomic_t nr_revoked;        /* revoked attachments not yet detached */
	wait_queue_head_t wq;       /* woken with EPOLLERR on revocation */
};

/* One dma-buf attached, pinned and mapped for one device. */
struct dmai_att {
	struct list_head node;              /* all attachments; under dmai_lock */
	struct dmai_file *file;             /* owner */
	struct dma_buf *dmabuf;             /* our reference */
	struct dma_buf_attachment *attach;  /* NULL once detached by revocation */
	struct sg_table *sgt;               /* NULL once unmapped; under dmabuf->resv */
	struct device *dev;                 /* device the mapping is for; referenced */
	struct dmai_pdev *pdev;             /* PCI function record, NULL for the module's device */
	struct aisio_dmabuf_seg *segs;      /* merged DMA segments, buffer order */
	u32 nsegs;
	u32 out_flags;                      /* AISIO_DMABUF_OUT_* */
	bool revoked;                       /* set under dmabuf->resv, never cleared */
};

/* Attachments alive in the whole module (sysfs "attachments"). */
extern atomic_t dmai_nr_atts;

/*
 * Attach to @dmabuf for @dev, pin it, map it and collect its segments, for
 * the open file @f. Takes its own references to @dmabuf and @dev and, on
 * success, the caller's reference to @pdev. Called with dmai_lock held;
 * the attachment joins the module's list. Returns it or an ERR_PTR.
 */
struct dmai_att *dmai_att_create(struct dmai_file *f, struct dma_buf *dmabuf, struct device *dev,
				 struct dmai_pdev *pdev, u32 out_flags);

/* Undo dmai_att_create() (or what revocation left). dmai_lock held. */
void dmai_att_destroy(struct dmai_att *att);

/*
 * Revoke every attachment mapped for @dev: unmap, unpin and detach while
 * the device is still valid, and tell the owning files (poll: EPOLLERR).
 * @why ends the kernel log line. Takes dmai_lock.
 */
void dmai_revoke_dev(struct device *dev, const char *why);

/*
 * Find the PCI function @name ("0000:01:00.0"). Returns a referenced
 * device (put_device() it) or ERR_PTR(-ENODEV).
 */
struct device *dmai_pci_dev_get(const char *name);

/*
 * Check that the module may map for PCI function @dev (unbound or bound to
 * uio_pci_generic, DMA through the kernel's IOMMU domain) and give it a
 * 64-bit DMA mask for as long as attachments exist; the previous mask comes
 * back when the last one goes. Called with device_lock(@dev) and dmai_lock
 * held. Sets AISIO_DMABUF_OUT_PHYS in @out_flags when the device sees
 * physical addresses. Returns 0 with a reference in @pdev (dmai_pdev_put()
 * it), -ENODEV (the function is being removed) or -EBUSY (another driver
 * or user space owns the device's DMA).
 */
int dmai_pci_claim(struct device *dev, u32 *out_flags, struct dmai_pdev **pdev);

/* Drop a dmai_pci_claim() reference; the last one restores the DMA mask. dmai_lock held. */
void dmai_pdev_put(struct dmai_pdev *pdev);

/* The PCI bus notifier that revokes on unbind, bind and removal. */
int dmai_notifier_register(void);
void dmai_notifier_unregister(void);

#endif
