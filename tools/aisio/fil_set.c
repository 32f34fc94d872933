/* SPDX-License-Identifier: MIT */
/* aisio fil: the manifest, the units a run reads, and what every path shares. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <aisio/pattern.h>

#include "fil.h"

uint64_t fil_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int bad_manifest(const char *where, unsigned line, const char *what)
{
	fprintf(stderr, "aisio fil: %s is not a valid " FIL_MANIFEST " manifest (line %u: %s); "
		"make datasets with aisio fil gen\n", where, line, what);
	return -EINVAL;
}

int fil_manifest_parse(const char *where, const char *txt, size_t len, struct fil_set *s)
{
	const char *p = txt, *end = txt + len;
	uint64_t nfiles = 0, bytes = 0, sum = 0;
	unsigned line = 0;

	memset(s, 0, sizeof(*s));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char buf[4200];

		line++;
		if (l >= sizeof(buf))
			return bad_manifest(where, line, "line too long");
		memcpy(buf, p, l);
		buf[l] = 0;
		p += l + (nl != NULL);
		if (line == 1) {
			if (strcmp(buf, FIL_MAGIC))
				return bad_manifest(where, line, "does not start with '" FIL_MAGIC "'");
			continue;
		}
		if (line <= 5) {
			int n = 0;

			if (line == 2 && sscanf(buf, "profile %31s%n", s->profile, &n) == 1 && !buf[n])
				continue;
			if (line == 3 && sscanf(buf, "seed %" SCNu64 "%n", &s->gen_seed, &n) == 1 && !buf[n])
				continue;
			if (line == 4 && sscanf(buf, "files %" SCNu64 "%n", &nfiles, &n) == 1 && !buf[n] &&
			    nfiles <= UINT32_MAX) {
				s->f = calloc(nfiles ? nfiles : 1, sizeof(*s->f));
				if (!s->f)
					return -ENOMEM;
				continue;
			}
			if (line == 5 && sscanf(buf, "bytes %" SCNu64 "%n", &bytes, &n) == 1 && !buf[n])
				continue;
			fil_set_free(s);
			return bad_manifest(where, line, "bad header (profile, seed, files, bytes)");
		}
		{
			uint64_t size;
			int n = 0;

			if (s->n >= nfiles || sscanf(buf, "%" SCNu64 " %n", &size, &n) != 1 || !buf[n] ||
			    buf[n] == '/' || strstr(buf + n, "..")) {
				fil_set_free(s);
				return bad_manifest(where, line, s->n >= nfiles ? "more files than its header says"
								     : "expected 'SIZE PATH'");
			}
			s->f[s->n].path = strdup(buf + n);
			if (!s->f[s->n].path) {
				fil_set_free(s);
				return -ENOMEM;
			}
			s->f[s->n].size = size;
			s->f[s->n].seed = aisio_pattern_seed(buf + n, strlen(buf + n));
			sum += size;
			s->n++;
		}
	}
	if (line < 5 || s->n != nfiles || sum != bytes) {
		fil_set_free(s);
		return bad_manifest(where, line, line < 5 ? "header cut short"
					   : "file count or byte total differs from its header");
	}
	s->bytes = bytes;
	return 0;
}

int fil_set_units(struct fil_set *s, uint64_t chunk)
{
	uint64_t n = 0, dst = 0, al = s->dst_align ? s->dst_align : 256;

	for (uint32_t i = 0; i < s->n; i++)
		n += s->f[i].size ? (s->f[i].size + chunk - 1) / chunk : 1;
	free(s->u);
	s->u = calloc(n, sizeof(*s->u));
	if (!s->u)
		return -ENOMEM;
	s->nunits = 0;
	s->max_unit = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		struct fil_file *f = &s->f[i];
		uint32_t k = 0;

		f->dst_off = dst;
		dst += (f->size + al - 1) / al * al;
		for (uint64_t off = 0; off < f->size || (off == 0 && !f->size); off += chunk, k++) {
			struct fil_unit *u = &s->u[s->nunits++];

			u->file = i;
			u->off = off;
			u->len = (uint32_t)(f->size - off < chunk ? f->size - off : chunk);
			if (u->len > s->max_unit)
				s->max_unit = u->len;
			if (!f->size)
				break;
		}
		atomic_store(&f->units_left, k ? k : 1);
		atomic_store(&f->t_start, 0);
	}
	s->dst_bytes = dst;
	return 0;
}

void fil_set_free(struct fil_set *s)
{
	for (uint32_t i = 0; s->f && i < s->n; i++)
		free(s->f[i].path);
	free(s->f);
	free(s->u);
	memset(s, 0, sizeof(*s));
}

int fil_fail(struct fil_run *r, int err, const char *fmt, ...)
{
	int zero = 0;

	if (atomic_compare_exchange_strong(&r->err, &zero, err)) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(r->errmsg, sizeof(r->errmsg), fmt, ap);
		va_end(ap);
	}
	return err;
}

uint64_t fil_claim(struct fil_run *r)
{
	uint64_t i;

	if (atomic_load_explicit(&r->err, memory_order_relaxed))
		return UINT64_MAX;
	i = atomic_fetch_add(&r->next_unit, 1);
	return i < r->set->nunits ? i : UINT64_MAX;
}

void fil_unit_start(struct fil_run *r, uint64_t ui)
{
	struct fil_file *f = &r->set->f[r->set->u[ui].file];
	uint64_t zero = 0;

	if (!atomic_load_explicit(&f->t_start, memory_order_relaxed))
		atomic_compare_exchange_strong(&f->t_start, &zero, fil_now_ns());
}

void fil_unit_done(struct fil_run *r, uint64_t ui)
{
	const struct fil_unit *u = &r->set->u[ui];
	struct fil_file *f = &r->set->f[u->file];

	atomic_fetch_add_explicit(&r->bytes_done, u->len, memory_order_relaxed);
	if (atomic_fetch_sub(&f->units_left, 1) == 1) {
		r->lat[u->file] = (double)(fil_now_ns() - atomic_load(&f->t_start)) / 1e9;
		atomic_fetch_add_explicit(&r->files_done, 1, memory_order_relaxed);
	}
}

void fil_served_add(struct fil_run *r, int slot, uint64_t bytes)
{
	atomic_fetch_add_explicit(&r->served[slot].reads, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->served[slot].bytes, bytes, memory_order_relaxed);
}

int fil_verify_host(struct fil_run *r, uint32_t fi, uint64_t off, const void *buf, size_t len)
{
	const struct fil_file *f = &r->set->f[fi];
	const uint8_t *p = buf;
	size_t i = 0, bad = len;

	for (; i < len && ((off + i) & 7); i++)
		if (p[i] != aisio_pattern_byte(f->seed, off + i)) {
			bad = i;
			goto found;
		}
	for (; i + 8 <= len; i += 8) {
		uint64_t w = aisio_pattern_word(f->seed, (off + i) >> 3), g;

		memcpy(&g, p + i, 8);
		if (__builtin_expect(g != w, 0)) {
			for (int b = 0; b < 8; b++)
				if (p[i + b] != (uint8_t)(w >> (8 * b))) {
					bad = i + (size_t)b;
					goto found;
				}
		}
	}
	for (; i < len; i++)
		if (p[i] != aisio_pattern_byte(f->seed, off + i)) {
			bad = i;
			goto found;
		}
	return 0;
found:
	{
		int zero = 0;
		uint64_t count = 0;

		for (size_t k = bad; k < len; k++)
			count += p[k] != aisio_pattern_byte(f->seed, off + k);
		if (atomic_compare_exchange_strong(&r->bad, &zero, 1)) {
			r->bad_file = fi;
			r->bad_off = off + bad;
			r->bad_got = p[bad];
			r->bad_want = aisio_pattern_byte(f->seed, off + bad);
		}
		__atomic_fetch_add(&r->bad_count, count, __ATOMIC_RELAXED);
	}
	return -EILSEQ;
}
