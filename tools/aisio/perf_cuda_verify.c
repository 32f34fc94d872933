/* SPDX-License-Identifier: MIT */
/*
 * aisio perf cuda-verify: data integrity through the device-initiated path.
 * GPU threads write a pattern from GPU memory to every LBA slot of every
 * controller (the model pulls the data with the GPU's copy engines), then
 * read the slots back in another order into poisoned GPU memory. The host
 * checks what the GPU read, and reads every slot again itself through host
 * queues, so a write that landed on the wrong LBA or controller is caught
 * even when reads would make the same mistake.
 *
 * Through homid (a homi: URI): the GPU's queues come from homid, the GPU
 * buffers are registered with it by their CUDA IPC handle, and homid's
 * model moves the data between its namespace and this process's GPU memory
 * with its own copy engines; the host check reads through a CPU queue of
 * the same session.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include <aisio/aisio.h>

#include "perf_cuda.h"
#include "perf_cuda_homi.h"
#include "perf_cuda_host.h"

struct verify_opts {
	int gpus[PC_MAX_GPUS];
	int ngpus, ctrls, json, homi;
	uint32_t nq, qd, iosize, per_thread;
	uint64_t size, seed;
	char **uris;
	int nuris;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aisio perf cuda-verify [OPTIONS] [URI...]\n\n"
		"GPU threads write a pattern to every LBA slot of every controller, read it\n"
		"back in another order into GPU memory, and the host checks the data read\n"
		"by the GPU and, through its own queues, the data on the controllers.\n"
		"Exit status 1 on any mismatch or failed command.\n"
		"With a homi:SOCKET[,ctrl=NAME] URI (direct mode) the GPU is a client of homid:\n"
		"homid creates its queues and its model moves the data straight into this\n"
		"process's GPU memory (registered by CUDA IPC handle; one controller, --ctrls 1,\n"
		"its spec with gpu=N: homid --ctrl emu:SIZE,gpu=0).\n\n"
		"  --gpu LIST         GPU index, list of indexes (0,1) or 'all' (default 0); every\n"
		"                     listed GPU runs the whole check at the same time on its own\n"
		"                     controllers and memory; the result is per GPU and in total\n"
		"  --ctrls N          controllers per GPU (default 4; default URI emu:64M)\n"
		"  --nqueues N        GPU queues per GPU, a multiple of --ctrls (default 8)\n"
		"  --qdepth N         commands in flight per queue (default 32)\n"
		"  --per-thread N     commands in flight per GPU thread (default 1)\n"
		"  --iosize BYTES     bytes per command, at most two pages (default 4096)\n"
		"  --size BYTES       bytes written per GPU (default 64M)\n"
		"  --seed N           pattern seed\n"
		"  --json             machine-readable result\n");
}

static uint64_t key_of(uint64_t seed, int ctrl)
{
	return seed ^ ((uint64_t)(ctrl + 1) * 0xd6e8feb86659fd93ull);
}

struct host_check {
	uint8_t *buf;       /* one iosize buffer per CID (driver DMA memory) */
	uint32_t iosize;
	uint64_t key;
	uint64_t mism, errors, done;
	uint64_t *slot_of_cid;
	int first_err;      /* first failed command's status */
};

static void host_done(struct aisio_io *io, void *arg)
{
	struct host_check *h = arg;
	const uint64_t *w = io->buf;
	const uint64_t slot = h->slot_of_cid[io->cid];

	h->done++;
	if (io->status) {
		if (!h->errors++)
			h->first_err = io->status;
		return;
	}
	for (uint32_t i = 0; i < h->iosize / 8; i++)
		if (w[i] != pc_pattern_word(h->key, slot, i)) {
			h->mism++;
			break;
		}
}

/*
 * Read every slot of controller @c through one of the driver's own queue
 * pairs (PRPs, timeouts and doorbells are the driver's) and count slots
 * that differ.
 */
static int host_verify(struct pc_ctrl *c, uint64_t key, uint64_t nslots, uint32_t iosize, uint64_t *mism,
		       uint64_t *errors)
{
	const uint32_t depth = 33;
	const uint32_t nlb = iosize >> c->lba_shift;
	struct host_check h = { .iosize = iosize, .key = key };
	struct aisio_nvme_qpair *qp = NULL;
	uint64_t next = 0;
	int err, rc = -1;

	err = aisio_nvme_qpair_create(c->nc, NULL, depth, 0, &qp);
	if (err) {
		fprintf(stderr, "aisio perf cuda-verify: host check: %s\n", aisio_errmsg());
		return -1;
	}
	h.buf = aisio_nvme_ctrl_dma_alloc(c->nc, (size_t)(depth - 1) * iosize, 0);
	h.slot_of_cid = calloc(depth - 1, sizeof(uint64_t));
	if (!h.buf || !h.slot_of_cid) {
		fprintf(stderr, "aisio perf cuda-verify: host check: out of memory\n");
		goto out;
	}
	/* CID i always reads into buffer i; the driver reuses a CID only after its completion. */
	while (next < nslots || aisio_nvme_qpair_outstanding(qp)) {
		struct aisio_io *io;

		while (next < nslots && (io = aisio_nvme_qpair_get_io(qp))) {
			aisio_prep_read(io, c->nsid, next * nlb, nlb, h.buf + (size_t)io->cid * iosize, iosize);
			aisio_io_set_cb(io, host_done, &h);
			h.slot_of_cid[io->cid] = next++;
		}
		aisio_nvme_qpair_submit(qp);
		/* the driver times commands out (-ETIMEDOUT) and reports a failed controller (-EIO) */
		if (aisio_nvme_qpair_reap(qp, 0) < 0) {
			fprintf(stderr, "aisio perf cuda-verify: host check: %s\n", aisio_errmsg());
			break;
		}
	}
	if (h.errors)
		fprintf(stderr, "aisio perf cuda-verify: host check: %llu reads failed, the first with %s\n",
			(unsigned long long)h.errors, aisio_status_str(h.first_err));
	*mism += h.mism;
	*errors += h.errors + (nslots - h.done);
	rc = 0;
out:
	aisio_nvme_qpair_delete(qp);
	if (h.buf)
		aisio_nvme_ctrl_dma_free(c->nc, h.buf);
	free(h.slot_of_cid);
	return rc;
}

/* The same through a CPU queue of a homid session (@dev, a homi: device). */
static int host_verify_homi(struct aisio_dev *dev, uint64_t key, uint64_t nslots, uint32_t iosize, uint64_t *mism,
			    uint64_t *errors)
{
	const struct aisio_geo *g = aisio_dev_geo(dev);
	const uint32_t depth = 33, nlb = iosize / g->lba_size;
	struct host_check h = { .iosize = iosize, .key = key };
	struct aisio_queue *q = NULL;
	uint64_t next = 0;
	int rc = -1;

	if (aisio_queue_init(dev, depth, &q)) {
		fprintf(stderr, "aisio perf cuda-verify: host check through homid: %s\n", aisio_errmsg());
		return -1;
	}
	h.buf = aisio_buf_alloc(dev, (size_t)depth * iosize);
	h.slot_of_cid = calloc(depth, sizeof(uint64_t));
	if (!h.buf || !h.slot_of_cid) {
		fprintf(stderr, "aisio perf cuda-verify: host check: out of memory\n");
		goto out;
	}
	while (next < nslots || aisio_queue_outstanding(q)) {
		struct aisio_io *io;

		while (next < nslots && (io = aisio_queue_get_io(q))) {
			if (io->cid >= depth) {
				aisio_queue_put_io(q, io);
				break;
			}
			aisio_prep_read(io, g->nsid, next * nlb, nlb, h.buf + (size_t)io->cid * iosize, iosize);
			aisio_io_set_cb(io, host_done, &h);
			h.slot_of_cid[io->cid] = next++;
		}
		if (aisio_queue_submit(q) < 0 || aisio_queue_reap(q, 0) < 0) {
			fprintf(stderr, "aisio perf cuda-verify: host check: %s\n", aisio_errmsg());
			break;
		}
	}
	if (h.errors)
		fprintf(stderr, "aisio perf cuda-verify: host check: %llu reads failed, the first with %s\n",
			(unsigned long long)h.errors, aisio_status_str(h.first_err));
	*mism += h.mism;
	*errors += h.errors + (nslots - h.done);
	rc = 0;
out:
	aisio_queue_term(q);
	if (h.buf)
		aisio_buf_free(dev, h.buf);
	free(h.slot_of_cid);
	return rc;
}

/* One GPU's check: what it was asked and what it saw. */
struct vjob {
	const struct verify_opts *o;
	int gpu;
	int setup_failed;
	uint64_t T, ncmds;
	uint64_t ios[2], errs[2];
	uint32_t first_status;
	double el[2];
	uint64_t gpu_mism, host_mism, host_errs;
	struct aisio_gpu_dma_stats ds;
	char qids[160]; /* the GPU queues' IDs, "1,2,..." (the first ones when long) */
	int rc;
};

/* Write, read back and check on one GPU (in the calling thread, which it makes current). */
static void verify_gpu(struct vjob *j)
{
	const struct verify_opts *op = j->o;
	const struct verify_opts o = *op;
	const int gpu = j->gpu;
	struct pc_ctrl *ctrls = NULL;
	struct aisio_mem_region *wbuf = NULL, *rbuf = NULL;
	struct aisio_nvme_ctrl **nc = NULL;
	struct aisio_gpu_qset *qs = NULL;
	struct pc_homi homi;
	uint8_t *wva, *rva;     /* GPU addresses of the write and read buffers */
	uint64_t wbus, rbus;    /* their device addresses for the controllers */
	uint32_t nsid, lba_shift, page_size;
	uint64_t nlbas;
	struct pc_thread_res *res_dev = NULL, *res_host = NULL;
	uint64_t *ow = NULL, *orr = NULL, *ow_dev = NULL, *or_dev = NULL;
	uint64_t *host_data = NULL;
	int *ctrl_of = NULL;
	char err[256];

	j->rc = 1;
	j->setup_failed = 1;
	memset(&homi, 0, sizeof(homi));
	if (aisio_gpu_select(gpu)) {
		fprintf(stderr, "aisio perf cuda-verify: %s\n", aisio_errmsg());
		return;
	}
	const uint32_t tpq = o.qd / o.per_thread;
	const uint64_t T = (uint64_t)o.nq * tpq, TK = T * o.per_thread;
	uint64_t rounds = o.size / o.iosize / TK;
	if (!rounds)
		rounds = 1;
	const uint64_t ncmds = rounds * TK;
	const uint64_t per_ctrl = ncmds / (uint64_t)o.ctrls;
	static char *def_uri[] = { "emu:64M" };
	char uri_buf[64];
	char *uri_one[1] = { uri_buf };
	char **uris = o.nuris ? o.uris : def_uri;
	int nuris = o.nuris ? o.nuris : 1;
	if (!o.nuris && per_ctrl * o.iosize > (64ull << 20)) {
		snprintf(uri_buf, sizeof(uri_buf), "emu:%lluM", (unsigned long long)((per_ctrl * o.iosize >> 20) + 1));
		uris = uri_one;
	}
	j->T = T;
	j->ncmds = ncmds;

	/* one more queue per controller for the host's own check */
	struct pc_ctrl_cfg cfg = {
		.queues = o.nq / (uint32_t)o.ctrls + 1, .depth = o.qd + 1, .dma = PC_DMA_GPU, .gpu = gpu
	};
	if (o.homi) {
		/* one GPU allocation registered with homid: the write buffers, then the read buffers */
		const size_t half = (size_t)ncmds * o.iosize, len = (2 * half + 4095) & ~(size_t)4095;

		if (pc_homi_open(o.uris, o.nuris, 1, o.nq + 1, len, &homi))
			goto out;
		nsid = homi.nsid;
		lba_shift = homi.lba_shift;
		nlbas = homi.nlbas;
		page_size = homi.page_size;
		wva = homi.buf[0].gpu;
		rva = wva + half;
		wbus = homi.buf[0].bus;
		rbus = wbus + half;
	} else {
		ctrls = calloc((size_t)o.ctrls, sizeof(*ctrls));
		if (!ctrls || pc_ctrls_open(uris, nuris, o.ctrls, &cfg, ctrls)) {
			free(ctrls);
			ctrls = NULL;
			goto out;
		}
		if (aisio_gpu_region_alloc(gpu, ncmds * o.iosize, &wbuf) ||
		    aisio_gpu_region_alloc(gpu, ncmds * o.iosize, &rbuf)) {
			fprintf(stderr, "aisio perf cuda-verify: %s\n", aisio_errmsg());
			goto out;
		}
		if (pc_ctrls_add_gpu(ctrls, o.ctrls, wbuf) || pc_ctrls_add_gpu(ctrls, o.ctrls, rbuf))
			goto out;
		nsid = ctrls[0].nsid;
		lba_shift = ctrls[0].lba_shift;
		nlbas = ctrls[0].nlbas;
		page_size = ctrls[0].page_size;
		wva = wbuf->va;
		rva = rbuf->va;
		wbus = aisio_mem_bus(wbuf, wbuf->va);
		rbus = aisio_mem_bus(rbuf, rbuf->va);
	}
	if (nlbas < per_ctrl * (o.iosize >> lba_shift)) {
		fprintf(stderr, "aisio perf cuda-verify: namespaces hold %llu bytes; %llu needed per controller\n",
			(unsigned long long)(nlbas << lba_shift), (unsigned long long)(per_ctrl * o.iosize));
		goto out;
	}

	/* Which controller each command reaches, and a different slot order per phase. */
	ow = calloc(ncmds, 8);
	orr = calloc(ncmds, 8);
	ctrl_of = calloc(ncmds, sizeof(int));
	host_data = malloc(ncmds * o.iosize);
	uint64_t *fill = calloc((size_t)o.ctrls, 8);
	uint64_t *perm_w = malloc(per_ctrl * 8), *perm_r = malloc(per_ctrl * 8);
	if (!ow || !orr || !ctrl_of || !host_data || !fill || !perm_w || !perm_r) {
		fprintf(stderr, "out of memory\n");
		free(fill);
		free(perm_w);
		free(perm_r);
		goto out;
	}
	uint64_t rng = o.seed | 1;
	for (int ci = 0; ci < o.ctrls; ci++) {
		for (uint64_t i = 0; i < per_ctrl; i++)
			perm_w[i] = perm_r[i] = i;
		for (uint64_t i = per_ctrl - 1; i > 0; i--) {
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			uint64_t k = rng % (i + 1), t = perm_w[i];
			perm_w[i] = perm_w[k], perm_w[k] = t;
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			k = rng % (i + 1), t = perm_r[i];
			perm_r[i] = perm_r[k], perm_r[k] = t;
		}
		for (uint64_t cmd = 0; cmd < ncmds; cmd++) {
			int ct = (int)(((cmd % TK) / o.per_thread / tpq) % (uint64_t)o.ctrls);
			if (ct != ci)
				continue;
			ctrl_of[cmd] = ci;
			ow[cmd] = perm_w[fill[ci]];
			orr[cmd] = perm_r[fill[ci]];
			fill[ci]++;
		}
	}
	free(fill);
	free(perm_w);
	free(perm_r);
	for (uint64_t cmd = 0; cmd < ncmds; cmd++)
		for (uint32_t w = 0; w < o.iosize / 8; w++)
			host_data[cmd * (o.iosize / 8) + w] = pc_pattern_word(key_of(o.seed, ctrl_of[cmd]), ow[cmd], w);
	res_host = calloc(T, sizeof(*res_host));
	nc = o.homi ? NULL : pc_ctrls_nc(ctrls, o.ctrls);
	if (!res_host || (!o.homi && !nc))
		goto out;
	if (o.homi ? aisio_gpu_qset_create_homi(homi.devs, 1, gpu, o.nq, o.qd + 1, o.qd, &qs)
		   : aisio_gpu_qset_create(nc, o.ctrls, gpu, o.nq, o.qd + 1, o.qd, &qs)) {
		fprintf(stderr, "aisio perf cuda-verify: %s\n", aisio_errmsg());
		goto out;
	}
	for (uint32_t i = 0, n = 0; i < o.nq; i++) {
		int w = snprintf(j->qids + n, sizeof(j->qids) - n, "%s%u", i ? "," : "",
				 aisio_gpu_qp_qid(aisio_gpu_qset_qp(qs, i)));
		if (w < 0 || (size_t)w >= sizeof(j->qids) - n)
			break;
		n += (uint32_t)w;
	}
	if (cudaMalloc((void **)&res_dev, T * sizeof(*res_dev)) != cudaSuccess ||
	    cudaMalloc((void **)&ow_dev, ncmds * 8) != cudaSuccess ||
	    cudaMalloc((void **)&or_dev, ncmds * 8) != cudaSuccess) {
		fprintf(stderr, "aisio perf cuda-verify: out of GPU memory\n");
		goto out;
	}
	cudaMemcpy(ow_dev, ow, ncmds * 8, cudaMemcpyHostToDevice);
	cudaMemcpy(or_dev, orr, ncmds * 8, cudaMemcpyHostToDevice);
	cudaMemcpy(wva, host_data, ncmds * o.iosize, cudaMemcpyHostToDevice);
	cudaMemset(rva, 0xa5, ncmds * o.iosize);

	struct pc_params p;
	memset(&p, 0, sizeof(p));
	p.qps = aisio_gpu_qset_dev(qs);
	p.nq = o.nq;
	p.tpq = tpq;
	p.per_thread = o.per_thread;
	p.mode = PC_MODE_VERIFY;
	p.nsid = nsid;
	p.nlb = o.iosize >> lba_shift;
	p.timeout_ns = 10000000000ull;
	p.ncmds = ncmds;
	p.iosize = o.iosize;
	p.page_size = page_size;

	for (int phase = 0; phase < 2; phase++) {
		p.opc = phase ? AISIO_NVME_NVM_READ : AISIO_NVME_NVM_WRITE;
		p.order = phase ? or_dev : ow_dev;
		p.buf_bus = phase ? rbus : wbus;
		cudaMemset(res_dev, 0, T * sizeof(*res_dev));
		if (pc_launch(&p, 128, res_dev, &j->el[phase], err, sizeof(err))) {
			fprintf(stderr, "aisio perf cuda-verify: %s\n", err);
			goto out;
		}
		cudaMemcpy(res_host, res_dev, T * sizeof(*res_dev), cudaMemcpyDeviceToHost);
		for (uint64_t t = 0; t < T; t++) {
			j->ios[phase] += res_host[t].ios;
			j->errs[phase] += res_host[t].errors + res_host[t].timeouts;
			if (res_host[t].errors && !j->first_status)
				j->first_status = res_host[t].first_status;
		}
	}

	/* What the GPU read. */
	if (cudaMemcpy(host_data, rva, ncmds * o.iosize, cudaMemcpyDeviceToHost) != cudaSuccess) {
		fprintf(stderr, "aisio perf cuda-verify: cannot copy the read data back\n");
		goto out;
	}
	for (uint64_t cmd = 0; cmd < ncmds; cmd++)
		for (uint32_t w = 0; w < o.iosize / 8; w++)
			if (host_data[cmd * (o.iosize / 8) + w] !=
			    pc_pattern_word(key_of(o.seed, ctrl_of[cmd]), orr[cmd], w)) {
				j->gpu_mism++;
				break;
			}
	/* What the controllers hold, read by the host itself. */
	for (int ci = 0; ci < o.ctrls; ci++)
		if (o.homi ? host_verify_homi(homi.devs[0], key_of(o.seed, 0), per_ctrl, o.iosize, &j->host_mism,
					      &j->host_errs)
			   : host_verify(&ctrls[ci], key_of(o.seed, ci), per_ctrl, o.iosize, &j->host_mism, &j->host_errs))
			goto out;
	/* through homid, the copies are its model's (not counted here) */
	if (!o.homi)
		pc_ctrls_dma_stats(ctrls, o.ctrls, &j->ds);
	j->setup_failed = 0;
	j->rc = (j->gpu_mism || j->host_mism || j->errs[0] || j->errs[1] || j->host_errs || j->ios[0] != ncmds ||
		 j->ios[1] != ncmds)
			? 1
			: 0;
out:
	cudaFree(res_dev);
	cudaFree(ow_dev);
	cudaFree(or_dev);
	aisio_gpu_qset_delete(qs);
	pc_homi_close(&homi); /* after its queues: homid takes memory back from a session without queues */
	free(nc);
	free(res_host);
	free(ow);
	free(orr);
	free(ctrl_of);
	free(host_data);
	aisio_mem_region_release(wbuf);
	aisio_mem_region_release(rbuf);
	if (ctrls)
		pc_ctrls_close(ctrls, o.ctrls);
	free(ctrls);
}

static void *verify_thread(void *arg)
{
	verify_gpu(arg);
	return NULL;
}

/* @idx: NULL with one GPU (the single-GPU format), else the "gpu_index" value. */
static void print_json(const struct verify_opts *o, const struct vjob *j, const char *name, const char *idx,
		       int ctrls, uint32_t nq)
{
	if (idx)
		printf("{\"gpu_index\":%s,", idx);
	else
		printf("{");
	printf("\"gpu\":\"%s\",\"ctrls\":%d,\"queues\":%u,\"qdepth\":%u,\"threads\":%llu,\"iosize\":%u,"
	       "\"commands\":%llu,\"written\":%llu,\"read\":%llu,\"errors\":%llu,\"first_status\":%u,"
	       "\"gpu_read_mismatches\":%llu,\"host_read_mismatches\":%llu,\"host_read_errors\":%llu,"
	       "\"write_s\":%.3f,\"read_s\":%.3f,\"dma_copies\":%llu,\"dma_batches\":%llu,\"dma_failed\":%llu,"
	       "\"dma_last_err\":%d,\"qids\":\"%s\",\"result\":\"%s\"}\n",
	       name, ctrls, nq, o->qd, (unsigned long long)j->T, o->iosize, (unsigned long long)j->ncmds,
	       (unsigned long long)j->ios[0], (unsigned long long)j->ios[1],
	       (unsigned long long)(j->errs[0] + j->errs[1]), j->first_status, (unsigned long long)j->gpu_mism,
	       (unsigned long long)j->host_mism, (unsigned long long)j->host_errs, j->el[0], j->el[1],
	       (unsigned long long)j->ds.copies, (unsigned long long)j->ds.batches, (unsigned long long)j->ds.failed,
	       j->ds.last_err, j->qids, j->rc ? "FAIL" : "PASS");
}

static void print_text(const struct verify_opts *o, const struct vjob *j, const char *who, int ctrls, uint32_t nq,
		       const char *dstr)
{
	printf("%s; %d controllers, %u GPU queues x %u deep, %llu GPU threads, %u-byte commands\n", who, ctrls, nq,
	       o->qd, (unsigned long long)j->T, o->iosize);
	printf("written by GPU threads: %llu of %llu commands in %.3f s; read back: %llu in %.3f s; "
	       "failed commands: %llu%s\n",
	       (unsigned long long)j->ios[0], (unsigned long long)j->ncmds, j->el[0], (unsigned long long)j->ios[1],
	       j->el[1], (unsigned long long)(j->errs[0] + j->errs[1]), j->first_status ? " (see first_status)" : "");
	if (dstr)
		printf("model DMA into GPU memory: %s\n", dstr);
	printf("mismatches: %llu in data the GPU read, %llu in data the host read back (%llu host read errors)\n",
	       (unsigned long long)j->gpu_mism, (unsigned long long)j->host_mism, (unsigned long long)j->host_errs);
}

int aisio_perf_cuda_verify(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "gpu", required_argument, 0, 'g' },     { "ctrls", required_argument, 0, 'c' },
		{ "nqueues", required_argument, 0, 'n' }, { "qdepth", required_argument, 0, 'q' },
		{ "per-thread", required_argument, 0, 'k' }, { "iosize", required_argument, 0, 's' },
		{ "size", required_argument, 0, 'z' },    { "seed", required_argument, 0, 'S' },
		{ "json", no_argument, 0, 'j' },          { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct verify_opts o = { .ngpus = 1, .ctrls = 4, .nq = 8, .qd = 32, .iosize = 4096, .per_thread = 1,
				 .size = 64ull << 20, .seed = 0x1234abcd };
	struct vjob jobs[PC_MAX_GPUS];
	pthread_t tids[PC_MAX_GPUS];
	char dstr[256], who[256];
	uint64_t v;
	int c, g, rc = 0, ctrls_set = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'g':
			if ((o.ngpus = pc_parse_gpus("aisio perf cuda-verify", optarg, o.gpus, PC_MAX_GPUS)) < 0)
				return 2;
			break;
		case 'c': o.ctrls = atoi(optarg); ctrls_set = 1; break;
		case 'n': o.nq = (uint32_t)atoi(optarg); break;
		case 'q': o.qd = (uint32_t)atoi(optarg); break;
		case 'k': o.per_thread = (uint32_t)atoi(optarg); break;
		case 's': if (pc_parse_list("--iosize", optarg, &v, 1) < 0) return 2; o.iosize = (uint32_t)v; break;
		case 'z': if (pc_parse_list("--size", optarg, &o.size, 1) < 0) return 2; break;
		case 'S': o.seed = strtoull(optarg, NULL, 0); break;
		case 'j': o.json = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	o.uris = argv + optind;
	o.nuris = argc - optind;
	o.homi = o.nuris && !strncmp(o.uris[0], "homi:", 5);
	if (o.homi) {
		if (!ctrls_set)
			o.ctrls = 1;
		if (o.ctrls != 1 || o.nuris != 1 || o.ngpus != 1) {
			fprintf(stderr, "aisio perf cuda-verify: through homid, one homi: URI, one GPU and --ctrls 1 "
					"(the GPU buffers are registered with one session)\n");
			return 2;
		}
	}
	if (o.ctrls < 1 || !o.nq || o.nq % (uint32_t)o.ctrls || !o.qd || !o.per_thread ||
	    o.per_thread > PC_MAX_PER_THREAD || o.qd % o.per_thread || o.iosize < 512 || o.iosize > 8192 ||
	    o.iosize % 512) {
		fprintf(stderr, "aisio perf cuda-verify: need --nqueues a multiple of --ctrls, --qdepth a multiple of "
				"--per-thread (1..%d), --iosize a multiple of 512 up to 8192\n",
			PC_MAX_PER_THREAD);
		return 2;
	}
	memset(jobs, 0, sizeof(jobs));
	for (g = 0; g < o.ngpus; g++) {
		jobs[g].o = &o;
		jobs[g].gpu = o.gpus[g];
	}
	if (o.ngpus == 1) {
		verify_gpu(&jobs[0]);
		if (jobs[0].setup_failed)
			return 1;
		if (o.json)
			print_json(&o, &jobs[0], aisio_gpu_name(o.gpus[0]), NULL, o.ctrls, o.nq);
		else {
			snprintf(who, sizeof(who), "GPU %d: %s", o.gpus[0], aisio_gpu_name(o.gpus[0]));
			print_text(&o, &jobs[0], who, o.ctrls, o.nq,
				   o.homi ? "homid's model (see its log)" : pc_dma_stats_str(&jobs[0].ds, dstr, sizeof(dstr)));
			printf("cuda-verify: %s\n", jobs[0].rc ? "FAIL" : "PASS");
		}
		return jobs[0].rc;
	}
	/* Every GPU at once, one host thread each (the current CUDA device is per thread). */
	int started = 0;
	for (g = 0; g < o.ngpus; g++) {
		if (pthread_create(&tids[g], NULL, verify_thread, &jobs[g])) {
			fprintf(stderr, "aisio perf cuda-verify: cannot start a thread for GPU %d\n", o.gpus[g]);
			jobs[g].setup_failed = 1;
			break;
		}
		started++;
	}
	for (g = 0; g < started; g++)
		pthread_join(tids[g], NULL);
	struct vjob t;
	int setup_failed = 0;
	memset(&t, 0, sizeof(t));
	for (g = 0; g < o.ngpus; g++) {
		const struct vjob *j = &jobs[g];
		char idx[16];
		setup_failed |= j->setup_failed || g >= started;
		if (j->setup_failed || g >= started)
			continue;
		snprintf(idx, sizeof(idx), "%d", o.gpus[g]);
		if (o.json)
			print_json(&o, j, aisio_gpu_name(o.gpus[g]), idx, o.ctrls, o.nq);
		else {
			snprintf(who, sizeof(who), "GPU %d: %s", o.gpus[g], aisio_gpu_name(o.gpus[g]));
			print_text(&o, j, who, o.ctrls, o.nq, pc_dma_stats_str(&j->ds, dstr, sizeof(dstr)));
			printf("GPU %d: %s\n", o.gpus[g], j->rc ? "FAIL" : "PASS");
		}
		t.T += j->T;
		t.ncmds += j->ncmds;
		for (int ph = 0; ph < 2; ph++) {
			t.ios[ph] += j->ios[ph];
			t.errs[ph] += j->errs[ph];
			if (j->el[ph] > t.el[ph])
				t.el[ph] = j->el[ph];
		}
		if (!t.first_status)
			t.first_status = j->first_status;
		t.gpu_mism += j->gpu_mism;
		t.host_mism += j->host_mism;
		t.host_errs += j->host_errs;
		t.ds.copies += j->ds.copies;
		t.ds.batches += j->ds.batches;
		t.ds.failed += j->ds.failed;
		if (j->ds.last_err)
			t.ds.last_err = j->ds.last_err;
		rc |= j->rc;
	}
	if (setup_failed)
		rc = 1;
	t.rc = rc;
	if (o.json)
		print_json(&o, &t, "all", "\"total\"", o.ctrls * o.ngpus, o.nq * (uint32_t)o.ngpus);
	else {
		snprintf(who, sizeof(who), "all %d GPUs%s", o.ngpus, setup_failed ? " (some did not start: see above)" : "");
		print_text(&o, &t, who, o.ctrls * o.ngpus, o.nq * (uint32_t)o.ngpus, NULL);
		printf("cuda-verify: %s\n", rc ? "FAIL" : "PASS");
	}
	return rc;
}
