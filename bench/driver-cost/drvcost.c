/* SPDX-License-Identifier: MIT */
/*
 * Driver cost: 512-byte random reads at queue depth 128 from one driver
 * thread against null-backed device-model controllers whose threads run on
 * the other cores. Prints IOPS of the driver core and the counts that
 * run.sh needs to turn callgrind's instruction totals into instructions
 * per I/O.
 *
 *   drvcost [--ctrls N] [--qd N] [--seconds S | --ios N] [--size URI_SIZE]
 *           [--driver-cpu C] [--ctrl-cpus any|each] [--yield] [--peek]
 *           [--empty-reaps N]
 *
 * Controller threads run on every CPU but the driver's (--ctrl-cpus any,
 * the default; the scheduler places them), or each on a CPU of its own,
 * the ones after the driver's in turn (each).
 *
 * The loop is the usual one: reap a batch (callbacks re-prepare their
 * slot), then submit everything prepared with one doorbell write.
 * --peek calls reap only when the CQ holds a new entry (looked at through
 * the ring header), so that an instruction count covers work, not polling;
 * --empty-reaps N only calls reap N times on an idle queue, to price a
 * reap that finds nothing.
 *
 * A timed run prints a second line with the driver core's cost per I/O:
 * TSC ticks (constant rate, tsc_ghz, not the core's turbo clock) and
 * nanoseconds of driver-thread CPU time per I/O completed in the window.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <aisio/aisio.h>

#include "drv/drv.h"

struct ctx {
	struct aisio_queue *q;
	void *buf;
	uint32_t nsid;
	uint64_t nlbas;
	uint64_t seed;
	uint64_t done;
	uint64_t errors;
	int stop;
};

static inline uint64_t next_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A random LBA below @n: the high half of a 64 x 64-bit product (as fio
 * scales its random numbers), not a division, which would cost the loop
 * more than some of the driver's own steps. */
static inline uint64_t rand_below(uint64_t *s, uint64_t n)
{
#ifdef DRVCOST_MOD /* the remainder instead, to compare */
	return next_rand(s) % n;
#else
	return (uint64_t)(((unsigned __int128)next_rand(s) * n) >> 64);
#endif
}

/* The application's part: count, then re-arm the slot with a new random read. */
__attribute__((noinline)) void bench_cb(struct aisio_io *io, void *arg);

static inline void arm(struct ctx *c)
{
	struct aisio_io *io = aisio_queue_get_io(c->q);

	aisio_prep_read(io, c->nsid, rand_below(&c->seed, c->nlbas), 1, c->buf, 512);
	aisio_io_set_cb(io, bench_cb, c);
}

__attribute__((noinline)) void bench_cb(struct aisio_io *io, void *arg)
{
	struct ctx *c = arg;

	c->done++;
	if (__builtin_expect(io->status != 0, 0))
		c->errors++;
	if (__builtin_expect(!c->stop, 1))
		arm(c);
}

static int has_cqe(struct aisio_queue *q)
{
	return aisio_nvme_cq_peek(&aisio_nvme_qpair_of(q)->cq) != NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Time-stamp counter ticks (constant rate, not the core's current clock);
 * 0 where there is none, and then no ticks per I/O are printed. */
static uint64_t tsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	return 0;
#endif
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pin(int cpu_from, int cpu_to)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int c = cpu_from; c <= cpu_to; c++)
		CPU_SET(c, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("sched_setaffinity");
}

int main(int argc, char **argv)
{
	int nctrls = 1, qd = 128, driver_cpu = 0, do_yield = 0, peek = 0, ctrl_each = 0;
	double seconds = 5;
	uint64_t ios = 0, empty = 0, reaps = 0, empty_reaps = 0, total = 0, errors = 0, window = 0, k0, k1;
	const char *size = "1G";
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct aisio_dev **devs;
	struct ctx *cx;
	double t0, t1, c0, c1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--yield") || !strcmp(a, "--peek")) {
			*(a[2] == 'y' ? &do_yield : &peek) = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "drvcost: %s needs a value\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--ctrls"))
			nctrls = atoi(v);
		else if (!strcmp(a, "--qd"))
			qd = atoi(v);
		else if (!strcmp(a, "--seconds"))
			seconds = atof(v);
		else if (!strcmp(a, "--ios"))
			ios = strtoull(v, NULL, 0);
		else if (!strcmp(a, "--size"))
			size = v;
		else if (!strcmp(a, "--driver-cpu"))
			driver_cpu = atoi(v);
		else if (!strcmp(a, "--ctrl-cpus")) {
			if (strcmp(v, "any") && strcmp(v, "each")) {
				fprintf(stderr, "drvcost: --ctrl-cpus is any or each, not %s\n", v);
				return 2;
			}
			ctrl_each = v[0] == 'e';
		}
		else if (!strcmp(a, "--empty-reaps"))
			empty = strtoull(v, NULL, 0);
		else {
			fprintf(stderr, "drvcost: unknown option %s\n", a);
			return 2;
		}
	}
	if (nctrls < 1 || qd < 1 || qd > 1023) {
		fprintf(stderr, "drvcost: --ctrls must be >= 1 and --qd 1..1023\n");
		return 2;
	}
	devs = calloc((size_t)nctrls, sizeof(*devs));
	cx = calloc((size_t)nctrls, sizeof(*cx));
	if (!devs || !cx)
		return 1;

	/* Model threads inherit the opener's CPUs: every CPU but the driver's. */
	if (ncpu > 1)
		pin(driver_cpu == 0 ? 1 : 0, driver_cpu == 0 ? (int)ncpu - 1 : driver_cpu - 1);
	for (int i = 0; i < nctrls; i++) {
		char uri[128];
		int err;

		if (ctrl_each && ncpu > 1) {
			int cpu = (int)((driver_cpu + 1 + i % (ncpu - 1)) % ncpu);

			pin(cpu, cpu);
		}
		snprintf(uri, sizeof(uri), "emu:%s,null", size);
		err = aisio_dev_open(uri, NULL, &devs[i]);
		if (!err)
			err = aisio_queue_init(devs[i], (uint32_t)qd + 1, &cx[i].q);
		if (err) {
			fprintf(stderr, "drvcost: %s: %s\n", uri, aisio_errmsg());
			return 1;
		}
		if (!aisio_upci_ctrl(devs[i])) {
			fprintf(stderr, "drvcost: %s is not on the user-space driver\n", uri);
			return 1;
		}
		cx[i].buf = aisio_buf_alloc(devs[i], 4096);
		cx[i].nsid = aisio_dev_geo(devs[i])->nsid;
		cx[i].nlbas = aisio_dev_geo(devs[i])->nlbas;
		cx[i].seed = 0x9e3779b97f4a7c15ull + (uint64_t)i;
	}
	if (ncpu > 1)
		pin(driver_cpu, driver_cpu);

	if (empty) {
		for (uint64_t i = 0; i < empty; i++)
			aisio_queue_reap(cx[0].q, 0);
		printf("empty_reaps %llu\n", (unsigned long long)empty);
		goto out;
	}

	for (int i = 0; i < nctrls; i++) {
		for (int k = 0; k < qd; k++)
			arm(&cx[i]);
		aisio_queue_submit(cx[i].q);
	}
	t0 = now_s();
	c0 = thread_cpu_s();
	k0 = tsc();
	for (uint64_t iter = 0;; iter++) {
		int found = 0;

		for (int i = 0; i < nctrls; i++) {
			int n;

			if (peek && !has_cqe(cx[i].q)) {
				empty_reaps++;
				continue;
			}
			n = aisio_queue_reap(cx[i].q, 0);
			reaps++;
			if (n > 0) {
				found = 1;
				aisio_queue_submit(cx[i].q);
			} else {
				empty_reaps++;
			}
		}
		if (!found && do_yield)
			sched_yield();
		if ((iter & 255) == 0) {
			uint64_t d = 0;

			for (int i = 0; i < nctrls; i++)
				d += cx[i].done;
			if (ios ? d >= ios : now_s() - t0 >= seconds)
				break;
		}
	}
	k1 = tsc();
	c1 = thread_cpu_s();
	t1 = now_s();
	for (int i = 0; i < nctrls; i++)
		window += cx[i].done;
	for (int i = 0; i < nctrls; i++) {
		cx[i].stop = 1;
		while (aisio_queue_outstanding(cx[i].q)) {
			if (peek && !has_cqe(cx[i].q)) {
				if (do_yield)
					sched_yield();
				continue;
			}
			if (aisio_queue_reap(cx[i].q, 0) < 0)
				break;
		}
		total += cx[i].done;
		errors += cx[i].errors;
	}
	printf("ctrls %d qd %d seconds %.3f ios %llu errors %llu reaps %llu empty_reaps %llu iops %.0f\n",
	       nctrls, qd, t1 - t0, (unsigned long long)total, (unsigned long long)errors,
	       (unsigned long long)reaps, (unsigned long long)empty_reaps, (double)total / (t1 - t0));
	/* Cost of one I/O on the driver core over the timed window (the drain
	 * after it is left out): TSC ticks and nanoseconds of driver-thread CPU
	 * time per completed I/O, and the TSC rate to turn ticks into seconds. */
	if (window)
		printf("window_ios %llu tsc_per_io %.1f tsc_ghz %.3f cpu_ns_per_io %.2f driver_cpu_share %.3f\n",
		       (unsigned long long)window, k1 > k0 ? (double)(k1 - k0) / (double)window : 0.0,
		       k1 > k0 ? (double)(k1 - k0) / (t1 - t0) / 1e9 : 0.0, (c1 - c0) * 1e9 / (double)window,
		       (c1 - c0) / (t1 - t0));
out:
	for (int i = 0; i < nctrls; i++) {
		aisio_buf_free(devs[i], cx[i].buf);
		aisio_queue_term(cx[i].q);
		aisio_dev_close(devs[i]);
	}
	free(devs);
	free(cx);
	return errors ? 1 : 0;
}
