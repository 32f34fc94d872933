/* SPDX-License-Identifier: MIT */
/*
 * CUDA runtime basics: GPU discovery and host memory the GPU can reach.
 * The runtime is linked statically and loads the driver (libcuda.so.1) at
 * the first call, so aisio starts on machines without one and says so.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "gpu/gpu.h"
#include "gpu/rt.h"
#include "util/err.h"

int aisio_gpu_built(void)
{
	return 1;
}

int aisio_gpu_cuda_err(cudaError_t e, const char *what)
{
	int err;

	switch (e) {
	case cudaErrorMemoryAllocation:
		err = -ENOMEM;
		break;
	case cudaErrorInvalidValue:
		err = -EINVAL;
		break;
	case cudaErrorHostMemoryAlreadyRegistered:
		err = -EBUSY;
		break;
	case cudaErrorNoDevice:
	case cudaErrorInsufficientDriver:
	case cudaErrorInvalidDevice:
		err = -ENODEV;
		break;
	default:
		err = -EIO;
	}
	return aisio_err(err, "%s: %s (CUDA error %d)", what, cudaGetErrorString(e), (int)e);
}

/*
 * Streams share CUDA_DEVICE_MAX_CONNECTIONS hardware work queues (8 by
 * default). Work queued behind a running persistent kernel in the same
 * queue waits for that kernel to end, so a copy the kernel waits for would
 * stall it (emu_dma.c). Ask for the most, 32, unless the user chose; it
 * applies only when aisio is the first to start CUDA in the process.
 */
static void connections_env(void)
{
	setenv("CUDA_DEVICE_MAX_CONNECTIONS", "32", 0);
}

int aisio_gpu_count(int *n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int count = 0;

	pthread_once(&once, connections_env);
	cudaError_t e = cudaGetDeviceCount(&count);

	*n = 0;
	if (e == cudaErrorInsufficientDriver) {
		void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
		if (!h)
			return aisio_err(-ENODEV, "no usable GPU: the NVIDIA driver library (libcuda.so.1) is not "
						  "installed on this machine; the GPU paths need an NVIDIA GPU and its driver");
		dlclose(h);
	}
	if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice)
		return aisio_err(-ENODEV, "no usable GPU: %s (CUDA error %d); the GPU paths need an NVIDIA GPU and its driver",
				 cudaGetErrorString(e), (int)e);
	if (e != cudaSuccess)
		return aisio_gpu_cuda_err(e, "cannot count GPUs");
	if (!count)
		return aisio_err(-ENODEV, "no usable GPU: the CUDA driver reports none");
	*n = count;
	return 0;
}

int aisio_gpu_select(int gpu)
{
	int n, err = aisio_gpu_count(&n);

	if (err)
		return err;
	if (gpu < 0 || gpu >= n)
		return aisio_err(-ENODEV, "GPU %d does not exist (this host has %d)", gpu, n);
	cudaError_t e = cudaSetDevice(gpu);
	if (e != cudaSuccess)
		return aisio_gpu_cuda_err(e, "cannot select the GPU");
	/*
	 * Host threads that wait for the GPU sleep instead of spinning: on a
	 * GPU host the cores belong to the device model's controller threads.
	 * Fails harmlessly once the context exists.
	 */
	if (cudaSetDeviceFlags(cudaDeviceScheduleBlockingSync) != cudaSuccess)
		cudaGetLastError();
	return 0;
}

const char *aisio_gpu_name(int gpu)
{
	static __thread struct cudaDeviceProp prop;

	if (cudaGetDeviceProperties(&prop, gpu) != cudaSuccess)
		return "";
	return prop.name;
}

/*
 * cudaHostAlloc sub-allocates small requests, but queue memory must be
 * page aligned: over-allocate by a page, align, and keep the original
 * pointer just below the aligned one.
 */
int aisio_gpu_host_alloc(size_t len, void **host, void **dev)
{
	const size_t pg = 4096;
	cudaError_t e;
	void *h = NULL, *d = NULL;
	uint8_t *a;

	*host = *dev = NULL;
	if (!len)
		return aisio_err(-EINVAL, "pinned host memory: length is 0");
	len = (len + pg - 1) & ~(pg - 1);
	e = cudaHostAlloc(&h, len + pg, cudaHostAllocMapped | cudaHostAllocPortable);
	if (e != cudaSuccess)
		return aisio_gpu_cuda_err(e, "cannot allocate pinned GPU-mapped host memory");
	e = cudaHostGetDevicePointer(&d, h, 0);
	if (e != cudaSuccess) {
		cudaFreeHost(h);
		return aisio_gpu_cuda_err(e, "cannot map pinned host memory into the GPU");
	}
	a = (uint8_t *)(((uintptr_t)h + sizeof(void *) + pg - 1) & ~(uintptr_t)(pg - 1));
	((void **)a)[-1] = h;
	memset(a, 0, len);
	*host = a;
	*dev = (uint8_t *)d + (a - (uint8_t *)h);
	return 0;
}

void aisio_gpu_host_free(void *host)
{
	if (host)
		cudaFreeHost(((void **)host)[-1]);
}

int aisio_gpu_map_host(volatile void *p, size_t len, void **dev)
{
	uintptr_t pg = 4096, a = (uintptr_t)p & ~(pg - 1);
	size_t l = (((uintptr_t)p + len + pg - 1) & ~(pg - 1)) - a;
	void *d = NULL;
	cudaError_t e;

	*dev = NULL;
	if (!p || !len)
		return aisio_err(-EINVAL, "map host memory into the GPU: empty range");
	e = cudaHostRegister((void *)a, l, cudaHostRegisterMapped | cudaHostRegisterPortable);
	if (e != cudaSuccess)
		return aisio_gpu_cuda_err(e, "cannot map host memory (controller registers) into the GPU");
	e = cudaHostGetDevicePointer(&d, (void *)a, 0);
	if (e != cudaSuccess) {
		cudaHostUnregister((void *)a);
		return aisio_gpu_cuda_err(e, "cannot get the GPU address of registered host memory");
	}
	*dev = (uint8_t *)d + ((uintptr_t)p - a);
	return 0;
}

int aisio_gpu_map_io(volatile void *p, size_t len, void **dev)
{
	uintptr_t pg = 4096, a = (uintptr_t)p & ~(pg - 1);
	size_t l = (((uintptr_t)p + len + pg - 1) & ~(pg - 1)) - a;
	void *d = NULL;
	cudaError_t e;

	*dev = NULL;
	if (!p || !len)
		return aisio_err(-EINVAL, "map device registers into the GPU: empty range");
	e = cudaHostRegister((void *)a, l, cudaHostRegisterMapped | cudaHostRegisterPortable | cudaHostRegisterIoMemory);
	if (e != cudaSuccess)
		return aisio_gpu_cuda_err(e, "cannot map the controller's doorbells (device memory) into the GPU");
	e = cudaHostGetDevicePointer(&d, (void *)a, 0);
	if (e != cudaSuccess) {
		cudaHostUnregister((void *)a);
		return aisio_gpu_cuda_err(e, "cannot get the GPU address of the controller's doorbells");
	}
	*dev = (uint8_t *)d + ((uintptr_t)p - a);
	return 0;
}

void aisio_gpu_unmap_host(volatile void *p)
{
	if (p)
		cudaHostUnregister((void *)((uintptr_t)p & ~(uintptr_t)4095));
}
