/* SPDX-License-Identifier: MIT */
/*
 * aisio perf run --mem gpu|host: CPU-initiated I/O whose data buffers are in
 * GPU memory (P2P mode: the PRPs point into GPU memory and the device model
 * moves the data with the GPU's copy engines) or in host memory, run the
 * same way (same controllers, same DMA provider, same queue loop) so the
 * two can be compared. CPU threads drive the user-space driver's queue
 * pairs; each keeps --qdepth commands in flight per queue. PRPs come from
 * the driver's builder (src/nvme/dptr.c) once per CID at setup.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aisio/aisio.h>

#include "nvme/cmd.h"
#include "perf_cuda_host.h"

struct p2p_opts {
	int gpu, ctrls, threads, gpu_mem, json, random, write;
	uint32_t qd, iosize, ctrl_threads;
	double runtime;
	char **uris;
	int nuris;
};

struct p2p_thread {
	const struct p2p_opts *o;
	struct pc_ctrl *ctrls;
	int idx;
	const struct aisio_mem_region *buf;
	size_t buf_off;                         /* this thread's part of the buffer region */
	const struct aisio_mem_region *lists;   /* PRP list pages (host memory), one per (queue, CID) */
	size_t lists_off;                       /* this thread's first list page */
	volatile int *stop;
	uint64_t ios, errors, lat_sum_ns;
	int failed;
};

struct p2p_q {
	struct aisio_nvme_qpair *qp; /* the driver's queue pair */
	struct pc_ctrl *c;
	struct p2p_thread *t;
	uint64_t *prp;               /* PRP1 and PRP2 of each CID's buffer */
	uint64_t rng;
	uint64_t nslots;
	uint64_t now;                /* time of the reap pass (0 until its first completion) */
};

static void p2p_done(struct aisio_io *io, void *arg)
{
	struct p2p_q *q = arg;

	if (!q->now)
		q->now = pc_now_ns();
	q->t->ios++;
	q->t->lat_sum_ns += q->now - io->submit_ts;
	if (io->status)
		q->t->errors++;
}

/* PRPs of every CID's buffer in this queue's part of the buffer region, from the driver's builder. */
static int p2p_prps(struct p2p_q *q, uint32_t qi)
{
	const struct p2p_opts *o = q->t->o;

	q->prp = calloc((size_t)o->qd * 2, sizeof(uint64_t));
	if (!q->prp)
		return -ENOMEM;
	for (uint32_t cid = 0; cid < o->qd; cid++) {
		size_t k = (size_t)qi * o->qd + cid;
		int err = pc_prp(q->c, q->t->buf, q->t->buf->va + q->t->buf_off + k * o->iosize, o->iosize,
				 q->t->lists, q->t->lists->va + q->t->lists_off + k * 4096, "perf run --mem",
				 &q->prp[2 * cid], &q->prp[2 * cid + 1]);
		if (err)
			return err;
	}
	return 0;
}

/* Take every free command slot of the queue and submit them with one doorbell write. */
static void p2p_fill(struct p2p_q *q)
{
	const struct p2p_opts *o = q->t->o;
	const uint32_t nlb = o->iosize >> q->c->lba_shift;
	const uint64_t now = pc_now_ns();
	struct aisio_io *io;

	while ((io = aisio_nvme_qpair_get_io(q->qp))) {
		struct aisio_nvme_sqe cmd;
		uint64_t slot;

		q->rng ^= q->rng << 13, q->rng ^= q->rng >> 7, q->rng ^= q->rng << 17;
		slot = o->random ? q->rng % q->nslots : (q->rng & 0xffffff) % q->nslots;
		aisio_nvme_cmd_rw(&cmd, o->write ? AISIO_NVME_NVM_WRITE : AISIO_NVME_NVM_READ, q->c->nsid, slot * nlb,
				  nlb, 0);
		cmd.dptr.prp.prp1 = q->prp[2 * io->cid];
		cmd.dptr.prp.prp2 = q->prp[2 * io->cid + 1];
		/*
		 * The buffer is GPU memory the driver did not allocate, so the
		 * command carries its data pointer already and gives the driver
		 * no buffer: the driver sets only the CID.
		 */
		aisio_prep_cmd(io, &cmd, NULL, 0);
		aisio_io_set_cb(io, p2p_done, q);
		io->submit_ts = now;
	}
	aisio_nvme_qpair_submit(q->qp);
}

static void *p2p_main(void *arg)
{
	struct p2p_thread *t = arg;
	const struct p2p_opts *o = t->o;
	struct p2p_q *qs = NULL;
	uint32_t nq = 0, qi;

	for (int c = t->idx; c < o->ctrls; c += o->threads)
		nq++;
	qs = calloc(nq, sizeof(*qs));
	if (!qs)
		goto fail;
	qi = 0;
	for (int c = t->idx; c < o->ctrls; c += o->threads, qi++) {
		struct p2p_q *q = &qs[qi];
		q->c = &t->ctrls[c];
		q->t = t;
		q->rng = 0x9e3779b97f4a7c15ull * (uint64_t)(c + 1);
		q->nslots = q->c->nlbas / (o->iosize >> q->c->lba_shift);
		if (p2p_prps(q, qi))
			goto fail;
		if (aisio_nvme_qpair_create(q->c->nc, NULL, o->qd + 1, 0, &q->qp)) {
			fprintf(stderr, "perf run --mem: %s\n", aisio_errmsg());
			goto fail;
		}
	}
	for (qi = 0; qi < nq; qi++)
		p2p_fill(&qs[qi]);
	while (!*t->stop) {
		for (qi = 0; qi < nq; qi++) {
			struct p2p_q *q = &qs[qi];
			int n;

			q->now = 0;
			n = aisio_nvme_qpair_reap(q->qp, 0);
			if (n < 0) {
				fprintf(stderr, "perf run --mem: %s\n", aisio_errmsg());
				t->failed = 1;
				*t->stop = 1;
				break;
			}
			if (n)
				p2p_fill(q);
		}
	}
	/* drain */
	uint64_t t0 = pc_now_ns();
	for (qi = 0; qi < nq; qi++) {
		struct p2p_q *q = &qs[qi];
		while (aisio_nvme_qpair_outstanding(q->qp) && pc_now_ns() - t0 < 5000000000ull) {
			q->now = 0;
			if (aisio_nvme_qpair_reap(q->qp, 0) < 0)
				break;
		}
	}
	goto out;
fail:
	fprintf(stderr, "perf run --mem: thread %d could not set up its queues\n", t->idx);
	t->failed = 1;
out:
	if (qs)
		for (qi = 0; qi < nq; qi++) {
			aisio_nvme_qpair_delete(qs[qi].qp);
			free(qs[qi].prp);
		}
	free(qs);
	return NULL;
}

int aisio_perf_cuda_p2p(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "mem", required_argument, 0, 'm' },     { "gpu", required_argument, 0, 'g' },
		{ "ctrls", required_argument, 0, 'c' },   { "threads", required_argument, 0, 't' },
		{ "qdepth", required_argument, 0, 'q' },  { "iosize", required_argument, 0, 's' },
		{ "runtime", required_argument, 0, 'r' }, { "iopattern", required_argument, 0, 'p' },
		{ "ctrl-threads", required_argument, 0, 'T' }, { "json", no_argument, 0, 'j' },
		{ "help", no_argument, 0, 'h' },          { 0, 0, 0, 0 },
	};
	struct p2p_opts o = { .threads = 0, .qd = 32, .iosize = 4096, .runtime = 2, .random = 1, .gpu_mem = 1 };
	struct pc_ctrl *ctrls = NULL;
	struct aisio_mem_region *buf = NULL;
	struct p2p_thread *th = NULL;
	pthread_t *tids = NULL;
	struct aisio_mem_region *lists = NULL;
	volatile int stop = 0;
	uint64_t v;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "gpu"))
				o.gpu_mem = 1;
			else if (!strcmp(optarg, "host"))
				o.gpu_mem = 0;
			else {
				fprintf(stderr, "--mem: 'gpu' or 'host'\n");
				return 2;
			}
			break;
		case 'g': o.gpu = atoi(optarg); break;
		case 'c': o.ctrls = atoi(optarg); break;
		case 't': o.threads = atoi(optarg); break;
		case 'q': o.qd = (uint32_t)atoi(optarg); break;
		case 's': if (pc_parse_list("--iosize", optarg, &v, 1) < 0) return 2; o.iosize = (uint32_t)v; break;
		case 'r': o.runtime = atof(optarg); break;
		case 'p':
			o.random = !strncmp(optarg, "rand", 4);
			o.write = strstr(optarg, "write") != NULL;
			break;
		case 'T': o.ctrl_threads = (uint32_t)atoi(optarg); break;
		case 'j': o.json = 1; break;
		case 'h':
			printf("usage: aisio perf run --mem gpu|host [OPTIONS] [URI...]\n\n"
			       "CPU-initiated I/O with data buffers in GPU memory (P2P mode) or host memory,\n"
			       "against device-model controllers (default emu:1G) on this GPU host.\n\n"
			       "  --gpu N  --ctrls N  --threads N (CPU threads, default: one per controller)\n"
			       "  --qdepth N (per controller, default 32)  --iosize BYTES (default 4096)\n"
			       "  --runtime SECONDS (default 2)  --iopattern randread|read|randwrite|write\n"
			       "  --ctrl-threads N  --json\n");
			return 0;
		default: return 2;
		}
	}
	o.uris = argv + optind;
	o.nuris = argc - optind;
	if (!o.ctrls)
		o.ctrls = o.nuris ? o.nuris : 1;
	if (!o.threads)
		o.threads = o.ctrls;
	if (o.threads > o.ctrls)
		o.threads = o.ctrls;
	if (!o.qd || o.qd > 1023 || o.iosize < 512 || o.iosize % 512 || o.iosize > (1u << 20) || o.runtime <= 0) {
		fprintf(stderr, "perf run --mem: --qdepth 1..1023, --iosize a multiple of 512 up to 1M\n");
		return 2;
	}
	if (aisio_gpu_select(o.gpu)) {
		fprintf(stderr, "aisio perf run --mem %s: %s\n", o.gpu_mem ? "gpu" : "host", aisio_errmsg());
		return 1;
	}
	static char *def_uri[] = { "emu:1G" };
	struct pc_ctrl_cfg cfg = { .queues = 1, .depth = o.qd + 1, .threads = o.ctrl_threads, .dma = PC_DMA_GPU,
				   .gpu = o.gpu };
	ctrls = calloc((size_t)o.ctrls, sizeof(*ctrls));
	if (!ctrls || pc_ctrls_open(o.nuris ? o.uris : def_uri, o.nuris ? o.nuris : 1, o.ctrls, &cfg, ctrls)) {
		free(ctrls);
		ctrls = NULL;
		goto out;
	}
	size_t per_thread = 0;
	for (int t = 0; t < o.threads; t++) {
		size_t n = 0;
		for (int ci = t; ci < o.ctrls; ci += o.threads)
			n++;
		if (n > per_thread)
			per_thread = n;
	}
	size_t len = per_thread * o.qd * o.iosize * (size_t)o.threads;
	int err = o.gpu_mem ? aisio_gpu_region_alloc(o.gpu, len, &buf) : aisio_mem_region_identity(len, &buf);
	if (!err && o.gpu_mem && pc_ctrls_add_gpu(ctrls, o.ctrls, buf))
		goto out;
	if (!err)
		err = aisio_mem_region_identity(per_thread * o.qd * 4096 * (size_t)o.threads, &lists);
	if (err) {
		fprintf(stderr, "aisio perf run --mem: %s\n", aisio_errmsg());
		goto out;
	}
	th = calloc((size_t)o.threads, sizeof(*th));
	tids = calloc((size_t)o.threads, sizeof(*tids));
	if (!th || !tids)
		goto out;
	uint64_t m0 = pc_ctrls_io_cmds(ctrls, o.ctrls);
	double t0 = pc_now_ns() / 1e9;
	for (int t = 0; t < o.threads; t++) {
		th[t] = (struct p2p_thread){ .o = &o, .ctrls = ctrls, .idx = t, .buf = buf,
					     .buf_off = (size_t)t * per_thread * o.qd * o.iosize,
					     .lists = lists, .lists_off = (size_t)t * per_thread * o.qd * 4096,
					     .stop = &stop };
		pthread_create(&tids[t], NULL, p2p_main, &th[t]);
	}
	struct timespec ts = { (time_t)o.runtime, (long)((o.runtime - (time_t)o.runtime) * 1e9) };
	nanosleep(&ts, NULL);
	stop = 1;
	uint64_t ios = 0, errors = 0, lat = 0;
	int failed = 0;
	for (int t = 0; t < o.threads; t++) {
		pthread_join(tids[t], NULL);
		ios += th[t].ios;
		errors += th[t].errors;
		lat += th[t].lat_sum_ns;
		failed |= th[t].failed;
	}
	double el = pc_now_ns() / 1e9 - t0;
	uint64_t m1 = pc_ctrls_io_cmds(ctrls, o.ctrls);
	struct aisio_gpu_dma_stats ds;
	char dstr[256];
	pc_ctrls_dma_stats(ctrls, o.ctrls, &ds);
	pc_dma_stats_str(&ds, dstr, sizeof(dstr));
	double iops = ios / el;
	if (o.json)
		printf("{\"mode\":\"cpu-initiated\",\"mem\":\"%s\",\"gpu\":\"%s\",\"uri\":\"%s\",\"ctrls\":%d,"
		       "\"cpu_threads\":%d,\"qdepth\":%u,\"iosize\":%u,\"ios\":%llu,\"elapsed_s\":%.3f,\"iops\":%.0f,"
		       "\"mib_s\":%.1f,\"lat_avg_us\":%.2f,\"errors\":%llu,\"model_cmds\":%llu,\"dma_copies\":%llu,"
		       "\"dma_batches\":%llu,\"dma_failed\":%llu,\"dma_last_err\":%d}\n",
		       o.gpu_mem ? "gpu" : "host", aisio_gpu_name(o.gpu), o.nuris ? o.uris[0] : def_uri[0], o.ctrls,
		       o.threads, o.qd, o.iosize, (unsigned long long)ios, el, iops, iops * o.iosize / 1048576.0,
		       ios ? lat / 1000.0 / ios : 0, (unsigned long long)errors, (unsigned long long)(m1 - m0),
		       (unsigned long long)ds.copies, (unsigned long long)ds.batches, (unsigned long long)ds.failed,
		       ds.last_err);
	else
		printf("perf run --mem %-4s %d ctrl(s) of '%s', %d CPU thread(s), qd %u, %u B: %8.3f M IOPS %9.1f MiB/s "
		       "avg %.1f us, errors %llu; DMA: %s\n",
		       o.gpu_mem ? "gpu" : "host", o.ctrls, o.nuris ? o.uris[0] : def_uri[0], o.threads, o.qd, o.iosize,
		       iops / 1e6, iops * o.iosize / 1048576.0, ios ? lat / 1000.0 / ios : 0,
		       (unsigned long long)errors, dstr);
	rc = (failed || errors) ? 1 : 0;
out:
	free(th);
	free(tids);
	if (ctrls)
		pc_ctrls_close(ctrls, o.ctrls);
	free(ctrls);
	aisio_mem_region_release(buf);
	aisio_mem_region_release(lists);
	return rc;
}
