/* SPDX-License-Identifier: MIT */
/* aisio perf cuda-run through homid: sessions, their data buffers, PRP entries. */
#ifndef AISIO_TOOLS_PERF_CUDA_HOMI_H
#define AISIO_TOOLS_PERF_CUDA_HOMI_H

#include <stddef.h>
#include <stdint.h>

#include "gpu/gpu.h"

struct pc_homi {
	struct aisio_dev **devs; /* one homid session per controller */
	int n;
	struct {
		void *gpu; /* GPU memory (cudaMalloc) of the current GPU */
		size_t len;
		uint32_t mem_id;
		uint64_t bus; /* its device address on homid's controller */
	} *buf; /* per session: data buffers in GPU memory, registered with homid (GPU_MEM_REG) */
	uint32_t nsid, lba_shift, page_size;
	uint64_t nlbas; /* the smallest namespace of the sessions */
};

/*
 * Open @n sessions from the homi: URIs in @uris (round robin), each
 * expecting @queues GPU queues, and give each @buf_len bytes of data
 * buffers in GPU memory of the current GPU, registered with homid: its
 * model moves data straight into them. Prints the problem and returns -1
 * on error.
 */
int pc_homi_open(char **uris, int nuris, int n, uint32_t queues, size_t buf_len, struct pc_homi *h);
/* Unregister and free the buffers and close the sessions (GPU queues deleted first). */
void pc_homi_close(struct pc_homi *h);
/* PRP entries for @len bytes at @off in session @sess's buffers (at most two pages). */
int pc_homi_prp(const struct pc_homi *h, int sess, uint64_t off, uint32_t len, uint64_t *prp1, uint64_t *prp2);

#endif
