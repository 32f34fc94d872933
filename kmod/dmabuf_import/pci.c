// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Mapping for a named PCI function. The DMA API maps into the device's
 * kernel-owned IOMMU domain: identity under iommu=pt or without an IOMMU,
 * IOVAs otherwise. That is what a device bound to uio_pci_generic (or to no
 * driver) uses, so the addresses work for a user-space driver on uio even
 * with a translating IOMMU.
 *
 * The module never touches a device another driver owns: a function bound
 * to any driver but uio_pci_generic is refused (that driver manages the
 * device's DMA and its mask), and so is one whose DMA is owned by user
 * space through vfio (it sits in another domain; kernel addresses would be
 * wrong for it). For the functions it accepts it sets a 64-bit DMA mask
 * while attachments exist and puts the previous mask back after the last.
 * The bus notifier revokes every attachment when the function is unbound,
 * bound to a driver or removed, before the device or its IOMMU group goes.
 */
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "dmabuf_import.h"

/* The one driver the module shares a function with: it leaves DMA alone. */
#define DMAI_ALLOWED_DRIVER "uio_pci_generic"

/* A PCI function with attachments, and the DMA mask it had before. */
struct dmai_pdev {
	struct list_head node;      /* dmai_pdevs; under dmai_lock */
	struct device *dev;         /* referenced */
	unsigned int users;         /* attachments mapped for it */
	u64 mask;
	u64 coherent_mask;
};

static LIST_HEAD(dmai_pdevs);

/*
 * Functions being removed: from BUS_NOTIFY_DEL_DEVICE (attachments revoked)
 * to BUS_NOTIFY_REMOVED_DEVICE (off the bus). Attaching refuses them, and
 * after that window the bus no longer lists them, so no attachment is made
 * once the notifier has revoked. Under dmai_lock.
 */
struct dmai_dying {
	struct list_head node;
	struct device *dev;
};

static LIST_HEAD(dmai_dying);

static int dmai_match_dev(struct device *dev, const void *data)
{
	return dev == data;
}

/* True when @dev is being removed or already off the bus. dmai_lock held. */
static bool dmai_pci_gone(struct device *dev)
{
	struct dmai_dying *d;
	struct device *found;

	list_for_each_entry(d, &dmai_dying, node)
		if (d->dev == dev)
			return true;
	found = bus_find_device(&pci_bus_type, NULL, dev, dmai_match_dev);
	put_device(found);
	return !found;
}

static void dmai_dying_add(struct device *dev)
{
	struct dmai_dying *d = kzalloc(sizeof(*d), GFP_KERNEL | __GFP_NOFAIL);

	d->dev = dev;
	mutex_lock(&dmai_lock);
	list_add(&d->node, &dmai_dying);
	mutex_unlock(&dmai_lock);
}

static void dmai_dying_del(struct device *dev)
{
	struct dmai_dying *d, *tmp;

	mutex_lock(&dmai_lock);
	list_for_each_entry_safe(d, tmp, &dmai_dying, node) {
		if (!dev || d->dev == dev) {
			list_del(&d->node);
			kfree(d);
		}
	}
	mutex_unlock(&dmai_lock);
}

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

struct device *dmai_pci_dev_get(const char *name)
{
	struct device *dev = bus_find_device_by_name(&pci_bus_type, NULL, name);

	return dev ? dev : ERR_PTR(-ENODEV);
}

int dmai_pci_claim(struct device *dev, u32 *out_flags, struct dmai_pdev **pdevp)
{
	const char *drv = dev->driver ? dev->driver->name : NULL;
	struct iommu_domain *domain;
	struct dmai_pdev *p;
	int err;

	device_lock_assert(dev);
	lockdep_assert_held(&dmai_lock);
	if (dmai_pci_gone(dev))
		return -ENODEV;
	domain = iommu_get_domain_for_dev(dev);
	if (dmai_dma_user_owned(dev, domain)) {
		dev_notice(dev, "aisio-dmabuf: refusing to map (EBUSY): the function's DMA is owned by user space (driver %s, domain type %#x), so kernel DMA addresses would be wrong for it; bind it to uio_pci_generic (or unbind it) and release its VFIO group\n",
			   drv ? drv : "none", domain ? domain->type : 0);
		return -EBUSY;
	}
	if (drv && strcmp(drv, DMAI_ALLOWED_DRIVER)) {
		dev_notice(dev, "aisio-dmabuf: refusing to map (EBUSY): the function is bound to driver %s, which owns its DMA; unbind it (echo %s > /sys/bus/pci/drivers/%s/unbind) and bind uio_pci_generic for a user-space driver\n",
			   drv, dev_name(dev), drv);
		return -EBUSY;
	}

	list_for_each_entry(p, &dmai_pdevs, node) {
		if (p->dev == dev) {
			p->users++;
			goto out;
		}
	}
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	p->mask = dma_get_mask(dev);
	p->coherent_mask = dev->coherent_dma_mask;
	/*
	 * uio_pci_generic and an unbound function keep the PCI default 32-bit
	 * mask, which would make the DMA API bounce high pages through swiotlb;
	 * a user-space driver programs full 64-bit addresses.
	 */
	err = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (err) {
		dev_notice(dev, "aisio-dmabuf: cannot set a 64-bit DMA mask: %d\n", err);
		kfree(p);
		return err;
	}
	p->dev = get_device(dev);
	p->users = 1;
	list_add(&p->node, &dmai_pdevs);
out:
	if (!domain || domain->type == IOMMU_DOMAIN_IDENTITY)
		*out_flags |= AISIO_DMABUF_OUT_PHYS;
	*pdevp = p;
	return 0;
}

void dmai_pdev_put(struct dmai_pdev *p)
{
	lockdep_assert_held(&dmai_lock);
	if (--p->users)
		return;
	list_del(&p->node);
	/* Leave the function as it was found, before any driver probes it. */
	if (dma_set_mask(p->dev, p->mask) || dma_set_coherent_mask(p->dev, p->coherent_mask))
		dev_notice(p->dev, "aisio-dmabuf: could not restore the DMA mask %#llx\n", p->mask);
	put_device(p->dev);
	kfree(p);
}

static int dmai_bus_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	const char *why;

	switch (action) {
	case BUS_NOTIFY_UNBIND_DRIVER:
		why = "its driver is being unbound";
		break;
	case BUS_NOTIFY_BIND_DRIVER:
		why = "a driver is being bound to it";
		break;
	case BUS_NOTIFY_DEL_DEVICE:
		dmai_dying_add(data);
		why = "the function is being removed";
		break;
	case BUS_NOTIFY_REMOVED_DEVICE:
		dmai_dying_del(data);
		return NOTIFY_OK;
	default:
		return NOTIFY_DONE;
	}
	dmai_revoke_dev(data, why);
	return NOTIFY_OK;
}

static struct notifier_block dmai_bus_nb = {
	.notifier_call = dmai_bus_notify,
};

int dmai_notifier_register(void)
{
	return bus_register_notifier(&pci_bus_type, &dmai_bus_nb);
}

void dmai_notifier_unregister(void)
{
	bus_unregister_notifier(&pci_bus_type, &dmai_bus_nb);
	dmai_dying_del(NULL);   /* a removal the module saw start but not end */
}
