/* SPDX-License-Identifier: MIT */
/* aisio perf cuda-*: host-side pieces shared by cuda-run, cuda-verify and run --mem. */
#ifndef AISIO_TOOLS_PERF_CUDA_HOST_H
#define AISIO_TOOLS_PERF_CUDA_HOST_H

#include <stdint.h>
#include <stdio.h>

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
	uint32_t page_shift;
	uint32_t max_xfer;         /* bytes per command (MDTS) */
	struct aisio_gpu_dma *dma; /* its own GPU DMA provider, or NULL */
};

/* How the controllers reach the commands' data buffers. */
enum pc_dma {
	PC_DMA_IDENTITY = 0, /* host memory only (bus address == pointer) */
	PC_DMA_GPU = 1,      /* a GPU DMA provider per controller: data in GPU memory goes through copy engines */
	PC_DMA_GPU_DATA = 2, /* PC_DMA_GPU for controllers that move data, identity for null namespaces */
};

struct pc_ctrl_cfg {
	uint32_t queues;     /* I/O queue pairs needed */
	uint32_t depth;      /* deepest ring needed */
	uint32_t threads;    /* controller threads (0: from the URI) */
	enum pc_dma dma;
	int gpu;
};

/*
 * Open @n controllers from the emu: URIs in @uris (used round robin).
 * Prints the problem and returns -1 on error (what was opened is closed).
 */
int pc_ctrls_open(char **uris, int nuris, int n, const struct pc_ctrl_cfg *cfg, struct pc_ctrl *out);
void pc_ctrls_close(struct pc_ctrl *c, int n);
/*
 * Register GPU memory region @r with every controller's GPU DMA provider, so
 * data for it goes through the copy engines. Prints and returns -1 on error.
 */
int pc_ctrls_add_gpu(struct pc_ctrl *c, int n, const struct aisio_mem_region *r);
/* The controllers' GPU DMA statistics, summed (last_err: the last non-zero one). */
void pc_ctrls_dma_stats(struct pc_ctrl *c, int n, struct aisio_gpu_dma_stats *st);
/* "copies N in M batches (K per batch), failed batches F (last CUDA error E: text)" */
const char *pc_dma_stats_str(const struct aisio_gpu_dma_stats *st, char *buf, size_t len);
/* I/O commands the controllers fetched so far. */
uint64_t pc_ctrls_io_cmds(struct pc_ctrl *c, int n);
/* The driver controllers of @c (an array of @n for aisio_gpu_qset_create). NULL when out of memory. */
struct aisio_nvme_ctrl **pc_ctrls_nc(struct pc_ctrl *c, int n);

/*
 * PRP entries for a command of controller @c moving @len bytes at @buf in
 * region @r, from the driver's PRP builder (src/nvme/dptr.c); a PRP list,
 * when needed, goes to the list page at @list in region @lr. Returns 0, or
 * the builder's error with its message printed after @what.
 */
int pc_prp(const struct pc_ctrl *c, const struct aisio_mem_region *r, const void *buf, size_t len,
	   const struct aisio_mem_region *lr, void *list, const char *what, uint64_t *prp1, uint64_t *prp2);

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
