/* SPDX-License-Identifier: MIT */
/*
 * DMA memory regions. Translation belongs to memory, not to the driver:
 * every DMA-able buffer lives in a region that turns its virtual addresses
 * into bus addresses through one table of chunk bus addresses. Identity
 * (device model), pagemap (uio), IOVA (vfio) and dma-buf segments (GPU) all
 * fill the same table, so PRP and SGL builders never special-case a backend.
 */
#ifndef AISIO_MEM_REGION_H
#define AISIO_MEM_REGION_H

#include <stddef.h>
#include <stdint.h>

enum aisio_mem_kind {
	AISIO_MEM_HOST = 0, /* host memory, CPU-accessible */
	AISIO_MEM_GPU = 1,  /* GPU device memory (not CPU-accessible) */
};

struct aisio_mem_region;

struct aisio_mem_region_ops {
	/* Release the memory and the translation (unmap IOMMU, free pages...). */
	void (*release)(struct aisio_mem_region *r);
};

struct aisio_mem_region {
	uint8_t *va;            /* start of the region in this process */
	size_t len;             /* bytes */
	unsigned chunk_shift;   /* bus[] granularity: chunks of 1 << chunk_shift bytes */
	uint64_t *bus;          /* bus address of each chunk's first byte */
	enum aisio_mem_kind kind;
	int gpu;                /* GPU index when kind == AISIO_MEM_GPU */
	const struct aisio_mem_region_ops *ops;
	void *priv;             /* provider data */
	const char *name;       /* "emu", "uio-hugepage", "vfio", "cuda" ... */
};

static inline int aisio_mem_contains(const struct aisio_mem_region *r, const void *p, size_t len)
{
	const uint8_t *b = (const uint8_t *)p;
	return b >= r->va && len <= r->len && (size_t)(b - r->va) <= r->len - len;
}

/* Bus address of @p, which must lie inside @r. */
static inline uint64_t aisio_mem_bus(const struct aisio_mem_region *r, const void *p)
{
	size_t off = (size_t)((const uint8_t *)p - r->va);
	return r->bus[off >> r->chunk_shift] + (off & (((size_t)1 << r->chunk_shift) - 1));
}

/* Bytes from @p to the end of its chunk: the span that is contiguous on the bus. */
static inline size_t aisio_mem_chunk_left(const struct aisio_mem_region *r, const void *p)
{
	size_t off = (size_t)((const uint8_t *)p - r->va);
	size_t cs = (size_t)1 << r->chunk_shift;
	return cs - (off & (cs - 1));
}

/*
 * A region of host memory whose bus addresses are its virtual addresses
 * (the device model reads and writes host memory directly). Returns 0 or
 * -ENOMEM.
 */
int aisio_mem_region_identity(size_t len, struct aisio_mem_region **out);

/* Wrap caller-owned memory with identity translation (not freed on release). */
int aisio_mem_region_identity_wrap(void *va, size_t len, struct aisio_mem_region **out);

/*
 * Describe @len bytes of host memory at @va whose bus addresses run on from
 * @bus0 without gaps, in chunks of 1 << @shift bytes: fills @r (kind host,
 * no GPU, @ops, @name; priv is left to the caller) and the chunk table @bus,
 * which holds at least ((len - 1) >> shift) + 1 entries.
 */
void aisio_mem_region_init_linear(struct aisio_mem_region *r, void *va, size_t len, unsigned shift,
				  uint64_t *bus, uint64_t bus0, const struct aisio_mem_region_ops *ops,
				  const char *name);

/* Release a region through its provider. NULL is ignored. */
void aisio_mem_region_release(struct aisio_mem_region *r);

/*
 * A simple allocator over one or more regions: page-granular first fit with
 * coalescing. Used for queues, PRP lists and I/O buffers.
 */
struct aisio_heap;

int aisio_heap_init(struct aisio_heap **out);
/* The heap takes ownership of @r and releases it in aisio_heap_term(). */
int aisio_heap_add_region(struct aisio_heap *h, struct aisio_mem_region *r);
void aisio_heap_term(struct aisio_heap *h);
/* Returns NULL when out of memory. @align is a power of two (0 = 4096). */
void *aisio_heap_alloc(struct aisio_heap *h, size_t len, size_t align);
void aisio_heap_free(struct aisio_heap *h, void *p);
/* The region holding @p (NULL if none); cached for repeated lookups. */
const struct aisio_mem_region *aisio_heap_region(struct aisio_heap *h, const void *p);

#endif
