/* SPDX-License-Identifier: MIT */
/*
 * Device-initiated I/O in a few lines: every GPU thread reads its own
 * 4 KiB block from the namespace into GPU memory and checks its status.
 *
 * Host side (src/gpu/gpu.h), for a controller @ctrl brought up by the
 * user-space driver and a GPU region @buf (aisio_gpu_region_alloc):
 *
 *   struct aisio_gpu_qp *q;
 *   aisio_gpu_qp_create(ctrl, 0, 1024, 0, &q);        // 1023 CIDs
 *   example_read<<<nthreads / 128, 128>>>(aisio_gpu_qp_dev(q), nsid,
 *           aisio_mem_bus(buf, buf->va), status);
 *
 * Each thread owns CID = its index, so completions are matched to the
 * thread that submitted them whatever order the controller finishes in;
 * the warp's commands share one doorbell write.
 */
#include <aisio/cuda.h>

#include "nvme/cmd.h"

__global__ void example_read(struct aisio_cuda_qp *q, uint32_t nsid, uint64_t buf_bus, int *status)
{
	const uint32_t tid = blockIdx.x * blockDim.x + threadIdx.x;
	struct aisio_nvme_sqe cmd;

	if (tid >= q->ncid)
		return;
	aisio_nvme_cmd_read(&cmd, nsid, (uint64_t)tid * 8, 8); /* 8 x 512-byte LBAs */
	aisio_cuda_cmd_prp(&cmd, buf_bus + (uint64_t)tid * 4096, 0);
	cmd.cid = (uint16_t)tid;
	aisio_cuda_submit(q, &cmd, 1);
	/* 0, an NVMe status (SCT << 8 | SC) or AISIO_CUDA_ETIMEDOUT after 1 s of GPU time */
	status[tid] = aisio_cuda_wait(q, (uint16_t)tid, 1000000000ull);
}
