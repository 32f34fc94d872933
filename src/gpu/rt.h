/* SPDX-License-Identifier: MIT */
/* Shared by the CUDA-built files of src/gpu/. */
#ifndef AISIO_GPU_RT_H
#define AISIO_GPU_RT_H

#include <cuda_runtime_api.h>

/* Turn a CUDA error into -errno with a message "@what: text (CUDA error N)". */
int aisio_gpu_cuda_err(cudaError_t e, const char *what);

#endif
