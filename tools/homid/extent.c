/* SPDX-License-Identifier: MIT */
/*
 * homid's extent service (docs/homi.md, "Extent service"): FILE_MAP turns a
 * path into the LBA runs of the attached namespace that hold the file's
 * data; FILE_CHECK says whether a mapping is still current.
 *
 * Mounted: a file system the kernel mounted from one of homid's ublk
 * exports. The path is opened with the client's credentials (fsuid, fsgid
 * and supplementary groups, set for this thread only) beneath the mount
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_XDEV), mapped with FIEMAP and
 * FIEMAP_FLAG_SYNC, and the export's first LBA added. A fanotify mark on
 * the file system reports modify, close-write, attribute changes (truncate,
 * chmod, unlink, being replaced by a rename), delete-self and move-self;
 * every event drops the cached mapping of its file, so each client's next
 * FILE_CHECK of it fails and the client maps again. Events are read before
 * every FILE_MAP and FILE_CHECK is answered: a change whose system call
 * returned before the request is always seen.
 *
 * Image: the XFS on a namespace no export serves, decoded once through a
 * queue pair of homid's own and kept until homid exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "extent/fiemap.h"
#include "file/runs.h"
#include "homid.h"
#include "util/err.h"
#include "xfs/xfs.h"

#define EXT_CACHE_MAX 4096
#define EXT_MASK (FAN_MODIFY | FAN_CLOSE_WRITE | FAN_ATTRIB | FAN_DELETE_SELF | FAN_MOVE_SELF)
#define EXT_GROUPS_MAX 256
#define EXT_IMG_BUF (256u * 1024)


struct ext_entry {
	uint64_t gen;
	dev_t dev;
	uint64_t ino;
	int fsid[2];
	unsigned int hbytes;
	int htype;
	unsigned char handle[MAX_HANDLE_SZ];
	const struct homid_ctrl *hc;
	const struct homid_ns *ns;
	uint64_t size;
	uint32_t blksize;
	struct aisio_file_run *runs;
	uint32_t nruns;
	struct ext_entry *next;
};

struct ext_image {
	struct homid_ctrl *hc;
	const struct homid_ns *ns;
	struct aisio_extmap map;
	uint64_t gen;
	struct ext_image *next;
};

static struct {
	int fan;
	uint64_t next_gen;
	struct ext_entry *entries;
	uint32_t nentries;
	struct ext_image *images;
} X = { .fan = -1, .next_gen = 1 };

int homid_extent_fd(void)
{
	return X.fan;
}

static void entry_free(struct ext_entry *e)
{
	free(e->runs);
	free(e);
}

/* ---- invalidation ---------------------------------------------------------------- */

static void drop_matching(const int fsid[2], const struct file_handle *fh)
{
	for (struct ext_entry **pp = &X.entries; *pp;) {
		struct ext_entry *e = *pp;

		if (e->fsid[0] == fsid[0] && e->fsid[1] == fsid[1] && e->hbytes == fh->handle_bytes &&
		    e->htype == fh->handle_type && !memcmp(e->handle, fh->f_handle, e->hbytes)) {
			LOG_DEBUG("extent: ino %llu changed: mapping gen %llu dropped",
				  (unsigned long long)e->ino, (unsigned long long)e->gen);
			*pp = e->next;
			X.nentries--;
			entry_free(e);
			continue;
		}
		pp = &e->next;
	}
}

static void drop_all(const char *why)
{
	if (X.nentries)
		LOG_WARN("extent: %s: every cached mapping (%u) dropped", why, X.nentries);
	while (X.entries) {
		struct ext_entry *e = X.entries;

		X.entries = e->next;
		entry_free(e);
	}
	X.nentries = 0;
}

void homid_extent_drain(void)
{
	union {
		struct fanotify_event_metadata m;
		char b[8192];
	} u;

	if (X.fan < 0)
		return;
	for (;;) {
		ssize_t n = read(X.fan, u.b, sizeof(u.b));
		struct fanotify_event_metadata *m = &u.m;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN)
				drop_all("reading fanotify events failed");
			return;
		}
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			size_t off = m->metadata_len;
			int seen = 0;

			if (m->vers != FANOTIFY_METADATA_VERSION || m->mask & FAN_Q_OVERFLOW) {
				drop_all("fanotify queue overflow");
				continue;
			}
			while (off + sizeof(struct fanotify_event_info_header) <= m->event_len) {
				struct fanotify_event_info_fid *fid =
					(struct fanotify_event_info_fid *)((char *)m + off);

				if (!fid->hdr.len)
					break;
				if (fid->hdr.info_type == FAN_EVENT_INFO_TYPE_FID &&
				    off + sizeof(*fid) + sizeof(struct file_handle) <= m->event_len) {
					int fsid[2] = { fid->fsid.val[0], fid->fsid.val[1] };

					drop_matching(fsid, (struct file_handle *)fid->handle);
					seen = 1;
				}
				off += fid->hdr.len;
			}
			if (!seen)
				drop_all("fanotify event without a file handle");
			if (m->fd >= 0)
				close(m->fd);
		}
	}
}

static int fan_init(void)
{
	if (X.fan >= 0)
		return 0;
	X.fan = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY);
	if (X.fan < 0)
		return aisio_err(-EOPNOTSUPP, "fanotify_init: %s: without it homid cannot notice "
				 "changes to mounted files, so it maps none (it needs CAP_SYS_ADMIN "
				 "and Linux 5.1)", strerror(errno));
	return 0;
}

void homid_extent_stop(void)
{
	drop_all("stopping");
	while (X.images) {
		struct ext_image *im = X.images;

		X.images = im->next;
		aisio_extmap_free(&im->map);
		free(im);
	}
	if (X.fan >= 0)
		close(X.fan);
	X.fan = -1;
}

/* ---- the client's credentials, on this thread only ------------------------------ */

struct creds {
	int changed;
	gid_t groups[EXT_GROUPS_MAX];
	int ngroups;
};

static int as_client(const struct homid_client *cl, struct creds *saved)
{
	gid_t groups[EXT_GROUPS_MAX];
	socklen_t glen = sizeof(groups);
	int n;

	saved->changed = 0;
	if (cl->uid == geteuid() && cl->gid == getegid())
		return 0;
	if (geteuid() != 0)
		return aisio_err(-EPERM, "homid runs as uid %u and cannot check uid %u's access to "
				 "files: run it as root", geteuid(), cl->uid);
	if (getsockopt(cl->sock, SOL_SOCKET, SO_PEERGROUPS, groups, &glen))
		return aisio_err(-errno, "the client's groups (SO_PEERGROUPS): %s", strerror(errno));
	saved->ngroups = getgroups(EXT_GROUPS_MAX, saved->groups);
	if (saved->ngroups < 0)
		return aisio_err(-errno, "getgroups: %s", strerror(errno));
	n = (int)(glen / sizeof(gid_t));
	/* raw system calls: glibc's setgroups would change every thread of homid */
	if (syscall(SYS_setgroups, n, groups))
		return aisio_err(-errno, "setgroups: %s", strerror(errno));
	saved->changed = 1;
	syscall(SYS_setfsgid, cl->gid);
	syscall(SYS_setfsuid, cl->uid);
	if ((uid_t)syscall(SYS_setfsuid, -1) != cl->uid || (gid_t)syscall(SYS_setfsgid, -1) != cl->gid)
		return aisio_err(-EPERM, "homid could not take uid %u gid %u to open the file",
				 cl->uid, cl->gid);
	return 0;
}

static void as_homid(const struct creds *saved)
{
	if (!saved->changed)
		return;
	syscall(SYS_setfsuid, geteuid());
	syscall(SYS_setfsgid, getegid());
	if (syscall(SYS_setgroups, saved->ngroups, saved->groups))
		LOG_ERR("extent: restoring homid's groups failed: %s", strerror(errno));
}

/* ---- mounted file systems -------------------------------------------------------- */

struct mnt {
	char dir[PATH_MAX];
	dev_t dev;
	struct homid_ctrl *hc;
	const struct homid_ns *ns;
	uint64_t lba_first, nlbas;
	uint32_t dev_id;
};

/* /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = 0;
}

/* Is @dir a leading run of whole components of @path? */
static size_t prefix_of(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (n == 1 && dir[0] == '/')
		return 1;
	if (strncmp(dir, path, n) || (path[n] && path[n] != '/'))
		return 0;
	return n;
}

/* The mount of one of homid's exports whose mount point is the longest prefix of @path. */
static int find_mount(const char *path, struct mnt *out)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[PATH_MAX + 512];
	size_t best = 0;
	int nexp = 0;

	if (!f)
		return aisio_err(-errno, "/proc/self/mountinfo: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		char dir[PATH_MAX];
		struct mnt m;
		size_t n;

		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min, dir) != 3)
			continue;
		m.dev = makedev(maj, min);
		if (homid_ublk_find_dev(m.dev, &m.hc, &m.ns, &m.lba_first, &m.nlbas, &m.dev_id))
			continue;
		nexp++;
		unescape(dir);
		n = prefix_of(dir, path);
		if (n && n >= best) {
			best = n;
			snprintf(m.dir, sizeof(m.dir), "%s", dir);
			*out = m;
		}
	}
	fclose(f);
	if (!best)
		return aisio_err(-EXDEV, "%s is not on a file system mounted from one of homid's ublk "
				 "exports (%d such mount(s))", path, nexp);
	return 0;
}

static int open_beneath(const struct homid_client *cl, const struct mnt *m, const char *path,
			int *out)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS };
	const char *rest = path + strlen(m->dir);
	struct creds saved;
	int dfd, fd, err;

	while (*rest == '/')
		rest++;
	if (!*rest)
		rest = ".";
	err = as_client(cl, &saved);
	if (err) {
		as_homid(&saved);
		return err;
	}
	dfd = open(m->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	err = dfd < 0 ? -errno : 0;
	if (!err) {
		fd = (int)syscall(SYS_openat2, dfd, rest, &how, sizeof(how));
		err = fd < 0 ? -errno : 0;
		close(dfd);
	}
	as_homid(&saved);
	if (err == -EXDEV)
		return aisio_err(err, "%s leaves the file system mounted at %s ('..', an absolute "
				 "symlink or another mount on the way)", path, m->dir);
	if (err)
		return aisio_err(err, "%s: %s (opened as uid %u gid %u)", path, strerror(-err),
				 cl->uid, cl->gid);
	*out = fd;
	return 0;
}

static struct ext_entry *entry_find(dev_t dev, uint64_t ino)
{
	for (struct ext_entry *e = X.entries; e; e = e->next)
		if (e->dev == dev && e->ino == ino)
			return e;
	return NULL;
}

static void entry_insert(struct ext_entry *e)
{
	/* the oldest entry goes when the cache is full: its holders map again */
	if (X.nentries >= EXT_CACHE_MAX) {
		struct ext_entry **pp = &X.entries;

		while ((*pp)->next)
			pp = &(*pp)->next;
		entry_free(*pp);
		*pp = NULL;
		X.nentries--;
	}
	e->next = X.entries;
	X.entries = e;
	X.nentries++;
}

static int map_mounted(struct homid_client *cl, const char *path, struct ext_entry **out, int *cached)
{
	struct ext_entry *e;
	struct aisio_extmap map;
	struct {
		struct file_handle fh;
		unsigned char b[MAX_HANDLE_SZ];
	} h;
	struct statfs sfs;
	struct stat st;
	struct mnt m;
	uint64_t first;
	uint32_t count;
	int fd = -1, mnt_id, err;

	if (path[0] != '/')
		return aisio_err(-EINVAL, "'%s': a mounted file's path must be absolute", path);
	err = fan_init();
	if (err)
		return err;
	err = find_mount(path, &m);
	if (err)
		return err;
	if (m.hc != cl->ctrl || m.ns != cl->ns)
		return aisio_err(-EXDEV, "%s is on %s namespace %u (/dev/ublkb%u); this connection is "
				 "attached to %s namespace %u", path, m.hc->name, m.ns->nsid, m.dev_id,
				 cl->ctrl->name, cl->ns->nsid);
	/* events before the mapping are old news; any after it drops the mapping */
	homid_extent_drain();
	if (fanotify_mark(X.fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, EXT_MASK, AT_FDCWD, m.dir))
		return aisio_err(-errno, "fanotify_mark on %s: %s: without it homid cannot notice "
				 "changes, so it maps nothing there", m.dir, strerror(errno));
	err = open_beneath(cl, &m, path, &fd);
	if (err)
		return err;
	if (fstat(fd, &st)) {
		err = aisio_err(-errno, "%s: fstat: %s", path, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = aisio_err(-EISDIR, "%s is a directory; map its files one by one", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = aisio_err(-EINVAL, "%s is not a regular file", path);
		goto out;
	}
	if (st.st_dev != m.dev) {
		err = aisio_err(-EXDEV, "%s is not on the file system mounted at %s", path, m.dir);
		goto out;
	}
	e = entry_find(st.st_dev, st.st_ino);
	if (e) {
		*cached = 1;
		*out = e;
		goto out;
	}
	h.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(fd, "", &h.fh, &mnt_id, AT_EMPTY_PATH) || fstatfs(fd, &sfs)) {
		err = aisio_err(-errno, "%s: file handle: %s", path, strerror(errno));
		goto out;
	}
	aisio_extmap_init(&map, 1u << cl->ns->lba_shift, (uint32_t)st.st_blksize);
	err = aisio_fiemap_fd(&map, fd, &first, &count);
	if (err) {
		aisio_extmap_free(&map);
		err = aisio_err(err, "%s: %s", path, aisio_errmsg());
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		aisio_extmap_free(&map);
		err = aisio_err(-ENOMEM, "out of memory");
		goto out;
	}
	err = aisio_runs_from_exts(map.exts + first, count, m.lba_first, m.nlbas, cl->ns->lba_shift,
				   &e->runs, &e->nruns);
	aisio_extmap_free(&map);
	if (err) {
		free(e);
		goto out;
	}
	e->gen = X.next_gen++;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	memcpy(e->fsid, &sfs.f_fsid, sizeof(e->fsid));
	e->hbytes = h.fh.handle_bytes;
	e->htype = h.fh.handle_type;
	memcpy(e->handle, h.fh.f_handle, e->hbytes);
	e->hc = m.hc;
	e->ns = m.ns;
	e->size = (uint64_t)st.st_size;
	e->blksize = (uint32_t)st.st_blksize;
	entry_insert(e);
	*cached = 0;
	*out = e;
out:
	close(fd);
	return err;
}

/* ---- unmounted images: the decoder through homid's own queue pair ----------------- */

struct img_rd {
	struct aisio_nvme_qpair *qp;
	uint8_t *buf;
	uint32_t cap;
	uint32_t nsid, lba_shift;
};

struct img_wait {
	int done, status;
};

static void img_io_done(struct aisio_io *io, void *arg)
{
	struct img_wait *w = arg;

	w->status = io->status;
	w->done = 1;
}

static int img_read(void *arg, uint64_t off, uint32_t len, void *dst)
{
	struct img_rd *r = arg;
	uint64_t lbs = (uint64_t)1 << r->lba_shift;

	while (len) {
		uint64_t a0 = off & ~(lbs - 1), skip = off - a0, span = skip + len, bytes;
		struct img_wait w = { 0, 0 };
		struct aisio_io *io;
		uint32_t take;

		if (span > r->cap)
			span = r->cap;
		bytes = (span + lbs - 1) & ~(lbs - 1);
		take = (uint32_t)(span - skip);
		io = aisio_nvme_qpair_get_io(r->qp);
		if (!io)
			return aisio_err(-EBUSY, "extent: no free command on homid's queue");
		aisio_prep_read(io, r->nsid, a0 >> r->lba_shift, (uint32_t)(bytes >> r->lba_shift),
				r->buf, bytes);
		aisio_io_set_cb(io, img_io_done, &w);
		aisio_nvme_qpair_submit(r->qp);
		while (!w.done) {
			int n = aisio_nvme_qpair_reap(r->qp, 0);

			if (n < 0)
				return aisio_err(n, "extent: the controller failed during a read");
		}
		if (w.status)
			return aisio_err(w.status < 0 ? w.status : -EIO, "read of LBA %llu failed: %s",
					 (unsigned long long)(a0 >> r->lba_shift),
					 aisio_status_str(w.status));
		memcpy(dst, r->buf + skip, take);
		dst = (uint8_t *)dst + take;
		off += take;
		len -= take;
	}
	return 0;
}

static void img_warn(void *arg, const char *msg)
{
	(void)arg;
	LOG_WARN("extent: XFS decoder: %s", msg);
}

static int image_get(struct homid_client *cl, struct ext_image **out)
{
	const struct aisio_nvme_ctrl_info *ci;
	struct aisio_xfs_opts opts = { .warn = img_warn };
	struct img_rd r = { .nsid = cl->ns->nsid, .lba_shift = cl->ns->lba_shift };
	struct aisio_xfs_rd *rd = NULL;
	struct aisio_xfs *fs = NULL;
	struct ext_image *im;
	int err;

	for (im = X.images; im; im = im->next)
		if (im->hc == cl->ctrl && im->ns == cl->ns) {
			*out = im;
			return 0;
		}
	if (cl->ctrl->kind == AISIO_HOMI_CTRL_TCP)
		return aisio_err(-ENOTSUP, "extent: %s is a remote controller over NVMe/TCP; homid "
				 "reads images on local controllers only", cl->ctrl->name);
	ci = aisio_nvme_ctrl_info(cl->ctrl->nc);
	im = calloc(1, sizeof(*im));
	if (!im)
		return aisio_err(-ENOMEM, "out of memory");
	r.cap = ci->max_xfer && ci->max_xfer < EXT_IMG_BUF ? ci->max_xfer : EXT_IMG_BUF;
	r.buf = aisio_nvme_ctrl_dma_alloc(cl->ctrl->nc, r.cap, (size_t)1 << ci->page_shift);
	if (!r.buf) {
		err = aisio_err(-ENOMEM, "extent: no DMA memory for the decoder's reads");
		goto out;
	}
	err = aisio_nvme_qpair_create(cl->ctrl->nc, NULL, 2, 0, &r.qp);
	if (err) {
		err = aisio_err(err < 0 ? err : -EIO, "extent: %s: no queue pair for the decoder: %s",
				cl->ctrl->name, aisio_errmsg());
		r.qp = NULL;
		goto out;
	}
	err = aisio_xfs_rd_open_fn(cl->ns->nlbas << cl->ns->lba_shift, 1u << cl->ns->lba_shift,
				   img_read, &r, &rd);
	if (!err) {
		err = aisio_xfs_open(rd, &opts, &fs); /* takes rd over, closes it on failure */
		rd = NULL;
	}
	if (!err)
		err = aisio_xfs_index(fs, &im->map);
	if (err) {
		err = aisio_err(err, "%s namespace %u holds no XFS homid can read: %s", cl->ctrl->name,
				cl->ns->nsid, aisio_errmsg());
		goto out;
	}
	im->hc = cl->ctrl;
	im->ns = cl->ns;
	im->gen = X.next_gen++;
	im->next = X.images;
	X.images = im;
	LOG_INFO("extent: %s namespace %u: XFS decoded, %u nodes, %llu extents", cl->ctrl->name,
		 cl->ns->nsid, im->map.nnodes, (unsigned long long)im->map.nexts);
	*out = im;
	im = NULL;
out:
	if (fs)
		aisio_xfs_close(fs);
	aisio_xfs_rd_close(rd);
	if (r.qp)
		aisio_nvme_qpair_delete(r.qp);
	if (r.buf)
		aisio_nvme_ctrl_dma_free(cl->ctrl->nc, r.buf);
	if (im)
		aisio_extmap_free(&im->map);
	free(im);
	return err;
}

static int map_image(struct homid_client *cl, const char *path, struct ext_entry *tmp)
{
	struct aisio_runs_file rf;
	struct ext_image *im = NULL;
	char where[64];
	int err, exp;

	exp = homid_ublk_ns_exported(cl->ctrl, cl->ns);
	if (exp)
		return aisio_err(-EBUSY, "%s namespace %u is exported as /dev/ublkb%d, so the kernel "
				 "may have its file system mounted: ask for the mounted path",
				 cl->ctrl->name, cl->ns->nsid, exp - 1);
	err = image_get(cl, &im);
	if (err)
		return err;
	snprintf(where, sizeof(where), "%s namespace %u", cl->ctrl->name, cl->ns->nsid);
	err = aisio_runs_lookup(&im->map, path, cl->ns->nlbas, cl->ns->lba_shift, where,
				&rf);
	if (err)
		return err;
	memset(tmp, 0, sizeof(*tmp));
	tmp->gen = im->gen;
	tmp->ino = rf.ino;
	tmp->size = rf.size;
	tmp->blksize = im->map.blksize;
	tmp->runs = rf.runs;
	tmp->nruns = rf.nruns;
	return 0;
}

/* ---- requests ----------------------------------------------------------------------- */

/* Every run a client may read from the device must lie inside its grant. */
static int grant_check(const struct homid_client *cl, const struct ext_entry *e, const char *path)
{
	const struct homid_grant *g = &cl->grant;
	uint64_t first = g->lba_first, end, lbs = (uint64_t)1 << cl->ns->lba_shift;

	end = g->lba_count && g->lba_count < cl->ns->nlbas - first ? first + g->lba_count
								    : cl->ns->nlbas;
	if (g->nsid && g->nsid != cl->ns->nsid)
		return aisio_err(-EACCES, "namespace %u is not granted to uid %u", cl->ns->nsid,
				 cl->uid);
	for (uint32_t i = 0; i < e->nruns; i++) {
		const struct aisio_file_run *r = &e->runs[i];
		uint64_t n = (r->len + lbs - 1) / lbs;

		if (r->flags & AISIO_RUNS_NO_LBA)
			continue;
		if (r->lba < first || r->lba >= end || n > end - r->lba)
			return aisio_err(-EACCES, "%s: data at LBAs %llu+%llu lies outside the LBAs "
					 "granted to uid %u (%llu+%llu, %s)", path,
					 (unsigned long long)r->lba, (unsigned long long)n, cl->uid,
					 (unsigned long long)first, (unsigned long long)(end - first),
					 g->rule);
	}
	return 0;
}

static int req_file_map(struct homid_client *cl, const struct aisio_homi_file_map *r, void *reply,
			size_t *rlen)
{
	struct aisio_homi_file_map_reply *mr = reply;
	struct aisio_homi_run *out = (struct aisio_homi_run *)(mr + 1);
	struct ext_entry tmp, *e = NULL;
	int cached = 0, err;
	uint32_t i, n = 0;

	if (r->version != AISIO_HOMI_FILE_VERSION)
		return aisio_err(-EPROTONOSUPPORT, "FILE_MAP layout version %u; this homid speaks %u",
				 r->version, AISIO_HOMI_FILE_VERSION);
	if (!memchr(r->path, 0, sizeof(r->path)))
		return aisio_err(-ENAMETOOLONG, "the path is not NUL-terminated within %d bytes",
				 AISIO_HOMI_PATH_MAX);
	if (!r->path[0])
		return aisio_err(-EINVAL, "empty path");
	if (r->where == AISIO_HOMI_FILE_MOUNTED) {
		err = map_mounted(cl, r->path, &e, &cached);
	} else if (r->where == AISIO_HOMI_FILE_IMAGE) {
		err = map_image(cl, r->path, &tmp);
		e = &tmp;
	} else {
		return aisio_err(-EINVAL, "where = %u: use 1 (a mounted file) or 2 (a file inside the "
				 "namespace's unmounted XFS)", r->where);
	}
	if (err)
		return err;
	err = grant_check(cl, e, r->path);
	if (err)
		goto out;
	memset(mr, 0, sizeof(*mr));
	mr->version = AISIO_HOMI_FILE_VERSION;
	mr->where = r->where;
	mr->gen = e->gen;
	mr->size = e->size;
	mr->ino = e->ino;
	mr->nsid = cl->ns->nsid;
	mr->lba_shift = cl->ns->lba_shift;
	mr->blksize = e->blksize;
	mr->flags = (r->where == AISIO_HOMI_FILE_IMAGE ? AISIO_HOMI_FILE_F_STATIC : 0) |
		    (cached ? AISIO_HOMI_FILE_F_CACHED : 0);
	for (i = 0; i < e->nruns && e->runs[i].off + e->runs[i].len <= r->off; i++)
		;
	for (; i < e->nruns && n < AISIO_HOMI_FILE_RUNS_MAX; i++)
		memcpy(&out[n++], &e->runs[i], sizeof(*out)); /* the same layout (src/file/file.c) */
	if (i < e->nruns) {
		mr->flags |= AISIO_HOMI_FILE_F_MORE;
		mr->next_off = e->runs[i].off;
	}
	mr->nruns = n;
	*rlen = sizeof(*mr) + (size_t)n * sizeof(*out);
	LOG_DEBUG("extent: pid %d uid %u mapped %s: %u run(s) from %llu, gen %llu%s", cl->pid,
		  cl->uid, r->path, n, (unsigned long long)r->off, (unsigned long long)e->gen,
		  cached ? " (cached)" : "");
out:
	if (e == &tmp)
		free(tmp.runs);
	return err;
}

static int req_file_check(const struct aisio_homi_file_check *r)
{
	homid_extent_drain();
	for (struct ext_entry *e = X.entries; e; e = e->next)
		if (e->gen == r->gen)
			return 0;
	for (struct ext_image *im = X.images; im; im = im->next)
		if (im->gen == r->gen)
			return 0;
	return aisio_err(-ESTALE, "the file changed since mapping %llu was made (or homid let it "
			 "go): map it again", (unsigned long long)r->gen);
}

int homid_extent_request(struct homid *h, struct homid_client *cl, uint16_t type, const void *body,
			 void *reply, size_t *rlen)
{
	(void)h;
	*rlen = 0;
	if (!cl->ctrl)
		return aisio_err(-ENOTCONN, "attach to a controller first (ATTACH)");
	if (type == AISIO_HOMI_FILE_MAP)
		return req_file_map(cl, body, reply, rlen);
	return req_file_check(body);
}
