/* SPDX-License-Identifier: MIT */
/*
 * aisio perf cuda-run: GPU threads submit NVMe commands to device-model
 * controllers and reap their own completions (matched by CID), each thread
 * resubmitting as soon as its command completes. Lists of values for
 * --nqueues, --qdepth and --iosize run every combination (a sweep) on the
 * same controllers; --probe measures the GPU's posting and PCIe read rates
 * that bound the submission path.
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

#define MAXV 16

struct run_opts {
	int gpus[PC_MAX_GPUS];
	int ngpus;
	uint64_t nq[MAXV], qd[MAXV], ios[MAXV];
	int nnq, nqd, nios;
	int ctrls;
	uint32_t per_thread;
	uint32_t ctrl_threads;
	uint32_t block;
	int block_db;
	uint32_t poll_ns;
	double runtime;
	uint32_t timeout_ms;
	int pattern; /* 0 randread 1 read 2 randwrite 3 write */
	int json;
	int probe;
	uint64_t seed;
	char **uris;
	int nuris;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aisio perf cuda-run [OPTIONS] [URI...]\n\n"
		"GPU threads submit commands to device-model controllers (default URI\n"
		"emu:1G,null: a null namespace that moves no data) and reap their own\n"
		"completions. homi:SOCKET[,ctrl=NAME] URIs (direct mode) make the GPU a client\n"
		"of homid: homid creates the GPU's queues on shared memory registered with it\n"
		"and with CUDA, and its controllers move data straight into this process's GPU\n"
		"memory, registered with homid by CUDA IPC handle (at most two pages per\n"
		"command; homid's controllers need gpu=N: homid --ctrl emu:SIZE,gpu=0). Each\n"
		"thread resubmits as soon as its own command completes.\n"
		"--nqueues, --qdepth and --iosize take lists (e.g. 1,8,64): every\n"
		"combination runs, one table row each.\n\n"
		"  --gpu LIST          GPU index, list of indexes (0,1) or 'all' (default 0); every\n"
		"                      listed GPU runs the same load at the same time against its\n"
		"                      own controllers, reported per GPU and in total\n"
		"  --ctrls N           controllers per GPU (default: one per URI; URIs are reused)\n"
		"  --nqueues LIST      GPU queue pairs per GPU, spread over its controllers (default 16)\n"
		"  --qdepth LIST       commands in flight per queue (default 32)\n"
		"  --iosize LIST       bytes per command (default 512)\n"
		"  --per-thread N      commands in flight per GPU thread, 1..%d (default 1);\n"
		"                      GPU threads = nqueues * qdepth / N\n"
		"  --iopattern P       randread|read|randwrite|write (default randread)\n"
		"  --runtime SECONDS   per combination (default 2)\n"
		"  --ctrl-threads N    polling threads per controller (default: from the URI, 1)\n"
		"  --block-db          one doorbell per thread block instead of per warp\n"
		"  --block N           threads per block (default 128)\n"
		"  --poll-ns N         GPU back-off after an empty completion poll (default 0)\n"
		"  --timeout-ms N      per-command timeout in GPU time (default 5000)\n"
		"  --probe             also measure the GPU's posting and PCIe read rates and the\n"
		"                      host-to-GPU copy rate (the ceiling for data the model moves)\n"
		"  --json              one JSON object per combination\n",
		PC_MAX_PER_THREAD);
}

static int parse(struct run_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "gpu", required_argument, 0, 'g' },      { "ctrls", required_argument, 0, 'c' },
		{ "nqueues", required_argument, 0, 'n' },  { "qdepth", required_argument, 0, 'q' },
		{ "iosize", required_argument, 0, 's' },   { "per-thread", required_argument, 0, 'k' },
		{ "iopattern", required_argument, 0, 'p' }, { "runtime", required_argument, 0, 't' },
		{ "ctrl-threads", required_argument, 0, 'T' }, { "block-db", no_argument, 0, 'B' },
		{ "block", required_argument, 0, 'b' },    { "poll-ns", required_argument, 0, 'P' },
		{ "timeout-ms", required_argument, 0, 'o' }, { "probe", no_argument, 0, 'R' },
		{ "json", no_argument, 0, 'j' },           { "seed", required_argument, 0, 'S' },
		{ "help", no_argument, 0, 'h' },           { 0, 0, 0, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->ngpus = 1;
	o->nq[0] = 16;
	o->nnq = 1;
	o->qd[0] = 32;
	o->nqd = 1;
	o->ios[0] = 512;
	o->nios = 1;
	o->per_thread = 1;
	o->block = 128;
	o->runtime = 2;
	o->timeout_ms = 5000;
	o->seed = 0x5eed;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'g':
			if ((o->ngpus = pc_parse_gpus("aisio perf cuda-run", optarg, o->gpus, PC_MAX_GPUS)) < 0)
				return -1;
			break;
		case 'c': o->ctrls = atoi(optarg); break;
		case 'n': if ((o->nnq = pc_parse_list("--nqueues", optarg, o->nq, MAXV)) < 0) return -1; break;
		case 'q': if ((o->nqd = pc_parse_list("--qdepth", optarg, o->qd, MAXV)) < 0) return -1; break;
		case 's': if ((o->nios = pc_parse_list("--iosize", optarg, o->ios, MAXV)) < 0) return -1; break;
		case 'k': o->per_thread = (uint32_t)atoi(optarg); break;
		case 'p':
			if (!strcmp(optarg, "randread")) o->pattern = 0;
			else if (!strcmp(optarg, "read")) o->pattern = 1;
			else if (!strcmp(optarg, "randwrite")) o->pattern = 2;
			else if (!strcmp(optarg, "write")) o->pattern = 3;
			else {
				fprintf(stderr, "--iopattern: '%s' is not randread, read, randwrite or write\n", optarg);
				return -1;
			}
			break;
		case 't': o->runtime = atof(optarg); break;
		case 'T': o->ctrl_threads = (uint32_t)atoi(optarg); break;
		case 'B': o->block_db = 1; break;
		case 'b': o->block = (uint32_t)atoi(optarg); break;
		case 'P': o->poll_ns = (uint32_t)atoi(optarg); break;
		case 'o': o->timeout_ms = (uint32_t)atoi(optarg); break;
		case 'R': o->probe = 1; break;
		case 'j': o->json = 1; break;
		case 'S': o->seed = strtoull(optarg, NULL, 0); break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (o->per_thread < 1 || o->per_thread > PC_MAX_PER_THREAD) {
		fprintf(stderr, "--per-thread: 1..%d\n", PC_MAX_PER_THREAD);
		return -1;
	}
	if (o->runtime <= 0 || o->block < 32 || o->block > 1024 || o->block % 32) {
		fprintf(stderr, "--runtime must be positive and --block a multiple of 32 up to 1024\n");
		return -1;
	}
	o->uris = argv + optind;
	o->nuris = argc - optind;
	if (!o->ctrls)
		o->ctrls = o->nuris ? o->nuris : 1;
	return 0;
}

static uint64_t vmax(const uint64_t *v, int n)
{
	uint64_t m = 0;
	for (int i = 0; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

/* One combination: queues, PRP table, kernel, results. */
struct combo_res {
	double iops, mibs, lat_avg_us, lat_max_us, elapsed, model_iops;
	uint64_t ios, errors, timeouts, threads;
	uint32_t first_status;
	uint64_t sq_db, cq_db, reaps, empty;
	uint64_t dma_copies, dma_bytes, dma_failed; /* the model's copies into GPU memory */
	uint64_t dma_direct_bytes;                  /* of them, straight from the registered store */
	char qids[160]; /* the queue IDs, "1,2,..." (the first ones when long) */
};

static int run_combo(const struct run_opts *o, int gpu, struct pc_ctrl *ctrls, const struct pc_homi *homi,
		     uint32_t nq, uint32_t qd, uint32_t iosize, const struct aisio_mem_region *buf,
		     const struct aisio_mem_region *lists, pthread_barrier_t *go, struct combo_res *out)
{
	int waited = 0;
	const uint32_t k = o->per_thread;
	const uint32_t tpq = qd / k;
	const uint64_t nthreads = (uint64_t)nq * tpq;
	const uint64_t ncids = (uint64_t)nq * qd;
	struct aisio_nvme_ctrl **nc = homi ? NULL : pc_ctrls_nc(ctrls, o->ctrls);
	struct aisio_gpu_qset *qs = NULL;
	struct aisio_gpu_qset_stats qst;
	uint64_t *prp_host = calloc(ncids * 2, sizeof(uint64_t));
	struct pc_thread_res *res_host = calloc(nthreads, sizeof(*res_host));
	uint64_t *prp_dev = NULL;
	struct pc_thread_res *res_dev = NULL;
	struct pc_params p;
	struct aisio_gpu_dma_stats d0, d1;
	char err[256];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((!homi && !nc) || !prp_host || !res_host) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	if (qd % k) {
		fprintf(stderr, "--qdepth %u is not a multiple of --per-thread %u\n", qd, k);
		goto out;
	}
	if (o->block_db && tpq % o->block) {
		fprintf(stderr, "--block-db: threads per queue (%u) must be a multiple of --block (%u)\n", tpq, o->block);
		goto out;
	}
	if (homi ? aisio_gpu_qset_create_homi(homi->devs, o->ctrls, gpu, nq, qd + 1, qd, &qs)
		 : aisio_gpu_qset_create(nc, o->ctrls, gpu, nq, qd + 1, qd, &qs)) {
		fprintf(stderr, "aisio perf cuda-run: %s\n", aisio_errmsg());
		goto out;
	}
	if (homi) {
		/* queue qi is on session qi % ctrls; a buffer per CID in that session's memory, wrapping */
		for (uint64_t c = 0; c < ncids; c++) {
			const uint64_t qi = c / qd;
			const int sess = (int)(qi % (uint64_t)o->ctrls);
			const uint64_t slots = homi->buf[sess].len / iosize;
			const uint64_t s = ((qi / (uint64_t)o->ctrls) * qd + c % qd) % (slots ? slots : 1);
			if (!slots || pc_homi_prp(homi, sess, s * iosize, iosize, &prp_host[2 * c], &prp_host[2 * c + 1])) {
				fprintf(stderr, "aisio perf cuda-run: --iosize %u does not fit the buffers registered "
						"with homid\n", iosize);
				goto out;
			}
		}
	} else {
		/* A buffer per CID; wrap when the GPU region is smaller (data is not checked here). */
		size_t slots = buf->len / iosize;
		const size_t lists_pages = lists ? lists->len / 4096 : 0;
		for (uint64_t c = 0; c < ncids; c++) {
			uint64_t s = c % slots;
			void *list = lists ? lists->va + (c % lists_pages) * 4096 : NULL;
			if (pc_prp(&ctrls[0], buf, buf->va + s * iosize, iosize, lists, list, "aisio perf cuda-run",
				   &prp_host[2 * c], &prp_host[2 * c + 1]))
				goto out;
		}
	}
	if (cudaMalloc((void **)&prp_dev, ncids * 2 * sizeof(uint64_t)) != cudaSuccess ||
	    cudaMalloc((void **)&res_dev, nthreads * sizeof(*res_dev)) != cudaSuccess) {
		fprintf(stderr, "out of GPU memory for %llu threads\n", (unsigned long long)nthreads);
		goto out;
	}
	cudaMemcpy(prp_dev, prp_host, ncids * 2 * sizeof(uint64_t), cudaMemcpyHostToDevice);
	cudaMemset(res_dev, 0, nthreads * sizeof(*res_dev));

	memset(&p, 0, sizeof(p));
	p.qps = aisio_gpu_qset_dev(qs);
	p.nq = nq;
	p.tpq = tpq;
	p.per_thread = k;
	p.mode = PC_MODE_TIMED;
	p.opc = (o->pattern >= 2) ? AISIO_NVME_NVM_WRITE : AISIO_NVME_NVM_READ;
	p.random = !(o->pattern & 1);
	const uint32_t lba_shift = homi ? homi->lba_shift : ctrls[0].lba_shift;
	p.nsid = homi ? homi->nsid : ctrls[0].nsid;
	p.nlb = iosize >> lba_shift;
	p.nslots = p.nlb ? (homi ? homi->nlbas : ctrls[0].nlbas) / p.nlb : 0;
	p.seed = o->seed;
	p.runtime_ns = (uint64_t)(o->runtime * 1e9);
	p.timeout_ns = (uint64_t)o->timeout_ms * 1000000ull;
	p.poll_ns = o->poll_ns;
	p.block_db = (uint32_t)o->block_db;
	p.prp = prp_dev;
	if (!p.nlb || (iosize & ((1u << lba_shift) - 1))) {
		fprintf(stderr, "--iosize %u is not a multiple of the LBA size %u\n", iosize, 1u << lba_shift);
		goto out;
	}

	/* with several GPUs, all kernels start together */
	if (go) {
		pthread_barrier_wait(go);
		waited = 1;
	}
	/* through homid, its model's counters are homid's (aisio homi status) */
	uint64_t m0 = homi ? 0 : pc_ctrls_io_cmds(ctrls, o->ctrls);
	memset(&d0, 0, sizeof(d0));
	memset(&d1, 0, sizeof(d1));
	if (!homi)
		pc_ctrls_dma_stats(ctrls, o->ctrls, &d0);
	double el = 0;
	if (pc_launch(&p, o->block, res_dev, &el, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	uint64_t m1 = homi ? 0 : pc_ctrls_io_cmds(ctrls, o->ctrls);
	if (!homi)
		pc_ctrls_dma_stats(ctrls, o->ctrls, &d1);
	out->dma_copies = d1.copies - d0.copies;
	out->dma_bytes = d1.bytes - d0.bytes;
	out->dma_failed = d1.failed - d0.failed;
	out->dma_direct_bytes = d1.direct_bytes - d0.direct_bytes;
	cudaMemcpy(res_host, res_dev, nthreads * sizeof(*res_dev), cudaMemcpyDeviceToHost);
	uint64_t lat_sum = 0, lat_max = 0;
	for (uint64_t t = 0; t < nthreads; t++) {
		out->ios += res_host[t].ios;
		out->errors += res_host[t].errors;
		out->timeouts += res_host[t].timeouts;
		lat_sum += res_host[t].lat_sum_ns;
		if (res_host[t].lat_max_ns > lat_max)
			lat_max = res_host[t].lat_max_ns;
		if (res_host[t].errors && !out->first_status)
			out->first_status = res_host[t].first_status;
	}
	for (uint32_t i = 0, n = 0; i < nq; i++) {
		int w = snprintf(out->qids + n, sizeof(out->qids) - n, "%s%u", i ? "," : "",
				 aisio_gpu_qp_qid(aisio_gpu_qset_qp(qs, i)));
		if (w < 0 || (size_t)w >= sizeof(out->qids) - n)
			break;
		n += (uint32_t)w;
	}
	if (!aisio_gpu_qset_stats(qs, &qst)) {
		out->sq_db = qst.sq_db;
		out->cq_db = qst.cq_db;
		out->reaps = qst.reaps;
		out->empty = qst.empty;
	}
	out->threads = nthreads;
	out->elapsed = el;
	out->iops = el > 0 ? out->ios / el : 0;
	out->mibs = out->iops * iosize / 1048576.0;
	out->lat_avg_us = out->ios ? lat_sum / 1000.0 / out->ios : 0;
	out->lat_max_us = lat_max / 1000.0;
	out->model_iops = el > 0 ? (m1 - m0) / el : 0;
	rc = (out->errors || out->timeouts || out->dma_failed) ? 1 : 0;
out:
	if (go && !waited)
		pthread_barrier_wait(go);
	cudaFree(prp_dev);
	cudaFree(res_dev);
	aisio_gpu_qset_delete(qs);
	free(nc);
	free(prp_host);
	free(res_host);
	return rc;
}

/*
 * The host-to-GPU copy ceiling: pinned host memory into GPU memory with
 * cudaMemcpyAsync, 8 MiB pieces spread over @nstreams streams, for about
 * @ms milliseconds. *@gbs = GB/s (10^9 bytes). Returns 0 or -1 (printed).
 */
static int probe_h2d(uint32_t nstreams, uint32_t ms, double *gbs)
{
	const size_t piece = (size_t)8 << 20, len = (size_t)256 << 20;
	cudaStream_t st[8];
	void *host = NULL, *hdev = NULL, *dev = NULL;
	uint32_t made = 0;
	uint64_t bytes = 0;
	int rc = -1;

	if (nstreams > 8)
		nstreams = 8;
	if (aisio_gpu_host_alloc(len, &host, &hdev)) {
		fprintf(stderr, "probe: %s\n", aisio_errmsg());
		return -1;
	}
	if (cudaMalloc(&dev, len) != cudaSuccess) {
		fprintf(stderr, "probe: cannot allocate %zu MiB of GPU memory\n", len >> 20);
		goto out;
	}
	for (; made < nstreams; made++)
		if (cudaStreamCreateWithFlags(&st[made], cudaStreamNonBlocking) != cudaSuccess) {
			fprintf(stderr, "probe: cannot create a stream\n");
			goto out;
		}
	const uint64_t t0 = pc_now_ns(), end = t0 + (uint64_t)ms * 1000000ull;
	uint64_t t1 = t0;
	while (t1 < end) {
		/* one round: every piece of the buffer once, round robin over the streams */
		for (size_t off = 0, i = 0; off < len; off += piece, i++)
			if (cudaMemcpyAsync((uint8_t *)dev + off, (uint8_t *)host + off, piece, cudaMemcpyHostToDevice,
					    st[i % nstreams]) != cudaSuccess) {
				fprintf(stderr, "probe: copy failed: %s\n", cudaGetErrorString(cudaGetLastError()));
				goto out;
			}
		for (uint32_t i = 0; i < nstreams; i++)
			cudaStreamSynchronize(st[i]);
		bytes += len;
		t1 = pc_now_ns();
	}
	*gbs = (double)bytes / (double)(t1 - t0);
	rc = 0;
out:
	for (uint32_t i = 0; i < made; i++)
		cudaStreamDestroy(st[i]);
	cudaFree(dev);
	aisio_gpu_host_free(host);
	return rc;
}

static void probes(const struct run_opts *o)
{
	void *host = NULL, *dev = NULL, *dbh = NULL, *dbd = NULL;
	const size_t ring = (size_t)64 << 20;
	static const uint32_t threads[] = { 1024, 4096, 16384 };
	static const uint32_t warps[] = { 32, 128, 512, 2048 };
	char err[256];
	double rate;

	if (aisio_gpu_host_alloc(ring, &host, &dev) || aisio_gpu_host_alloc(1 << 20, &dbh, &dbd)) {
		fprintf(stderr, "probe: %s\n", aisio_errmsg());
		goto out;
	}
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		if (pc_probe_post(dev, ring, dbd, threads[i], 500, &rate, err, sizeof(err))) {
			fprintf(stderr, "probe: %s\n", err);
			goto out;
		}
		if (o->json)
			printf("{\"probe\":\"post\",\"gpu_threads\":%u,\"entries_per_s\":%.0f,\"gb_per_s\":%.2f}\n",
			       threads[i], rate, rate * 64 / 1e9);
		else
			printf("probe post: %6u GPU threads write 64-byte SQEs + a doorbell per warp into pinned host "
			       "memory: %7.2f M entries/s (%.2f GB/s)\n",
			       threads[i], rate / 1e6, rate * 64 / 1e9);
	}
	for (uint32_t ns = 1; ns <= 4; ns *= 2) {
		double gbs = 0;
		if (probe_h2d(ns, 500, &gbs))
			goto out;
		if (o->json)
			printf("{\"probe\":\"h2d_copy\",\"streams\":%u,\"gb_per_s\":%.2f}\n", ns, gbs);
		else
			printf("probe copy: pinned host memory into GPU memory, 8 MiB cudaMemcpyAsync pieces on %u "
			       "stream(s): %.2f GB/s\n", ns, gbs);
	}
	for (size_t i = 0; i < sizeof(warps) / sizeof(warps[0]); i++) {
		if (pc_probe_read(dev, ring, warps[i], 500, &rate, err, sizeof(err))) {
			fprintf(stderr, "probe: %s\n", err);
			goto out;
		}
		if (o->json)
			printf("{\"probe\":\"read\",\"warps\":%u,\"reads_per_s\":%.0f,\"gb_per_s\":%.2f}\n", warps[i],
			       rate, rate * 512 / 1e9);
		else
			printf("probe read: %6u warps each read 512 bytes (32 CQEs) of pinned host memory: %7.2f M "
			       "reads/s (%.2f GB/s, %.0f M CQEs/s if all were new)\n",
			       warps[i], rate / 1e6, rate * 512 / 1e9, rate * 32 / 1e6);
	}
out:
	aisio_gpu_host_free(host);
	aisio_gpu_host_free(dbh);
}

/* One GPU's share: its controllers, buffers and the result of the running combination. */
struct gpu_job {
	const struct run_opts *o;
	int gpu;
	struct pc_ctrl *ctrls;
	struct aisio_mem_region *buf;
	struct aisio_mem_region *lists; /* PRP list pages (host memory), or NULL */
	int is_homi;                    /* the controllers are homid's (homi: URIs) */
	struct pc_homi homi;
	uint32_t nq, qd, iosize;
	pthread_barrier_t *go;
	struct combo_res r;
	int rc;
};

static void *gpu_job_run(void *arg)
{
	struct gpu_job *j = arg;

	/* the CUDA current device is per thread */
	if (aisio_gpu_select(j->gpu)) {
		fprintf(stderr, "aisio perf cuda-run: %s\n", aisio_errmsg());
		memset(&j->r, 0, sizeof(j->r));
		if (j->go)
			pthread_barrier_wait(j->go);
		j->rc = -1;
		return NULL;
	}
	j->rc = run_combo(j->o, j->gpu, j->ctrls, j->is_homi ? &j->homi : NULL, j->nq, j->qd, j->iosize, j->buf,
			  j->lists, j->go, &j->r);
	return NULL;
}

/* Controllers, data buffers and PRP list pages for one GPU. Prints and returns -1 on error. */
static int gpu_job_setup(struct gpu_job *j, const struct pc_ctrl_cfg *cfg, uint32_t maxq, uint32_t maxd,
			 uint32_t maxio)
{
	const struct run_opts *o = j->o;

	if (aisio_gpu_select(j->gpu)) {
		fprintf(stderr, "aisio perf cuda-run: %s\n", aisio_errmsg());
		return -1;
	}
	if (j->is_homi) {
		/*
		 * homid's controllers: GPU queues from homid, data buffers in GPU
		 * memory registered with homid (its model moves data straight into
		 * them), a buffer per CID of the queues of each session.
		 */
		const uint32_t per_sess = (maxq + (uint32_t)o->ctrls - 1) / (uint32_t)o->ctrls;
		size_t len = (size_t)per_sess * maxd * maxio;
		if (len > ((size_t)256 << 20))
			len = (size_t)256 << 20;
		len = (len + 4095) & ~(size_t)4095;
		return pc_homi_open(o->uris, o->nuris, o->ctrls, per_sess, len, &j->homi);
	}
	j->ctrls = calloc((size_t)o->ctrls, sizeof(*j->ctrls));
	if (!j->ctrls || pc_ctrls_open(o->uris, o->nuris, o->ctrls, cfg, j->ctrls)) {
		free(j->ctrls);
		j->ctrls = NULL;
		return -1;
	}
	/* Data buffers in GPU memory: one per CID, at most 1 GiB in all. */
	size_t buf_len = (size_t)maxq * maxd * maxio;
	if (buf_len > ((size_t)1 << 30))
		buf_len = (size_t)1 << 30;
	if (aisio_gpu_region_alloc(j->gpu, buf_len, &j->buf)) {
		fprintf(stderr, "aisio perf cuda-run: %s\n", aisio_errmsg());
		return -1;
	}
	/* Controllers that store data move it into this GPU memory with the GPU's copy engines. */
	if (pc_ctrls_add_gpu(j->ctrls, o->ctrls, j->buf))
		return -1;
	if (maxio > 2 * j->ctrls[0].page_size) {
		size_t lists_pages = (size_t)maxq * maxd;
		if (lists_pages > 65536)
			lists_pages = 65536;
		if (aisio_mem_region_identity(lists_pages * 4096, &j->lists)) {
			fprintf(stderr, "aisio perf cuda-run: PRP lists: %s\n", aisio_errmsg());
			return -1;
		}
	}
	return 0;
}

static void gpu_job_teardown(struct gpu_job *j)
{
	if (j->is_homi) {
		pc_homi_close(&j->homi);
		return;
	}
	aisio_mem_region_release(j->lists);
	aisio_mem_region_release(j->buf);
	if (j->ctrls)
		pc_ctrls_close(j->ctrls, j->o->ctrls);
	free(j->ctrls);
}

/* The sum over GPUs: rates add up; latency is the average over all commands. */
static void combo_total(const struct gpu_job *jobs, int n, uint32_t iosize, struct combo_res *t)
{
	double lat_sum = 0;

	memset(t, 0, sizeof(*t));
	for (int i = 0; i < n; i++) {
		const struct combo_res *r = &jobs[i].r;
		t->iops += r->iops;
		t->model_iops += r->model_iops;
		t->ios += r->ios;
		t->errors += r->errors;
		t->timeouts += r->timeouts;
		t->threads += r->threads;
		t->sq_db += r->sq_db;
		t->cq_db += r->cq_db;
		t->reaps += r->reaps;
		t->empty += r->empty;
		t->dma_copies += r->dma_copies;
		t->dma_bytes += r->dma_bytes;
		t->dma_failed += r->dma_failed;
		t->dma_direct_bytes += r->dma_direct_bytes;
		lat_sum += r->lat_avg_us * (double)r->ios;
		if (r->lat_max_us > t->lat_max_us)
			t->lat_max_us = r->lat_max_us;
		if (r->elapsed > t->elapsed)
			t->elapsed = r->elapsed;
		if (!t->first_status)
			t->first_status = r->first_status;
	}
	t->mibs = t->iops * iosize / 1048576.0;
	t->lat_avg_us = t->ios ? lat_sum / (double)t->ios : 0;
}

/* @idx: NULL with one GPU (the single-GPU format), else the "gpu_index" value. */
static void print_json(const struct run_opts *o, const char *name, const char *idx, int ctrls, uint32_t nq,
		       uint32_t qd, uint32_t iosize, const struct combo_res *r)
{
	if (idx)
		printf("{\"gpu_index\":%s,", idx);
	else
		printf("{");
	printf("\"gpu\":\"%s\",\"ctrls\":%d,\"queues\":%u,\"qdepth\":%u,\"threads\":%llu,"
	       "\"per_thread\":%u,\"iosize\":%u,\"block_db\":%d,\"ios\":%llu,\"elapsed_s\":%.4f,"
	       "\"iops\":%.0f,\"mib_s\":%.1f,\"lat_avg_us\":%.2f,\"lat_max_us\":%.1f,"
	       "\"errors\":%llu,\"timeouts\":%llu,\"first_status\":%u,\"sq_db\":%llu,"
	       "\"cq_db\":%llu,\"reaps\":%llu,\"empty_reaps\":%llu,\"model_iops\":%.0f,\"dma_copies\":%llu,"
	       "\"dma_bytes\":%llu,\"dma_direct_bytes\":%llu,\"dma_failed\":%llu,\"qids\":\"%s\"}\n",
	       name, ctrls, nq, qd, (unsigned long long)r->threads, o->per_thread, iosize, o->block_db,
	       (unsigned long long)r->ios, r->elapsed, r->iops, r->mibs, r->lat_avg_us, r->lat_max_us,
	       (unsigned long long)r->errors, (unsigned long long)r->timeouts, r->first_status,
	       (unsigned long long)r->sq_db, (unsigned long long)r->cq_db, (unsigned long long)r->reaps,
	       (unsigned long long)r->empty, r->model_iops, (unsigned long long)r->dma_copies,
	       (unsigned long long)r->dma_bytes, (unsigned long long)r->dma_direct_bytes,
	       (unsigned long long)r->dma_failed, r->qids);
}

/* @label: NULL with one GPU (no gpu column), else the GPU index or "total". */
static void print_row(const char *label, uint32_t nq, uint32_t qd, uint32_t iosize, const struct combo_res *r)
{
	if (label)
		printf("%5s ", label);
	printf("%6u %6u %8llu %7u %9.2fM %10.1f %7.1fus %7.0fus %8llu %8.1f %8.1f %6.1f%% %8.2fM\n", nq, qd,
	       (unsigned long long)r->threads, iosize, r->iops / 1e6, r->mibs, r->lat_avg_us, r->lat_max_us,
	       (unsigned long long)(r->errors + r->timeouts), r->sq_db ? (double)r->ios / r->sq_db : 0,
	       r->reaps ? (double)r->ios / r->reaps : 0, r->reaps ? 100.0 * r->empty / r->reaps : 0,
	       r->model_iops / 1e6);
	if (r->dma_copies || r->dma_failed)
		printf("%s      model DMA into GPU memory: %llu copies, %.1f MiB (%.1f MiB straight from the "
		       "registered store), failed batches %llu\n",
		       label ? "      " : "", (unsigned long long)r->dma_copies, r->dma_bytes / 1048576.0,
		       r->dma_direct_bytes / 1048576.0, (unsigned long long)r->dma_failed);
}

int aisio_perf_cuda_run(int argc, char **argv)
{
	struct run_opts o;
	struct gpu_job jobs[PC_MAX_GPUS];
	pthread_t tids[PC_MAX_GPUS];
	pthread_barrier_t go;
	int n, rc, failed = 0, nsetup = 0, multi;

	rc = parse(&o, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	multi = o.ngpus > 1;
	if (aisio_gpu_select(o.gpus[0])) {
		fprintf(stderr, "aisio perf cuda-run: %s\n", aisio_errmsg());
		return 1;
	}
	if (o.probe)
		probes(&o);

	uint32_t maxq = (uint32_t)vmax(o.nq, o.nnq);
	uint32_t maxd = (uint32_t)vmax(o.qd, o.nqd);
	uint32_t maxio = (uint32_t)vmax(o.ios, o.nios);
	struct pc_ctrl_cfg cfg = {
		.queues = (maxq + (uint32_t)o.ctrls - 1) / (uint32_t)o.ctrls,
		.depth = maxd + 1,
		.threads = o.ctrl_threads,
		.dma = PC_DMA_GPU_DATA, /* null namespaces move nothing and keep identity DMA */
		.gpu = o.gpus[0],
	};
	memset(jobs, 0, sizeof(jobs));
	for (int g = 0; g < o.ngpus; g++) {
		jobs[g].o = &o;
		jobs[g].gpu = o.gpus[g];
		jobs[g].is_homi = o.nuris && !strncmp(o.uris[0], "homi:", 5);
		nsetup = g + 1;
		cfg.gpu = o.gpus[g];
		if (gpu_job_setup(&jobs[g], &cfg, maxq, maxd, maxio)) {
			rc = 1;
			goto out;
		}
	}
	if (multi && pthread_barrier_init(&go, NULL, (unsigned)o.ngpus)) {
		fprintf(stderr, "aisio perf cuda-run: cannot create a thread barrier\n");
		rc = 1;
		goto out;
	}
	if (!o.json) {
		for (int g = 0; g < o.ngpus; g++)
			printf("GPU %d: %s; %d controller(s) of '%s'; pattern %s; %u command(s) in flight per thread%s\n",
			       o.gpus[g], aisio_gpu_name(o.gpus[g]), o.ctrls, o.nuris ? o.uris[0] : "emu:1G,null",
			       (const char *[]){ "randread", "read", "randwrite", "write" }[o.pattern], o.per_thread,
			       o.block_db ? "; doorbell per block" : "; doorbell per warp");
		if (multi)
			printf("%d GPUs at once, each with its own controllers, queues and kernel; one row per GPU "
			       "and their total\n%5s ",
			       o.ngpus, "gpu");
		printf("%6s %6s %8s %7s %10s %10s %9s %9s %8s %8s %8s %7s %9s\n", "queues", "qdepth", "threads",
		       "iosize", "IOPS", "MiB/s", "lat_avg", "lat_max", "errors", "io/sqdb", "io/reap", "empty%",
		       "model");
	}
	for (int a = 0; a < o.nnq; a++)
		for (int b = 0; b < o.nqd; b++)
			for (int c = 0; c < o.nios; c++) {
				uint32_t nq = (uint32_t)o.nq[a], qd = (uint32_t)o.qd[b], ios = (uint32_t)o.ios[c];
				struct combo_res t;
				char lbl[16];
				int g;

				for (g = 0; g < o.ngpus; g++) {
					jobs[g].nq = nq;
					jobs[g].qd = qd;
					jobs[g].iosize = ios;
					jobs[g].go = multi ? &go : NULL;
				}
				if (!multi)
					jobs[0].rc = run_combo(&o, jobs[0].gpu, jobs[0].ctrls,
							       jobs[0].is_homi ? &jobs[0].homi : NULL, nq, qd, ios,
							       jobs[0].buf, jobs[0].lists, NULL, &jobs[0].r);
				else {
					for (g = 0; g < o.ngpus; g++)
						if (pthread_create(&tids[g], NULL, gpu_job_run, &jobs[g])) {
							fprintf(stderr, "aisio perf cuda-run: cannot start a thread\n");
							abort(); /* the barrier would wait forever */
						}
					for (g = 0; g < o.ngpus; g++)
						pthread_join(tids[g], NULL);
				}
				n = 0;
				for (g = 0; g < o.ngpus; g++) {
					if (jobs[g].rc < 0)
						n = -1;
					else if (jobs[g].rc && !n)
						n = 1;
				}
				if (n < 0) {
					rc = 1;
					goto out_barrier;
				}
				failed |= n;
				if (!multi) {
					if (o.json)
						print_json(&o, aisio_gpu_name(o.gpus[0]), NULL, o.ctrls, nq, qd, ios, &jobs[0].r);
					else
						print_row(NULL, nq, qd, ios, &jobs[0].r);
					fflush(stdout);
					continue;
				}
				for (g = 0; g < o.ngpus; g++) {
					snprintf(lbl, sizeof(lbl), "%d", o.gpus[g]);
					if (o.json)
						print_json(&o, aisio_gpu_name(o.gpus[g]), lbl, o.ctrls, nq, qd, ios, &jobs[g].r);
					else
						print_row(lbl, nq, qd, ios, &jobs[g].r);
				}
				combo_total(jobs, o.ngpus, ios, &t);
				if (o.json)
					print_json(&o, "all", "\"total\"", o.ctrls * o.ngpus, nq * (uint32_t)o.ngpus, qd, ios, &t);
				else
					print_row("total", nq * (uint32_t)o.ngpus, qd, ios, &t);
				fflush(stdout);
			}
	rc = failed ? 1 : 0;
out_barrier:
	if (multi)
		pthread_barrier_destroy(&go);
out:
	for (int g = 0; g < nsetup; g++)
		gpu_job_teardown(&jobs[g]);
	return rc;
}
