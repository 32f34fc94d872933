/* SPDX-License-Identifier: MIT */
/* aisio perf cuda-run / cuda-verify: what the host passes to the GPU kernels. */
#ifndef AISIO_TOOLS_PERF_CUDA_H
#define AISIO_TOOLS_PERF_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include <aisio/cuda.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Commands in flight per thread at most (kept in registers). */
#define PC_MAX_PER_THREAD 8

enum pc_mode {
	PC_MODE_TIMED = 0,  /* run until runtime_ns, random or sequential LBAs */
	PC_MODE_VERIFY = 1, /* command c moves LBA slot order[c] from/to buffer slot c, ncmds in all */
};

struct pc_params {
	struct aisio_cuda_qp **qps; /* nq queue pointers (GPU memory) */
	uint32_t nq;
	uint32_t tpq;          /* threads per queue */
	uint32_t per_thread;   /* commands in flight per thread (1..PC_MAX_PER_THREAD) */
	uint32_t mode;
	uint32_t opc;          /* AISIO_NVME_NVM_READ or _WRITE */
	uint32_t random;       /* timed mode: random slots, else sequential */
	uint32_t nsid;
	uint32_t nlb;          /* LBAs per command */
	uint64_t nslots;       /* I/O-size slots in the namespace region */
	uint64_t seed;
	uint64_t runtime_ns;
	uint64_t timeout_ns;
	uint32_t poll_ns;      /* back-off after a pass that found nothing */
	uint32_t block_db;     /* 1: one doorbell per block (all threads of a block share a queue) */
	/* timed mode: PRPs per (queue, CID): prp[2 * (q * cids_per_q + cid) + 0/1] */
	const uint64_t *prp;
	/* verify mode */
	uint64_t ncmds;
	uint64_t buf_bus;      /* bus address of buffer slot 0; slot c at buf_bus + c * iosize */
	uint32_t iosize;
	uint32_t page_size;    /* controller memory page size */
	const uint64_t *order; /* LBA slot of command c */
};

struct pc_thread_res {
	uint64_t ios;
	uint64_t errors;
	uint64_t timeouts;
	uint64_t lat_sum_ns;
	uint64_t lat_max_ns;
	uint32_t first_status;
	uint32_t rsvd;
};

/*
 * Launch the I/O kernel with @threads threads (nq * tpq) in blocks of
 * @block, wait for it and return the GPU time in *@elapsed_s.
 * Returns 0 or -EIO with the CUDA error text in @err.
 */
int pc_launch(const struct pc_params *p, uint32_t block, struct pc_thread_res *res_dev, double *elapsed_s,
	      char *err, size_t errlen);

/*
 * Ceiling probes. post: @nthreads GPU threads write 64-byte entries into
 * host ring @ring (@ring_bytes, GPU address) with a doorbell store to @db
 * per warp, for @ms milliseconds; *@rate = entries/s. read: @nwarps warps
 * read 512 bytes each from host memory @buf (GPU address) in a loop; *@rate
 * = reads/s.
 */
int pc_probe_post(void *ring, size_t ring_bytes, void *db, uint32_t nthreads, uint32_t ms, double *rate,
		  char *err, size_t errlen);
int pc_probe_read(const void *buf, size_t bytes, uint32_t nwarps, uint32_t ms, double *rate, char *err,
		  size_t errlen);

/* The pattern's 8-byte word @w of the LBA slot @slot (host and GPU use the same function). */
static inline AISIO_HD uint64_t pc_pattern_word(uint64_t seed, uint64_t slot, uint64_t w)
{
	uint64_t x = seed ^ (slot * 0x9e3779b97f4a7c15ull) ^ (w * 0xbf58476d1ce4e5b9ull);
	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 29;
	return x;
}

#ifdef __cplusplus
}
#endif

#endif
