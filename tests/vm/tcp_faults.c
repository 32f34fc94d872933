/* SPDX-License-Identifier: MIT */
/*
 * I/O through nvme+tcp:// while the target goes away and comes back
 * (tcp_guest.sh removes the port's subsystem link and restarts nvmet-tcp).
 *
 *   tcp_faults URI STOPFILE [BLOCKS]
 *
 * Keeps 16 commands in flight on BLOCKS 4 KiB blocks: writes of a pattern
 * that names (block, version) and reads that check it. It remembers, per
 * block, the last version the target acknowledged and a version whose write
 * failed (that block may hold either). Every read must show an acknowledged
 * or an unsettled version, never anything else; every failure must be one
 * of the transport's errors, with a message. When STOPFILE appears it waits
 * for I/O to work again, reads every block back and checks it the same way.
 * Prints counts; exit 0 when everything held and I/O resumed, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <aisio/aisio.h>

#define BS 4096u
#define QD 16

struct blk {
	uint32_t acked;   /* last acknowledged version (0: never written) */
	uint32_t pending; /* a version whose write is in flight or failed (0: none) */
	int busy;
};

static struct blk *blks;
static uint32_t nblk, lba_per;
static const struct aisio_geo *geo;
static unsigned long ok_w, ok_r, errs, bad, unexpected;
static int last_ok; /* the latest completion succeeded */
static char first_bad[300];

static void fill(uint8_t *p, uint32_t b, uint32_t v)
{
	uint64_t x = ((uint64_t)b << 32 | v) * 0x9e3779b97f4a7c15ull + 1;

	for (uint32_t i = 0; i < BS; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(p + i, &x, 8);
	}
	memcpy(p, &b, 4);
	memcpy(p + 4, &v, 4);
}

static int matches(const uint8_t *p, uint32_t b, uint32_t v)
{
	static uint8_t want[BS];

	if (!v || v == UINT32_MAX) /* never written by this run, or unknown: anything */
		return 1;
	fill(want, b, v);
	return !memcmp(p, want, BS);
}

static int transport_error(int st)
{
	return st == -ENOTCONN || st == -ECONNABORTED || st == -ECANCELED || st == -ETIMEDOUT ||
	       st == -ECONNRESET || st == -ECONNREFUSED || st == -EPROTO;
}

struct op {
	uint32_t blk, ver;
	int write;
};

static void done(struct aisio_io *io, void *arg)
{
	struct op *o = arg;
	struct blk *b = &blks[o->blk];

	b->busy = 0;
	last_ok = !io->status;
	if (io->status) {
		errs++;
		if (!transport_error(io->status)) {
			unexpected++;
			if (!first_bad[0])
				snprintf(first_bad, sizeof(first_bad), "status %s: %s",
					 aisio_status_str(io->status), aisio_errmsg());
		}
		/* a failed write leaves the block unsettled: it may hold either version; a
		 * second one in a row leaves it unknown until the next acknowledged write */
		if (o->write && b->pending != o->ver)
			b->pending = UINT32_MAX;
		return;
	}
	if (o->write) {
		ok_w++;
		b->acked = o->ver;
		b->pending = 0;
	} else {
		ok_r++;
		if (!matches(io->buf, o->blk, b->acked) && !(b->pending && matches(io->buf, o->blk, b->pending))) {
			bad++;
			if (!first_bad[0])
				snprintf(first_bad, sizeof(first_bad), "block %u holds neither version %u nor %u",
					 o->blk, b->acked, b->pending);
		}
	}
}

int main(int argc, char **argv)
{
	struct aisio_dev *dev;
	struct aisio_queue *q;
	uint8_t *bufs[QD];
	struct op ops[QD];
	uint32_t ver = 0;
	uint64_t rnd = 88172645463325252ull;
	time_t stop_at = 0;
	int st;

	if (argc < 3) {
		fprintf(stderr, "usage: tcp_faults URI STOPFILE [BLOCKS]\n");
		return 2;
	}
	nblk = argc > 3 ? (uint32_t)atoi(argv[3]) : 256;
	st = aisio_dev_open(argv[1], NULL, &dev);
	if (st) {
		fprintf(stderr, "tcp_faults: open: %s\n", aisio_errmsg());
		return 1;
	}
	geo = aisio_dev_geo(dev);
	lba_per = BS / geo->lba_size;
	blks = calloc(nblk, sizeof(*blks));
	if (aisio_queue_init(dev, QD + 1, &q)) {
		fprintf(stderr, "tcp_faults: queue: %s\n", aisio_errmsg());
		return 1;
	}
	for (int i = 0; i < QD; i++)
		bufs[i] = aisio_buf_alloc(dev, BS);
	for (;;) {
		struct aisio_io *io;
		int n = 0;

		if (!stop_at && !access(argv[2], F_OK))
			stop_at = time(NULL);
		/* after the stop: run until a command succeeds again (at most 120 s), then verify */
		if (stop_at && (last_ok || time(NULL) - stop_at > 120) && !aisio_queue_outstanding(q))
			break;
		while ((io = aisio_queue_get_io(q))) {
			uint32_t slot, b;

			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			b = (uint32_t)(rnd % nblk);
			if (blks[b].busy) {
				aisio_queue_put_io(q, io);
				break;
			}
			slot = io->cid; /* 0..QD-1: one buffer per command slot */
			ops[slot].blk = b;
			ops[slot].write = (rnd >> 40) & 1;
			blks[b].busy = 1;
			if (ops[slot].write) {
				ops[slot].ver = ++ver;
				blks[b].pending = blks[b].pending ? UINT32_MAX : ver;
				fill(bufs[slot], b, ver);
				aisio_prep_write(io, geo->nsid, (uint64_t)b * lba_per, lba_per, bufs[slot], BS);
			} else {
				aisio_prep_read(io, geo->nsid, (uint64_t)b * lba_per, lba_per, bufs[slot], BS);
			}
			aisio_io_set_cb(io, done, &ops[slot]);
			n++;
		}
		if (n)
			aisio_queue_submit(q);
		st = aisio_queue_reap(q, 0);
		if (st < 0) {
			fprintf(stderr, "tcp_faults: reap: %s\n", aisio_errmsg());
			return 1;
		}
		if (!n && !aisio_queue_outstanding(q))
			usleep(1000);
	}
	/* final pass: every block as the target last acknowledged it (or the unsettled write) */
	{
		unsigned long bad0 = bad, fin = 0;

		for (uint32_t b = 0; b < nblk; b++) {
			struct aisio_io *io = aisio_queue_get_io(q);

			ops[0].blk = b;
			ops[0].write = 0;
			aisio_io_set_cb(io, done, &ops[0]);
			aisio_prep_read(io, geo->nsid, (uint64_t)b * lba_per, lba_per, bufs[0], BS);
			st = aisio_io_sync(io);
			if (st) {
				fprintf(stderr, "tcp_faults: final read of block %u: %s (%s)\n", b,
					aisio_status_str(st), aisio_errmsg());
				bad++;
				break;
			}
			fin++;
		}
		printf("tcp_faults: final pass: %lu blocks read, %lu bad\n", fin, bad - bad0);
	}
	printf("tcp_faults: %lu writes and %lu reads completed, %lu failed with transport errors "
	       "(%lu unexpected), %lu bad data%s%s\n", ok_w, ok_r, errs, unexpected, bad,
	       first_bad[0] ? "; first: " : "", first_bad);
	for (int i = 0; i < QD; i++)
		aisio_buf_free(dev, bufs[i]);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	return bad || unexpected || !last_ok || !ok_w ? 1 : 0;
}
