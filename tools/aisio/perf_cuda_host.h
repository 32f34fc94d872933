/* SPDX-License-Identifier: MIT */
/* aisio perf cuda-*: host-side pieces shared by cuda-run, cuda-verify and run --mem. */
#ifndef AISIO_TOOLS_PERF_CUDA_HOST_H
#define AISIO_TOOLS_PERF_CUDA_HOST_H

#include <stdint.h>
#include <stdio.h>

#include <aisio/nvme_ring.h>

#include "drv/drv.h"
#include "emu/emu.h"
#include "gpu/gpu.h"

/* A device-model controller driven by the user-space driver. */
struct pc_ctrl {
	struct aisio_emu_ctrl *emu;
	struct aisio_pcif *f;
	struct aisio_nvme_ctrl *nc;
	uint32_t nsid;
	uint32_t lba_shift;
	uint64_t nlbas;
	uint32_t page_size;
	struct aisio_gpu_dma *dma; /* its own GPU DMA provider, or NULL */
};

struct pc_ctrl_cfg {
	uint32_t queues;     /* I/O queue pairs needed */
	uint32_t depth;      /* deepest ring needed */
	uint32_t threads;    /* controller threads (0: from the URI) */
	int gpu_dma;         /* 1: a GPU DMA provider per controller (data in GPU memory), 0: identity */
	int gpu;
};

/*
 * Open @n controllers from the emu: URIs in @uris (used round robin).
 * Prints the problem and returns -1 on error (what was opened is closed).
 */
int pc_ctrls_open(char **uris, int nuris, int n, const struct pc_ctrl_cfg *cfg, struct pc_ctrl *out);
void pc_ctrls_close(struct pc_ctrl *c, int n);
/* Tell every controller's GPU DMA provider about GPU memory [va, va + len). Prints and returns -1 on error. */
int pc_ctrls_add_gpu(struct pc_ctrl *c, int n, uint64_t va, size_t len);
/* The controllers' GPU DMA statistics, summed (last_err: the last non-zero one). */
void pc_ctrls_dma_stats(struct pc_ctrl *c, int n, struct aisio_gpu_dma_stats *st);
/* "copies N in M batches (K per batch), failed batches F (last CUDA error E: text)" */
const char *pc_dma_stats_str(const struct aisio_gpu_dma_stats *st, char *buf, size_t len);
/* I/O commands the controllers fetched so far. */
uint64_t pc_ctrls_io_cmds(struct pc_ctrl *c, int n);

/* A queue pair in host memory driven by a CPU thread (same ring code as the GPU). */
struct pc_hq {
	struct aisio_nvme_sq sq;
	struct aisio_nvme_cq cq;
	struct aisio_nvme_ctrl *nc;
	void *sq_mem, *cq_mem;
	uint16_t qid;
};

int pc_hq_create(struct aisio_nvme_ctrl *nc, uint32_t depth, struct pc_hq *q);
void pc_hq_delete(struct pc_hq *q);
/* Put @cmd on the SQ (the caller checks space); pc_hq_ring() writes the doorbell. */
void pc_hq_push(struct pc_hq *q, const struct aisio_nvme_sqe *cmd);
void pc_hq_ring(struct pc_hq *q);
/* Reap new CQEs, calling @fn for each; writes the CQ doorbell once. Returns the count. */
uint32_t pc_hq_reap(struct pc_hq *q, void (*fn)(void *arg, const struct aisio_nvme_cqe *e), void *arg);

/* PRP entries for @len bytes at @buf in region @r; a list (when needed) goes to @list (one host page, identity). */
int pc_prp(const struct aisio_mem_region *r, const void *buf, size_t len, uint32_t page_size, uint64_t *list,
	   uint64_t *prp1, uint64_t *prp2);

/* Parse "512,4k,64k" into @v (at most @max values). Returns the count, or -1 (message printed). */
int pc_parse_list(const char *what, const char *s, uint64_t *v, int max);
uint64_t pc_now_ns(void);

/* Most GPUs one cuda-run / cuda-verify drives at once. */
#define PC_MAX_GPUS 16
/*
 * Parse --gpu: an index, a list ("0,1") or "all" (every GPU the driver
 * reports). Returns the count, or -1 (message printed, prefixed by @tool).
 */
int pc_parse_gpus(const char *tool, const char *s, int *gpus, int max);

#endif
