/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path gpu-nvme, host side: where the GPU threads' commands
 * go and where their data lands. Two sources of GPU queues: a device model
 * in this process (emu:SIZE,file=IMG) or homid (homi:SOCK,...), whose queue
 * pairs and GPU memory registration perf cuda-run uses too.
 */
#ifndef AISIO_TOOLS_FIL_GPU_NVME_IO_H
#define AISIO_TOOLS_FIL_GPU_NVME_IO_H

#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu.h"

struct fil_run;

struct fgn_io {
	struct aisio_gpu_qset *qs; /* nq queues of tpq + 1 entries, tpq CIDs each */
	char *dst;                 /* the dataset buffer, GPU memory */
	uint64_t dst_bus;          /* its first byte's device address (on a page) */
	uint64_t *lists;           /* PRP list pages, one a GPU thread: GPU address */
	uint64_t lists_bus;        /* their device address */
	uint32_t nsid, lba_shift, page_shift;
	uint32_t max_xfer;         /* bytes a command (MDTS), 0: no limit */
	const char *via;           /* who serves the queues: "emu" or "homid" */
	void *priv;
	void (*close)(struct fgn_io *io); /* queues first, then memory, then the device */
};

/*
 * Open the GPU queues and buffers of --path gpu-nvme on r->o->target, for
 * r->o->threads queues of r->o->qd threads and a dataset buffer of @len
 * bytes. r->dev (the extents' device) is closed first: its queues go back.
 * Returns 0 or -errno with the message in @r; @io->close undoes a success.
 */
int fgn_emu_open(struct fil_run *r, size_t len, struct fgn_io *io);
int fgn_homi_open(struct fil_run *r, size_t len, struct fgn_io *io);

#endif
