/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path homi --mem gpu: files straight into GPU memory through
 * user-space NVMe, no kernel and no host copy on the data path (P2P mode).
 *
 * The whole dataset lands in one GPU allocation (each file at its dst_off,
 * on a 4 KiB boundary), registered with homid once (GPU_MEM_REG: its CUDA
 * IPC handle; homid's device reaches it at a device address). Extents come
 * from the run's extent source (homid's FILE_MAP on a homi: device). Each
 * thread owns one homid queue and keeps up to --qd units in flight; a unit
 * becomes one read command per extent piece (at most MDTS, 1 MiB), whose PRP
 * entries point into the GPU allocation (a PRP list, when needed, in a page
 * of host memory registered with homid, one per command slot). Holes and
 * unwritten extents stay as the zeroed allocation has them. Reads write
 * whole LBAs: a file's last partial LBA lands in the padding before the
 * next file's page.
 *
 * The timed part ends when every command has completed: homid's device
 * posts a completion only once the data is in GPU memory. Then the check
 * kernel of the gpu path compares every byte with pattern.h on the GPU.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cuda_runtime_api.h>

#include <aisio/aisio.h>

#include "fil.h"
#include "fil_gpu.h"
#include "homi/client.h"
#include "mem/region.h"
#include "nvme/cmd.h"
#include "nvme/dptr.h"
#include "util/err.h"

#define HG_BUS_SHIFT 30 /* chunks of the regions' bus tables: contiguous ranges, any size */

/* What every thread shares: the GPU allocation as the device sees it. */
struct hg {
	struct fil_run *r;
	char *dst;                  /* GPU memory (cudaMalloc) */
	struct aisio_mem_region reg; /* dst as a region of device addresses (never touched by the CPU) */
	uint64_t *reg_bus;
	uint32_t nsid, lba, max_xfer, page_shift;
	_Atomic uint64_t cmds;
};

struct hgslot {
	struct hgw *w;
	uint64_t ui;
	uint32_t pending; /* commands in flight, plus one while being set up */
	int status;
};

/* One thread: its homid queue, PRP list pages (one per command slot), units in flight. */
struct hgw {
	struct hg *g;
	struct aisio_queue *q;
	uint32_t depth;
	struct aisio_mem_region lreg; /* the list pages: host memory registered with homid */
	uint64_t lbus[1];
	char *lists;
	size_t lists_len;
	uint32_t lists_id;
	int lists_fd;
	struct hgslot *slots;
	uint32_t *freel, nfree, nslots;
};

static void slot_finish(struct hgslot *s)
{
	struct hgw *w = s->w;
	struct fil_run *r = w->g->r;
	const struct fil_unit *u = &r->set->u[s->ui];

	if (s->status) {
		fil_fail(r, s->status < 0 ? s->status : -EIO, "%s: %s at byte %llu: read into GPU memory failed: %s",
			 r->o->target, r->set->f[u->file].path, (unsigned long long)u->off,
			 aisio_status_str(s->status));
	} else {
		fil_served_add(r, 0, u->len);
		fil_unit_done(r, s->ui);
	}
	w->freel[w->nfree++] = (uint32_t)(s - w->slots);
}

static void io_done(struct aisio_io *io, void *arg)
{
	struct hgslot *s = arg;

	if (io->status && !s->status)
		s->status = io->status;
	if (--s->pending == 0)
		slot_finish(s);
}

/* One read of device bytes [dev_off, dev_off + len) to dst + dst_off; reaps while the queue is full. */
static int queue_read(struct hgw *w, struct hgslot *s, uint64_t dev_off, uint32_t len, uint64_t dst_off)
{
	struct hg *g = w->g;
	struct aisio_nvme_sqe cmd;
	struct aisio_nvme_list_mem lm;
	struct aisio_io *io;
	uint32_t nlb;
	int err;

	if (dev_off % g->lba)
		return fil_fail(g->r, -EINVAL, "extent at device byte %llu is not on an LBA boundary (%u)",
				(unsigned long long)dev_off, g->lba);
	nlb = (len + g->lba - 1) / g->lba;
	while (!(io = aisio_queue_get_io(w->q))) {
		int rc = aisio_queue_submit(w->q);

		if (rc >= 0)
			rc = aisio_queue_reap(w->q, 0);
		if (rc < 0)
			return fil_fail(g->r, rc, "queue: %s", aisio_errmsg());
	}
	if (io->cid >= w->depth) {
		aisio_queue_put_io(w->q, io);
		return fil_fail(g->r, -EINVAL, "command slot %u of a queue of %u: no PRP list page for it", io->cid,
				w->depth);
	}
	aisio_nvme_cmd_rw(&cmd, AISIO_NVME_NVM_READ, g->nsid, dev_off / g->lba, nlb, 0);
	lm.va = w->lists + ((size_t)io->cid << g->page_shift);
	lm.region = &w->lreg;
	lm.npages = 1;
	/* the PRPs name device addresses of the GPU allocation; the driver only sets the CID */
	err = aisio_nvme_prp_build(&cmd, &g->reg, g->dst + dst_off, (size_t)nlb * g->lba, g->page_shift,
				   g->max_xfer, &lm);
	if (err) {
		char why[256];

		snprintf(why, sizeof(why), "%s", aisio_errmsg());
		aisio_queue_put_io(w->q, io);
		return fil_fail(g->r, err, "PRPs for %u bytes at GPU offset %llu: %s", nlb * g->lba,
				(unsigned long long)dst_off, why);
	}
	aisio_prep_cmd(io, &cmd, NULL, 0);
	aisio_io_set_cb(io, io_done, s);
	s->pending++;
	atomic_fetch_add_explicit(&g->cmds, 1, memory_order_relaxed);
	return 0;
}

/* The reads of unit @ui: one per extent piece; holes and unwritten extents are left as zeros. */
static int queue_unit(struct hgw *w, struct hgslot *s, uint64_t ui)
{
	struct fil_run *r = w->g->r;
	const struct fil_unit *u = &r->set->u[ui];
	const struct fil_file *f = &r->set->f[u->file];
	const struct aisio_extent *e;
	uint64_t size, pos = u->off, end = u->off + u->len;
	uint32_t n;
	int err = r->src->file_extents(r->src, f->path, &e, &n, &size);

	if (err)
		return fil_fail(r, err, "%s: %s", r->o->target, aisio_errmsg());
	if (size < f->size)
		return fil_fail(r, -ENODATA, "%s: %s: short file: %llu bytes, the manifest says %llu", r->o->target,
				f->path, (unsigned long long)size, (unsigned long long)f->size);
	s->ui = ui;
	s->status = 0;
	s->pending = 1;
	for (uint32_t i = 0; i < n && pos < end; i++) {
		uint64_t a = e[i].off, b = e[i].off + e[i].len;

		if (b <= pos)
			continue;
		if (a > pos)
			pos = a < end ? a : end; /* a hole */
		b = b < end ? b : end;
		if (e[i].flags & AISIO_EXT_UNWRITTEN) {
			pos = b > pos ? b : pos;
			continue;
		}
		while (pos < b) {
			uint32_t l = (uint32_t)(b - pos < w->g->max_xfer ? b - pos : w->g->max_xfer);

			err = queue_read(w, s, e[i].dev_off + (pos - e[i].off), l, f->dst_off + pos);
			if (err)
				return err;
			pos += l;
		}
	}
	if (--s->pending == 0)
		slot_finish(s);
	return 0;
}

static int worker_setup(struct hgw *w, struct fil_run *r)
{
	const struct aisio_geo *geo = aisio_dev_geo(r->dev);
	struct aisio_homi_conn *conn = aisio_homi_dev_conn(r->dev);
	uint32_t depth = r->o->qd + 1;
	uint64_t bus;
	int err;

	if (geo->max_qdepth && depth > geo->max_qdepth)
		depth = geo->max_qdepth;
	w->lists_fd = -1;
	err = aisio_queue_init(r->dev, depth, &w->q);
	if (err)
		return fil_fail(r, err, "%s: cannot create an I/O queue: %s", r->o->target, aisio_errmsg());
	w->depth = depth;
	/* a PRP list page per command slot, in memory homid maps for its device */
	w->lists_len = (size_t)depth << w->g->page_shift;
	w->lists_len = (w->lists_len + 4095) & ~(size_t)4095;
	if (!conn)
		return fil_fail(r, -EINVAL, "%s: not a homid device", r->o->target);
	err = aisio_homi_shared_mem(conn, w->lists_len, &w->lists_fd, (void **)&w->lists, &w->lists_id, &bus);
	if (err)
		return fil_fail(r, err, "%s: PRP list pages: %s", r->o->target, aisio_errmsg());
	if (w->lists_len > (1ull << HG_BUS_SHIFT))
		return fil_fail(r, -E2BIG, "PRP list pages: %zu bytes is too many", w->lists_len);
	aisio_mem_region_init_linear(&w->lreg, w->lists, w->lists_len, HG_BUS_SHIFT, w->lbus, bus, NULL,
				     "homid-prp-lists");
	w->nslots = r->o->qd;
	w->slots = calloc(w->nslots, sizeof(*w->slots));
	w->freel = calloc(w->nslots, sizeof(*w->freel));
	if (!w->slots || !w->freel)
		return fil_fail(r, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < w->nslots; i++) {
		w->slots[i].w = w;
		w->freel[w->nfree++] = i;
	}
	return 0;
}

static void worker_stop(struct hgw *w)
{
	if (w->q) {
		aisio_queue_wait(w->q);
		aisio_queue_term(w->q);
		w->q = NULL;
	}
}

/* After every thread's queue is gone: homid takes memory back only from a session without queues. */
static void worker_teardown(struct hgw *w, struct fil_run *r)
{
	if (w->lists) {
		struct aisio_homi_mem_unreg un = { .mem_id = w->lists_id };
		int err = aisio_homi_call(aisio_homi_dev_conn(r->dev), AISIO_HOMI_MEM_UNREG, &un, sizeof(un), -1,
					  NULL, 0, NULL, NULL);

		if (err) /* homid may still map them: left mapped; the session's end takes them back */
			fil_fail(r, err, "%s: giving back PRP list pages: %s", r->o->target, aisio_errmsg());
		else
			munmap(w->lists, w->lists_len);
		w->lists = NULL;
	}
	if (w->lists_fd >= 0)
		close(w->lists_fd);
	w->lists_fd = -1;
	free(w->slots);
	free(w->freel);
	w->slots = NULL;
	w->freel = NULL;
}

static void *hg_worker(void *arg)
{
	struct hgw *w = arg;
	struct fil_run *r = w->g->r;
	int err, done = 0;

	while (!atomic_load(&r->err)) {
		while (!done && w->nfree) {
			uint64_t ui = fil_claim(r);

			if (ui == UINT64_MAX) {
				done = 1;
				break;
			}
			fil_unit_start(r, ui);
			if (queue_unit(w, &w->slots[w->freel[--w->nfree]], ui))
				break;
		}
		if (done && !aisio_queue_outstanding(w->q) && w->nfree == w->nslots)
			break;
		err = aisio_queue_submit(w->q);
		if (err >= 0)
			err = aisio_queue_reap(w->q, 0);
		if (err < 0) {
			fil_fail(r, err, "%s: queue: %s", r->o->target, aisio_errmsg());
			break;
		}
	}
	if (w->q)
		aisio_queue_wait(w->q);
	return NULL;
}

int fil_run_homi_gpu(struct fil_run *r)
{
	static char name[80];
	const struct fil_opts *o = r->o;
	const struct aisio_geo *geo = aisio_dev_geo(r->dev);
	struct hg g = { .r = r };
	struct hgw *w = NULL;
	pthread_t *th = NULL;
	size_t free_b = 0, total_b = 0, len = (r->set->dst_bytes + 4095) & ~(size_t)4095;
	uint32_t mem_id = 0, started = 0;
	uint64_t bus = 0;
	cudaStream_t vst = NULL;
	cudaError_t e;
	int err = 0, dev = 0;

	snprintf(name, sizeof(name), "homi-gpu:%s/%s", r->src->name, geo->backend);
	r->served[0].name = name;
	if (!len)
		len = 4096;
	g.nsid = geo->nsid;
	g.lba = geo->lba_size;
	g.page_shift = geo->buf_align >= 4096 ? (uint32_t)__builtin_ctz(geo->buf_align) : 12;
	g.max_xfer = geo->max_xfer ? geo->max_xfer : 1u << 20;
	if (g.max_xfer > (1u << 20))
		g.max_xfer = 1u << 20;
	if (g.lba > 4096)
		return fil_fail(r, -EINVAL, "%s: LBAs of %u bytes: files start on 4 KiB pages in GPU memory, so "
				"reads of whole LBAs would run into the next file", o->target, g.lba);
	e = cudaGetDevice(&dev);
	if (e == cudaSuccess)
		e = cudaMemGetInfo(&free_b, &total_b);
	if (e != cudaSuccess)
		return fil_fail(r, -ENODEV, "no usable GPU: %s (CUDA error %d)", cudaGetErrorString(e), (int)e);
	if (len > free_b / 100 * 95)
		return fil_fail(r, -ENOMEM, "the dataset (%zu bytes) does not fit in the GPU's free memory "
				"(%zu of %zu bytes)", len, free_b, total_b);
	e = cudaMalloc((void **)&g.dst, len);
	if (e == cudaSuccess)
		e = cudaMemset(g.dst, 0, len); /* holes and unwritten extents read as zeros */
	/* the memset is asynchronous: done before homid's copies (another process, other streams) land */
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	if (e == cudaSuccess)
		e = cudaStreamCreateWithFlags(&vst, cudaStreamNonBlocking);
	if (e != cudaSuccess) {
		err = fil_fail(r, -ENOMEM, "GPU memory for the dataset (%zu bytes): %s", len, cudaGetErrorString(e));
		goto out;
	}
	err = fil_gpu_mem_reg(r->dev, g.dst, len, &mem_id, &bus);
	if (err) {
		err = fil_fail(r, err, "%s: registering the GPU memory with homid: %s", o->target, aisio_errmsg());
		goto out;
	}
	if (bus & 4095) {
		err = fil_fail(r, -EINVAL, "%s: homid gave the GPU memory device address 0x%llx, not on a page",
			       o->target, (unsigned long long)bus);
		goto out;
	}
	g.reg_bus = calloc(((len - 1) >> HG_BUS_SHIFT) + 1, sizeof(*g.reg_bus));
	w = calloc(o->threads, sizeof(*w));
	th = calloc(o->threads, sizeof(*th));
	if (!g.reg_bus || !w || !th) {
		err = fil_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t t = 0; t < o->threads; t++)
		w[t].lists_fd = -1;
	aisio_mem_region_init_linear(&g.reg, g.dst, len, HG_BUS_SHIFT, g.reg_bus, bus, NULL, "gpu-homid");
	g.reg.kind = AISIO_MEM_GPU;
	g.reg.gpu = dev;
	/* queues and list pages are made before the clock starts */
	for (uint32_t t = 0; t < o->threads; t++) {
		w[t].g = &g;
		if ((err = worker_setup(&w[t], r)))
			goto out;
	}
	r->t_start_ns = fil_now_ns();
	r->cpu_start_s = fil_cpu_s();
	for (; started < o->threads; started++)
		if (pthread_create(&th[started], NULL, hg_worker, &w[started])) {
			err = fil_fail(r, -EAGAIN, "cannot start thread %u of %u", started + 1, o->threads);
			break;
		}
	for (uint32_t t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	r->t_end_ns = fil_now_ns();
	r->cpu_end_s = fil_cpu_s();
	r->cmds = atomic_load(&g.cmds);
	if (!err)
		err = atomic_load(&r->err);
	if (!err && o->verify)
		err = fil_gpu_verify(r, g.dst, vst);
out:
	/* every queue first: homid takes registered memory back only from a session without queues */
	for (uint32_t t = 0; w && t < o->threads; t++)
		worker_stop(&w[t]);
	for (uint32_t t = 0; w && t < o->threads; t++)
		worker_teardown(&w[t], r);
	if (mem_id && fil_gpu_mem_unreg(r->dev, mem_id)) { /* homid waits for its copies into it first */
		err = err ? err : fil_fail(r, -EIO, "%s: giving back the GPU memory: %s", o->target, aisio_errmsg());
		g.dst = NULL; /* homid may still have it open: not freed under it (it goes with the process) */
	}
	free(w);
	free(th);
	free(g.reg_bus);
	if (vst)
		cudaStreamDestroy(vst);
	if (g.dst)
		cudaFree(g.dst);
	return err ? err : atomic_load(&r->err);
}
