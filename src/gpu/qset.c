/* SPDX-License-Identifier: MIT */
/*
 * The GPU queues of a kernel: queue pairs spread over controllers and the
 * array of their device-side state that the kernel indexes. Everything
 * that creates GPU queues (aisio perf cuda-run and cuda-verify, the tests)
 * goes through here.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include <aisio/aisio.h>

#include "gpu/gpu.h"
#include "gpu/rt.h"
#include "util/err.h"

struct aisio_gpu_qset {
	uint32_t nq;
	struct aisio_gpu_qp **qps;
	struct aisio_cuda_qp **dev; /* GPU memory: nq pointers */
};

/* Queue i from controller (@ctrls) or homid session (@devs) number i % @n. */
static int qset_build(struct aisio_nvme_ctrl *const *ctrls, struct aisio_dev *const *devs, int n, int gpu,
		      uint32_t nq, uint32_t depth, uint32_t ncid, struct aisio_gpu_qset **out);

int aisio_gpu_qset_create(struct aisio_nvme_ctrl *const *ctrls, int nctrls, int gpu, uint32_t nq, uint32_t depth,
			  uint32_t ncid, struct aisio_gpu_qset **out)
{
	*out = NULL;
	if (!ctrls)
		return aisio_err(-EINVAL, "GPU queues: need at least one controller and one queue");
	return qset_build(ctrls, NULL, nctrls, gpu, nq, depth, ncid, out);
}

int aisio_gpu_qset_create_homi(struct aisio_dev *const *devs, int ndevs, int gpu, uint32_t nq, uint32_t depth,
			       uint32_t ncid, struct aisio_gpu_qset **out)
{
	*out = NULL;
	if (!devs)
		return aisio_err(-EINVAL, "GPU queues: need at least one homi: device and one queue");
	return qset_build(NULL, devs, ndevs, gpu, nq, depth, ncid, out);
}

static int qset_build(struct aisio_nvme_ctrl *const *ctrls, struct aisio_dev *const *devs, int nctrls, int gpu,
		      uint32_t nq, uint32_t depth, uint32_t ncid, struct aisio_gpu_qset **out)
{
	struct aisio_cuda_qp **ptrs = NULL;
	struct aisio_gpu_qset *s;
	cudaError_t ce;
	int err = 0;

	*out = NULL;
	if (nctrls < 1 || !nq)
		return aisio_err(-EINVAL, "GPU queues: need at least one controller and one queue");
	err = aisio_gpu_select(gpu);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (s)
		s->qps = calloc(nq, sizeof(*s->qps));
	ptrs = calloc(nq, sizeof(*ptrs));
	if (!s || !s->qps || !ptrs) {
		err = aisio_err(-ENOMEM, "GPU queues: out of memory for %u queues", nq);
		goto fail;
	}
	s->nq = nq;
	for (uint32_t i = 0; i < nq; i++) {
		err = ctrls ? aisio_gpu_qp_create(ctrls[i % (uint32_t)nctrls], gpu, depth, ncid, &s->qps[i])
			    : aisio_gpu_qp_create_homi(devs[i % (uint32_t)nctrls], gpu, depth, ncid, &s->qps[i]);
		if (err) {
			char why[256];
			snprintf(why, sizeof(why), "%s", aisio_errmsg());
			err = aisio_err(err, "GPU queue %u of %u (controller %u): %s", i, nq, i % (uint32_t)nctrls, why);
			goto fail;
		}
		ptrs[i] = aisio_gpu_qp_dev(s->qps[i]);
	}
	ce = cudaMalloc((void **)&s->dev, nq * sizeof(*s->dev));
	if (ce == cudaSuccess)
		ce = cudaMemcpy(s->dev, ptrs, nq * sizeof(*s->dev), cudaMemcpyHostToDevice);
	if (ce != cudaSuccess) {
		err = aisio_gpu_cuda_err(ce, "GPU queues: cannot write the queue table");
		goto fail;
	}
	free(ptrs);
	*out = s;
	return 0;

fail:
	free(ptrs);
	aisio_gpu_qset_delete(s);
	return err;
}

void aisio_gpu_qset_delete(struct aisio_gpu_qset *s)
{
	if (!s)
		return;
	cudaFree(s->dev);
	if (s->qps) {
		/* every queue stopped before any memory goes (homid's rule) */
		for (uint32_t i = 0; i < s->nq; i++)
			aisio_gpu_qp_stop(s->qps[i]);
		for (uint32_t i = 0; i < s->nq; i++)
			aisio_gpu_qp_delete(s->qps[i]);
	}
	free(s->qps);
	free(s);
}

struct aisio_cuda_qp **aisio_gpu_qset_dev(struct aisio_gpu_qset *s)
{
	return s->dev;
}

uint32_t aisio_gpu_qset_count(const struct aisio_gpu_qset *s)
{
	return s->nq;
}

struct aisio_gpu_qp *aisio_gpu_qset_qp(struct aisio_gpu_qset *s, uint32_t i)
{
	return i < s->nq ? s->qps[i] : NULL;
}

int aisio_gpu_qset_stats(struct aisio_gpu_qset *s, struct aisio_gpu_qset_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (uint32_t i = 0; i < s->nq; i++) {
		struct aisio_cuda_qp q;
		int err = aisio_gpu_qp_snapshot(s->qps[i], &q);

		if (err)
			return err;
		st->sq_db += q.n_sq_db;
		st->cq_db += q.n_cq_db;
		st->reaps += q.n_reaps;
		st->empty += q.n_empty;
		st->bad_cid += q.n_bad_cid;
	}
	return 0;
}
