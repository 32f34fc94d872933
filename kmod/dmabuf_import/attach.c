// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Attach, pin and map one dma-buf, turn its scatter list into the merged
 * (dma address, length) segments user space receives, and revoke it.
 *
 * The attachment is dynamic with peer-to-peer allowed, so exporters of
 * device memory (GPU VRAM) hand out their own bus addresses instead of
 * migrating the buffer to system memory; it is pinned at once, so the
 * exporter never moves it while a device may be doing DMA to it.
 *
 * Revocation: an exporter that still calls move_notify on a pinned buffer
 * is taking the memory away, and a PCI function that is unbound, bound to
 * a driver or removed no longer belongs to the module. Either way the
 * mapping is torn down at once, the attachment is marked revoked and its
 * file is woken with EPOLLERR; the handle stays until user space detaches
 * it (or closes the file), and every other use of it fails with ENODEV.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/poll.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "dmabuf_import.h"

DEFINE_MUTEX(dmai_lock);
atomic_t dmai_nr_atts = ATOMIC_INIT(0);
static LIST_HEAD(dmai_atts);    /* every attachment; under dmai_lock */

/* Unmap, once. The dma-buf's reservation lock is held. */
static void dmai_att_unmap_locked(struct dmai_att *att)
{
	dma_resv_assert_held(att->dmabuf->resv);
	if (!att->sgt)
		return;
	dma_buf_unmap_attachment(att->attach, att->sgt, DMA_BIDIRECTIONAL);
	att->sgt = NULL;
}

/* Mark revoked, once, and wake the owner's pollers. Reservation lock held. */
static void dmai_att_mark_revoked_locked(struct dmai_att *att)
{
	dma_resv_assert_held(att->dmabuf->resv);
	if (att->revoked)
		return;
	WRITE_ONCE(att->revoked, true);
	atomic_inc(&att->file->nr_revoked);
	wake_up_interruptible_poll(&att->file->wq, EPOLLERR);
}

static void dmai_move_notify(struct dma_buf_attachment *attach)
{
	struct dmai_att *att = attach->importer_priv;

	/*
	 * Pinned buffers are not moved; an exporter that still notifies is
	 * revoking the memory and the device must stop using the addresses.
	 * Only the mapping goes here: unpinning calls back into the exporter,
	 * which is in the middle of its own work; that waits for the detach.
	 */
	dev_warn_ratelimited(attach->dev,
			     "aisio-dmabuf: dma-buf %s revoked by its exporter while imported; the attachment is revoked, user space must stop DMA to it and detach\n",
			     attach->dmabuf->exp_name);
	dmai_att_unmap_locked(att);
	dmai_att_mark_revoked_locked(att);
}

static const struct dma_buf_attach_ops dmai_importer_ops = {
	.allow_peer2peer = true,
	.move_notify = dmai_move_notify,
};

/* Count (@segs NULL) or fill the merged segments of @sgt. */
static u32 dmai_segs_walk(struct sg_table *sgt, struct aisio_dmabuf_seg *segs)
{
	struct scatterlist *sg;
	u64 end = 0;
	u32 n = 0;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		dma_addr_t addr = sg_dma_address(sg);
		unsigned int len = sg_dma_len(sg);

		if (!len)
			continue;
		if (n && addr == end) {
			if (segs)
				segs[n - 1].len += len;
		} else {
			if (segs) {
				segs[n].addr = addr;
				segs[n].len = len;
			}
			n++;
		}
		end = addr + len;
	}
	return n;
}

struct dmai_att *dmai_att_create(struct dmai_file *f, struct dma_buf *dmabuf, struct device *dev,
				 struct dmai_pdev *pdev, u32 out_flags)
{
	struct sg_table *sgt;
	struct dmai_att *att;
	int err;

	lockdep_assert_held(&dmai_lock);
	att = kzalloc(sizeof(*att), GFP_KERNEL);
	if (!att)
		return ERR_PTR(-ENOMEM);
	get_dma_buf(dmabuf);
	att->file = f;
	att->dmabuf = dmabuf;
	att->dev = get_device(dev);
	att->out_flags = out_flags;

	att->attach = dma_buf_dynamic_attach(dmabuf, dev, &dmai_importer_ops, att);
	if (IS_ERR(att->attach)) {
		err = PTR_ERR(att->attach);
		goto err_put;
	}

	dma_resv_lock(dmabuf->resv, NULL);
	err = dma_buf_pin(att->attach);
	if (err) {
		dma_resv_unlock(dmabuf->resv);
		goto err_detach;
	}
	sgt = dma_buf_map_attachment(att->attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		err = PTR_ERR(sgt);
		dma_buf_unpin(att->attach);
		dma_resv_unlock(dmabuf->resv);
		goto err_detach;
	}
	att->sgt = sgt;
	dma_resv_unlock(dmabuf->resv);

	att->nsegs = dmai_segs_walk(sgt, NULL);
	if (att->nsegs)
		att->segs = kvcalloc(att->nsegs, sizeof(*att->segs), GFP_KERNEL);
	err = !att->nsegs ? -EIO : !att->segs ? -ENOMEM : 0;
	if (err) {
		dma_resv_lock(dmabuf->resv, NULL);
		dmai_att_unmap_locked(att);
		dma_buf_unpin(att->attach);
		dma_resv_unlock(dmabuf->resv);
		goto err_detach;
	}
	dmai_segs_walk(sgt, att->segs);
	att->pdev = pdev;
	list_add_tail(&att->node, &dmai_atts);
	atomic_inc(&dmai_nr_atts);
	return att;

err_detach:
	dma_buf_detach(dmabuf, att->attach);
err_put:
	put_device(att->dev);
	dma_buf_put(dmabuf);
	kfree(att);
	return ERR_PTR(err);
}

/* Unmap, unpin and leave the dma-buf; the handle and references stay. */
static void dmai_att_detach(struct dmai_att *att, bool revoke)
{
	struct dma_buf *dmabuf = att->dmabuf;

	if (!att->attach)
		return;
	dma_resv_lock(dmabuf->resv, NULL);
	dmai_att_unmap_locked(att);
	dma_buf_unpin(att->attach);     /* pinned from create until here */
	if (revoke)
		dmai_att_mark_revoked_locked(att);
	dma_resv_unlock(dmabuf->resv);
	/*
	 * Detach now, not at close: an exporter that caches its mapping
	 * unmaps only here, and the device may be gone by then.
	 */
	dma_buf_detach(dmabuf, att->attach);
	att->attach = NULL;
	if (att->pdev)
		dmai_pdev_put(att->pdev);
	att->pdev = NULL;
}

void dmai_att_destroy(struct dmai_att *att)
{
	lockdep_assert_held(&dmai_lock);
	list_del(&att->node);
	dmai_att_detach(att, false);
	if (att->revoked)
		atomic_dec(&att->file->nr_revoked);
	put_device(att->dev);
	dma_buf_put(att->dmabuf);
	kvfree(att->segs);
	kfree(att);
	atomic_dec(&dmai_nr_atts);
}

void dmai_revoke_dev(struct device *dev, const char *why)
{
	struct dmai_att *att;
	unsigned int n = 0;

	mutex_lock(&dmai_lock);
	list_for_each_entry(att, &dmai_atts, node) {
		if (att->dev != dev || !att->attach)
			continue;
		dmai_att_detach(att, true);
		n++;
	}
	mutex_unlock(&dmai_lock);
	if (n)
		dev_notice(dev, "aisio-dmabuf: revoked %u attachment(s) because %s; their files see EPOLLERR and the handles give ENODEV until detached\n",
			   n, why);
}
