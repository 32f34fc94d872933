/* SPDX-License-Identifier: MIT */
/*
 * homid's own DMA memory on a vfio controller (admin queue, Identify data,
 * mediated rings): memfd memory mapped into the function's IOMMU domain
 * with aisio_pci_vfio_map(), like a client's. Being a memfd, it can be
 * handed to the next homid across a restart (handover.c): the admin queue
 * of a running controller cannot move, so the new process maps the same
 * pages, at the same IOVAs, again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "homid.h"
#include "pci/pci.h"
#include "util/err.h"

#define PCI_HOST_CHUNK_SHIFT 21

struct pci_host_region {
	struct aisio_mem_region r;
	struct pci_host *p;
	int fd;
	int adopted; /* handed over by the previous homid */
	uint64_t iova;
	struct pci_host_region *next;
	uint64_t bus[];
};

struct pci_host {
	struct aisio_pcif f;
	struct aisio_pcif *fn;		 /* the vfio function */
	struct pci_host_region *regions; /* every live region, the driver's and adopted ones */
};

static void region_unlink(struct pci_host_region *hr)
{
	for (struct pci_host_region **pp = &hr->p->regions; *pp; pp = &(*pp)->next)
		if (*pp == hr) {
			*pp = hr->next;
			break;
		}
}

static void region_free(struct pci_host_region *hr)
{
	munmap(hr->r.va, hr->r.len);
	homid_store_close(hr->fd);
	free(hr);
}

static void pci_host_release(struct aisio_mem_region *r)
{
	struct pci_host_region *hr = (struct pci_host_region *)r;

	if (aisio_pci_vfio_unmap(hr->p->fn, hr->iova))
		LOG_WARN("%s: withdrawing homid's DMA memory at 0x%llx: %s", hr->p->f.name,
			 (unsigned long long)hr->iova, aisio_errmsg());
	region_unlink(hr);
	region_free(hr);
}

static const struct aisio_mem_region_ops pci_host_region_ops = { .release = pci_host_release };

/* A region of @len bytes of memfd @fd mapped here; the IOVA is set by the caller. */
static int region_new(struct pci_host *p, int fd, size_t len, struct pci_host_region **out)
{
	size_t nchunks = ((len - 1) >> PCI_HOST_CHUNK_SHIFT) + 1;
	struct pci_host_region *hr = calloc(1, sizeof(*hr) + nchunks * sizeof(uint64_t));
	void *va;

	if (!hr)
		return aisio_err(-ENOMEM, "out of memory");
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (va == MAP_FAILED) {
		free(hr);
		return aisio_err(-errno, "%s: mapping %zu bytes of DMA memory: %s", p->f.name, len,
				 strerror(errno));
	}
	hr->r.va = va;
	hr->r.len = len;
	hr->p = p;
	hr->fd = fd;
	*out = hr;
	return 0;
}

static void region_publish(struct pci_host_region *hr, uint64_t iova)
{
	hr->iova = iova;
	aisio_mem_region_init_linear(&hr->r, hr->r.va, hr->r.len, PCI_HOST_CHUNK_SHIFT, hr->bus, iova,
				     &pci_host_region_ops, "homid-vfio");
	hr->next = hr->p->regions;
	hr->p->regions = hr;
	/* a successor after a crash maps it again (fdstore.c) */
	homid_store_add(hr->fd, HOMID_STORE_FD);
}

static int pci_host_dma_alloc(struct aisio_pcif *f, size_t len, struct aisio_mem_region **out)
{
	struct pci_host *p = (struct pci_host *)f;
	struct pci_host_region *hr;
	uint64_t iova;
	int fd, err;

	*out = NULL;
	len = (len + 4095) & ~(size_t)4095;
	fd = memfd_create("homid-dma", MFD_CLOEXEC);
	if (fd < 0)
		return aisio_err(-errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(fd, (off_t)len)) {
		err = aisio_err(-errno, "%s: sizing %zu bytes of DMA memory: %s", f->name, len,
				strerror(errno));
		close(fd);
		return err;
	}
	err = region_new(p, fd, len, &hr);
	if (err) {
		close(fd);
		return err;
	}
	err = aisio_pci_vfio_map(p->fn, hr->r.va, len, &iova);
	if (err) {
		region_free(hr);
		return err;
	}
	region_publish(hr, iova);
	*out = &hr->r;
	return 0;
}

static int pci_host_cfg_read(struct aisio_pcif *f, uint32_t off, void *buf, size_t len)
{
	struct aisio_pcif *fn = ((struct pci_host *)f)->fn;

	return fn->ops->cfg_read(fn, off, buf, len);
}

static int pci_host_cfg_write(struct aisio_pcif *f, uint32_t off, const void *buf, size_t len)
{
	struct aisio_pcif *fn = ((struct pci_host *)f)->fn;

	return fn->ops->cfg_write(fn, off, buf, len);
}

/* The regions go with the driver's heap; adopted ones are released here. */
static void pci_host_close(struct aisio_pcif *f)
{
	struct pci_host *p = (struct pci_host *)f;

	while (p->regions)
		pci_host_release(&p->regions->r);
	free(p);
}

static const struct aisio_pcif_ops pci_host_ops = {
	.cfg_read = pci_host_cfg_read,
	.cfg_write = pci_host_cfg_write,
	.dma_alloc = pci_host_dma_alloc,
	.close = pci_host_close,
};

int homid_pci_host_open(struct aisio_pcif *fn, struct aisio_pcif **out)
{
	struct pci_host *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return aisio_err(-ENOMEM, "out of memory");
	p->fn = fn;
	p->f.ops = &pci_host_ops;
	p->f.bar0 = fn->bar0;
	p->f.bar0_len = fn->bar0_len;
	snprintf(p->f.name, sizeof(p->f.name), "%s", fn->name);
	*out = &p->f;
	return 0;
}

int homid_pci_host_save(struct aisio_pcif *f, struct homid_ho_region *out, int max)
{
	struct pci_host *p = (struct pci_host *)f;
	int n = 0;

	for (struct pci_host_region *hr = p->regions; hr; hr = hr->next) {
		if (n == max)
			return aisio_err(-E2BIG, "%s: homid's DMA memory is in more than %d regions",
					 f->name, max);
		out[n].fd = hr->fd;
		out[n].len = hr->r.len;
		out[n].iova = hr->iova;
		n++;
	}
	return n;
}

void homid_pci_host_trim(struct aisio_pcif *f, uint64_t keep_a, uint64_t keep_b)
{
	struct pci_host *p = (struct pci_host *)f;
	struct pci_host_region *hr = p->regions, *next;

	/* handed-over memory the device no longer uses: everything but the admin queue */
	for (; hr; hr = next) {
		next = hr->next;
		if (!hr->adopted || (keep_a >= hr->iova && keep_a - hr->iova < hr->r.len) ||
		    (keep_b >= hr->iova && keep_b - hr->iova < hr->r.len))
			continue;
		pci_host_release(&hr->r);
	}
}

int homid_pci_host_adopt(struct aisio_pcif *f, const struct homid_ho_region *r)
{
	struct pci_host *p = (struct pci_host *)f;
	struct pci_host_region *hr;
	int err;

	if (!r->len || r->len % 4096)
		return aisio_err(-EINVAL, "%s: handed-over region of %llu bytes", f->name,
				 (unsigned long long)r->len);
	err = region_new(p, r->fd, (size_t)r->len, &hr);
	if (err)
		return err;
	err = aisio_pci_vfio_map_adopt(p->fn, r->iova, r->len);
	if (err) {
		munmap(hr->r.va, hr->r.len);
		free(hr);
		return err;
	}
	fcntl(r->fd, F_SETFD, FD_CLOEXEC);
	hr->adopted = 1;
	region_publish(hr, r->iova);
	return 0;
}

void *homid_pci_host_va(struct aisio_pcif *f, uint64_t iova, size_t len)
{
	struct pci_host *p = (struct pci_host *)f;

	for (struct pci_host_region *hr = p->regions; hr; hr = hr->next)
		if (iova >= hr->iova && len <= hr->r.len && iova - hr->iova <= hr->r.len - len)
			return (uint8_t *)hr->r.va + (iova - hr->iova);
	return NULL;
}
