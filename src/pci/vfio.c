/* SPDX-License-Identifier: MIT */
/*
 * vfio provider (type 1 IOMMU): the function is bound to vfio-pci, its group
 * attached to a container of its own, BAR0 mapped through the device fd, and
 * every DMA region mapped into the IOMMU at IOVAs chosen here, so no
 * physical address is ever needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pci/hugemem.h"
#include "pci/provider.h"
#include "pci/sysfs.h"
#include "util/err.h"

/*
 * IOVAs start above 4 GiB, clear of the x86 MSI window at 0xfee00000, and
 * stay below 2^39, the smallest address width emulated and real VT-d units
 * offer. The provider's own DMA memory takes [2^32, 2^38); memory mapped
 * for others (aisio_pci_vfio_map(): homid's clients) takes [2^38, 2^39),
 * so the two never collide.
 */
#define VFIO_IOVA_BASE (1ull << 32)
#define VFIO_IOVA_EXT_BASE (1ull << 38)
#define VFIO_IOVA_END (1ull << 39)

/* One range mapped with aisio_pci_vfio_map(), in a list sorted by IOVA. */
struct vfio_ext {
	uint64_t iova, len;
	struct vfio_ext *next;
};

/* Shared by the function and its DMA regions, which may outlive it. */
struct vfio_ctx {
	pthread_mutex_t lock;
	int refs;
	int container; /* -1 once the function is closed: mappings are gone */
	uint64_t next_iova;
	struct vfio_ext *ext; /* ranges mapped for others, sorted by IOVA */
};

struct vfio_fn {
	struct aisio_pcif f;
	struct aisio_pci_binding bind;
	struct vfio_ctx *ctx;
	int group;
	int device;
	uint64_t cfg_off;
};

struct vfio_mem {
	struct aisio_mem_region r;
	struct aisio_mem_region *mem; /* the hugepage memory behind it */
	struct vfio_ctx *ctx;
	uint64_t iova;
};

static void ctx_put(struct vfio_ctx *c)
{
	int last;

	pthread_mutex_lock(&c->lock);
	last = --c->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (last) {
		while (c->ext) {
			struct vfio_ext *e = c->ext;

			c->ext = e->next;
			free(e);
		}
		pthread_mutex_destroy(&c->lock);
		free(c);
	}
}

static int vfio_cfg_read(struct aisio_pcif *f, uint32_t off, void *buf, size_t len)
{
	struct vfio_fn *v = (struct vfio_fn *)f;
	ssize_t n = pread(v->device, buf, len, (off_t)(v->cfg_off + off));

	if (n != (ssize_t)len)
		return aisio_err(n < 0 ? -errno : -EIO, "%s: vfio config read at 0x%x failed", f->name, off);
	return 0;
}

static int vfio_cfg_write(struct aisio_pcif *f, uint32_t off, const void *buf, size_t len)
{
	struct vfio_fn *v = (struct vfio_fn *)f;
	ssize_t n = pwrite(v->device, buf, len, (off_t)(v->cfg_off + off));

	if (n != (ssize_t)len)
		return aisio_err(n < 0 ? -errno : -EIO, "%s: vfio config write at 0x%x failed", f->name, off);
	return 0;
}

static void vfio_mem_release(struct aisio_mem_region *r)
{
	struct vfio_mem *m = (struct vfio_mem *)r;
	struct vfio_iommu_type1_dma_unmap um = {
		.argsz = sizeof(um),
		.iova = m->iova,
		.size = r->len,
	};

	pthread_mutex_lock(&m->ctx->lock);
	if (m->ctx->container >= 0)
		ioctl(m->ctx->container, VFIO_IOMMU_UNMAP_DMA, &um);
	pthread_mutex_unlock(&m->ctx->lock);
	ctx_put(m->ctx);
	aisio_mem_region_release(m->mem);
	free(m);
}

static const struct aisio_mem_region_ops vfio_mem_ops = {
	.release = vfio_mem_release,
};

static int vfio_dma_alloc(struct aisio_pcif *f, size_t len, struct aisio_mem_region **out)
{
	struct vfio_fn *v = (struct vfio_fn *)f;
	struct vfio_ctx *c = v->ctx;
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct aisio_mem_region *mem;
	struct vfio_mem *m;
	uint64_t align;
	int err;

	*out = NULL;
	err = aisio_pci_hugemem_alloc(len, 0, 1, "vfio", &mem);
	if (err)
		return err;
	m = calloc(1, sizeof(*m));
	if (!m) {
		aisio_mem_region_release(mem);
		return aisio_err(-ENOMEM, "out of memory");
	}
	m->r = *mem;
	m->r.ops = &vfio_mem_ops;
	m->r.name = "vfio";
	m->mem = mem;
	m->ctx = c;

	/* IOVAs aligned like the chunks, so a chunk is one IOMMU-contiguous run. */
	align = 1ull << mem->chunk_shift;
	pthread_mutex_lock(&c->lock);
	m->iova = (c->next_iova + align - 1) & ~(align - 1);
	if (m->iova + mem->len > VFIO_IOVA_EXT_BASE || m->iova + mem->len < m->iova) {
		err = aisio_err(-ENOSPC, "%s: out of IOVA space", f->name);
	} else {
		map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
		map.vaddr = (uint64_t)(uintptr_t)mem->va;
		map.iova = m->iova;
		map.size = mem->len;
		if (ioctl(c->container, VFIO_IOMMU_MAP_DMA, &map))
			err = aisio_err(-errno, "%s: VFIO_IOMMU_MAP_DMA of %zu bytes at IOVA 0x%llx: %s "
					"(locked-memory limit? see ulimit -l)", f->name, mem->len,
					(unsigned long long)m->iova, strerror(errno));
		else
			c->next_iova = m->iova + mem->len;
	}
	if (!err)
		c->refs++;
	pthread_mutex_unlock(&c->lock);
	if (err) {
		aisio_mem_region_release(mem);
		free(m);
		return err;
	}
	for (size_t i = 0; i < (mem->len >> mem->chunk_shift); i++)
		mem->bus[i] = m->iova + ((uint64_t)i << mem->chunk_shift);
	m->r.bus = mem->bus;
	*out = &m->r;
	return 0;
}

static void vfio_close(struct aisio_pcif *f)
{
	struct vfio_fn *v = (struct vfio_fn *)f;
	uint16_t cmd;

	if (f->bar0)
		munmap((void *)f->bar0, f->bar0_len);
	if (v->device >= 0) {
		if (!vfio_cfg_read(f, AISIO_PCI_CFG_COMMAND, &cmd, 2)) {
			cmd &= (uint16_t)~AISIO_PCI_CMD_MASTER;
			vfio_cfg_write(f, AISIO_PCI_CFG_COMMAND, &cmd, 2);
		}
		close(v->device);
	}
	if (v->group >= 0)
		close(v->group);
	if (v->ctx) {
		pthread_mutex_lock(&v->ctx->lock);
		if (v->ctx->container >= 0)
			close(v->ctx->container);
		v->ctx->container = -1;
		pthread_mutex_unlock(&v->ctx->lock);
		ctx_put(v->ctx);
	}
	aisio_pci_sysfs_restore(&v->bind);
	free(v);
}

static const struct aisio_pcif_ops vfio_ops = {
	.cfg_read = vfio_cfg_read,
	.cfg_write = vfio_cfg_write,
	.dma_alloc = vfio_dma_alloc,
	.close = vfio_close,
};

/* The group's device node appears shortly after vfio-pci binds. */
static int open_group(const char *bdf, int group)
{
	char p[64];
	int fd = -1;

	snprintf(p, sizeof(p), "/dev/vfio/%d", group);
	for (int i = 0; i < 100; i++) {
		fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	if (fd < 0)
		return aisio_err(-errno, "%s: open %s: %s", bdf, p, strerror(errno));
	return fd;
}

static int setup_container(struct vfio_fn *v, int groupno)
{
	const char *bdf = v->f.name;
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	int c = v->ctx->container, type;

	if (ioctl(c, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		return aisio_err(-EINVAL, "%s: unknown vfio API version", bdf);
	if (ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0)
		type = VFIO_TYPE1v2_IOMMU;
	else if (ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0)
		type = VFIO_TYPE1_IOMMU;
	else
		return aisio_err(-ENODEV, "%s: vfio has no type 1 IOMMU (modprobe vfio_iommu_type1)", bdf);
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &gs))
		return aisio_err(-errno, "%s: VFIO_GROUP_GET_STATUS: %s", bdf, strerror(errno));
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return aisio_err(-EBUSY, "%s: IOMMU group %d is not viable: every function in "
				 "/sys/kernel/iommu_groups/%d/devices must be bound to vfio-pci or unbound",
				 bdf, groupno, groupno);
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &c))
		return aisio_err(-errno, "%s: VFIO_GROUP_SET_CONTAINER: %s", bdf, strerror(errno));
	if (ioctl(c, VFIO_SET_IOMMU, type))
		return aisio_err(-errno, "%s: VFIO_SET_IOMMU: %s", bdf, strerror(errno));
	return 0;
}

static int map_regions(struct vfio_fn *v)
{
	const char *bdf = v->f.name;
	struct vfio_region_info bar = { .argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	void *m;

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		return aisio_err(-errno, "%s: config region info: %s", bdf, strerror(errno));
	v->cfg_off = cfg.offset;
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &bar))
		return aisio_err(-errno, "%s: BAR0 region info: %s", bdf, strerror(errno));
	if (!bar.size || !(bar.flags & VFIO_REGION_INFO_FLAG_MMAP))
		return aisio_err(-ENXIO, "%s: BAR0 cannot be mapped (size %llu, flags 0x%x)", bdf,
				 (unsigned long long)bar.size, bar.flags);
	m = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, v->device, (off_t)bar.offset);
	if (m == MAP_FAILED)
		return aisio_err(-errno, "%s: mmap of BAR0 (%llu bytes): %s", bdf,
				 (unsigned long long)bar.size, strerror(errno));
	v->f.bar0 = m;
	v->f.bar0_len = bar.size;
	return 0;
}

/* @token: the PF's VF token as a UUID string when @bdf is a VF of a vfio-pci PF, else NULL. */
static int vfio_open(const char *bdf, const char *token, struct aisio_pcif **out)
{
	char name[AISIO_PCI_BDF_LEN + 64];
	struct vfio_fn *v;
	int groupno, err;

	*out = NULL;
	groupno = aisio_pci_sysfs_iommu_group(bdf);
	if (groupno == -ENOENT)
		return aisio_err(-ENODEV, "%s: no IOMMU group; vfio needs an IOMMU (boot with "
				 "intel_iommu=on) or use drv=uio", bdf);
	if (groupno < 0)
		return groupno;
	v = calloc(1, sizeof(*v));
	if (!v)
		return aisio_err(-ENOMEM, "out of memory");
	v->group = v->device = -1;
	v->f.ops = &vfio_ops;
	v->f.priv = v;
	snprintf(v->f.name, sizeof(v->f.name), "%s", bdf);
	snprintf(v->bind.bdf, sizeof(v->bind.bdf), "%s", bdf);
	v->ctx = calloc(1, sizeof(*v->ctx));
	if (!v->ctx) {
		free(v);
		return aisio_err(-ENOMEM, "out of memory");
	}
	pthread_mutex_init(&v->ctx->lock, NULL);
	v->ctx->refs = 1;
	v->ctx->next_iova = VFIO_IOVA_BASE;
	v->ctx->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->ctx->container < 0) {
		err = aisio_err(-errno, "%s: open /dev/vfio/vfio: %s (modprobe vfio-pci)", bdf, strerror(errno));
		goto err_close;
	}
	err = aisio_pci_sysfs_bind(&v->bind, "vfio-pci");
	if (err)
		goto err_close;
	v->group = open_group(bdf, groupno);
	if (v->group < 0) {
		err = v->group;
		goto err_close;
	}
	err = setup_container(v, groupno);
	if (err)
		goto err_close;
	/* a VF of a PF that vfio-pci drives opens only with the PF's VF token */
	if (token)
		snprintf(name, sizeof(name), "%s vf_token=%s", bdf, token);
	else
		snprintf(name, sizeof(name), "%s", bdf);
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, name);
	if (v->device < 0) {
		err = aisio_err(-errno, "%s: VFIO_GROUP_GET_DEVICE_FD: %s%s", bdf, strerror(errno),
				errno != EACCES ? "" : token ? " (the VF token is not the one its "
				"PF's owner set)" : " (a VF of a PF that vfio-pci drives opens only "
				"with the PF's VF token; a PF whose VFs are open, only with it too)");
		goto err_close;
	}
	err = map_regions(v);
	if (err)
		goto err_close;
	err = aisio_pci_enable_master(&v->f);
	if (err)
		goto err_close;
	*out = &v->f;
	return 0;

err_close:
	vfio_close(&v->f);
	return err;
}

int aisio_pci_vfio_open(const char *bdf, struct aisio_pcif **out)
{
	return vfio_open(bdf, NULL, out);
}

int aisio_pci_vfio_open_vf(const char *bdf, const char *token, struct aisio_pcif **out)
{
	char b[AISIO_PCI_BDF_LEN];
	int err = aisio_pci_bdf_parse(bdf, b);

	*out = NULL;
	if (!err)
		err = aisio_pci_sysfs_exists(b);
	return err ? err : vfio_open(b, token, out);
}

static struct vfio_fn *vfio_of(struct aisio_pcif *f)
{
	return f && f->ops == &vfio_ops ? (struct vfio_fn *)f : NULL;
}

int aisio_pci_vfio_map(struct aisio_pcif *f, void *va, size_t len, uint64_t *iova)
{
	struct vfio_fn *v = vfio_of(f);
	struct vfio_iommu_type1_dma_map map = { .argsz = sizeof(map) };
	struct vfio_ext *e, **pp;
	uint64_t at = VFIO_IOVA_EXT_BASE;
	int err = 0;

	if (!v)
		return aisio_err(-ENOTSUP, "%s: not a vfio function: only vfio maps memory for the "
				 "device at run time (use drv=vfio)", f ? f->name : "?");
	if (!len || len % 4096 || (uintptr_t)va % 4096)
		return aisio_err(-EINVAL, "%s: mapping %zu bytes at %p: address and length must be "
				 "multiples of 4096", f->name, len, va);
	e = calloc(1, sizeof(*e));
	if (!e)
		return aisio_err(-ENOMEM, "out of memory");
	pthread_mutex_lock(&v->ctx->lock);
	/* first fit between the ranges mapped already */
	for (pp = &v->ctx->ext; *pp && (*pp)->iova - at < len; pp = &(*pp)->next)
		at = (*pp)->iova + (*pp)->len;
	if (at + len > VFIO_IOVA_END || at + len < at) {
		err = aisio_err(-ENOSPC, "%s: no %zu bytes of IOVA space left for mapped memory "
				"(%llu GiB in all)", f->name, len,
				(unsigned long long)((VFIO_IOVA_END - VFIO_IOVA_EXT_BASE) >> 30));
	} else {
		map.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
		map.vaddr = (uint64_t)(uintptr_t)va;
		map.iova = at;
		map.size = len;
		if (ioctl(v->ctx->container, VFIO_IOMMU_MAP_DMA, &map))
			err = aisio_err(-errno, "%s: VFIO_IOMMU_MAP_DMA of %zu bytes at IOVA 0x%llx: %s "
					"(locked-memory limit? see ulimit -l)", f->name, len,
					(unsigned long long)at, strerror(errno));
	}
	if (!err) {
		e->iova = at;
		e->len = len;
		e->next = *pp;
		*pp = e;
		*iova = at;
	}
	pthread_mutex_unlock(&v->ctx->lock);
	if (err)
		free(e);
	return err;
}

int aisio_pci_vfio_unmap(struct aisio_pcif *f, uint64_t iova)
{
	struct vfio_fn *v = vfio_of(f);
	struct vfio_iommu_type1_dma_unmap um = { .argsz = sizeof(um), .iova = iova };
	int err = 0;

	if (!v)
		return aisio_err(-ENOTSUP, "%s: not a vfio function", f ? f->name : "?");
	pthread_mutex_lock(&v->ctx->lock);
	for (struct vfio_ext **pp = &v->ctx->ext; *pp; pp = &(*pp)->next) {
		struct vfio_ext *e = *pp;

		if (e->iova != iova)
			continue;
		um.size = e->len;
		errno = 0;
		if (ioctl(v->ctx->container, VFIO_IOMMU_UNMAP_DMA, &um) || um.size != e->len)
			err = aisio_err(-errno ? -errno : -EIO, "%s: VFIO_IOMMU_UNMAP_DMA at IOVA 0x%llx: %s",
					f->name, (unsigned long long)iova, strerror(errno ? errno : EIO));
		else {
			*pp = e->next;
			free(e);
		}
		pthread_mutex_unlock(&v->ctx->lock);
		return err;
	}
	pthread_mutex_unlock(&v->ctx->lock);
	return aisio_err(-ENOENT, "%s: nothing mapped at IOVA 0x%llx", f->name,
			 (unsigned long long)iova);
}

int aisio_pci_vfio_device(struct aisio_pcif *f, int *fd, uint64_t *bar0_off)
{
	struct vfio_fn *v = vfio_of(f);
	struct vfio_region_info bar = { .argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX };

	if (!v)
		return aisio_err(-ENOTSUP, "%s: not a vfio function", f ? f->name : "?");
	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &bar))
		return aisio_err(-errno, "%s: BAR0 region info: %s", f->name, strerror(errno));
	*fd = v->device;
	*bar0_off = bar.offset;
	return 0;
}

int aisio_pci_vfio_handover_save(struct aisio_pcif *f, struct aisio_pci_vfio_handover *h)
{
	struct vfio_fn *v = vfio_of(f);

	memset(h, 0, sizeof(*h));
	if (!v)
		return aisio_err(-ENOTSUP, "%s: not a vfio function", f ? f->name : "?");
	snprintf(h->bdf, sizeof(h->bdf), "%s", v->bind.bdf);
	snprintf(h->orig, sizeof(h->orig), "%s", v->bind.orig);
	h->changed = v->bind.changed;
	h->container = v->ctx->container;
	h->group = v->group;
	h->device = v->device;
	return 0;
}

int aisio_pci_vfio_adopt(const struct aisio_pci_vfio_handover *h, struct aisio_pcif **out)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct vfio_fn *v;
	int err;

	*out = NULL;
	if (!memchr(h->bdf, 0, sizeof(h->bdf)) || !memchr(h->orig, 0, sizeof(h->orig)))
		return aisio_err(-EINVAL, "vfio handover: names not terminated");
	/* the descriptors must still be a viable group in a container with a type 1 IOMMU */
	if (ioctl(h->group, VFIO_GROUP_GET_STATUS, &gs) ||
	    !(gs.flags & VFIO_GROUP_FLAGS_CONTAINER_SET))
		return aisio_err(-EBADF, "%s: handed-over descriptor %d is not a vfio group in a "
				 "container", h->bdf, h->group);
	v = calloc(1, sizeof(*v));
	if (!v)
		return aisio_err(-ENOMEM, "out of memory");
	v->f.ops = &vfio_ops;
	v->f.priv = v;
	snprintf(v->f.name, sizeof(v->f.name), "%s", h->bdf);
	memcpy(v->bind.bdf, h->bdf, sizeof(v->bind.bdf));
	memcpy(v->bind.orig, h->orig, sizeof(v->bind.orig));
	v->bind.changed = h->changed;
	v->group = h->group;
	v->device = h->device;
	v->ctx = calloc(1, sizeof(*v->ctx));
	if (!v->ctx) {
		free(v);
		return aisio_err(-ENOMEM, "out of memory");
	}
	pthread_mutex_init(&v->ctx->lock, NULL);
	v->ctx->refs = 1;
	v->ctx->next_iova = VFIO_IOVA_BASE;
	v->ctx->container = h->container;
	err = map_regions(v);
	if (err) {
		/* the descriptors stay the caller's on failure */
		v->group = v->device = v->ctx->container = -1;
		v->bind.changed = 0;
		vfio_close(&v->f);
		return err;
	}
	*out = &v->f;
	return 0;
}

int aisio_pci_vfio_map_adopt(struct aisio_pcif *f, uint64_t iova, uint64_t len)
{
	struct vfio_fn *v = vfio_of(f);
	struct vfio_ext *e, **pp;
	int err = 0;

	if (!v)
		return aisio_err(-ENOTSUP, "%s: not a vfio function", f ? f->name : "?");
	if (!len || len % 4096 || iova < VFIO_IOVA_EXT_BASE || iova + len > VFIO_IOVA_END)
		return aisio_err(-EINVAL, "%s: handed-over mapping 0x%llx+%llu outside the range for "
				 "mapped memory", f->name, (unsigned long long)iova,
				 (unsigned long long)len);
	e = calloc(1, sizeof(*e));
	if (!e)
		return aisio_err(-ENOMEM, "out of memory");
	e->iova = iova;
	e->len = len;
	pthread_mutex_lock(&v->ctx->lock);
	for (pp = &v->ctx->ext; *pp && (*pp)->iova + (*pp)->len <= iova; pp = &(*pp)->next)
		;
	if (*pp && (*pp)->iova < iova + len) {
		err = aisio_err(-EEXIST, "%s: handed-over mapping 0x%llx+%llu overlaps another",
				f->name, (unsigned long long)iova, (unsigned long long)len);
	} else {
		e->next = *pp;
		*pp = e;
	}
	pthread_mutex_unlock(&v->ctx->lock);
	if (err)
		free(e);
	return err;
}

void aisio_pci_vfio_leave_bound(struct aisio_pcif *f)
{
	struct vfio_fn *v = vfio_of(f);

	if (v)
		v->bind.changed = 0;
}

int aisio_pci_vfio_unmap_unknown(struct aisio_pcif *f, uint64_t *bytes)
{
	struct vfio_fn *v = vfio_of(f);
	uint64_t at = VFIO_IOVA_EXT_BASE, total = 0;
	int err = 0;

	*bytes = 0;
	if (!v)
		return aisio_err(-ENOTSUP, "%s: not a vfio function", f ? f->name : "?");
	pthread_mutex_lock(&v->ctx->lock);
	/* every gap between recorded ranges: a mapping there lies whole in it (first fit) */
	for (struct vfio_ext *e = v->ctx->ext;; e = e->next) {
		uint64_t end = e ? e->iova : VFIO_IOVA_END;

		if (end > at) {
			struct vfio_iommu_type1_dma_unmap um = { .argsz = sizeof(um), .iova = at,
								 .size = end - at };

			if (ioctl(v->ctx->container, VFIO_IOMMU_UNMAP_DMA, &um)) {
				err = aisio_err(-errno, "%s: VFIO_IOMMU_UNMAP_DMA of 0x%llx+0x%llx: %s",
						f->name, (unsigned long long)at,
						(unsigned long long)(end - at), strerror(errno));
				break;
			}
			total += um.size;
		}
		if (!e)
			break;
		at = e->iova + e->len;
	}
	pthread_mutex_unlock(&v->ctx->lock);
	*bytes = total;
	return err;
}
