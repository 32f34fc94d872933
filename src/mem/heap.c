/* SPDX-License-Identifier: MIT */
/*
 * A page-granular heap over DMA regions: first fit over an address-ordered
 * list of free extents per region, merged with both neighbours on free.
 * Allocation sizes live in a per-page table so that free() needs only the
 * pointer. Queues on several threads allocate, so a mutex guards the lists;
 * aisio_heap_region() is lock-free (regions are only ever appended).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "mem/region.h"
#include "util/err.h"

#define HEAP_PAGE_SHIFT 12
#define HEAP_PAGE ((size_t)1 << HEAP_PAGE_SHIFT)
#define HEAP_MAX_REGIONS 64

struct heap_extent {
	struct heap_extent *next;
	size_t start; /* first page */
	size_t npages;
};

struct heap_region {
	struct aisio_mem_region *r;
	size_t npages;
	uint32_t *alloc_pages;	  /* pages of the allocation starting at each page, 0 = none */
	struct heap_extent *free; /* address order, never adjacent */
};

struct aisio_heap {
	pthread_mutex_t lock;
	struct heap_region regions[HEAP_MAX_REGIONS];
	unsigned nregions; /* published with release order after the slot is filled */
	const struct aisio_mem_region *last; /* last lookup hit */
};

int aisio_heap_init(struct aisio_heap **out)
{
	struct aisio_heap *h;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return aisio_err(-ENOMEM, "out of memory for a DMA heap");
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return 0;
}

int aisio_heap_add_region(struct aisio_heap *h, struct aisio_mem_region *r)
{
	struct heap_region *hr;
	struct heap_extent *e;
	size_t npages;
	int err = 0;

	if (!r)
		return aisio_err(-EINVAL, "heap: NULL region");
	if (((uintptr_t)r->va & (HEAP_PAGE - 1)) || r->len < HEAP_PAGE)
		return aisio_err(-EINVAL,
				 "heap: region '%s' is not page aligned or smaller than a page",
				 r->name ? r->name : "?");
	npages = r->len >> HEAP_PAGE_SHIFT;
	if (npages > UINT32_MAX)
		return aisio_err(-EINVAL, "heap: region of %zu bytes is too large", r->len);

	pthread_mutex_lock(&h->lock);
	if (h->nregions == HEAP_MAX_REGIONS) {
		err = aisio_err(-ENOSPC, "heap: more than %d regions", HEAP_MAX_REGIONS);
		goto out_unlock;
	}
	hr = &h->regions[h->nregions];
	hr->alloc_pages = calloc(npages, sizeof(*hr->alloc_pages));
	e = malloc(sizeof(*e));
	if (!hr->alloc_pages || !e) {
		free(hr->alloc_pages);
		hr->alloc_pages = NULL;
		free(e);
		err = aisio_err(-ENOMEM, "out of memory for the heap's page table");
		goto out_unlock;
	}
	e->next = NULL;
	e->start = 0;
	e->npages = npages;
	hr->free = e;
	hr->npages = npages;
	hr->r = r;
	__atomic_store_n(&h->nregions, h->nregions + 1, __ATOMIC_RELEASE);
out_unlock:
	pthread_mutex_unlock(&h->lock);
	return err;
}

void aisio_heap_term(struct aisio_heap *h)
{
	if (!h)
		return;
	for (unsigned i = 0; i < h->nregions; i++) {
		struct heap_region *hr = &h->regions[i];
		struct heap_extent *e = hr->free;

		while (e) {
			struct heap_extent *next = e->next;
			free(e);
			e = next;
		}
		free(hr->alloc_pages);
		aisio_mem_region_release(hr->r);
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* First fit in one region; returns the first page or SIZE_MAX. */
static size_t region_alloc(struct heap_region *hr, size_t npages, size_t align_pages)
{
	struct heap_extent **pp = &hr->free;
	uintptr_t base = (uintptr_t)hr->r->va >> HEAP_PAGE_SHIFT;

	for (struct heap_extent *e = *pp; e; pp = &e->next, e = e->next) {
		/* Align the address, not the page index: the region may start anywhere. */
		size_t start = (size_t)(((base + e->start + align_pages - 1) &
					 ~(uintptr_t)(align_pages - 1)) -
					base);
		size_t lead = start - e->start;

		if (lead > e->npages || e->npages - lead < npages)
			continue;
		size_t tail = e->npages - lead - npages;
		if (lead && tail) {
			struct heap_extent *t = malloc(sizeof(*t));
			if (!t)
				return SIZE_MAX;
			t->start = start + npages;
			t->npages = tail;
			t->next = e->next;
			e->next = t;
			e->npages = lead;
		} else if (lead) {
			e->npages = lead;
		} else if (tail) {
			e->start += npages;
			e->npages = tail;
		} else {
			*pp = e->next;
			free(e);
		}
		hr->alloc_pages[start] = (uint32_t)npages;
		return start;
	}
	return SIZE_MAX;
}

void *aisio_heap_alloc(struct aisio_heap *h, size_t len, size_t align)
{
	size_t npages, align_pages;
	void *p = NULL;

	if (!len || len > SIZE_MAX - HEAP_PAGE)
		return NULL;
	if (align & (align - 1))
		return NULL;
	if (align < HEAP_PAGE)
		align = HEAP_PAGE;
	npages = (len + HEAP_PAGE - 1) >> HEAP_PAGE_SHIFT;
	align_pages = align >> HEAP_PAGE_SHIFT;
	if (npages > UINT32_MAX)
		return NULL;

	pthread_mutex_lock(&h->lock);
	for (unsigned i = 0; i < h->nregions; i++) {
		struct heap_region *hr = &h->regions[i];
		size_t start = region_alloc(hr, npages, align_pages);

		if (start != SIZE_MAX) {
			p = hr->r->va + (start << HEAP_PAGE_SHIFT);
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return p;
}

static struct heap_region *region_of(struct aisio_heap *h, const void *p)
{
	unsigned n = __atomic_load_n(&h->nregions, __ATOMIC_ACQUIRE);

	for (unsigned i = 0; i < n; i++)
		if (aisio_mem_contains(h->regions[i].r, p, 1))
			return &h->regions[i];
	return NULL;
}

/* Give pages back, merging with the free neighbours on either side. */
static int region_free(struct heap_region *hr, size_t start, size_t npages)
{
	struct heap_extent **pp = &hr->free;
	struct heap_extent *prev = NULL, *e;

	while (*pp && (*pp)->start < start) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	e = *pp;
	if (prev && prev->start + prev->npages == start) {
		prev->npages += npages;
		if (e && prev->start + prev->npages == e->start) {
			prev->npages += e->npages;
			prev->next = e->next;
			free(e);
		}
		return 0;
	}
	if (e && start + npages == e->start) {
		e->start = start;
		e->npages += npages;
		return 0;
	}
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->start = start;
	e->npages = npages;
	e->next = *pp;
	*pp = e;
	return 0;
}

void aisio_heap_free(struct aisio_heap *h, void *p)
{
	struct heap_region *hr;
	size_t off, page;

	if (!p)
		return;
	hr = region_of(h, p);
	if (!hr)
		return;
	off = (size_t)((uint8_t *)p - hr->r->va);
	if (off & (HEAP_PAGE - 1))
		return;
	page = off >> HEAP_PAGE_SHIFT;
	pthread_mutex_lock(&h->lock);
	if (hr->alloc_pages[page]) {
		/* On allocation failure of a list node the pages stay allocated (a leak, not a crash). */
		if (!region_free(hr, page, hr->alloc_pages[page]))
			hr->alloc_pages[page] = 0;
	}
	pthread_mutex_unlock(&h->lock);
}

const struct aisio_mem_region *aisio_heap_region(struct aisio_heap *h, const void *p)
{
	const struct aisio_mem_region *r = __atomic_load_n(&h->last, __ATOMIC_RELAXED);
	struct heap_region *hr;

	if (r && aisio_mem_contains(r, p, 1))
		return r;
	hr = region_of(h, p);
	if (!hr)
		return NULL;
	__atomic_store_n(&h->last, hr->r, __ATOMIC_RELAXED);
	return hr->r;
}
