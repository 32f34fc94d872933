/* SPDX-License-Identifier: MIT */
/* Controller state shared by the driver's source files (not for other modules). */
#ifndef AISIO_DRV_CTRL_INT_H
#define AISIO_DRV_CTRL_INT_H

#include <pthread.h>

#include "drv/drv.h"
#include "nvme/dptr.h"

#define DRV_AER_CID_BASE 0xff00u /* admin CIDs at and above this are AERs */
#define DRV_AER_MAX 4u
/* Reaps between two looks at the clock when completions keep coming. */
#define DRV_CHECK_REAPS 1024u

struct drv_ext {
	struct aisio_nvme_qpair_ext e;
	uint16_t qid;
	struct drv_ext *next;
};

struct aisio_nvme_ctrl {
	struct aisio_pcif *f;
	volatile uint8_t *bar0;
	struct aisio_nvme_ctrl_info info;
	struct aisio_nvme_ctrl_opts opts;
	uint32_t ready_timeout_ms; /* CAP.TO */
	int failed;                /* CSTS.CFS seen; read without the lock */
	uint32_t generation;

	struct aisio_heap *heap;
	pthread_mutex_t dma_lock; /* growing the heap */
	uint32_t dma_regions;	  /* regions the heap grew by */

	/* Admin queue; lock held for every admin command. */
	pthread_mutex_t admin_lock;
	struct aisio_nvme_sq asq;
	struct aisio_nvme_cq acq;
	void *asq_mem, *acq_mem;
	uint64_t asq_bus, acq_bus; /* adopted (adopt.c): the rings are outside the heap; else 0 */
	uint32_t admin_depth;
	uint16_t admin_cid;
	struct aisio_nvme_list_mem admin_lists;
	uint32_t aer_pending, aer_events, aer_last;
	uint16_t aer_next;

	/* Queues: QIDs in use (bit per QID), driver pairs and external pairs. */
	uint8_t *qid_used;
	struct aisio_nvme_qpair *qpairs;
	struct drv_ext *exts;

	struct aisio_nvme_id_ctrl *id;
	uint32_t *active;
	void *scratch; /* one page of DMA memory for bring-up's Identify data */
};

/* ctrl.c */
int drv_ctrl_disable(struct aisio_nvme_ctrl *c);
int drv_ctrl_enable(struct aisio_nvme_ctrl *c);
int drv_read_cap(struct aisio_nvme_ctrl *c);
/* A zeroed controller on @f with @opts, its locks and Identify buffer: before any register access. */
int drv_ctrl_alloc(struct aisio_pcif *f, const struct aisio_nvme_ctrl_opts *opts,
		   struct aisio_nvme_ctrl **out);
/* Identify Controller and the active namespace list into c->id and c->active (admin queue up). */
int drv_identify(struct aisio_nvme_ctrl *c);
int drv_admin_lists_alloc(struct aisio_nvme_ctrl *c);

/* admin.c: caller holds admin_lock */
int drv_admin_locked(struct aisio_nvme_ctrl *c, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		     uint32_t *result);
void drv_admin_ring_reset(struct aisio_nvme_ctrl *c);

/* qpair.c */
int drv_qpair_hw_create(struct aisio_nvme_ctrl *c, uint16_t qid, uint32_t depth, uint64_t sq_bus,
			uint64_t cq_bus);
int drv_qpair_hw_delete(struct aisio_nvme_ctrl *c, uint16_t qid);
int drv_qpair_recreate_all(struct aisio_nvme_ctrl *c);
void drv_qpair_cancel(struct aisio_nvme_qpair *qp, int status);
int drv_qpair_alloc(struct aisio_nvme_ctrl *c, struct aisio_dev *dev, uint32_t depth, uint32_t flags,
		    struct aisio_nvme_qpair **out);
void drv_qpair_free(struct aisio_nvme_qpair *qp);
uint64_t drv_bus_of(struct aisio_nvme_ctrl *c, const void *p);

/* dma.c */
void *drv_dma_alloc_contig(struct aisio_nvme_ctrl *c, size_t len, const char *what);

static inline uint32_t drv_csts(const struct aisio_nvme_ctrl *c)
{
	return aisio_pcif_read32(c->f, AISIO_NVME_REG_CSTS);
}

#endif
