/* SPDX-License-Identifier: MIT */
/* aisio fil, gpu path: what the host side and the check kernel share. */
#ifndef AISIO_TOOLS_FIL_GPU_H
#define AISIO_TOOLS_FIL_GPU_H

#include <stddef.h>
#include <stdint.h>

#include <cuda_runtime_api.h>

/* Largest piece of a file one segment of the check covers. */
#define FIL_GPU_SEG_MAX (1ull << 20)

/* [file_off, file_off + len) of the file with pattern seed @seed, at dst + dst_off. */
struct fil_gpu_seg {
	uint64_t dst_off;
	uint64_t file_off;
	uint64_t seed;
	uint32_t len;
	uint32_t file;
};

/* The first mismatch: key = segment * FIL_GPU_SEG_MAX + byte in segment (~0: none). */
struct fil_gpu_bad {
	unsigned long long key;
	unsigned long long count; /* mismatching words (and tail bytes) */
};

#ifdef __cplusplus
extern "C" {
#endif
struct fil_run;
struct aisio_dev;
/* The check kernel over everything that landed at @dst (the run's layout); fills r->bad*. 0 or -errno. */
int fil_gpu_verify(struct fil_run *r, char *dst, cudaStream_t st);
/*
 * Register the GPU allocation that starts at @ptr (@len bytes) with homid for
 * the session of homi: device @dev (GPU_MEM_REG): *@mem_id for
 * fil_gpu_mem_unreg, *@bus its device address. Returns 0 or -errno with
 * aisio_errmsg(). (tests/fil/cuda_mock has its own: shared memory, MEM_REG.)
 */
int fil_gpu_mem_reg(struct aisio_dev *dev, void *ptr, size_t len, uint32_t *mem_id, uint64_t *bus);
int fil_gpu_mem_unreg(struct aisio_dev *dev, uint32_t mem_id);

/* Queue the check of @nseg segments (device memory) on @st. Returns a cudaError_t. */
int fil_gpu_verify_launch(const void *dst, const struct fil_gpu_seg *segs, uint64_t nseg,
			  struct fil_gpu_bad *bad, cudaStream_t st);
/* Queue a copy by GPU threads of @len bytes (a multiple of 16) from @src, host memory mapped
 * for the GPU (cudaHostGetDevicePointer), to @dst on @st. Returns a cudaError_t. */
int fil_gpu_zcopy_launch(void *dst, const void *src, uint64_t len, cudaStream_t st);
#ifdef __cplusplus
}
#endif

#endif
