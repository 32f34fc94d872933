/* SPDX-License-Identifier: MIT */
/*
 * The device model's DMA on a GPU host. Host addresses map directly (bus
 * address == pointer). Addresses inside registered GPU ranges cannot be
 * touched by the CPU: their data goes through the GPU's copy engines.
 * Separate small copies reach only about 0.4 M/s, so copies are queued per
 * command and issued together when the controller flushes (once per
 * fetched batch, i.e. per doorbell): the data is gathered in a pinned
 * staging buffer, adjacent pieces are merged, and the pieces go out as one
 * cudaMemcpyBatchAsync on the provider's stream.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "emu/emu.h"
#include "gpu/gpu.h"
#include "gpu/rt.h"
#include "util/err.h"

#define DMA_MAX_GPU_RANGES 64
#define DMA_STAGE_BYTES ((size_t)16 << 20)
#define DMA_MAX_PIECES 4096

struct piece {
	uint64_t bus;   /* GPU address */
	void *local;    /* the controller's buffer */
	size_t off;     /* offset in the staging buffer */
	size_t len;
	int to_bus;
};

struct aisio_gpu_dma {
	struct aisio_emu_dma ops;
	int gpu;
	cudaStream_t stream;
	pthread_mutex_t lock;
	struct {
		uint64_t va;
		uint64_t len;
	} ranges[DMA_MAX_GPU_RANGES];
	uint32_t nranges;
	uint8_t *stage; /* pinned */
	size_t stage_used;
	struct piece *pieces;
	uint32_t npieces;
	void **dsts;
	void **srcs;
	size_t *sizes;
	struct aisio_gpu_dma_stats st;
	int batch_api; /* 0 after cudaMemcpyBatchAsync failed once: single copies */
	int spin;      /* wait by polling the stream (default) rather than sleeping */
};

static int in_gpu(const struct aisio_gpu_dma *d, uint64_t bus, size_t len)
{
	for (uint32_t i = 0; i < d->nranges; i++)
		if (bus >= d->ranges[i].va && bus - d->ranges[i].va < d->ranges[i].len)
			return len <= d->ranges[i].len - (bus - d->ranges[i].va) ? 1 : -1;
	return 0;
}

static void *dma_map(void *ctx, uint64_t bus, size_t len)
{
	struct aisio_gpu_dma *d = ctx;

	if (!bus || in_gpu(d, bus, len))
		return NULL;
	return (void *)(uintptr_t)bus;
}

/* Issue every queued piece and wait; then deliver GPU-to-host data. Lock held. */
static int flush_locked(struct aisio_gpu_dma *d)
{
	uint32_t n = 0;
	cudaError_t e = cudaSuccess;

	if (!d->npieces)
		return 0;
	cudaSetDevice(d->gpu);
	/*
	 * Merge neighbours going the same way (consecutive LBAs into
	 * consecutive GPU pages): contiguous on the GPU and in the staging buffer.
	 */
	int dir = -1;
	for (uint32_t i = 0; i < d->npieces; i++) {
		const struct piece *p = &d->pieces[i];
		void *dst = p->to_bus ? (void *)(uintptr_t)p->bus : (void *)(d->stage + p->off);
		void *src = p->to_bus ? (void *)(d->stage + p->off) : (void *)(uintptr_t)p->bus;
		if (n && dir == p->to_bus && (uint8_t *)d->dsts[n - 1] + d->sizes[n - 1] == (uint8_t *)dst &&
		    (uint8_t *)d->srcs[n - 1] + d->sizes[n - 1] == (uint8_t *)src) {
			d->sizes[n - 1] += p->len;
			continue;
		}
		d->dsts[n] = dst;
		d->srcs[n] = src;
		d->sizes[n] = p->len;
		dir = p->to_bus;
		n++;
	}
	if (d->batch_api && n > 1) {
		struct cudaMemcpyAttributes attr;
		size_t idx = 0;
		memset(&attr, 0, sizeof(attr));
		attr.srcAccessOrder = cudaMemcpySrcAccessOrderStream;
		e = cudaMemcpyBatchAsync(d->dsts, (const void *const *)d->srcs, d->sizes, n, &attr, &idx, 1, d->stream);
		if (e != cudaSuccess) {
			cudaGetLastError();
			d->batch_api = 0;
		}
	}
	if (!d->batch_api || n == 1 || e != cudaSuccess) {
		e = cudaSuccess;
		for (uint32_t i = 0; i < n && e == cudaSuccess; i++)
			e = cudaMemcpyAsync(d->dsts[i], d->srcs[i], d->sizes[i], cudaMemcpyDefault, d->stream);
	}
	if (e == cudaSuccess && d->spin) {
		/* a sleeping wait costs tens of microseconds per batch */
		while ((e = cudaStreamQuery(d->stream)) == cudaErrorNotReady)
			;
	} else if (e == cudaSuccess) {
		e = cudaStreamSynchronize(d->stream);
	}
	if (e != cudaSuccess) {
		d->st.failed++;
		d->st.last_err = (int)e;
		cudaGetLastError();
	}
	if (e == cudaSuccess)
		for (uint32_t i = 0; i < d->npieces; i++)
			if (!d->pieces[i].to_bus)
				memcpy(d->pieces[i].local, d->stage + d->pieces[i].off, d->pieces[i].len);
	d->st.batches++;
	d->npieces = 0;
	d->stage_used = 0;
	return e == cudaSuccess ? 0 : -EIO;
}

static int dma_flush(void *ctx)
{
	struct aisio_gpu_dma *d = ctx;
	int err;

	pthread_mutex_lock(&d->lock);
	err = flush_locked(d);
	pthread_mutex_unlock(&d->lock);
	return err;
}

static int dma_copy(void *ctx, uint64_t bus, void *local, size_t len, int to_bus)
{
	struct aisio_gpu_dma *d = ctx;
	int g = in_gpu(d, bus, len);
	int err = 0;

	if (g < 0) {
		d->st.faults++;
		return -EFAULT;
	}
	if (!g) {
		if (!bus)
			return -EFAULT;
		if (to_bus)
			memcpy((void *)(uintptr_t)bus, local, len);
		else
			memcpy(local, (const void *)(uintptr_t)bus, len);
		return 0;
	}
	pthread_mutex_lock(&d->lock);
	if (len > DMA_STAGE_BYTES) {
		/* Larger than the staging buffer: straight through, synchronously. */
		err = flush_locked(d);
		if (!err && cudaMemcpy(to_bus ? (void *)(uintptr_t)bus : local,
				       to_bus ? local : (const void *)(uintptr_t)bus, len, cudaMemcpyDefault) != cudaSuccess)
			err = -EIO;
		goto out;
	}
	if (d->npieces == DMA_MAX_PIECES || d->stage_used + len > DMA_STAGE_BYTES)
		err = flush_locked(d);
	if (err)
		goto out;
	struct piece *p = &d->pieces[d->npieces++];
	p->bus = bus;
	p->local = local;
	p->off = d->stage_used;
	p->len = len;
	p->to_bus = to_bus;
	if (to_bus)
		memcpy(d->stage + p->off, local, len);
	d->stage_used += (len + 63) & ~(size_t)63;
	d->st.copies++;
	d->st.bytes += len;
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

int aisio_gpu_dma_create(int gpu, struct aisio_gpu_dma **out)
{
	struct aisio_gpu_dma *d;
	cudaError_t e;
	int err;

	*out = NULL;
	err = aisio_gpu_select(gpu);
	if (err)
		return err;
	d = calloc(1, sizeof(*d));
	if (!d)
		return aisio_err(-ENOMEM, "GPU DMA provider: out of memory");
	d->pieces = calloc(DMA_MAX_PIECES, sizeof(*d->pieces));
	d->dsts = calloc(DMA_MAX_PIECES, sizeof(void *));
	d->srcs = calloc(DMA_MAX_PIECES, sizeof(void *));
	d->sizes = calloc(DMA_MAX_PIECES, sizeof(size_t));
	if (!d->pieces || !d->dsts || !d->srcs || !d->sizes) {
		err = aisio_err(-ENOMEM, "GPU DMA provider: out of memory");
		goto err_free;
	}
	e = cudaHostAlloc((void **)&d->stage, DMA_STAGE_BYTES, cudaHostAllocPortable);
	if (e != cudaSuccess) {
		err = aisio_gpu_cuda_err(e, "GPU DMA provider: cannot allocate the pinned staging buffer");
		goto err_free;
	}
	e = cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking);
	if (e != cudaSuccess) {
		err = aisio_gpu_cuda_err(e, "GPU DMA provider: cannot create a stream");
		goto err_free_stage;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->gpu = gpu;
	/* AISIO_GPU_DMA=batch (default) | single | sync: how copies are issued and awaited */
	const char *mode = getenv("AISIO_GPU_DMA");
	d->batch_api = !mode || !strcmp(mode, "batch");
	d->spin = !mode || strcmp(mode, "sync");
	d->ops.map = dma_map;
	d->ops.copy = dma_copy;
	d->ops.flush = dma_flush;
	d->ops.ctx = d;
	*out = d;
	return 0;

err_free_stage:
	cudaFreeHost(d->stage);
err_free:
	free(d->pieces);
	free(d->dsts);
	free(d->srcs);
	free(d->sizes);
	free(d);
	return err;
}

void aisio_gpu_dma_destroy(struct aisio_gpu_dma *d)
{
	if (!d)
		return;
	cudaStreamDestroy(d->stream);
	cudaFreeHost(d->stage);
	pthread_mutex_destroy(&d->lock);
	free(d->pieces);
	free(d->dsts);
	free(d->srcs);
	free(d->sizes);
	free(d);
}

int aisio_gpu_dma_add_gpu(struct aisio_gpu_dma *d, uint64_t va, size_t len)
{
	int err = 0;

	pthread_mutex_lock(&d->lock);
	if (d->nranges == DMA_MAX_GPU_RANGES)
		err = aisio_err(-ENOSPC, "GPU DMA provider: more than %d GPU ranges", DMA_MAX_GPU_RANGES);
	else {
		d->ranges[d->nranges].va = va;
		d->ranges[d->nranges].len = len;
		d->nranges++;
	}
	pthread_mutex_unlock(&d->lock);
	return err;
}

const struct aisio_emu_dma *aisio_gpu_dma_ops(struct aisio_gpu_dma *d)
{
	return &d->ops;
}

void aisio_gpu_dma_stats(struct aisio_gpu_dma *d, struct aisio_gpu_dma_stats *st)
{
	pthread_mutex_lock(&d->lock);
	*st = d->st;
	st->batch_api = d->batch_api;
	pthread_mutex_unlock(&d->lock);
}
