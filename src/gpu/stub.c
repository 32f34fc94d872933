/* SPDX-License-Identifier: MIT */
/* The GPU paths in a build without CUDA: every call says so. */
#include <errno.h>
#include <string.h>

#include "gpu/gpu.h"
#include "util/err.h"

#define NOT_BUILT() aisio_err(-ENOTSUP, "this aisio was built without CUDA (nvcc was not found at configure time); " \
					"rebuild with nvcc available (meson -Dcuda=enabled) to use GPUs")

int aisio_gpu_built(void)
{
	return 0;
}

int aisio_gpu_count(int *n)
{
	*n = 0;
	return NOT_BUILT();
}

const char *aisio_gpu_name(int gpu)
{
	return "";
}

int aisio_gpu_select(int gpu)
{
	return NOT_BUILT();
}

int aisio_gpu_region_alloc(int gpu, size_t len, struct aisio_mem_region **out)
{
	*out = NULL;
	return NOT_BUILT();
}

int aisio_gpu_region_dmabuf_fd(const struct aisio_mem_region *r)
{
	return -1;
}

int aisio_gpu_host_alloc(size_t len, void **host, void **dev)
{
	*host = *dev = NULL;
	return NOT_BUILT();
}

void aisio_gpu_host_free(void *host)
{
}

int aisio_gpu_map_host(volatile void *p, size_t len, void **dev)
{
	*dev = NULL;
	return NOT_BUILT();
}

void aisio_gpu_unmap_host(volatile void *p)
{
}

int aisio_gpu_dma_create(int gpu, struct aisio_gpu_dma **out)
{
	*out = NULL;
	return NOT_BUILT();
}

void aisio_gpu_dma_destroy(struct aisio_gpu_dma *d)
{
}

int aisio_gpu_dma_add_gpu(struct aisio_gpu_dma *d, uint64_t va, size_t len)
{
	return NOT_BUILT();
}

const struct aisio_emu_dma *aisio_gpu_dma_ops(struct aisio_gpu_dma *d)
{
	return NULL;
}

void aisio_gpu_dma_stats(struct aisio_gpu_dma *d, struct aisio_gpu_dma_stats *st)
{
	memset(st, 0, sizeof(*st));
}

int aisio_gpu_qp_create(struct aisio_nvme_ctrl *c, int gpu, uint32_t depth, uint32_t ncid,
			struct aisio_gpu_qp **out)
{
	*out = NULL;
	return NOT_BUILT();
}

void aisio_gpu_qp_delete(struct aisio_gpu_qp *q)
{
}

void aisio_gpu_qp_stop(struct aisio_gpu_qp *q)
{
}

struct aisio_cuda_qp *aisio_gpu_qp_dev(struct aisio_gpu_qp *q)
{
	return NULL;
}

uint16_t aisio_gpu_qp_qid(const struct aisio_gpu_qp *q)
{
	return 0;
}

int aisio_gpu_qp_snapshot(struct aisio_gpu_qp *q, struct aisio_cuda_qp *out)
{
	return NOT_BUILT();
}

int aisio_gpu_qset_create(struct aisio_nvme_ctrl *const *ctrls, int nctrls, int gpu, uint32_t nq, uint32_t depth,
			  uint32_t ncid, struct aisio_gpu_qset **out)
{
	*out = NULL;
	return NOT_BUILT();
}

int aisio_gpu_qset_create_homi(struct aisio_dev *const *devs, int ndevs, int gpu, uint32_t nq, uint32_t depth,
			       uint32_t ncid, struct aisio_gpu_qset **out)
{
	*out = NULL;
	return NOT_BUILT();
}

int aisio_gpu_qp_create_homi(struct aisio_dev *dev, int gpu, uint32_t depth, uint32_t ncid,
			     struct aisio_gpu_qp **out)
{
	*out = NULL;
	return NOT_BUILT();
}

int aisio_gpu_map_io(volatile void *p, size_t len, void **dev)
{
	*dev = NULL;
	return NOT_BUILT();
}

void aisio_gpu_qset_delete(struct aisio_gpu_qset *s)
{
}

struct aisio_cuda_qp **aisio_gpu_qset_dev(struct aisio_gpu_qset *s)
{
	return NULL;
}

uint32_t aisio_gpu_qset_count(const struct aisio_gpu_qset *s)
{
	return 0;
}

struct aisio_gpu_qp *aisio_gpu_qset_qp(struct aisio_gpu_qset *s, uint32_t i)
{
	return NULL;
}

int aisio_gpu_qset_stats(struct aisio_gpu_qset *s, struct aisio_gpu_qset_stats *st)
{
	memset(st, 0, sizeof(*st));
	return NOT_BUILT();
}

int aisio_gpu_dma_remove_gpu(struct aisio_gpu_dma *d, uint64_t va)
{
	return NOT_BUILT();
}

void aisio_gpu_dma_set_host_map(struct aisio_gpu_dma *d, void *(*map)(void *ctx, uint64_t bus, size_t len),
				void *ctx)
{
}

int aisio_gpu_ipc_export(void *ptr, uint8_t handle[AISIO_GPU_IPC_HANDLE_LEN], size_t *alloc_len)
{
	*alloc_len = 0;
	return NOT_BUILT();
}

int aisio_gpu_ipc_open(int gpu, const uint8_t handle[AISIO_GPU_IPC_HANDLE_LEN], size_t len, void **ptr)
{
	*ptr = NULL;
	return NOT_BUILT();
}

void aisio_gpu_ipc_close(void *ptr)
{
}

int aisio_gpu_homi_mem_reg(struct aisio_dev *dev, void *ptr, size_t len, uint32_t *mem_id, uint64_t *bus)
{
	*mem_id = 0;
	*bus = 0;
	return NOT_BUILT();
}

int aisio_gpu_homi_mem_unreg(struct aisio_dev *dev, uint32_t mem_id)
{
	return NOT_BUILT();
}
