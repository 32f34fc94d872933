/* SPDX-License-Identifier: MIT */
/*
 * GPU side of aisio perf cuda-run / cuda-verify: every thread keeps its own
 * commands in flight on its queue and resubmits each one as soon as it
 * completes (no rounds). Also the probes that bound the submission path.
 */
#include <errno.h>
#include <stdio.h>

#include <cuda_runtime.h>

#include <aisio/cuda.h>

#include "nvme/cmd.h"
#include "perf_cuda.h"

static __device__ __forceinline__ uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Build command number @c (verify) or a fresh one (timed) for CID @cid. */
static __device__ __forceinline__ void pc_build(const struct pc_params &p, uint32_t qi, uint32_t cid, uint64_t c,
						 uint64_t *rng, uint64_t *seq, struct aisio_nvme_sqe *cmd)
{
	uint64_t slot;

	if (p.mode == PC_MODE_VERIFY)
		slot = p.order[c];
	else if (p.random)
		slot = xorshift(rng) % p.nslots;
	else
		slot = (*seq)++ % p.nslots;
	aisio_nvme_cmd_rw(cmd, (uint8_t)p.opc, p.nsid, slot * p.nlb, p.nlb, 0);
	cmd->cid = (uint16_t)cid;
	if (p.mode == PC_MODE_VERIFY) {
		uint64_t bus = p.buf_bus + c * p.iosize;
		uint64_t room = p.page_size - (bus & (p.page_size - 1));
		aisio_cuda_cmd_prp(cmd, bus, p.iosize > room ? bus + room : 0);
	} else {
		const uint64_t *e = &p.prp[2 * ((uint64_t)qi * p.tpq * p.per_thread + cid)];
		aisio_cuda_cmd_prp(cmd, e[0], e[1]);
	}
}

__global__ void pc_kernel(struct pc_params p, struct pc_thread_res *res)
{
	__shared__ struct aisio_cuda_block_scratch scratch;
	const uint64_t gtid = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
	const uint64_t nthreads = (uint64_t)p.nq * p.tpq;
	const int live = gtid < nthreads;
	const uint32_t qi = live ? (uint32_t)(gtid / p.tpq) : 0;
	const uint32_t local = live ? (uint32_t)(gtid % p.tpq) : 0;
	struct aisio_cuda_qp *q = p.qps[qi];
	const uint32_t k = p.per_thread;
	uint64_t t_sub[PC_MAX_PER_THREAD];
	uint64_t cn[PC_MAX_PER_THREAD]; /* verify: slot j's next command number */
	int busy[PC_MAX_PER_THREAD];
	uint64_t rng = p.seed ^ (gtid + 1) * 0x9e3779b97f4a7c15ull;
	uint64_t seq = gtid * 977;
	struct pc_thread_res r = {};
	const uint64_t start = aisio_cuda_time_ns();
	const uint64_t deadline = start + p.runtime_ns;
	int stopping = 0;

	if (!rng)
		rng = 1;
	for (int j = 0; j < PC_MAX_PER_THREAD; j++) {
		busy[j] = 0;
		cn[j] = gtid * k + j; /* then every nthreads * k-th */
	}
	/*
	 * Every lane stays in the loop until its whole warp (block) is done, and
	 * the warp reconverges at the top of each pass: the collective calls
	 * then see every lane of a queue at once (one ticket, one doorbell), and
	 * no lane spins on a doorbell turn held by a diverged lane of its own warp.
	 */
	for (;;) {
		__syncwarp();
		const uint64_t now = aisio_cuda_time_ns();
		int any_busy = 0;

		if (p.mode == PC_MODE_TIMED && now >= deadline)
			stopping = 1;
		/* Submit on every free slot; one collective call per slot index. */
#pragma unroll
		for (int j = 0; j < PC_MAX_PER_THREAD; j++) {
			if ((uint32_t)j >= k)
				break;
			struct aisio_nvme_sqe cmd;
			int want = 0;
			if (live && !busy[j] && !stopping) {
				uint64_t c = 0;
				if (p.mode == PC_MODE_VERIFY) {
					c = cn[j];
					if (c >= p.ncmds)
						c = UINT64_MAX;
					else
						cn[j] += nthreads * k;
				}
				if (c != UINT64_MAX) {
					pc_build(p, qi, local * k + j, c, &rng, &seq, &cmd);
					want = 1;
				}
			}
			if (p.block_db) {
				aisio_cuda_submit_block(q, &cmd, want, &scratch);
			} else {
				aisio_cuda_submit(q, &cmd, want);
			}
			if (want) {
				busy[j] = 1;
				t_sub[j] = aisio_cuda_time_ns();
			}
		}
		if (p.mode == PC_MODE_VERIFY) {
			int left = 0;
			for (int j = 0; j < PC_MAX_PER_THREAD && (uint32_t)j < k; j++)
				left |= cn[j] < p.ncmds;
			if (!left)
				stopping = 1;
		}
		/* Reap and collect this thread's completions. */
		unsigned got = 0;
		if (live)
			got = aisio_cuda_reap(q);
		const uint64_t t = aisio_cuda_time_ns();
#pragma unroll
		for (int j = 0; j < PC_MAX_PER_THREAD; j++) {
			if ((uint32_t)j >= k || !busy[j])
				continue;
			const uint32_t cid = local * k + j;
			const struct aisio_cuda_cpl *c = &q->cpl[cid];
			if (aisio_cuda_ld_acquire_u32(&c->done)) {
				const uint64_t lat = t - t_sub[j];
				const uint32_t st = c->status;
				busy[j] = 0;
				r.ios++;
				r.lat_sum_ns += lat;
				if (lat > r.lat_max_ns)
					r.lat_max_ns = lat;
				if (st) {
					if (!r.errors)
						r.first_status = st;
					r.errors++;
				}
			} else if (busy[j] == 1 && t - t_sub[j] > p.timeout_ns) {
				/* The CID stays owned by the lost command: never reuse it; counted once. */
				r.timeouts++;
				busy[j] = 2;
			}
			if (busy[j] == 1)
				any_busy = 1;
		}
		if (p.block_db) {
			/* every thread of the block keeps calling until all are done */
			if (__syncthreads_and(stopping && !any_busy))
				break;
		} else if (__all_sync(0xffffffffu, !live || (stopping && !any_busy))) {
			break;
		}
		if (!got && p.poll_ns)
			__nanosleep(p.poll_ns);
	}
	if (live)
		res[gtid] = r;
}

static int cuda_fail(cudaError_t e, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s (CUDA error %d)", what, cudaGetErrorString(e), (int)e);
	return -EIO;
}

extern "C" int pc_launch(const struct pc_params *p, uint32_t block, struct pc_thread_res *res_dev,
			 double *elapsed_s, char *err, size_t errlen)
{
	const uint64_t nthreads = (uint64_t)p->nq * p->tpq;
	const uint32_t blocks = (uint32_t)((nthreads + block - 1) / block);
	cudaEvent_t e0, e1;
	cudaError_t e;
	float ms = 0;

	/* Threads spin on completions: every block must be resident at once. */
	int dev = 0, per_sm = 0;
	cudaDeviceProp prop;
	cudaGetDevice(&dev);
	cudaGetDeviceProperties(&prop, dev);
	cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, pc_kernel, (int)block, 0);
	if ((uint64_t)per_sm * prop.multiProcessorCount < blocks) {
		snprintf(err, errlen, "%llu GPU threads need %u blocks of %u; this GPU runs at most %d at once",
			 (unsigned long long)nthreads, blocks, block, per_sm * prop.multiProcessorCount);
		return -EINVAL;
	}
	/*
	 * A stream of its own, not the legacy default stream: the kernel runs
	 * until its commands complete, and the device model's copies (other
	 * streams) must never queue behind it or behind the event after it.
	 */
	cudaStream_t st;
	e = cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking);
	if (e != cudaSuccess)
		return cuda_fail(e, "cannot create the I/O kernel's stream", err, errlen);
	cudaEventCreate(&e0);
	cudaEventCreate(&e1);
	cudaEventRecord(e0, st);
	pc_kernel<<<blocks, block, 0, st>>>(*p, res_dev);
	e = cudaGetLastError();
	if (e == cudaSuccess) {
		cudaEventRecord(e1, st);
		e = cudaEventSynchronize(e1);
		if (e != cudaSuccess)
			e = cudaGetLastError();
		else
			cudaEventElapsedTime(&ms, e0, e1);
	}
	cudaEventDestroy(e0);
	cudaEventDestroy(e1);
	cudaStreamDestroy(st);
	if (e != cudaSuccess)
		return cuda_fail(e, "the I/O kernel failed", err, errlen);
	*elapsed_s = ms / 1000.0;
	return 0;
}

/* ---- Probes ---------------------------------------------------------------- */

__global__ void pc_post_kernel(uint8_t *ring, uint64_t nent, volatile uint32_t *db, uint64_t ns,
			       unsigned long long *count)
{
	const uint64_t gtid = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
	const unsigned lane = aisio_cuda_lane();
	const uint64_t warp = gtid / 32;
	const uint64_t nwarps = ((uint64_t)gridDim.x * blockDim.x) / 32;
	const uint64_t end = aisio_cuda_time_ns() + ns;
	uint64_t n = 0, i = warp * 32;

	while (aisio_cuda_time_ns() < end) {
		/* 32 entries of 64 bytes, 512 contiguous bytes per store instruction */
		for (int s = 0; s < 4; s++) {
			uint64_t piece = (uint64_t)s * 32 + lane;
			uint64_t ent = (i + piece / 4) % nent;
			aisio_cuda_st_v4(ring + ent * 64 + (piece % 4) * 16, make_uint4((uint32_t)n, lane, s, 1));
		}
		__threadfence_system();
		__syncwarp();
		if (lane == 0)
			db[warp * 32] = (uint32_t)i;
		n++;
		i += nwarps * 32;
	}
	if (lane == 0)
		atomicAdd(count, (unsigned long long)n * 32);
}

__global__ void pc_read_kernel(const uint8_t *buf, uint64_t nlines, uint64_t ns, unsigned long long *count,
			       unsigned *sink)
{
	const uint64_t gtid = (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
	const unsigned lane = aisio_cuda_lane();
	const uint64_t warp = gtid / 32;
	const uint64_t end = aisio_cuda_time_ns() + ns;
	uint64_t n = 0, line = warp;
	unsigned acc = 0;

	while (aisio_cuda_time_ns() < end) {
		uint4 v = aisio_cuda_ld_sys_v4(buf + (line % nlines) * 512 + lane * 16);
		acc += __ballot_sync(0xffffffffu, v.w & 1); /* wait for the data, as a CQ poll does */
		n++;
		line += 7;
	}
	if (lane == 0) {
		atomicAdd(count, (unsigned long long)n);
		atomicAdd(sink, acc);
	}
}

static int probe_run(int post, void *a, size_t bytes, void *db, uint32_t threads, uint32_t ms, double *rate,
		     char *err, size_t errlen)
{
	unsigned long long *count = NULL;
	unsigned *sink = NULL;
	unsigned long long h = 0;
	cudaEvent_t e0, e1;
	cudaError_t e;
	float t = 0;

	threads = (threads + 31) / 32 * 32;
	if (cudaMalloc(&count, sizeof(*count)) != cudaSuccess || cudaMalloc(&sink, sizeof(*sink)) != cudaSuccess)
		return cuda_fail(cudaGetLastError(), "probe: cannot allocate counters", err, errlen);
	cudaMemset(count, 0, sizeof(*count));
	cudaEventCreate(&e0);
	cudaEventCreate(&e1);
	cudaEventRecord(e0);
	uint32_t block = threads < 128 ? threads : 128;
	uint32_t blocks = (threads + block - 1) / block;
	if (post)
		pc_post_kernel<<<blocks, block>>>((uint8_t *)a, bytes / 64, (volatile uint32_t *)db,
						 (uint64_t)ms * 1000000ull, count);
	else
		pc_read_kernel<<<blocks, block>>>((const uint8_t *)a, bytes / 512, (uint64_t)ms * 1000000ull, count,
						 sink);
	cudaEventRecord(e1);
	e = cudaEventSynchronize(e1);
	if (e == cudaSuccess)
		e = cudaGetLastError();
	if (e != cudaSuccess) {
		cudaFree(count);
		cudaFree(sink);
		return cuda_fail(e, "probe kernel failed", err, errlen);
	}
	cudaEventElapsedTime(&t, e0, e1);
	cudaMemcpy(&h, count, sizeof(h), cudaMemcpyDeviceToHost);
	cudaFree(count);
	cudaFree(sink);
	cudaEventDestroy(e0);
	cudaEventDestroy(e1);
	*rate = t > 0 ? (double)h / (t / 1000.0) : 0;
	return 0;
}

extern "C" int pc_probe_post(void *ring, size_t ring_bytes, void *db, uint32_t nthreads, uint32_t ms,
			     double *rate, char *err, size_t errlen)
{
	return probe_run(1, ring, ring_bytes, db, nthreads, ms, rate, err, errlen);
}

extern "C" int pc_probe_read(const void *buf, size_t bytes, uint32_t nwarps, uint32_t ms, double *rate,
			     char *err, size_t errlen)
{
	return probe_run(0, (void *)buf, bytes, NULL, nwarps * 32, ms, rate, err, errlen);
}
