/* SPDX-License-Identifier: MIT */
/* Controllers owned by another process: I/O queue pairs without an admin queue (remote.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drv/ctrl_int.h"
#include "drv/remote.h"
#include "util/err.h"

int aisio_nvme_ctrl_remote_init(struct aisio_pcif *f, const struct aisio_nvme_remote_info *ri,
				struct aisio_nvme_ctrl **out)
{
	struct aisio_nvme_ctrl *c;
	int err;

	*out = NULL;
	if (ri->page_shift < 12 || ri->page_shift > 16 || ri->max_qdepth < 2 || !ri->max_xfer)
		return aisio_err(-EINVAL, "%s: controller info out of range (page shift %u, depth %u, "
				 "max transfer %u)", f->name, ri->page_shift, ri->max_qdepth, ri->max_xfer);
	c = calloc(1, sizeof(*c));
	if (!c)
		return aisio_err(-ENOMEM, "out of memory");
	c->f = f;
	c->bar0 = f->bar0;
	pthread_mutex_init(&c->admin_lock, NULL);
	pthread_mutex_init(&c->dma_lock, NULL);
	c->info.page_shift = ri->page_shift;
	c->info.dstrd = ri->dstrd;
	c->info.max_xfer = ri->max_xfer;
	c->info.max_qdepth = ri->max_qdepth;
	c->info.nqueues = ri->nqueues;
	c->info.sgl = ri->sgl;
	c->info.timeout_ms = ri->timeout_ms ? ri->timeout_ms : 30000;
	c->opts.dma_first = ri->dma_first;
	c->id = calloc(1, sizeof(*c->id));
	c->info.id = c->id;
	if (!c->id) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto err_free;
	}
	err = aisio_heap_init(&c->heap);
	if (err)
		goto err_free;
	*out = c;
	return 0;

err_free:
	free(c->id);
	pthread_mutex_destroy(&c->admin_lock);
	pthread_mutex_destroy(&c->dma_lock);
	free(c);
	return err;
}

void aisio_nvme_ctrl_remote_term(struct aisio_nvme_ctrl *c)
{
	if (!c)
		return;
	aisio_heap_term(c->heap);
	free(c->id);
	pthread_mutex_destroy(&c->admin_lock);
	pthread_mutex_destroy(&c->dma_lock);
	free(c);
}

int aisio_nvme_qpair_remote_alloc(struct aisio_nvme_ctrl *c, struct aisio_dev *dev, uint32_t depth,
				  uint32_t flags, struct aisio_nvme_qpair **out, uint64_t *sq_bus,
				  uint64_t *cq_bus)
{
	int err = drv_qpair_alloc(c, dev, depth, flags, out);

	if (err)
		return err;
	*sq_bus = drv_bus_of(c, (*out)->sq_mem);
	*cq_bus = drv_bus_of(c, (*out)->cq_mem);
	return 0;
}

void aisio_nvme_qpair_remote_bind(struct aisio_nvme_qpair *qp, uint16_t qid, volatile void *db_page)
{
	struct aisio_nvme_ctrl *c = qp->ctrl;
	uint32_t depth = qp->sq.depth;

	memset(qp->cq_mem, 0, (size_t)depth * sizeof(struct aisio_nvme_cqe));
	aisio_nvme_sq_init(&qp->sq, qp->sq_mem, db_page, qid, depth, c->info.dstrd);
	aisio_nvme_cq_init(&qp->cq, qp->cq_mem, db_page, qid, depth, c->info.dstrd);
}

void aisio_nvme_qpair_remote_free(struct aisio_nvme_qpair *qp)
{
	if (qp)
		drv_qpair_free(qp);
}

void aisio_nvme_ctrl_qids(struct aisio_nvme_ctrl *c, uint32_t *used, uint32_t *total)
{
	uint32_t n = 0;

	pthread_mutex_lock(&c->admin_lock);
	for (uint32_t q = 1; q <= c->info.nqueues; q++)
		n += c->qid_used[q] != 0;
	pthread_mutex_unlock(&c->admin_lock);
	*used = n;
	*total = c->info.nqueues;
}
