/* SPDX-License-Identifier: MIT */
/*
 * Hugepage DMA memory. Hugepages are neither swapped nor migrated, so their
 * physical addresses stay valid for as long as they are mapped; one chunk of
 * the region's translation table covers exactly one hugepage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pci/hugemem.h"
#include "util/err.h"

#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif

#define SMALL_CHUNK_SHIFT 21

struct hugemem {
	struct aisio_mem_region r;
	size_t map_len;
	uint64_t bus[];
};

static void hugemem_release(struct aisio_mem_region *r)
{
	struct hugemem *h = (struct hugemem *)r;

	munlock(r->va, h->map_len);
	munmap(r->va, h->map_len);
	free(h);
}

static const struct aisio_mem_region_ops hugemem_ops = {
	.release = hugemem_release,
};

/* Default hugepage size from /proc/meminfo; 0 if hugepages are not configured. */
static size_t hugepage_size(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	size_t kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Hugepagesize: %zu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* An fd of hugetlb memory of @len bytes, or -errno. */
static int hugetlb_fd(size_t len)
{
	const char *dir = getenv("AISIO_HUGETLBFS");
	char path[256];
	int fd;

	fd = memfd_create("aisio-dma", MFD_HUGETLB | MFD_CLOEXEC);
	if (fd < 0) {
		snprintf(path, sizeof(path), "%s/aisio-dma-XXXXXX", dir && *dir ? dir : "/dev/hugepages");
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0)
			return -errno;
		unlink(path);
	}
	if (ftruncate(fd, (off_t)len)) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

int aisio_pci_virt_to_phys(const void *va, uint64_t *pa)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t ent;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return aisio_err(-errno, "open /proc/self/pagemap: %s", strerror(errno));
	n = pread(fd, &ent, sizeof(ent), (off_t)((uintptr_t)va / (uintptr_t)pg * sizeof(ent)));
	close(fd);
	if (n != sizeof(ent))
		return aisio_err(-EIO, "read /proc/self/pagemap: %s", n < 0 ? strerror(errno) : "short read");
	if (!(ent >> 63 & 1))
		return aisio_err(-EFAULT, "page at %p is not present", va);
	/* Bits 0-54 are the PFN; the kernel shows 0 to unprivileged readers. */
	ent &= (1ull << 55) - 1;
	if (!ent)
		return aisio_err(-EPERM, "/proc/self/pagemap hides physical addresses (needs "
					 "CAP_SYS_ADMIN: run as root, or use vfio)");
	*pa = ent * (uint64_t)pg + ((uintptr_t)va % (uintptr_t)pg);
	return 0;
}

static void *map_small(size_t len)
{
	size_t align = (size_t)1 << SMALL_CHUNK_SHIFT;
	uint8_t *m = mmap(NULL, len + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *a;

	if (m == MAP_FAILED)
		return NULL;
	/* Trim to a 2 MiB-aligned piece so chunks start on chunk boundaries. */
	a = (uint8_t *)(((uintptr_t)m + align - 1) & ~(uintptr_t)(align - 1));
	if (a > m)
		munmap(m, (size_t)(a - m));
	munmap(a + len, (size_t)(m + len + align - (a + len)));
	return a;
}

int aisio_pci_hugemem_alloc(size_t len, int phys, int allow_small, const char *name,
			    struct aisio_mem_region **out)
{
	size_t hp = hugepage_size(), map_len = 0, nchunks;
	unsigned shift = 0;
	struct hugemem *h;
	void *va = MAP_FAILED;
	int err = -ENOMEM;

	*out = NULL;
	if (!len)
		return aisio_err(-EINVAL, "DMA memory: length is 0");
	if (hp && !(hp & (hp - 1))) {
		int fd;

		shift = (unsigned)__builtin_ctzll(hp);
		map_len = (len + hp - 1) & ~(hp - 1);
		fd = hugetlb_fd(map_len);
		if (fd >= 0) {
			va = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
			err = va == MAP_FAILED ? -errno : 0;
			close(fd);
		} else {
			err = fd;
		}
	}
	if (va == MAP_FAILED && allow_small && !phys) {
		shift = SMALL_CHUNK_SHIFT;
		map_len = (len + ((size_t)1 << shift) - 1) & ~(((size_t)1 << shift) - 1);
		va = map_small(map_len);
		err = va ? 0 : -ENOMEM;
		if (!va)
			va = MAP_FAILED;
	}
	if (va == MAP_FAILED)
		return aisio_err(err == -EINVAL || err == -ENOSPC ? -ENOMEM : err,
				 "no %zu bytes of hugepage DMA memory (%s); reserve hugepages, e.g. "
				 "echo 64 > /proc/sys/vm/nr_hugepages",
				 len, strerror(-err));
	/* Touch every page so nothing faults later, and keep it resident. */
	memset(va, 0, map_len);
	mlock(va, map_len);

	nchunks = map_len >> shift;
	h = calloc(1, sizeof(*h) + nchunks * sizeof(uint64_t));
	if (!h) {
		munmap(va, map_len);
		return aisio_err(-ENOMEM, "out of memory for a chunk table");
	}
	h->map_len = map_len;
	h->r.va = va;
	h->r.len = map_len;
	h->r.chunk_shift = shift;
	h->r.bus = h->bus;
	h->r.kind = AISIO_MEM_HOST;
	h->r.gpu = -1;
	h->r.ops = &hugemem_ops;
	h->r.name = name;
	if (phys) {
		for (size_t i = 0; i < nchunks; i++) {
			uint8_t *c = (uint8_t *)va + (i << shift);

			err = aisio_pci_virt_to_phys(c, &h->bus[i]);
			if (!err && (h->bus[i] & (((uint64_t)1 << shift) - 1)))
				err = aisio_err(-EFAULT, "hugepage at %p has an unaligned physical address 0x%llx",
						(void *)c, (unsigned long long)h->bus[i]);
			if (err) {
				hugemem_release(&h->r);
				return err;
			}
		}
	}
	*out = &h->r;
	return 0;
}
