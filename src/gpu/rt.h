/* SPDX-License-Identifier: MIT */
/* Shared by the CUDA-built files of src/gpu/. */
#ifndef AISIO_GPU_RT_H
#define AISIO_GPU_RT_H

#include <cuda_runtime_api.h>

/* Turn a CUDA error into -errno with a message "@what: text (CUDA error N)". */
int aisio_gpu_cuda_err(cudaError_t e, const char *what);

/* A CUDA driver API function by name (through the runtime: aisio does not link libcuda), or NULL. */
void *aisio_gpu_driver_fn(const char *name);

#endif
