/* SPDX-License-Identifier: MIT */
/* aisio perf: clock calibration, histogram quantiles, table and JSON output. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "perf.h"

static double ns_per_tick = 1.0;

double perf_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Calibrate the tick counter against CLOCK_MONOTONIC once, over 20 ms. */
void perf_clock_init(void)
{
#if defined(__x86_64__)
	struct timespec d = { 0, 20 * 1000 * 1000 };
	double t0 = perf_now_s();
	uint64_t c0 = perf_ticks();

	nanosleep(&d, NULL);
	double t1 = perf_now_s();
	uint64_t c1 = perf_ticks();

	if (c1 > c0)
		ns_per_tick = (t1 - t0) * 1e9 / (double)(c1 - c0);
#endif
}

double perf_ticks_to_ns(uint64_t ticks)
{
	return (double)ticks * ns_per_tick;
}

void perf_hist_merge(struct perf_hist *dst, const struct perf_hist *src)
{
	for (uint32_t i = 0; i < PERF_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->max > dst->max)
		dst->max = src->max;
}

static uint64_t bucket_low(uint32_t i)
{
	uint32_t g = i / PERF_HIST_SUB, sub = i % PERF_HIST_SUB;

	return g ? (uint64_t)(PERF_HIST_SUB + sub) << (g - 1) : sub;
}

uint64_t perf_hist_quantile(const struct perf_hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return 0;
	want = (uint64_t)(q * (double)h->count);
	if (want >= h->count)
		want = h->count - 1;
	for (uint32_t i = 0; i < PERF_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want) {
			uint64_t lo = bucket_low(i), hi = bucket_low(i + 1);
			uint64_t mid = lo + (hi - lo) / 2;

			return mid < h->max ? mid : h->max;
		}
	}
	return h->max;
}

const char *perf_fmt_count(char *buf, size_t n, uint64_t v)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	size_t o = 0;

	for (int i = 0; i < len && o + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static double lat_us(const struct perf_result *r, double q)
{
	return perf_ticks_to_ns(perf_hist_quantile(r->hist, q)) / 1000.0;
}

void perf_print_table_header(FILE *f)
{
	fprintf(f, "%-24s %-9s %12s %10s %8s %9s %9s %9s\n", "device", "backend", "IOPS", "MiB/s",
		"failed", "p50 us", "p99 us", "p99.9 us");
}

void perf_print_table_row(FILE *f, const struct perf_result *r)
{
	uint64_t ios = r->reads + r->writes + r->failed;
	double e = r->elapsed_s > 0 ? r->elapsed_s : 1;
	char iops[32];

	fprintf(f, "%-24s %-9s %12s %10.1f %8" PRIu64 " %9.1f %9.1f %9.1f\n", r->name,
		r->backend ? r->backend : "", perf_fmt_count(iops, sizeof(iops), (uint64_t)(ios / e)),
		(double)r->bytes / e / (1 << 20), r->failed, lat_us(r, 0.50), lat_us(r, 0.99),
		lat_us(r, 0.999));
}

void perf_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void perf_json_result(FILE *f, const struct perf_result *r)
{
	uint64_t ios = r->reads + r->writes + r->failed;
	double e = r->elapsed_s > 0 ? r->elapsed_s : 1;
	double mean = r->hist->count ? perf_ticks_to_ns(r->hist->sum) / (double)r->hist->count : 0;

	fprintf(f, "{\"name\": ");
	perf_json_string(f, r->name);
	if (r->backend) {
		fprintf(f, ", \"backend\": ");
		perf_json_string(f, r->backend);
	}
	fprintf(f, ", \"reads\": %" PRIu64 ", \"writes\": %" PRIu64 ", \"failed\": %" PRIu64
		", \"ios\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"elapsed_s\": %.6f"
		", \"iops\": %.1f, \"mibps\": %.2f",
		r->reads, r->writes, r->failed, ios, r->bytes, r->elapsed_s, (double)ios / e,
		(double)r->bytes / e / (1 << 20));
	fprintf(f, ", \"lat_us\": {\"mean\": %.2f, \"p50\": %.2f, \"p99\": %.2f, \"p99.9\": %.2f"
		", \"max\": %.2f}", mean / 1000.0, lat_us(r, 0.50), lat_us(r, 0.99), lat_us(r, 0.999),
		perf_ticks_to_ns(r->hist->max) / 1000.0);
	fprintf(f, ", \"first_error\": ");
	if (r->first_err[0])
		perf_json_string(f, r->first_err);
	else
		fprintf(f, "null");
	fprintf(f, "}");
}
