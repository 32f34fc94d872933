/* SPDX-License-Identifier: MIT */
/*
 * CPU stand-in for the CUDA runtime calls of src/gpu/emu_dma.c (see
 * cuda_runtime_api.h here). Copies are queued, as on a stream, and run only
 * when an event behind them is waited for, so a completion posted before
 * its copies landed shows as wrong data. Each copy is sorted by where its
 * host side lies: registered pages (direct), cudaHostAlloc memory
 * (staged) or neither (pageable). A copy whose host side runs past the
 * registration it starts in, one that writes read-only registered pages,
 * and one with no side in the "GPU" range count as errors, as do an
 * overlapping registration and an unregistration of something never
 * registered.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h> /* this folder's, found through -I first */

struct mock_dma_stats mock_st;
int mock_reg_refuse;

struct range {
	const char *p;
	size_t n;
	int kind; /* 1 registered, 2 read-only registered, 3 cudaHostAlloc */
};
static struct range ranges[256];
static int nranges;
static const char *gpu_p;
static size_t gpu_n;

struct op {
	void *d;
	const void *s;
	size_t n;
};
static struct op *ops;
static size_t nops, capops;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void mock_gpu_range(void *p, size_t n)
{
	gpu_p = p;
	gpu_n = n;
}

static int in(const char *p, size_t n, const char *base, size_t len)
{
	return p >= base && p < base + len && n <= len - (size_t)(p - base);
}

static int in_gpu(const void *p, size_t n)
{
	return gpu_p && in(p, n, gpu_p, gpu_n);
}

/* Sort one copy by its host side. Lock held. */
static void classify(void *d, const void *s, size_t n)
{
	const int to_gpu = in_gpu(d, n);
	const char *h = to_gpu ? s : d;

	if (to_gpu == in_gpu(s, n)) {
		fprintf(stderr, "mock: a copy of %zu bytes with %s side in GPU memory\n", n,
			to_gpu ? "each" : "neither");
		mock_st.errors++;
		return;
	}
	for (int i = 0; i < nranges; i++) {
		const struct range *r = &ranges[i];

		if (h < r->p || h >= r->p + r->n)
			continue;
		if (!in(h, n, r->p, r->n)) {
			fprintf(stderr, "mock: a copy of %zu bytes at +%zu runs past the end of a "
					"registration of %zu bytes\n", n, (size_t)(h - r->p), r->n);
			mock_st.errors++;
		}
		if (!to_gpu && r->kind == 2) {
			fprintf(stderr, "mock: a copy of %zu bytes into read-only registered pages\n", n);
			mock_st.errors++;
		}
		if (r->kind == 3)
			*(to_gpu ? &mock_st.staged_to_gpu : &mock_st.staged_from_gpu) += (long long)n;
		else
			*(to_gpu ? &mock_st.direct_to_gpu : &mock_st.direct_from_gpu) += (long long)n;
		return;
	}
	mock_st.pageable += (long long)n;
}

static cudaError_t enqueue(void *d, const void *s, size_t n)
{
	pthread_mutex_lock(&lock);
	classify(d, s, n);
	if (nops == capops) {
		size_t c = capops ? 2 * capops : 256;
		struct op *o = realloc(ops, c * sizeof(*o));

		if (!o) {
			pthread_mutex_unlock(&lock);
			return cudaErrorMemoryAllocation;
		}
		ops = o;
		capops = c;
	}
	ops[nops++] = (struct op){ d, s, n };
	mock_st.pending = (long)nops;
	pthread_mutex_unlock(&lock);
	return cudaSuccess;
}

void mock_run_pending(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < nops; i++) {
		memcpy(ops[i].d, ops[i].s, ops[i].n);
		mock_st.copies++;
	}
	nops = 0;
	mock_st.pending = 0;
	pthread_mutex_unlock(&lock);
}

int mock_aisio_gpu_select(int gpu)
{
	return gpu == 0 ? 0 : -ENODEV;
}

cudaError_t mock_cudaSetDevice(int d)
{
	return d == 0 ? cudaSuccess : cudaErrorInvalidDevice;
}

cudaError_t mock_cudaGetLastError(void)
{
	return cudaSuccess;
}

cudaError_t mock_cudaStreamCreateWithFlags(cudaStream_t *s, unsigned f)
{
	(void)f;
	*s = (cudaStream_t)malloc(1);
	return *s ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t mock_cudaStreamDestroy(cudaStream_t s)
{
	free(s);
	return cudaSuccess;
}

cudaError_t mock_cudaEventCreateWithFlags(cudaEvent_t *e, unsigned f)
{
	(void)f;
	*e = (cudaEvent_t)malloc(1);
	return *e ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t mock_cudaEventDestroy(cudaEvent_t e)
{
	free(e);
	return cudaSuccess;
}

cudaError_t mock_cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
	(void)e;
	(void)s;
	return cudaSuccess;
}

/* Waiting for any event runs everything queued (streams keep their order). */
cudaError_t mock_cudaEventQuery(cudaEvent_t e)
{
	(void)e;
	mock_run_pending();
	return cudaSuccess;
}

cudaError_t mock_cudaEventSynchronize(cudaEvent_t e)
{
	return mock_cudaEventQuery(e);
}

static cudaError_t range_add(void *p, size_t n, int kind)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < nranges; i++)
		if ((const char *)p < ranges[i].p + ranges[i].n && ranges[i].p < (const char *)p + n) {
			pthread_mutex_unlock(&lock);
			mock_st.errors++;
			fprintf(stderr, "mock: registration of %zu bytes overlaps an earlier one\n", n);
			return cudaErrorHostMemoryAlreadyRegistered;
		}
	if (nranges == 256) {
		pthread_mutex_unlock(&lock);
		return cudaErrorMemoryAllocation;
	}
	ranges[nranges++] = (struct range){ p, n, kind };
	pthread_mutex_unlock(&lock);
	return cudaSuccess;
}

static int range_del(void *p, int host_alloc)
{
	int found = 0;

	pthread_mutex_lock(&lock);
	for (int i = 0; i < nranges; i++)
		if (ranges[i].p == p && (ranges[i].kind == 3) == host_alloc) {
			ranges[i] = ranges[--nranges];
			found = 1;
			break;
		}
	pthread_mutex_unlock(&lock);
	return found;
}

cudaError_t mock_cudaHostAlloc(void **p, size_t n, unsigned f)
{
	(void)f;
	*p = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);
	if (!*p)
		return cudaErrorMemoryAllocation;
	return range_add(*p, n, 3);
}

cudaError_t mock_cudaFreeHost(void *p)
{
	if (!range_del(p, 1))
		mock_st.errors++;
	free(p);
	return cudaSuccess;
}

cudaError_t mock_cudaHostRegister(void *p, size_t n, unsigned f)
{
	const int ro = !!(f & cudaHostRegisterReadOnly);
	cudaError_t e;

	if (mock_reg_refuse == 1 || (mock_reg_refuse == 2 && ro)) {
		mock_st.refused++;
		return cudaErrorNotSupported;
	}
	e = range_add(p, n, ro ? 2 : 1);
	if (e == cudaSuccess) {
		mock_st.regs++;
		mock_st.regs_ro += ro;
		mock_st.reg_now++;
	}
	return e;
}

cudaError_t mock_cudaHostUnregister(void *p)
{
	if (!range_del(p, 0)) {
		fprintf(stderr, "mock: unregistration of something not registered\n");
		mock_st.errors++;
		return cudaErrorHostMemoryNotRegistered;
	}
	mock_st.unregs++;
	mock_st.reg_now--;
	return cudaSuccess;
}

/* Synchronous: what is queued runs first. */
cudaError_t mock_cudaMemcpy(void *d, const void *s, size_t n, enum cudaMemcpyKind k)
{
	cudaError_t e;

	(void)k;
	e = enqueue(d, s, n);
	mock_run_pending();
	return e;
}

cudaError_t mock_cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k, cudaStream_t st)
{
	(void)k;
	(void)st;
	return enqueue(d, s, n);
}

cudaError_t mock_cudaMemcpyBatchAsync(void *const *dsts, const void *const *srcs, const size_t *sizes,
				      size_t count, struct cudaMemcpyAttributes *attrs, size_t *attrs_idxs,
				      size_t nattrs, cudaStream_t st)
{
	(void)attrs;
	(void)attrs_idxs;
	(void)nattrs;
	(void)st;
	for (size_t i = 0; i < count; i++) {
		cudaError_t e = enqueue(dsts[i], srcs[i], sizes[i]);

		if (e != cudaSuccess)
			return e;
	}
	return cudaSuccess;
}
