/* SPDX-License-Identifier: MIT */
/*
 * aisio fil regprobe FILE: where the time of --xfer map goes. For each piece
 * size and thread count, the threads map disjoint pieces of FILE (MAP_SHARED,
 * read-only, as fil run does) and register each with cudaHostRegister
 * (read-only); then unregister and unmap them all. Each phase is timed on
 * its own: GB/s of file registered, microseconds per call, CPU seconds. A
 * pass with MAP_POPULATE (page tables filled at mmap) shows whether faulting
 * the pages in is part of the cost.
 * Then the copy: 1 GiB (or the file, when smaller) to GPU memory, as one
 * cudaMemcpy and as 1 MiB cudaMemcpyAsync calls on one stream, from
 * registered file pages, from registered anonymous memory, and from
 * cudaHostAlloc memory, so a slow copy from page-cache pages shows itself;
 * and with no copy engine at all: GPU threads reading the registered file
 * pages through their device address (zero-copy) into GPU memory.
 * One JSON object a line with --json.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#include "fil.h"
#include "fil_gpu.h"

struct probe {
	int fd;
	uint64_t piece, bytes, npieces;
	int populate;
	char **maps;          /* one per piece */
	_Atomic uint64_t next;
	_Atomic int err;
	char errmsg[256];
};

static void probe_fail(struct probe *p, int err, const char *what, const char *why)
{
	int zero = 0;

	if (atomic_compare_exchange_strong(&p->err, &zero, err))
		snprintf(p->errmsg, sizeof(p->errmsg), "%s: %s", what, why);
}

static uint64_t piece_len(const struct probe *p, uint64_t i)
{
	uint64_t off = i * p->piece;

	return p->bytes - off < p->piece ? p->bytes - off : p->piece;
}

static void *reg_thread(void *arg)
{
	struct probe *p = arg;
	uint64_t i;

	while (!atomic_load(&p->err) && (i = atomic_fetch_add(&p->next, 1)) < p->npieces) {
		uint64_t len = piece_len(p, i);
		char *m = mmap(NULL, len, PROT_READ, MAP_SHARED | (p->populate ? MAP_POPULATE : 0), p->fd,
			       (off_t)(i * p->piece));
		cudaError_t e;

		if (m == MAP_FAILED) {
			probe_fail(p, -errno, "mmap", strerror(errno));
			break;
		}
		e = cudaHostRegister(m, len, cudaHostRegisterReadOnly | cudaHostRegisterPortable);
		if (e != cudaSuccess) {
			munmap(m, len);
			probe_fail(p, -EIO, "cudaHostRegister of file pages", cudaGetErrorString(e));
			break;
		}
		p->maps[i] = m;
	}
	return NULL;
}

static void *unreg_thread(void *arg)
{
	struct probe *p = arg;
	uint64_t i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->npieces) {
		if (!p->maps[i])
			continue;
		if (cudaHostUnregister(p->maps[i]) != cudaSuccess)
			probe_fail(p, -EIO, "cudaHostUnregister", "failed");
		munmap(p->maps[i], piece_len(p, i));
		p->maps[i] = NULL;
	}
	return NULL;
}

/* Run @fn on @nt threads over every piece; returns wall seconds. */
static double phase(struct probe *p, uint32_t nt, void *(*fn)(void *))
{
	pthread_t th[64];
	uint64_t t0 = fil_now_ns();
	uint32_t n = 0;

	atomic_store(&p->next, 0);
	for (; n < nt; n++)
		if (pthread_create(&th[n], NULL, fn, p))
			break;
	if (!n)
		fn(p);
	for (uint32_t i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return (double)(fil_now_ns() - t0) / 1e9;
}

static int probe_register(int fd, uint64_t bytes, uint64_t piece, uint32_t nt, int populate, int json)
{
	struct probe p = { .fd = fd, .piece = piece, .bytes = bytes, .populate = populate };
	double c0, c1, c2, treg, tunreg;

	p.npieces = (bytes + piece - 1) / piece;
	p.maps = calloc(p.npieces, sizeof(*p.maps));
	if (!p.maps) {
		fprintf(stderr, "aisio fil regprobe: out of memory\n");
		return -ENOMEM;
	}
	c0 = fil_cpu_s();
	treg = phase(&p, nt, reg_thread);
	c1 = fil_cpu_s();
	tunreg = phase(&p, nt, unreg_thread);
	c2 = fil_cpu_s();
	free(p.maps);
	if (atomic_load(&p.err)) {
		fprintf(stderr, "aisio fil regprobe: piece %" PRIu64 ", %u threads: %s\n", piece, nt, p.errmsg);
		return atomic_load(&p.err);
	}
	if (json)
		printf("{\"probe\":\"register\",\"piece\":%" PRIu64 ",\"threads\":%u,\"populate\":%d,"
		       "\"bytes\":%" PRIu64 ",\"calls\":%" PRIu64 ",\"reg_s\":%.4f,\"reg_gb_per_s\":%.3f,"
		       "\"reg_us_per_call\":%.1f,\"reg_cpu_s\":%.3f,\"unreg_s\":%.4f,\"unreg_gb_per_s\":%.3f,"
		       "\"unreg_cpu_s\":%.3f}\n",
		       piece, nt, populate, bytes, p.npieces, treg, (double)bytes / treg / 1e9,
		       treg * 1e6 * nt / (double)p.npieces, c1 - c0, tunreg, (double)bytes / tunreg / 1e9,
		       c2 - c1);
	else
		printf("register %8" PRIu64 " KiB pieces, %u threads%s: %7.2f GB/s, %8.1f us a call, CPU %.2f s;"
		       " unregister %7.2f GB/s, CPU %.2f s\n",
		       piece >> 10, nt, populate ? ", MAP_POPULATE" : "", (double)bytes / treg / 1e9,
		       treg * 1e6 * nt / (double)p.npieces, c1 - c0, (double)bytes / tunreg / 1e9, c2 - c1);
	return 0;
}

/* Copy @len bytes at @src to @dst: 4 whole copies, then 4 rounds of 1 MiB async copies. */
static int probe_copy(const char *what, const char *src, char *dst, uint64_t len, int json)
{
	double gb_whole, gb_1m;
	uint64_t t0;
	cudaError_t e = cudaMemcpy(dst, src, len, cudaMemcpyHostToDevice); /* warm */

	t0 = fil_now_ns();
	for (int k = 0; e == cudaSuccess && k < 4; k++)
		e = cudaMemcpy(dst, src, len, cudaMemcpyHostToDevice);
	gb_whole = 4.0 * (double)len / ((double)(fil_now_ns() - t0) / 1e9) / 1e9;
	t0 = fil_now_ns();
	for (int k = 0; e == cudaSuccess && k < 4; k++)
		for (uint64_t off = 0; e == cudaSuccess && off < len; off += 1u << 20)
			e = cudaMemcpyAsync(dst + off, src + off, len - off < (1u << 20) ? len - off : 1u << 20,
					    cudaMemcpyHostToDevice, NULL);
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	gb_1m = 4.0 * (double)len / ((double)(fil_now_ns() - t0) / 1e9) / 1e9;
	if (e != cudaSuccess) {
		fprintf(stderr, "aisio fil regprobe: copy from %s: %s\n", what, cudaGetErrorString(e));
		return -EIO;
	}
	if (json)
		printf("{\"probe\":\"copy\",\"from\":\"%s\",\"bytes\":%" PRIu64 ",\"whole_gb_per_s\":%.3f,"
		       "\"chunks_1m_gb_per_s\":%.3f}\n", what, len, gb_whole, gb_1m);
	else
		printf("copy from %-24s %" PRIu64 " bytes: one copy %.2f GB/s, 1 MiB copies %.2f GB/s\n", what,
		       len, gb_whole, gb_1m);
	fflush(stdout);
	return 0;
}

/* @m (file pages, mapped) registered for the GPU's loads; GPU threads copy it 4 times. */
static int probe_zcopy(char *m, char *dst, uint64_t len, int json)
{
	void *dp = NULL;
	uint64_t t0;
	double gbs;
	cudaError_t e = cudaHostRegister(m, len, cudaHostRegisterReadOnly | cudaHostRegisterMapped |
					 cudaHostRegisterPortable);

	if (e != cudaSuccess) {
		fprintf(stderr, "aisio fil regprobe: cudaHostRegister (mapped): %s\n", cudaGetErrorString(e));
		return -EIO;
	}
	e = cudaHostGetDevicePointer(&dp, m, 0);
	if (e == cudaSuccess)
		e = (cudaError_t)fil_gpu_zcopy_launch(dst, dp, len, NULL); /* warm */
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	t0 = fil_now_ns();
	for (int k = 0; e == cudaSuccess && k < 4; k++)
		e = (cudaError_t)fil_gpu_zcopy_launch(dst, dp, len, NULL);
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	gbs = 4.0 * (double)len / ((double)(fil_now_ns() - t0) / 1e9) / 1e9;
	cudaHostUnregister(m);
	if (e != cudaSuccess) {
		fprintf(stderr, "aisio fil regprobe: zero-copy kernel: %s\n", cudaGetErrorString(e));
		return -EIO;
	}
	if (json)
		printf("{\"probe\":\"copy\",\"from\":\"file pages by GPU threads\",\"bytes\":%" PRIu64
		       ",\"whole_gb_per_s\":%.3f,\"chunks_1m_gb_per_s\":null}\n", len, gbs);
	else
		printf("zero-copy kernel from registered file pages, %" PRIu64 " bytes: %.2f GB/s\n", len, gbs);
	fflush(stdout);
	return 0;
}

static int probe_copies(int fd, uint64_t fsize, int json)
{
	uint64_t len = fsize < (1ull << 30) ? fsize & ~4095ull : 1ull << 30;
	char *dst = NULL, *m = MAP_FAILED, *anon = MAP_FAILED, *pin = NULL;
	cudaError_t e;
	int err = -EIO;

	if (len < (1u << 20)) {
		fprintf(stderr, "aisio fil regprobe: the file is under 1 MiB: no copy probe\n");
		return 0;
	}
	e = cudaMalloc((void **)&dst, len);
	if (e != cudaSuccess) {
		fprintf(stderr, "aisio fil regprobe: GPU memory: %s\n", cudaGetErrorString(e));
		return -ENOMEM;
	}
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fprintf(stderr, "aisio fil regprobe: mmap: %s\n", strerror(errno));
		goto out;
	}
	e = cudaHostRegister(m, len, cudaHostRegisterReadOnly | cudaHostRegisterPortable);
	if (e != cudaSuccess) {
		fprintf(stderr, "aisio fil regprobe: cudaHostRegister: %s\n", cudaGetErrorString(e));
		goto out;
	}
	err = probe_copy("registered file pages", m, dst, len, json);
	cudaHostUnregister(m);
	if (!err)
		err = probe_zcopy(m, dst, len, json);
	if (err)
		goto out;
	err = -EIO;
	anon = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED) {
		fprintf(stderr, "aisio fil regprobe: anonymous memory: %s\n", strerror(errno));
		goto out;
	}
	memset(anon, 7, len);
	e = cudaHostRegister(anon, len, cudaHostRegisterPortable);
	if (e != cudaSuccess) {
		fprintf(stderr, "aisio fil regprobe: cudaHostRegister (anonymous): %s\n", cudaGetErrorString(e));
		goto out;
	}
	err = probe_copy("registered anonymous", anon, dst, len, json);
	cudaHostUnregister(anon);
	if (err)
		goto out;
	err = -EIO;
	e = cudaHostAlloc((void **)&pin, len, cudaHostAllocPortable);
	if (e != cudaSuccess) {
		fprintf(stderr, "aisio fil regprobe: cudaHostAlloc: %s\n", cudaGetErrorString(e));
		goto out;
	}
	memset(pin, 7, len);
	err = probe_copy("cudaHostAlloc", pin, dst, len, json);
out:
	if (pin)
		cudaFreeHost(pin);
	if (anon != MAP_FAILED)
		munmap(anon, len);
	if (m != MAP_FAILED)
		munmap(m, len);
	cudaFree(dst);
	return err;
}

int fil_gpu_regprobe(const char *path, const uint64_t *pieces, int npieces, const uint32_t *threads,
		     int nthreads, uint64_t bytes, double budget_s, int json)
{
	uint64_t t0 = fil_now_ns();
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0, skipped = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "aisio fil regprobe: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	if (!bytes || bytes > (uint64_t)st.st_size)
		bytes = (uint64_t)st.st_size;
	bytes &= ~4095ull;
	if (!bytes) {
		fprintf(stderr, "aisio fil regprobe: %s: under 4 KiB, nothing to register\n", path);
		close(fd);
		return -EINVAL;
	}
	/* (the file should be in the page cache already: else the disk is measured too) */
	for (int pass = 0; pass < 2 && !err; pass++)
		for (int i = 0; i < npieces && !err; i++)
			for (int t = 0; t < nthreads && !err; t++) {
				if (pass && (threads[t] != threads[nthreads - 1] || pieces[i] < (16u << 20)))
					continue; /* MAP_POPULATE: the most threads, pieces of 16 MiB and more */
				if ((double)(fil_now_ns() - t0) / 1e9 > budget_s) {
					skipped++;
					continue;
				}
				err = probe_register(fd, bytes, pieces[i], threads[t], pass, json);
			}
	if (skipped)
		fprintf(stderr, "aisio fil regprobe: %d cases skipped past --budget %.0f s\n", skipped,
			budget_s);
	if (!err)
		err = probe_copies(fd, bytes, json);
	close(fd);
	return err;
}
