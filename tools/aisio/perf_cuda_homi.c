/* SPDX-License-Identifier: MIT */
/*
 * aisio perf cuda-run homi:...: the GPU as a client of homid. One homid
 * session per controller (a homi: URI each, used round robin); homid
 * creates the GPU's queue pairs on shared memory the CLI registered with
 * it and with CUDA (aisio_gpu_qset_create_homi), and the commands' data
 * buffers are GPU memory registered with homid per session by its CUDA IPC
 * handle (aisio_gpu_homi_mem_reg), so homid's model moves data straight
 * into GPU memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#include <aisio/aisio.h>

#include "homi/client.h"
#include "perf_cuda_homi.h"

int pc_homi_open(char **uris, int nuris, int n, uint32_t queues, size_t buf_len, struct pc_homi *h)
{
	struct aisio_open_opts oo;
	int i;

	memset(h, 0, sizeof(*h));
	h->devs = calloc((size_t)n, sizeof(*h->devs));
	h->buf = calloc((size_t)n, sizeof(*h->buf));
	if (!h->devs || !h->buf) {
		fprintf(stderr, "out of memory\n");
		goto fail;
	}
	h->n = n;
	memset(&oo, 0, sizeof(oo));
	oo.nqueues = queues;
	for (i = 0; i < n; i++) {
		const char *uri = uris[i % nuris];
		struct aisio_homi_session hs;
		const struct aisio_geo *g;

		if (strncmp(uri, "homi:", 5)) {
			fprintf(stderr, "'%s': a run through homid takes homi: URIs only (not mixed with others)\n", uri);
			goto fail;
		}
		if (aisio_dev_open(uri, &oo, &h->devs[i])) {
			fprintf(stderr, "'%s': %s\n", uri, aisio_errmsg());
			goto fail;
		}
		if (aisio_homi_session_of(h->devs[i], &hs)) {
			fprintf(stderr, "'%s': %s\n", uri, aisio_errmsg());
			goto fail;
		}
		g = aisio_dev_geo(h->devs[i]);
		if (i == 0) {
			h->nsid = g->nsid;
			h->lba_shift = (uint32_t)__builtin_ctz(g->lba_size);
			h->nlbas = g->nlbas;
			h->page_size = g->buf_align;
		} else if (g->lba_size != 1u << h->lba_shift || g->buf_align != h->page_size) {
			fprintf(stderr, "'%s': LBA or page size differs from the first homid controller's\n", uri);
			goto fail;
		}
		if (g->nlbas < h->nlbas)
			h->nlbas = g->nlbas;
		/* data buffers: GPU memory, registered with homid for this session's controller */
		if (cudaMalloc(&h->buf[i].gpu, buf_len) != cudaSuccess) {
			cudaGetLastError();
			h->buf[i].gpu = NULL;
			fprintf(stderr, "'%s': cannot allocate %zu bytes of GPU memory for data buffers\n", uri,
				buf_len);
			goto fail;
		}
		h->buf[i].len = buf_len;
		if (aisio_gpu_homi_mem_reg(h->devs[i], h->buf[i].gpu, buf_len, &h->buf[i].mem_id, &h->buf[i].bus)) {
			fprintf(stderr, "'%s': data buffers in GPU memory: %s\n", uri, aisio_errmsg());
			goto fail;
		}
		/* PRPs of two pages per command need page-aligned buffers */
		if (h->buf[i].bus % h->page_size) {
			fprintf(stderr, "'%s': homid opened the GPU buffers at 0x%llx, not on a %u-byte page\n", uri,
				(unsigned long long)h->buf[i].bus, h->page_size);
			goto fail;
		}
	}
	return 0;

fail:
	pc_homi_close(h);
	return -1;
}

void pc_homi_close(struct pc_homi *h)
{
	for (int i = 0; i < h->n; i++) {
		if (h->buf && h->buf[i].gpu) {
			/* homid withdraws it from its model and closes its handle before the memory goes */
			if (h->buf[i].mem_id && h->devs[i])
				aisio_gpu_homi_mem_unreg(h->devs[i], h->buf[i].mem_id);
			cudaFree(h->buf[i].gpu);
		}
		if (h->devs && h->devs[i])
			aisio_dev_close(h->devs[i]);
	}
	free(h->devs);
	free(h->buf);
	memset(h, 0, sizeof(*h));
}

int pc_homi_prp(const struct pc_homi *h, int sess, uint64_t off, uint32_t len, uint64_t *prp1, uint64_t *prp2)
{
	const uint64_t ps = h->page_size;
	uint64_t bus, room;

	if (off + len > h->buf[sess].len || !ps)
		return -EINVAL;
	bus = h->buf[sess].bus + off;
	room = ps - (bus & (ps - 1));
	if (len > room + ps) {
		fprintf(stderr, "aisio perf cuda-run: through homid, a command moves at most two controller pages "
				"(%llu bytes) for now (PRP lists are not built there)\n",
			(unsigned long long)(2 * ps));
		return -EINVAL;
	}
	*prp1 = bus;
	*prp2 = len > room ? bus + room : 0;
	return 0;
}
