/* SPDX-License-Identifier: MIT */
/*
 * Kernel paths: NVMe I/O commands on a file or block device, and errno
 * values turned into statuses with messages that name the cause.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "io/kpath.h"
#include "util/err.h"

static uint64_t io_slba(const struct aisio_io *io)
{
	return aisio_le32_to_cpu(io->cmd.cdw10) | (uint64_t)aisio_le32_to_cpu(io->cmd.cdw11) << 32;
}

static uint32_t io_nlb(const struct aisio_io *io)
{
	return (aisio_le32_to_cpu(io->cmd.cdw12) & 0xffff) + 1;
}

static int ns_ok(struct aisio_dev *dev, const struct aisio_io *io)
{
	uint32_t nsid = aisio_le32_to_cpu(io->cmd.nsid);

	if (nsid == dev->geo.nsid || nsid == 0xffffffffu)
		return 0;
	return aisio_err(AISIO_NVME_SC_INVALID_NS, "%s: namespace %u does not exist (this device "
			 "has namespace %u)", dev->uri, nsid, dev->geo.nsid);
}

static int range_ok(struct aisio_dev *dev, uint64_t slba, uint64_t nlb)
{
	if (slba < dev->geo.nlbas && nlb <= dev->geo.nlbas - slba)
		return 0;
	return aisio_err(AISIO_NVME_SC_LBA_RANGE, "%s: LBA %llu + %llu is beyond the end of the "
			 "namespace (%llu LBAs)", dev->uri, (unsigned long long)slba,
			 (unsigned long long)nlb, (unsigned long long)dev->geo.nlbas);
}

int aisio_kfile_check_rw(struct aisio_dev *dev, const struct aisio_io *io, off_t *off, size_t *len)
{
	uint32_t shift = (uint32_t)__builtin_ctz(dev->geo.lba_size);
	uint64_t slba = io_slba(io);
	uint32_t nlb = io_nlb(io);
	size_t bytes;
	int err;

	err = ns_ok(dev, io);
	if (!err)
		err = range_ok(dev, slba, nlb);
	if (err)
		return err;
	bytes = (size_t)nlb << shift;
	if (!io->buf || io->len < bytes)
		return aisio_err(-EINVAL, "%s: %s of %u LBAs needs a %zu-byte buffer, got %u bytes",
				 dev->uri, aisio_nvme_opc_str(io->cmd.opc, 0), nlb, bytes,
				 io->buf ? io->len : 0);
	*off = (off_t)(slba << shift);
	*len = bytes;
	return 0;
}

/* Did the device behind the file go away? Its path or sysfs node is gone. */
static int vanished(struct aisio_kfile *kf)
{
	struct stat st;
	char p[64];

	if (stat(kf->path, &st))
		return 1;
	if (!kf->is_blk && !kf->is_chr)
		return 0;
	snprintf(p, sizeof(p), "/sys/dev/%s/%u:%u", kf->is_blk ? "block" : "char",
		 major(st.st_rdev), minor(st.st_rdev));
	return access(p, F_OK) != 0;
}

int aisio_kfile_ioerr(struct aisio_dev *dev, struct aisio_kfile *kf, int err, const char *what,
		      off_t off, size_t len, const void *buf)
{
	/* A device that went away fails commands with whatever errno its driver
	 * picks (ENODEV, ENXIO, EIO, EINVAL for a dead namespace): name the cause. */
	if ((kf->is_blk || kf->is_chr || err == -ENODEV || err == -ENXIO || err == -EIO) &&
	    vanished(kf))
		return aisio_err(-ENODEV, "%s: %s failed: the device %s disappeared (%s)", dev->uri,
				 what, kf->path, strerror(-err));
	switch (err) {
	case -EINVAL:
		if (kf->direct && (((uintptr_t)buf | (uintptr_t)off | len) & (dev->geo.lba_size - 1)))
			return aisio_err(err, "%s: O_DIRECT %s failed with EINVAL: buffer %p, length %zu "
					 "and offset %lld must be multiples of the %u-byte logical "
					 "block size (allocate buffers with aisio_buf_alloc)", dev->uri,
					 what, buf, len, (long long)off, dev->geo.lba_size);
		break;
	case -EBADF:
	case -EACCES:
	case -EPERM:
	case -EROFS:
		if (kf->rdonly)
			return aisio_err(-EACCES, "%s: %s refused: %s was opened read-only (no write "
					 "permission)", dev->uri, what, kf->path);
		return aisio_err(-EACCES, "%s: %s refused: permission denied on %s", dev->uri, what,
				 kf->path);
	case -ENODEV:
	case -ENXIO:
	case -ESHUTDOWN:
		return aisio_err(-ENODEV, "%s: %s failed: the device %s disappeared (%s)",
				 dev->uri, what, kf->path, strerror(-err));
	case -EIO:
		return aisio_err(err, "%s: I/O error on %s at offset %lld (%zu bytes); see the "
				 "kernel log", dev->uri, what, (long long)off, len);
	case -EOPNOTSUPP:
		return aisio_err(err, "%s: %s is not supported on %s (IOPOLL needs O_DIRECT on a "
				 "device with poll queues)", dev->uri, what, kf->path);
	case -ENOSPC:
		return aisio_err(err, "%s: %s: no space left on the file system holding %s", dev->uri,
				 what, kf->path);
	default:
		break;
	}
	return aisio_err(err, "%s: %s at offset %lld (%zu bytes) failed: %s", dev->uri, what,
			 (long long)off, len, strerror(-err));
}

int aisio_kfile_rw_status(struct aisio_dev *dev, struct aisio_kfile *kf, const struct aisio_io *io,
			  off_t off, size_t len, long long res)
{
	int write = io->cmd.opc == AISIO_NVME_NVM_WRITE;
	struct stat st;

	if (res == (long long)len)
		return 0;
	if (res < 0)
		return aisio_kfile_ioerr(dev, kf, (int)res, write ? "write" : "read", off, len, io->buf);
	if (write)
		return aisio_err(-ENOSPC, "%s: short write at offset %lld: %lld of %zu bytes "
				 "(file system full?)", dev->uri, (long long)off, res, len);
	if (!fstat(kf->fd, &st) && !kf->is_blk && st.st_size < off + (off_t)len)
		return aisio_err(-ENODATA, "%s: short read at end of file: %s is now %lld bytes, "
				 "shorter than when it was opened; read of %zu bytes at offset %lld "
				 "returned %lld", dev->uri, kf->path, (long long)st.st_size, len,
				 (long long)off, res);
	if (vanished(kf))
		return aisio_err(-ENODEV, "%s: short read: the device %s disappeared", dev->uri,
				 kf->path);
	return aisio_err(-EIO, "%s: short read at offset %lld: %lld of %zu bytes", dev->uri,
			 (long long)off, res, len);
}

/* Full pread/pwrite, restarting on EINTR; returns bytes or -errno. */
static long long xfer(int fd, int write, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write ? pwrite(fd, (char *)buf + done, len - done, off + (off_t)done)
				  : pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return done ? (long long)done : -errno;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (long long)done;
}

static int do_rw(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_io *io)
{
	int write = io->cmd.opc == AISIO_NVME_NVM_WRITE;
	off_t off;
	size_t len;
	int err;

	err = aisio_kfile_check_rw(dev, io, &off, &len);
	if (err)
		return err;
	if (write && kf->rdonly)
		return aisio_kfile_ioerr(dev, kf, -EBADF, "write", off, len, io->buf);
	return aisio_kfile_rw_status(dev, kf, io, off, len, xfer(kf->fd, write, io->buf, len, off));
}

static int do_compare(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_io *io)
{
	void *tmp;
	off_t off;
	size_t len;
	int err;

	err = aisio_kfile_check_rw(dev, io, &off, &len);
	if (err)
		return err;
	tmp = aisio_kfile_buf_alloc(dev, len);
	if (!tmp)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_kfile_rw_status(dev, kf, io, off, len, xfer(kf->fd, 0, tmp, len, off));
	if (!err && memcmp(tmp, io->buf, len))
		err = aisio_err(AISIO_NVME_SC_COMPARE_FAILED, "%s: compare failed at offset %lld",
				dev->uri, (long long)off);
	free(tmp);
	return err;
}

/* Zero (or deallocate) bytes [off, off+len): fallocate where the file system can. */
static int zero_range(struct aisio_dev *dev, struct aisio_kfile *kf, off_t off, off_t len,
		      int dealloc)
{
	int mode = dealloc ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE : FALLOC_FL_ZERO_RANGE;
	static const char zeros[65536];

	if (kf->rdonly)
		return aisio_kfile_ioerr(dev, kf, -EBADF, "write zeroes", off, (size_t)len, NULL);
	if (!fallocate(kf->fd, mode, off, len))
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL)
		return aisio_kfile_ioerr(dev, kf, -errno, dealloc ? "deallocate" : "write zeroes",
					 off, (size_t)len, NULL);
	if (dealloc && !fallocate(kf->fd, FALLOC_FL_ZERO_RANGE, off, len))
		return 0;
	if (kf->direct)
		return aisio_err(-EOPNOTSUPP, "%s: %s cannot zero a range without fallocate under "
				 "O_DIRECT", dev->uri, kf->path);
	for (off_t o = 0; o < len;) {
		size_t n = (size_t)(len - o) < sizeof(zeros) ? (size_t)(len - o) : sizeof(zeros);
		long long r = xfer(kf->fd, 1, (void *)zeros, n, off + o);
		if (r != (long long)n)
			return aisio_kfile_ioerr(dev, kf, r < 0 ? (int)r : -ENOSPC, "write zeroes",
						 off + o, n, zeros);
		o += (off_t)n;
	}
	return 0;
}

static int do_write_zeroes(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_io *io)
{
	uint64_t slba = io_slba(io);
	uint32_t nlb = io_nlb(io);
	int err = ns_ok(dev, io);

	if (!err)
		err = range_ok(dev, slba, nlb);
	if (err)
		return err;
	return zero_range(dev, kf, (off_t)(slba << kf->lba_shift), (off_t)nlb << kf->lba_shift,
			  !!(aisio_le32_to_cpu(io->cmd.cdw12) & AISIO_NVME_WZ_DEAC));
}

static int do_dsm(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_io *io)
{
	const struct aisio_nvme_dsm_range *r = io->buf;
	uint32_t nr = (aisio_le32_to_cpu(io->cmd.cdw10) & 0xff) + 1;
	int err = ns_ok(dev, io);

	if (err)
		return err;
	if (!r || io->len < nr * sizeof(*r))
		return aisio_err(-EINVAL, "%s: dataset management with %u ranges needs a %zu-byte "
				 "buffer", dev->uri, nr, nr * sizeof(*r));
	if (!(aisio_le32_to_cpu(io->cmd.cdw11) & AISIO_NVME_DSM_AD))
		return 0; /* only hints: nothing to do */
	for (uint32_t i = 0; i < nr; i++) {
		uint64_t slba = aisio_le64_to_cpu(r[i].slba);
		uint32_t nlb = aisio_le32_to_cpu(r[i].nlb);

		if (!nlb)
			continue;
		err = range_ok(dev, slba, nlb);
		if (!err)
			err = zero_range(dev, kf, (off_t)(slba << kf->lba_shift),
					 (off_t)nlb << kf->lba_shift, 1);
		if (err)
			return err;
	}
	return 0;
}

int aisio_kfile_exec(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_io *io)
{
	switch (io->cmd.opc) {
	case AISIO_NVME_NVM_READ:
	case AISIO_NVME_NVM_WRITE:
		return do_rw(dev, kf, io);
	case AISIO_NVME_NVM_FLUSH:
		if (fdatasync(kf->fd))
			return aisio_kfile_ioerr(dev, kf, -errno, "flush (fdatasync)", 0, 0, NULL);
		return 0;
	case AISIO_NVME_NVM_WRITE_ZEROES:
		return do_write_zeroes(dev, kf, io);
	case AISIO_NVME_NVM_DSM:
		return do_dsm(dev, kf, io);
	case AISIO_NVME_NVM_COMPARE:
		return do_compare(dev, kf, io);
	default:
		return aisio_err(AISIO_NVME_SC_INVALID_OPCODE, "%s: opcode 0x%02x (%s) is not "
				 "supported on a file by the %s backend", dev->uri, io->cmd.opc,
				 aisio_nvme_opc_str(io->cmd.opc, 0), kf->be);
	}
}
