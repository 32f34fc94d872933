/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path gpu-nvme emu:SIZE,file=IMG: GPU-initiated reads on
 * GPU queues of a device model in this process, on the image the extents
 * came from, moving data for GPU memory with the GPU's copy engines. The
 * PRP list pages are pinned host memory: the model's bus address of host
 * memory is its pointer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <aisio/aisio.h>

#include "fil.h"
#include "fil_gpu_nvme_io.h"
#include "perf_cuda_host.h"

struct fgn_emu {
	struct pc_ctrl ctrl;
	int opened;
	struct aisio_mem_region *dst;
	struct aisio_nvme_ctrl **nc;
	void *lists_host;
};

static void fgn_emu_close(struct fgn_io *io)
{
	struct fgn_emu *m = io->priv;

	if (!m)
		return;
	aisio_gpu_qset_delete(io->qs);
	io->qs = NULL;
	free(m->nc);
	if (m->lists_host)
		aisio_gpu_host_free(m->lists_host);
	aisio_mem_region_release(m->dst);
	if (m->opened)
		pc_ctrls_close(&m->ctrl, 1);
	free(m);
	io->priv = NULL;
}

int fgn_emu_open(struct fil_run *r, size_t len, struct fgn_io *io)
{
	const struct fil_opts *o = r->o;
	const uint32_t nq = o->threads, tpq = o->qd;
	struct pc_ctrl_cfg cfg = { .queues = nq, .depth = tpq + 1, .dma = PC_DMA_GPU, .gpu = 0 };
	char *uri = (char *)o->target;
	struct fgn_emu *m = calloc(1, sizeof(*m));
	void *lists_dev = NULL;
	int err;

	memset(io, 0, sizeof(*io));
	if (!m)
		return fil_fail(r, -ENOMEM, "out of memory");
	io->priv = m;
	io->close = fgn_emu_close;
	io->via = "emu";
	/* the model the tables came from (the decoder's index is kept in memory): closed, its threads gone */
	aisio_dev_close(r->dev);
	r->dev = NULL;
	/* the model on the same image, moving data for GPU memory with the copy engines */
	if (pc_ctrls_open(&uri, 1, 1, &cfg, &m->ctrl)) {
		err = fil_fail(r, -EINVAL, "%s: cannot open the device model for GPU queues (the reason is above)",
			       o->target);
		goto fail;
	}
	m->opened = 1;
	if (aisio_gpu_region_alloc(0, len, &m->dst)) {
		err = fil_fail(r, -ENOMEM, "GPU memory for the dataset: %s", aisio_errmsg());
		goto fail;
	}
	if (pc_ctrls_add_gpu(&m->ctrl, 1, m->dst)) {
		err = fil_fail(r, -EINVAL, "the dataset buffer in the model's DMA (the reason is above)");
		goto fail;
	}
	if (aisio_gpu_host_alloc((size_t)nq * tpq << m->ctrl.page_shift, &m->lists_host, &lists_dev)) {
		err = fil_fail(r, -ENOMEM, "PRP list pages: %s", aisio_errmsg());
		goto fail;
	}
	m->nc = pc_ctrls_nc(&m->ctrl, 1);
	if (!m->nc || aisio_gpu_qset_create(m->nc, 1, 0, nq, tpq + 1, tpq, &io->qs)) {
		err = fil_fail(r, -ENOMEM, "%u GPU queues of %u entries: %s", nq, tpq + 1, aisio_errmsg());
		goto fail;
	}
	io->dst = (char *)m->dst->va;
	io->dst_bus = aisio_mem_bus(m->dst, m->dst->va);
	io->lists = lists_dev;
	io->lists_bus = (uint64_t)(uintptr_t)m->lists_host;
	io->nsid = m->ctrl.nsid;
	io->lba_shift = m->ctrl.lba_shift;
	io->page_shift = m->ctrl.page_shift;
	io->max_xfer = m->ctrl.max_xfer;
	return 0;
fail:
	fgn_emu_close(io);
	return err;
}
