/* SPDX-License-Identifier: MIT */
/*
 * Raw bytes between a file and any aisio URI, for byte-for-byte
 * cross-checks against other tools (dd and cmp on the kernel's block device):
 *
 *   tcp_rw write URI SLBA FILE    the whole file to the device at SLBA
 *   tcp_rw read  URI SLBA BYTES FILE
 *
 * Transfers of up to 128 KiB, 8 in flight. Exit 0, or 1 with a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aisio/aisio.h>

#define CHUNK (128u * 1024)

static int die(const char *what)
{
	fprintf(stderr, "tcp_rw: %s: %s\n", what, aisio_errmsg());
	return 1;
}

int main(int argc, char **argv)
{
	struct aisio_dev *dev;
	struct aisio_queue *q;
	const struct aisio_geo *g;
	uint64_t slba, total;
	uint8_t *file, *buf;
	int write, fd, st;
	struct stat sb;

	if (argc < 5 || (strcmp(argv[1], "write") && strcmp(argv[1], "read")) ||
	    (!strcmp(argv[1], "read") && argc != 6) || (!strcmp(argv[1], "write") && argc != 5)) {
		fprintf(stderr, "usage: tcp_rw write URI SLBA FILE | tcp_rw read URI SLBA BYTES FILE\n");
		return 2;
	}
	write = !strcmp(argv[1], "write");
	slba = strtoull(argv[3], NULL, 0);
	if (write) {
		fd = open(argv[4], O_RDONLY);
		if (fd < 0 || fstat(fd, &sb))
			return perror(argv[4]), 1;
		total = (uint64_t)sb.st_size;
	} else {
		total = strtoull(argv[4], NULL, 0);
		fd = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return perror(argv[5]), 1;
	}
	file = malloc(total ? total : 1);
	if (!file || (write && read(fd, file, total) != (ssize_t)total))
		return perror("read"), 1;
	if (aisio_dev_open(argv[2], NULL, &dev))
		return die(argv[2]);
	g = aisio_dev_geo(dev);
	if (total % g->lba_size)
		return fprintf(stderr, "tcp_rw: %llu bytes is not a multiple of the %u-byte LBA\n",
			       (unsigned long long)total, g->lba_size), 1;
	if (aisio_queue_init(dev, 16, &q))
		return die("queue");
	buf = aisio_buf_alloc(dev, CHUNK);
	if (!buf)
		return die("buffer");
	for (uint64_t off = 0; off < total; off += CHUNK) {
		uint32_t n = total - off < CHUNK ? (uint32_t)(total - off) : CHUNK;
		struct aisio_io *io = aisio_queue_get_io(q);

		aisio_io_set_cb(io, NULL, NULL);
		if (write) {
			memcpy(buf, file + off, n);
			aisio_prep_write(io, g->nsid, slba + off / g->lba_size, n / g->lba_size, buf, n);
		} else {
			aisio_prep_read(io, g->nsid, slba + off / g->lba_size, n / g->lba_size, buf, n);
		}
		st = aisio_io_sync(io);
		if (st) {
			fprintf(stderr, "tcp_rw: %s at byte %llu: %s (%s)\n", argv[1], (unsigned long long)off,
				aisio_status_str(st), aisio_errmsg());
			return 1;
		}
		if (!write)
			memcpy(file + off, buf, n);
	}
	if (!write && pwrite(fd, file, total, 0) != (ssize_t)total)
		return perror("write"), 1;
	close(fd);
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	free(file);
	return 0;
}
