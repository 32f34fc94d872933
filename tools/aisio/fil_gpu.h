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

/*
 * --stage-copy kernel: one slot of a staging thread, in mapped pinned memory
 * (cudaHostAllocMapped), read and written by the host and by one block of the
 * persistent copy kernel (fil_gpu_kcopy_launch). The slot's bytes are --stage
 * bytes of a separate mapped buffer. Protocol:
 *   host: wait until done == seq (the block handed the slot back), fill the
 *         buffer, write dst_off and len, then a release store of seq + 1;
 *   GPU:  wait until seq changes, __threadfence_system(), read dst_off and len,
 *         copy len bytes of the buffer to dst + dst_off, __syncthreads(),
 *         __threadfence_system(), store done = seq.
 * seq = FIL_GPU_KSLOT_STOP ends the block; the host stores it only once done
 * == seq, so no publication is lost. seq and done are on separate 64-byte lines.
 */
#define FIL_GPU_KSLOT_STOP (~0ull)
struct fil_gpu_kslot {
	uint64_t seq;     /* host: publications so far, or FIL_GPU_KSLOT_STOP */
	uint64_t dst_off; /* host: where the bytes go in the dataset buffer */
	uint64_t len;     /* host: how many */
	uint64_t rsvd[5];
	uint64_t done;    /* GPU: the seq of the last publication copied */
	uint64_t rsvd2[7];
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
/* Threads a block of the copy kernel has. */
#define FIL_GPU_KCOPY_THREADS 1024
/* How many blocks of the copy kernel can be resident on the current GPU at once (*@blocks).
 * Returns a cudaError_t. */
int fil_gpu_kcopy_blocks(int *blocks);
/* Start the persistent copy kernel on @st: block i serves slot @slots[i] (device pointers of
 * mapped memory) whose bytes are @bufs + i * @slot_bytes, into @dst. Returns a cudaError_t. */
int fil_gpu_kcopy_launch(struct fil_gpu_kslot *slots, uint32_t nslots, const char *bufs, uint64_t slot_bytes,
			 char *dst, cudaStream_t st);
#ifdef __cplusplus
}
#endif

#endif
