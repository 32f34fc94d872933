/* SPDX-License-Identifier: MIT */
/*
 * Writes and reads LBAs through one aisio URI, for the homid guest test
 * (homi_guest.sh): a mediated client's write outside its grant must be
 * refused, and the bytes there must stay as they were.
 *   homi_grant [--as UID] fill    URI LBA NLB BYTE   write NLB LBAs of BYTE: exit 0 when done
 *   homi_grant [--as UID] refused URI LBA NLB BYTE   the same write must fail: exit 0 when refused
 *   homi_grant [--as UID] check   URI LBA NLB BYTE   read them: exit 0 when every byte is BYTE
 * --as UID: drop to that uid and gid (from root) before opening the URI.
 * Exit 1 otherwise, with what went wrong on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <unistd.h>

#include <aisio/aisio.h>

static int usage(void)
{
	fprintf(stderr, "usage: homi_grant [--as UID] fill|refused|check URI LBA NLB BYTE\n");
	return 1;
}

int main(int argc, char **argv)
{
	const struct aisio_geo *geo;
	struct aisio_dev *dev;
	struct aisio_queue *q;
	struct aisio_io *io;
	unsigned long long lba;
	unsigned nlb, byte;
	const char *what;
	uint8_t *buf;
	size_t len;
	int err, st, rc = 1;

	if (argc > 2 && !strcmp(argv[1], "--as")) {
		uid_t uid = (uid_t)strtoul(argv[2], NULL, 10);

		if (setgroups(0, NULL) || setgid(uid) || setuid(uid)) {
			perror("homi_grant: dropping to the uid");
			return 1;
		}
		argv += 2;
		argc -= 2;
	}
	if (argc != 6)
		return usage();
	what = argv[1];
	lba = strtoull(argv[3], NULL, 0);
	nlb = (unsigned)strtoul(argv[4], NULL, 0);
	byte = (unsigned)strtoul(argv[5], NULL, 0);
	if (!nlb || byte > 255 ||
	    (strcmp(what, "fill") && strcmp(what, "refused") && strcmp(what, "check")))
		return usage();
	err = aisio_dev_open(argv[2], NULL, &dev);
	if (err) {
		fprintf(stderr, "homi_grant: %s: %s\n", argv[2], aisio_errmsg());
		return 1;
	}
	geo = aisio_dev_geo(dev);
	len = (size_t)nlb * geo->lba_size;
	buf = aisio_buf_alloc(dev, len);
	if (!buf || aisio_queue_init(dev, 4, &q)) {
		fprintf(stderr, "homi_grant: buffer or queue: %s\n", aisio_errmsg());
		goto out_close;
	}
	io = aisio_queue_get_io(q);
	if (!strcmp(what, "check")) {
		memset(buf, ~byte & 0xff, len);
		aisio_prep_read(io, geo->nsid, lba, nlb, buf, len);
	} else {
		memset(buf, (int)byte, len);
		aisio_prep_write(io, geo->nsid, lba, nlb, buf, len);
	}
	st = aisio_io_sync(io);
	if (!strcmp(what, "refused")) {
		if (st)
			printf("homi_grant: write of LBAs %llu+%u refused: %s\n", lba, nlb,
			       aisio_status_str(st));
		else
			fprintf(stderr, "homi_grant: write of LBAs %llu+%u was not refused\n", lba, nlb);
		rc = st ? 0 : 1;
	} else if (st) {
		fprintf(stderr, "homi_grant: %s of LBAs %llu+%u failed: %s\n", what, lba, nlb,
			aisio_status_str(st));
	} else if (!strcmp(what, "check")) {
		size_t bad = 0;

		for (size_t i = 0; i < len; i++)
			bad += buf[i] != byte;
		if (bad)
			fprintf(stderr, "homi_grant: LBAs %llu+%u: %zu of %zu bytes are not 0x%02x "
				"(first LBA: 0x%02x)\n", lba, nlb, bad, len, byte, buf[0]);
		rc = bad ? 1 : 0;
	} else {
		rc = 0;
	}
	aisio_queue_term(q);
out_close:
	if (buf)
		aisio_buf_free(dev, buf);
	aisio_dev_close(dev);
	return rc;
}
