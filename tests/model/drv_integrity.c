/* SPDX-License-Identifier: MIT */
/*
 * Data integrity with random patterns: every in-flight slot owns a stripe
 * of LBAs and alternates a write of random length at a random buffer
 * offset with a read-back check, keeping a small queue full for thousands
 * of commands (hundreds of ring wraps); then several threads, each with
 * its own queue, do the same at once on disjoint parts of the namespace.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mt.h"

/* Content of one LBA at a generation: cheap to make and to check. */
static void lba_fill(uint8_t *p, uint32_t lbs, uint64_t lba, uint32_t gen)
{
	uint64_t tag = (lba << 24) ^ ((uint64_t)gen * 0x9e3779b97f4a7c15ull);

	for (uint32_t j = 0; j < lbs; j += 8) {
		uint64_t v = tag ^ ((uint64_t)j * 0xff51afd7ed558ccdull);
		memcpy(p + j, &v, 8);
	}
}

struct slot {
	struct worker *w;
	uint8_t *base;     /* max_xfer + 4 KiB of DMA memory */
	uint8_t *buf;      /* base + random dword offset */
	uint64_t stripe, stripe_len, slba;
	uint32_t nlb;
	int writing;
};

struct worker {
	struct aisio_dev *dev;
	struct aisio_queue *q;
	const struct aisio_geo *g;
	uint64_t first, len; /* LBA range of this worker */
	uint32_t *gen;       /* per LBA of the range; 0 = never written */
	struct slot *slots;
	uint32_t nslots;
	uint64_t todo, done, bad, failed, seed, bytes;
	pthread_t th;
};

static void slot_start(struct slot *s);

static void on_done(struct aisio_io *io, void *arg)
{
	struct slot *s = arg;
	struct worker *w = s->w;
	uint32_t lbs = w->g->lba_size;

	w->done++;
	if (io->status) {
		if (w->failed++ < 5)
			fprintf(stderr, "lba %llu+%u %s: %s\n", (unsigned long long)s->slba, s->nlb,
				s->writing ? "write" : "read", aisio_status_str(io->status));
	} else if (!s->writing) {
		for (uint32_t i = 0; i < s->nlb; i++) {
			uint64_t lba = s->slba + i;
			uint8_t want[4096];

			lba_fill(want, lbs, lba, w->gen[lba - w->first]);
			if (memcmp(want, s->buf + (size_t)i * lbs, lbs)) {
				if (w->bad++ < 5)
					fprintf(stderr, "lba %llu: data differs (buffer offset %zu)\n",
						(unsigned long long)lba, (size_t)(s->buf - s->base));
			}
		}
	}
	if (w->done + w->nslots <= w->todo || (s->writing && !io->status))
		slot_start(s);
}

/* Next command of a slot: after a write, read the same range back; else a new write. */
static void slot_start(struct slot *s)
{
	struct worker *w = s->w;
	uint32_t lbs = w->g->lba_size;
	struct aisio_io *io = aisio_queue_get_io(w->q);

	REQUIRE(io);
	if (s->writing) {
		s->writing = 0;
		memset(s->buf, 0xee, (size_t)s->nlb * lbs);
		aisio_prep_read(io, w->g->nsid, s->slba, s->nlb, s->buf, (size_t)s->nlb * lbs);
	} else {
		uint32_t maxnlb = w->g->max_xfer / lbs;
		uint64_t r = mt_rand(&w->seed);

		/* Mostly small, sometimes up to MDTS: PRP lists and chained lists both occur. */
		s->nlb = (r & 3) ? 1 + (uint32_t)(r >> 8) % (16384 / lbs) : 1 + (uint32_t)(r >> 8) % maxnlb;
		if (s->nlb > s->stripe_len)
			s->nlb = (uint32_t)s->stripe_len;
		s->slba = s->stripe + (r >> 32) % (s->stripe_len - s->nlb + 1);
		s->buf = s->base + ((mt_rand(&w->seed) % 1024) * 4);
		for (uint32_t i = 0; i < s->nlb; i++) {
			uint64_t lba = s->slba + i;
			uint32_t gen = ++w->gen[lba - w->first];
			lba_fill(s->buf + (size_t)i * lbs, lbs, lba, gen);
		}
		s->writing = 1;
		aisio_prep_write(io, w->g->nsid, s->slba, s->nlb, s->buf, (size_t)s->nlb * lbs);
		w->bytes += (size_t)s->nlb * lbs;
	}
	aisio_io_set_cb(io, on_done, s);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t stripe_len = w->len / w->nslots;

	w->gen = calloc(w->len, sizeof(*w->gen));
	w->slots = calloc(w->nslots, sizeof(*w->slots));
	REQUIRE(w->gen && w->slots);
	for (uint32_t i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];

		s->w = w;
		s->base = aisio_buf_alloc(w->dev, w->g->max_xfer + 4096);
		REQUIRE(s->base);
		s->stripe = w->first + i * stripe_len;
		s->stripe_len = stripe_len;
		slot_start(s);
	}
	while (w->done < w->todo || aisio_queue_outstanding(w->q)) {
		int n = aisio_queue_submit(w->q);
		if (n < 0)
			break;
		n = aisio_queue_reap(w->q, 0);
		if (n < 0) {
			fprintf(stderr, "reap: %s\n", aisio_errmsg());
			w->failed++;
			break;
		}
	}
	for (uint32_t i = 0; i < w->nslots; i++)
		aisio_buf_free(w->dev, w->slots[i].base);
	free(w->gen);
	free(w->slots);
	return NULL;
}

static void run(const char *uri, uint32_t nthreads, uint32_t depth, uint64_t cmds)
{
	struct aisio_dev *dev = mt_open(uri, NULL);
	const struct aisio_geo *g = aisio_dev_geo(dev);
	struct worker *w = calloc(nthreads, sizeof(*w));
	uint64_t per = g->nlbas / nthreads, done = 0, bytes = 0;

	REQUIRE(w);
	for (uint32_t t = 0; t < nthreads; t++) {
		w[t].dev = dev;
		w[t].g = g;
		w[t].q = mt_queue(dev, depth);
		w[t].first = t * per;
		w[t].len = per;
		w[t].nslots = depth - 1;
		w[t].todo = cmds;
		w[t].seed = 12345 + t;
	}
	for (uint32_t t = 0; t < nthreads; t++)
		REQUIRE(!pthread_create(&w[t].th, NULL, worker_run, &w[t]));
	for (uint32_t t = 0; t < nthreads; t++) {
		pthread_join(w[t].th, NULL);
		CHECK_EQ(w[t].bad, 0);
		CHECK_EQ(w[t].failed, 0);
		CHECK(w[t].done >= cmds);
		done += w[t].done;
		bytes += w[t].bytes;
		aisio_queue_term(w[t].q);
	}
	printf("%s: %u thread(s), depth %u: %llu commands, %llu MiB written, %llu ring wraps per queue\n",
	       uri, nthreads, depth, (unsigned long long)done, (unsigned long long)(bytes >> 20),
	       (unsigned long long)(done / nthreads / depth));
	free(w);
	aisio_dev_close(dev);
}

int main(void)
{
	run("emu:64M", 1, 8, 4000);
	run("emu:64M,lbads=12", 1, 8, 2000);
	run("emu:64M,sgl=1", 1, 16, 2000);
	run("emu:64M,mdts=0", 1, 4, 600);
	run("emu:128M,threads=2", 4, 32, 2000);
	return t_result("drv_integrity");
}
