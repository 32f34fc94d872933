/* SPDX-License-Identifier: MIT */
/*
 * aisio perf cuda-*: device-model controllers behind the user-space driver,
 * host-side queue pairs on the shared ring code, PRP entries, list options.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cuda_runtime_api.h>

#include <aisio/aisio.h>

#include "nvme/dptr.h"
#include "perf_cuda_host.h"
#include "util/size.h"

uint64_t pc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int pc_parse_list(const char *what, const char *s, uint64_t *v, int max)
{
	const char *p = s;
	int n = 0;

	if (!*s) {
		fprintf(stderr, "%s: empty list\n", what);
		return -1;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		uint64_t x;
		int err = aisio_parse_size_n(p, len, &x);

		if (err) {
			fprintf(stderr, "%s: '%.*s' in '%s' is %s (use " AISIO_SIZE_HELP
				", or a list of them: 1,8,32)\n", what, (int)len, p, s,
				err == -ERANGE ? "too large" : "not a number");
			return -1;
		}
		if (!x) {
			fprintf(stderr, "%s: values must be positive ('%s')\n", what, s);
			return -1;
		}
		if (n == max) {
			fprintf(stderr, "%s: at most %d value%s\n", what, max, max > 1 ? "s" : "");
			return -1;
		}
		v[n++] = x;
		if (!p[len])
			return n;
		p += len + 1;
	}
}

int pc_parse_gpus(const char *tool, const char *s, int *gpus, int max)
{
	const char *p = s;
	int n = 0;

	if (!strcmp(s, "all")) {
		if (aisio_gpu_count(&n)) {
			fprintf(stderr, "%s: %s\n", tool, aisio_errmsg());
			return -1;
		}
		if (n > max)
			n = max;
		for (int i = 0; i < n; i++)
			gpus[i] = i;
		return n;
	}
	while (1) {
		char *end;
		long x;

		if (*p < '0' || *p > '9')
			goto bad;
		x = strtol(p, &end, 10);
		if (x > 4096 || (*end && *end != ','))
			goto bad;
		if (n == max) {
			fprintf(stderr, "%s: --gpu: at most %d GPUs\n", tool, max);
			return -1;
		}
		for (int k = 0; k < n; k++)
			if (gpus[k] == (int)x) {
				fprintf(stderr, "%s: --gpu lists GPU %ld twice\n", tool, x);
				return -1;
			}
		gpus[n++] = (int)x;
		if (!*end)
			return n;
		p = end + 1;
	}
bad:
	fprintf(stderr, "%s: --gpu takes an index, a list of indexes (0,1) or 'all', not '%s'\n", tool, s);
	return -1;
}

int pc_ctrls_open(char **uris, int nuris, int n, const struct pc_ctrl_cfg *cfg, struct pc_ctrl *out)
{
	static char *def_uri[] = { "emu:1G,null" };
	int i, err;

	if (!nuris) {
		uris = def_uri;
		nuris = 1;
	}
	memset(out, 0, sizeof(*out) * (size_t)n);
	for (i = 0; i < n; i++) {
		const char *uri = uris[i % nuris];
		struct pc_ctrl *c = &out[i];
		struct aisio_emu_opts o;
		struct aisio_nvme_ctrl_opts co;
		char *file = NULL;

		if (strncmp(uri, "emu:", 4)) {
			fprintf(stderr, "'%s': GPU-initiated I/O runs against device-model controllers (emu:...) "
					"on this host; real controllers need the dma-buf importer and a GPU-mapped BAR\n",
				uri);
			goto err_close;
		}
		aisio_emu_opts_init(&o);
		err = aisio_emu_parse_uri(uri + 4, &o, &file);
		if (err) {
			fprintf(stderr, "'%s': %s\n", uri, aisio_errmsg());
			goto err_close;
		}
		if (o.nqueues < cfg->queues)
			o.nqueues = cfg->queues;
		if (o.mqes + 1 < cfg->depth)
			o.mqes = cfg->depth - 1;
		if (cfg->threads)
			o.threads = cfg->threads;
		if (cfg->gpu_dma) {
			/* one provider per controller: its own stream and staging, no shared lock */
			if (aisio_gpu_dma_create(cfg->gpu, &c->dma)) {
				fprintf(stderr, "'%s': %s\n", uri, aisio_errmsg());
				free(file);
				goto err_close;
			}
			o.dma = aisio_gpu_dma_ops(c->dma);
		}
		err = aisio_emu_ctrl_create(&o, &c->emu);
		free(file);
		if (err) {
			fprintf(stderr, "'%s': %s\n", uri, aisio_errmsg());
			goto err_close;
		}
		err = cfg->gpu_dma ? aisio_gpu_emu_pcif_open(c->emu, &c->f) : aisio_emu_pcif_open(c->emu, &c->f);
		if (err) {
			fprintf(stderr, "'%s': %s\n", uri, aisio_errmsg());
			goto err_close;
		}
		memset(&co, 0, sizeof(co));
		co.nqueues = o.nqueues;
		err = aisio_nvme_ctrl_init(c->f, &co, &c->nc);
		if (err) {
			fprintf(stderr, "'%s': controller bring-up failed: %s\n", uri, aisio_errmsg());
			goto err_close;
		}
		const struct aisio_nvme_ctrl_info *info = aisio_nvme_ctrl_info(c->nc);
		if (info->nqueues < cfg->queues || info->max_qdepth < cfg->depth) {
			fprintf(stderr, "'%s': controller gives %u queues of %u entries; %u of %u needed\n", uri,
				info->nqueues, info->max_qdepth, cfg->queues, cfg->depth);
			goto err_close;
		}
		if (!info->nactive) {
			fprintf(stderr, "'%s': no active namespace\n", uri);
			goto err_close;
		}
		c->nsid = info->active[0];
		c->lba_shift = aisio_emu_ctrl_opts(c->emu)->lba_shift;
		c->nlbas = aisio_emu_ctrl_opts(c->emu)->ns_size >> c->lba_shift;
		c->page_size = 1u << info->page_shift;
	}
	return 0;

err_close:
	pc_ctrls_close(out, i + 1);
	return -1;
}

void pc_ctrls_close(struct pc_ctrl *c, int n)
{
	for (int i = 0; i < n; i++) {
		if (c[i].nc)
			aisio_nvme_ctrl_term(c[i].nc);
		if (c[i].f)
			aisio_pcif_close(c[i].f);
		if (c[i].emu)
			aisio_emu_ctrl_destroy(c[i].emu);
		aisio_gpu_dma_destroy(c[i].dma);
		memset(&c[i], 0, sizeof(c[i]));
	}
}

int pc_ctrls_add_gpu(struct pc_ctrl *c, int n, uint64_t va, size_t len)
{
	for (int i = 0; i < n; i++)
		if (c[i].dma && aisio_gpu_dma_add_gpu(c[i].dma, va, len)) {
			fprintf(stderr, "%s\n", aisio_errmsg());
			return -1;
		}
	return 0;
}

void pc_ctrls_dma_stats(struct pc_ctrl *c, int n, struct aisio_gpu_dma_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < n; i++) {
		struct aisio_gpu_dma_stats one;
		if (!c[i].dma)
			continue;
		aisio_gpu_dma_stats(c[i].dma, &one);
		st->copies += one.copies;
		st->batches += one.batches;
		st->bytes += one.bytes;
		st->failed += one.failed;
		st->faults += one.faults;
		st->batch_api |= one.batch_api;
		if (one.last_err)
			st->last_err = one.last_err;
	}
}

const char *pc_dma_stats_str(const struct aisio_gpu_dma_stats *st, char *buf, size_t len)
{
	snprintf(buf, len, "copies %llu in %llu batches (%.1f per batch, %s), failed batches %llu%s%s%s, "
		 "range faults %llu",
		 (unsigned long long)st->copies, (unsigned long long)st->batches,
		 st->batches ? (double)st->copies / st->batches : 0.0,
		 st->batch_api ? "cudaMemcpyBatchAsync" : "cudaMemcpyAsync each",
		 (unsigned long long)st->failed, st->last_err ? " (last: " : "",
		 st->last_err ? cudaGetErrorString((cudaError_t)st->last_err) : "", st->last_err ? ")" : "",
		 (unsigned long long)st->faults);
	return buf;
}

uint64_t pc_ctrls_io_cmds(struct pc_ctrl *c, int n)
{
	uint64_t sum = 0;

	for (int i = 0; i < n; i++) {
		struct aisio_emu_stats st;
		aisio_emu_ctrl_stats(c[i].emu, &st);
		sum += st.io_cmds;
	}
	return sum;
}

int pc_hq_create(struct aisio_nvme_ctrl *nc, uint32_t depth, struct pc_hq *q)
{
	const struct aisio_nvme_ctrl_info *info = aisio_nvme_ctrl_info(nc);
	size_t sq_len = ((size_t)depth * 64 + 4095) & ~(size_t)4095;
	size_t cq_len = ((size_t)depth * 16 + 4095) & ~(size_t)4095;
	struct aisio_nvme_qpair_ext e;
	int err;

	memset(q, 0, sizeof(*q));
	q->sq_mem = aligned_alloc(4096, sq_len);
	q->cq_mem = aligned_alloc(4096, cq_len);
	if (!q->sq_mem || !q->cq_mem) {
		free(q->sq_mem);
		free(q->cq_mem);
		fprintf(stderr, "out of memory for a host queue\n");
		return -ENOMEM;
	}
	memset(q->sq_mem, 0, sq_len);
	memset(q->cq_mem, 0, cq_len);
	memset(&e, 0, sizeof(e));
	e.depth = depth;
	e.sq_bus = (uint64_t)(uintptr_t)q->sq_mem;
	e.cq_bus = (uint64_t)(uintptr_t)q->cq_mem;
	e.sq_va = q->sq_mem;
	e.cq_va = q->cq_mem;
	err = aisio_nvme_ctrl_qpair_create_ext(nc, &e, &q->qid);
	if (err) {
		fprintf(stderr, "cannot create a host queue: %s\n", aisio_errmsg());
		free(q->sq_mem);
		free(q->cq_mem);
		return err;
	}
	q->nc = nc;
	aisio_nvme_sq_init(&q->sq, q->sq_mem, aisio_nvme_ctrl_bar0(nc), q->qid, depth, info->dstrd);
	aisio_nvme_cq_init(&q->cq, q->cq_mem, aisio_nvme_ctrl_bar0(nc), q->qid, depth, info->dstrd);
	return 0;
}

void pc_hq_delete(struct pc_hq *q)
{
	if (!q->nc)
		return;
	aisio_nvme_ctrl_qpair_delete_ext(q->nc, q->qid);
	free(q->sq_mem);
	free(q->cq_mem);
	q->nc = NULL;
}

void pc_hq_push(struct pc_hq *q, const struct aisio_nvme_sqe *cmd)
{
	*aisio_nvme_sq_slot(&q->sq) = *cmd;
	aisio_nvme_sq_advance(&q->sq);
}

void pc_hq_ring(struct pc_hq *q)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	aisio_nvme_sq_ring_db(&q->sq);
}

uint32_t pc_hq_reap(struct pc_hq *q, void (*fn)(void *arg, const struct aisio_nvme_cqe *e), void *arg)
{
	volatile struct aisio_nvme_cqe *v;
	uint32_t n = 0;

	while ((v = aisio_nvme_cq_peek(&q->cq))) {
		struct aisio_nvme_cqe e;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		aisio_nvme_cqe_read(&e, v);
		q->sq.head = e.sqhd;
		aisio_nvme_cq_advance(&q->cq);
		fn(arg, &e);
		n++;
	}
	if (n)
		aisio_nvme_cq_ring_db(&q->cq);
	return n;
}

int pc_prp(const struct aisio_mem_region *r, const void *buf, size_t len, uint32_t page_size, uint64_t *list,
	   uint64_t *prp1, uint64_t *prp2)
{
	const uint8_t *p = buf;
	uint64_t b = aisio_mem_bus(r, p);
	size_t first = page_size - (b & (page_size - 1));

	*prp1 = b;
	*prp2 = 0;
	if (len <= first)
		return 0;
	if (len <= first + page_size) {
		*prp2 = aisio_mem_bus(r, p + first);
		return 0;
	}
	if (!list)
		return -EINVAL;
	size_t off = first, i = 0;
	while (off < len) {
		if (i == page_size / 8)
			return -E2BIG; /* one list page is enough for the sizes used here */
		list[i++] = aisio_mem_bus(r, p + off);
		off += page_size;
	}
	*prp2 = (uint64_t)(uintptr_t)list;
	return 0;
}
