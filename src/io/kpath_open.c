/* SPDX-License-Identifier: MIT */
/* Kernel paths: open a file, block device or NVMe character device by URI. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/nvme_ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/kpath.h"
#include "util/err.h"
#include "util/size.h"

/* Split file:PATH[,size=SIZE]; @path gets a copy of PATH. */
static int parse_uri(const char *uri, char **path, uint64_t *size)
{
	const char *p = uri;
	const char *opt;
	size_t n;
	int err;

	*size = 0;
	if (!strncmp(p, "file:", 5))
		p += 5;
	opt = strstr(p, ",size=");
	n = opt ? (size_t)(opt - p) : strlen(p);
	if (!n)
		return aisio_err(-EINVAL, "'%s': the path is missing: use file:PATH, e.g. "
				 "file:/var/tmp/aisio.img", uri);
	if (opt) {
		err = aisio_parse_size(opt + 6, size);
		if (err || !*size)
			return aisio_err(-EINVAL, "'%s': bad size '%s': give " AISIO_SIZE_HELP
					 ", greater than 0 and below 16E", uri, opt + 6);
	}
	*path = strndup(p, n);
	return *path ? 0 : aisio_err(-ENOMEM, "out of memory");
}

/* PATH is not there: say so, and how to make it when that makes sense. */
static int no_such(const char *uri, const char *path, uint64_t size, int may_create)
{
	if (!strncmp(path, "/dev/", 5))
		return aisio_err(-ENOENT, "%s: no such device: %s", uri, path);
	if (size && !may_create)
		return aisio_err(-ENOENT, "%s: no such file: %s (size= creates a file only for a "
				 "command that writes and is asked to create it)", uri, path);
	return aisio_err(-ENOENT, "%s: no such file: %s (create it with 'truncate -s 1G %s')", uri,
			 path, path);
}

static int open_target(struct aisio_kfile *kf, const char *uri, uint64_t create_size, int direct)
{
	int flags = O_RDWR | O_CLOEXEC | (direct ? O_DIRECT : 0);
	int err;

	kf->fd = open(kf->path, flags | (create_size ? O_CREAT : 0), 0644);
	if (kf->fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
		kf->fd = open(kf->path, (flags & ~O_RDWR) | O_RDONLY);
		if (kf->fd >= 0)
			kf->rdonly = 1;
		else
			errno = EACCES;
	}
	if (kf->fd >= 0)
		return 0;
	err = -errno;
	switch (err) {
	case -ENOENT:
		return no_such(uri, kf->path, create_size, create_size != 0);
	case -EACCES:
	case -EPERM:
		return aisio_err(-EACCES, "%s: permission denied opening %s (needs read and write "
				 "access: run as root or change its mode)", uri, kf->path);
	case -EINVAL:
		if (direct)
			return aisio_err(err, "%s: O_DIRECT is not supported by the file system holding "
					 "%s (tmpfs?): use buffered I/O", uri, kf->path);
		break;
	case -ENXIO:
	case -ENODEV:
		return aisio_err(-ENODEV, "%s: device %s is not present", uri, kf->path);
	case -EBUSY:
		return aisio_err(err, "%s: %s is busy (held exclusively by another user)", uri, kf->path);
	default:
		break;
	}
	return aisio_err(err, "%s: cannot open %s: %s", uri, kf->path, strerror(-err));
}

static uint32_t ilog2(uint32_t v)
{
	uint32_t s = 0;

	while ((1u << (s + 1)) <= v)
		s++;
	return s;
}

/*
 * Geometry of a regular file: 512-byte LBAs over its current size. A size=
 * larger than the file grows it only when the caller may (AISIO_OPEN_CREATE).
 */
static int geo_file(struct aisio_dev *dev, struct aisio_kfile *kf, const char *uri,
		    uint64_t create_size, int may_grow, const struct stat *st)
{
	uint64_t size = (uint64_t)st->st_size;

	if (create_size > size && !may_grow)
		return aisio_err(-EINVAL, "%s: %s holds %llu bytes, less than the %llu of size=; "
				 "left as it is (only a command that writes grows a file, when "
				 "asked): drop size= to use the file at its size", uri, kf->path,
				 (unsigned long long)size, (unsigned long long)create_size);
	if (create_size > size) {
		if (kf->rdonly)
			return aisio_err(-EACCES, "%s: cannot grow %s to %llu bytes: no write permission",
					 uri, kf->path, (unsigned long long)create_size);
		if (ftruncate(kf->fd, (off_t)create_size))
			return aisio_err(-errno, "%s: cannot grow %s to %llu bytes: %s", uri, kf->path,
					 (unsigned long long)create_size, strerror(errno));
		size = create_size;
	}
	kf->lba_shift = 9;
	dev->geo.lba_size = 512;
	dev->geo.nlbas = size >> 9;
	dev->geo.nsid = 1;
	if (!dev->geo.nlbas)
		return aisio_err(-EINVAL, "%s: %s is smaller than one 512-byte LBA (give it a size: "
				 "'truncate -s 1G %s')", uri, kf->path, kf->path);
	return 0;
}

static int geo_blk(struct aisio_dev *dev, struct aisio_kfile *kf, const char *uri)
{
	uint64_t bytes = 0;
	int ssz = 0;

	if (ioctl(kf->fd, BLKSSZGET, &ssz) || ioctl(kf->fd, BLKGETSIZE64, &bytes) || ssz <= 0)
		return aisio_err(-errno ? -errno : -EIO, "%s: cannot read the geometry of %s: %s", uri,
				 kf->path, strerror(errno));
	kf->lba_shift = ilog2((uint32_t)ssz);
	dev->geo.lba_size = (uint32_t)ssz;
	dev->geo.nlbas = bytes >> kf->lba_shift;
	dev->geo.nsid = 1;
	if (!dev->geo.nlbas)
		return aisio_err(-ENODEV, "%s: %s has no capacity (no medium?)", uri, kf->path);
	return 0;
}

/* An NVMe character device: nsid by ioctl, LBA size and capacity by Identify Namespace. */
static int geo_chr(struct aisio_dev *dev, struct aisio_kfile *kf, const char *uri)
{
	struct aisio_nvme_id_ns *ns;
	struct aisio_nvme_id_ctrl *ctrl;
	struct aisio_nvme_sqe cmd;
	int nsid, err;

	nsid = ioctl(kf->fd, NVME_IOCTL_ID);
	if (nsid <= 0)
		return aisio_err(-ENOTTY, "%s: %s is not an NVMe namespace character device "
				 "(/dev/ngXnY)", uri, kf->path);
	ns = aligned_alloc(4096, sizeof(*ns));
	ctrl = aligned_alloc(4096, sizeof(*ctrl));
	if (!ns || !ctrl) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto out;
	}
	dev->geo.nsid = (uint32_t)nsid;
	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = AISIO_NVME_ADM_IDENTIFY;
	cmd.nsid = (uint32_t)nsid;
	cmd.cdw10 = AISIO_NVME_CNS_NS;
	err = aisio_kfile_admin(dev, kf, &cmd, ns, sizeof(*ns), NULL);
	if (err)
		goto out;
	kf->lba_shift = ns->lbaf[aisio_nvme_id_ns_flbas_index(ns)].lbads;
	dev->geo.lba_size = 1u << kf->lba_shift;
	dev->geo.nlbas = aisio_le64_to_cpu(ns->nsze);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = AISIO_NVME_ADM_IDENTIFY;
	cmd.cdw10 = AISIO_NVME_CNS_CTRL;
	err = aisio_kfile_admin(dev, kf, &cmd, ctrl, sizeof(*ctrl), NULL);
	if (err)
		goto out;
	if (ctrl->mdts)
		dev->geo.max_xfer = 4096u << (ctrl->mdts < 20 ? ctrl->mdts : 20);
	dev->geo.sgl = aisio_nvme_sgls_supported(aisio_le32_to_cpu(ctrl->sgls)) != 0;
out:
	free(ns);
	free(ctrl);
	return err;
}

/* The kernel splits nothing on passthrough: ngXnY pairs with the block
 * device nvmeXnY, whose max_hw_sectors_kb bounds one command. */
static void clamp_max_xfer(struct aisio_dev *dev, const char *path)
{
	const char *base = strrchr(path, '/');
	unsigned kb = 0;
	char p[128];
	FILE *f;

	if (!base || strncmp(base, "/ng", 3))
		return;
	snprintf(p, sizeof(p), "/sys/block/nvme%s/queue/max_hw_sectors_kb", base + 3);
	f = fopen(p, "r");
	if (!f)
		return;
	if (fscanf(f, "%u", &kb) == 1 && kb && (!dev->geo.max_xfer || kb * 1024u < dev->geo.max_xfer))
		dev->geo.max_xfer = kb * 1024u;
	fclose(f);
}

int aisio_kfile_open(struct aisio_dev *dev, struct aisio_kfile *kf, const char *uri,
		     const struct aisio_open_opts *opts, const char *be, int want_chr)
{
	uint64_t create_size;
	int may_create = (opts->flags & AISIO_OPEN_CREATE) != 0;
	struct stat st;
	int err;

	memset(kf, 0, sizeof(*kf));
	kf->fd = -1;
	kf->be = be;
	err = parse_uri(uri, &kf->path, &create_size);
	if (err)
		return err;
	if (stat(kf->path, &st) == 0) {
		kf->is_blk = S_ISBLK(st.st_mode);
		kf->is_chr = S_ISCHR(st.st_mode);
		if (kf->is_chr && !want_chr) {
			err = aisio_err(-EINVAL, "%s: %s is a character device; the %s backend needs a "
					"file or block device (use uring_cmd for /dev/ngXnY)", uri,
					kf->path, be);
			goto err_free;
		}
		if (want_chr && !kf->is_chr) {
			err = aisio_err(-EINVAL, "%s: the uring_cmd backend needs an NVMe character "
					"device (/dev/ngXnY); %s is not one", uri, kf->path);
			goto err_free;
		}
		if (!kf->is_blk && !kf->is_chr && !S_ISREG(st.st_mode)) {
			err = aisio_err(-EINVAL, "%s: %s is neither a file nor a device", uri, kf->path);
			goto err_free;
		}
	} else if (errno != ENOENT || !create_size || !may_create) {
		err = -errno;
		if (err == -ENOENT)
			err = no_such(uri, kf->path, create_size, may_create);
		else
			err = aisio_err(err, "%s: cannot access %s: %s", uri, kf->path, strerror(-err));
		goto err_free;
	}
	/* O_DIRECT: asked for (> 0), refused (< 0), or by default on block devices. */
	kf->direct = opts->direct > 0 || (opts->direct == 0 && kf->is_blk);
	if (kf->is_chr)
		kf->direct = 0;
	err = open_target(kf, uri, kf->is_blk || kf->is_chr || !may_create ? 0 : create_size,
			  kf->direct);
	if (err)
		goto err_free;
	if (fstat(kf->fd, &st)) {
		err = aisio_err(-errno, "%s: fstat: %s", uri, strerror(errno));
		goto err_close;
	}
	kf->is_blk = S_ISBLK(st.st_mode);
	kf->nvme = (kf->is_blk || kf->is_chr) && ioctl(kf->fd, NVME_IOCTL_ID) > 0;
	if (kf->is_chr)
		err = geo_chr(dev, kf, uri);
	else if (kf->is_blk)
		err = geo_blk(dev, kf, uri);
	else
		err = geo_file(dev, kf, uri, create_size, may_create, &st);
	if (err)
		goto err_close;
	if (kf->nvme && !kf->is_chr)
		dev->geo.nsid = (uint32_t)ioctl(kf->fd, NVME_IOCTL_ID);
	if (kf->is_chr)
		clamp_max_xfer(dev, kf->path);
	dev->geo.max_queues = 4096;
	dev->geo.max_qdepth = 32768;
	dev->geo.buf_align = kf->direct ? 4096 : 8;
	dev->geo.backend = be;
	return 0;

err_close:
	close(kf->fd);
	kf->fd = -1;
err_free:
	free(kf->path);
	kf->path = NULL;
	return err;
}

void aisio_kfile_close(struct aisio_kfile *kf)
{
	if (kf->fd >= 0)
		close(kf->fd);
	kf->fd = -1;
	free(kf->path);
	kf->path = NULL;
}

void *aisio_kfile_buf_alloc(struct aisio_dev *dev, size_t len)
{
	void *p = NULL;

	if (!len)
		len = 1;
	len = (len + 4095) & ~(size_t)4095;
	if (posix_memalign(&p, 4096, len))
		return NULL;
	return p;
}

void aisio_kfile_buf_free(struct aisio_dev *dev, void *buf)
{
	free(buf);
}
