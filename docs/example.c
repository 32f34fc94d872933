/* SPDX-License-Identifier: MIT */
/*
 * example: write one block, read it back asynchronously, compare.
 *
 *   example [URI]      URI defaults to emu:64M (the built-in device model);
 *                      try file:/tmp/x,size=64M or /dev/nvme0n1 as well.
 *
 * The same code runs on every path; only the URI changes.
 */
#include <stdio.h>
#include <string.h>

#include <aisio/aisio.h>

struct done {
	int completed;
	int status;
};

static void on_complete(struct aisio_io *io, void *arg)
{
	struct done *d = arg;

	d->completed++;
	d->status = io->status;
}

int main(int argc, char **argv)
{
	const char *uri = argc > 1 ? argv[1] : "emu:64M";
	const struct aisio_geo *geo;
	struct aisio_queue *q;
	struct aisio_dev *dev;
	struct aisio_io *io;
	struct done d = { 0 };
	char *wbuf, *rbuf;
	uint32_t nlb;
	int ret = 1;

	/* It writes, so file:PATH,size=SIZE may create or grow PATH. */
	struct aisio_open_opts opts = { .flags = AISIO_OPEN_CREATE };

	if (aisio_dev_open(uri, &opts, &dev)) {
		fprintf(stderr, "example: %s\n", aisio_errmsg());
		return 1;
	}
	geo = aisio_dev_geo(dev);
	printf("%s: backend %s, namespace %u, %llu LBAs of %u bytes\n", uri, geo->backend, geo->nsid,
	       (unsigned long long)geo->nlbas, geo->lba_size);

	if (aisio_queue_init(dev, 16, &q)) {
		fprintf(stderr, "example: %s\n", aisio_errmsg());
		goto out_dev;
	}
	/* Buffers from the device: DMA-able for user-space drivers, aligned for O_DIRECT. */
	wbuf = aisio_buf_alloc(dev, 4096);
	rbuf = aisio_buf_alloc(dev, 4096);
	if (!wbuf || !rbuf)
		goto out_q;
	nlb = 4096 / geo->lba_size;
	snprintf(wbuf, 4096, "hello from aisio over %s", geo->backend);

	/* Synchronous write: prepare, then submit and wait in one call. */
	io = aisio_queue_get_io(q);
	aisio_prep_write(io, geo->nsid, 0, nlb, wbuf, 4096);
	if (aisio_io_sync(io)) {
		fprintf(stderr, "example: write: %s\n", aisio_errmsg());
		goto out_q;
	}

	/* Asynchronous read: submit a batch (here of one), reap until it completes. */
	io = aisio_queue_get_io(q);
	aisio_prep_read(io, geo->nsid, 0, nlb, rbuf, 4096);
	aisio_io_set_cb(io, on_complete, &d);
	if (aisio_queue_submit(q) < 0) {
		fprintf(stderr, "example: submit: %s\n", aisio_errmsg());
		goto out_q;
	}
	while (!d.completed)
		if (aisio_queue_reap(q, 0) < 0) {
			fprintf(stderr, "example: reap: %s\n", aisio_errmsg());
			goto out_q;
		}
	if (d.status) {
		/* 0, -errno, or a positive NVMe status: aisio_status_str() names all three. */
		fprintf(stderr, "example: read failed: %s (%s)\n", aisio_status_str(d.status),
			aisio_errmsg());
		goto out_q;
	}
	printf("read back: \"%s\" (%s)\n", rbuf, memcmp(wbuf, rbuf, 4096) ? "MISMATCH" : "match");
	ret = memcmp(wbuf, rbuf, 4096) != 0;
out_q:
	aisio_buf_free(dev, wbuf);
	aisio_buf_free(dev, rbuf);
	aisio_queue_term(q);
out_dev:
	aisio_dev_close(dev);
	return ret;
}
