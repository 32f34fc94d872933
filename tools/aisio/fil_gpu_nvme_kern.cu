/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path gpu-nvme, the GPU side: every thread claims units of
 * the dataset from a shared cursor, walks its file's extent table (GPU
 * memory) to the extent that holds the next bytes, builds the NVMe read for
 * them (PRP entries into the dataset buffer; a PRP list in its own page when
 * the read spans more than two pages), submits it on its block's queue and
 * reaps, one command in flight a thread. Holes and unwritten extents get no
 * command (the buffer was zeroed). No CPU is on the data path.
 */
#include <cuda_runtime.h>

#include <aisio/cuda.h>

#include "fil_gpu_nvme.h"
#include "nvme/cmd.h"

#define FGN_ERRNO_FLAG 0x10000u

static __device__ void fgn_fail(struct fgn_res *res, unsigned status, uint64_t unit, uint64_t lba)
{
	atomicAdd(&res->errors, 1ull);
	if (atomicCAS(&res->first_status, 0u, status) == 0u) {
		res->first_unit = unit;
		res->first_lba = lba;
	}
	atomicExch(&res->stop, 1u);
}

/* The first extent of file @f that ends after @pos (f->next if none). */
static __device__ uint32_t fgn_find(const struct fgn_params &p, const struct fgn_file &f, uint64_t pos)
{
	uint32_t lo = 0, hi = f.next;

	while (lo < hi) {
		const uint32_t mid = (lo + hi) / 2;
		const struct fgn_ext &e = p.exts[f.ext_first + mid];

		if (e.off + e.len <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

__global__ void fgn_kernel(struct fgn_params p)
{
	struct aisio_cuda_qp *q = p.qps[blockIdx.x];
	const uint16_t cid = (uint16_t)threadIdx.x;
	const uint64_t ps = 1ull << p.page_shift;
	const uint32_t lba = 1u << p.lba_shift;
	uint64_t *list = p.lists + ((uint64_t)blockIdx.x * p.tpq + threadIdx.x) * (ps / 8);
	const uint64_t list_bus = p.lists_bus + ((uint64_t)blockIdx.x * p.tpq + threadIdx.x) * ps;
	struct fgn_file f = {};
	uint64_t ui = 0, pos = 0, end = 0, t_sub = 0, cur_lba = 0;
	int have = 0, busy = 0, done = 0;

	for (;;) {
		struct aisio_nvme_sqe cmd;
		int want = 0;

		__syncwarp();
		while (!busy && !done) {
			if (have && pos >= end) { /* the unit has landed */
				atomicAdd(&p.res->units_done, 1ull);
				atomicAdd(&p.res->bytes_done, (unsigned long long)(end - p.units[ui].off));
				have = 0;
			}
			if (!have) {
				if (*(volatile unsigned *)&p.res->stop) {
					done = 1;
					break;
				}
				ui = atomicAdd(&p.res->next_unit, 1ull);
				if (ui >= p.nunits) {
					done = 1;
					break;
				}
				const struct fgn_unit u = p.units[ui];
				f = p.files[u.file];
				pos = u.off;
				end = u.off + u.len;
				have = 1;
			}
			const uint32_t i = fgn_find(p, f, pos);
			if (i >= f.next || p.exts[f.ext_first + i].off >= end) {
				pos = end; /* a hole to the end of the unit */
				continue;
			}
			const struct fgn_ext e = p.exts[f.ext_first + i];
			if (e.off > pos)
				pos = e.off; /* a hole */
			const uint64_t b = e.off + e.len < end ? e.off + e.len : end;
			if (e.unwritten) {
				pos = b;
				continue;
			}
			uint64_t l = b - pos < p.max_cmd ? b - pos : p.max_cmd;
			const uint32_t nlb = (uint32_t)((l + lba - 1) >> p.lba_shift);
			const uint64_t bytes = (uint64_t)nlb << p.lba_shift;
			const uint64_t bus = p.dst_bus + f.dst_off + pos;
			const uint64_t room = ps - (bus & (ps - 1));
			uint64_t prp2 = 0;

			cur_lba = e.lba + ((pos - e.off) >> p.lba_shift);
			if (bytes > room + ps) {
				/* a list: every page after the first; one page holds them (max_cmd is bounded) */
				const uint64_t n = (bytes - room + ps - 1) / ps;
				for (uint64_t k = 0; k < n; k++)
					list[k] = bus + room + k * ps;
				prp2 = list_bus;
			} else if (bytes > room) {
				prp2 = bus + room;
			}
			aisio_nvme_cmd_rw(&cmd, AISIO_NVME_NVM_READ, p.nsid, cur_lba, nlb, 0);
			aisio_cuda_cmd_prp(&cmd, bus, prp2);
			cmd.cid = cid;
			pos += l;
			want = 1;
			break;
		}
		/* collective over the warp, with or without a command (the list page is fenced inside) */
		__syncwarp();
		aisio_cuda_submit(q, &cmd, want);
		if (want) {
			busy = 1;
			t_sub = aisio_cuda_time_ns();
			atomicAdd(&p.res->cmds, 1ull);
		}
		aisio_cuda_reap(q);
		if (busy) {
			const struct aisio_cuda_cpl *c = &q->cpl[cid];

			if (aisio_cuda_ld_acquire_u32(&c->done)) {
				busy = 0;
				if (c->status) {
					fgn_fail(p.res, c->status, ui, cur_lba);
					have = 0;
					done = 1;
				}
			} else if (aisio_cuda_time_ns() - t_sub > p.timeout_ns) {
				fgn_fail(p.res, FGN_ERRNO_FLAG | 110u, ui, cur_lba); /* ETIMEDOUT: leave the CID */
				busy = 0;
				have = 0;
				done = 1;
			}
		}
		if (__all_sync(0xffffffffu, done && !busy))
			break;
		if (busy)
			__nanosleep(100);
	}
}

extern "C" int fil_gpu_nvme_launch(const struct fgn_params *p, double *gpu_s)
{
	cudaEvent_t a = NULL, b = NULL;
	float ms = 0;
	cudaError_t e = cudaEventCreate(&a);

	if (e == cudaSuccess)
		e = cudaEventCreate(&b);
	if (e == cudaSuccess)
		e = cudaEventRecord(a, 0);
	if (e == cudaSuccess) {
		fgn_kernel<<<p->nq, p->tpq>>>(*p);
		e = cudaGetLastError();
	}
	if (e == cudaSuccess)
		e = cudaEventRecord(b, 0);
	if (e == cudaSuccess)
		e = cudaEventSynchronize(b);
	if (e == cudaSuccess)
		e = cudaEventElapsedTime(&ms, a, b);
	*gpu_s = ms / 1e3;
	if (a)
		cudaEventDestroy(a);
	if (b)
		cudaEventDestroy(b);
	return (int)e;
}
