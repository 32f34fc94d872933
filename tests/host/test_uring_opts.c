/* SPDX-License-Identifier: MIT */
/*
 * io_uring options on a file: registered buffers and files (on and off),
 * SQPOLL (skips with 77 where the kernel refuses it) and IOPOLL (really
 * polled where the block queue has poll queues, else a skip naming why).
 * Data written through one setting is read back through another.
 */
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

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

/*
 * The block queue under @path (a block device, or the device holding a
 * file): its queue/io_poll (1: the driver has poll queues, 0: it has none,
 * -1: no block queue, e.g. tmpfs). @name gets the queue's sysfs name.
 */
static int queue_io_poll(const char *path, char *name, size_t namelen)
{
	static const char *const rel[] = { "queue/io_poll", "../queue/io_poll" };
	struct stat st;
	char link[512], attr[600];
	dev_t d;
	ssize_t n;

	snprintf(name, namelen, "?");
	if (stat(path, &st))
		return -1;
	d = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
	snprintf(attr, sizeof(attr), "/sys/dev/block/%u:%u", major(d), minor(d));
	n = readlink(attr, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	snprintf(name, namelen, "%.*s", (int)namelen - 1,
		 strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		FILE *f;
		int v;

		snprintf(attr, sizeof(attr), "/sys/dev/block/%u:%u/%s", major(d), minor(d), rel[i]);
		f = fopen(attr, "r");
		if (!f)
			continue;
		n = fscanf(f, "%d", &v);
		fclose(f);
		if (n == 1)
			return v != 0;
	}
	return -1;
}

/* Interrupts taken so far by NVMe I/O queues (nvmeXqY, Y > 0; /proc/interrupts). */
static long long nvme_io_irqs(void)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[1024];
	long long sum = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *name = strrchr(line, ' '), *p = strchr(line, ':');
		unsigned c, qid;

		if (!name || !p || sscanf(name + 1, "nvme%uq%u", &c, &qid) != 2 || !qid)
			continue;
		for (p++;;) {
			char *e;
			long long v = strtoll(p, &e, 10);

			if (e == p)
				break;
			sum += v;
			p = e;
		}
	}
	fclose(f);
	return sum;
}

#define POLL_IOS 32u

static void pattern(uint8_t *b, uint32_t len, uint32_t i, uint8_t seed)
{
	for (uint32_t j = 0; j < len; j++)
		b[j] = (uint8_t)(seed + i * 7 + j / 512);
}

/* POLL_IOS 4 KiB writes then reads at queue depth 1 on @q; returns how many read back wrong. */
static int iopoll_rw(struct aisio_queue *q, uint32_t lbs, uint64_t slba, uint8_t *buf, uint8_t seed,
		     int write, int *st)
{
	uint8_t want[4096];
	int bad = 0;

	for (uint32_t i = 0; i < POLL_IOS && !*st; i++) {
		uint64_t lba = slba + (uint64_t)i * (4096 / lbs);

		pattern(want, 4096, i, seed);
		if (write)
			memcpy(buf, want, 4096);
		else
			memset(buf, 0, 4096);
		*st = kt_rw(q, write, 1, lba, 4096 / lbs, buf, 4096);
		if (!*st && !write && memcmp(buf, want, 4096))
			bad++;
	}
	return bad;
}

/* Open @uri with @oo and run POLL_IOS writes (@write) or reads of the pattern. */
static int iopoll_pass(const char *uri, struct aisio_open_opts *oo, int write, uint64_t off,
		       uint8_t seed, int *bad)
{
	struct aisio_queue *q;
	struct aisio_dev *dev;
	uint8_t *buf;
	uint32_t lbs;
	int err, st = 0;

	err = aisio_dev_open(uri, oo, &dev);
	if (err)
		return err;
	lbs = aisio_dev_geo(dev)->lba_size;
	err = aisio_queue_init(dev, 4, &q);
	buf = aisio_buf_alloc(dev, 4096);
	if (!err && buf)
		*bad = iopoll_rw(q, lbs, off / lbs, buf, seed, write, &st);
	else
		st = err ? err : -ENOMEM;
	aisio_buf_free(dev, buf);
	if (!err)
		aisio_queue_term(q);
	aisio_dev_close(dev);
	return st;
}

/*
 * IOPOLL for real: O_DIRECT I/O through an IOPOLL ring on a file or block
 * device whose block queue has poll queues (queue/io_poll = 1); data written
 * through the IOPOLL ring reads back through it and through a plain ring. On
 * an NVMe namespace the IOPOLL commands must complete without interrupts on
 * the I/O queues (a polled queue has none). Where IOPOLL cannot poll, the
 * test skips (77) naming why, or with @must (a device named on the command
 * line) fails. Writes 128 KiB at byte @off.
 */
static int iopoll(const char *uri, const char *path, uint64_t off, int must)
{
	struct aisio_open_opts oo = { .be = "io_uring", .poll = 1, .direct = 1 };
	struct aisio_open_opts buffered = { .be = "io_uring", .poll = 1 };
	struct aisio_open_opts plain = { .be = "io_uring", .direct = 1, .fixed = -1 };
	struct aisio_dev *dev;
	char qname[128];
	long long irq0, irq1;
	int err, bad = 0, polls;

	if (!must) {
		/* A file opens buffered unless asked (a block device always O_DIRECT). */
		err = aisio_dev_open(uri, &buffered, &dev);
		KT_CHECK(err == -EINVAL, "IOPOLL without O_DIRECT refused: %d", err);
		KT_MSG_HAS("IOPOLL needs O_DIRECT");
		if (!err)
			aisio_dev_close(dev);
	}

	polls = queue_io_poll(path, qname, sizeof(qname));
	if (polls != 1) {
		const char *why = polls < 0 ? "is not on a block device" :
					      "is on a block queue without poll queues (queue/io_poll = 0)";

		if (must) {
			KT_CHECK(0, "IOPOLL: %s (%s) %s; boot the guest with nvme.poll_queues=N", path,
				 qname, why);
			return 1;
		}
		printf("skip IOPOLL: %s (%s) %s, so an IOPOLL ring cannot poll there; the vm suite "
		       "tests IOPOLL on an NVMe namespace with poll queues (vm_kpath)\n",
		       path, qname, why);
		return 77;
	}
	irq0 = nvme_io_irqs();
	err = iopoll_pass(uri, &oo, 1, off, 30, &bad);
	if (!err)
		err = iopoll_pass(uri, &oo, 0, off, 30, &bad);
	irq1 = nvme_io_irqs();
	if (err == -EOPNOTSUPP && !must) {
		printf("skip IOPOLL: %s (%s) has poll queues but the kernel refused IOPOLL: %s\n",
		       path, qname, aisio_errmsg());
		return 77;
	}
	KT_CHECK(err == 0, "%u writes and reads through an IOPOLL ring on %s: %d", POLL_IOS, path,
		 err);
	KT_CHECK(!bad, "%d of %u IOPOLL reads returned wrong data", bad, POLL_IOS);
	if (!strncmp(qname, "nvme", 4)) {
		/* Interrupt-driven completion would take about one per command. */
		KT_CHECK(irq0 >= 0 && irq1 - irq0 < POLL_IOS / 2,
			 "%u IOPOLL commands on %s took %lld I/O queue interrupts: not polled",
			 2 * POLL_IOS, qname, irq1 - irq0);
		printf("IOPOLL on %s: %u commands, %lld I/O queue interrupts\n", qname,
		       2 * POLL_IOS, irq1 - irq0);
	}
	err = iopoll_pass(uri, &plain, 0, off, 30, &bad);
	KT_CHECK(err == 0 && !bad, "plain O_DIRECT ring reads the IOPOLL ring's data: %d, %d wrong",
		 err, bad);
	return kt_failed ? 1 : 0;
}

/*
 * argv[1]: fixed (registered buffers and files), sqpoll or iopoll;
 * iopoll DEV: IOPOLL on block device DEV, which must support it (the vm
 * suite runs it on an NVMe namespace with poll queues).
 */
int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "fixed";
	char *path, *uri;
	struct aisio_open_opts fixed = { .be = "io_uring" };
	struct aisio_open_opts plain = { .be = "io_uring", .fixed = -1 };
	struct aisio_open_opts direct = { .be = "io_uring", .direct = 1 };
	struct aisio_open_opts sqpoll = { .be = "io_uring", .poll = 2 };
	int err, ret = 0;

	if (!strcmp(mode, "iopoll") && argc > 2) {
		ret = iopoll(argv[2], argv[2], 64ull << 20, 1);
		if (!ret)
			printf("PASS io_uring iopoll on %s\n", argv[2]);
		return ret;
	}
	path = kt_scratch("uring", 8 << 20);
	uri = kt_uri(path);
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
		ret = iopoll(uri, path, 4ull << 20, 0);
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
