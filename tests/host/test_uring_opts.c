/* SPDX-License-Identifier: MIT */
/*
 * io_uring options on a file: registered buffers and files (on and off),
 * SQPOLL (skips with 77 where the kernel refuses it) and IOPOLL (works, or
 * fails with a message naming IOPOLL). Data written through one setting is
 * read back through another.
 */
#include <errno.h>

#include "kt.h"

#define NLB 64u
#define LEN (NLB * 512u)

static void count_fail(struct aisio_io *io, void *arg)
{
	if (io->status)
		++*(int *)arg;
}

/* Write LBAs [slba, slba + 8 * NLB) with @seed, or read them and check. */
static int pass(const char *uri, struct aisio_open_opts *oo, int write, uint64_t slba, uint8_t seed)
{
	struct aisio_queue *q;
	struct aisio_dev *dev;
	uint8_t *buf;
	int err, bad = 0, failed = 0;

	err = aisio_dev_open(uri, oo, &dev);
	if (err)
		return err;
	err = aisio_queue_init(dev, 16, &q);
	if (err) {
		aisio_dev_close(dev);
		return err;
	}
	buf = aisio_buf_alloc(dev, 8 * LEN);
	for (uint32_t i = 0; i < 8; i++) {
		struct aisio_io *io = aisio_queue_get_io(q);
		uint8_t *b = buf + i * LEN;

		if (write) {
			memset(b, seed + i, LEN);
			aisio_prep_write(io, 1, slba + i * NLB, NLB, b, LEN);
		} else {
			memset(b, 0, LEN);
			aisio_prep_read(io, 1, slba + i * NLB, NLB, b, LEN);
		}
		aisio_io_set_cb(io, count_fail, &failed);
	}
	err = aisio_queue_submit(q);
	KT_CHECK(err == 8, "submit 8: %d", err);
	KT_CHECK(aisio_queue_wait(q) == 0, "wait");
	KT_CHECK(!failed, "%d commands failed", failed);
	for (uint32_t i = 0; !write && i < 8; i++)
		for (uint32_t j = 0; j < LEN; j++)
			if (buf[i * LEN + j] != (uint8_t)(seed + i)) {
				bad = 1;
				break;
			}
	KT_CHECK(!bad, "data read back through poll=%d fixed=%d direct=%d", oo->poll, oo->fixed,
		 oo->direct);
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	return 0;
}

/* IOPOLL: works on a device with poll queues, else each read fails naming IOPOLL. */
static void iopoll(const char *uri)
{
	struct aisio_open_opts oo = { .be = "io_uring", .poll = 1, .direct = 1 };
	struct aisio_open_opts buffered = { .be = "io_uring", .poll = 1 };
	struct aisio_queue *q;
	struct aisio_dev *dev;
	uint8_t *buf;
	int err, st;

	err = aisio_dev_open(uri, &buffered, &dev);
	KT_CHECK(err == -EINVAL, "IOPOLL without O_DIRECT refused: %d", err);
	KT_MSG_HAS("IOPOLL needs O_DIRECT");
	err = aisio_dev_open(uri, &oo, &dev);
	if (err) {
		printf("IOPOLL: %s\n", aisio_errmsg());
		return;
	}
	KT_CHECK(aisio_queue_init(dev, 4, &q) == 0, "queue");
	buf = aisio_buf_alloc(dev, LEN);
	st = kt_rw(q, 0, 1, 2048, NLB, buf, LEN);
	if (st)
		KT_MSG_HAS("IOPOLL");
	else
		KT_CHECK(buf[0] == 20 && buf[LEN - 1] == 20, "IOPOLL read data");
	printf("IOPOLL on this file: %s\n", st ? aisio_errmsg() : "works");
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
}

/* argv[1]: fixed (registered buffers and files), sqpoll or iopoll. */
int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fixed";
	char *path = kt_scratch("uring", 8 << 20);
	char *uri = kt_uri(path);
	struct aisio_open_opts fixed = { .be = "io_uring" };
	struct aisio_open_opts plain = { .be = "io_uring", .fixed = -1 };
	struct aisio_open_opts direct = { .be = "io_uring", .direct = 1 };
	struct aisio_open_opts sqpoll = { .be = "io_uring", .poll = 2 };
	int err, ret = 0;

	if (!strcmp(mode, "fixed")) {
		/* Registered, then plain, then O_DIRECT: each reads the other's data. */
		KT_CHECK(pass(uri, &fixed, 1, 0, 1) == 0, "write with fixed buffers");
		KT_CHECK(pass(uri, &plain, 0, 0, 1) == 0, "read without");
		KT_CHECK(pass(uri, &plain, 1, 1024, 9) == 0, "write without fixed buffers");
		KT_CHECK(pass(uri, &fixed, 0, 1024, 9) == 0, "read with");
		err = pass(uri, &direct, 0, 1024, 9);
		KT_CHECK(err == 0 || (err == -EINVAL && strstr(aisio_errmsg(), "O_DIRECT")),
			 "O_DIRECT: %d", err);
	} else if (!strcmp(mode, "sqpoll")) {
		err = pass(uri, &sqpoll, 1, 2048, 20);
		if (err == -EPERM) {
			printf("skip SQPOLL: %s\n", aisio_errmsg());
			ret = 77;
		} else {
			KT_CHECK(err == 0, "SQPOLL write: %d", err);
			KT_CHECK(pass(uri, &sqpoll, 0, 2048, 20) == 0, "SQPOLL read");
			KT_CHECK(pass(uri, &plain, 0, 2048, 20) == 0, "read SQPOLL's data without");
		}
	} else {
		KT_CHECK(pass(uri, &plain, 1, 2048, 20) == 0, "write");
		iopoll(uri);
	}
	unlink(path);
	free(path);
	free(uri);
	if (kt_failed)
		return 1;
	if (!ret)
		printf("PASS io_uring %s\n", mode);
	return ret;
}
