/* SPDX-License-Identifier: MIT */
/*
 * A controller owned by another process (homid): no bring-up, no admin
 * queue. The driver's I/O path (io.c) runs unchanged on queue pairs whose
 * hardware queues the owner created; DMA memory comes from @f's dma_alloc
 * (memory the owner mapped for the device), and the doorbells from a page
 * the owner shares.
 */
#ifndef AISIO_DRV_REMOTE_H
#define AISIO_DRV_REMOTE_H

#include "drv/drv.h"

/* What the owner reports about the controller. */
struct aisio_nvme_remote_info {
	uint32_t page_shift;
	uint32_t dstrd;
	uint32_t max_xfer;
	uint32_t max_qdepth;
	uint32_t nqueues;
	uint32_t sgl;
	uint32_t timeout_ms;
	size_t dma_first; /* bytes of the first DMA region (opts.dma_first); 0 = a whole chunk */
};

/*
 * aisio_nvme_ctrl_remote_init - a controller handle for I/O only. @f's bar0
 * is read for CSTS (fatal status); @f stays the caller's.
 * Returns 0, -EINVAL (page shift outside 12..16, depth < 2), -ENOMEM.
 */
int aisio_nvme_ctrl_remote_init(struct aisio_pcif *f, const struct aisio_nvme_remote_info *ri,
				struct aisio_nvme_ctrl **out);
/* Free the handle and its DMA heap (queue pairs freed first). */
void aisio_nvme_ctrl_remote_term(struct aisio_nvme_ctrl *c);

/*
 * aisio_nvme_qpair_remote_alloc - slots, rings and PRP list pages of a
 * pair in the handle's DMA memory; *@sq_bus / *@cq_bus are the rings'
 * device addresses, for the owner to create the queues on. Returns 0 or
 * what aisio_nvme_qpair_create() returns for depth, SGL and memory.
 */
int aisio_nvme_qpair_remote_alloc(struct aisio_nvme_ctrl *c, struct aisio_dev *dev, uint32_t depth,
				  uint32_t flags, struct aisio_nvme_qpair **out, uint64_t *sq_bus,
				  uint64_t *cq_bus);
/* The owner created the queues as @qid: doorbells at their offsets in @db_page. */
void aisio_nvme_qpair_remote_bind(struct aisio_nvme_qpair *qp, uint16_t qid, volatile void *db_page);
/* Free the host-side state (the owner deletes the queues first). */
void aisio_nvme_qpair_remote_free(struct aisio_nvme_qpair *qp);

/* ---- Queue IDs (homid reports them) ---------------------------------------- */

/* I/O queue IDs in use (driver pairs, external pairs) and in all. */
void aisio_nvme_ctrl_qids(struct aisio_nvme_ctrl *c, uint32_t *used, uint32_t *total);

#endif
