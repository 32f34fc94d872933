/* SPDX-License-Identifier: MIT */
/*
 * aisio perf verify: stamp every LBA of the region with its LBA number, the
 * run's seed, a magic word and a pattern derived from both, write the
 * region, read it back and count the LBAs whose contents differ. A stamp
 * that names another LBA shows a misdirected write; another seed, a lost
 * write (stale data from an earlier run).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "perf.h"

#define STAMP_MAGIC 0x594649564f495341ull /* "AISIOVFY" */
#define MAX_REPORTED 5

struct verify {
	const struct perf_opts *o;
	struct aisio_dev *dev;
	struct aisio_queue *q;
	uint32_t lba_size, chunk_lbas, nsid;
	uint64_t slba, nlbas, next;
	uint64_t seed;
	char *bufs;
	uint32_t *freebuf;
	uint32_t nfree, target, inflight;
	uint64_t mismatches, failed, reported;
	char first_err[256];
};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void stamp(uint64_t *w, uint32_t words, uint64_t lba, uint64_t seed)
{
	uint64_t s = lba * 0xd6e8feb86659fd93ull ^ seed;

	w[0] = lba;
	w[1] = seed;
	w[2] = STAMP_MAGIC;
	for (uint32_t i = 3; i < words; i++)
		w[i] = splitmix(&s);
}

static void check(struct verify *v, const uint64_t *w, uint64_t lba)
{
	uint32_t words = v->lba_size / 8;
	uint64_t s = lba * 0xd6e8feb86659fd93ull ^ v->seed;
	uint32_t bad = words;

	if (w[0] != lba || w[1] != v->seed || w[2] != STAMP_MAGIC) {
		bad = 0;
	} else {
		for (uint32_t i = 3; i < words; i++) {
			if (w[i] != splitmix(&s)) {
				bad = i;
				break;
			}
		}
	}
	if (bad == words)
		return;
	v->mismatches++;
	if (v->reported++ >= MAX_REPORTED || v->o->json)
		return;
	if (w[2] != STAMP_MAGIC)
		fprintf(stderr, "  LBA %" PRIu64 ": no stamp (first bytes %016" PRIx64 " %016" PRIx64 ")\n",
			lba, w[0], w[1]);
	else if (w[0] != lba)
		fprintf(stderr, "  LBA %" PRIu64 ": holds the stamp of LBA %" PRIu64 " (misdirected write)\n",
			lba, w[0]);
	else if (w[1] != v->seed)
		fprintf(stderr, "  LBA %" PRIu64 ": stamp of seed 0x%" PRIx64 ", not 0x%" PRIx64
			" (lost write)\n", lba, w[1], v->seed);
	else
		fprintf(stderr, "  LBA %" PRIu64 ": data differs at byte %u\n", lba, bad * 8);
}

static void on_done(struct aisio_io *io, void *arg)
{
	struct verify *v = arg;
	uint64_t slba = aisio_le32_to_cpu(io->cmd.cdw10) | (uint64_t)aisio_le32_to_cpu(io->cmd.cdw11) << 32;
	uint32_t nlb = (aisio_le32_to_cpu(io->cmd.cdw12) & 0xffff) + 1;

	if (io->status) {
		v->failed++;
		if (!v->first_err[0])
			snprintf(v->first_err, sizeof(v->first_err), "%s%s%s", aisio_status_str(io->status),
				 *aisio_errmsg() ? ": " : "", aisio_errmsg());
	} else if (io->cmd.opc == AISIO_NVME_NVM_READ) {
		for (uint32_t i = 0; i < nlb; i++)
			check(v, (const uint64_t *)((char *)io->buf + (size_t)i * v->lba_size), slba + i);
	}
	v->freebuf[v->nfree++] = (uint32_t)(((char *)io->buf - v->bufs) /
					    ((size_t)v->chunk_lbas * v->lba_size));
	v->inflight--;
}

/* One pass over the region: write stamps (@write) or read and check them. */
static int pass(struct verify *v, int write)
{
	uint64_t end = v->slba + v->nlbas;

	v->next = v->slba;
	while (v->next < end || v->inflight) {
		uint32_t n = 0;

		while (v->next < end && v->inflight < v->target) {
			struct aisio_io *io = aisio_queue_get_io(v->q);
			uint32_t nlb = end - v->next < v->chunk_lbas ? (uint32_t)(end - v->next) : v->chunk_lbas;
			size_t len = (size_t)nlb * v->lba_size;
			char *buf;

			if (!io)
				break;
			buf = v->bufs + (size_t)v->freebuf[--v->nfree] * v->chunk_lbas * v->lba_size;
			if (write) {
				for (uint32_t i = 0; i < nlb; i++)
					stamp((uint64_t *)(buf + (size_t)i * v->lba_size), v->lba_size / 8,
					      v->next + i, v->seed);
				aisio_prep_write(io, v->nsid, v->next, nlb, buf, len);
			} else {
				memset(buf, 0, len);
				aisio_prep_read(io, v->nsid, v->next, nlb, buf, len);
			}
			aisio_io_set_cb(io, on_done, v);
			v->next += nlb;
			v->inflight++;
			n++;
		}
		if (n && aisio_queue_submit(v->q) < 0) {
			fprintf(stderr, "aisio perf verify: submit failed: %s\n", aisio_errmsg());
			return -1;
		}
		if (aisio_queue_reap(v->q, 0) < 0) {
			fprintf(stderr, "aisio perf verify: %s\n", aisio_errmsg());
			return -1;
		}
	}
	return 0;
}

static int verify_one(const struct perf_opts *o, const char *uri, uint64_t seed)
{
	struct verify v = { .o = o, .seed = seed };
	const struct aisio_geo *g;
	uint32_t iosize = o->iosize, depth;
	double t0, tw = 0, tr = 0;
	int ret = 1;

	if (!iosize) {
		struct aisio_dev *d;
		uint64_t s, n;

		/* Default transfer: 128 KiB, within the device's limit. The probe
		 * opens as the run does (creating a file: where that is allowed). */
		if (perf_dev_open(o, uri, 0, &d, &s, &n))
			return 1;
		iosize = 128 * 1024;
		if (aisio_dev_geo(d)->max_xfer && aisio_dev_geo(d)->max_xfer < iosize)
			iosize = aisio_dev_geo(d)->max_xfer;
		if (iosize < aisio_dev_geo(d)->lba_size)
			iosize = aisio_dev_geo(d)->lba_size;
		aisio_dev_close(d);
		if (o->size && o->size < iosize)
			iosize = (uint32_t)o->size;
	}
	if (perf_dev_open(o, uri, iosize, &v.dev, &v.slba, &v.nlbas))
		return 1;
	g = aisio_dev_geo(v.dev);
	v.lba_size = g->lba_size;
	v.nsid = g->nsid;
	v.chunk_lbas = iosize / g->lba_size;
	depth = o->qdepth + 1;
	if (g->max_qdepth && depth > g->max_qdepth)
		depth = g->max_qdepth;
	if (aisio_queue_init(v.dev, depth, &v.q)) {
		fprintf(stderr, "aisio perf: %s: cannot create a queue: %s\n", uri, aisio_errmsg());
		goto out_dev;
	}
	v.target = aisio_queue_depth(v.q) < o->qdepth ? aisio_queue_depth(v.q) : o->qdepth;
	if (v.target < o->qdepth)
		fprintf(stderr, "aisio perf: %s: --qdepth %u limited to %u: the device's queues hold "
			"%u commands\n", uri, o->qdepth, v.target, v.target);
	v.bufs = aisio_buf_alloc(v.dev, (size_t)v.target * iosize);
	v.freebuf = calloc(v.target, sizeof(*v.freebuf));
	if (!v.bufs || !v.freebuf) {
		fprintf(stderr, "aisio perf: %s: out of memory for %u buffers of %u bytes\n", uri,
			v.target, iosize);
		goto out_q;
	}
	for (uint32_t i = 0; i < v.target; i++)
		v.freebuf[i] = i;
	v.nfree = v.target;

	t0 = perf_now_s();
	if (o->only != 2 && pass(&v, 1))
		goto out_q;
	tw = perf_now_s() - t0;
	t0 = perf_now_s();
	if (o->only != 1 && pass(&v, 0))
		goto out_q;
	tr = perf_now_s() - t0;

	double mib = (double)v.nlbas * v.lba_size / (1 << 20);
	if (o->json) {
		printf("{\"command\": \"perf verify\", \"uri\": ");
		perf_json_string(stdout, uri);
		printf(", \"backend\": \"%s\", \"seed\": %" PRIu64 ", \"slba\": %" PRIu64
		       ", \"lbas\": %" PRIu64 ", \"lba_size\": %u, \"iosize\": %u, \"written\": %s"
		       ", \"read\": %s, \"mismatches\": %" PRIu64 ", \"failed\": %" PRIu64
		       ", \"write_mibps\": %.1f, \"read_mibps\": %.1f, \"first_error\": ",
		       g->backend, v.seed, v.slba, v.nlbas, v.lba_size, iosize,
		       o->only != 2 ? "true" : "false", o->only != 1 ? "true" : "false", v.mismatches,
		       v.failed, tw > 0 ? mib / tw : 0, tr > 0 ? mib / tr : 0);
		if (v.first_err[0])
			perf_json_string(stdout, v.first_err);
		else
			printf("null");
		printf("}\n");
	} else {
		printf("verify %s (%s): %" PRIu64 " LBAs of %u B (%.1f MiB) from LBA %" PRIu64
		       ", seed 0x%" PRIx64 "\n", uri, g->backend, v.nlbas, v.lba_size, mib, v.slba, v.seed);
		if (o->only != 2)
			printf("  write: %.1f MiB/s\n", tw > 0 ? mib / tw : 0);
		if (o->only != 1)
			printf("  read:  %.1f MiB/s\n", tr > 0 ? mib / tr : 0);
		if (v.failed)
			printf("  %" PRIu64 " commands failed\n", v.failed);
		if (o->only != 1)
			printf("  %" PRIu64 " mismatches\n", v.mismatches);
	}
	if (v.first_err[0] && v.failed)
		fprintf(stderr, "aisio perf verify: %s: %" PRIu64 " commands failed; first: %s\n", uri,
			v.failed, v.first_err);
	else if (v.first_err[0])
		fprintf(stderr, "aisio perf verify: %s: %s\n", uri, v.first_err);
	ret = v.mismatches || v.failed ? 1 : 0;
out_q:
	aisio_queue_term(v.q);
	aisio_buf_free(v.dev, v.bufs);
	free(v.freebuf);
out_dev:
	aisio_dev_close(v.dev);
	return ret;
}

int perf_verify(int argc, char **argv)
{
	struct perf_opts o;
	uint64_t seed;
	int ret = 0, pr;

	pr = perf_opts_parse(&o, argc, argv, 1);
	if (pr)
		return pr > 0 ? 0 : 2;
	if (o.only == 2 && !o.seed_set) {
		fprintf(stderr, "aisio perf verify: --only read needs the --seed of the run that wrote "
			"the stamps\n");
		perf_opts_free(&o);
		return 2;
	}
	seed = o.seed_set ? o.seed : ((uint64_t)time(NULL) << 20 ^ (uint64_t)getpid() ^ 0x5eed);
	for (int i = 0; i < o.nuris; i++)
		ret |= verify_one(&o, o.uris[i], seed);
	perf_opts_free(&o);
	return ret;
}
