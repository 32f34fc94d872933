/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path gpu-nvme: GPU-initiated file reads through extents.
 *
 * Before the timed part the host maps every file of the dataset (the run's
 * extent source: the XFS decoder over the image, or homid's extent service
 * on homi:) and copies three tables to GPU memory: the units (pieces of at
 * most --chunk bytes), the files (where each lands, its extents) and the
 * extents in LBAs. Then it gets --threads GPU queue pairs of --qd + 1
 * entries, the dataset buffer in GPU memory and PRP list pages from one of
 * two places (fil_gpu_nvme_io.h): a device model on the same image in this
 * process (emu:SIZE,file=IMG; fil_gpu_nvme_emu.c) or homid (homi:SOCK,...;
 * fil_gpu_nvme_homi.c, the buffer registered with homid).
 *
 * The timed part is one kernel: --threads blocks of --qd threads, each block
 * on its own queue; every thread claims units from a shared cursor, walks
 * its file's extents and issues the reads itself (fil_gpu_nvme_kern.cu).
 * Then the gpu path's check kernel compares every byte with pattern.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include <aisio/aisio.h>

#include "fil.h"
#include "fil_gpu.h"
#include "fil_gpu_nvme.h"
#include "fil_gpu_nvme_io.h"
#include "util/err.h"

/* The files' extents as GPU tables (host copies); -errno with the run's message. */
static int build_tables(struct fil_run *r, uint32_t lba, struct fgn_file **fo, struct fgn_ext **eo, uint64_t *neo)
{
	const struct fil_set *s = r->set;
	struct fgn_file *files = calloc(s->n ? s->n : 1, sizeof(*files));
	struct fgn_ext *ext = NULL;
	uint64_t n = 0, cap = 0;

	if (!files)
		return fil_fail(r, -ENOMEM, "out of memory for the file table");
	for (uint32_t i = 0; i < s->n; i++) {
		const struct aisio_extent *e;
		uint64_t size;
		uint32_t k;
		int err = r->src->file_extents(r->src, s->f[i].path, &e, &k, &size);

		if (!err && size < s->f[i].size)
			err = fil_fail(r, -ENODATA, "%s: %s: short file: %llu bytes, the manifest says %llu",
				       r->o->target, s->f[i].path, (unsigned long long)size,
				       (unsigned long long)s->f[i].size);
		else if (err == -EOPNOTSUPP)
			/* no kernel path to fall back to: the GPU threads read blocks, an image has no mount */
			err = fil_fail(r, err, "%s: %s extents refused: %s; --path gpu-nvme reads only files whose "
				       "every extent has plain blocks: read the file system mounted with --path gpu",
				       r->o->target, r->src->name, aisio_errmsg());
		else if (err)
			err = fil_fail(r, err, "%s: %s", r->o->target, aisio_errmsg());
		if (!err && n + k > cap) {
			struct fgn_ext *ne;

			cap = (n + k) * 2 + 1024;
			ne = realloc(ext, cap * sizeof(*ext));
			if (!ne)
				err = fil_fail(r, -ENOMEM, "out of memory for the extent table");
			else
				ext = ne;
		}
		if (err) {
			free(files);
			free(ext);
			return err;
		}
		files[i].dst_off = s->f[i].dst_off;
		files[i].size = s->f[i].size;
		files[i].ext_first = (uint32_t)n;
		files[i].next = k;
		for (uint32_t j = 0; j < k; j++, n++) {
			if (e[j].dev_off % lba) {
				free(files);
				free(ext);
				return fil_fail(r, -EINVAL, "%s: extent %u at device byte %llu is not on an LBA "
						"boundary (%u)", s->f[i].path, j, (unsigned long long)e[j].dev_off, lba);
			}
			ext[n].off = e[j].off;
			ext[n].len = e[j].len;
			ext[n].lba = e[j].dev_off / lba;
			ext[n].unwritten = !!(e[j].flags & AISIO_EXT_UNWRITTEN);
			ext[n].rsvd = 0;
		}
		if (n > UINT32_MAX)
			return fil_fail(r, -E2BIG, "more than 2^32 extents");
	}
	*fo = files;
	*eo = ext;
	*neo = n;
	return 0;
}

static int to_gpu(struct fil_run *r, void **dev, const void *host, size_t len, const char *what)
{
	cudaError_t e = cudaMalloc(dev, len ? len : 16);

	if (e == cudaSuccess && len)
		e = cudaMemcpy(*dev, host, len, cudaMemcpyHostToDevice);
	if (e != cudaSuccess)
		return fil_fail(r, -ENOMEM, "%s in GPU memory (%zu bytes): %s", what, len, cudaGetErrorString(e));
	return 0;
}

int fil_run_gpu_nvme(struct fil_run *r)
{
	static char name[80];
	const struct fil_opts *o = r->o;
	const uint32_t nq = o->threads, tpq = o->qd;
	const int homi = !strncmp(o->target, "homi:", 5);
	struct fgn_io io;
	struct fgn_file *files = NULL, *d_files = NULL;
	struct fgn_ext *ext = NULL, *d_ext = NULL;
	struct fgn_unit *d_units = NULL;
	struct fgn_res res, *d_res = NULL;
	struct fgn_params p;
	size_t len = (r->set->dst_bytes + 4095) & ~(size_t)4095, free_b = 0, total_b = 0;
	uint64_t next = 0, t0;
	double gpu_s = 0;
	cudaStream_t vst = NULL;
	cudaError_t e;
	int err, ngpu = 0;

	_Static_assert(sizeof(struct fgn_unit) == sizeof(struct fil_unit), "unit layouts");
	memset(&io, 0, sizeof(io));
	memset(&p, 0, sizeof(p));
	snprintf(name, sizeof(name), "gpu-nvme:%s/%s", r->src->name, homi ? "homid" : "emu");
	r->served[0].name = name;
	r->no_lat = 1;
	r->gpu_threads = (uint64_t)nq * tpq;
	err = aisio_gpu_count(&ngpu);
	if (err)
		return fil_fail(r, err, "%s", aisio_errmsg());
	if ((err = aisio_gpu_select(0)))
		return fil_fail(r, err, "%s", aisio_errmsg());
	if (!len)
		len = 4096;
	e = cudaMemGetInfo(&free_b, &total_b);
	if (e != cudaSuccess)
		return fil_fail(r, -ENODEV, "no usable GPU: %s (CUDA error %d)", cudaGetErrorString(e), (int)e);
	if (len > free_b / 100 * 95)
		return fil_fail(r, -ENOMEM, "the dataset (%zu bytes) does not fit in the GPU's free memory "
				"(%zu of %zu bytes)", len, free_b, total_b);
	/* the tables: every file mapped, before the clock starts */
	t0 = fil_now_ns();
	if ((err = build_tables(r, aisio_dev_geo(r->dev)->lba_size, &files, &ext, &next)))
		goto out;
	if ((err = to_gpu(r, (void **)&d_files, files, r->set->n * sizeof(*files), "the file table")) ||
	    (err = to_gpu(r, (void **)&d_ext, ext, next * sizeof(*ext), "the extent table")) ||
	    (err = to_gpu(r, (void **)&d_units, r->set->u, r->set->nunits * sizeof(*d_units), "the units")))
		goto out;
	r->map_s = (double)(fil_now_ns() - t0) / 1e9;
	/* the GPU queues, the dataset buffer and the PRP list pages */
	if ((err = homi ? fgn_homi_open(r, len, &io) : fgn_emu_open(r, len, &io)))
		goto out;
	if (io.lba_shift > 12) {
		err = fil_fail(r, -EINVAL, "%s: LBAs of %u bytes: files start on 4 KiB pages in GPU memory",
			       o->target, 1u << io.lba_shift);
		goto out;
	}
	memset(&res, 0, sizeof(res));
	e = cudaMemset(io.dst, 0, len); /* holes and unwritten extents read as zeros */
	/* the memset is asynchronous: done before the model's copies (its own streams) land */
	if (e == cudaSuccess)
		e = cudaDeviceSynchronize();
	if (e == cudaSuccess)
		e = cudaStreamCreateWithFlags(&vst, cudaStreamNonBlocking);
	if (e != cudaSuccess || (err = to_gpu(r, (void **)&d_res, &res, sizeof(res), "the results"))) {
		err = err ? err : fil_fail(r, -EIO, "GPU setup: %s", cudaGetErrorString(e));
		goto out;
	}
	p.qps = aisio_gpu_qset_dev(io.qs);
	p.nq = nq;
	p.tpq = tpq;
	p.nsid = io.nsid;
	p.lba_shift = io.lba_shift;
	p.page_shift = io.page_shift;
	/* a command: at most MDTS, --chunk, and what one PRP list page describes */
	p.max_cmd = io.max_xfer ? io.max_xfer : 1u << 20;
	if (p.max_cmd > o->chunk)
		p.max_cmd = (uint32_t)o->chunk;
	if ((uint64_t)p.max_cmd > ((1ull << io.page_shift) / 8) << io.page_shift)
		p.max_cmd = (uint32_t)(((1ull << io.page_shift) / 8) << io.page_shift);
	p.units = d_units;
	p.nunits = r->set->nunits;
	p.files = d_files;
	p.exts = d_ext;
	p.dst_bus = io.dst_bus;
	p.lists = io.lists;
	p.lists_bus = io.lists_bus;
	p.timeout_ns = 10000000000ull;
	p.res = d_res;
	r->t_start_ns = fil_now_ns();
	r->cpu_start_s = fil_cpu_s();
	e = (cudaError_t)fil_gpu_nvme_launch(&p, &gpu_s);
	r->t_end_ns = fil_now_ns();
	r->cpu_end_s = fil_cpu_s();
	if (e == cudaSuccess)
		e = cudaMemcpy(&res, d_res, sizeof(res), cudaMemcpyDeviceToHost);
	if (e != cudaSuccess) {
		err = fil_fail(r, -EIO, "the reading kernel: %s (CUDA error %d)", cudaGetErrorString(e), (int)e);
		goto out;
	}
	r->cmds = res.cmds;
	atomic_store(&r->served[0].reads, res.units_done);
	atomic_store(&r->served[0].bytes, res.bytes_done);
	atomic_store(&r->files_done, r->set->n);
	atomic_store(&r->bytes_done, res.bytes_done);
	if (res.errors) {
		const struct fil_unit *u = &r->set->u[res.first_unit < r->set->nunits ? res.first_unit : 0];

		err = fil_fail(r, -EIO, "%s: %s at byte %llu: a GPU thread's read of LBA %llu failed: %s (%llu failed)",
			       o->target, r->set->f[u->file].path, (unsigned long long)u->off,
			       (unsigned long long)res.first_lba,
			       res.first_status & 0x10000u ? "timed out" : aisio_nvme_status_str(res.first_status),
			       res.errors);
		goto out;
	}
	if (res.units_done != r->set->nunits || res.bytes_done != r->set->bytes) {
		err = fil_fail(r, -EIO, "the GPU threads completed %llu of %llu units (%llu of %llu bytes)",
			       res.units_done, (unsigned long long)r->set->nunits, res.bytes_done,
			       (unsigned long long)r->set->bytes);
		goto out;
	}
	if (o->verify)
		err = fil_gpu_verify(r, io.dst, vst);
out:
	if (io.close)
		io.close(&io);
	if (vst)
		cudaStreamDestroy(vst);
	cudaFree(d_res);
	cudaFree(d_units);
	cudaFree(d_ext);
	cudaFree(d_files);
	free(files);
	free(ext);
	return err ? err : atomic_load(&r->err);
}
