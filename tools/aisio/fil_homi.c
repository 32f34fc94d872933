/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path homi: file data without the kernel's file path.
 * Extents come from an extent source (the XFS decoder over the device
 * today), data comes through aisio queues on the same device (emu:, pci:,
 * homi:, file: ...): each thread owns one queue and keeps up to --qd units
 * in flight; a unit becomes one read command per extent piece.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <aisio/aisio.h>

#include "fil.h"
#include "util/err.h"
#include "xfs/xfs.h"

/* ---- the XFS decoder as an extent source ----------------------------------- */

struct xfs_src {
	struct aisio_extmap map;
};

static int xfs_file_extents(struct fil_extsrc *src, const char *path, const struct aisio_extent **ext,
			    uint32_t *n, uint64_t *size)
{
	struct xfs_src *x = src->priv;
	const struct aisio_extmap_node *nd;
	long idx = aisio_extmap_lookup(&x->map, path);

	if (idx < 0)
		return aisio_err((int)idx, "%s: %s in the file system", path,
				 idx == -ENOTDIR ? "a component is not a directory" : "no such file");
	nd = &x->map.nodes[idx];
	if (!S_ISREG(nd->mode))
		return aisio_err(-EINVAL, "%s: not a regular file", path);
	if (nd->flags & AISIO_NODE_REALTIME)
		return aisio_err(-EOPNOTSUPP, "%s: data on the realtime device, which this path does not read",
				 path);
	for (uint32_t i = 0; i < nd->ext_count; i++) {
		uint32_t fl = x->map.exts[nd->ext_first + i].flags;

		if (fl & (AISIO_EXT_INLINE | AISIO_EXT_DELALLOC | AISIO_EXT_UNKNOWN | AISIO_EXT_ENCODED |
			  AISIO_EXT_ENCRYPTED))
			return aisio_err(-EOPNOTSUPP, "%s: extent %u has no plain device address (flags 0x%x: "
					 "inline, delayed, unknown, encoded or encrypted)", path, i, fl);
	}
	*ext = x->map.exts + nd->ext_first;
	*n = nd->ext_count;
	*size = nd->size;
	return 0;
}

static void xfs_src_close(struct fil_extsrc *src)
{
	struct xfs_src *x = src->priv;

	aisio_extmap_free(&x->map);
	free(x);
}

int fil_extsrc_xfs(struct aisio_dev *dev, struct fil_extsrc *out)
{
	struct aisio_xfs_opts xo = { 0 };
	struct aisio_xfs_rd *rd;
	struct aisio_xfs *fs;
	struct xfs_src *x = calloc(1, sizeof(*x));
	int err;

	if (!x)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_xfs_rd_open_dev(dev, 32, &rd);
	if (err)
		goto fail;
	err = aisio_xfs_open(rd, &xo, &fs);
	if (err)
		goto fail;
	err = aisio_xfs_index(fs, &x->map);
	aisio_xfs_close(fs);
	if (err)
		goto fail;
	out->file_extents = xfs_file_extents;
	out->close = xfs_src_close;
	out->name = "xfs-decoder";
	out->priv = x;
	return 0;
fail:
	free(x);
	return err;
}

/* ---- reading units through a queue -------------------------------------------- */

struct hslot {
	struct homi_worker *w;
	uint64_t ui;
	uint32_t pending; /* commands in flight, plus one while being set up */
	int status;
	char *buf;
};

struct homi_worker {
	struct fil_run *r;
	struct aisio_queue *q;
	struct hslot *slots;
	uint32_t *freel, nfree, nslots;
	uint32_t nsid, lba, max_xfer;
};

static void slot_finish(struct hslot *s)
{
	struct homi_worker *w = s->w;
	struct fil_run *r = w->r;
	const struct fil_unit *u = &r->set->u[s->ui];

	if (s->status) {
		fil_fail(r, s->status < 0 ? s->status : -EIO, "%s: %s at byte %llu: read failed: %s",
			 r->o->target, r->set->f[u->file].path, (unsigned long long)u->off,
			 aisio_status_str(s->status));
	} else {
		fil_served_add(r, 0, u->len);
		if (r->o->verify)
			fil_verify_host(r, u->file, u->off, s->buf, u->len);
		fil_unit_done(r, s->ui);
	}
	w->freel[w->nfree++] = (uint32_t)(s - w->slots);
}

static void io_done(struct aisio_io *io, void *arg)
{
	struct hslot *s = arg;

	if (io->status && !s->status)
		s->status = io->status;
	if (--s->pending == 0)
		slot_finish(s);
}

/* One command for device bytes [dev_off, dev_off + len) into @buf; reaps when the queue is full. */
static int queue_read(struct homi_worker *w, struct hslot *s, uint64_t dev_off, uint32_t len, char *buf)
{
	struct aisio_io *io;
	uint32_t nlb;

	if (dev_off % w->lba)
		return fil_fail(w->r, -EINVAL, "extent at device byte %llu is not on an LBA boundary (%u)",
				(unsigned long long)dev_off, w->lba);
	nlb = (len + w->lba - 1) / w->lba;
	while (!(io = aisio_queue_get_io(w->q))) {
		int rc = aisio_queue_submit(w->q);

		if (rc >= 0)
			rc = aisio_queue_reap(w->q, 0);
		if (rc < 0)
			return fil_fail(w->r, rc, "queue: %s", aisio_errmsg());
	}
	aisio_prep_read(io, w->nsid, dev_off / w->lba, nlb, buf, (size_t)nlb * w->lba);
	aisio_io_set_cb(io, io_done, s);
	s->pending++;
	return 0;
}

/* Queue the reads of unit @ui into slot @s: one per extent piece, zeros for holes and unwritten. */
static int queue_unit(struct homi_worker *w, struct hslot *s, uint64_t ui)
{
	struct fil_run *r = w->r;
	const struct fil_unit *u = &r->set->u[ui];
	const struct fil_file *f = &r->set->f[u->file];
	const struct aisio_extent *e;
	uint64_t size, pos = u->off, end = u->off + u->len;
	uint32_t n;
	int err = r->src->file_extents(r->src, f->path, &e, &n, &size);

	if (err)
		return fil_fail(r, err, "%s: %s", r->o->target, aisio_errmsg());
	if (size < f->size)
		return fil_fail(r, -ENODATA, "%s: %s: short file: %llu bytes, the manifest says %llu",
				r->o->target, f->path, (unsigned long long)size,
				(unsigned long long)f->size);
	s->ui = ui;
	s->status = 0;
	s->pending = 1;
	for (uint32_t i = 0; i < n && pos < end; i++) {
		uint64_t a = e[i].off, b = e[i].off + e[i].len;

		if (b <= pos)
			continue;
		if (a > pos) { /* hole */
			uint64_t z = (a < end ? a : end) - pos;

			memset(s->buf + (pos - u->off), 0, z);
			pos += z;
			if (pos >= end)
				break;
		}
		b = b < end ? b : end;
		if (e[i].flags & AISIO_EXT_UNWRITTEN) {
			memset(s->buf + (pos - u->off), 0, b - pos);
			pos = b;
			continue;
		}
		while (pos < b) {
			uint32_t l = (uint32_t)(b - pos < w->max_xfer ? b - pos : w->max_xfer);

			err = queue_read(w, s, e[i].dev_off + (pos - e[i].off), l, s->buf + (pos - u->off));
			if (err)
				return err;
			pos += l;
		}
	}
	if (pos < end)
		memset(s->buf + (pos - u->off), 0, end - pos);
	if (--s->pending == 0)
		slot_finish(s);
	return 0;
}

static void *homi_worker(void *arg)
{
	struct fil_run *r = arg;
	struct homi_worker w = { .r = r };
	const struct aisio_geo *geo = aisio_dev_geo(r->dev);
	size_t blen = ((size_t)r->set->max_unit + 2 * 4096 - 1) & ~(size_t)4095;
	uint32_t depth = r->o->qd + 1;
	int err, done = 0;

	if (geo->max_qdepth && depth > geo->max_qdepth)
		depth = geo->max_qdepth;
	w.nsid = geo->nsid;
	w.lba = geo->lba_size;
	w.max_xfer = geo->max_xfer ? geo->max_xfer : 1u << 20;
	if (w.max_xfer > (1u << 20))
		w.max_xfer = 1u << 20;
	err = aisio_queue_init(r->dev, depth, &w.q);
	if (err) {
		fil_fail(r, err, "%s: cannot create an I/O queue: %s", r->o->target, aisio_errmsg());
		return NULL;
	}
	w.nslots = r->o->qd;
	w.slots = calloc(w.nslots, sizeof(*w.slots));
	w.freel = calloc(w.nslots, sizeof(*w.freel));
	if (!w.slots || !w.freel) {
		fil_fail(r, -ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < w.nslots; i++) {
		w.slots[i].w = &w;
		w.slots[i].buf = aisio_buf_alloc(r->dev, blen);
		if (!w.slots[i].buf) {
			fil_fail(r, -ENOMEM, "%s: cannot allocate %zu-byte I/O buffers", r->o->target, blen);
			goto out;
		}
		w.freel[w.nfree++] = i;
	}
	while (!atomic_load(&r->err)) {
		while (!done && w.nfree) {
			uint64_t ui = fil_claim(r);

			if (ui == UINT64_MAX) {
				done = 1;
				break;
			}
			fil_unit_start(r, ui);
			if (queue_unit(&w, &w.slots[w.freel[--w.nfree]], ui))
				break;
		}
		if (done && !aisio_queue_outstanding(w.q) && w.nfree == w.nslots)
			break;
		err = aisio_queue_submit(w.q);
		if (err >= 0)
			err = aisio_queue_reap(w.q, 0);
		if (err < 0) {
			fil_fail(r, err, "%s: queue: %s", r->o->target, aisio_errmsg());
			break;
		}
	}
out:
	if (w.q) {
		aisio_queue_wait(w.q);
		aisio_queue_term(w.q);
	}
	for (uint32_t i = 0; w.slots && i < w.nslots; i++)
		if (w.slots[i].buf)
			aisio_buf_free(r->dev, w.slots[i].buf);
	free(w.slots);
	free(w.freel);
	return NULL;
}

int fil_run_homi(struct fil_run *r)
{
	static char name[64];

	snprintf(name, sizeof(name), "homi:%s/%s", r->src->name, aisio_dev_geo(r->dev)->backend);
	r->served[0].name = name;
	return fil_run_threads(r, homi_worker);
}

/*
 * Read all of @path through @src and @dev into a malloc'ed buffer (the
 * manifest of a dataset inside an image). Returns 0 or -errno with a message.
 */
int fil_homi_read_file(struct aisio_dev *dev, struct fil_extsrc *src, const char *path, char **out,
		       size_t *len)
{
	const struct aisio_geo *geo = aisio_dev_geo(dev);
	const struct aisio_extent *e;
	struct aisio_queue *q = NULL;
	uint64_t size;
	uint32_t n;
	char *buf, *io_buf;
	int err = src->file_extents(src, path, &e, &n, &size);

	if (err)
		return err;
	if (size > (256u << 20))
		return aisio_err(-EFBIG, "%s: %llu bytes is too large for a manifest", path,
				 (unsigned long long)size);
	buf = calloc(1, size + 1);
	io_buf = aisio_buf_alloc(dev, 1u << 20);
	if (!buf || !io_buf) {
		free(buf);
		if (io_buf)
			aisio_buf_free(dev, io_buf);
		return aisio_err(-ENOMEM, "out of memory");
	}
	err = aisio_queue_init(dev, 2, &q);
	for (uint32_t i = 0; !err && i < n; i++) {
		for (uint64_t p = 0; !err && p < e[i].len && e[i].off + p < size; p += 1u << 20) {
			uint64_t l = e[i].len - p < (1u << 20) ? e[i].len - p : (1u << 20);
			uint64_t want = size - (e[i].off + p) < l ? size - (e[i].off + p) : l;
			uint32_t step = geo->max_xfer ? geo->max_xfer : l;
			struct aisio_io *io;

			for (uint64_t k = 0; !err && k < l; k += step) {
				uint64_t kl = l - k < step ? l - k : step;

				if (e[i].flags & AISIO_EXT_UNWRITTEN) {
					memset(io_buf + k, 0, kl);
					continue;
				}
				io = aisio_queue_get_io(q);
				aisio_prep_read(io, geo->nsid, (e[i].dev_off + p + k) / geo->lba_size,
						(uint32_t)((kl + geo->lba_size - 1) / geo->lba_size), io_buf + k,
						(kl + geo->lba_size - 1) / geo->lba_size * geo->lba_size);
				err = aisio_io_sync(io);
				if (err)
					err = aisio_err(err < 0 ? err : -EIO, "%s: read failed: %s", path,
							aisio_status_str(err));
			}
			if (!err)
				memcpy(buf + e[i].off + p, io_buf, want);
		}
	}
	if (q)
		aisio_queue_term(q);
	aisio_buf_free(dev, io_buf);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = size;
	return 0;
}
