/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path gpu-nvme homi:SOCK,...: GPU-initiated reads on queues
 * homid gives out. The session and its data buffer are perf cuda-run's
 * (pc_homi_open: GPU memory of the dataset's size, registered with homid by
 * its CUDA IPC handle, so homid's model writes the files' blocks straight
 * into it); the queue pairs are homid's GPU queues (rings in shared memory
 * homid and CUDA both map). The PRP list pages are shared memory too,
 * registered with homid (its model reads the lists there) and mapped for
 * the GPU threads that write them. homid takes everything back from a
 * session that ends, the process dying included.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "fil.h"
#include "fil_gpu_nvme_io.h"
#include "homi/client.h"
#include "perf_cuda_homi.h"

struct fgn_homi {
	struct pc_homi pc;
	int pc_open;
	/* PRP list pages */
	int lfd;
	void *lhost;
	size_t llen;
	uint32_t lmem_id;
	int lmapped;
};

static void fgn_homi_close(struct fgn_io *io)
{
	struct fgn_homi *h = io->priv;

	if (!h)
		return;
	/* homid unregisters memory only from a session that holds no queue */
	aisio_gpu_qset_delete(io->qs);
	io->qs = NULL;
	if (h->lmapped)
		aisio_gpu_unmap_host(h->lhost);
	if (h->lmem_id) {
		struct aisio_homi_mem_unreg u = { .mem_id = h->lmem_id };

		aisio_homi_call(aisio_homi_dev_conn(h->pc.devs[0]), AISIO_HOMI_MEM_UNREG, &u, sizeof(u), -1, NULL, 0,
				NULL, NULL);
	}
	if (h->lhost)
		munmap(h->lhost, h->llen);
	if (h->lfd >= 0)
		close(h->lfd);
	if (h->pc_open)
		pc_homi_close(&h->pc);
	free(h);
	io->priv = NULL;
}

int fgn_homi_open(struct fil_run *r, size_t len, struct fgn_io *io)
{
	const struct fil_opts *o = r->o;
	const uint32_t nq = o->threads, tpq = o->qd;
	char *uri = (char *)o->target;
	struct fgn_homi *h = calloc(1, sizeof(*h));
	uint64_t lbus = 0;
	void *ldev = NULL;
	int err;

	memset(io, 0, sizeof(*io));
	if (!h)
		return fil_fail(r, -ENOMEM, "out of memory");
	h->lfd = -1;
	io->priv = h;
	io->close = fgn_homi_close;
	io->via = "homid";
	/* the session that mapped the files holds queues of its own: they go back first */
	aisio_dev_close(r->dev);
	r->dev = NULL;
	if (pc_homi_open(&uri, 1, 1, nq, len, &h->pc)) {
		err = fil_fail(r, -EIO, "%s: no GPU memory registered with homid for the dataset (the reason "
				"is above)", o->target);
		goto fail;
	}
	h->pc_open = 1;
	if (h->pc.page_size < 4096 || (h->pc.page_size & (h->pc.page_size - 1))) {
		err = fil_fail(r, -EPROTO, "%s: homid's controller page of %u bytes: want a power of two, at least "
				"4096", o->target, h->pc.page_size);
		goto fail;
	}
	io->dst = h->pc.buf[0].gpu;
	io->dst_bus = h->pc.buf[0].bus;
	io->nsid = h->pc.nsid;
	io->lba_shift = h->pc.lba_shift;
	io->page_shift = (uint32_t)__builtin_ctz(h->pc.page_size);
	io->max_xfer = aisio_dev_geo(h->pc.devs[0])->max_xfer;
	if ((err = aisio_gpu_qset_create_homi(h->pc.devs, 1, 0, nq, tpq + 1, tpq, &io->qs))) {
		err = fil_fail(r, err, "%s: %u GPU queues of %u entries from homid: %s", o->target, nq, tpq + 1,
			       aisio_errmsg());
		goto fail;
	}
	/* PRP list pages: one a GPU thread, read by homid's model, written by the GPU */
	h->llen = (size_t)nq * tpq << io->page_shift;
	err = aisio_homi_shared_mem(aisio_homi_dev_conn(h->pc.devs[0]), h->llen, &h->lfd, &h->lhost, &h->lmem_id,
				    &lbus);
	if (err) {
		h->lhost = NULL;
		err = fil_fail(r, err, "%s: PRP list pages (%zu bytes) registered with homid: %s", o->target,
			       h->llen, aisio_errmsg());
		goto fail;
	}
	if (lbus & ((1ull << io->page_shift) - 1)) {
		err = fil_fail(r, -EINVAL, "%s: homid placed the PRP list pages at 0x%llx, not on a %u-byte page",
			       o->target, (unsigned long long)lbus, h->pc.page_size);
		goto fail;
	}
	err = aisio_gpu_map_host(h->lhost, h->llen, &ldev);
	if (err) {
		err = fil_fail(r, err, "PRP list pages for the GPU: %s", aisio_errmsg());
		goto fail;
	}
	h->lmapped = 1;
	io->lists = ldev;
	io->lists_bus = lbus;
	return 0;
fail:
	fgn_homi_close(io);
	return err;
}
