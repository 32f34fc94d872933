/* SPDX-License-Identifier: MIT */
/* aisio perf: options, clock, latency histogram and output shared by run and verify. */
#ifndef AISIO_TOOLS_PERF_H
#define AISIO_TOOLS_PERF_H

#include <stdint.h>
#include <stdio.h>

#include <aisio/aisio.h>

enum perf_pattern { PAT_READ, PAT_WRITE, PAT_RANDREAD, PAT_RANDWRITE, PAT_RANDRW };

struct perf_opts {
	char **uris;
	int nuris;
	int nthreads;
	int *cpus;           /* --cpus: one thread per listed CPU, pinned */
	int ncpus;
	uint32_t nqueues;    /* per thread per device */
	uint32_t qdepth;     /* commands in flight per queue */
	uint32_t iosize;     /* bytes */
	double runtime;      /* seconds */
	int pattern;
	int rwmix;           /* percent reads for randrw */
	uint64_t offset;     /* bytes; region of the namespace to use */
	uint64_t size;       /* bytes; 0 = to the end */
	uint64_t seed;
	int seed_set;
	int json;
	int only;            /* verify: 0 write+read, 1 write only, 2 read only */
	struct aisio_open_opts open;
};

/* Parse argv for 'perf run' or 'perf verify'. Returns 0, 1 (--help shown), or -1 (message printed). */
int perf_opts_parse(struct perf_opts *o, int argc, char **argv, int verify);
void perf_opts_free(struct perf_opts *o);
const char *perf_pattern_name(int pattern);

/*
 * Open @uri with the options and find the LBA region to use: [*slba,
 * *slba + *nlbas). Checks --offset/--size against the namespace and the I/O
 * size against the LBA size and transfer limit (@iosize 0: not checked).
 * Creates or grows a file: only when o->open.flags has AISIO_OPEN_CREATE, and
 * says so. Prints the problem and returns -1 on error.
 */
int perf_dev_open(const struct perf_opts *o, const char *uri, uint32_t iosize,
		  struct aisio_dev **dev, uint64_t *slba, uint64_t *nlbas);

/* ---- Clock: TSC calibrated once (x86-64), CLOCK_MONOTONIC elsewhere ----- */

#if defined(__x86_64__)
#include <x86intrin.h>
static inline uint64_t perf_ticks(void)
{
	return __rdtsc();
}
#else
#include <time.h>
static inline uint64_t perf_ticks(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

void perf_clock_init(void);
double perf_ticks_to_ns(uint64_t ticks);
double perf_now_s(void); /* CLOCK_MONOTONIC seconds */

/* ---- Log-linear latency histogram (in ticks) ----------------------------- */

/* 32 linear sub-buckets per power of two: within about 3% at any scale. */
#define PERF_HIST_SUB_BITS 5
#define PERF_HIST_SUB (1u << PERF_HIST_SUB_BITS)
#define PERF_HIST_BUCKETS ((64 - PERF_HIST_SUB_BITS + 1) * PERF_HIST_SUB)

struct perf_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t max;
	uint64_t b[PERF_HIST_BUCKETS];
};

static inline uint32_t perf_hist_index(uint64_t v)
{
	uint32_t msb;

	if (v < PERF_HIST_SUB)
		return (uint32_t)v;
	msb = 63u - (uint32_t)__builtin_clzll(v);
	return (msb - PERF_HIST_SUB_BITS + 1) * PERF_HIST_SUB +
	       (uint32_t)((v >> (msb - PERF_HIST_SUB_BITS)) & (PERF_HIST_SUB - 1));
}

static inline void perf_hist_add(struct perf_hist *h, uint64_t v)
{
	h->b[perf_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

void perf_hist_merge(struct perf_hist *dst, const struct perf_hist *src);
/* Value (ticks) at quantile @q (0..1): the midpoint of its bucket. */
uint64_t perf_hist_quantile(const struct perf_hist *h, double q);

/* ---- Output ------------------------------------------------------------- */

struct perf_result {
	const char *name;    /* URI or "total" */
	const char *backend;
	uint64_t reads, writes, bytes, failed;
	double elapsed_s;
	struct perf_hist *hist;
	char first_err[256];
};

void perf_print_table_header(FILE *f);
void perf_print_table_row(FILE *f, const struct perf_result *r);
void perf_json_string(FILE *f, const char *s);
void perf_json_result(FILE *f, const struct perf_result *r);
/* 1234567 -> "1,234,567" */
const char *perf_fmt_count(char *buf, size_t n, uint64_t v);

int perf_run(int argc, char **argv);
int perf_verify(int argc, char **argv);

#endif
