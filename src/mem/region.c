/* SPDX-License-Identifier: MIT */
/*
 * Identity regions: bus address == virtual address. The device model reads
 * and writes host memory directly, so its "DMA" memory needs no translation;
 * the chunk table is still filled so that every consumer takes the same path
 * as with uio, vfio or dma-buf regions.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mem/region.h"
#include "util/err.h"

/* 2 MiB chunks: large enough that contiguity checks rarely cross one. */
#define IDENTITY_CHUNK_SHIFT 21

struct identity_priv {
	size_t map_len; /* bytes mapped by us; 0 when the caller owns the memory */
};

/* The descriptor, private data and chunk table are one allocation (see below). */
static void identity_release(struct aisio_mem_region *r)
{
	struct identity_priv *p = r->priv;

	if (p->map_len)
		munmap(r->va, p->map_len);
	free(r);
}

static const struct aisio_mem_region_ops identity_ops = {
	.release = identity_release,
};

/* One allocation holds the region, its private data and its chunk table. */
struct identity_region {
	struct aisio_mem_region r;
	struct identity_priv p;
	uint64_t bus[];
};

void aisio_mem_region_init_linear(struct aisio_mem_region *r, void *va, size_t len, unsigned shift,
				  uint64_t *bus, uint64_t bus0, const struct aisio_mem_region_ops *ops,
				  const char *name)
{
	size_t nchunks = ((len - 1) >> shift) + 1;

	for (size_t i = 0; i < nchunks; i++)
		bus[i] = bus0 + ((uint64_t)i << shift);
	r->va = va;
	r->len = len;
	r->chunk_shift = shift;
	r->bus = bus;
	r->kind = AISIO_MEM_HOST;
	r->gpu = -1;
	r->ops = ops;
	r->name = name;
}

static int identity_new(void *va, size_t len, size_t map_len, struct aisio_mem_region **out)
{
	size_t nchunks = ((len - 1) >> IDENTITY_CHUNK_SHIFT) + 1;
	struct identity_region *ir;

	ir = calloc(1, sizeof(*ir) + nchunks * sizeof(uint64_t));
	if (!ir)
		return aisio_err(-ENOMEM, "out of memory for a region's chunk table");
	aisio_mem_region_init_linear(&ir->r, va, len, IDENTITY_CHUNK_SHIFT, ir->bus,
				     (uint64_t)(uintptr_t)va, &identity_ops, "identity");
	ir->p.map_len = map_len;
	ir->r.priv = &ir->p;
	*out = &ir->r;
	return 0;
}

int aisio_mem_region_identity(size_t len, struct aisio_mem_region **out)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t map_len;
	void *va;
	int err;

	*out = NULL;
	if (!len)
		return aisio_err(-EINVAL, "identity region: length is 0");
	if (len > SIZE_MAX - pg)
		return aisio_err(-ENOMEM, "identity region: length %zu is too large", len);
	map_len = (len + pg - 1) & ~(pg - 1);
	va = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (va == MAP_FAILED)
		return aisio_err(-ENOMEM, "identity region: cannot map %zu bytes", map_len);
	/* Large regions back queues and buffers; huge pages cut TLB misses. */
	if (map_len >= ((size_t)1 << IDENTITY_CHUNK_SHIFT))
		madvise(va, map_len, MADV_HUGEPAGE);
	err = identity_new(va, map_len, map_len, out);
	if (err)
		munmap(va, map_len);
	return err;
}

int aisio_mem_region_identity_wrap(void *va, size_t len, struct aisio_mem_region **out)
{
	*out = NULL;
	if (!va || !len)
		return aisio_err(-EINVAL, "identity wrap: NULL memory or length 0");
	return identity_new(va, len, 0, out);
}

void aisio_mem_region_release(struct aisio_mem_region *r)
{
	/* The provider frees its memory, its translation and the descriptor itself. */
	if (r && r->ops && r->ops->release)
		r->ops->release(r);
}
