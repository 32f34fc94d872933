/* SPDX-License-Identifier: MIT */
/*
 * uio provider: the function is bound to uio_pci_generic (which only keeps
 * other drivers away and enables the device), BAR0 is mapped through its
 * sysfs resource file, and DMA memory is hugepages addressed physically.
 * That is only right when no IOMMU translates the function's DMA, which is
 * checked at open.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pci/hugemem.h"
#include "pci/provider.h"
#include "pci/sysfs.h"
#include "util/err.h"

struct uio_fn {
	struct aisio_pcif f;
	struct aisio_pci_binding bind;
	int cfg_fd;
};

static int uio_cfg_read(struct aisio_pcif *f, uint32_t off, void *buf, size_t len)
{
	return aisio_pci_cfg_pread(((struct uio_fn *)f)->cfg_fd, off, buf, len);
}

static int uio_cfg_write(struct aisio_pcif *f, uint32_t off, const void *buf, size_t len)
{
	return aisio_pci_cfg_pwrite(((struct uio_fn *)f)->cfg_fd, off, buf, len);
}

static int uio_dma_alloc(struct aisio_pcif *f, size_t len, struct aisio_mem_region **out)
{
	return aisio_pci_hugemem_alloc(len, 1, 0, "uio-hugepage", out);
}

static void uio_close(struct aisio_pcif *f)
{
	struct uio_fn *u = (struct uio_fn *)f;
	uint16_t cmd;

	if (f->bar0)
		munmap((void *)f->bar0, f->bar0_len);
	/* Stop the function's DMA before its memory can be reused. */
	if (u->cfg_fd >= 0 && !aisio_pci_cfg_pread(u->cfg_fd, AISIO_PCI_CFG_COMMAND, &cmd, 2)) {
		cmd &= (uint16_t)~AISIO_PCI_CMD_MASTER;
		aisio_pci_cfg_pwrite(u->cfg_fd, AISIO_PCI_CFG_COMMAND, &cmd, 2);
	}
	if (u->cfg_fd >= 0)
		close(u->cfg_fd);
	aisio_pci_sysfs_restore(&u->bind);
	free(u);
}

static const struct aisio_pcif_ops uio_ops = {
	.cfg_read = uio_cfg_read,
	.cfg_write = uio_cfg_write,
	.dma_alloc = uio_dma_alloc,
	.close = uio_close,
};

int aisio_pci_uio_open(const char *bdf, struct aisio_pcif **out)
{
	char type[32];
	struct uio_fn *u;
	int err;

	*out = NULL;
	if (aisio_pci_sysfs_iommu_group(bdf) >= 0 && !aisio_pci_sysfs_iommu_type(bdf, type, sizeof(type)) &&
	    type[0] && strcmp(type, "identity"))
		return aisio_err(-EOPNOTSUPP, "%s: the IOMMU translates this function's DMA (domain "
				 "type %s), so uio's physical addresses would be wrong; use drv=vfio or "
				 "boot with iommu=pt", bdf, type);
	u = calloc(1, sizeof(*u));
	if (!u)
		return aisio_err(-ENOMEM, "out of memory");
	u->cfg_fd = -1;
	u->f.ops = &uio_ops;
	u->f.priv = u;
	snprintf(u->f.name, sizeof(u->f.name), "%s", bdf);
	snprintf(u->bind.bdf, sizeof(u->bind.bdf), "%s", bdf);

	err = aisio_pci_sysfs_bind(&u->bind, "uio_pci_generic");
	if (err)
		goto err_free;
	err = aisio_pci_sysfs_cfg_open(bdf);
	if (err < 0)
		goto err_close;
	u->cfg_fd = err;
	err = aisio_pci_sysfs_map_bar(bdf, 0, &u->f.bar0, &u->f.bar0_len);
	if (err)
		goto err_close;
	err = aisio_pci_enable_master(&u->f);
	if (err)
		goto err_close;
	*out = &u->f;
	return 0;

err_close:
	uio_close(&u->f);
	return err;
err_free:
	free(u);
	return err;
}
