/* SPDX-License-Identifier: MIT */
/*
 * One client that never reopens: the homid restart test (homi_restart_guest.sh)
 * runs it while homid restarts under it.
 *   homi_loop URI LBA NLB SECONDS [PROGRESS_FILE]
 * Opens URI once, one queue of depth 16, and until SECONDS have passed or
 * SIGTERM comes (the round in progress is finished first)
 * writes rounds of 4 KiB stamps (LBA, round) over [LBA, LBA + NLB), 8 in
 * flight, reads every one back and compares. Prints rounds, commands and
 * mismatches; exit 0 only when every command succeeded and nothing mismatched.
 * With PROGRESS_FILE, the count of completed commands is written there after
 * every batch, so that a test can see the I/O going on (homi_crash_guest.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <aisio/aisio.h>

#define DEPTH 8
#define XFER 4096

static volatile sig_atomic_t stop;
static int progress = -1;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void stamp(uint64_t *p, uint64_t off, uint64_t round)
{
	for (size_t i = 0; i < XFER / 8; i++)
		p[i] = (off + i * 8) * 0x9e3779b97f4a7c15ull ^ round;
}

/* One pass: write (@write) or read and check every XFER of the range. */
static int pass(struct aisio_dev *dev, struct aisio_queue *q, uint8_t *bufs, uint64_t lba,
		uint64_t nbytes, uint64_t round, int write, uint64_t *cmds, uint64_t *bad)
{
	const struct aisio_geo *g = aisio_dev_geo(dev);
	uint32_t nlb = XFER / g->lba_size;
	uint64_t off = 0;

	while (off < nbytes) {
		struct aisio_io *io[DEPTH];
		int n = 0;

		for (; n < DEPTH && off < nbytes; n++, off += XFER) {
			uint8_t *b = bufs + (size_t)n * XFER;

			io[n] = aisio_queue_get_io(q);
			if (!io[n])
				return fprintf(stderr, "homi_loop: no free command slot\n"), -1;
			if (write) {
				stamp((uint64_t *)b, lba * g->lba_size + off, round);
				aisio_prep_write(io[n], g->nsid, lba + off / g->lba_size, nlb, b, XFER);
			} else {
				memset(b, 0, XFER);
				aisio_prep_read(io[n], g->nsid, lba + off / g->lba_size, nlb, b, XFER);
			}
		}
		if (aisio_queue_submit(q) < 0 || aisio_queue_wait(q))
			return fprintf(stderr, "homi_loop: %s\n", aisio_errmsg()), -1;
		for (int i = 0; i < n; i++) {
			uint64_t want[XFER / 8];
			uint64_t o = off - (uint64_t)(n - i) * XFER;

			if (io[i]->status) {
				fprintf(stderr, "homi_loop: %s at byte %llu: %s\n", write ? "write" : "read",
					(unsigned long long)o, aisio_status_str(io[i]->status));
				return -1;
			}
			(*cmds)++;
			if (!write) {
				stamp(want, lba * g->lba_size + o, round);
				if (memcmp(want, bufs + (size_t)i * XFER, XFER))
					(*bad)++;
			}
			aisio_queue_put_io(q, io[i]);
		}
		if (progress >= 0) {
			char b[32];
			int len = snprintf(b, sizeof(b), "%llu\n", (unsigned long long)*cmds);

			if (pwrite(progress, b, (size_t)len, 0) != len)
				return fprintf(stderr, "homi_loop: progress file: %s\n", strerror(errno)), -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t lba, nlb, cmds = 0, bad = 0, round = 0;
	struct aisio_dev *dev;
	struct aisio_queue *q;
	double end;
	uint8_t *bufs;
	int err = 0;

	if (argc != 5 && argc != 6) {
		fprintf(stderr, "usage: homi_loop URI LBA NLB SECONDS [PROGRESS_FILE]\n");
		return 1;
	}
	if (argc == 6 && (progress = open(argv[5], O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		fprintf(stderr, "homi_loop: %s: %s\n", argv[5], strerror(errno));
		return 1;
	}
	lba = strtoull(argv[2], NULL, 0);
	nlb = strtoull(argv[3], NULL, 0);
	end = now() + atof(argv[4]);
	if (aisio_dev_open(argv[1], NULL, &dev) || aisio_queue_init(dev, DEPTH * 2, &q)) {
		fprintf(stderr, "homi_loop: %s: %s\n", argv[1], aisio_errmsg());
		return 1;
	}
	bufs = aisio_buf_alloc(dev, DEPTH * XFER);
	if (!bufs || nlb * aisio_dev_geo(dev)->lba_size < XFER) {
		fprintf(stderr, "homi_loop: buffers: %s\n", bufs ? "range under 4 KiB" : aisio_errmsg());
		return 1;
	}
	signal(SIGTERM, on_term);
	while (!err && !stop && now() < end) {
		round++;
		err = pass(dev, q, bufs, lba, nlb * aisio_dev_geo(dev)->lba_size, round, 1, &cmds, &bad) ?:
		      pass(dev, q, bufs, lba, nlb * aisio_dev_geo(dev)->lba_size, round, 0, &cmds, &bad);
	}
	printf("homi_loop: %llu rounds, %llu commands, %llu mismatches%s\n", (unsigned long long)round,
	       (unsigned long long)cmds, (unsigned long long)bad, err ? ", stopped by an error" : "");
	aisio_buf_free(dev, bufs);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	return err || bad ? 1 : 0;
}
