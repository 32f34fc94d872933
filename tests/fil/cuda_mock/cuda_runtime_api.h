/* SPDX-License-Identifier: MIT */
/*
 * The CUDA runtime calls of tools/aisio/fil_gpu.c (and of the host side of
 * GPU queues: src/gpu/rt.c, qp.c, qset.c), renamed to a stand-in on the
 * CPU (mock.c): GPU memory is host memory, copies are memcpy, events
 * are complete at once. With it the gpu path's staging, mapping, unit
 * accounting and mismatch reporting run in every CI build, with no GPU.
 * Types and constants come from the real header.
 */
#ifndef AISIO_TESTS_FIL_CUDA_MOCK_H
#define AISIO_TESTS_FIL_CUDA_MOCK_H
#include_next <cuda_runtime_api.h>
#define F(n) mock_##n
#define cudaDeviceGetAttribute F(cudaDeviceGetAttribute)
#define cudaDeviceSynchronize F(cudaDeviceSynchronize)
#define cudaEventCreateWithFlags F(cudaEventCreateWithFlags)
#define cudaEventDestroy F(cudaEventDestroy)
#define cudaEventRecord F(cudaEventRecord)
#define cudaEventSynchronize F(cudaEventSynchronize)
#define cudaFree F(cudaFree)
#define cudaFreeHost F(cudaFreeHost)
#define cudaGetDevice F(cudaGetDevice)
#define cudaGetDeviceCount F(cudaGetDeviceCount)
#undef cudaGetDeviceProperties /* a macro for its _v2 in newer headers */
#define cudaGetDeviceProperties F(cudaGetDeviceProperties)
#define cudaGetLastError F(cudaGetLastError)
#define cudaHostAlloc F(cudaHostAlloc)
#define cudaHostGetDevicePointer F(cudaHostGetDevicePointer)
#define cudaHostRegister F(cudaHostRegister)
#define cudaHostUnregister F(cudaHostUnregister)
#define cudaMalloc F(cudaMalloc)
#define cudaMemGetInfo F(cudaMemGetInfo)
#define cudaMemcpy F(cudaMemcpy)
#define cudaMemcpyAsync F(cudaMemcpyAsync)
#define cudaMemset F(cudaMemset)
#define cudaSetDevice F(cudaSetDevice)
#define cudaSetDeviceFlags F(cudaSetDeviceFlags)
#define cudaStreamCreateWithFlags F(cudaStreamCreateWithFlags)
#define cudaStreamDestroy F(cudaStreamDestroy)
#define cudaStreamSynchronize F(cudaStreamSynchronize)
#define cudaStreamQuery F(cudaStreamQuery)
cudaError_t mock_cudaDeviceGetAttribute(int *v, enum cudaDeviceAttr a, int d);
cudaError_t mock_cudaDeviceSynchronize(void);
cudaError_t mock_cudaEventCreateWithFlags(cudaEvent_t *e, unsigned f);
cudaError_t mock_cudaEventDestroy(cudaEvent_t e);
cudaError_t mock_cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t mock_cudaEventSynchronize(cudaEvent_t e);
cudaError_t mock_cudaFree(void *p);
cudaError_t mock_cudaFreeHost(void *p);
cudaError_t mock_cudaGetDevice(int *d);
cudaError_t mock_cudaGetDeviceCount(int *n);
cudaError_t mock_cudaGetDeviceProperties(struct cudaDeviceProp *p, int d);
cudaError_t mock_cudaGetLastError(void);
cudaError_t mock_cudaHostAlloc(void **p, size_t n, unsigned f);
cudaError_t mock_cudaHostGetDevicePointer(void **d, void *p, unsigned f);
cudaError_t mock_cudaHostRegister(void *p, size_t n, unsigned f);
cudaError_t mock_cudaHostUnregister(void *p);
cudaError_t mock_cudaMalloc(void **p, size_t n);
cudaError_t mock_cudaMemGetInfo(size_t *f, size_t *t);
cudaError_t mock_cudaMemcpy(void *d, const void *s, size_t n, enum cudaMemcpyKind k);
cudaError_t mock_cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k, cudaStream_t st);
cudaError_t mock_cudaMemset(void *p, int v, size_t n);
cudaError_t mock_cudaSetDevice(int d);
cudaError_t mock_cudaSetDeviceFlags(unsigned f);
cudaError_t mock_cudaStreamCreateWithFlags(cudaStream_t *s, unsigned f);
cudaError_t mock_cudaStreamDestroy(cudaStream_t s);
cudaError_t mock_cudaStreamSynchronize(cudaStream_t s);
cudaError_t mock_cudaStreamQuery(cudaStream_t s);

#endif
