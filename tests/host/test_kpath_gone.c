/* SPDX-License-Identifier: MIT */
/*
 * A device that disappears under an open file (backend from argv[1]): an
 * ext4 file system on a loop device is shut down (as when its disk is
 * pulled) and lazily unmounted while aisio holds a file on it open. The
 * next read must fail with -ENODEV and a message saying the device
 * disappeared. Needs root, mkfs.ext4 and loop devices; skips otherwise.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "kt.h"

/* EXT4_IOC_SHUTDOWN (same number as XFS_IOC_GOINGDOWN); flag: no log flush. */
#define KT_IOC_SHUTDOWN _IOR('X', 125, uint32_t)
#define KT_GOING_NOLOGFLUSH 2u

static int sh(const char *fmt, const char *a, const char *b)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

int main(int argc, char **argv)
{
	const char *be = argc > 1 ? argv[1] : "psync";
	struct aisio_open_opts oo = { .be = be };
	char *img = kt_scratch("gone-img", 32 << 20);
	char mnt[] = "/tmp/aisio-gone-XXXXXX";
	char file[64], *uri;
	struct aisio_queue *q;
	struct aisio_dev *dev;
	uint32_t flags = KT_GOING_NOLOGFLUSH;
	uint8_t *buf;
	int ret = 77, st, fd;

	if (geteuid() != 0 || !mkdtemp(mnt)) {
		printf("skip: needs root\n");
		goto out_img;
	}
	if (sh("mkfs.ext4 -q -F %s >/dev/null 2>&1%s", img, "")) {
		printf("skip: mkfs.ext4 failed\n");
		goto out_dir;
	}
	if (sh("mount -o loop %s %s 2>/dev/null", img, mnt)) {
		printf("skip: cannot mount an ext4 image on a loop device here\n");
		goto out_dir;
	}
	snprintf(file, sizeof(file), "%s/data", mnt);
	fd = open(file, O_CREAT | O_RDWR, 0644);
	if (fd < 0 || ftruncate(fd, 4 << 20)) {
		printf("skip: cannot create a file on the image\n");
		goto out_umount;
	}
	uri = kt_uri(file);
	ret = 1;
	if (aisio_dev_open(uri, &oo, &dev)) {
		fprintf(stderr, "FAIL open %s: %s\n", uri, aisio_errmsg());
		goto out_uri;
	}
	KT_CHECK(aisio_queue_init(dev, 4, &q) == 0, "queue");
	buf = aisio_buf_alloc(dev, 4096);
	st = kt_rw(q, 0, 1, 0, 8, buf, 4096);
	KT_CHECK(st == 0, "read before: %d", st);

	/* Pull the disk: shut the file system down and detach it from the tree. */
	KT_CHECK(ioctl(fd, KT_IOC_SHUTDOWN, &flags) == 0, "shutdown ioctl: %s", strerror(errno));
	close(fd);
	KT_CHECK(sh("umount -l %s%s", mnt, "") == 0, "lazy umount");

	st = kt_rw(q, 0, 1, 8, 8, buf, 4096);
	KT_CHECK(st == -ENODEV, "read after the device went away: %d", st);
	KT_MSG_HAS("disappeared");
	st = kt_rw(q, 1, 1, 8, 8, buf, 4096);
	KT_CHECK(st == -ENODEV, "write after the device went away: %d", st);
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	ret = kt_failed;
	if (!ret)
		printf("PASS device disappears on %s\n", be);
out_uri:
	free(uri);
out_umount:
	sh("umount %s 2>/dev/null%s", mnt, "");
out_dir:
	rmdir(mnt);
out_img:
	unlink(img);
	free(img);
	return ret;
}
