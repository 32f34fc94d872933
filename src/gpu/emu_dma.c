/* SPDX-License-Identifier: MIT */
/*
 * The device model's DMA on a GPU host. Host addresses map directly (bus
 * address == pointer). Addresses inside registered GPU ranges cannot be
 * touched by the CPU: their data goes through the GPU's copy engines.
 *
 * Separate small copies reach only about 0.4 M/s, so copies are queued per
 * command into a staging slot (pinned host memory; adjacent pieces merged)
 * and issued together, one cudaMemcpyBatchAsync per fetched batch. The
 * controller does not wait for them: submit() issues the slot, records an
 * event behind it and hands back a ticket; the controller fetches its next
 * batch (into the next slot) while the copies run and posts the completions
 * when done() sees the event. DMA_SLOTS batches of a controller can be in
 * flight at once.
 *
 * Streams: a copy queued on a stream that shares a hardware work queue
 * (CUDA_DEVICE_MAX_CONNECTIONS, 8 by default) with a running persistent
 * kernel waits until that kernel ends; a kernel that waits for those very
 * completions then stalls until its timeout. So the providers of a GPU
 * share a small pool of copy streams (AISIO_GPU_COPY_STREAMS, default 4)
 * instead of one stream each, and aisio asks CUDA for 32 connections when
 * it starts CUDA itself (rt.c).
 *
 * Direct copies: the controller offers its namespace store (store_add).
 * It is registered with CUDA (cudaHostRegister) by chunks of
 * AISIO_GPU_DIRECT_CHUNK bytes (default 1 GiB) when a copy first reaches
 * one, or all at once with AISIO_EMU_STORE_EAGER; the part of a copy whose
 * host side lies in a registered chunk goes into the batch with its own
 * address, with no staging memcpy. Registration costs about 27 ms a GiB of
 * page cache on an H200 host (bench/fil/results-overlap-h200: 38 GB/s, and
 * it holds a driver lock other CUDA calls wait for); the pages stay pinned
 * until the store is removed. A file mapping is registered read-only:
 * data from GPU memory into it still goes through staging and a CPU copy,
 * because the kernel tracks dirty page-cache pages only through CPU stores
 * (a copy engine writing a pinned page after writeback cleaned it would
 * not make it dirty again, and the data could be lost). Anonymous memory
 * is registered normally, both directions direct. A chunk the driver
 * refuses is copied through staging (said once on stderr).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_runtime_api.h>

#include "emu/emu.h"
#include "gpu/gpu.h"
#include "gpu/rt.h"
#include "util/err.h"
#include "util/size.h"

#define DMA_MAX_GPU_RANGES 64
#define DMA_SLOTS 4
#define DMA_SLOT_BYTES ((size_t)8 << 20)
#define DMA_MAX_PIECES 4096
#define DMA_MAX_GPUS 64
#define DMA_MAX_STREAMS 16
#define DMA_FAILED_KEEP 64
#define DMA_MAX_STORES 8
#define DMA_CHUNK_DEFAULT ((size_t)1 << 30)

struct piece {
	uint64_t bus;   /* GPU address */
	void *local;    /* the controller's buffer */
	void *host;     /* host side of the copy: in the staging slot, or @local itself (direct) */
	size_t len;
	uint64_t reg;   /* 0: staged; else the registered chunk @local lies in */
	uint32_t range; /* the GPU range @bus lies in */
	int to_bus;
};

/* A controller's namespace store offered for direct copies. */
struct store {
	uint8_t *base;
	size_t len;
	unsigned flags;  /* AISIO_EMU_STORE_* */
	uint32_t nchunks;
	int8_t *state;   /* per chunk: 0 not tried, 1 registered, 2 registered read-only, -1 refused */
};

/* One batch of copies: filling, in flight, or free. */
struct slot {
	uint8_t *stage; /* pinned, DMA_SLOT_BYTES */
	size_t used;
	struct piece *pieces;
	uint32_t npieces;
	uint32_t has_in;  /* pieces that bring data in from the GPU */
	cudaEvent_t ev;
	uint64_t ticket;  /* while in flight */
	int busy;         /* issued, not yet retired */
};

/* Copy streams shared by the providers of one GPU. */
static struct {
	cudaStream_t s[DMA_MAX_STREAMS];
	unsigned n;
	unsigned refs;
	unsigned next;
} pools[DMA_MAX_GPUS];
static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;

struct aisio_gpu_dma {
	struct aisio_emu_dma ops;
	int gpu;
	cudaStream_t stream; /* from the GPU's pool */
	pthread_mutex_t lock;
	struct {
		uint64_t va;
		uint64_t len;
	} ranges[DMA_MAX_GPU_RANGES];
	uint32_t nranges;
	struct slot slots[DMA_SLOTS];
	unsigned fill;      /* slot being filled */
	unsigned oldest;    /* oldest slot in flight (when any) */
	unsigned inflight;
	uint64_t issued;    /* last ticket handed out */
	uint64_t retired;   /* every ticket up to this one has landed */
	uint64_t failed_t[DMA_FAILED_KEEP]; /* recent tickets whose copies failed */
	unsigned nfailed;
	void **dsts;
	void **srcs;
	size_t *sizes;
	struct aisio_gpu_dma_stats st;
	int batch_api; /* 0 after cudaMemcpyBatchAsync failed once: single copies */
	int spin;      /* wait by polling (default) rather than sleeping */
	int pipeline;  /* submit()/done() offered to the controller */
	void *(*host_map)(void *ctx, uint64_t bus, size_t len); /* NULL: identity */
	void *host_ctx;
	struct store stores[DMA_MAX_STORES];
	uint32_t nstores;
	size_t chunk;        /* registration granule of a store */
	int refusal_said;    /* a refused registration was reported */
	uint64_t reg_tags[DMA_MAX_PIECES]; /* chunk and GPU range of each merged copy while issuing */
};

static int pool_get(int gpu, cudaStream_t *out)
{
	int err = 0;

	if (gpu < 0 || gpu >= DMA_MAX_GPUS)
		return aisio_err(-ENODEV, "GPU DMA provider: GPU %d is beyond the %d this build handles", gpu,
				 DMA_MAX_GPUS);
	pthread_mutex_lock(&pools_lock);
	if (!pools[gpu].refs) {
		const char *v = getenv("AISIO_GPU_COPY_STREAMS");
		unsigned n = 4;

		if (v && *v) {
			char *end;
			unsigned long x = strtoul(v, &end, 10);

			if (*end || x < 1 || x > DMA_MAX_STREAMS) {
				err = aisio_err(-EINVAL, "AISIO_GPU_COPY_STREAMS='%s': give 1 to %d", v,
						DMA_MAX_STREAMS);
				goto out;
			}
			n = (unsigned)x;
		}
		for (unsigned i = 0; i < n; i++) {
			cudaError_t e = cudaStreamCreateWithFlags(&pools[gpu].s[i], cudaStreamNonBlocking);

			if (e != cudaSuccess) {
				while (i--)
					cudaStreamDestroy(pools[gpu].s[i]);
				err = aisio_gpu_cuda_err(e, "GPU DMA provider: cannot create a copy stream");
				goto out;
			}
		}
		pools[gpu].n = n;
		pools[gpu].next = 0;
	}
	pools[gpu].refs++;
	*out = pools[gpu].s[pools[gpu].next++ % pools[gpu].n];
out:
	pthread_mutex_unlock(&pools_lock);
	return err;
}

static void pool_put(int gpu)
{
	pthread_mutex_lock(&pools_lock);
	if (pools[gpu].refs && !--pools[gpu].refs) {
		for (unsigned i = 0; i < pools[gpu].n; i++)
			cudaStreamDestroy(pools[gpu].s[i]);
		pools[gpu].n = 0;
	}
	pthread_mutex_unlock(&pools_lock);
}

/*
 * 1 when [bus, bus + len) lies in a GPU range, -1 when it starts in one
 * and runs past its end, 0 when it is host memory. Read without the lock
 * (ranges change only when memory is registered or withdrawn; a slot is
 * withdrawn by its length going to 0); copies into a GPU range check again
 * under the lock (gpu_part), which removal holds while it drains.
 */
static int in_gpu(const struct aisio_gpu_dma *d, uint64_t bus, size_t len)
{
	uint32_t n = __atomic_load_n(&d->nranges, __ATOMIC_ACQUIRE);

	for (uint32_t i = 0; i < n; i++) {
		uint64_t rl = __atomic_load_n(&d->ranges[i].len, __ATOMIC_ACQUIRE);
		uint64_t va = d->ranges[i].va;

		if (rl && bus >= va && bus - va < rl)
			return len <= rl - (bus - va) ? 1 : -1;
	}
	return 0;
}

/* Host memory: identity, or the controller's live ranges (homid). */
static void *host_ptr(const struct aisio_gpu_dma *d, uint64_t bus, size_t len)
{
	if (!bus)
		return NULL;
	void *(*map)(void *, uint64_t, size_t) = __atomic_load_n(&d->host_map, __ATOMIC_ACQUIRE);

	if (map)
		return map(d->host_ctx, bus, len);
	return (void *)(uintptr_t)bus;
}

static void *dma_map(void *ctx, uint64_t bus, size_t len)
{
	struct aisio_gpu_dma *d = ctx;

	if (in_gpu(d, bus, len))
		return NULL;
	return host_ptr(d, bus, len);
}

static void note_failed(struct aisio_gpu_dma *d, uint64_t ticket, cudaError_t e)
{
	d->st.failed++;
	d->st.last_err = (int)e;
	d->failed_t[d->nfailed++ % DMA_FAILED_KEEP] = ticket;
	cudaGetLastError();
}

/* The slot being filled holds queued pieces (it is not one still in flight). */
static int filling(const struct aisio_gpu_dma *d)
{
	return !d->slots[d->fill].busy && d->slots[d->fill].npieces;
}

/* Issue the filling slot's pieces and record its event. Lock held; the slot has pieces. */
static void issue_locked(struct aisio_gpu_dma *d)
{
	struct slot *s = &d->slots[d->fill];
	uint32_t n = 0;
	cudaError_t e = cudaSuccess;

	cudaSetDevice(d->gpu);
	/*
	 * Merge neighbours going the same way (consecutive LBAs into
	 * consecutive GPU pages): contiguous on the GPU and in the staging slot.
	 */
	/*
	 * Pieces merge only within one registered chunk and one GPU range: a
	 * copy across two registrations or two allocations is not known to
	 * CUDA as one range.
	 */
	int dir = -1;
	for (uint32_t i = 0; i < s->npieces; i++) {
		const struct piece *p = &s->pieces[i];
		void *dst = p->to_bus ? (void *)(uintptr_t)p->bus : p->host;
		void *src = p->to_bus ? p->host : (void *)(uintptr_t)p->bus;
		const uint64_t tag = p->reg ^ ((uint64_t)p->range << 48);
		if (n && dir == p->to_bus && d->reg_tags[n - 1] == tag &&
		    (uint8_t *)d->dsts[n - 1] + d->sizes[n - 1] == (uint8_t *)dst &&
		    (uint8_t *)d->srcs[n - 1] + d->sizes[n - 1] == (uint8_t *)src) {
			d->sizes[n - 1] += p->len;
			continue;
		}
		d->dsts[n] = dst;
		d->srcs[n] = src;
		d->sizes[n] = p->len;
		d->reg_tags[n] = tag;
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
	if (e == cudaSuccess)
		e = cudaEventRecord(s->ev, d->stream);
	s->ticket = ++d->issued;
	s->busy = 1;
	if (e != cudaSuccess) {
		/* nothing to wait for: retire it as failed at once */
		note_failed(d, s->ticket, e);
		s->busy = 2;
	}
	if (!d->inflight)
		d->oldest = d->fill;
	d->inflight++;
	d->st.batches++;
	d->fill = (d->fill + 1) % DMA_SLOTS;
}

/*
 * Retire the oldest slot in flight if its copies are done (@wait: poll
 * until they are). Returns 1 when one was retired, 0 when not yet. Lock held.
 */
static int retire_locked(struct aisio_gpu_dma *d, int wait)
{
	struct slot *s = &d->slots[d->oldest];
	cudaError_t e = cudaSuccess;

	if (!d->inflight)
		return 0;
	if (s->busy == 1) {
		e = cudaEventQuery(s->ev);
		if (e == cudaErrorNotReady && !wait)
			return 0;
		if (e == cudaErrorNotReady)
			e = d->spin ? cudaSuccess : cudaEventSynchronize(s->ev);
		if (e == cudaSuccess && d->spin)
			/* a sleeping wait costs tens of microseconds per batch */
			while ((e = cudaEventQuery(s->ev)) == cudaErrorNotReady)
				;
		if (e != cudaSuccess)
			note_failed(d, s->ticket, e);
	}
	if (s->busy == 1 && e == cudaSuccess && s->has_in)
		for (uint32_t i = 0; i < s->npieces; i++)
			if (!s->pieces[i].to_bus && !s->pieces[i].reg)
				memcpy(s->pieces[i].local, s->pieces[i].host, s->pieces[i].len);
	d->retired = s->ticket;
	s->busy = 0;
	s->npieces = 0;
	s->has_in = 0;
	s->used = 0;
	d->inflight--;
	d->oldest = (d->oldest + 1) % DMA_SLOTS;
	return 1;
}

/* Make the filling slot usable: when it is still in flight, wait for it. Lock held. */
static void slot_ready_locked(struct aisio_gpu_dma *d)
{
	while (d->slots[d->fill].busy)
		retire_locked(d, 1);
}

static int ticket_failed(const struct aisio_gpu_dma *d, uint64_t ticket)
{
	unsigned n = d->nfailed < DMA_FAILED_KEEP ? d->nfailed : DMA_FAILED_KEEP;

	for (unsigned i = 0; i < n; i++)
		if (d->failed_t[i] == ticket)
			return 1;
	return 0;
}

/* Issue what is queued and wait for every copy in flight. Lock held. */
static int flush_locked(struct aisio_gpu_dma *d)
{
	const uint64_t failed0 = d->st.failed;

	if (filling(d))
		issue_locked(d);
	while (d->inflight)
		retire_locked(d, 1);
	return d->st.failed == failed0 ? 0 : -EIO;
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

static int dma_submit(void *ctx, uint64_t *ticket)
{
	struct aisio_gpu_dma *d = ctx;

	pthread_mutex_lock(&d->lock);
	if (filling(d))
		issue_locked(d);
	/* a batch without copies of its own still completes after the earlier ones */
	*ticket = d->issued > d->retired ? d->issued : 0;
	/* retire what has landed so the next batch finds a free slot */
	while (retire_locked(d, 0))
		;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static int dma_done(void *ctx, uint64_t ticket)
{
	struct aisio_gpu_dma *d = ctx;
	int r;

	pthread_mutex_lock(&d->lock);
	while (d->retired < ticket && retire_locked(d, 0))
		;
	if (d->retired < ticket)
		r = 0;
	else
		r = ticket_failed(d, ticket) ? -EIO : 1;
	pthread_mutex_unlock(&d->lock);
	return r;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Register chunk @ci of @st (read-only for a file mapping where the driver allows). Lock held. */
static void chunk_register(struct aisio_gpu_dma *d, struct store *st, uint32_t ci)
{
	uint8_t *p = st->base + (size_t)ci * d->chunk;
	size_t n = st->len - (size_t)ci * d->chunk;
	cudaError_t e = cudaErrorInvalidValue;
	const uint64_t t0 = now_ns();

	if (n > d->chunk)
		n = d->chunk;
	cudaSetDevice(d->gpu);
	if (st->flags & AISIO_EMU_STORE_FILE) {
		e = cudaHostRegister(p, n, cudaHostRegisterPortable | cudaHostRegisterReadOnly);
		if (e == cudaSuccess)
			st->state[ci] = 2;
		else
			cudaGetLastError();
	}
	if (e != cudaSuccess) {
		e = cudaHostRegister(p, n, cudaHostRegisterPortable);
		if (e == cudaSuccess)
			st->state[ci] = 1;
	}
	d->st.reg_ns += now_ns() - t0;
	if (e == cudaSuccess) {
		d->st.reg_chunks++;
		d->st.reg_bytes += n;
		return;
	}
	cudaGetLastError();
	st->state[ci] = -1;
	d->st.reg_refused++;
	if (!d->refusal_said) {
		d->refusal_said = 1;
		fprintf(stderr,
			"aisio: GPU DMA provider: CUDA refused to pin %zu bytes of the namespace %s at +%zu "
			"(cudaHostRegister: %s); copies there go through the staging buffers "
			"(emu:...,gpu_direct=0 asks for that everywhere)\n",
			n, (st->flags & AISIO_EMU_STORE_FILE) ? "file mapping" : "memory", (size_t)ci * d->chunk,
			cudaGetErrorString(e));
	}
}

/*
 * How the first bytes of [p, p + len) (the controller's side of a copy)
 * travel: *@reg != 0 when they lie in a registered chunk of a store (a tag
 * of that chunk), 0 for staging. Returns how many bytes go that way: up to
 * the chunk's end, or up to the next store. Registers a chunk reached for
 * the first time. Lock held.
 */
static size_t direct_span(struct aisio_gpu_dma *d, uint8_t *p, size_t len, int to_bus, uint64_t *reg)
{
	size_t n = len;

	*reg = 0;
	for (uint32_t i = 0; i < d->nstores; i++) {
		struct store *st = &d->stores[i];

		if (p >= st->base && (size_t)(p - st->base) < st->len) {
			const size_t off = (size_t)(p - st->base);
			const uint32_t ci = (uint32_t)(off / d->chunk);
			size_t cend = ((size_t)ci + 1) * d->chunk;

			if (cend > st->len)
				cend = st->len;
			if (!to_bus && (st->flags & AISIO_EMU_STORE_FILE))
				/* into page-cache pages: CPU stores only (see the top of the file) */
				return len < st->len - off ? len : st->len - off;
			if (!st->state[ci])
				chunk_register(d, st, ci);
			if (st->state[ci] > 0)
				*reg = ((uint64_t)(i + 1) << 32) | ci;
			return len < cend - off ? len : cend - off;
		}
		if (st->base > p && (size_t)(st->base - p) < n)
			n = (size_t)(st->base - p);
	}
	return n;
}

/*
 * The next piece of the filling slot, with @stage_len bytes of its staging
 * buffer free; a full slot is sent on its way first (its ticket is below the
 * batch's). The slot in @sp when asked. Lock held.
 */
static struct piece *piece_take(struct aisio_gpu_dma *d, size_t stage_len, struct slot **sp)
{
	struct slot *s;

	slot_ready_locked(d);
	s = &d->slots[d->fill];
	if (s->npieces == DMA_MAX_PIECES || s->used + stage_len > DMA_SLOT_BYTES) {
		issue_locked(d);
		slot_ready_locked(d);
		s = &d->slots[d->fill];
	}
	if (sp)
		*sp = s;
	return &s->pieces[s->npieces++];
}

/* Queue a copy whose host side is registered memory: no staging. Lock held. */
static void queue_direct(struct aisio_gpu_dma *d, uint64_t bus, void *local, size_t len, int to_bus,
			 uint64_t reg, uint32_t range)
{
	struct piece *p = piece_take(d, 0, NULL);

	p->bus = bus;
	p->local = local;
	p->host = local;
	p->len = len;
	p->reg = reg;
	p->range = range;
	p->to_bus = to_bus;
	d->st.copies++;
	d->st.bytes += len;
	d->st.direct_copies++;
	d->st.direct_bytes += len;
}

/* Queue a copy through the filling slot's staging buffer. Lock held. */
static int queue_staged(struct aisio_gpu_dma *d, uint64_t bus, void *local, size_t len, int to_bus,
			uint32_t range)
{
	int err;

	if (len > DMA_SLOT_BYTES) {
		/* Larger than a staging slot: straight through, synchronously. */
		err = flush_locked(d);
		if (!err && cudaMemcpy(to_bus ? (void *)(uintptr_t)bus : local,
				       to_bus ? local : (const void *)(uintptr_t)bus, len, cudaMemcpyDefault) != cudaSuccess)
			err = -EIO;
		return err;
	}
	struct slot *s;
	struct piece *p = piece_take(d, len, &s);

	p->bus = bus;
	p->local = local;
	p->host = s->stage + s->used;
	p->len = len;
	p->reg = 0;
	p->range = range;
	p->to_bus = to_bus;
	if (to_bus)
		memcpy(p->host, local, len);
	else
		s->has_in = 1;
	s->used += (len + 63) & ~(size_t)63;
	d->st.copies++;
	d->st.bytes += len;
	return 0;
}

/*
 * The leading part of [bus, bus + len) of one kind: *@gpu = 1 and up to
 * the end of the GPU range holding @bus, or *@gpu = 0 and up to the start
 * of the next GPU range. The controller joins consecutive PRP entries into
 * one copy, so a run may cross from one range into another.
 */
static size_t gpu_part(const struct aisio_gpu_dma *d, uint64_t bus, size_t len, int *gpu, uint32_t *range)
{
	uint32_t n = __atomic_load_n(&d->nranges, __ATOMIC_ACQUIRE);
	size_t part = len;

	*gpu = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t rl = __atomic_load_n(&d->ranges[i].len, __ATOMIC_ACQUIRE);
		uint64_t va = d->ranges[i].va;

		if (!rl)
			continue;
		if (bus >= va && bus - va < rl) {
			*gpu = 1;
			*range = i;
			return len < rl - (bus - va) ? len : (size_t)(rl - (bus - va));
		}
		if (va > bus && va - bus < part)
			part = (size_t)(va - bus);
	}
	return part;
}

/* Host memory by the CPU; a run the host map cannot give whole goes page by page. */
static int host_copy(struct aisio_gpu_dma *d, uint64_t bus, uint8_t *local, size_t len, int to_bus)
{
	void *p = host_ptr(d, bus, len);

	if (!p && len > 4096 && d->host_map) {
		while (len) {
			size_t n = 4096 - (size_t)(bus & 4095);

			if (n > len)
				n = len;
			if (host_copy(d, bus, local, n, to_bus))
				return -EFAULT;
			bus += n;
			local += n;
			len -= n;
		}
		return 0;
	}
	if (!p)
		return -EFAULT;
	if (to_bus)
		memcpy(p, local, len);
	else
		memcpy(local, p, len);
	return 0;
}

/* One GPU part: split where its host side enters or leaves a registered chunk. Lock held. */
static int gpu_copy_locked(struct aisio_gpu_dma *d, uint64_t bus, uint8_t *local, size_t len, int to_bus,
			   uint32_t range)
{
	int err = 0;

	for (size_t done = 0; !err && done < len;) {
		uint64_t reg = 0;
		size_t n = d->nstores ? direct_span(d, local + done, len - done, to_bus, &reg) : len - done;

		if (reg)
			queue_direct(d, bus + done, local + done, n, to_bus, reg, range);
		else
			err = queue_staged(d, bus + done, local + done, n, to_bus, range);
		done += n;
	}
	return err;
}

static int dma_copy(void *ctx, uint64_t bus, void *local, size_t len, int to_bus)
{
	struct aisio_gpu_dma *d = ctx;
	uint8_t *l = local;
	int err = 0, was_gpu = 0;

	while (!err && len) {
		int gpu;
		uint32_t range = 0;
		size_t n = gpu_part(d, bus, len, &gpu, &range);

		if (gpu) {
			/* again under the lock: the range may have been withdrawn meanwhile */
			pthread_mutex_lock(&d->lock);
			n = gpu_part(d, bus, len, &gpu, &range);
			if (gpu)
				err = gpu_copy_locked(d, bus, l, n, to_bus, range);
			pthread_mutex_unlock(&d->lock);
		}
		if (!gpu && was_gpu) {
			/* runs on past the end of a GPU range into memory no range holds */
			__atomic_add_fetch(&d->st.faults, 1, __ATOMIC_RELAXED);
			return -EFAULT;
		}
		if (!gpu)
			err = host_copy(d, bus, l, n, to_bus);
		was_gpu = gpu;
		bus += n;
		l += n;
		len -= n;
	}
	return err;
}

/* The store's registered chunks go back to the driver. Lock held, nothing in flight. */
static void store_release(struct aisio_gpu_dma *d, struct store *st)
{
	cudaSetDevice(d->gpu);
	for (uint32_t ci = 0; ci < st->nchunks; ci++)
		if (st->state[ci] > 0 && cudaHostUnregister(st->base + (size_t)ci * d->chunk) != cudaSuccess)
			cudaGetLastError();
	free(st->state);
	st->state = NULL;
}

static int dma_store_add(void *ctx, void *base, size_t len, unsigned flags)
{
	struct aisio_gpu_dma *d = ctx;
	struct store *st;

	if (!base || !len || (len - 1) / d->chunk >= UINT32_MAX)
		return 0;
	pthread_mutex_lock(&d->lock);
	if (d->nstores == DMA_MAX_STORES) {
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	st = &d->stores[d->nstores];
	st->nchunks = (uint32_t)((len + d->chunk - 1) / d->chunk);
	st->state = calloc(st->nchunks, 1);
	if (!st->state) {
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	st->base = base;
	st->len = len;
	st->flags = flags;
	d->nstores++;
	if (flags & AISIO_EMU_STORE_EAGER)
		for (uint32_t ci = 0; ci < st->nchunks; ci++)
			chunk_register(d, st, ci);
	pthread_mutex_unlock(&d->lock);
	return 1;
}

static void dma_store_remove(void *ctx, void *base)
{
	struct aisio_gpu_dma *d = ctx;

	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < d->nstores; i++)
		if (d->stores[i].base == base) {
			/* copies queued or running may still read or write it */
			flush_locked(d);
			store_release(d, &d->stores[i]);
			d->stores[i] = d->stores[--d->nstores];
			memset(&d->stores[d->nstores], 0, sizeof(d->stores[0]));
			break;
		}
	pthread_mutex_unlock(&d->lock);
}

static void slots_free(struct aisio_gpu_dma *d)
{
	for (unsigned i = 0; i < DMA_SLOTS; i++) {
		struct slot *s = &d->slots[i];

		if (s->ev)
			cudaEventDestroy(s->ev);
		if (s->stage)
			cudaFreeHost(s->stage);
		free(s->pieces);
	}
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
	d->dsts = calloc(DMA_MAX_PIECES, sizeof(void *));
	d->srcs = calloc(DMA_MAX_PIECES, sizeof(void *));
	d->sizes = calloc(DMA_MAX_PIECES, sizeof(size_t));
	if (!d->dsts || !d->srcs || !d->sizes) {
		err = aisio_err(-ENOMEM, "GPU DMA provider: out of memory");
		goto err_free;
	}
	for (unsigned i = 0; i < DMA_SLOTS; i++) {
		struct slot *s = &d->slots[i];

		s->pieces = calloc(DMA_MAX_PIECES, sizeof(*s->pieces));
		if (!s->pieces) {
			err = aisio_err(-ENOMEM, "GPU DMA provider: out of memory");
			goto err_free;
		}
		e = cudaHostAlloc((void **)&s->stage, DMA_SLOT_BYTES, cudaHostAllocPortable);
		if (e != cudaSuccess) {
			s->stage = NULL;
			err = aisio_gpu_cuda_err(e, "GPU DMA provider: cannot allocate the pinned staging buffer");
			goto err_free;
		}
		e = cudaEventCreateWithFlags(&s->ev, cudaEventDisableTiming);
		if (e != cudaSuccess) {
			s->ev = NULL;
			err = aisio_gpu_cuda_err(e, "GPU DMA provider: cannot create an event");
			goto err_free;
		}
	}
	/* AISIO_GPU_DIRECT_CHUNK=SIZE: how much of a store is registered at a time */
	const char *ch = getenv("AISIO_GPU_DIRECT_CHUNK");
	d->chunk = DMA_CHUNK_DEFAULT;
	if (ch && *ch) {
		uint64_t v = 0;

		if (aisio_parse_size(ch, &v) || v < 4096 || v % 4096 || v > ((uint64_t)1 << 40)) {
			err = aisio_err(-EINVAL, "AISIO_GPU_DIRECT_CHUNK='%s': give a multiple of 4 KiB from 4K "
					"to 1T (" AISIO_SIZE_HELP ")", ch);
			goto err_free;
		}
		d->chunk = (size_t)v;
	}
	err = pool_get(gpu, &d->stream);
	if (err)
		goto err_free;
	pthread_mutex_init(&d->lock, NULL);
	d->gpu = gpu;
	/*
	 * AISIO_GPU_DMA=batch (default) | single | sync | serial: how copies
	 * are issued (one cudaMemcpyBatchAsync per batch, or one call per
	 * piece), awaited (polling, or a sleeping wait), and whether the
	 * controller waits for each batch's copies before fetching the next
	 * (serial) or keeps up to DMA_SLOTS batches in flight.
	 */
	const char *mode = getenv("AISIO_GPU_DMA");
	d->batch_api = !mode || !strcmp(mode, "batch") || !strcmp(mode, "serial");
	d->spin = !mode || strcmp(mode, "sync");
	d->pipeline = !mode || strcmp(mode, "serial");
	d->ops.map = dma_map;
	d->ops.copy = dma_copy;
	d->ops.flush = dma_flush;
	d->ops.store_add = dma_store_add;
	d->ops.store_remove = dma_store_remove;
	if (d->pipeline) {
		d->ops.submit = dma_submit;
		d->ops.done = dma_done;
	}
	d->ops.ctx = d;
	*out = d;
	return 0;

err_free:
	slots_free(d);
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
	pthread_mutex_lock(&d->lock);
	flush_locked(d);
	/* a controller still holding a store (destroyed after this) loses its direct copies */
	while (d->nstores)
		store_release(d, &d->stores[--d->nstores]);
	pthread_mutex_unlock(&d->lock);
	if (getenv("AISIO_GPU_DMA_REPORT"))
		/* for test scripts: which way the data went */
		fprintf(stderr,
			"aisio gpu dma: copies %llu bytes %llu direct_copies %llu direct_bytes %llu "
			"reg_chunks %llu reg_bytes %llu reg_refused %llu reg_ms %.1f failed %llu\n",
			(unsigned long long)d->st.copies, (unsigned long long)d->st.bytes,
			(unsigned long long)d->st.direct_copies, (unsigned long long)d->st.direct_bytes,
			(unsigned long long)d->st.reg_chunks, (unsigned long long)d->st.reg_bytes,
			(unsigned long long)d->st.reg_refused, (double)d->st.reg_ns / 1e6,
			(unsigned long long)d->st.failed);
	pool_put(d->gpu);
	slots_free(d);
	pthread_mutex_destroy(&d->lock);
	free(d->dsts);
	free(d->srcs);
	free(d->sizes);
	free(d);
}

int aisio_gpu_dma_add_gpu(struct aisio_gpu_dma *d, uint64_t va, size_t len)
{
	int err = 0;

	uint32_t slot = DMA_MAX_GPU_RANGES;

	if (!va || !len || va + len < va)
		return aisio_err(-EINVAL, "GPU DMA provider: empty or wrapping GPU range");
	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < d->nranges; i++)
		if (!d->ranges[i].len) {
			slot = i;
			break;
		}
	if (slot == DMA_MAX_GPU_RANGES && d->nranges < DMA_MAX_GPU_RANGES)
		slot = d->nranges;
	if (slot == DMA_MAX_GPU_RANGES) {
		err = aisio_err(-ENOSPC, "GPU DMA provider: more than %d GPU ranges", DMA_MAX_GPU_RANGES);
	} else {
		d->ranges[slot].va = va;
		__atomic_store_n(&d->ranges[slot].len, (uint64_t)len, __ATOMIC_RELEASE);
		if (slot == d->nranges)
			__atomic_store_n(&d->nranges, d->nranges + 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&d->lock);
	return err;
}

int aisio_gpu_dma_remove_gpu(struct aisio_gpu_dma *d, uint64_t va)
{
	int found = 0;

	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < d->nranges; i++)
		if (d->ranges[i].len && d->ranges[i].va == va) {
			__atomic_store_n(&d->ranges[i].len, (uint64_t)0, __ATOMIC_RELEASE);
			found = 1;
			break;
		}
	/* copies queued or running into it land before the caller may free it */
	if (found)
		flush_locked(d);
	pthread_mutex_unlock(&d->lock);
	if (!found)
		return aisio_err(-ENOENT, "GPU DMA provider: no GPU range starts at 0x%llx", (unsigned long long)va);
	return 0;
}

void aisio_gpu_dma_set_host_map(struct aisio_gpu_dma *d, void *(*map)(void *ctx, uint64_t bus, size_t len),
				void *ctx)
{
	pthread_mutex_lock(&d->lock);
	d->host_ctx = ctx;
	__atomic_store_n(&d->host_map, map, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->lock);
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
