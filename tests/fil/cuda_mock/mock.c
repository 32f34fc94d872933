/* SPDX-License-Identifier: MIT */
/*
 * CPU stand-in for the CUDA runtime calls of fil_gpu.c (see
 * cuda_runtime_api.h here) and for its check kernel. MOCK_REG_FAIL=1 refuses
 * every other cudaHostRegister, as a driver that cannot pin page-cache pages
 * would, so the counted fallback is exercised. It keeps the registered and
 * the cudaHostAlloc ranges, and sorts each copy by where its source lies:
 * registered pages, pinned memory, or pageable memory (which a real GPU
 * would copy through a bounce buffer: the map path must never do that). A
 * copy that runs past the end of its registered range aborts, as does an
 * unregistration of something not registered. At exit it prints the counts;
 * a registration left behind is an error (exit status 3). It also prints the
 * most ranges registered at once, which --pipe bounds by --qd;
 * MOCK_EVENT_WAIT_US=N makes every wait for a copy take N microseconds.
 * cudaHostAlloc memory made with cudaHostAllocMapped is kept apart (kind 3):
 * only it and registered memory have a device address.
 *
 * The persistent copy kernel of --stage-copy kernel is a thread here that
 * keeps the same protocol as the GPU blocks (fil_gpu.h) and checks the host
 * keeps it too (see kcopy_thread); destroying its stream, freeing its
 * memory or waiting for the whole GPU while it runs aborts, as that would
 * fail or hang on a GPU.
 *
 * "GPU memory" (cudaMalloc) is shared memory (a sealed memfd), so that
 * --path homi --mem gpu runs end to end against a homid without a GPU: the
 * registration with homid (fil_gpu_mem_reg) is MEM_REG of that memfd
 * instead of GPU_MEM_REG, and homid's device model writes the files' blocks
 * straight into it; the check runs on it as on GPU memory. Registrations
 * with homid are counted; one left behind is an error too.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <aisio/pattern.h>

#include <aisio/aisio.h>

#include <cuda_runtime_api.h> /* this folder's, found through -I first */
#include "fil.h"
#include "fil_gpu.h"
#include "fil_gpu_nvme.h"
#include "fil_gpu_nvme_io.h"
#include "homi/client.h"
#include "util/err.h"

static _Atomic long homid_regs, homid_unregs;
static _Atomic long regs, refused, unregs, copies, from_reg, from_pinned, from_pageable;
static long reg_now, reg_most; /* registered ranges at once (under rlock) */

/* registered (kind 1), cudaHostAlloc (kind 2) and cudaHostAlloc mapped (kind 3) ranges */
struct range {
	const char *p;
	size_t n;
	int kind;
};
static struct range ranges[4096];
static int nranges;
static pthread_mutex_t rlock = PTHREAD_MUTEX_INITIALIZER;

static void range_add(void *p, size_t n, int kind) /* (not const: the memory may be unwritten) */
{
	pthread_mutex_lock(&rlock);
	if (nranges == 4096) {
		fprintf(stderr, "mock: more than 4096 registered ranges at once\n");
		abort();
	}
	ranges[nranges++] = (struct range){ p, n, kind };
	if (kind == 1 && ++reg_now > reg_most)
		reg_most = reg_now;
	pthread_mutex_unlock(&rlock);
}

static int range_del(const void *p, int kind)
{
	int found = 0;

	pthread_mutex_lock(&rlock);
	for (int i = 0; i < nranges; i++)
		if (ranges[i].p == p && ranges[i].kind == kind) {
			ranges[i] = ranges[--nranges];
			found = 1;
			reg_now -= kind == 1;
			break;
		}
	pthread_mutex_unlock(&rlock);
	return found;
}

/* Where [p, p + n) lies: 1 registered, 2 pinned, 0 pageable; aborts on a copy past a range's end. */
static int range_kind(const void *p, size_t n)
{
	const char *c = p;
	int kind = 0;

	pthread_mutex_lock(&rlock);
	for (int i = 0; i < nranges; i++)
		if (c >= ranges[i].p && c < ranges[i].p + ranges[i].n) {
			if (c + n > ranges[i].p + ranges[i].n) {
				fprintf(stderr, "mock: copy of %zu bytes at %p runs past its range\n", n, p);
				abort();
			}
			kind = ranges[i].kind;
			break;
		}
	pthread_mutex_unlock(&rlock);
	return kind;
}

cudaError_t mock_cudaDeviceGetAttribute(int *v, enum cudaDeviceAttr a, int d)
{
	*v = 1;
	return cudaSuccess;
}

/* the copy kernel of --stage-copy kernel (a thread) */
static struct {
	struct fil_gpu_kslot *slots;
	const char *bufs;
	uint64_t slot_bytes;
	char *dst;
	uint32_t n;
	cudaStream_t st;
	pthread_t th;
	_Atomic int running;
	int started, joined, fault;
} kc;
static _Atomic long kc_pubs, kc_bytes, kc_ended;

static void kc_check_running(const char *what)
{
	if (atomic_load(&kc.running)) {
		fprintf(stderr, "mock: %s while the copy kernel runs\n", what);
		abort();
	}
}

cudaError_t mock_cudaDeviceSynchronize(void)
{
	kc_check_running("cudaDeviceSynchronize (it would wait for the kernel for ever)");
	return cudaSuccess;
}

cudaError_t mock_cudaEventCreateWithFlags(cudaEvent_t *e, unsigned f)
{
	*e = malloc(8);
	return *e ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t mock_cudaEventDestroy(cudaEvent_t e)
{
	free(e);
	return cudaSuccess;
}

cudaError_t mock_cudaEventRecord(cudaEvent_t e, cudaStream_t s)
{
	return cudaSuccess;
}

cudaError_t mock_cudaEventSynchronize(cudaEvent_t e)
{
	const char *us = getenv("MOCK_EVENT_WAIT_US"); /* a copy that takes its time */

	if (us)
		usleep((useconds_t)atoi(us));
	return cudaSuccess;
}

/* "GPU memory": memfd mappings, so homid can map them too */
struct galloc {
	void *p;
	size_t n;
	int fd;
};
static struct galloc gallocs[256];
static pthread_mutex_t glock = PTHREAD_MUTEX_INITIALIZER;

cudaError_t mock_cudaFree(void *p)
{
	pthread_mutex_lock(&glock);
	for (int i = 0; p && i < 256; i++)
		if (gallocs[i].p == p) {
			munmap(p, gallocs[i].n);
			close(gallocs[i].fd);
			gallocs[i].p = NULL;
			pthread_mutex_unlock(&glock);
			return cudaSuccess;
		}
	pthread_mutex_unlock(&glock);
	if (p) {
		fprintf(stderr, "mock: cudaFree(%p): not an allocation\n", p);
		abort();
	}
	return cudaSuccess;
}

cudaError_t mock_cudaFreeHost(void *p)
{
	if (p && (p == (void *)kc.slots || p == (void *)kc.bufs))
		kc_check_running("cudaFreeHost of its slots");
	if (!range_del(p, 2))
		range_del(p, 3);
	free(p);
	return cudaSuccess;
}

cudaError_t mock_cudaGetDevice(int *d)
{
	*d = 0;
	return cudaSuccess;
}

cudaError_t mock_cudaGetLastError(void)
{
	return cudaSuccess;
}

cudaError_t mock_cudaHostAlloc(void **p, size_t n, unsigned f)
{
	void *h = malloc(n);

	*p = h;
	if (!h)
		return cudaErrorMemoryAllocation;
	range_add(h, n, f & cudaHostAllocMapped ? 3 : 2);
	return cudaSuccess;
}

cudaError_t mock_cudaHostRegister(void *p, size_t n, unsigned f)
{
	volatile const char *c = p;

	if (getenv("MOCK_REG_FAIL") && (atomic_fetch_add(&refused, 1) & 1))
		return cudaErrorNotSupported;
	if (((unsigned long)p | n) & 4095) {
		fprintf(stderr, "mock: cudaHostRegister(%p, %zu) not on page boundaries\n", p, n);
		abort();
	}
	for (size_t i = 0; i < n; i += 4096) /* the pages must be there, as when pinning */
		(void)c[i];
	atomic_fetch_add(&regs, 1);
	range_add(p, n, 1);
	return cudaSuccess;
}

cudaError_t mock_cudaHostGetDevicePointer(void **d, void *p, unsigned f)
{
	int kind = range_kind(p, 1);

	if (kind != 1 && kind != 3)
		return cudaErrorInvalidValue; /* only registered and mapped memory have a device address */
	*d = p;
	return cudaSuccess;
}

cudaError_t mock_cudaHostUnregister(void *p)
{
	if (!range_del(p, 1)) {
		fprintf(stderr, "mock: cudaHostUnregister(%p): not registered\n", p);
		abort();
	}
	atomic_fetch_add(&unregs, 1);
	return cudaSuccess;
}

cudaError_t mock_cudaMalloc(void **p, size_t n)
{
	size_t len = (n + 4095) & ~(size_t)4095;
	int fd = memfd_create("mock-gpu", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *m = MAP_FAILED;

	*p = NULL;
	if (fd < 0)
		return cudaErrorMemoryAllocation;
	if (!ftruncate(fd, (off_t)(len ? len : 4096)) && !fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL))
		m = mmap(NULL, len ? len : 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		close(fd);
		return cudaErrorMemoryAllocation;
	}
	pthread_mutex_lock(&glock);
	for (int i = 0; i < 256; i++)
		if (!gallocs[i].p) {
			gallocs[i] = (struct galloc){ m, len ? len : 4096, fd };
			*p = m;
			break;
		}
	pthread_mutex_unlock(&glock);
	if (!*p) {
		fprintf(stderr, "mock: more than 256 GPU allocations\n");
		abort();
	}
	return cudaSuccess;
}

/* homid cannot open a GPU allocation of the stand-in: MEM_REG of its memfd instead of GPU_MEM_REG */
int aisio_gpu_homi_mem_reg(struct aisio_dev *dev, void *ptr, size_t len, uint32_t *mem_id, uint64_t *bus)
{
	struct aisio_homi_conn *conn = aisio_homi_dev_conn(dev);
	struct aisio_homi_mem_reg req = { .len = len };
	struct aisio_homi_mem_reg_reply rep;
	int fd = -1, err;

	pthread_mutex_lock(&glock);
	for (int i = 0; i < 256; i++)
		if (gallocs[i].p == ptr && gallocs[i].n >= len && len + 4096 > gallocs[i].n)
			fd = gallocs[i].fd;
	pthread_mutex_unlock(&glock);
	if (!conn)
		return aisio_err(-EINVAL, "not a homi: device");
	if (fd < 0)
		return aisio_err(-EINVAL, "mock: %p (%zu bytes) is not a whole allocation of the stand-in", ptr, len);
	req.len = (len + 4095) & ~(uint64_t)4095;
	err = aisio_homi_call(conn, AISIO_HOMI_MEM_REG, &req, sizeof(req), fd, &rep, sizeof(rep), NULL, NULL);
	if (err)
		return err;
	atomic_fetch_add(&homid_regs, 1);
	*mem_id = rep.mem_id;
	*bus = rep.bus;
	return 0;
}

int aisio_gpu_homi_mem_unreg(struct aisio_dev *dev, uint32_t mem_id)
{
	struct aisio_homi_mem_unreg u = { .mem_id = mem_id };
	int err = aisio_homi_call(aisio_homi_dev_conn(dev), AISIO_HOMI_MEM_UNREG, &u, sizeof(u), -1, NULL, 0, NULL,
				  NULL);

	if (!err)
		atomic_fetch_add(&homid_unregs, 1);
	return err;
}

int fil_gpu_mem_reg(struct aisio_dev *dev, void *ptr, size_t len, uint32_t *mem_id, uint64_t *bus)
{
	return aisio_gpu_homi_mem_reg(dev, ptr, len, mem_id, bus);
}

int fil_gpu_mem_unreg(struct aisio_dev *dev, uint32_t mem_id)
{
	return aisio_gpu_homi_mem_unreg(dev, mem_id);
}

/* gpu-nvme on emu: the model would move data with the GPU's copy engines */
int fgn_emu_open(struct fil_run *r, size_t len, struct fgn_io *io)
{
	memset(io, 0, sizeof(*io));
	return fil_fail(r, -ENOTSUP, "the CUDA stand-in has no copy engines for an in-process device model: "
			"--path gpu-nvme emu: runs on a GPU host");
}

/*
 * GPU threads are beyond the stand-in: the launch checks what the host
 * handed over instead (every GPU queue, the tables against the run's
 * files, the buffers on pages) and says what it found, then refuses, or
 * with MOCK_LAUNCH_HANG=1 waits to be killed (homid must take the queues
 * and memory back).
 */
int fil_gpu_nvme_launch(const struct fgn_params *p, double *gpu_s)
{
	uint64_t ext_bytes = 0, nfiles = 0, nexts = 0, ps = 1ull << p->page_shift;

	*gpu_s = 0;
	for (uint32_t i = 0; i < p->nq; i++)
		if (!p->qps[i]) {
			fprintf(stderr, "mock: GPU queue %u of %u missing\n", i, p->nq);
			return cudaErrorInvalidValue;
		}
	for (uint64_t u = 0; u < p->nunits; u++)
		if (p->units[u].file + 1 > nfiles)
			nfiles = p->units[u].file + 1;
	for (uint64_t f = 0; f < nfiles; f++) {
		const struct fgn_file *fl = &p->files[f];
		uint64_t covered = 0;

		for (uint32_t k = 0; k < fl->next; k++)
			covered += p->exts[fl->ext_first + k].len;
		if (covered < fl->size) {
			fprintf(stderr, "mock: file %llu: extents cover %llu of %llu bytes\n", (unsigned long long)f,
				(unsigned long long)covered, (unsigned long long)fl->size);
			return cudaErrorInvalidValue;
		}
		if (fl->dst_off % 4096 || (p->dst_bus + fl->dst_off) % ps) {
			fprintf(stderr, "mock: file %llu lands off a page\n", (unsigned long long)f);
			return cudaErrorInvalidValue;
		}
		ext_bytes += covered;
		nexts += fl->next;
	}
	if (!p->lists || p->lists_bus % ps || p->max_cmd % ps || !p->max_cmd) {
		fprintf(stderr, "mock: PRP list pages or command size not on pages\n");
		return cudaErrorInvalidValue;
	}
	fprintf(stderr, "mock: launch of %u queues x %u threads: %llu units, %llu files, %llu extents (%llu bytes)\n",
		p->nq, p->tpq, (unsigned long long)p->nunits, (unsigned long long)nfiles, (unsigned long long)nexts,
		(unsigned long long)ext_bytes);
	if (getenv("MOCK_LAUNCH_HANG")) {
		fprintf(stderr, "mock: waiting to be killed\n");
		for (;;)
			pause();
	}
	return cudaErrorNotSupported;
}

cudaError_t mock_cudaGetDeviceCount(int *n)
{
	*n = 1;
	return cudaSuccess;
}

cudaError_t mock_cudaGetDeviceProperties(struct cudaDeviceProp *p, int d)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "CUDA stand-in");
	return d ? cudaErrorInvalidDevice : cudaSuccess;
}

cudaError_t mock_cudaMemGetInfo(size_t *f, size_t *t)
{
	*f = *t = 4ull << 30;
	return cudaSuccess;
}

cudaError_t mock_cudaMemcpy(void *d, const void *s, size_t n, enum cudaMemcpyKind k)
{
	memcpy(d, s, n);
	return cudaSuccess;
}

cudaError_t mock_cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind k,
				 cudaStream_t st)
{
	int kind = range_kind(s, n);

	atomic_fetch_add(kind == 1 ? &from_reg : kind ? &from_pinned : &from_pageable, 1);
	atomic_fetch_add(&copies, 1);
	memcpy(d, s, n);
	return cudaSuccess;
}

cudaError_t mock_cudaMemset(void *p, int v, size_t n)
{
	memset(p, v, n);
	return cudaSuccess;
}

cudaError_t mock_cudaSetDevice(int d)
{
	return cudaSuccess;
}

cudaError_t mock_cudaSetDeviceFlags(unsigned f)
{
	return cudaSuccess;
}

cudaError_t mock_cudaStreamCreateWithFlags(cudaStream_t *s, unsigned f)
{
	*s = malloc(8);
	return *s ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t mock_cudaStreamDestroy(cudaStream_t s)
{
	if (s && s == kc.st)
		kc_check_running("cudaStreamDestroy of its stream");
	free(s);
	return cudaSuccess;
}

cudaError_t mock_cudaStreamSynchronize(cudaStream_t s)
{
	if (s && s == kc.st)
		kc_check_running("cudaStreamSynchronize of its stream (it would wait for ever)");
	return cudaSuccess;
}

cudaError_t mock_cudaStreamQuery(cudaStream_t s)
{
	if (s && s == kc.st) {
		if (atomic_load(&kc.running))
			return cudaErrorNotReady;
		if (kc.started && !kc.joined) {
			pthread_join(kc.th, NULL);
			kc.joined = 1;
		}
		if (kc.fault)
			return cudaErrorIllegalAddress;
	}
	return cudaSuccess;
}

/* Is [p, p + n) inside one "GPU memory" allocation? */
static int in_galloc(const char *p, uint64_t n)
{
	int ok = 0;

	pthread_mutex_lock(&glock);
	for (int i = 0; i < 256; i++)
		if (gallocs[i].p && p >= (char *)gallocs[i].p && p + n <= (char *)gallocs[i].p + gallocs[i].n)
			ok = 1;
	pthread_mutex_unlock(&glock);
	return ok;
}

/*
 * The copy kernel: every slot served in turn by the blocks' protocol (an
 * acquire load of seq, then dst_off and len; the copy; a release store of
 * done). It aborts when the host breaks the protocol: a slot published again
 * before it was handed back (seq must go up by one), more bytes than a slot
 * holds, a source outside mapped pinned memory, a destination outside GPU
 * memory. MOCK_KCOPY_STALL=1: a stuck GPU, which hands nothing back but ends
 * a block when told to. MOCK_KCOPY_FAULT=1: a kernel that faults at once (its
 * stream then reports cudaErrorIllegalAddress).
 */
static void *kcopy_thread(void *arg)
{
	uint64_t *seen = calloc(kc.n, sizeof(*seen));
	char *ended = calloc(kc.n, 1);
	uint32_t left = kc.n;
	const int stall = getenv("MOCK_KCOPY_STALL") != NULL;

	if (!seen || !ended)
		abort();
	if (getenv("MOCK_KCOPY_FAULT")) {
		kc.fault = 1;
		left = 0;
	}
	while (left) {
		int busy = 0;

		for (uint32_t i = 0; i < kc.n; i++) {
			struct fil_gpu_kslot *s = &kc.slots[i];
			const char *src = kc.bufs + (uint64_t)i * kc.slot_bytes;
			uint64_t v, off, len;

			if (ended[i])
				continue;
			v = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
			if (v == seen[i])
				continue;
			if (v == FIL_GPU_KSLOT_STOP) {
				ended[i] = 1;
				left--;
				atomic_fetch_add(&kc_ended, 1);
				continue;
			}
			if (stall)
				continue;
			if (v != seen[i] + 1) {
				fprintf(stderr, "mock: copy kernel: slot %u published as %llu after %llu: published "
					"again before it was handed back\n", i, (unsigned long long)v,
					(unsigned long long)seen[i]);
				abort();
			}
			off = __atomic_load_n(&s->dst_off, __ATOMIC_RELAXED);
			len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
			if (len > kc.slot_bytes || (len && (range_kind(src, len) != 3 || !in_galloc(kc.dst + off, len)))) {
				fprintf(stderr, "mock: copy kernel: slot %u: %llu bytes to GPU offset %llu: larger than "
					"a slot, not from mapped pinned memory or not into GPU memory\n", i,
					(unsigned long long)len, (unsigned long long)off);
				abort();
			}
			memcpy(kc.dst + off, src, len);
			atomic_fetch_add(&kc_pubs, 1);
			atomic_fetch_add(&kc_bytes, (long)len);
			seen[i] = v;
			__atomic_store_n(&s->done, v, __ATOMIC_RELEASE);
			busy = 1;
		}
		if (!busy)
			usleep(20);
	}
	free(seen);
	free(ended);
	atomic_store(&kc.running, 0);
	return NULL;
}

/* MOCK_KCOPY_BLOCKS=N: the "GPU" holds N resident blocks of the copy kernel (default 64). */
int fil_gpu_kcopy_blocks(int *blocks)
{
	const char *b = getenv("MOCK_KCOPY_BLOCKS");

	*blocks = b ? atoi(b) : 64;
	return cudaSuccess;
}

int fil_gpu_kcopy_launch(struct fil_gpu_kslot *slots, uint32_t nslots, const char *bufs, uint64_t slot_bytes,
			 char *dst, cudaStream_t st)
{
	if (kc.started) {
		fprintf(stderr, "mock: a second copy kernel\n");
		abort();
	}
	if (range_kind(slots, nslots * sizeof(*slots)) != 3 || range_kind(bufs, nslots * slot_bytes) != 3) {
		fprintf(stderr, "mock: copy kernel: slots not in mapped pinned memory\n");
		abort();
	}
	kc = (typeof(kc)){ .slots = slots, .bufs = bufs, .slot_bytes = slot_bytes, .dst = dst, .n = nslots,
			   .st = st, .running = 1, .started = 1 };
	if (pthread_create(&kc.th, NULL, kcopy_thread, NULL)) {
		atomic_store(&kc.running, 0);
		kc.started = 0;
		return cudaErrorLaunchFailure;
	}
	return cudaSuccess;
}

/* The check kernel, on the CPU, word by word as on the GPU. */
int fil_gpu_verify_launch(const void *dst, const struct fil_gpu_seg *segs, uint64_t nseg,
			  struct fil_gpu_bad *bad, cudaStream_t st)
{
	const unsigned char *d = dst;

	for (uint64_t s = 0; s < nseg; s++) {
		const struct fil_gpu_seg *g = &segs[s];

		for (uint32_t i = 0; i < g->len; i++) {
			if (d[g->dst_off + i] == aisio_pattern_byte(g->seed, g->file_off + i))
				continue;
			if (s * FIL_GPU_SEG_MAX + i < bad->key)
				bad->key = s * FIL_GPU_SEG_MAX + i;
			bad->count++;
		}
	}
	return cudaSuccess;
}

/* The zero-copy kernel, on the CPU. */
int fil_gpu_zcopy_launch(void *dst, const void *src, uint64_t len, cudaStream_t st)
{
	if (len % 16 || range_kind(src, len) != 1) {
		fprintf(stderr, "mock: zero-copy of %llu bytes from %p: not registered or not 16-byte sized\n",
			(unsigned long long)len, src);
		abort();
	}
	memcpy(dst, src, len);
	return cudaSuccess;
}

__attribute__((destructor)) static void mock_report(void)
{
	fprintf(stderr, "mock: %ld registrations, %ld unregistrations, %ld copies (%ld from registered "
		"pages, %ld from pinned memory, %ld from pageable memory); at most %ld registered at once\n",
		atomic_load(&regs), atomic_load(&unregs), atomic_load(&copies), atomic_load(&from_reg),
		atomic_load(&from_pinned), atomic_load(&from_pageable), reg_most);
	if (kc.started)
		fprintf(stderr, "mock: copy kernel: %u slots, %ld publications copied (%ld bytes), %ld slots told "
			"to end\n", kc.n, atomic_load(&kc_pubs), atomic_load(&kc_bytes), atomic_load(&kc_ended));
	if (atomic_load(&kc.running)) {
		fprintf(stderr, "mock: the copy kernel still runs at exit\n");
		_exit(3);
	}
	if (atomic_load(&homid_regs))
		fprintf(stderr, "mock: %ld GPU memory registrations with homid, %ld unregistrations\n",
			atomic_load(&homid_regs), atomic_load(&homid_unregs));
	if (atomic_load(&regs) != atomic_load(&unregs) || atomic_load(&homid_regs) != atomic_load(&homid_unregs))
		_exit(3);
}
