/* SPDX-License-Identifier: MIT */
/*
 * GPU memory shared between processes: a client exports its allocation as
 * a CUDA IPC handle and registers it with homid (GPU_MEM_REG), homid opens
 * it in its own CUDA context, and its device model's copy engines move data
 * straight into it (docs/homi.md, "GPU clients").
 */
#include <errno.h>
#include <string.h>

#include <cuda.h>
#include <cuda_runtime_api.h>

#include <aisio/aisio.h>

#include "gpu/gpu.h"
#include "gpu/rt.h"
#include "homi/client.h"
#include "util/err.h"

_Static_assert(sizeof(cudaIpcMemHandle_t) == AISIO_GPU_IPC_HANDLE_LEN, "CUDA IPC handle size");
_Static_assert(AISIO_GPU_IPC_HANDLE_LEN == AISIO_HOMI_GPU_HANDLE_LEN, "homi GPU handle size");

typedef CUresult (*pfn_addr_range)(CUdeviceptr *, size_t *, CUdeviceptr);

/* The allocation holding @p: its start and size. Returns 0 or -EINVAL (@what says whose). */
static int alloc_range(const void *p, CUdeviceptr *base, size_t *len, const char *what)
{
	pfn_addr_range range = (pfn_addr_range)aisio_gpu_driver_fn("cuMemGetAddressRange");

	if (!range)
		return aisio_err(-ENOTSUP, "the CUDA driver has no cuMemGetAddressRange");
	if (range(base, len, (CUdeviceptr)(uintptr_t)p) != CUDA_SUCCESS)
		return aisio_err(-EINVAL, "%p is not %s (cuMemGetAddressRange refuses it)", p, what);
	return 0;
}

int aisio_gpu_ipc_export(void *ptr, uint8_t handle[AISIO_GPU_IPC_HANDLE_LEN], size_t *alloc_len)
{
	cudaIpcMemHandle_t h;
	CUdeviceptr base;
	cudaError_t e;
	int err;

	*alloc_len = 0;
	err = alloc_range(ptr, &base, alloc_len, "GPU memory of this process");
	if (err)
		return err;
	if ((uintptr_t)base != (uintptr_t)ptr)
		return aisio_err(-EINVAL, "GPU memory at %p: give the start of the allocation (%p); a CUDA IPC "
				 "handle names the whole allocation", ptr, (void *)(uintptr_t)base);
	e = cudaIpcGetMemHandle(&h, ptr);
	if (e != cudaSuccess)
		return aisio_gpu_cuda_err(e, "cannot export GPU memory as a CUDA IPC handle (cudaIpcGetMemHandle)");
	memcpy(handle, &h, sizeof(h));
	return 0;
}

int aisio_gpu_ipc_open(int gpu, const uint8_t handle[AISIO_GPU_IPC_HANDLE_LEN], size_t len, void **ptr)
{
	cudaIpcMemHandle_t h;
	CUdeviceptr base;
	size_t have = 0;
	void *p = NULL;
	cudaError_t e;
	int err;

	*ptr = NULL;
	err = aisio_gpu_select(gpu);
	if (err)
		return err;
	memcpy(&h, handle, sizeof(h));
	e = cudaIpcOpenMemHandle(&p, h, cudaIpcMemLazyEnablePeerAccess);
	if (e != cudaSuccess) {
		const char *why = cudaGetErrorString(e);

		cudaGetLastError();
		return aisio_err(e == cudaErrorMemoryAllocation ? -ENOMEM : -EINVAL,
				 "the CUDA IPC handle cannot be opened: %s (CUDA error %d); it must come from "
				 "cudaIpcGetMemHandle of a live allocation of a process on this host", why, (int)e);
	}
	err = alloc_range(p, &base, &have, "an opened GPU allocation whose size can be checked");
	if (!err && have < len)
		err = aisio_err(-EINVAL, "the GPU allocation holds %zu bytes, fewer than the %zu registered", have,
				len);
	if (err) {
		cudaIpcCloseMemHandle(p);
		return err;
	}
	*ptr = p;
	return 0;
}

void aisio_gpu_ipc_close(void *ptr)
{
	if (ptr && cudaIpcCloseMemHandle(ptr) != cudaSuccess)
		cudaGetLastError();
}

int aisio_gpu_homi_mem_reg(struct aisio_dev *dev, void *ptr, size_t len, uint32_t *mem_id, uint64_t *bus)
{
	struct aisio_homi_gpu_mem_reg req;
	struct aisio_homi_mem_reg_reply rep;
	struct aisio_homi_session hs;
	size_t alloc_len;
	int err;

	*mem_id = 0;
	*bus = 0;
	err = aisio_homi_session_of(dev, &hs);
	if (err)
		return err;
	memset(&req, 0, sizeof(req));
	err = aisio_gpu_ipc_export(ptr, req.handle, &alloc_len);
	if (err)
		return err;
	if (!len || len > alloc_len)
		return aisio_err(-EINVAL, "GPU memory registration: %zu bytes of a %zu-byte allocation", len,
				 alloc_len);
	req.kind = AISIO_HOMI_GPU_CUDA_IPC;
	req.len = len;
	err = aisio_homi_call(hs.conn, AISIO_HOMI_GPU_MEM_REG, &req, sizeof(req), -1, &rep, sizeof(rep), NULL,
			      NULL);
	if (err)
		return err;
	*mem_id = rep.mem_id;
	*bus = rep.bus;
	return 0;
}

int aisio_gpu_homi_mem_unreg(struct aisio_dev *dev, uint32_t mem_id)
{
	struct aisio_homi_mem_unreg u = { .mem_id = mem_id };
	struct aisio_homi_session hs;
	int err = aisio_homi_session_of(dev, &hs);

	if (err)
		return err;
	return aisio_homi_call(hs.conn, AISIO_HOMI_MEM_UNREG, &u, sizeof(u), -1, NULL, 0, NULL, NULL);
}
