/* SPDX-License-Identifier: MIT */
/*
 * GPU memory as a DMA region: cuMemAlloc, exported as a dma-buf with
 * cuMemGetHandleForAddressRange. With the dma-buf importer loaded, the
 * region's bus addresses are the importer's DMA segments (a real controller
 * can write GPU memory); without it they are the GPU virtual addresses,
 * which the device model's GPU DMA provider understands. CUDA's unified
 * address space keeps those apart from host addresses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cuda.h>
#include <cuda_runtime_api.h>

#include "gpu/gpu.h"
#include "gpu/rt.h"
#include "mem/dmabuf.h"
#include "util/err.h"

#define GPU_CHUNK_SHIFT 16 /* GPU pages are 64 KiB */

typedef CUresult (*pfn_mem_alloc)(CUdeviceptr *, size_t);
typedef CUresult (*pfn_mem_free)(CUdeviceptr);
typedef CUresult (*pfn_get_handle)(void *, CUdeviceptr, size_t, CUmemRangeHandleType, unsigned long long);

struct gpu_region {
	struct aisio_mem_region r;
	CUdeviceptr ptr;
	int gpu;
	int fd;                           /* exported dma-buf, -1 if none */
	struct aisio_mem_region *import;  /* importer's view, when loaded */
	uint64_t bus[];
};

void *aisio_gpu_driver_fn(const char *name)
{
	void *fn = NULL;
	enum cudaDriverEntryPointQueryResult q;

	if (cudaGetDriverEntryPointByVersion(name, &fn, 12000, cudaEnableDefault, &q) != cudaSuccess ||
	    q != cudaDriverEntryPointSuccess)
		return NULL;
	return fn;
}

static void gpu_region_release(struct aisio_mem_region *r)
{
	struct gpu_region *g = (struct gpu_region *)r;
	pfn_mem_free mem_free = (pfn_mem_free)aisio_gpu_driver_fn("cuMemFree");

	aisio_mem_region_release(g->import);
	if (g->fd >= 0)
		close(g->fd);
	if (mem_free && g->ptr) {
		cudaSetDevice(g->gpu);
		mem_free(g->ptr);
	}
	free(g);
}

static const struct aisio_mem_region_ops gpu_region_ops = {
	.release = gpu_region_release,
};

int aisio_gpu_region_alloc(int gpu, size_t len, struct aisio_mem_region **out)
{
	pfn_mem_alloc mem_alloc;
	pfn_get_handle get_handle;
	struct gpu_region *g;
	size_t nchunks;
	CUresult cr;
	int err;

	*out = NULL;
	if (!len)
		return aisio_err(-EINVAL, "GPU region: length is 0");
	err = aisio_gpu_select(gpu);
	if (err)
		return err;
	cudaFree(0); /* make the primary context current for the driver API */
	mem_alloc = (pfn_mem_alloc)aisio_gpu_driver_fn("cuMemAlloc");
	get_handle = (pfn_get_handle)aisio_gpu_driver_fn("cuMemGetHandleForAddressRange");
	if (!mem_alloc)
		return aisio_err(-ENODEV, "GPU region: the CUDA driver has no cuMemAlloc");
	len = (len + ((size_t)1 << GPU_CHUNK_SHIFT) - 1) & ~(((size_t)1 << GPU_CHUNK_SHIFT) - 1);
	nchunks = len >> GPU_CHUNK_SHIFT;
	g = calloc(1, sizeof(*g) + nchunks * sizeof(uint64_t));
	if (!g)
		return aisio_err(-ENOMEM, "GPU region: out of host memory for the chunk table");
	g->fd = -1;
	g->gpu = gpu;
	cr = mem_alloc(&g->ptr, len);
	if (cr != CUDA_SUCCESS) {
		free(g);
		return aisio_err(cr == CUDA_ERROR_OUT_OF_MEMORY ? -ENOMEM : -EIO,
				 "GPU region: cuMemAlloc of %zu bytes on GPU %d failed (CUresult %d)", len, gpu, (int)cr);
	}
	if (get_handle) {
		int fd = -1;
		cr = get_handle(&fd, g->ptr, len, CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD, 0);
		if (cr == CUDA_SUCCESS)
			g->fd = fd;
	}
	for (size_t i = 0; i < nchunks; i++)
		g->bus[i] = (uint64_t)g->ptr + ((uint64_t)i << GPU_CHUNK_SHIFT);
	g->r.chunk_shift = GPU_CHUNK_SHIFT;
	if (g->fd >= 0 && aisio_mem_dmabuf_available()) {
		struct aisio_mem_dmabuf_opts o = {
			.va = (void *)(uintptr_t)g->ptr,
			.kind = AISIO_MEM_GPU,
			.gpu = gpu,
		};
		err = aisio_mem_dmabuf_import(g->fd, &o, &g->import);
		if (err) {
			gpu_region_release(&g->r);
			return err;
		}
		/* Same span, the importer's translation. */
		g->r.chunk_shift = g->import->chunk_shift;
		g->r.bus = g->import->bus;
	} else {
		g->r.bus = g->bus;
	}
	g->r.va = (uint8_t *)(uintptr_t)g->ptr;
	g->r.len = len;
	g->r.kind = AISIO_MEM_GPU;
	g->r.gpu = gpu;
	g->r.ops = &gpu_region_ops;
	g->r.priv = g;
	g->r.name = g->import ? "cuda-dmabuf" : "cuda";
	*out = &g->r;
	return 0;
}

int aisio_gpu_region_dmabuf_fd(const struct aisio_mem_region *r)
{
	if (!r || r->ops != &gpu_region_ops)
		return -1;
	return ((const struct gpu_region *)r)->fd;
}
