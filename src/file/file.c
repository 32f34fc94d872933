/* SPDX-License-Identifier: MIT */
/*
 * Files read through their extents (include/aisio/file.h). The handle
 * caches the runs homid gave; a mounted file's runs are checked with homid
 * before and after every read (FILE_CHECK), and mapped again (FILE_MAP)
 * when the file changed, so no read returns blocks the file has left.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <aisio/aisio.h>
#include <aisio/file.h>
#include <aisio/homi_proto.h>

#include "extent/extmap.h"
#include "file/local.h"
#include "file/runs.h"
#include "homi/client.h"
#include "util/err.h"

_Static_assert(AISIO_FILE_RUN_REFUSED ==
		       (AISIO_EXT_UNKNOWN | AISIO_EXT_DELALLOC | AISIO_EXT_ENCODED |
			AISIO_EXT_ENCRYPTED | AISIO_EXT_NOT_ALIGNED | AISIO_EXT_INLINE | AISIO_EXT_TAIL |
			AISIO_EXT_UNWRITTEN | AISIO_EXT_SHARED | AISIO_EXT_REALTIME),
	       "refused run flags");
_Static_assert(sizeof(struct aisio_file_run) == sizeof(struct aisio_homi_run), "run layout");

#define FILE_BOUNCE (1u << 20) /* DMA memory per handle */
#define FILE_CHUNK (128u << 10) /* bytes per command at most */
#define FILE_ATTEMPTS 4	      /* reads of a file that keeps changing before the kernel path */

struct slot {
	uint8_t *dst; /* where the wanted bytes go */
	uint8_t *src; /* the slot's part of the bounce buffer */
	uint32_t skip, copy;
	int status, busy;
	uint32_t *inflight;
};

struct aisio_file {
	struct aisio_dev *dev;
	struct aisio_homi_conn *conn;
	char *path;
	uint32_t flags;
	/* the current mapping */
	int valid;
	int is_static;
	uint64_t gen, size;
	uint32_t lba_shift, nsid;
	struct aisio_file_run *runs;
	uint32_t nruns, cap;
	/* reads */
	uint8_t *bounce;
	uint32_t chunk;
	struct slot slots[FILE_BOUNCE / 4096];
	uint32_t inflight; /* commands of read_runs not yet completed (slots point here) */
};

const char *aisio_file_served_str(int served)
{
	return served == AISIO_FILE_SERVED_EXTENT ? "extent"
	       : served == AISIO_FILE_SERVED_KERNEL ? "kernel"
						    : "none";
}

static void say(struct aisio_file_report *rep, int reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(struct aisio_file_report *rep, int reason, const char *fmt, ...)
{
	va_list ap;

	rep->reason = reason;
	va_start(ap, fmt);
	vsnprintf(rep->why, sizeof(rep->why), fmt, ap);
	va_end(ap);
}

/* A file inside the XFS of a local device: the decoder's index in this process. */
static int map_local(struct aisio_file *f)
{
	const struct aisio_geo *geo = aisio_dev_geo(f->dev);
	uint32_t shift = (uint32_t)__builtin_ctz(geo->lba_size);
	struct aisio_file_vol *vol;
	struct aisio_runs_file rf;
	int err = aisio_file_vol_get(f->dev, &vol);

	if (!err)
		err = aisio_runs_lookup(&vol->map, f->path, geo->nlbas, shift, aisio_dev_uri(f->dev),
					&rf);
	if (err)
		return err;
	free(f->runs);
	f->runs = rf.runs;
	f->nruns = f->cap = rf.nruns;
	f->size = rf.size;
	f->lba_shift = shift;
	f->nsid = geo->nsid;
	f->is_static = 1;
	f->gen = 1;
	f->valid = 1;
	return 0;
}

/* FILE_MAP, every page of runs; a file that changes between pages is asked again. */
static int do_map(struct aisio_file *f, struct aisio_file_report *rep)
{
	static __thread union {
		struct aisio_homi_file_map_reply r;
		uint8_t b[AISIO_HOMI_MSG_MAX];
	} u;
	struct aisio_homi_file_map req;
	int err = 0;

	if (!f->conn)
		return map_local(f);
	memset(&req, 0, sizeof(req));
	req.version = AISIO_HOMI_FILE_VERSION;
	req.where = f->flags & AISIO_FILE_IMAGE ? AISIO_HOMI_FILE_IMAGE : AISIO_HOMI_FILE_MOUNTED;
	snprintf(req.path, sizeof(req.path), "%s", f->path);
	for (int tries = 0; tries < FILE_ATTEMPTS; tries++) {
		uint64_t gen = 0;
		int more = 1;

		f->valid = 0;
		f->nruns = 0;
		req.off = 0;
		while (more) {
			size_t rlen;
			const struct aisio_homi_run *runs = (const struct aisio_homi_run *)(&u.r + 1);

			err = aisio_homi_call(f->conn, AISIO_HOMI_FILE_MAP, &req, sizeof(req), -1, u.b,
					      sizeof(u.b), &rlen, NULL);
			if (rep)
				rep->maps++;
			if (err)
				return err;
			if (u.r.version != AISIO_HOMI_FILE_VERSION || !u.r.gen ||
			    u.r.lba_shift < 9 || u.r.lba_shift > 16)
				return aisio_err(-EPROTO, "%s: homid's FILE_MAP reply is not one this "
						 "library reads (version %u)", f->path, u.r.version);
			if (gen && u.r.gen != gen)
				break; /* changed between pages */
			gen = u.r.gen;
			if (f->nruns + u.r.nruns > f->cap) {
				uint32_t cap = (f->nruns + u.r.nruns) * 2;
				void *p = realloc(f->runs, cap * sizeof(*f->runs));

				if (!p)
					return aisio_err(-ENOMEM, "out of memory for %u runs", cap);
				f->runs = p;
				f->cap = cap;
			}
			if (u.r.nruns)
				memcpy(f->runs + f->nruns, runs, u.r.nruns * sizeof(*runs));
			f->nruns += u.r.nruns;
			more = u.r.flags & AISIO_HOMI_FILE_F_MORE;
			if (more && u.r.next_off <= req.off)
				return aisio_err(-EPROTO, "%s: homid's runs do not advance", f->path);
			req.off = u.r.next_off;
			f->size = u.r.size;
			f->lba_shift = u.r.lba_shift;
			f->nsid = u.r.nsid;
			f->is_static = !!(u.r.flags & AISIO_HOMI_FILE_F_STATIC);
		}
		if (!more) {
			f->gen = gen;
			f->valid = 1;
			return 0;
		}
	}
	return aisio_err(-EAGAIN, "%s keeps changing while it is being mapped", f->path);
}

/* 0: the mapping is current; -ESTALE: map again; else an error. */
static int do_check(struct aisio_file *f, struct aisio_file_report *rep)
{
	struct aisio_homi_file_check c = { .gen = f->gen };
	int err;

	if (f->is_static)
		return 0;
	err = aisio_homi_call(f->conn, AISIO_HOMI_FILE_CHECK, &c, sizeof(c), -1, NULL, 0, NULL,
			      NULL);
	if (rep)
		rep->checks++;
	if (err == -ESTALE)
		f->valid = 0;
	return err;
}

int aisio_file_open(struct aisio_dev *dev, const char *path, uint32_t flags,
		    struct aisio_file **out)
{
	const struct aisio_geo *geo = aisio_dev_geo(dev);
	struct aisio_file *f;
	int err;

	*out = NULL;
	if (flags & ~(uint32_t)AISIO_FILE_IMAGE)
		return aisio_err(-EINVAL, "aisio_file_open: unknown flags 0x%x", flags);
	if (!path || !*path || strlen(path) >= AISIO_HOMI_PATH_MAX)
		return aisio_err(-EINVAL, "aisio_file_open: the path must have 1..%d bytes",
				 AISIO_HOMI_PATH_MAX - 1);
	f = calloc(1, sizeof(*f));
	if (!f)
		return aisio_err(-ENOMEM, "out of memory");
	f->dev = dev;
	f->flags = flags;
	f->conn = aisio_homi_dev_conn(dev);
	if (!f->conn && !(flags & AISIO_FILE_IMAGE)) {
		err = aisio_err(-EOPNOTSUPP, "%s: a mounted file's extents come from homid, which "
				"watches the file for changes: open a homi: device (%s is not one), "
				"or AISIO_FILE_IMAGE for a file inside the device's unmounted XFS",
				path, aisio_dev_uri(dev));
		goto err_free;
	}
	f->path = strdup(path);
	if (!f->path) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto err_free;
	}
	f->chunk = geo->max_xfer && geo->max_xfer < FILE_CHUNK ? geo->max_xfer : FILE_CHUNK;
	f->chunk &= ~(geo->lba_size - 1);
	if (f->chunk < geo->lba_size || f->chunk % 4096) {
		err = aisio_err(-EINVAL, "%s: largest transfer %u B does not hold a page", path,
				geo->max_xfer);
		goto err_free;
	}
	f->bounce = aisio_buf_alloc(dev, FILE_BOUNCE);
	if (!f->bounce) {
		err = aisio_err(-ENOMEM, "%s: no DMA memory for reads: %s", path, aisio_errmsg());
		goto err_free;
	}
	err = do_map(f, NULL);
	if (err)
		goto err_free;
	*out = f;
	return 0;

err_free:
	aisio_file_close(f);
	return err;
}

void aisio_file_close(struct aisio_file *f)
{
	if (!f)
		return;
	if (f->bounce)
		aisio_buf_free(f->dev, f->bounce);
	free(f->runs);
	free(f->path);
	free(f);
}

uint64_t aisio_file_size(const struct aisio_file *f)
{
	return f->size;
}

/* A current mapping: checked with homid when cached, mapped again when stale. */
static int current(struct aisio_file *f, struct aisio_file_report *rep)
{
	int err = 0;

	if (f->valid) {
		err = do_check(f, rep);
		if (err != -ESTALE)
			return err;
	}
	return do_map(f, rep);
}

int aisio_file_runs(struct aisio_file *f, const struct aisio_file_run **runs, uint32_t *nruns,
		    uint32_t *lba_size)
{
	int err = current(f, NULL);

	if (err)
		return err;
	*runs = f->runs;
	*nruns = f->nruns;
	*lba_size = 1u << f->lba_shift;
	return 0;
}

/* The first refused run in [off, off + len), or NULL. */
static const struct aisio_file_run *refused_in(const struct aisio_file *f, uint64_t off,
					       uint64_t len)
{
	for (uint32_t i = 0; i < f->nruns; i++) {
		const struct aisio_file_run *r = &f->runs[i];

		if (r->off < off + len && off < r->off + r->len && r->flags & AISIO_FILE_RUN_REFUSED)
			return r;
	}
	return NULL;
}

static const char *refusal(uint32_t flags)
{
	if (flags & AISIO_EXT_UNWRITTEN)
		return "unwritten (preallocated) extent";
	if (flags & AISIO_EXT_DELALLOC)
		return "delayed allocation (no blocks yet)";
	if (flags & AISIO_EXT_SHARED)
		return "shared (reflink) extent";
	if (flags & (AISIO_EXT_INLINE | AISIO_EXT_TAIL))
		return "inline data (no blocks of its own)";
	if (flags & AISIO_EXT_NOT_ALIGNED)
		return "extent not aligned to the device's LBAs";
	if (flags & AISIO_EXT_REALTIME)
		return "extent on the realtime device";
	if (flags & (AISIO_EXT_ENCODED | AISIO_EXT_ENCRYPTED))
		return "encoded or encrypted extent";
	return "extent of unknown location";
}

/* A command finished: its bytes go to the caller's buffer and its slot is free again. */
static void slot_done(struct aisio_io *io, void *arg)
{
	struct slot *s = arg;

	s->status = io->status;
	if (!io->status && s->src) /* NULL: the device wrote the caller's buffer itself */
		memcpy(s->dst, s->src + s->skip, s->copy);
	s->busy = 0;
	(*s->inflight)--;
}

/*
 * [off, off + len) of the file (inside its size) through its runs: up to
 * nslots commands in flight, each slot refilled as soon as it completes.
 */
static int read_runs(struct aisio_file *f, struct aisio_queue *q, uint8_t *buf, uint64_t off,
		     uint64_t len, int direct, struct aisio_file_report *rep)
{
	uint64_t lbs = (uint64_t)1 << f->lba_shift, end = off + len, pos = off;
	uint32_t nslots = FILE_BOUNCE / f->chunk, qd = aisio_queue_depth(q), ri = 0, idle = 0;
	int err = 0, ret;

	f->inflight = 0;
	if (qd && nslots > qd)
		nslots = qd;
	for (uint32_t i = 0; i < nslots; i++)
		f->slots[i] = (struct slot){ .inflight = &f->inflight };
	while ((pos < end && !err) || f->inflight) {
		uint32_t queued = 0;

		for (uint32_t i = 0; i < nslots && pos < end && !err; i++) {
			struct slot *s = &f->slots[i];
			const struct aisio_file_run *r;
			uint64_t dev, a0, take, span;
			struct aisio_io *io;

			if (s->status && !err)
				err = aisio_err(s->status < 0 ? s->status : -EIO, "%s: read failed: %s",
						f->path, aisio_status_str(s->status));
			if (s->busy || err)
				continue;
			while (ri < f->nruns && f->runs[ri].off + f->runs[ri].len <= pos)
				ri++;
			r = ri < f->nruns ? &f->runs[ri] : NULL;
			if (!r || r->off > pos) { /* a hole: zeros */
				take = (r && r->off < end ? r->off : end) - pos;
				memset(buf + (pos - off), 0, take);
				pos += take;
				i--; /* the slot is still free */
				continue;
			}
			dev = (r->lba << f->lba_shift) + (pos - r->off);
			a0 = dev & ~(lbs - 1);
			take = r->off + r->len - pos;
			if (take > end - pos)
				take = end - pos;
			if (take > f->chunk - (dev - a0))
				take = f->chunk - (dev - a0);
			/*
			 * DMA memory of the caller: whole LBAs go straight into it; a
			 * piece that starts or ends inside an LBA goes through the bounce
			 * buffer (the device writes whole LBAs only).
			 */
			s->src = f->bounce + (size_t)i * f->chunk;
			if (direct && dev == a0 && take >= lbs && !((uintptr_t)(buf + (pos - off)) & 3)) {
				take &= ~(lbs - 1);
				s->src = NULL;
			}
			span = (dev - a0 + take + lbs - 1) & ~(lbs - 1);
			io = aisio_queue_get_io(q);
			if (!io)
				break; /* the queue is full: reap first */
			s->dst = buf + (pos - off);
			s->skip = (uint32_t)(dev - a0);
			s->copy = (uint32_t)take;
			s->busy = 1;
			aisio_prep_read(io, f->nsid, a0 >> f->lba_shift, (uint32_t)(span >> f->lba_shift),
					s->src ? s->src : s->dst, span);
			aisio_io_set_cb(io, slot_done, s);
			f->inflight++;
			queued++;
			rep->cmds++;
			pos += take;
		}
		if (queued) {
			ret = aisio_queue_submit(q);
			if (ret < 0)
				return aisio_err(ret, "%s: submit: %s", f->path, aisio_errmsg());
		}
		if (f->inflight) {
			ret = aisio_queue_reap(q, 0);
			if (ret < 0)
				return aisio_err(ret, "%s: reap: %s", f->path, aisio_errmsg());
			/* nothing yet: after a while let others run (a device model may share the CPU) */
			if (ret == 0 && !queued && ++idle % 64 == 0)
				sched_yield();
		}
	}
	for (uint32_t i = 0; i < nslots && !err; i++)
		if (f->slots[i].status)
			err = aisio_err(f->slots[i].status < 0 ? f->slots[i].status : -EIO,
					"%s: read failed: %s", f->path,
					aisio_status_str(f->slots[i].status));
	return err;
}

/* The kernel path: pread of the file as the path names it now. */
static ssize_t kernel_read(struct aisio_file *f, void *buf, uint64_t off, size_t len,
			   struct aisio_file_report *rep)
{
	size_t done = 0;
	int fd;

	if (f->flags & AISIO_FILE_IMAGE)
		return aisio_err(-EOPNOTSUPP, "%s: %s; a file inside an unmounted image has no "
				 "kernel path to fall back to", f->path, rep->why);
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return aisio_err(-errno, "%s: the kernel path after '%s': %s", f->path, rep->why,
				 strerror(errno));
	while (done < len) {
		ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = -errno;

			close(fd);
			return aisio_err(err, "%s: pread: %s", f->path, strerror(-err));
		}
		if (!n)
			break;
		done += (size_t)n;
	}
	close(fd);
	rep->served = AISIO_FILE_SERVED_KERNEL;
	rep->bytes = done;
	return (ssize_t)done;
}

static ssize_t file_read(struct aisio_file *f, struct aisio_queue *q, void *buf, uint64_t off,
			 size_t len, int direct, struct aisio_file_report *rep)
{
	struct aisio_file_report local;
	int err = 0;

	if (!rep)
		rep = &local;
	memset(rep, 0, sizeof(*rep));
	for (int attempt = 0; attempt < FILE_ATTEMPTS; attempt++) {
		const struct aisio_file_run *bad;
		uint64_t n;

		if (attempt)
			rep->retries++;
		err = current(f, rep);
		if (err) {
			say(rep, err, "%s", aisio_errmsg());
			return err;
		}
		if (off >= f->size)
			return 0;
		n = len < f->size - off ? len : f->size - off;
		bad = refused_in(f, off, n);
		if (bad) {
			say(rep, -EOPNOTSUPP, "%s at file offset %llu (+%llu)", refusal(bad->flags),
			    (unsigned long long)bad->off, (unsigned long long)bad->len);
			return kernel_read(f, buf, off, len, rep);
		}
		err = read_runs(f, q, buf, off, n, direct, rep);
		if (err) {
			say(rep, err, "%s", aisio_errmsg());
			return err;
		}
		/* the blocks read are the file's only if nothing changed meanwhile */
		err = do_check(f, rep);
		if (!err) {
			rep->served = AISIO_FILE_SERVED_EXTENT;
			rep->bytes = n;
			return (ssize_t)n;
		}
		if (err != -ESTALE) {
			say(rep, err, "%s", aisio_errmsg());
			return err;
		}
	}
	say(rep, -ESTALE, "the file changed during each of %d reads through its extents",
	    FILE_ATTEMPTS);
	return kernel_read(f, buf, off, len, rep);
}

ssize_t aisio_file_read(struct aisio_file *f, struct aisio_queue *q, void *buf, uint64_t off,
			size_t len, struct aisio_file_report *rep)
{
	return file_read(f, q, buf, off, len, 0, rep);
}

ssize_t aisio_file_read_dma(struct aisio_file *f, struct aisio_queue *q, void *buf, uint64_t off,
			    size_t len, struct aisio_file_report *rep)
{
	return file_read(f, q, buf, off, len, 1, rep);
}
