/* SPDX-License-Identifier: MIT */
/*
 * consumer URI: a program as a user writes it, built by tests/install/lib.sh
 * against an installed libaisio (headers, pkg-config file and shared library
 * under an install root), never against the source tree.
 *
 * On URI (a device model, emu:SIZE) it writes NCMD chunks of the dataset
 * pattern (aisio/pattern.h) with one submit, reads them back in reverse
 * order into other buffers with one submit, and checks every byte. Then the
 * error paths: a read past the end of the namespace must complete with an
 * NVMe status (LBA Out of Range) and a malformed URI must be refused with
 * -EINVAL and a message. Exit 0 when all of that holds, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <aisio/aisio.h>
#include <aisio/pattern.h>

#define NCMD 16
#define CHUNK (16u * 1024)
#define BASE (64u * 1024) /* byte offset of the first chunk */

struct tally {
	int done;
	int failed;
};

static void on_done(struct aisio_io *io, void *arg)
{
	struct tally *t = arg;

	t->done++;
	if (io->status) {
		fprintf(stderr, "consumer: command at LBA %llu: %s\n",
			(unsigned long long)(io->cmd.cdw10 | (uint64_t)io->cmd.cdw11 << 32),
			aisio_status_str(io->status));
		t->failed++;
	}
}

/* Prepares NCMD reads or writes of CHUNK bytes (in @order), submits them at once, waits. */
static int batch(struct aisio_queue *q, const struct aisio_geo *geo, int write, char **bufs,
		 const int *order)
{
	struct tally t = { 0 };
	int n;

	for (int i = 0; i < NCMD; i++) {
		int c = order[i];
		uint64_t slba = (BASE + (uint64_t)c * CHUNK) / geo->lba_size;
		uint32_t nlb = CHUNK / geo->lba_size;
		struct aisio_io *io = aisio_queue_get_io(q);

		if (!io) {
			fprintf(stderr, "consumer: queue full after %d commands\n", i);
			return -1;
		}
		if (write)
			aisio_prep_write(io, geo->nsid, slba, nlb, bufs[c], CHUNK);
		else
			aisio_prep_read(io, geo->nsid, slba, nlb, bufs[c], CHUNK);
		aisio_io_set_cb(io, on_done, &t);
	}
	n = aisio_queue_submit(q);
	if (n != NCMD) {
		fprintf(stderr, "consumer: submit returned %d, not %d: %s\n", n, NCMD, aisio_errmsg());
		return -1;
	}
	if (aisio_queue_wait(q)) {
		fprintf(stderr, "consumer: wait: %s\n", aisio_errmsg());
		return -1;
	}
	if (t.done != NCMD || t.failed) {
		fprintf(stderr, "consumer: %s: %d of %d completed, %d failed\n",
			write ? "write" : "read", t.done, NCMD, t.failed);
		return -1;
	}
	return 0;
}

static int check_errors(struct aisio_dev *dev, struct aisio_queue *q, const struct aisio_geo *geo,
			char *buf)
{
	struct aisio_dev *bad = NULL;
	struct aisio_io *io = aisio_queue_get_io(q);
	int st;

	/* 8 LBAs from the last one: past the end of the namespace. A slot
	 * keeps the callback of its last use: clear it. */
	aisio_prep_read(io, geo->nsid, geo->nlbas - 1, 8, buf, 8 * geo->lba_size);
	aisio_io_set_cb(io, NULL, NULL);
	st = aisio_io_sync(io);
	if (st != AISIO_NVME_SC_LBA_RANGE) {
		fprintf(stderr, "consumer: read past the end: status %d (%s), not LBA Out of Range\n",
			st, aisio_status_str(st));
		return -1;
	}
	printf("read past the end: %s (as expected)\n", aisio_status_str(st));

	st = aisio_dev_open("emu:", NULL, &bad);
	if (st != -EINVAL || bad || !aisio_errmsg()[0]) {
		fprintf(stderr, "consumer: open of 'emu:' returned %d (%s), not -EINVAL with a message\n",
			st, aisio_errmsg());
		if (bad)
			aisio_dev_close(bad);
		return -1;
	}
	printf("open 'emu:': %s (as expected)\n", aisio_errmsg());
	(void)dev;
	return 0;
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "emu:16M";
	const uint64_t seed = aisio_pattern_seed("consumer", 8);
	char *wbuf[NCMD] = { 0 }, *rbuf[NCMD] = { 0 };
	int fwd[NCMD], rev[NCMD];
	const struct aisio_geo *geo;
	struct aisio_queue *q = NULL;
	struct aisio_dev *dev;
	int ret = 1;

	if (aisio_dev_open(uri, NULL, &dev)) {
		fprintf(stderr, "consumer: %s\n", aisio_errmsg());
		return 1;
	}
	geo = aisio_dev_geo(dev);
	if (geo->nlbas * geo->lba_size < BASE + NCMD * CHUNK) {
		fprintf(stderr, "consumer: %s is too small for %u bytes\n", uri, BASE + NCMD * CHUNK);
		goto out;
	}
	if (aisio_queue_init(dev, 2 * NCMD, &q)) {
		fprintf(stderr, "consumer: queue: %s\n", aisio_errmsg());
		goto out;
	}
	for (int i = 0; i < NCMD; i++) {
		fwd[i] = i;
		rev[i] = NCMD - 1 - i;
		wbuf[i] = aisio_buf_alloc(dev, CHUNK);
		rbuf[i] = aisio_buf_alloc(dev, CHUNK);
		if (!wbuf[i] || !rbuf[i]) {
			fprintf(stderr, "consumer: out of DMA memory\n");
			goto out;
		}
		aisio_pattern_fill(seed, BASE + (uint64_t)i * CHUNK, wbuf[i], CHUNK);
		memset(rbuf[i], 0xa5, CHUNK);
	}
	if (batch(q, geo, 1, wbuf, fwd) || batch(q, geo, 0, rbuf, rev))
		goto out;
	for (int i = 0; i < NCMD; i++) {
		size_t at = aisio_pattern_check(seed, BASE + (uint64_t)i * CHUNK, rbuf[i], CHUNK);

		if (at != CHUNK) {
			fprintf(stderr, "consumer: chunk %d differs at byte %zu\n", i, at);
			goto out;
		}
	}
	printf("%s (%s): %d x %u bytes written, read back in reverse order, all match\n", uri,
	       geo->backend, NCMD, CHUNK);
	if (check_errors(dev, q, geo, rbuf[0]))
		goto out;
	ret = 0;
out:
	for (int i = 0; i < NCMD; i++) {
		aisio_buf_free(dev, wbuf[i]);
		aisio_buf_free(dev, rbuf[i]);
	}
	if (q)
		aisio_queue_term(q);
	aisio_dev_close(dev);
	return ret;
}
