/* SPDX-License-Identifier: MIT */
/*
 * Reads LBA ranges through one aisio URI and writes their bytes to stdout, in
 * the order given, for the ublk guest test (ublk_guest.sh): a homi: client
 * reads a mounted file's extents from the namespace beside the kernel.
 *   homi_readlba URI LBA NLB [LBA NLB ...]
 * LBA and NLB are in the namespace's LBAs (geo->lba_size bytes each). Each
 * range is read in pieces no larger than the device's largest transfer.
 * Exit 0 when every range was read and written out, 1 otherwise, with what
 * went wrong on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aisio/aisio.h>

#define CHUNK (128u * 1024)

static int parse_u64(const char *s, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || !*s || *end || *s == '-' ? -EINVAL : 0;
}

static int read_range(struct aisio_queue *q, const struct aisio_geo *geo, uint8_t *buf,
		      uint32_t chunk_lbas, unsigned long long lba, unsigned long long nlb)
{
	while (nlb) {
		uint32_t n = nlb < chunk_lbas ? (uint32_t)nlb : chunk_lbas;
		size_t len = (size_t)n * geo->lba_size;
		struct aisio_io *io = aisio_queue_get_io(q);
		int st;

		if (!io) {
			fprintf(stderr, "homi_readlba: no free I/O on the queue: %s\n", aisio_errmsg());
			return -1;
		}
		aisio_prep_read(io, geo->nsid, lba, n, buf, len);
		st = aisio_io_sync(io);
		if (st) {
			fprintf(stderr, "homi_readlba: read of LBAs %llu+%u failed: %s (%s)\n", lba, n,
				aisio_status_str(st), aisio_errmsg());
			return -1;
		}
		if (fwrite(buf, 1, len, stdout) != len) {
			perror("homi_readlba: stdout");
			return -1;
		}
		lba += n;
		nlb -= n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const struct aisio_geo *geo;
	struct aisio_dev *dev;
	struct aisio_queue *q = NULL;
	uint32_t chunk, chunk_lbas;
	uint8_t *buf = NULL;
	int rc = 1;

	if (argc < 4 || (argc - 2) % 2) {
		fprintf(stderr, "usage: homi_readlba URI LBA NLB [LBA NLB ...]\n");
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		unsigned long long x;

		if (parse_u64(argv[i], &x)) {
			fprintf(stderr, "homi_readlba: '%s' is not a number\n", argv[i]);
			return 1;
		}
	}
	if (aisio_dev_open(argv[1], NULL, &dev)) {
		fprintf(stderr, "homi_readlba: %s: %s\n", argv[1], aisio_errmsg());
		return 1;
	}
	geo = aisio_dev_geo(dev);
	chunk = geo->max_xfer && geo->max_xfer < CHUNK ? geo->max_xfer : CHUNK;
	chunk_lbas = chunk / geo->lba_size;
	if (!chunk_lbas) {
		fprintf(stderr, "homi_readlba: largest transfer %u B is below the LBA size %u B\n",
			chunk, geo->lba_size);
		goto out_close;
	}
	buf = aisio_buf_alloc(dev, (size_t)chunk_lbas * geo->lba_size);
	if (!buf || aisio_queue_init(dev, 4, &q)) {
		fprintf(stderr, "homi_readlba: buffer or queue: %s\n", aisio_errmsg());
		goto out_close;
	}
	rc = 0;
	for (int i = 2; i < argc && !rc; i += 2) {
		unsigned long long lba, nlb;

		parse_u64(argv[i], &lba);
		parse_u64(argv[i + 1], &nlb);
		if (nlb > geo->nlbas || lba > geo->nlbas - nlb) {
			fprintf(stderr, "homi_readlba: LBAs %llu+%llu are past the namespace's %llu\n",
				lba, nlb, (unsigned long long)geo->nlbas);
			rc = 1;
			break;
		}
		rc = read_range(q, geo, buf, chunk_lbas, lba, nlb) ? 1 : 0;
	}
	if (fflush(stdout)) {
		perror("homi_readlba: stdout");
		rc = 1;
	}
	aisio_queue_term(q);
out_close:
	if (buf)
		aisio_buf_free(dev, buf);
	aisio_dev_close(dev);
	return rc;
}
