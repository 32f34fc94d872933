// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Attach, pin and map one dma-buf, and turn its scatter list into the
 * merged (dma address, length) segments user space receives.
 *
 * The attachment is dynamic with peer-to-peer allowed, so exporters of
 * device memory (GPU VRAM) hand out their own bus addresses instead of
 * migrating the buffer to system memory; it is pinned at once, so the
 * exporter never moves it while a device may be doing DMA to it.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "dmabuf_import.h"

atomic_t dmai_nr_atts = ATOMIC_INIT(0);

static void dmai_move_notify(struct dma_buf_attachment *attach)
{
	/*
	 * Pinned buffers are not moved; an exporter that still notifies is
	 * revoking the memory and the device must stop using the addresses.
	 */
	dev_warn_ratelimited(attach->dev, "dma-buf %s moved by its exporter while imported\n",
			     attach->dmabuf->exp_name);
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

struct dmai_att *dmai_att_create(struct dma_buf *dmabuf, struct device *dev, u32 out_flags)
{
	struct dmai_att *att;
	int err;

	att = kzalloc(sizeof(*att), GFP_KERNEL);
	if (!att)
		return ERR_PTR(-ENOMEM);
	get_dma_buf(dmabuf);
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
	att->sgt = dma_buf_map_attachment(att->attach, DMA_BIDIRECTIONAL);
	dma_resv_unlock(dmabuf->resv);
	if (IS_ERR(att->sgt)) {
		err = PTR_ERR(att->sgt);
		goto err_unpin;
	}

	att->nsegs = dmai_segs_walk(att->sgt, NULL);
	if (!att->nsegs) {
		err = -EIO;
		goto err_unmap;
	}
	att->segs = kvcalloc(att->nsegs, sizeof(*att->segs), GFP_KERNEL);
	if (!att->segs) {
		err = -ENOMEM;
		goto err_unmap;
	}
	dmai_segs_walk(att->sgt, att->segs);
	atomic_inc(&dmai_nr_atts);
	return att;

err_unmap:
	dma_resv_lock(dmabuf->resv, NULL);
	dma_buf_unmap_attachment(att->attach, att->sgt, DMA_BIDIRECTIONAL);
	dma_resv_unlock(dmabuf->resv);
err_unpin:
	dma_resv_lock(dmabuf->resv, NULL);
	dma_buf_unpin(att->attach);
	dma_resv_unlock(dmabuf->resv);
err_detach:
	dma_buf_detach(dmabuf, att->attach);
err_put:
	put_device(att->dev);
	dma_buf_put(dmabuf);
	kfree(att);
	return ERR_PTR(err);
}

void dmai_att_destroy(struct dmai_att *att)
{
	struct dma_buf *dmabuf = att->dmabuf;

	dma_resv_lock(dmabuf->resv, NULL);
	dma_buf_unmap_attachment(att->attach, att->sgt, DMA_BIDIRECTIONAL);
	dma_buf_unpin(att->attach);
	dma_resv_unlock(dmabuf->resv);
	dma_buf_detach(dmabuf, att->attach);
	put_device(att->dev);
	dma_buf_put(dmabuf);
	kvfree(att->segs);
	kfree(att);
	atomic_dec(&dmai_nr_atts);
}
