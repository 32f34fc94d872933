// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Mapping for a named PCI function. The DMA API maps into the device's
 * kernel-owned IOMMU domain: identity under iommu=pt or without an IOMMU,
 * IOVAs otherwise. That is what a device bound to uio_pci_generic (or to no
 * driver) uses, so the addresses work for a user-space driver on uio even
 * with a translating IOMMU. A device whose DMA is owned by user space (vfio)
 * sits in another domain; its addresses would be wrong, so refuse it.
 */
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/pci.h>

#include "dmabuf_import.h"

/*
 * True when the device does not DMA through its kernel default domain: a
 * driver that manages DMA itself (vfio-pci, even before user space opens
 * it), or a domain attached by someone else (vfio/iommufd user domain, or
 * the blocking domain of a claimed group).
 */
static bool dmai_dma_user_owned(struct device *dev, struct iommu_domain *domain)
{
	if (dev->driver && to_pci_driver(dev->driver)->driver_managed_dma)
		return true;
	return domain && domain->type != IOMMU_DOMAIN_IDENTITY && !iommu_is_dma_domain(domain);
}

struct device *dmai_pci_dev_get(const char *name, u32 *out_flags)
{
	struct iommu_domain *domain;
	struct device *dev;
	int err = 0;

	dev = bus_find_device_by_name(&pci_bus_type, NULL, name);
	if (!dev)
		return ERR_PTR(-ENODEV);

	device_lock(dev);
	domain = iommu_get_domain_for_dev(dev);
	if (dmai_dma_user_owned(dev, domain)) {
		dev_info(dev, "aisio-dmabuf: refusing to map: the device's DMA is not in the kernel's IOMMU domain (driver %s, domain type %#x), so kernel DMA addresses would be wrong for it\n",
			 dev->driver ? dev->driver->name : "none", domain ? domain->type : 0);
		err = -EBUSY;
		goto out_unlock;
	}
	/*
	 * uio_pci_generic leaves the PCI default 32-bit mask, which would make
	 * the DMA API bounce high pages through swiotlb; a user-space driver
	 * programs full 64-bit addresses.
	 */
	if (dma_get_mask(dev) != DMA_BIT_MASK(64)) {
		err = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
		if (err) {
			dev_info(dev, "aisio-dmabuf: cannot set a 64-bit DMA mask: %d\n", err);
			goto out_unlock;
		}
	}
	if (!domain || domain->type == IOMMU_DOMAIN_IDENTITY)
		*out_flags |= AISIO_DMABUF_OUT_PHYS;
out_unlock:
	device_unlock(dev);
	if (err) {
		put_device(dev);
		return ERR_PTR(err);
	}
	return dev;
}
