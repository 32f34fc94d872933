/* SPDX-License-Identifier: MIT */
/*
 * Kernel paths on a real (QEMU) NVMe namespace, inside the testbed guest.
 *   kpath_nvme URI BACKEND errors    LBA range, misaligned O_DIRECT, permission
 *   kpath_nvme URI BACKEND commands  Flush, Write Zeroes, DSM, Compare, a vendor opcode
 *   kpath_nvme URI BACKEND gone BDF  unbind the controller from nvme under an open device
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include <errno.h>
#include <grp.h>
#include <sys/wait.h>

#include "../host/kt.h"

static struct aisio_dev *open_dev(const char *uri, const char *be, struct aisio_queue **q)
{
	struct aisio_open_opts oo = { .be = be };
	struct aisio_dev *dev;

	if (aisio_dev_open(uri, &oo, &dev)) {
		fprintf(stderr, "FAIL open %s (%s): %s\n", uri, be, aisio_errmsg());
		exit(1);
	}
	if (aisio_queue_init(dev, 8, q)) {
		fprintf(stderr, "FAIL queue on %s: %s\n", uri, aisio_errmsg());
		exit(1);
	}
	return dev;
}

static void errors(const char *uri, const char *be)
{
	struct aisio_queue *q;
	struct aisio_dev *dev = open_dev(uri, be, &q);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	uint8_t *buf = aisio_buf_alloc(dev, 65536);
	uint32_t nlb = 4096 / g->lba_size;
	int st;

	st = kt_rw(q, 0, g->nsid, g->nlbas - nlb / 2, nlb, buf, 4096);
	KT_CHECK(st == AISIO_NVME_SC_LBA_RANGE, "read past the end: %#x", st);
	st = kt_rw(q, 0, g->nsid, 0, nlb, buf, 4096);
	KT_CHECK(st == 0, "aligned read: %d", st);
	st = kt_rw(q, 1, g->nsid, 0, nlb, buf, 4096);
	KT_CHECK(st == 0, "aligned write: %d", st);
	if (strcmp(be, "uring_cmd")) {
		/* O_DIRECT on the block device: the buffer must be block aligned. */
		st = kt_rw(q, 0, g->nsid, 0, nlb, buf + 1, 4096);
		KT_CHECK(st == -EINVAL, "misaligned O_DIRECT read: %d", st);
		KT_MSG_HAS("O_DIRECT");
	}
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);

	/* Missing permission: a user other than root cannot open the device. */
	pid_t pid = fork();
	if (pid == 0) {
		struct aisio_open_opts oo = { .be = be };

		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(77);
		st = aisio_dev_open(uri, &oo, &dev);
		KT_CHECK(st == -EACCES, "open as nobody: %d", st);
		KT_MSG_HAS("permission denied");
		_exit(kt_failed);
	}
	int ws;
	KT_CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0,
		 "permission check as nobody");
}

static int sync_cmd(struct aisio_queue *q, struct aisio_nvme_sqe *cmd, void *buf, size_t len)
{
	return kt_sync(q, cmd, buf, len);
}

static void commands(const char *uri, const char *be)
{
	struct aisio_queue *q;
	struct aisio_dev *dev = open_dev(uri, be, &q);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	uint8_t *buf = aisio_buf_alloc(dev, 65536);
	struct aisio_nvme_dsm_range *r = aisio_buf_alloc(dev, 4096);
	uint32_t nlb = 16384 / g->lba_size;
	struct aisio_io *io;
	struct aisio_nvme_sqe cmd;
	int st;

	memset(buf, 0x5a, 16384);
	KT_CHECK(kt_rw(q, 1, g->nsid, 64, nlb, buf, 16384) == 0, "write");
	io = aisio_queue_get_io(q);
	aisio_prep_compare(io, g->nsid, 64, nlb, buf, 16384);
	st = aisio_io_sync(io);
	KT_CHECK(st == 0, "compare equal: %#x", st);
	buf[100] ^= 0xff;
	io = aisio_queue_get_io(q);
	aisio_prep_compare(io, g->nsid, 64, nlb, buf, 16384);
	st = aisio_io_sync(io);
	KT_CHECK(st == AISIO_NVME_SC_COMPARE_FAILED, "compare different: %#x", st);
	io = aisio_queue_get_io(q);
	aisio_prep_flush(io, g->nsid);
	KT_CHECK(aisio_io_sync(io) == 0, "flush");
	io = aisio_queue_get_io(q);
	aisio_prep_write_zeroes(io, g->nsid, 64, nlb / 2, 0);
	st = aisio_io_sync(io);
	KT_CHECK(st == 0, "write zeroes: %#x", st);
	memset(buf, 0xee, 16384);
	KT_CHECK(kt_rw(q, 0, g->nsid, 64, nlb, buf, 16384) == 0, "read");
	KT_CHECK(buf[0] == 0 && buf[8191] == 0 && buf[8192] == 0x5a, "zeroes then data: %x %x %x",
		 buf[0], buf[8191], buf[8192]);
	memset(r, 0, 4096);
	r[0].slba = 64;
	r[0].nlb = nlb;
	io = aisio_queue_get_io(q);
	aisio_prep_dsm(io, g->nsid, r, 1, AISIO_NVME_DSM_AD);
	st = aisio_io_sync(io);
	KT_CHECK(st == 0, "dataset management deallocate: %#x", st);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = 0x7f;
	cmd.nsid = g->nsid;
	st = sync_cmd(q, &cmd, NULL, 0);
	KT_CHECK(st == AISIO_NVME_SC_INVALID_OPCODE, "vendor opcode 0x7f: %#x", st);
	aisio_buf_free(dev, buf);
	aisio_buf_free(dev, r);
	aisio_queue_term(q);
	aisio_dev_close(dev);
}

static void gone(const char *uri, const char *be, const char *bdf)
{
	struct aisio_queue *q;
	struct aisio_dev *dev = open_dev(uri, be, &q);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	uint8_t *buf = aisio_buf_alloc(dev, 4096);
	uint32_t nlb = 4096 / g->lba_size;
	char cmd[256];
	int st;

	KT_CHECK(kt_rw(q, 0, g->nsid, 0, nlb, buf, 4096) == 0, "read before");
	snprintf(cmd, sizeof(cmd), "echo %s > /sys/bus/pci/drivers/nvme/unbind", bdf);
	KT_CHECK(system(cmd) == 0, "unbind %s", bdf);
	st = kt_rw(q, 0, g->nsid, 0, nlb, buf, 4096);
	KT_CHECK(st == -ENODEV, "read after the controller went away: %d", st);
	KT_MSG_HAS("disappeared");
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	snprintf(cmd, sizeof(cmd), "echo %s > /sys/bus/pci/drivers/nvme/bind", bdf);
	KT_CHECK(system(cmd) == 0, "bind %s again", bdf);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: kpath_nvme URI BACKEND errors|commands|gone [BDF]\n");
		return 2;
	}
	if (!strcmp(argv[3], "errors"))
		errors(argv[1], argv[2]);
	else if (!strcmp(argv[3], "commands"))
		commands(argv[1], argv[2]);
	else if (!strcmp(argv[3], "gone") && argc > 4)
		gone(argv[1], argv[2], argv[4]);
	else
		return 2;
	if (!kt_failed)
		printf("PASS %s %s %s\n", argv[3], argv[1], argv[2]);
	return kt_failed;
}
