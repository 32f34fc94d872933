/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path gpu: the device-side check. Every byte that landed in
 * GPU memory is compared with include/aisio/pattern.h, computed on the GPU,
 * so verification costs no copy back to the host.
 */
#include <cuda_runtime.h>

#include <aisio/pattern.h>

#include "fil_gpu.h"

__global__ void fil_verify_kernel(const uint8_t *dst, const struct fil_gpu_seg *segs, uint64_t nseg,
				  struct fil_gpu_bad *bad)
{
	for (uint64_t s = blockIdx.x; s < nseg; s += gridDim.x) {
		const struct fil_gpu_seg g = segs[s];
		const uint8_t *p = dst + g.dst_off;
		const uint64_t *w = (const uint64_t *)p; /* dst_off and file_off are multiples of 8 */
		const uint32_t nw = g.len / 8;
		unsigned long long nbad = 0;

		for (uint32_t i = threadIdx.x; i < nw; i += blockDim.x) {
			const uint64_t want = aisio_pattern_word(g.seed, g.file_off / 8 + i);
			const uint64_t got = w[i];

			if (got != want) {
				uint32_t b = 0;

				while (!(((got ^ want) >> (8 * b)) & 0xff))
					b++;
				atomicMin(&bad->key, (unsigned long long)(s * FIL_GPU_SEG_MAX + 8ull * i + b));
				nbad++;
			}
		}
		for (uint32_t i = nw * 8 + threadIdx.x; i < g.len; i += blockDim.x)
			if (p[i] != aisio_pattern_byte(g.seed, g.file_off + i)) {
				atomicMin(&bad->key, (unsigned long long)(s * FIL_GPU_SEG_MAX + i));
				nbad++;
			}
		if (nbad)
			atomicAdd(&bad->count, nbad);
	}
}

extern "C" int fil_gpu_verify_launch(const void *dst, const struct fil_gpu_seg *segs, uint64_t nseg,
				     struct fil_gpu_bad *bad, cudaStream_t st)
{
	int dev = 0, sms = 0;
	uint64_t grid;

	cudaGetDevice(&dev);
	cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
	grid = (uint64_t)(sms > 0 ? sms : 1) * 16;
	if (grid > nseg)
		grid = nseg ? nseg : 1;
	fil_verify_kernel<<<(unsigned)grid, 256, 0, st>>>((const uint8_t *)dst, segs, nseg, bad);
	return (int)cudaGetLastError();
}

/* Zero-copy: every load crosses PCIe from the mapped host pages, 16 bytes a thread. */
__global__ void fil_zcopy_kernel(uint4 *dst, const uint4 *src, uint64_t n)
{
	for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n;
	     i += (uint64_t)gridDim.x * blockDim.x)
		dst[i] = src[i];
}

extern "C" int fil_gpu_zcopy_launch(void *dst, const void *src, uint64_t len, cudaStream_t st)
{
	int dev = 0, sms = 0;

	cudaGetDevice(&dev);
	cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
	fil_zcopy_kernel<<<(unsigned)(sms > 0 ? sms : 1) * 8, 512, 0, st>>>((uint4 *)dst, (const uint4 *)src,
									     len / 16);
	return (int)cudaGetLastError();
}

/*
 * --stage-copy kernel: the persistent copy kernel, one block a staging slot
 * (fil_gpu.h has the protocol). The slot's bytes are loaded from mapped host
 * memory over PCIe with ld.global.cv: a slot is refilled between
 * publications, so no line cached from an earlier one may be used.
 */
__device__ static void kcopy_bytes(char *d, const char *src, uint64_t len)
{
	const uint64_t T = blockDim.x;
	uint64_t i = threadIdx.x, body = 0;

	if (!(((uintptr_t)d | (uintptr_t)src) & 15)) {
		const uint4 *a = (const uint4 *)src;
		uint4 *b = (uint4 *)d;
		const uint64_t n = len / 16;

		for (; i + 3 * T < n; i += 4 * T) {
			const uint4 x0 = __ldcv(a + i), x1 = __ldcv(a + i + T), x2 = __ldcv(a + i + 2 * T),
				    x3 = __ldcv(a + i + 3 * T);

			b[i] = x0;
			b[i + T] = x1;
			b[i + 2 * T] = x2;
			b[i + 3 * T] = x3;
		}
		for (; i < n; i += T)
			b[i] = __ldcv(a + i);
		body = n * 16;
	}
	for (uint64_t j = body + threadIdx.x; j < len; j += T)
		d[j] = __ldcv(src + j);
}

__global__ void __launch_bounds__(FIL_GPU_KCOPY_THREADS)
	fil_kcopy_kernel(struct fil_gpu_kslot *slots, const char *bufs, uint64_t slot_bytes, char *dst)
{
	__shared__ unsigned long long seq, off, len;
	volatile struct fil_gpu_kslot *s = &slots[blockIdx.x];
	const char *src = bufs + blockIdx.x * slot_bytes;
	unsigned long long seen = 0;

	for (;;) {
		if (threadIdx.x == 0) {
			unsigned long long v;

			while ((v = s->seq) == seen)
				__nanosleep(256);
			__threadfence_system(); /* the sequence first, then what it publishes */
			seq = v;
			off = s->dst_off;
			len = s->len;
		}
		__syncthreads();
		if (seq == FIL_GPU_KSLOT_STOP)
			return;
		kcopy_bytes(dst + off, src, len);
		seen = seq;
		__syncthreads(); /* every load of the slot has returned, every store is issued */
		if (threadIdx.x == 0) {
			__threadfence_system();
			s->done = seen; /* handed back */
		}
	}
}

extern "C" int fil_gpu_kcopy_blocks(int *blocks)
{
	int dev = 0, sms = 0, per = 0;
	cudaError_t e = cudaGetDevice(&dev);

	if (e == cudaSuccess)
		e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
	if (e == cudaSuccess)
		e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per, fil_kcopy_kernel, FIL_GPU_KCOPY_THREADS, 0);
	*blocks = e == cudaSuccess ? per * sms : 0;
	return (int)e;
}

extern "C" int fil_gpu_kcopy_launch(struct fil_gpu_kslot *slots, uint32_t nslots, const char *bufs,
				    uint64_t slot_bytes, char *dst, cudaStream_t st)
{
	fil_kcopy_kernel<<<nslots, FIL_GPU_KCOPY_THREADS, 0, st>>>(slots, bufs, slot_bytes, dst);
	return (int)cudaGetLastError();
}
