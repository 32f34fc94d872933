/* SPDX-License-Identifier: MIT */
/*
 * dma-buf regions through the aisio-dmabuf importer module. Each region
 * opens the importer device itself: the attachment belongs to that open
 * file, so closing it on release (or the process dying) detaches.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <aisio/uapi/dmabuf_import.h>

#include "mem/dmabuf.h"
#include "util/err.h"

#define DMABUF_MIN_SHIFT 12     /* PRP entries need 4 KiB-aligned pages */
#define DMABUF_MAX_SHIFT 30

struct dmabuf_priv {
	int dev_fd;                     /* importer file holding the attachment */
	uint32_t handle;
	uint32_t nsegs;
	uint32_t out_flags;
	size_t map_len;                 /* bytes we mmap()ed; 0 when the caller gave va */
	struct aisio_dmabuf_seg *segs;
};

static void dmabuf_release(struct aisio_mem_region *r)
{
	struct dmabuf_priv *p = r->priv;

	if (p->map_len)
		munmap(r->va, p->map_len);
	close(p->dev_fd);               /* detaches */
	free(p->segs);
	free(r->bus);
	free(p);
	free(r);
}

static const struct aisio_mem_region_ops dmabuf_ops = {
	.release = dmabuf_release,
};

int aisio_mem_dmabuf_available(void)
{
	return access(AISIO_DMABUF_DEV_PATH, F_OK) == 0;
}

const struct aisio_dmabuf_seg *aisio_mem_dmabuf_segs(const struct aisio_mem_region *r,
						     uint32_t *nsegs, uint32_t *out_flags)
{
	const struct dmabuf_priv *p;

	if (!r || r->ops != &dmabuf_ops)
		return NULL;
	p = r->priv;
	*nsegs = p->nsegs;
	if (out_flags)
		*out_flags = p->out_flags;
	return p->segs;
}

int aisio_mem_dmabuf_check(const struct aisio_mem_region *r)
{
	const struct dmabuf_priv *p;
	struct aisio_dmabuf_map m = { .nsegs = 0 };
	struct pollfd pfd = { .events = POLLIN };

	if (!r || r->ops != &dmabuf_ops)
		return aisio_err(-EINVAL, "dma-buf check: not a dma-buf region");
	p = r->priv;
	pfd.fd = p->dev_fd;
	if (poll(&pfd, 1, 0) < 0)
		return aisio_err(-errno, "dma-buf check: poll failed: %s", strerror(errno));
	if (!(pfd.revents & POLLERR))
		return 0;
	/* POLLERR: this file holds a revoked attachment; each region has its own file. */
	m.handle = p->handle;
	if (ioctl(p->dev_fd, AISIO_DMABUF_IOC_GET_MAP, &m) == 0)
		return 0;
	if (errno == ENODEV)
		return aisio_err(-ENODEV, "dma-buf region revoked: its PCI function was unbound, rebound "
				 "or removed, or the exporter took the buffer back; stop DMA to it, "
				 "release the region and import again");
	return aisio_err(-errno, "dma-buf check: %s", strerror(errno));
}

int aisio_mem_dmabuf_poll_fd(const struct aisio_mem_region *r)
{
	if (!r || r->ops != &dmabuf_ops)
		return aisio_err(-EINVAL, "dma-buf poll fd: not a dma-buf region");
	return ((const struct dmabuf_priv *)r->priv)->dev_fd;
}

/* Largest chunk shift every segment start and every inner boundary is aligned to. */
static unsigned dmabuf_chunk_shift(const struct aisio_dmabuf_seg *segs, uint32_t n)
{
	uint64_t bits = 0;
	unsigned shift;

	for (uint32_t i = 0; i < n; i++) {
		bits |= segs[i].addr;
		if (i + 1 < n)
			bits |= segs[i].len;
	}
	shift = bits ? (unsigned)__builtin_ctzll(bits) : DMABUF_MAX_SHIFT;
	return shift > DMABUF_MAX_SHIFT ? DMABUF_MAX_SHIFT : shift;
}

/* Fill @bus (@nchunks entries of 1 << @shift bytes) from the segments. */
static int dmabuf_fill_chunks(const struct aisio_dmabuf_seg *segs, uint32_t n, unsigned shift,
			      uint64_t *bus, size_t nchunks)
{
	uint64_t cs = (uint64_t)1 << shift;
	size_t c = 0;

	for (uint32_t i = 0; i < n && c < nchunks; i++)
		for (uint64_t off = 0; off < segs[i].len && c < nchunks; off += cs)
			bus[c++] = segs[i].addr + off;
	return c == nchunks ? 0 : -EIO;
}

static int dmabuf_attach(int dev_fd, int fd, const char *pci_dev, struct aisio_dmabuf_attach *at)
{
	memset(at, 0, sizeof(*at));
	at->fd = fd;
	if (pci_dev) {
		if (strlen(pci_dev) >= sizeof(at->pci_dev))
			return aisio_err(-EINVAL, "dma-buf import: PCI device name '%s' is too long", pci_dev);
		at->flags |= AISIO_DMABUF_ATTACH_PCI;
		strcpy(at->pci_dev, pci_dev);
	}
	if (ioctl(dev_fd, AISIO_DMABUF_IOC_ATTACH, at) == 0)
		return 0;
	switch (errno) {
	case EBADF:
		return aisio_err(-EBADF, "dma-buf import: fd %d is not open", fd);
	case EINVAL:
		return aisio_err(-EINVAL, "dma-buf import: fd %d is not a dma-buf", fd);
	case ENODEV:
		return aisio_err(-ENODEV, "dma-buf import: no PCI device %s", pci_dev ? pci_dev : "");
	case EBUSY:
		return aisio_err(-EBUSY, "dma-buf import: %s is owned by another driver or by vfio; "
				 "dma-bufs need it unbound or on uio_pci_generic (the kernel log says which driver)",
				 pci_dev ? pci_dev : "");
	case EPERM:
		return aisio_err(-EPERM, "dma-buf import: attaching needs CAP_SYS_RAWIO or CAP_SYS_ADMIN "
				 "(the DMA addresses let a device reach the memory)");
	default:
		return aisio_err(-errno, "dma-buf import: attaching fd %d failed: %s", fd, strerror(errno));
	}
}

static int dmabuf_get_segs(struct dmabuf_priv *p)
{
	struct aisio_dmabuf_map m = { .handle = p->handle, .nsegs = p->nsegs };

	p->segs = calloc(p->nsegs, sizeof(*p->segs));
	if (!p->segs)
		return aisio_err(-ENOMEM, "dma-buf import: out of memory for %u segments", p->nsegs);
	m.segs = (uint64_t)(uintptr_t)p->segs;
	if (ioctl(p->dev_fd, AISIO_DMABUF_IOC_GET_MAP, &m) < 0)
		return aisio_err(-errno, "dma-buf import: reading the segments failed: %s", strerror(errno));
	if (m.nsegs != p->nsegs)
		return aisio_err(-EIO, "dma-buf import: the module reported %u then %u segments",
				 p->nsegs, m.nsegs);
	return 0;
}

static int dmabuf_open_dev(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return aisio_err(-ENOENT, "dma-buf import: %s missing: load the importer "
				 "(insmod dmabuf_import.ko, see kmod/README.md)", path);
	if (errno == EACCES || errno == EPERM)
		return aisio_err(-EACCES, "dma-buf import: no permission to open %s "
				 "(root, or a udev rule giving your group access; see kmod/README.md)", path);
	return aisio_err(-errno, "dma-buf import: cannot open %s: %s", path, strerror(errno));
}

int aisio_mem_dmabuf_import(int fd, const struct aisio_mem_dmabuf_opts *opts,
			    struct aisio_mem_region **out)
{
	static const struct aisio_mem_dmabuf_opts defaults = { .kind = AISIO_MEM_HOST };
	struct aisio_dmabuf_attach at;
	struct aisio_mem_region *r;
	struct dmabuf_priv *p;
	size_t nchunks;
	int err;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	if (opts->kind == AISIO_MEM_GPU && !opts->va)
		return aisio_err(-EINVAL, "dma-buf import: GPU memory needs its device address in opts->va");

	r = calloc(1, sizeof(*r));
	p = calloc(1, sizeof(*p));
	if (!r || !p) {
		err = aisio_err(-ENOMEM, "dma-buf import: out of memory");
		goto err_free;
	}
	p->dev_fd = dmabuf_open_dev(opts->dev_path ? opts->dev_path : AISIO_DMABUF_DEV_PATH);
	if (p->dev_fd < 0) {
		err = p->dev_fd;
		goto err_free;
	}
	err = dmabuf_attach(p->dev_fd, fd, opts->pci_dev, &at);
	if (err)
		goto err_close;
	p->handle = at.handle;
	p->nsegs = at.nsegs;
	p->out_flags = at.out_flags;
	if (!at.size || at.size > SIZE_MAX) {
		err = aisio_err(-EIO, "dma-buf import: unusable buffer size %llu",
				(unsigned long long)at.size);
		goto err_close;
	}
	err = dmabuf_get_segs(p);
	if (err)
		goto err_close;

	r->chunk_shift = dmabuf_chunk_shift(p->segs, p->nsegs);
	if (r->chunk_shift < DMABUF_MIN_SHIFT) {
		err = aisio_err(-EINVAL, "dma-buf import: segments are only %u-byte aligned; "
				"NVMe needs 4 KiB", 1u << r->chunk_shift);
		goto err_close;
	}
	r->len = (size_t)at.size;
	nchunks = ((r->len - 1) >> r->chunk_shift) + 1;
	r->bus = calloc(nchunks, sizeof(*r->bus));
	if (!r->bus) {
		err = aisio_err(-ENOMEM, "dma-buf import: out of memory for %zu chunks", nchunks);
		goto err_close;
	}
	if (dmabuf_fill_chunks(p->segs, p->nsegs, r->chunk_shift, r->bus, nchunks)) {
		err = aisio_err(-EIO, "dma-buf import: segments cover less than the %zu-byte buffer", r->len);
		goto err_close;
	}

	if (opts->va) {
		r->va = opts->va;
	} else {
		void *va = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (va == MAP_FAILED) {
			err = aisio_err(-ENOTSUP, "dma-buf import: the CPU cannot map this dma-buf (%s); "
					"pass its device address in opts->va", strerror(errno));
			goto err_close;
		}
		r->va = va;
		p->map_len = r->len;
	}
	r->kind = opts->kind;
	r->gpu = opts->kind == AISIO_MEM_GPU ? opts->gpu : -1;
	r->ops = &dmabuf_ops;
	r->priv = p;
	r->name = "dmabuf";
	*out = r;
	return 0;

err_close:
	close(p->dev_fd);
err_free:
	if (p) {
		free(p->segs);
		free(p);
	}
	if (r) {
		free(r->bus);
		free(r);
	}
	return err;
}
