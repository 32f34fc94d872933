/* SPDX-License-Identifier: MIT */
/*
 * The GPU host's view of a device-model controller, without a GPU: a
 * controller created with its own DMA ops is reached through
 * aisio_gpu_emu_pcif_open(); the driver brings it up and creates a queue
 * pair on caller-supplied rings (as for GPU-resident queues), which the test
 * drives with the shared ring code: CIDs come back in CQEs, data moves
 * through the DMA ops, and commands finish in any order. Also: the GPU
 * calls fail with a clear message on a machine without a GPU.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aisio/aisio.h>
#include <aisio/cuda.h>
#include <aisio/nvme_ring.h>

#include "drv/drv.h"
#include "emu/emu.h"
#include "gpu/gpu.h"
#include "nvme/cmd.h"

static int fails;
#define CHECK(c)                                                                       \
	do {                                                                           \
		if (!(c)) {                                                            \
			fprintf(stderr, "%s:%d: %s failed (%s)\n", __FILE__, __LINE__, #c, \
				aisio_errmsg());                                       \
			fails++;                                                       \
		}                                                                      \
	} while (0)

/* DMA ops of our own: host memory, counting data copies. */
static unsigned copies;
static void *map(void *ctx, uint64_t bus, size_t len)
{
	return (void *)(uintptr_t)bus;
}
static int copy(void *ctx, uint64_t bus, void *local, size_t len, int to_bus)
{
	copies++;
	if (to_bus)
		memcpy((void *)(uintptr_t)bus, local, len);
	else
		memcpy(local, (void *)(uintptr_t)bus, len);
	return 0;
}
static int flush(void *ctx)
{
	return 0;
}

int main(void)
{
	const struct aisio_emu_dma ops = { .map = map, .copy = copy, .flush = flush };
	struct aisio_emu_opts o;
	struct aisio_emu_ctrl *emu = NULL;
	struct aisio_pcif *f = NULL;
	struct aisio_nvme_ctrl *nc = NULL;
	const uint32_t depth = 16, n = 12;
	int err, n_gpu = 0;

	/* No GPU here: clear errors, no crash. */
	err = aisio_gpu_count(&n_gpu);
	if (!err) {
		printf("a GPU is present: the no-GPU checks are skipped\n");
	} else {
		CHECK(err == -ENODEV || err == -ENOTSUP);
		CHECK(strstr(aisio_errmsg(), "GPU") || strstr(aisio_errmsg(), "CUDA"));
		struct aisio_mem_region *r = (void *)1;
		CHECK(aisio_gpu_region_alloc(0, 4096, &r) < 0 && r == NULL);
	}
	CHECK(sizeof(struct aisio_cuda_qp) == 448 && sizeof(struct aisio_cuda_cpl) == 16);

	aisio_emu_opts_init(&o);
	o.ns_size = 4 << 20;
	o.dma = &ops;
	err = aisio_emu_ctrl_create(&o, &emu);
	CHECK(!err);
	if (err)
		return 1;
	CHECK(aisio_emu_pcif_open(emu, &f) == -EPERM); /* its own DMA: the model's pcif refuses */
	CHECK(!aisio_gpu_emu_pcif_open(emu, &f));
	uint16_t vid = 0;
	CHECK(!f->ops->cfg_read(f, 0, &vid, 2) && vid == AISIO_EMU_PCI_VID);
	err = aisio_nvme_ctrl_init(f, NULL, &nc);
	CHECK(!err);
	if (err)
		goto out;
	const struct aisio_nvme_ctrl_info *info = aisio_nvme_ctrl_info(nc);

	/* Rings the caller owns, as for a GPU-resident pair. */
	void *sqm = aligned_alloc(4096, 4096), *cqm = aligned_alloc(4096, 4096);
	uint8_t *data = aligned_alloc(4096, n * 4096);
	memset(cqm, 0, 4096);
	struct aisio_nvme_qpair_ext e = { .depth = depth, .sq_bus = (uintptr_t)sqm, .cq_bus = (uintptr_t)cqm };
	uint16_t qid = 0;
	CHECK(!aisio_nvme_ctrl_qpair_create_ext(nc, &e, &qid) && qid);
	struct aisio_nvme_sq sq;
	struct aisio_nvme_cq cq;
	aisio_nvme_sq_init(&sq, sqm, aisio_nvme_ctrl_bar0(nc), qid, depth, info->dstrd);
	aisio_nvme_cq_init(&cq, cqm, aisio_nvme_ctrl_bar0(nc), qid, depth, info->dstrd);
	CHECK((uint8_t *)sq.db - aisio_nvme_ctrl_bar0(nc) == aisio_nvme_ctrl_db_offset(nc, qid, 0));

	for (int pass = 0; pass < 2; pass++) {
		/* pass 0 writes block i with byte i; pass 1 reads back with CIDs in reverse. */
		for (uint32_t i = 0; i < n; i++) {
			struct aisio_nvme_sqe *c = aisio_nvme_sq_slot(&sq);
			if (pass == 0) {
				memset(data + i * 4096, (int)i + 1, 4096);
				aisio_nvme_cmd_write(c, info->active[0], i * 8, 8);
			} else {
				aisio_nvme_cmd_read(c, info->active[0], i * 8, 8);
			}
			c->cid = (uint16_t)(pass ? 1000 + (n - 1 - i) : i);
			c->dptr.prp.prp1 = (uintptr_t)(data + i * 4096);
			aisio_nvme_sq_advance(&sq);
		}
		if (pass == 1)
			memset(data, 0, n * 4096);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		aisio_nvme_sq_ring_db(&sq);
		unsigned seen = 0, spins = 0;
		uint32_t cid_mask = 0;
		while (seen < n && spins++ < 100000000u) {
			volatile struct aisio_nvme_cqe *v = aisio_nvme_cq_peek(&cq);
			if (!v)
				continue;
			uint16_t cid = v->cid;
			CHECK(aisio_nvme_cqe_code(v->status) == 0);
			CHECK(v->sqid == qid);
			uint32_t idx = pass ? (uint32_t)(n - 1 - (cid - 1000)) : cid;
			CHECK(idx < n);
			if (idx < n)
				cid_mask |= 1u << idx;
			sq.head = v->sqhd;
			aisio_nvme_cq_advance(&cq);
			seen++;
		}
		aisio_nvme_cq_ring_db(&cq);
		CHECK(seen == n && cid_mask == (1u << n) - 1);
	}
	for (uint32_t i = 0; i < n; i++)
		CHECK(data[i * 4096] == i + 1 && data[i * 4096 + 4095] == i + 1);
	CHECK(copies >= 2 * n); /* every transfer went through the creator's ops */
	CHECK(!aisio_nvme_ctrl_qpair_delete_ext(nc, qid));
	free(sqm);
	free(cqm);
	free(data);
out:
	aisio_nvme_ctrl_term(nc);
	aisio_pcif_close(f);
	aisio_emu_ctrl_destroy(emu);
	if (fails)
		printf("%d checks failed\n", fails);
	else
		printf("PASS\n");
	return fails ? 1 : 0;
}
