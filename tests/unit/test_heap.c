/* SPDX-License-Identifier: MIT */
/*
 * Identity regions and the DMA heap: translation, first fit, coalescing,
 * alignment, several regions, region lookup, and allocation from several
 * threads at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <aisio/aisio.h>

#include "mem/region.h"
#include "t.h"

#define PG 4096u

static void test_identity(void)
{
	struct aisio_mem_region *r;
	static uint8_t mem[3 * PG];

	REQUIRE(!aisio_mem_region_identity(5 * PG + 1, &r));
	CHECK_EQ((uintptr_t)r->va & (PG - 1), 0);
	CHECK(r->len >= 5 * PG + 1);
	for (size_t off = 0; off < r->len; off += 1237) {
		CHECK_EQ(aisio_mem_bus(r, r->va + off), (uintptr_t)r->va + off);
		CHECK(aisio_mem_chunk_left(r, r->va + off) >= r->len - off);
	}
	memset(r->va, 0xee, r->len); /* writable */
	CHECK(aisio_mem_contains(r, r->va, r->len));
	CHECK(!aisio_mem_contains(r, r->va, r->len + 1));
	CHECK(!aisio_mem_contains(r, r->va + r->len, 1));
	CHECK(!aisio_mem_contains(r, r->va - 1, 1));
	aisio_mem_region_release(r);

	/* Large regions get a chunk table with one entry per 2 MiB. */
	REQUIRE(!aisio_mem_region_identity(5u << 20, &r));
	CHECK(r->len >> r->chunk_shift >= 2);
	CHECK_EQ(aisio_mem_bus(r, r->va + (4u << 20) + 5), (uintptr_t)r->va + (4u << 20) + 5);
	aisio_mem_region_release(r);

	REQUIRE(!aisio_mem_region_identity_wrap(mem + 8, sizeof(mem) - 8, &r));
	CHECK_EQ(aisio_mem_bus(r, mem + 100), (uintptr_t)(mem + 100));
	CHECK_EQ(r->len, sizeof(mem) - 8);
	aisio_mem_region_release(r);
	CHECK_EQ(mem[0], 0); /* caller's memory is left alone */

	CHECK_EQ(aisio_mem_region_identity(0, &r), -EINVAL);
	CHECK(r == NULL);
	CHECK(*aisio_errmsg() != '\0');
	CHECK_EQ(aisio_mem_region_identity_wrap(NULL, 10, &r), -EINVAL);
	aisio_mem_region_release(NULL);
}

static struct aisio_heap *new_heap(size_t pages)
{
	struct aisio_heap *h;
	struct aisio_mem_region *r;

	REQUIRE(!aisio_heap_init(&h));
	REQUIRE(!aisio_mem_region_identity(pages * PG, &r));
	REQUIRE(!aisio_heap_add_region(h, r));
	return h;
}

static void test_first_fit(void)
{
	const size_t n = 64;
	struct aisio_heap *h = new_heap(n);
	void *p[64], *q;

	for (size_t i = 0; i < n; i++) {
		p[i] = aisio_heap_alloc(h, 1, 0);
		REQUIRE(p[i]);
		CHECK_EQ((uintptr_t)p[i] & (PG - 1), 0);
		if (i)
			CHECK(p[i] == (uint8_t *)p[i - 1] + PG); /* first fit: lowest free page */
	}
	CHECK(aisio_heap_alloc(h, 1, 0) == NULL);
	/* Free a page in the middle; the next one-page allocation takes it. */
	aisio_heap_free(h, p[10]);
	q = aisio_heap_alloc(h, PG, 0);
	CHECK(q == p[10]);
	/* Free every other page: no two-page hole, so a two-page request fails. */
	for (size_t i = 0; i < n; i += 2)
		aisio_heap_free(h, p[i]);
	CHECK(aisio_heap_alloc(h, 2 * PG, 0) == NULL);
	/* Free the rest in reverse: everything coalesces into one extent. */
	for (size_t i = n - 1; i < n; i -= 2)
		aisio_heap_free(h, p[i]);
	q = aisio_heap_alloc(h, n * PG, 0);
	CHECK(q == p[0]);
	aisio_heap_free(h, q);
	/* Coalescing with both neighbours at once. */
	void *a = aisio_heap_alloc(h, 3 * PG, 0);
	void *b = aisio_heap_alloc(h, 5 * PG - 7, 0);
	void *c = aisio_heap_alloc(h, PG + 1, 0);
	REQUIRE(a && b && c);
	CHECK(b == (uint8_t *)a + 3 * PG);
	CHECK(c == (uint8_t *)b + 5 * PG);
	aisio_heap_free(h, a);
	aisio_heap_free(h, c);
	aisio_heap_free(h, b);
	q = aisio_heap_alloc(h, n * PG, 0);
	CHECK(q == a);
	aisio_heap_free(h, q);
	/* Bad requests. */
	CHECK(aisio_heap_alloc(h, 0, 0) == NULL);
	CHECK(aisio_heap_alloc(h, (n + 1) * PG, 0) == NULL);
	CHECK(aisio_heap_alloc(h, PG, 3 * PG) == NULL);
	CHECK(aisio_heap_alloc(h, SIZE_MAX, 0) == NULL);
	aisio_heap_free(h, NULL);
	aisio_heap_term(h);
}

static void test_align(void)
{
	struct aisio_heap *h = new_heap(2048); /* 8 MiB */
	void *small = aisio_heap_alloc(h, 1, 16);
	void *p;

	REQUIRE(small);
	CHECK_EQ((uintptr_t)small & (PG - 1), 0);
	for (size_t align = 8192; align <= (2u << 20); align <<= 1) {
		p = aisio_heap_alloc(h, PG, align);
		REQUIRE(p);
		CHECK_EQ((uintptr_t)p & (align - 1), 0);
		/* The pages skipped for alignment stay usable. */
		void *fill = aisio_heap_alloc(h, PG, 0);
		CHECK(fill != NULL && (uint8_t *)fill < (uint8_t *)p + align);
		aisio_heap_free(h, fill);
		aisio_heap_free(h, p);
	}
	aisio_heap_free(h, small);
	p = aisio_heap_alloc(h, 2048 * PG, 0);
	CHECK(p != NULL);
	aisio_heap_term(h);
}

static void test_regions(void)
{
	struct aisio_heap *h;
	struct aisio_mem_region *r1, *r2;
	void *p[8];
	static uint8_t outside[16];

	REQUIRE(!aisio_heap_init(&h));
	REQUIRE(!aisio_mem_region_identity(4 * PG, &r1));
	REQUIRE(!aisio_mem_region_identity(4 * PG, &r2));
	REQUIRE(!aisio_heap_add_region(h, r1));
	REQUIRE(!aisio_heap_add_region(h, r2));
	for (int i = 0; i < 8; i++) {
		p[i] = aisio_heap_alloc(h, PG, 0);
		REQUIRE(p[i]);
		CHECK(aisio_heap_region(h, p[i]) == (i < 4 ? r1 : r2));
	}
	CHECK(aisio_heap_alloc(h, PG, 0) == NULL);
	/* Lookups alternate regions: the cache must not return a stale one. */
	for (int k = 0; k < 10; k++)
		for (int i = 0; i < 8; i += 3)
			CHECK(aisio_heap_region(h, (uint8_t *)p[i] + 17) == (i < 4 ? r1 : r2));
	CHECK(aisio_heap_region(h, outside) == NULL);
	/* A two-page block exists only in the second region once it has a hole. */
	aisio_heap_free(h, p[5]);
	aisio_heap_free(h, p[6]);
	aisio_heap_free(h, p[1]);
	void *q = aisio_heap_alloc(h, 2 * PG, 0);
	CHECK(q == p[5]);
	/* Frees of foreign or interior pointers are ignored. */
	aisio_heap_free(h, outside);
	aisio_heap_free(h, (uint8_t *)q + 8);
	aisio_heap_free(h, (uint8_t *)q + PG);
	CHECK(aisio_heap_alloc(h, 2 * PG, 0) == NULL);
	/* A region that is not page aligned is refused with a message. */
	struct aisio_mem_region *odd;
	REQUIRE(!aisio_mem_region_identity_wrap(outside + 1, 8, &odd));
	CHECK_EQ(aisio_heap_add_region(h, odd), -EINVAL);
	CHECK(strstr(aisio_errmsg(), "page") != NULL);
	aisio_mem_region_release(odd);
	aisio_heap_term(h);
}

/* Threads allocate, stamp, check and free; overlapping blocks would corrupt stamps. */
struct worker {
	struct aisio_heap *h;
	unsigned seed;
	int bad;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	void *held[16] = { 0 };
	size_t lens[16] = { 0 };

	for (int it = 0; it < 20000; it++) {
		int k = rand_r(&w->seed) % 16;
		if (held[k]) {
			for (size_t i = 0; i < lens[k]; i += 512)
				if (((uint8_t *)held[k])[i] != ((uint8_t *)held[k])[0])
					w->bad++;
			aisio_heap_free(w->h, held[k]);
			held[k] = NULL;
			continue;
		}
		lens[k] =
			(size_t)(rand_r(&w->seed) % 6 + 1) * PG - (size_t)(rand_r(&w->seed) % 100);
		held[k] = aisio_heap_alloc(w->h, lens[k], (rand_r(&w->seed) & 1) ? 16384 : 0);
		if (held[k])
			memset(held[k], rand_r(&w->seed) & 0xff, lens[k]);
	}
	for (int k = 0; k < 16; k++)
		aisio_heap_free(w->h, held[k]);
	return NULL;
}

static void test_threads(void)
{
	struct aisio_heap *h = new_heap(256);
	struct worker w[4];
	pthread_t t[4];

	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .h = h, .seed = 1234u + (unsigned)i };
		REQUIRE(!pthread_create(&t[i], NULL, worker_fn, &w[i]));
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(w[i].bad, 0);
	}
	/* Everything freed: the whole region is one extent again. */
	CHECK(aisio_heap_alloc(h, 256 * PG, 0) != NULL);
	aisio_heap_term(h);
}

int main(void)
{
	test_identity();
	test_first_fit();
	test_align();
	test_regions();
	test_threads();
	return t_result("heap");
}
