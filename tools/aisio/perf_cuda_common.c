/* SPDX-License-Identifier: MIT */
/*
 * aisio perf cuda-*: device-model controllers behind the user-space driver
 * (with the GPU DMA provider where data moves into GPU memory), PRP
 * entries from the driver's builder, list options.
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
		const int gpu_dma = cfg->dma == PC_DMA_GPU ||
				    (cfg->dma == PC_DMA_GPU_DATA && o.backing != AISIO_EMU_NULL);
		if (gpu_dma) {
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
		err = gpu_dma ? aisio_gpu_emu_pcif_open(c->emu, &c->f) : aisio_emu_pcif_open(c->emu, &c->f);
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
		c->page_shift = info->page_shift;
		c->max_xfer = info->max_xfer;
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

int pc_ctrls_add_gpu(struct pc_ctrl *c, int n, const struct aisio_mem_region *r)
{
	for (int i = 0; i < n; i++)
		if (c[i].dma && aisio_gpu_dma_add_gpu(c[i].dma, aisio_mem_bus(r, r->va), r->len)) {
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
		st->direct_copies += one.direct_copies;
		st->direct_bytes += one.direct_bytes;
		st->reg_chunks += one.reg_chunks;
		st->reg_bytes += one.reg_bytes;
		st->reg_refused += one.reg_refused;
		st->reg_ns += one.reg_ns;
		st->batch_api |= one.batch_api;
		if (one.last_err)
			st->last_err = one.last_err;
	}
}

const char *pc_dma_stats_str(const struct aisio_gpu_dma_stats *st, char *buf, size_t len)
{
	snprintf(buf, len, "copies %llu in %llu batches (%.1f per batch, %s), failed batches %llu%s%s%s, "
		 "range faults %llu, %.1f MiB straight from the registered store (%llu chunks registered in "
		 "%.1f ms, %llu refused)",
		 (unsigned long long)st->copies, (unsigned long long)st->batches,
		 st->batches ? (double)st->copies / st->batches : 0.0,
		 st->batch_api ? "cudaMemcpyBatchAsync" : "cudaMemcpyAsync each",
		 (unsigned long long)st->failed, st->last_err ? " (last: " : "",
		 st->last_err ? cudaGetErrorString((cudaError_t)st->last_err) : "", st->last_err ? ")" : "",
		 (unsigned long long)st->faults, st->direct_bytes / 1048576.0, (unsigned long long)st->reg_chunks,
		 st->reg_ns / 1e6, (unsigned long long)st->reg_refused);
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

struct aisio_nvme_ctrl **pc_ctrls_nc(struct pc_ctrl *c, int n)
{
	struct aisio_nvme_ctrl **nc = calloc((size_t)n, sizeof(*nc));

	if (!nc) {
		fprintf(stderr, "out of memory\n");
		return NULL;
	}
	for (int i = 0; i < n; i++)
		nc[i] = c[i].nc;
	return nc;
}

int pc_prp(const struct pc_ctrl *c, const struct aisio_mem_region *r, const void *buf, size_t len,
	   const struct aisio_mem_region *lr, void *list, const char *what, uint64_t *prp1, uint64_t *prp2)
{
	const struct aisio_nvme_list_mem lists = { .va = list, .region = lr, .npages = list ? 1 : 0 };
	struct aisio_nvme_sqe cmd;
	int err;

	memset(&cmd, 0, sizeof(cmd));
	err = aisio_nvme_prp_build(&cmd, r, buf, len, c->page_shift, c->max_xfer, list ? &lists : NULL);
	if (err) {
		fprintf(stderr, "%s: cannot describe %zu bytes at %p for the controller: %s\n", what, len, buf,
			aisio_errmsg());
		return err;
	}
	*prp1 = cmd.dptr.prp.prp1;
	*prp2 = cmd.dptr.prp.prp2;
	return 0;
}
