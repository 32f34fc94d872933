/* SPDX-License-Identifier: MIT */
/*
 * I/O queue pairs: QID allocation, Create/Delete I/O CQ and SQ, the
 * per-CID command slots and PRP list memory, and re-creation after a
 * controller reset. Queues the caller drives itself (GPU) share the QID
 * space and are re-created the same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drv/clock.h"
#include "drv/ctrl_int.h"
#include "nvme/cmd.h"
#include "util/err.h"

static uint64_t no_bus[1];
static const struct aisio_mem_region no_region = { .bus = no_bus, .name = "none" };

int drv_qpair_hw_create(struct aisio_nvme_ctrl *c, uint16_t qid, uint32_t depth, uint64_t sq_bus,
			uint64_t cq_bus)
{
	struct aisio_nvme_sqe cmd;
	int err;

	aisio_nvme_cmd_create_cq(&cmd, qid, depth, cq_bus, 0, 0);
	err = drv_admin_locked(c, &cmd, NULL, 0, NULL);
	if (err)
		return err;
	aisio_nvme_cmd_create_sq(&cmd, qid, depth, sq_bus, qid);
	err = drv_admin_locked(c, &cmd, NULL, 0, NULL);
	if (err) {
		int saved = err;
		char msg[512];

		strncpy(msg, aisio_errmsg(), sizeof(msg) - 1);
		msg[sizeof(msg) - 1] = 0;
		aisio_nvme_cmd_delete_queue(&cmd, AISIO_NVME_ADM_DELETE_CQ, qid);
		drv_admin_locked(c, &cmd, NULL, 0, NULL);
		return aisio_err(saved, "%s", msg);
	}
	return 0;
}

int drv_qpair_hw_delete(struct aisio_nvme_ctrl *c, uint16_t qid)
{
	struct aisio_nvme_sqe cmd;
	int err, err2;

	aisio_nvme_cmd_delete_queue(&cmd, AISIO_NVME_ADM_DELETE_SQ, qid);
	err = drv_admin_locked(c, &cmd, NULL, 0, NULL);
	aisio_nvme_cmd_delete_queue(&cmd, AISIO_NVME_ADM_DELETE_CQ, qid);
	err2 = drv_admin_locked(c, &cmd, NULL, 0, NULL);
	return err ? err : err2;
}

static int qid_alloc(struct aisio_nvme_ctrl *c)
{
	for (uint32_t q = 1; q <= c->info.nqueues; q++) {
		if (!c->qid_used[q]) {
			c->qid_used[q] = 1;
			return (int)q;
		}
	}
	return aisio_err(-EBUSY, "%s: all %u I/O queues are in use", c->f->name, c->info.nqueues);
}

static uint64_t bus_of(struct aisio_nvme_ctrl *c, const void *p)
{
	return aisio_mem_bus(aisio_heap_region(c->heap, p), p);
}

/* Back to an empty ring and a zeroed CQ (stale phase bits would read as new entries). */
static void qpair_ring_reset(struct aisio_nvme_qpair *qp)
{
	struct aisio_nvme_ctrl *c = qp->ctrl;

	memset(qp->cq_mem, 0, (size_t)qp->cq.depth * sizeof(struct aisio_nvme_cqe));
	aisio_nvme_sq_init(&qp->sq, qp->sq_mem, c->bar0, qp->sq.qid, qp->sq.depth, c->info.dstrd);
	aisio_nvme_cq_init(&qp->cq, qp->cq_mem, c->bar0, qp->cq.qid, qp->cq.depth, c->info.dstrd);
}

/* List pages per CID: PRP lists (with chaining) or SGL segments for max_xfer at any offset. */
static uint32_t list_pages_per_cid(const struct aisio_nvme_ctrl *c, uint32_t flags)
{
	uint32_t shift = c->info.page_shift, page = 1u << shift;
	uint32_t prp = aisio_nvme_prp_list_pages(page - 4, c->info.max_xfer, shift);
	uint32_t pieces = (c->info.max_xfer >> shift) + 2;
	uint32_t sgl = (pieces * 16 + page - 17) / (page - 16) + 1;

	if (flags & AISIO_NVME_QP_SGL)
		return prp > sgl ? prp : sgl;
	return prp;
}

/* Host-side state of a queue pair: slots, rings and PRP list pages; no QID, no controller queue. */
int drv_qpair_alloc(struct aisio_nvme_ctrl *c, struct aisio_dev *dev, uint32_t depth, uint32_t flags,
		    struct aisio_nvme_qpair **out)
{
	struct aisio_nvme_qpair *qp;
	uint32_t ncids = depth - 1;
	size_t page = (size_t)1 << c->info.page_shift;
	int err;

	*out = NULL;
	if (depth < 2 || depth > c->info.max_qdepth)
		return aisio_err(-EINVAL, "%s: queue depth %u out of range (2..%u, CAP.MQES + 1)",
				 c->f->name, depth, c->info.max_qdepth);
	if ((flags & AISIO_NVME_QP_SGL) && !c->info.sgl)
		return aisio_err(-EINVAL, "%s: SGLs asked for but the controller does not support them",
				 c->f->name);
	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return aisio_err(-ENOMEM, "out of memory");
	qp->q.dev = dev;
	qp->q.depth = ncids;
	qp->ctrl = c;
	qp->ncids = ncids;
	qp->flags = flags;
	qp->page_shift = c->info.page_shift;
	qp->max_xfer = c->info.max_xfer;
	qp->timeout_ticks = (uint64_t)c->info.timeout_ms * aisio_drv_ticks_per_ms();
	/* Look for expired commands and fatal status a few times per timeout, every 1..100 ms. */
	qp->check_every = qp->timeout_ticks / 8;
	if (qp->check_every > 100 * aisio_drv_ticks_per_ms())
		qp->check_every = 100 * aisio_drv_ticks_per_ms();
	if (qp->check_every < aisio_drv_ticks_per_ms())
		qp->check_every = aisio_drv_ticks_per_ms();
	qp->check_at = aisio_drv_ticks() + qp->check_every;
	qp->check_countdown = DRV_CHECK_REAPS;

	err = -ENOMEM;
	/* line-aligned: each slot is exactly its two lines */
	qp->ios = aligned_alloc(64, (size_t)ncids * sizeof(*qp->ios));
	if (qp->ios)
		memset(qp->ios, 0, (size_t)ncids * sizeof(*qp->ios));
	qp->free_cids = calloc(ncids, sizeof(uint16_t));
	qp->pend = calloc(ncids, sizeof(*qp->pend));
	qp->doneq = calloc(ncids, sizeof(uint16_t));
	if (!qp->ios || !qp->free_cids || !qp->pend || !qp->doneq) {
		aisio_err(err, "out of memory for a queue of depth %u", depth);
		goto err_free;
	}
	qp->sq_mem = drv_dma_alloc_contig(c, (size_t)depth * sizeof(struct aisio_nvme_sqe), "an I/O SQ");
	if (!qp->sq_mem)
		goto err_free;
	qp->cq_mem = drv_dma_alloc_contig(c, (size_t)depth * sizeof(struct aisio_nvme_cqe), "an I/O CQ");
	if (!qp->cq_mem)
		goto err_free_sq;
	qp->list_pages = list_pages_per_cid(c, flags);
	if (qp->list_pages) {
		qp->lists = aisio_nvme_ctrl_dma_alloc(c, (size_t)ncids * qp->list_pages * page, page);
		if (!qp->lists) {
			aisio_err(err, "%s: no DMA memory for PRP lists (%u CIDs x %u pages)", c->f->name,
				  ncids, qp->list_pages);
			goto err_free_cq;
		}
		qp->lists_region = aisio_heap_region(c->heap, qp->lists);
	}
	/* Slots know their queue and CID for good; the free stack pops CID 0 first. */
	for (uint32_t i = 0; i < ncids; i++) {
		qp->ios[i].q = &qp->q;
		qp->ios[i].cid = (uint16_t)i;
		qp->free_cids[i] = (uint16_t)(ncids - 1 - i);
	}
	qp->nfree = ncids;
	/* SGL queues keep an empty region cached: the PRP fast path never matches. */
	qp->rcache = (flags & AISIO_NVME_QP_SGL) ? &no_region : aisio_heap_region(c->heap, qp->sq_mem);
	qp->sq.depth = qp->cq.depth = depth;
	*out = qp;
	return 0;

err_free_cq:
	aisio_nvme_ctrl_dma_free(c, qp->cq_mem);
err_free_sq:
	aisio_nvme_ctrl_dma_free(c, qp->sq_mem);
err_free:
	free(qp->ios);
	free(qp->free_cids);
	free(qp->pend);
	free(qp->doneq);
	free(qp);
	return err;
}

void drv_qpair_free(struct aisio_nvme_qpair *qp)
{
	struct aisio_nvme_ctrl *c = qp->ctrl;

	aisio_nvme_ctrl_dma_free(c, qp->lists);
	aisio_nvme_ctrl_dma_free(c, qp->cq_mem);
	aisio_nvme_ctrl_dma_free(c, qp->sq_mem);
	free(qp->ios);
	free(qp->free_cids);
	free(qp->pend);
	free(qp->doneq);
	free(qp);
}

uint64_t drv_bus_of(struct aisio_nvme_ctrl *c, const void *p)
{
	return bus_of(c, p);
}

int aisio_nvme_qpair_create(struct aisio_nvme_ctrl *c, struct aisio_dev *dev, uint32_t depth,
			    uint32_t flags, struct aisio_nvme_qpair **out)
{
	struct aisio_nvme_qpair *qp;
	int qid, err;

	*out = NULL;
	err = drv_qpair_alloc(c, dev, depth, flags, &qp);
	if (err)
		return err;
	pthread_mutex_lock(&c->admin_lock);
	qid = qid_alloc(c);
	if (qid < 0) {
		err = qid;
		goto err_unlock;
	}
	qp->sq.qid = qp->cq.qid = (uint16_t)qid;
	qp->sq.depth = qp->cq.depth = depth;
	qpair_ring_reset(qp);
	err = drv_qpair_hw_create(c, (uint16_t)qid, depth, bus_of(c, qp->sq_mem), bus_of(c, qp->cq_mem));
	if (err) {
		c->qid_used[qid] = 0;
		goto err_unlock;
	}
	qp->next = c->qpairs;
	c->qpairs = qp;
	pthread_mutex_unlock(&c->admin_lock);
	*out = qp;
	return 0;

err_unlock:
	pthread_mutex_unlock(&c->admin_lock);
	drv_qpair_free(qp);
	return err;
}

void aisio_nvme_qpair_delete(struct aisio_nvme_qpair *qp)
{
	struct aisio_nvme_ctrl *c;

	if (!qp)
		return;
	c = qp->ctrl;
	pthread_mutex_lock(&c->admin_lock);
	for (struct aisio_nvme_qpair **pp = &c->qpairs; *pp; pp = &(*pp)->next) {
		if (*pp == qp) {
			*pp = qp->next;
			break;
		}
	}
	/* A failed controller deletes nothing; its queues go with the next reset or disable. */
	if (!__atomic_load_n(&c->failed, __ATOMIC_RELAXED))
		drv_qpair_hw_delete(c, qp->sq.qid);
	c->qid_used[qp->sq.qid] = 0;
	pthread_mutex_unlock(&c->admin_lock);
	drv_qpair_free(qp);
}

/*
 * The controller forgot the queue (reset): every command it held completes
 * with @status at the next reap, CIDs held for timed-out commands are free
 * again, and the ring starts over.
 */
void drv_qpair_cancel(struct aisio_nvme_qpair *qp, int status)
{
	for (uint32_t cid = 0; cid < qp->ncids; cid++) {
		struct aisio_io *io = &qp->ios[cid];

		if (io->be_flags == AISIO_NVME_IO_INFLIGHT) {
			io->status = status;
			io->result = 0;
			io->be_flags = AISIO_NVME_IO_DONE;
			qp->doneq[qp->ndone++] = (uint16_t)cid;
		} else if (io->be_flags == AISIO_NVME_IO_RESERVED) {
			io->be_flags = AISIO_NVME_IO_FREE;
			qp->free_cids[qp->nfree++] = (uint16_t)cid;
		}
	}
	qpair_ring_reset(qp);
}

int drv_qpair_recreate_all(struct aisio_nvme_ctrl *c)
{
	int err;

	for (struct aisio_nvme_qpair *qp = c->qpairs; qp; qp = qp->next) {
		err = drv_qpair_hw_create(c, qp->sq.qid, qp->sq.depth, bus_of(c, qp->sq_mem),
					  bus_of(c, qp->cq_mem));
		if (err)
			return err;
	}
	for (struct drv_ext *x = c->exts; x; x = x->next) {
		err = drv_qpair_hw_create(c, x->qid, x->e.depth, x->e.sq_bus, x->e.cq_bus);
		if (err)
			return err;
	}
	return 0;
}

int aisio_nvme_ctrl_qpair_create_ext(struct aisio_nvme_ctrl *c, const struct aisio_nvme_qpair_ext *e,
				     uint16_t *qid)
{
	uint64_t pmask = ((uint64_t)1 << c->info.page_shift) - 1;
	struct drv_ext *x;
	int q, err;

	*qid = 0;
	if (!e || e->depth < 2 || e->depth > c->info.max_qdepth)
		return aisio_err(-EINVAL, "%s: queue depth %u out of range (2..%u, CAP.MQES + 1)",
				 c->f->name, e ? e->depth : 0, c->info.max_qdepth);
	if ((e->sq_bus & pmask) || (e->cq_bus & pmask) || !e->sq_bus || !e->cq_bus)
		return aisio_err(-EINVAL, "%s: queue memory must be aligned to the controller page (%llu bytes)",
				 c->f->name, (unsigned long long)pmask + 1);
	x = calloc(1, sizeof(*x));
	if (!x)
		return aisio_err(-ENOMEM, "out of memory");
	x->e = *e;
	pthread_mutex_lock(&c->admin_lock);
	q = qid_alloc(c);
	if (q < 0) {
		err = q;
		goto err_unlock;
	}
	err = drv_qpair_hw_create(c, (uint16_t)q, e->depth, e->sq_bus, e->cq_bus);
	if (err) {
		c->qid_used[q] = 0;
		goto err_unlock;
	}
	x->qid = (uint16_t)q;
	x->next = c->exts;
	c->exts = x;
	pthread_mutex_unlock(&c->admin_lock);
	*qid = (uint16_t)q;
	return 0;

err_unlock:
	pthread_mutex_unlock(&c->admin_lock);
	free(x);
	return err;
}

int aisio_nvme_ctrl_qpair_delete_ext(struct aisio_nvme_ctrl *c, uint16_t qid)
{
	struct drv_ext *x = NULL;
	int err = 0;

	pthread_mutex_lock(&c->admin_lock);
	for (struct drv_ext **pp = &c->exts; *pp; pp = &(*pp)->next) {
		if ((*pp)->qid == qid) {
			x = *pp;
			*pp = x->next;
			break;
		}
	}
	if (!x) {
		pthread_mutex_unlock(&c->admin_lock);
		return aisio_err(-ENOENT, "%s: no external queue pair with QID %u", c->f->name, qid);
	}
	if (!__atomic_load_n(&c->failed, __ATOMIC_RELAXED))
		err = drv_qpair_hw_delete(c, qid);
	c->qid_used[qid] = 0;
	pthread_mutex_unlock(&c->admin_lock);
	free(x);
	return err;
}
