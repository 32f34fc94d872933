// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * aisio dma-buf importer: a misc device whose open files own attachments.
 *
 * Attachments live in a per-file table keyed by a handle the file hands
 * out, so two processes (or two opens) never see each other's entries, and
 * release() tears down whatever a file still holds when it is closed or
 * its process dies. The misc device's fops pin the module while any file is
 * open, so the module cannot be unloaded with attachments alive.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "dmabuf_import.h"

/* Attachments one open file may hold; each pins memory. */
#define DMAI_MAX_ATTS 4096

struct dmai_file {
	struct mutex lock;      /* serialises attach/detach on this file */
	struct xarray atts;     /* handle -> struct dmai_att */
};

/* The module's own device, published once its DMA mask is set. */
static struct device *dmai_dma_dev;

static int dmai_open(struct inode *inode, struct file *file)
{
	struct dmai_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	mutex_init(&f->lock);
	xa_init_flags(&f->atts, XA_FLAGS_ALLOC1);
	file->private_data = f;
	return 0;
}

static int dmai_release(struct inode *inode, struct file *file)
{
	struct dmai_file *f = file->private_data;
	struct dmai_att *att;
	unsigned long h;

	xa_for_each(&f->atts, h, att) {
		xa_erase(&f->atts, h);
		dmai_att_destroy(att);
	}
	xa_destroy(&f->atts);
	mutex_destroy(&f->lock);
	kfree(f);
	return 0;
}

/* The handle of an attachment of @dmabuf for @dev already in @f, or 0. */
static u32 dmai_find(struct dmai_file *f, struct dma_buf *dmabuf, struct device *dev)
{
	struct dmai_att *att;
	unsigned long h;

	xa_for_each(&f->atts, h, att)
		if (att->dmabuf == dmabuf && att->dev == dev)
			return h;
	return 0;
}

static long dmai_ioc_attach(struct dmai_file *f, void __user *uarg)
{
	struct aisio_dmabuf_attach a;
	struct device *dev;
	struct dma_buf *dmabuf;
	struct dmai_att *att;
	u32 out_flags = 0;
	u32 handle;
	long err;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~AISIO_DMABUF_ATTACH_FLAGS || a.rsvd)
		return -EINVAL;
	if ((a.flags & AISIO_DMABUF_ATTACH_PCI) &&
	    strnlen(a.pci_dev, sizeof(a.pci_dev)) == sizeof(a.pci_dev))
		return -EINVAL;

	dmabuf = dma_buf_get(a.fd);     /* -EBADF: not open, -EINVAL: not a dma-buf */
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	if (a.flags & AISIO_DMABUF_ATTACH_PCI) {
		dev = dmai_pci_dev_get(a.pci_dev, &out_flags);
		if (IS_ERR(dev)) {
			err = PTR_ERR(dev);
			goto out_put_buf;
		}
	} else {
		dev = get_device(READ_ONCE(dmai_dma_dev));
		if (!dev) {
			err = -ENODEV;
			goto out_put_buf;
		}
		/* Plain direct mapping: no IOMMU sits in front of this device. */
		out_flags |= AISIO_DMABUF_OUT_PHYS;
	}

	mutex_lock(&f->lock);
	handle = dmai_find(f, dmabuf, dev);
	if (handle) {
		a.handle = handle;
		err = copy_to_user(uarg, &a, sizeof(a)) ? -EFAULT : -EEXIST;
		goto out_unlock;
	}
	att = dmai_att_create(dmabuf, dev, out_flags);
	if (IS_ERR(att)) {
		err = PTR_ERR(att);
		goto out_unlock;
	}
	err = xa_alloc(&f->atts, &handle, att, XA_LIMIT(1, DMAI_MAX_ATTS), GFP_KERNEL);
	if (err) {
		if (err == -EBUSY)
			err = -ENOSPC;
		goto out_destroy;
	}
	a.handle = handle;
	a.nsegs = att->nsegs;
	a.size = dmabuf->size;
	a.out_flags = att->out_flags;
	if (copy_to_user(uarg, &a, sizeof(a))) {
		xa_erase(&f->atts, handle);
		err = -EFAULT;
		goto out_destroy;
	}
	err = 0;
	goto out_unlock;

out_destroy:
	dmai_att_destroy(att);
out_unlock:
	mutex_unlock(&f->lock);
	put_device(dev);
out_put_buf:
	dma_buf_put(dmabuf);
	return err;
}

static long dmai_ioc_get_map(struct dmai_file *f, void __user *uarg)
{
	struct aisio_dmabuf_map m;
	struct dmai_att *att;
	u32 cap, n;
	long err = 0;

	if (copy_from_user(&m, uarg, sizeof(m)))
		return -EFAULT;
	mutex_lock(&f->lock);
	att = xa_load(&f->atts, m.handle);
	if (!att) {
		err = -ENOENT;
		goto out_unlock;
	}
	cap = m.nsegs;
	n = min(cap, att->nsegs);
	if (n && copy_to_user(u64_to_user_ptr(m.segs), att->segs, (size_t)n * sizeof(*att->segs))) {
		err = -EFAULT;
		goto out_unlock;
	}
	m.nsegs = att->nsegs;
	if (copy_to_user(uarg, &m, sizeof(m)))
		err = -EFAULT;
	else if (cap && cap < att->nsegs)
		err = -ENOSPC;
out_unlock:
	mutex_unlock(&f->lock);
	return err;
}

static long dmai_ioc_detach(struct dmai_file *f, void __user *uarg)
{
	struct aisio_dmabuf_detach d;
	struct dmai_att *att;

	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	if (d.rsvd)
		return -EINVAL;
	mutex_lock(&f->lock);
	att = d.handle ? xa_erase(&f->atts, d.handle) : NULL;
	if (att)
		dmai_att_destroy(att);
	mutex_unlock(&f->lock);
	return att ? 0 : -ENOENT;
}

static long dmai_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dmai_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case AISIO_DMABUF_IOC_ATTACH:
		return dmai_ioc_attach(f, uarg);
	case AISIO_DMABUF_IOC_GET_MAP:
		return dmai_ioc_get_map(f, uarg);
	case AISIO_DMABUF_IOC_DETACH:
		return dmai_ioc_detach(f, uarg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations dmai_fops = {
	.owner = THIS_MODULE,
	.open = dmai_open,
	.release = dmai_release,
	.unlocked_ioctl = dmai_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static ssize_t attachments_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&dmai_nr_atts));
}
static DEVICE_ATTR_RO(attachments);

static ssize_t abi_version_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", AISIO_DMABUF_ABI_VERSION);
}
static DEVICE_ATTR_RO(abi_version);

static struct attribute *dmai_attrs[] = {
	&dev_attr_attachments.attr,
	&dev_attr_abi_version.attr,
	NULL,
};
ATTRIBUTE_GROUPS(dmai);

static struct miscdevice dmai_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = AISIO_DMABUF_DEV_NAME,
	.fops = &dmai_fops,
	.groups = dmai_groups,
	.mode = 0600,   /* DMA addresses are physical addresses: root only by default */
};

static int __init dmai_init(void)
{
	struct device *dev;
	int err;

	err = misc_register(&dmai_misc);
	if (err)
		return err;
	/* The misc device doubles as the DMA device for plain (direct) mappings. */
	dev = dmai_misc.this_device;
	dev->dma_mask = &dev->coherent_dma_mask;
	err = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (err) {
		misc_deregister(&dmai_misc);
		return err;
	}
	WRITE_ONCE(dmai_dma_dev, dev);
	return 0;
}

static void __exit dmai_exit(void)
{
	/* No file is open (each holds a module reference), so nothing is attached. */
	misc_deregister(&dmai_misc);
}

module_init(dmai_init);
module_exit(dmai_exit);

MODULE_DESCRIPTION("aisio dma-buf importer: DMA addresses of dma-bufs for user-space drivers");
MODULE_AUTHOR("aisio project");
MODULE_LICENSE("Dual MIT/GPL");
MODULE_VERSION("1.0");
MODULE_IMPORT_NS(DMA_BUF);
