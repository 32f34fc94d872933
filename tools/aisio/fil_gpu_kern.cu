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
