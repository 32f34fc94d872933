/* SPDX-License-Identifier: MIT */
/*
 * GPU-resident queue pairs. The rings live in host-pinned, GPU-mapped
 * memory (the device model reads SQEs and writes CQEs there with plain
 * loads and stores; GPU threads reach it over PCIe), the controller's BAR0
 * is mapped into the GPU so its threads ring the doorbells, and the queue
 * state (struct aisio_cuda_qp) and per-CID completion slots live in GPU
 * memory. The driver creates the pair on the caller's memory and returns
 * its QID; or, for a GPU client of homid, homid creates it on shared memory
 * the client registered with homid and with CUDA, and the doorbells are
 * the session's doorbell page mapped into the GPU.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#include <aisio/aisio.h>

#include "drv/drv.h"
#include "gpu/gpu.h"
#include "homi/client.h"
#include "gpu/rt.h"
#include "util/err.h"

/* BAR0 ranges mapped into the GPU, shared by the queue pairs of a controller. */
#define MAX_BARS 256
static struct {
	volatile uint8_t *bar;
	void *dev;
	uint32_t refs;
} bars[MAX_BARS];
static pthread_mutex_t bars_lock = PTHREAD_MUTEX_INITIALIZER;

static int bar_get(volatile uint8_t *bar, size_t len, int iomem, void **dev)
{
	int err = 0, free_slot = -1;

	pthread_mutex_lock(&bars_lock);
	for (int i = 0; i < MAX_BARS; i++) {
		if (bars[i].refs && bars[i].bar == bar) {
			bars[i].refs++;
			*dev = bars[i].dev;
			goto out;
		}
		if (!bars[i].refs && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0) {
		err = aisio_err(-ENOSPC, "more than %d controllers mapped into the GPU", MAX_BARS);
		goto out;
	}
	err = iomem ? aisio_gpu_map_io(bar, len, dev) : aisio_gpu_map_host(bar, len, dev);
	if (!err) {
		bars[free_slot].bar = bar;
		bars[free_slot].dev = *dev;
		bars[free_slot].refs = 1;
	}
out:
	pthread_mutex_unlock(&bars_lock);
	return err;
}

static void bar_put(volatile uint8_t *bar)
{
	pthread_mutex_lock(&bars_lock);
	for (int i = 0; i < MAX_BARS; i++)
		if (bars[i].refs && bars[i].bar == bar) {
			if (!--bars[i].refs)
				aisio_gpu_unmap_host(bar);
			break;
		}
	pthread_mutex_unlock(&bars_lock);
}

struct aisio_gpu_qp {
	struct aisio_nvme_ctrl *ctrl; /* NULL for a queue homid created */
	struct aisio_homi_conn *conn; /* homid's session, for a homid queue */
	int memfd;                    /* homid queue: its ring memory, registered with homid */
	uint32_t mem_id;
	void *rings;
	size_t rings_len;
	volatile uint8_t *bar;
	uint16_t qid;
	int gpu;
	void *sq_host, *sq_dev;
	void *cq_host, *cq_dev;
	struct aisio_cuda_cpl *cpl;   /* GPU memory */
	struct aisio_cuda_qp *dev;    /* GPU memory */
};

static void homi_qp_delete(struct aisio_gpu_qp *q);

int aisio_gpu_qp_create(struct aisio_nvme_ctrl *c, int gpu, uint32_t depth, uint32_t ncid,
			struct aisio_gpu_qp **out)
{
	const struct aisio_nvme_ctrl_info *info = aisio_nvme_ctrl_info(c);
	struct aisio_nvme_qpair_ext e;
	struct aisio_cuda_qp h;
	struct aisio_gpu_qp *q;
	void *bar_dev = NULL;
	cudaError_t ce;
	int err;

	*out = NULL;
	if (depth < 2 || depth > info->max_qdepth || depth > AISIO_CUDA_MAX_DEPTH)
		return aisio_err(-EINVAL, "GPU queue: depth %u outside 2..%u (CAP.MQES + 1)", depth,
				 info->max_qdepth);
	if (!ncid)
		ncid = depth - 1;
	if (ncid >= depth)
		return aisio_err(-EINVAL, "GPU queue: %u CIDs need a ring deeper than %u", ncid, depth);
	err = aisio_gpu_select(gpu);
	if (err)
		return err;
	q = calloc(1, sizeof(*q));
	if (!q)
		return aisio_err(-ENOMEM, "GPU queue: out of memory");
	q->ctrl = c;
	q->gpu = gpu;
	err = aisio_gpu_host_alloc((size_t)depth * sizeof(struct aisio_nvme_sqe), &q->sq_host, &q->sq_dev);
	if (err)
		goto err_free;
	err = aisio_gpu_host_alloc((size_t)depth * sizeof(struct aisio_nvme_cqe), &q->cq_host, &q->cq_dev);
	if (err)
		goto err_free_sq;
	ce = cudaMalloc((void **)&q->cpl, (size_t)ncid * sizeof(struct aisio_cuda_cpl));
	if (ce == cudaSuccess)
		ce = cudaMemset(q->cpl, 0, (size_t)ncid * sizeof(struct aisio_cuda_cpl));
	if (ce != cudaSuccess) {
		err = aisio_gpu_cuda_err(ce, "GPU queue: cannot allocate completion slots");
		goto err_free_cq;
	}
	ce = cudaMalloc((void **)&q->dev, sizeof(*q->dev));
	if (ce != cudaSuccess) {
		err = aisio_gpu_cuda_err(ce, "GPU queue: cannot allocate the queue state");
		goto err_free_cpl;
	}
	q->bar = aisio_nvme_ctrl_bar0(c);
	err = bar_get(q->bar, 0x1000 + 2 * (4u << info->dstrd) * (info->nqueues + 1), 0, &bar_dev);
	if (err)
		goto err_free_dev;

	memset(&e, 0, sizeof(e));
	e.depth = depth;
	e.sq_bus = (uint64_t)(uintptr_t)q->sq_host;
	e.cq_bus = (uint64_t)(uintptr_t)q->cq_host;
	e.sq_va = q->sq_host;
	e.cq_va = q->cq_host;
	err = aisio_nvme_ctrl_qpair_create_ext(c, &e, &q->qid);
	if (err)
		goto err_put_bar;

	/* The rings as the GPU reaches them: GPU addresses of the ring memory and of BAR0. */
	memset(&h, 0, sizeof(h));
	aisio_nvme_sq_init(&h.sq, q->sq_dev, bar_dev, q->qid, depth, info->dstrd);
	aisio_nvme_cq_init(&h.cq, q->cq_dev, bar_dev, q->qid, depth, info->dstrd);
	h.cpl = q->cpl;
	h.ncid = ncid;
	h.qid = q->qid;
	ce = cudaMemcpy(q->dev, &h, sizeof(h), cudaMemcpyHostToDevice);
	if (ce != cudaSuccess) {
		err = aisio_gpu_cuda_err(ce, "GPU queue: cannot write the queue state");
		goto err_delete;
	}
	*out = q;
	return 0;

err_delete:
	aisio_nvme_ctrl_qpair_delete_ext(c, q->qid);
err_put_bar:
	bar_put(q->bar);
err_free_dev:
	cudaFree(q->dev);
err_free_cpl:
	cudaFree(q->cpl);
err_free_cq:
	aisio_gpu_host_free(q->cq_host);
err_free_sq:
	aisio_gpu_host_free(q->sq_host);
err_free:
	free(q);
	return err;
}

void aisio_gpu_qp_delete(struct aisio_gpu_qp *q)
{
	if (!q)
		return;
	if (q->conn) {
		homi_qp_delete(q);
		return;
	}
	aisio_nvme_ctrl_qpair_delete_ext(q->ctrl, q->qid);
	bar_put(q->bar);
	cudaFree(q->dev);
	cudaFree(q->cpl);
	aisio_gpu_host_free(q->cq_host);
	aisio_gpu_host_free(q->sq_host);
	free(q);
}

/* ---- Queue pairs homid creates for a GPU client ---------------------------- */

/*
 * Homid's queue: QP_DELETE first (homid deletes the hardware queues, so
 * the controller stops touching the rings), then the ring memory goes.
 */
void aisio_gpu_qp_stop(struct aisio_gpu_qp *q)
{
	if (q && q->conn && q->qid) {
		struct aisio_homi_qp_delete d = { .qid = q->qid };
		aisio_homi_call(q->conn, AISIO_HOMI_QP_DELETE, &d, sizeof(d), -1, NULL, 0, NULL, NULL);
		q->qid = 0;
	}
}

static void homi_qp_delete(struct aisio_gpu_qp *q)
{
	/* homid unregisters memory only once the session holds no queue (aisio_gpu_qset_delete) */
	aisio_gpu_qp_stop(q);
	if (q->mem_id) {
		struct aisio_homi_mem_unreg u = { .mem_id = q->mem_id };
		aisio_homi_call(q->conn, AISIO_HOMI_MEM_UNREG, &u, sizeof(u), -1, NULL, 0, NULL, NULL);
	}
	if (q->bar)
		bar_put(q->bar);
	cudaFree(q->dev);
	cudaFree(q->cpl);
	if (q->rings) {
		if (q->sq_dev)
			aisio_gpu_unmap_host(q->rings);
		munmap(q->rings, q->rings_len);
	}
	if (q->memfd >= 0)
		close(q->memfd);
	free(q);
}

int aisio_gpu_qp_create_homi(struct aisio_dev *dev, int gpu, uint32_t depth, uint32_t ncid,
			     struct aisio_gpu_qp **out)
{
	struct aisio_homi_session hs;
	struct aisio_homi_qp_create req;
	struct aisio_homi_qp_create_reply rep;
	struct aisio_cuda_qp h;
	struct aisio_gpu_qp *q;
	void *bar_dev = NULL;
	uint64_t bus = 0;
	cudaError_t ce;
	int err;

	*out = NULL;
	err = aisio_homi_session_of(dev, &hs);
	if (err)
		return err;
	if (hs.att->mode != AISIO_HOMI_MODE_DIRECT)
		return aisio_err(-ENOTSUP, "%s: GPU queues need a direct session (mode=direct): in mediated mode "
				 "homid reads every command itself", aisio_dev_uri(dev));
	if (depth < 2 || depth > hs.att->ctrl.max_qdepth || depth > AISIO_CUDA_MAX_DEPTH)
		return aisio_err(-EINVAL, "GPU queue: depth %u outside 2..%u (CAP.MQES + 1)", depth,
				 hs.att->ctrl.max_qdepth);
	if (!ncid)
		ncid = depth - 1;
	if (ncid >= depth)
		return aisio_err(-EINVAL, "GPU queue: %u CIDs need a ring deeper than %u", ncid, depth);
	err = aisio_gpu_select(gpu);
	if (err)
		return err;
	q = calloc(1, sizeof(*q));
	if (!q)
		return aisio_err(-ENOMEM, "GPU queue: out of memory");
	q->conn = hs.conn;
	q->memfd = -1;
	q->gpu = gpu;
	/* The rings: shared memory homid maps for the controller, registered here with CUDA. */
	const size_t pg = 4096, sq_len = ((size_t)depth * 64 + pg - 1) & ~(pg - 1);
	q->rings_len = sq_len + (((size_t)depth * 16 + pg - 1) & ~(pg - 1));
	err = aisio_homi_shared_mem(hs.conn, q->rings_len, &q->memfd, &q->rings, &q->mem_id, &bus);
	if (err)
		goto fail;
	err = aisio_gpu_map_host(q->rings, q->rings_len, &q->sq_dev);
	if (err)
		goto fail;
	q->sq_host = q->rings;
	q->cq_host = (uint8_t *)q->rings + sq_len;
	q->cq_dev = (uint8_t *)q->sq_dev + sq_len;
	/* The doorbell page: the model's shared registers, or a real BAR (I/O memory for CUDA). */
	err = bar_get((volatile uint8_t *)hs.db, hs.db_len, hs.att->ctrl.kind == AISIO_HOMI_CTRL_PCI, &bar_dev);
	if (err)
		goto fail;
	q->bar = (volatile uint8_t *)hs.db;
	ce = cudaMalloc((void **)&q->cpl, (size_t)ncid * sizeof(struct aisio_cuda_cpl));
	if (ce == cudaSuccess)
		ce = cudaMemset(q->cpl, 0, (size_t)ncid * sizeof(struct aisio_cuda_cpl));
	if (ce == cudaSuccess)
		ce = cudaMalloc((void **)&q->dev, sizeof(*q->dev));
	if (ce != cudaSuccess) {
		err = aisio_gpu_cuda_err(ce, "GPU queue: cannot allocate the queue state");
		goto fail;
	}
	memset(&req, 0, sizeof(req));
	req.depth = depth;
	req.sq_bus = bus;
	req.cq_bus = bus + sq_len;
	err = aisio_homi_call(hs.conn, AISIO_HOMI_QP_CREATE, &req, sizeof(req), -1, &rep, sizeof(rep), NULL, NULL);
	if (err)
		goto fail;
	q->qid = rep.qid;
	if (rep.sq_db + 4 > hs.db_len || rep.cq_db + 4 > hs.db_len) {
		err = aisio_err(-EPROTO, "GPU queue: homid's doorbells for queue %u lie outside its %zu-byte page",
				rep.qid, hs.db_len);
		goto fail;
	}
	memset(&h, 0, sizeof(h));
	aisio_nvme_sq_init(&h.sq, q->sq_dev, bar_dev, q->qid, depth, hs.att->ctrl.dstrd);
	aisio_nvme_cq_init(&h.cq, q->cq_dev, bar_dev, q->qid, depth, hs.att->ctrl.dstrd);
	h.sq.db = (volatile uint32_t *)((uint8_t *)bar_dev + rep.sq_db);
	h.cq.db = (volatile uint32_t *)((uint8_t *)bar_dev + rep.cq_db);
	h.cpl = q->cpl;
	h.ncid = ncid;
	h.qid = q->qid;
	ce = cudaMemcpy(q->dev, &h, sizeof(h), cudaMemcpyHostToDevice);
	if (ce != cudaSuccess) {
		err = aisio_gpu_cuda_err(ce, "GPU queue: cannot write the queue state");
		goto fail;
	}
	*out = q;
	return 0;

fail: {
	/* the cleanup talks to homid too (MEM_UNREG, refused while the session holds other queues):
	 * the reason this queue failed is what the caller reports */
	char why[256];

	snprintf(why, sizeof(why), "%s", aisio_errmsg());
	homi_qp_delete(q);
	return aisio_err(err, "%s", why);
}
}

struct aisio_cuda_qp *aisio_gpu_qp_dev(struct aisio_gpu_qp *q)
{
	return q->dev;
}

uint16_t aisio_gpu_qp_qid(const struct aisio_gpu_qp *q)
{
	return q->qid;
}

int aisio_gpu_qp_snapshot(struct aisio_gpu_qp *q, struct aisio_cuda_qp *out)
{
	cudaError_t ce = cudaMemcpy(out, q->dev, sizeof(*out), cudaMemcpyDeviceToHost);

	if (ce != cudaSuccess)
		return aisio_gpu_cuda_err(ce, "GPU queue: cannot read the queue state");
	return 0;
}
