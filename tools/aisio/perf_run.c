/* SPDX-License-Identifier: MIT */
/*
 * aisio perf run: every worker thread drives --nqueues queues on every
 * device, keeping --qdepth commands in flight on each. The hot path per I/O
 * is: take a slot and a buffer, draw an LBA, stamp the TSC; on completion
 * one histogram increment and a few counters. Queues and buffers are set up
 * before the clock starts.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "perf.h"

struct run_dev {
	struct aisio_dev *dev;
	const char *uri;
	uint64_t slba, nlbas;   /* region */
	uint32_t nsid, blk_lbas;
	uint64_t nblocks;       /* I/Os of iosize in the region */
	uint32_t qdepth;        /* commands in flight per queue: --qdepth, or less if its queues are smaller */
};

/* Counters of one thread on one device; read by the progress line. */
struct run_stats {
	uint64_t reads, writes, failed, bytes;
	struct perf_hist hist;
	char first_err[256];
};

struct run_queue {
	struct aisio_queue *q;
	struct run_dev *rd;
	struct run_stats *st;
	char *bufs;
	uint32_t *freebuf;
	uint32_t nfree;
	uint32_t target;        /* commands to keep in flight */
	uint32_t inflight;
	uint64_t next;          /* sequential cursor, in blocks */
	uint64_t rng;
};

struct run;

struct run_thread {
	struct run *run;
	pthread_t tid;
	int cpu;
	struct run_queue *rq;
	uint32_t nrq;
	struct run_stats *st;   /* one per device */
	int err;
};

struct run {
	struct perf_opts o;
	struct run_dev *devs;
	int ndevs;
	struct run_thread *thr;
	pthread_mutex_t lock;   /* start gate */
	pthread_cond_t cond;
	int go;
	int stop;
};

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static inline void count(uint64_t *c, uint64_t add)
{
	__atomic_store_n(c, *c + add, __ATOMIC_RELAXED);
}

static void on_done(struct aisio_io *io, void *arg)
{
	struct run_queue *rq = arg;
	struct run_stats *st = rq->st;

	perf_hist_add(&st->hist, perf_ticks() - io->submit_ts);
	if (io->status) {
		if (!st->first_err[0])
			snprintf(st->first_err, sizeof(st->first_err), "%s%s%s", aisio_status_str(io->status),
				 *aisio_errmsg() ? ": " : "", aisio_errmsg());
		count(&st->failed, 1);
	} else {
		if (io->cmd.opc == AISIO_NVME_NVM_WRITE)
			count(&st->writes, 1);
		else
			count(&st->reads, 1);
		count(&st->bytes, io->len);
	}
	rq->freebuf[rq->nfree++] = (uint32_t)(((char *)io->buf - rq->bufs) / io->len);
	rq->inflight--;
}

/* Prepare commands up to the target depth; returns how many. */
static uint32_t fill(struct run *r, struct run_queue *rq)
{
	const struct perf_opts *o = &r->o;
	struct run_dev *rd = rq->rd;
	uint32_t n = 0;

	while (rq->inflight < rq->target) {
		struct aisio_io *io = aisio_queue_get_io(rq->q);
		uint64_t blk, lba;
		int read;
		char *buf;

		if (!io)
			break;
		switch (o->pattern) {
		case PAT_READ:
		case PAT_WRITE:
			blk = rq->next;
			if (++rq->next == rd->nblocks)
				rq->next = 0;
			read = o->pattern == PAT_READ;
			break;
		case PAT_RANDRW:
			blk = xorshift(&rq->rng) % rd->nblocks;
			read = (int)(xorshift(&rq->rng) % 100) < o->rwmix;
			break;
		default:
			blk = xorshift(&rq->rng) % rd->nblocks;
			read = o->pattern == PAT_RANDREAD;
			break;
		}
		lba = rd->slba + blk * rd->blk_lbas;
		buf = rq->bufs + (size_t)rq->freebuf[--rq->nfree] * o->iosize;
		if (read)
			aisio_prep_read(io, rd->nsid, lba, rd->blk_lbas, buf, o->iosize);
		else
			aisio_prep_write(io, rd->nsid, lba, rd->blk_lbas, buf, o->iosize);
		aisio_io_set_cb(io, on_done, rq);
		io->submit_ts = perf_ticks();
		rq->inflight++;
		n++;
	}
	return n;
}

static void *worker(void *arg)
{
	struct run_thread *t = arg;
	struct run *r = t->run;
	uint32_t idle = 0;
	if (t->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(t->cpu, &set);
		t->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	pthread_mutex_lock(&r->lock);
	while (!r->go)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		uint32_t busy = 0;

		for (uint32_t i = 0; i < t->nrq; i++) {
			struct run_queue *rq = &t->rq[i];

			if (fill(r, rq)) {
				busy = 1;
				int err = aisio_queue_submit(rq->q);

				if (err < 0 && !rq->st->first_err[0])
					snprintf(rq->st->first_err, sizeof(rq->st->first_err), "%s", aisio_errmsg());
			}
		}
		for (uint32_t i = 0; i < t->nrq; i++) {
			int n = aisio_queue_reap(t->rq[i].q, 0);

			if (n < 0) {
				snprintf(t->rq[i].st->first_err, sizeof(t->rq[i].st->first_err), "%s",
					 aisio_errmsg());
				t->err = n;
				__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
				break;
			}
			busy |= n > 0;
		}
		/* Polled paths: a device model in this process may need this CPU to make progress. */
		if (!busy && ++idle >= 64) {
			idle = 0;
			sched_yield();
		} else if (busy) {
			idle = 0;
		}
	}
	for (uint32_t i = 0; i < t->nrq; i++)
		if (aisio_queue_wait(t->rq[i].q) < 0 && !t->err)
			t->err = -EIO;
	return NULL;
}

static void progress(struct run *r, double elapsed, uint64_t *last_ios, double *last_t)
{
	uint64_t ios = 0, bytes = 0, failed = 0;

	for (int t = 0; t < r->o.nthreads; t++) {
		for (int d = 0; d < r->ndevs; d++) {
			struct run_stats *st = &r->thr[t].st[d];

			ios += __atomic_load_n(&st->reads, __ATOMIC_RELAXED) +
			       __atomic_load_n(&st->writes, __ATOMIC_RELAXED);
			bytes += __atomic_load_n(&st->bytes, __ATOMIC_RELAXED);
			failed += __atomic_load_n(&st->failed, __ATOMIC_RELAXED);
		}
	}
	char buf[32];
	double dt = elapsed - *last_t;

	printf("\r[%5.1f/%.0f s] %s IOPS, %.1f MiB/s avg, %" PRIu64 " failed\033[K", elapsed,
	       r->o.runtime, perf_fmt_count(buf, sizeof(buf), dt > 0 ? (uint64_t)((double)(ios - *last_ios) / dt) : 0),
	       elapsed > 0 ? (double)bytes / elapsed / (1 << 20) : 0.0, failed);
	fflush(stdout);
	*last_ios = ios;
	*last_t = elapsed;
}

/* Create every thread's queues and buffers before the clock starts. */
static int setup_queues(struct run *r)
{
	const struct perf_opts *o = &r->o;

	for (int t = 0; t < o->nthreads; t++) {
		struct run_thread *th = &r->thr[t];

		th->run = r;
		th->cpu = o->ncpus ? o->cpus[t] : -1;
		th->nrq = o->nqueues * (uint32_t)r->ndevs;
		th->rq = calloc(th->nrq, sizeof(*th->rq));
		th->st = calloc((size_t)r->ndevs, sizeof(*th->st));
		if (!th->rq || !th->st) {
			fprintf(stderr, "aisio perf: out of memory\n");
			return -1;
		}
		for (int d = 0; d < r->ndevs; d++) {
			struct run_dev *rd = &r->devs[d];

			for (uint32_t qi = 0; qi < o->nqueues; qi++) {
				struct run_queue *rq = &th->rq[(uint32_t)d * o->nqueues + qi];
				uint32_t depth = o->qdepth + 1, gidx;
				const struct aisio_geo *g = aisio_dev_geo(rd->dev);
				int err;

				if (g->max_qdepth && depth > g->max_qdepth)
					depth = g->max_qdepth;
				rq->rd = rd;
				rq->st = &th->st[d];
				err = aisio_queue_init(rd->dev, depth, &rq->q);
				if (err) {
					fprintf(stderr, "aisio perf: %s: cannot create queue %u of thread %d: %s\n",
						rd->uri, qi, t, aisio_errmsg());
					return -1;
				}
				rq->target = aisio_queue_depth(rq->q) < o->qdepth ? aisio_queue_depth(rq->q)
										  : o->qdepth;
				if (rq->target < o->qdepth && t == 0 && qi == 0)
					fprintf(stderr, "aisio perf: %s: --qdepth %u limited to %u: the "
						"device's queues hold %u commands\n", rd->uri, o->qdepth,
						rq->target, rq->target);
				if (t == 0 && qi == 0)
					rd->qdepth = rq->target;
				rq->bufs = aisio_buf_alloc(rd->dev, (size_t)rq->target * o->iosize);
				rq->freebuf = calloc(rq->target, sizeof(*rq->freebuf));
				if (!rq->bufs || !rq->freebuf) {
					fprintf(stderr, "aisio perf: %s: cannot allocate %u buffers of %u bytes\n",
						rd->uri, rq->target, o->iosize);
					return -1;
				}
				for (uint32_t b = 0; b < rq->target; b++)
					rq->freebuf[b] = b;
				rq->nfree = rq->target;
				gidx = (uint32_t)t * o->nqueues + qi;
				rq->rng = (o->seed_set ? o->seed : 0x9e3779b97f4a7c15ull) ^
					  ((uint64_t)(gidx + 1) * 0xbf58476d1ce4e5b9ull) ^ ((uint64_t)d << 48);
				if (!rq->rng)
					rq->rng = 1;
				/* Sequential streams start spread over the region. */
				rq->next = rd->nblocks * gidx / ((uint64_t)o->nthreads * o->nqueues);
				for (size_t i = 0; i < (size_t)rq->target * o->iosize; i += 8)
					*(uint64_t *)(rq->bufs + i) = xorshift(&rq->rng);
			}
		}
	}
	return 0;
}

static void teardown(struct run *r)
{
	for (int t = 0; r->thr && t < r->o.nthreads; t++) {
		struct run_thread *th = &r->thr[t];

		for (uint32_t i = 0; th->rq && i < th->nrq; i++) {
			struct run_queue *rq = &th->rq[i];

			if (rq->q)
				aisio_queue_term(rq->q);
			if (rq->bufs)
				aisio_buf_free(rq->rd->dev, rq->bufs);
			free(rq->freebuf);
		}
		free(th->rq);
		free(th->st);
	}
	free(r->thr);
	for (int d = 0; r->devs && d < r->ndevs; d++)
		if (r->devs[d].dev)
			aisio_dev_close(r->devs[d].dev);
	free(r->devs);
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

static int report(struct run *r, double elapsed, const struct rusage *ru0, const struct rusage *ru1)
{
	const struct perf_opts *o = &r->o;
	struct perf_result *res = calloc((size_t)r->ndevs + 1, sizeof(*res));
	struct perf_hist *h = calloc((size_t)r->ndevs + 1, sizeof(*h));
	double user = tv_s(ru1->ru_utime) - tv_s(ru0->ru_utime);
	double sys = tv_s(ru1->ru_stime) - tv_s(ru0->ru_stime);
	struct perf_result *tot;
	uint64_t ios;
	uint32_t qd_min = UINT32_MAX, qd_max = 0;
	char qd[48];
	int failed = 0;

	for (int d = 0; d < r->ndevs; d++) {
		qd_min = r->devs[d].qdepth < qd_min ? r->devs[d].qdepth : qd_min;
		qd_max = r->devs[d].qdepth > qd_max ? r->devs[d].qdepth : qd_max;
	}
	if (qd_min == qd_max)
		snprintf(qd, sizeof(qd), "%u", qd_max);
	else
		snprintf(qd, sizeof(qd), "%u to %u", qd_min, qd_max);
	if (!res || !h) {
		free(res);
		free(h);
		return 1;
	}
	tot = &res[r->ndevs];
	tot->name = "total";
	tot->hist = &h[r->ndevs];
	tot->elapsed_s = elapsed;
	for (int d = 0; d < r->ndevs; d++) {
		struct perf_result *pr = &res[d];

		pr->name = r->devs[d].uri;
		pr->backend = aisio_dev_geo(r->devs[d].dev)->backend;
		pr->hist = &h[d];
		pr->elapsed_s = elapsed;
		for (int t = 0; t < o->nthreads; t++) {
			struct run_stats *st = &r->thr[t].st[d];

			pr->reads += st->reads;
			pr->writes += st->writes;
			pr->failed += st->failed;
			pr->bytes += st->bytes;
			perf_hist_merge(pr->hist, &st->hist);
			if (!pr->first_err[0] && st->first_err[0])
				snprintf(pr->first_err, sizeof(pr->first_err), "%s", st->first_err);
		}
		tot->reads += pr->reads;
		tot->writes += pr->writes;
		tot->failed += pr->failed;
		tot->bytes += pr->bytes;
		perf_hist_merge(tot->hist, pr->hist);
		if (pr->failed || pr->first_err[0])
			failed = 1;
	}
	ios = tot->reads + tot->writes + tot->failed;
	if (o->json) {
		printf("{\"command\": \"perf run\", \"iopattern\": \"%s\", \"rwmix\": %d, \"iosize\": %u"
		       ", \"qdepth\": %u, \"qdepth_requested\": %u, \"threads\": %d, \"nqueues\": %u"
		       ", \"runtime_s\": %.6f, \"devices\": [", perf_pattern_name(o->pattern), o->rwmix,
		       o->iosize, qd_max, o->qdepth, o->nthreads, o->nqueues, elapsed);
		for (int d = 0; d < r->ndevs; d++) {
			printf(d ? ", " : "");
			perf_json_result(stdout, &res[d]);
		}
		printf("], \"total\": ");
		perf_json_result(stdout, tot);
		printf(", \"cpu\": {\"user_s\": %.6f, \"sys_s\": %.6f, \"ns_per_io\": %.1f}}\n", user, sys,
		       ios ? (user + sys) * 1e9 / (double)ios : 0.0);
	} else {
		printf("aisio perf run: %s", perf_pattern_name(o->pattern));
		if (o->pattern == PAT_RANDRW)
			printf(" (%d%% reads)", o->rwmix);
		printf(", %u B, qdepth %s, %d thread%s x %u queue%s per device, %.1f s\n\n", o->iosize,
		       qd, o->nthreads, o->nthreads > 1 ? "s" : "", o->nqueues,
		       o->nqueues > 1 ? "s" : "", elapsed);
		perf_print_table_header(stdout);
		for (int d = 0; d < r->ndevs; d++)
			perf_print_table_row(stdout, &res[d]);
		perf_print_table_row(stdout, tot);
		printf("\nCPU %.2f s user + %.2f s sys: %.0f ns per I/O\n", user, sys,
		       ios ? (user + sys) * 1e9 / (double)ios : 0.0);
	}
	for (int d = 0; d < r->ndevs; d++)
		if (res[d].first_err[0] && res[d].failed)
			fprintf(stderr, "aisio perf: %s: %" PRIu64 " commands failed; first: %s\n",
				res[d].name, res[d].failed, res[d].first_err);
		else if (res[d].first_err[0])
			fprintf(stderr, "aisio perf: %s: %s\n", res[d].name, res[d].first_err);
	free(res);
	free(h);
	return failed;
}

int perf_run(int argc, char **argv)
{
	struct run *r = calloc(1, sizeof(*r));
	struct rusage ru0, ru1;
	double t0, elapsed;
	int ret = 1, started = 0, pr;

	if (!r)
		return 1;
	pr = perf_opts_parse(&r->o, argc, argv, 0);
	if (pr) {
		perf_opts_free(&r->o);
		free(r);
		return pr > 0 ? 0 : 2;
	}
	perf_clock_init();
	r->devs = calloc((size_t)r->o.nuris, sizeof(*r->devs));
	r->thr = calloc((size_t)r->o.nthreads, sizeof(*r->thr));
	if (!r->devs || !r->thr)
		goto out;
	for (int d = 0; d < r->o.nuris; d++) {
		struct run_dev *rd = &r->devs[d];

		rd->uri = r->o.uris[d];
		r->ndevs = d + 1;
		if (perf_dev_open(&r->o, rd->uri, r->o.iosize, &rd->dev, &rd->slba, &rd->nlbas))
			goto out;
		rd->nsid = aisio_dev_geo(rd->dev)->nsid;
		rd->blk_lbas = r->o.iosize / aisio_dev_geo(rd->dev)->lba_size;
		rd->nblocks = rd->nlbas / rd->blk_lbas;
	}
	if (setup_queues(r))
		goto out;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	for (int t = 0; t < r->o.nthreads; t++) {
		if (pthread_create(&r->thr[t].tid, NULL, worker, &r->thr[t])) {
			fprintf(stderr, "aisio perf: cannot start thread %d\n", t);
			__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
			break;
		}
		started++;
	}
	getrusage(RUSAGE_SELF, &ru0);
	t0 = perf_now_s();
	pthread_mutex_lock(&r->lock);
	r->go = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	if (started == r->o.nthreads) {
		int live = isatty(STDOUT_FILENO) && !r->o.json;
		uint64_t last_ios = 0;
		double last_t = 0, next = 1;

		/* Sleep to each whole second (progress line) or to the end of the run. */
		for (;;) {
			double now = perf_now_s() - t0, until;
			struct timespec d;

			if (now >= r->o.runtime || __atomic_load_n(&r->stop, __ATOMIC_RELAXED))
				break;
			while (next <= now)
				next += 1;
			until = next < r->o.runtime ? next : r->o.runtime;
			d.tv_sec = (time_t)(until - now);
			d.tv_nsec = (long)((until - now - (double)d.tv_sec) * 1e9);
			nanosleep(&d, NULL);
			now = perf_now_s() - t0;
			if (live && now >= next - 1e-3 && now < r->o.runtime)
				progress(r, now, &last_ios, &last_t);
		}
		if (live)
			printf("\r\033[K");
	}
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < started; t++)
		pthread_join(r->thr[t].tid, NULL);
	elapsed = perf_now_s() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	if (started < r->o.nthreads)
		goto out;
	for (int t = 0; t < r->o.nthreads; t++)
		if (r->thr[t].cpu >= 0 && r->thr[t].err == EINVAL)
			fprintf(stderr, "aisio perf: could not pin thread %d to CPU %d\n", t, r->thr[t].cpu);
	ret = report(r, elapsed, &ru0, &ru1);
out:
	teardown(r);
	perf_opts_free(&r->o);
	free(r);
	return ret;
}
