/* SPDX-License-Identifier: MIT */
/*
 * The CUDA runtime calls of src/gpu/emu_dma.c (the device model's DMA on a
 * GPU host), renamed to a CPU stand-in (mock_dma.c) so that the provider's
 * host logic runs in every build: which copies go straight from the
 * registered namespace store and which through staging, where they split,
 * what is registered and released. Types and constants come from the real
 * header.
 */
#ifndef AISIO_TESTS_MODEL_CUDA_MOCK_H
#define AISIO_TESTS_MODEL_CUDA_MOCK_H
#include_next <cuda_runtime_api.h>
#define F(n) mock_##n
#define aisio_gpu_select F(aisio_gpu_select)
#define cudaEventCreateWithFlags F(cudaEventCreateWithFlags)
#define cudaEventDestroy F(cudaEventDestroy)
#define cudaEventQuery F(cudaEventQuery)
#define cudaEventRecord F(cudaEventRecord)
#define cudaEventSynchronize F(cudaEventSynchronize)
#define cudaFreeHost F(cudaFreeHost)
#define cudaGetLastError F(cudaGetLastError)
#define cudaHostAlloc F(cudaHostAlloc)
#define cudaHostRegister F(cudaHostRegister)
#define cudaHostUnregister F(cudaHostUnregister)
#define cudaMemcpy F(cudaMemcpy)
#define cudaMemcpyAsync F(cudaMemcpyAsync)
#define cudaMemcpyBatchAsync F(cudaMemcpyBatchAsync)
#define cudaSetDevice F(cudaSetDevice)
#define cudaStreamCreateWithFlags F(cudaStreamCreateWithFlags)
#define cudaStreamDestroy F(cudaStreamDestroy)
int mock_aisio_gpu_select(int gpu);
cudaError_t mock_cudaEventCreateWithFlags(cudaEvent_t *e, unsigned f);
cudaError_t mock_cudaEventDestroy(cudaEvent_t e);
cudaError_t mock_cudaEventQuery(cudaEvent_t e);
cudaError_t mock_cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t mock_cudaEventSynchronize(cudaEvent_t e);
cudaError_t mock_cudaFreeHost(void *p);
cudaError_t mock_cudaGetLastError(void);
cudaError_t mock_cudaHostAlloc(void **p, size_t n, unsigned f);
cudaError_t mock_cudaHostRegister(void *p, size_t n, unsigned f);
cudaError_t mock_cudaHostUnregister(void *p);
cudaError_t mock_cudaMemcpy(void *d, const void *s, size_t n, enum cudaMemcpyKind k);
cudaError_t mock_cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k, cudaStream_t st);
cudaError_t mock_cudaMemcpyBatchAsync(void *const *dsts, const void *const *srcs, const size_t *sizes,
				      size_t count, struct cudaMemcpyAttributes *attrs, size_t *attrs_idxs,
				      size_t nattrs, cudaStream_t st);
cudaError_t mock_cudaSetDevice(int d);
cudaError_t mock_cudaStreamCreateWithFlags(cudaStream_t *s, unsigned f);
cudaError_t mock_cudaStreamDestroy(cudaStream_t s);

/* What the stand-in saw (mock_dma.c); the test reads and resets it. */
struct mock_dma_stats {
	long regs, regs_ro, refused, unregs, reg_now; /* cudaHostRegister / Unregister */
	long copies;                                   /* single copies executed */
	long long direct_to_gpu, direct_from_gpu;      /* bytes: host side registered */
	long long staged_to_gpu, staged_from_gpu;      /* bytes: host side in cudaHostAlloc memory */
	long long pageable;                            /* bytes: host side neither (synchronous path) */
	long errors; /* copies across a registration's edge, into read-only pages, not touching "GPU" memory; bad unregistrations */
	long pending; /* copies queued and not yet run */
};
extern struct mock_dma_stats mock_st;
/*
 * 0: registrations succeed; 1: every one refused; 2: read-only ones refused
 * (a driver without cudaHostRegisterReadOnly).
 */
extern int mock_reg_refuse;
/* The range that stands for GPU memory: one side of every copy must lie in it. */
void mock_gpu_range(void *p, size_t n);
/* Run every queued copy (what a wait would do); a test may call it to look early. */
void mock_run_pending(void);
#endif
