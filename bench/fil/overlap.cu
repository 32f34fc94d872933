/* SPDX-License-Identifier: MIT */
/*
 * overlap FILE [PIECE_MIB]: does registering page-cache pages overlap with
 * copying already registered pages to the GPU? The kernel path's map mode
 * (aisio fil run --path gpu --xfer map --pipe) registers a piece of a
 * page-cached file while the copy engine reads the piece before it; when
 * the two serialise, the pipeline gets half the copy ceiling.
 *
 * Phases, each timed on its own (one JSON object a line):
 *   alone:     register every piece (1 thread), copy them all, unregister all;
 *   overlap:   copy the first half while another thread registers the second;
 *   pipe:      registrar + releaser threads, copies on 2 streams (as fil run);
 *   pipe-sm:   the same with GPU threads copying (zero-copy) instead of the
 *              copy engine;
 *   pageable:  cudaMemcpy straight from the unregistered mapping;
 *   hmm:       GPU threads reading the unregistered mapping, when the device
 *              reports pageable memory access;
 *   anon-4k / anon-thp: registration speed of anonymous memory with 4 KiB
 *              pages and with transparent huge pages.
 * Build: nvcc -O2 -arch=sm_90 -o overlap bench/fil/overlap.cu -lpthread
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cuda_runtime.h>

#define CK(x)                                                                                  \
	do {                                                                                   \
		cudaError_t e_ = (x);                                                          \
		if (e_ != cudaSuccess) {                                                       \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x,           \
				cudaGetErrorString(e_));                                       \
			exit(1);                                                               \
		}                                                                              \
	} while (0)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static int fd;
static uint64_t fsize, piece, npieces;
static char **maps;
static char *dst;
static const unsigned regflags = cudaHostRegisterReadOnly | cudaHostRegisterPortable;

static uint64_t plen(uint64_t i)
{
	return fsize - i * piece < piece ? fsize - i * piece : piece;
}

static void map_all(void)
{
	for (uint64_t i = 0; i < npieces; i++) {
		maps[i] = (char *)mmap(NULL, plen(i), PROT_READ, MAP_SHARED, fd, (off_t)(i * piece));
		if (maps[i] == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
	}
}

static void unmap_all(void)
{
	for (uint64_t i = 0; i < npieces; i++)
		munmap(maps[i], plen(i));
}

static void reg_range(uint64_t a, uint64_t b)
{
	for (uint64_t i = a; i < b; i++)
		CK(cudaHostRegister(maps[i], plen(i), regflags));
}

static void unreg_range(uint64_t a, uint64_t b)
{
	for (uint64_t i = a; i < b; i++)
		CK(cudaHostUnregister(maps[i]));
}

__global__ void sm_copy(const uint4 *__restrict__ src, uint4 *__restrict__ d, uint64_t n)
{
	for (uint64_t i = blockIdx.x * (uint64_t)blockDim.x + threadIdx.x; i < n;
	     i += (uint64_t)gridDim.x * blockDim.x)
		d[i] = src[i];
}

static void copy_range(uint64_t a, uint64_t b, cudaStream_t st, int sm)
{
	for (uint64_t i = a; i < b; i++) {
		if (sm) {
			void *dp;

			CK(cudaHostGetDevicePointer(&dp, maps[i], 0));
			sm_copy<<<1056, 512, 0, st>>>((const uint4 *)dp, (uint4 *)(dst + i * piece), plen(i) / 16);
		} else {
			CK(cudaMemcpyAsync(dst + i * piece, maps[i], plen(i), cudaMemcpyHostToDevice, st));
		}
	}
}

static void out(const char *phase, const char *what, uint64_t bytes, double s, const char *extra)
{
	printf("{\"phase\":\"%s\",\"what\":\"%s\",\"piece_mib\":%llu,\"bytes\":%llu,\"s\":%.5f,\"gbps\":%.2f%s%s}\n",
	       phase, what, (unsigned long long)(piece >> 20), (unsigned long long)bytes, s, bytes / s / 1e9,
	       extra ? "," : "", extra ? extra : "");
	fflush(stdout);
}

struct regarg {
	uint64_t a, b;
	double t;
};

static void *reg_thread(void *v)
{
	struct regarg *ra = (struct regarg *)v;
	double t0 = now();

	reg_range(ra->a, ra->b);
	ra->t = now() - t0;
	return NULL;
}

/* the pipeline: registrar registers and queues, releaser waits and unregisters */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t queued, released;
	cudaEvent_t *ev;
	uint64_t ahead;
	int skip;
	uint64_t skip_from;
} P;

static void *releaser(void *v)
{
	(void)v;
	for (uint64_t i = 0; i < npieces; i++) {
		pthread_mutex_lock(&P.mu);
		while (P.queued <= i)
			pthread_cond_wait(&P.cv, &P.mu);
		pthread_mutex_unlock(&P.mu);
		if (P.skip && i >= P.skip_from)
			break;
		CK(cudaEventSynchronize(P.ev[i]));
		CK(cudaHostUnregister(maps[i]));
		pthread_mutex_lock(&P.mu);
		P.released++;
		pthread_cond_broadcast(&P.cv);
		pthread_mutex_unlock(&P.mu);
	}
	return NULL;
}

static double pipeline(int sm, int nreg_threads_unused)
{
	cudaStream_t st[2];
	pthread_t rel;
	double t0;

	(void)nreg_threads_unused;
	for (int i = 0; i < 2; i++)
		CK(cudaStreamCreateWithFlags(&st[i], cudaStreamNonBlocking));
	P.ev = (cudaEvent_t *)calloc(npieces, sizeof(*P.ev));
	for (uint64_t i = 0; i < npieces; i++)
		CK(cudaEventCreateWithFlags(&P.ev[i], cudaEventDisableTiming | cudaEventBlockingSync));
	pthread_mutex_init(&P.mu, NULL);
	pthread_cond_init(&P.cv, NULL);
	P.queued = P.released = 0;
	t0 = now();
	pthread_create(&rel, NULL, releaser, NULL);
	for (uint64_t i = 0; i < npieces; i++) {
		pthread_mutex_lock(&P.mu);
		while (i - P.released >= P.ahead)
			pthread_cond_wait(&P.cv, &P.mu);
		pthread_mutex_unlock(&P.mu);
		CK(cudaHostRegister(maps[i], plen(i), regflags));
		copy_range(i, i + 1, st[i & 1], sm);
		CK(cudaEventRecord(P.ev[i], st[i & 1]));
		pthread_mutex_lock(&P.mu);
		P.queued++;
		pthread_cond_broadcast(&P.cv);
		pthread_mutex_unlock(&P.mu);
	}
	pthread_join(rel, NULL);
	t0 = now() - t0;
	for (uint64_t i = 0; i < npieces; i++)
		cudaEventDestroy(P.ev[i]);
	free(P.ev);
	for (int i = 0; i < 2; i++)
		cudaStreamDestroy(st[i]);
	return t0;
}

static void anon_probe(const char *what, int thp)
{
	const size_t len = 1ull << 30;
	char *m = (char *)mmap(NULL, len + (2u << 20), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0, t1, t2;

	if (m == MAP_FAILED)
		return;
	m = (char *)(((uintptr_t)m + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	madvise(m, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(m, 1, len);
	t0 = now();
	CK(cudaHostRegister(m, len, cudaHostRegisterPortable));
	t1 = now();
	CK(cudaHostUnregister(m));
	t2 = now();
	out("anon", what, len, t1 - t0, NULL);
	out("anon-unreg", what, len, t2 - t1, NULL);
}

/* unregistration while the copy engine reads other registered pieces */
static void unreg_overlap(cudaStream_t s0)
{
	uint64_t h = npieces / 2, hb = h * piece;
	double t0, tc, tu;
	map_all();
	reg_range(0, npieces);
	t0 = now();
	copy_range(0, h, s0, 0);
	{
		double u0 = now();

		unreg_range(h, npieces);
		tu = now() - u0;
	}
	CK(cudaStreamSynchronize(s0));
	tc = now() - t0;
	out("overlap", "copy-ce-while-unregister", hb, tc, NULL);
	out("overlap", "unregister-while-copy-ce", fsize - hb, tu, NULL);
	unreg_range(0, h);
	unmap_all();
}

/*
 * The registrar registers pieces from the front and queues their copies;
 * NSTAGE staging threads pread 8 MiB chunks from the back into pinned
 * buffers and copy them on their own streams; they meet in the middle.
 * unreg: 0 = at the end (timed), 1 = a releaser thread as fil run does.
 */
#define SCHUNK (8ull << 20)
static uint64_t front_b, back_b; /* under claim_mu */
static pthread_mutex_t claim_mu = PTHREAD_MUTEX_INITIALIZER;

/* The registrar takes [off, off + len) from the front unless the stagers reached it. */
static int claim_front(uint64_t off, uint64_t len)
{
	int ok;

	pthread_mutex_lock(&claim_mu);
	ok = off + len <= fsize - back_b;
	if (ok)
		front_b = off + len;
	pthread_mutex_unlock(&claim_mu);
	return ok;
}

/* A stager takes the next chunk (at most SCHUNK) from the back; 0 when the two ends met. */
static int claim_back(uint64_t *off, uint64_t *len)
{
	uint64_t e;

	pthread_mutex_lock(&claim_mu);
	e = fsize - back_b;
	*off = e - front_b > SCHUNK ? e - SCHUNK : front_b;
	back_b = fsize - *off;
	pthread_mutex_unlock(&claim_mu);
	*len = e - *off;
	return *off < e;
}
static uint64_t sm_staged; /* bytes claimed from each end */

struct stager {
	pthread_t th;
	char *buf[2];
	cudaStream_t st;
	cudaEvent_t ev[2];
	uint64_t bytes;
};

static void *stage_thread(void *v)
{
	struct stager *sg = (struct stager *)v;
	int k = 0;

	for (;;) {
		uint64_t off, len;

		if (!claim_back(&off, &len))
			break;
		CK(cudaEventSynchronize(sg->ev[k]));
		if (pread(fd, sg->buf[k], len, (off_t)off) != (ssize_t)len) {
			perror("pread");
			exit(1);
		}
		CK(cudaMemcpyAsync(dst + off, sg->buf[k], len, cudaMemcpyHostToDevice, sg->st));
		CK(cudaEventRecord(sg->ev[k], sg->st));
		sg->bytes += len;
		k ^= 1;
	}
	CK(cudaStreamSynchronize(sg->st));
	return NULL;
}

static double hybrid(int nstage, int releaser_on)
{
	struct stager sg[8];
	cudaStream_t st[2];
	pthread_t rel;
	uint64_t i, done_pieces = 0, reg_bytes = 0;
	double t0;

	memset(sg, 0, sizeof(sg));
	for (int k = 0; k < nstage; k++) {
		CK(cudaHostAlloc((void **)&sg[k].buf[0], SCHUNK, cudaHostAllocPortable));
		CK(cudaHostAlloc((void **)&sg[k].buf[1], SCHUNK, cudaHostAllocPortable));
		CK(cudaStreamCreateWithFlags(&sg[k].st, cudaStreamNonBlocking));
		CK(cudaEventCreateWithFlags(&sg[k].ev[0], cudaEventDisableTiming));
		CK(cudaEventCreateWithFlags(&sg[k].ev[1], cudaEventDisableTiming));
	}
	for (int k = 0; k < 2; k++)
		CK(cudaStreamCreateWithFlags(&st[k], cudaStreamNonBlocking));
	P.ev = (cudaEvent_t *)calloc(npieces, sizeof(*P.ev));
	for (i = 0; i < npieces; i++)
		CK(cudaEventCreateWithFlags(&P.ev[i], cudaEventDisableTiming | cudaEventBlockingSync));
	pthread_mutex_init(&P.mu, NULL);
	pthread_cond_init(&P.cv, NULL);
	P.queued = P.released = 0;
	P.skip = 0;
	front_b = back_b = 0;
	map_all();
	t0 = now();
	for (int k = 0; k < nstage; k++)
		pthread_create(&sg[k].th, NULL, stage_thread, &sg[k]);
	if (releaser_on)
		pthread_create(&rel, NULL, releaser, NULL);
	for (i = 0; i < npieces; i++) {
		uint64_t off = i * piece, len = plen(i);

		if (!claim_front(off, len))
			break;
		if (releaser_on) {
			pthread_mutex_lock(&P.mu);
			while (i - P.released >= P.ahead)
				pthread_cond_wait(&P.cv, &P.mu);
			pthread_mutex_unlock(&P.mu);
		}
		CK(cudaHostRegister(maps[i], len, regflags));
		copy_range(i, i + 1, st[i & 1], 0);
		CK(cudaEventRecord(P.ev[i], st[i & 1]));
		reg_bytes += len;
		done_pieces++;
		if (releaser_on) {
			pthread_mutex_lock(&P.mu);
			P.queued++;
			pthread_cond_broadcast(&P.cv);
			pthread_mutex_unlock(&P.mu);
		}
	}
	if (releaser_on) {
		/* the releaser stops after the registered pieces */
		pthread_mutex_lock(&P.mu);
		P.skip = 1;
		P.skip_from = done_pieces;
		P.queued = npieces;
		pthread_cond_broadcast(&P.cv);
		pthread_mutex_unlock(&P.mu);
	}
	for (int k = 0; k < nstage; k++)
		pthread_join(sg[k].th, NULL);
	CK(cudaStreamSynchronize(st[0]));
	CK(cudaStreamSynchronize(st[1]));
	if (releaser_on)
		pthread_join(rel, NULL);
	else
		unreg_range(0, done_pieces);
	t0 = now() - t0;
	{
		char extra[160];
		uint64_t sb = 0;

		for (int k = 0; k < nstage; k++)
			sb += sg[k].bytes;
		snprintf(extra, sizeof(extra), "\"stagers\":%d,\"releaser\":%d,\"reg_bytes\":%llu,\"staged_bytes\":%llu",
			 nstage, releaser_on, (unsigned long long)reg_bytes, (unsigned long long)sb);
		out("hybrid", "hybrid", fsize, t0, extra);
	}
	unmap_all();
	for (int k = 0; k < nstage; k++) {
		cudaFreeHost(sg[k].buf[0]);
		cudaFreeHost(sg[k].buf[1]);
		cudaStreamDestroy(sg[k].st);
		cudaEventDestroy(sg[k].ev[0]);
		cudaEventDestroy(sg[k].ev[1]);
	}
	for (i = 0; i < npieces; i++)
		cudaEventDestroy(P.ev[i]);
	free(P.ev);
	for (int k = 0; k < 2; k++)
		cudaStreamDestroy(st[k]);
	return t0;
}

/*
 * Staging without CUDA calls: the stagers pread into slots of mapped pinned
 * memory and publish them; a persistent kernel (one block a slot) copies
 * each published slot into GPU memory with loads over PCIe and hands it
 * back. No stager ever waits for the driver lock a registration holds.
 */
#define NSLOT_PER 3
struct smslot {
	volatile uint64_t ready, done, off, len;
	uint64_t pad[4];
};
static struct smslot *smslots;  /* host pointer */
static char *smbuf;              /* host pointer, NSLOTS * SCHUNK */
#define STOP (~0ull)

__global__ void sm_stager(struct smslot *sl, const char *buf, char *d)
{
	__shared__ uint64_t r, off, len;
	struct smslot *s = &sl[blockIdx.x];
	const uint4 *src = (const uint4 *)(buf + (uint64_t)blockIdx.x * SCHUNK);
	uint64_t seen = 0;

	for (;;) {
		if (threadIdx.x == 0) {
			uint64_t v;

			while ((v = s->ready) == seen)
				__nanosleep(256);
			__threadfence_system();
			r = v;
			off = s->off;
			len = s->len;
		}
		__syncthreads();
		if (r == STOP)
			return;
		{
			uint4 *dd = (uint4 *)(d + off);
			uint64_t n = len / 16, i = threadIdx.x;

			for (; i + 3 * blockDim.x < n; i += 4 * blockDim.x) {
				uint4 a = src[i], b = src[i + blockDim.x], c = src[i + 2 * blockDim.x],
				      e = src[i + 3 * blockDim.x];
				dd[i] = a;
				dd[i + blockDim.x] = b;
				dd[i + 2 * blockDim.x] = c;
				dd[i + 3 * blockDim.x] = e;
			}
			for (; i < n; i += blockDim.x)
				dd[i] = src[i];
		}
		seen = r;
		__syncthreads();
		if (threadIdx.x == 0) {
			__threadfence_system();
			s->done = seen;
		}
	}
}

static void *sm_stage_thread(void *v)
{
	int id = (int)(intptr_t)v;
	uint64_t seq[NSLOT_PER] = { 0 };
	int k = 0;

	for (;;) {
		uint64_t off, len;
		struct smslot *sl = &smslots[id * NSLOT_PER + k];
		char *b = smbuf + (uint64_t)(id * NSLOT_PER + k) * SCHUNK;

		if (!claim_back(&off, &len))
			break;
		while (sl->done != seq[k])
			__builtin_ia32_pause();
		if (pread(fd, b, len, (off_t)off) != (ssize_t)len) {
			perror("pread");
			exit(1);
		}
		sl->off = off;
		sl->len = len;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		sl->ready = ++seq[k];
		__atomic_fetch_add(&sm_staged, len, __ATOMIC_RELAXED);
		k = (k + 1) % NSLOT_PER;
	}
	for (k = 0; k < NSLOT_PER; k++) {
		struct smslot *sl = &smslots[id * NSLOT_PER + k];

		while (sl->done != seq[k])
			__builtin_ia32_pause();
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		sl->ready = STOP;
	}
	return NULL;
}

static double hybrid_sm(int nstage)
{
	pthread_t th[8];
	cudaStream_t st[2], ks;
	uint64_t i, done_pieces = 0, reg_bytes = 0;
	struct smslot *dsl;
	char *dbuf;
	double t0;
	int nsl = nstage * NSLOT_PER;

	CK(cudaHostAlloc((void **)&smslots, nsl * sizeof(struct smslot), cudaHostAllocMapped | cudaHostAllocPortable));
	CK(cudaHostAlloc((void **)&smbuf, nsl * SCHUNK, cudaHostAllocMapped | cudaHostAllocPortable));
	memset(smslots, 0, nsl * sizeof(struct smslot));
	CK(cudaHostGetDevicePointer((void **)&dsl, smslots, 0));
	CK(cudaHostGetDevicePointer((void **)&dbuf, smbuf, 0));
	for (int k = 0; k < 2; k++)
		CK(cudaStreamCreateWithFlags(&st[k], cudaStreamNonBlocking));
	CK(cudaStreamCreateWithFlags(&ks, cudaStreamNonBlocking));
	sm_staged = 0;
	CK(cudaMemset(dst, 0, fsize));
	front_b = back_b = 0;
	map_all();
	sm_stager<<<nsl, 1024, 0, ks>>>(dsl, dbuf, dst);
	CK(cudaGetLastError());
	usleep(20000); /* the kernel is resident before the clock starts */
	t0 = now();
	for (int k = 0; k < nstage; k++)
		pthread_create(&th[k], NULL, sm_stage_thread, (void *)(intptr_t)k);
	for (i = 0; i < npieces; i++) {
		uint64_t off = i * piece, len = plen(i);
		if (!claim_front(off, len))
			break;
		CK(cudaHostRegister(maps[i], len, regflags));
		copy_range(i, i + 1, st[i & 1], 0);
		reg_bytes += len;
		done_pieces++;
	}
	for (int k = 0; k < nstage; k++)
		pthread_join(th[k], NULL);
	CK(cudaStreamSynchronize(st[0]));
	CK(cudaStreamSynchronize(st[1]));
	CK(cudaStreamSynchronize(ks));
	unreg_range(0, done_pieces);
	t0 = now() - t0;
	{
		char extra[160];

		snprintf(extra, sizeof(extra), "\"stagers\":%d,\"reg_bytes\":%llu,\"staged_bytes\":%llu", nstage,
			 (unsigned long long)reg_bytes, (unsigned long long)sm_staged);
		out("hybrid", "hybrid-sm", fsize, t0, extra);
	}
	/* the bytes landed: compare a sample with the file */
	{
		static char a[4096], b[4096];
		int bad = 0;

		for (uint64_t o = 0; o + 4096 <= fsize; o += fsize / 61 & ~4095ull) {
			CK(cudaMemcpy(a, dst + o, 4096, cudaMemcpyDeviceToHost));
			if (pread(fd, b, 4096, (off_t)o) != 4096 || memcmp(a, b, 4096))
				bad++;
		}
		if (bad)
			printf("{\"phase\":\"hybrid-sm\",\"mismatched_samples\":%d}\n", bad);
	}
	unmap_all();
	cudaFreeHost(smslots);
	cudaFreeHost(smbuf);
	for (int k = 0; k < 2; k++)
		cudaStreamDestroy(st[k]);
	cudaStreamDestroy(ks);
	return t0;
}

int main(int argc, char **argv)
{
	struct stat st;
	cudaStream_t s0;
	double t, t0;
	int hmm = 0, dev = 0;
	char extra[256];

	if (argc < 2) {
		fprintf(stderr, "usage: overlap FILE [PIECE_MIB] [AHEAD]\n");
		return 2;
	}
	piece = (argc > 2 ? strtoull(argv[2], NULL, 0) : 512) << 20;
	P.ahead = argc > 3 ? strtoull(argv[3], NULL, 0) : 4;
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[1]);
		return 1;
	}
	fsize = st.st_size & ~4095ull;
	npieces = (fsize + piece - 1) / piece;
	maps = (char **)calloc(npieces, sizeof(*maps));
	CK(cudaSetDevice(dev));
	CK(cudaFree(0));
	CK(cudaDeviceGetAttribute(&hmm, cudaDevAttrPageableMemoryAccess, dev));
	CK(cudaMalloc(&dst, fsize));
	CK(cudaStreamCreateWithFlags(&s0, cudaStreamNonBlocking));
	snprintf(extra, sizeof(extra), "\"pageable_memory_access\":%d", hmm);
	out("info", "device", 0, 1, extra);

	for (int round = 0; round < (getenv("OV_ROUNDS") ? atoi(getenv("OV_ROUNDS")) : 2); round++) {
		if (getenv("OV_QUICK"))
			goto v2;
		/* alone */
		map_all();
		t0 = now();
		reg_range(0, npieces);
		out("alone", "register", fsize, now() - t0, NULL);
		t0 = now();
		copy_range(0, npieces, s0, 0);
		CK(cudaStreamSynchronize(s0));
		out("alone", "copy-ce", fsize, now() - t0, NULL);
		t0 = now();
		copy_range(0, npieces, s0, 1);
		CK(cudaStreamSynchronize(s0));
		out("alone", "copy-sm", fsize, now() - t0, NULL);
		t0 = now();
		unreg_range(0, npieces);
		out("alone", "unregister", fsize, now() - t0, NULL);
		unmap_all();

		/* overlap: copy the first half while registering the second */
		for (int sm = 0; sm < 2; sm++) {
			struct regarg ra = { npieces / 2, npieces, 0 };
			uint64_t h = npieces / 2, hb = h * piece;
			pthread_t th;
			double tc;

			map_all();
			reg_range(0, h);
			/* copy alone first, as the reference for this half */
			t0 = now();
			copy_range(0, h, s0, sm);
			CK(cudaStreamSynchronize(s0));
			tc = now() - t0;
			out("overlap", sm ? "copy-sm-alone" : "copy-ce-alone", hb, tc, NULL);
			t0 = now();
			pthread_create(&th, NULL, reg_thread, &ra);
			copy_range(0, h, s0, sm);
			CK(cudaStreamSynchronize(s0));
			tc = now() - t0;
			pthread_join(th, NULL);
			out("overlap", sm ? "copy-sm-while-register" : "copy-ce-while-register", hb, tc, NULL);
			out("overlap", sm ? "register-while-copy-sm" : "register-while-copy-ce", fsize - hb, ra.t, NULL);
			unreg_range(0, npieces);
			unmap_all();
		}

		/* pipelines */
		for (int sm = 0; sm < 2; sm++) {
			map_all();
			t = pipeline(sm, 1);
			snprintf(extra, sizeof(extra), "\"ahead\":%llu", (unsigned long long)P.ahead);
			out("pipe", sm ? "pipe-sm" : "pipe-ce", fsize, t, extra);
			unmap_all();
		}

		/* v2: unregistration overlap, pipelines without a releaser, hybrids */
		unreg_overlap(s0);
	v2:
		hybrid(0, 0);
		for (int k = 1; k <= 3; k++)
			hybrid(k, 0);
		for (int k = 1; k <= 4; k++)
			hybrid_sm(k);

		/* pageable copy, no registration */
		map_all();
		t0 = now();
		for (uint64_t i = 0; i < npieces && i < 4; i++)
			CK(cudaMemcpy(dst + i * piece, maps[i], plen(i), cudaMemcpyHostToDevice));
		out("pageable", "cudaMemcpy", (npieces < 4 ? npieces : 4) * piece, now() - t0, NULL);
		if (hmm) {
			uint64_t hn = npieces < (2ull << 30) / piece ? npieces : (2ull << 30) / piece;

			for (int pass = 0; pass < 2; pass++) {
				t0 = now();
				for (uint64_t i = 0; i < hn; i++)
					sm_copy<<<1056, 512, 0, s0>>>((const uint4 *)maps[i], (uint4 *)(dst + i * piece),
								    plen(i) / 16);
				CK(cudaStreamSynchronize(s0));
				out("hmm", pass ? "sm-read-second" : "sm-read-first", hn * piece, now() - t0, NULL);
			}
		}
		unmap_all();
	}
	anon_probe("anon-4k", 0);
	anon_probe("anon-thp", 1);
	return 0;
}
