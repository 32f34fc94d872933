// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * aisio dma-buf importer: a misc device whose open files own attachments.
 *
 * Attachments live in a per-file table keyed by a handle the file hands
 * out, so two processes (or two opens) never see each other's entries, and
 * release() tears down whatever a file still holds when it is closed or
 * its process dies. Attaching needs CAP_SYS_RAWIO or CAP_SYS_ADMIN; handles
 * are allocated cyclically, so a stale handle does not name a new
 * attachment. poll() reports EPOLLERR while the file holds a revoked
 * attachment (attach.c). The misc device's fops pin the module while any file is
 * open, so the module cannot be unloaded with attachments alive.
 */
#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/fs.h>
#include <linux/kstrtox.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "dmabuf_import.h"

/* Attachments one open file may hold; each pins memory. */
#define DMAI_MAX_ATTS 4096

/* The module's own device, published once its DMA mask is set. */
static struct device *dmai_dma_dev;

static bool debug_hooks;
module_param(debug_hooks, bool, 0444);
MODULE_PARM_DESC(debug_hooks,
		 "Create debugfs aisio-dmabuf/move_notify: writing a dma-buf fd number makes the module act as that buffer's exporter revoking it (tests)");

static int dmai_open(struct inode *inode, struct file *file)
{
	struct dmai_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	xa_init_flags(&f->atts, XA_FLAGS_ALLOC1);
	atomic_set(&f->nr_revoked, 0);
	init_waitqueue_head(&f->wq);
	f->next_handle = 1;
	file->private_data = f;
	return 0;
}

static int dmai_release(struct inode *inode, struct file *file)
{
	struct dmai_file *f = file->private_data;
	struct dmai_att *att;
	unsigned long h;

	mutex_lock(&dmai_lock);
	xa_for_each(&f->atts, h, att) {
		xa_erase(&f->atts, h);
		dmai_att_destroy(att);
	}
	mutex_unlock(&dmai_lock);
	xa_destroy(&f->atts);
	kfree(f);
	return 0;
}

/* EPOLLERR while the file holds a revoked attachment it has not detached. */
static __poll_t dmai_poll(struct file *file, poll_table *pt)
{
	struct dmai_file *f = file->private_data;

	poll_wait(file, &f->wq, pt);
	return atomic_read(&f->nr_revoked) ? EPOLLERR : 0;
}

/* The handle of a live attachment of @dmabuf for @dev already in @f, or 0. */
static u32 dmai_find(struct dmai_file *f, struct dma_buf *dmabuf, struct device *dev)
{
	struct dmai_att *att;
	unsigned long h;

	xa_for_each(&f->atts, h, att)
		if (att->dmabuf == dmabuf && att->dev == dev && !READ_ONCE(att->revoked))
			return h;
	return 0;
}

/*
 * Attach under dmai_lock (and, for a PCI function, its device lock, so no
 * driver can be bound or unbound before the attachment is on the list the
 * bus notifier walks; removal is covered by dmai_pci_claim()). Fills @a's
 * outputs.
 */
static long dmai_attach_locked(struct dmai_file *f, struct dma_buf *dmabuf, struct device *dev,
			       bool pci, struct aisio_dmabuf_attach *a)
{
	struct dmai_pdev *pdev = NULL;
	struct dmai_att *att;
	u32 out_flags = 0;
	u32 handle;
	long err;

	handle = dmai_find(f, dmabuf, dev);
	if (handle) {
		a->handle = handle;
		return -EEXIST;
	}
	if (f->nr_atts >= DMAI_MAX_ATTS)
		return -ENOSPC;
	if (pci) {
		err = dmai_pci_claim(dev, &out_flags, &pdev);
		if (err)
			return err;
	} else {
		/* Plain direct mapping: no IOMMU sits in front of this device. */
		out_flags |= AISIO_DMABUF_OUT_PHYS;
	}
	att = dmai_att_create(f, dmabuf, dev, pdev, out_flags);
	if (IS_ERR(att)) {
		if (pdev)
			dmai_pdev_put(pdev);
		return PTR_ERR(att);
	}
	/* Cyclic: a detached handle is not handed out again soon. */
	err = xa_alloc_cyclic(&f->atts, &handle, att, XA_LIMIT(1, INT_MAX), &f->next_handle,
			      GFP_KERNEL);
	if (err < 0) {
		dmai_att_destroy(att);
		return err == -EBUSY ? -ENOSPC : err;
	}
	f->nr_atts++;
	a->handle = handle;
	a->nsegs = att->nsegs;
	a->size = dmabuf->size;
	a->out_flags = att->out_flags;
	return 0;
}

static void dmai_detach_locked(struct dmai_file *f, u32 handle)
{
	struct dmai_att *att = xa_erase(&f->atts, handle);

	if (att) {
		f->nr_atts--;
		dmai_att_destroy(att);
	}
}

static long dmai_ioc_attach(struct dmai_file *f, void __user *uarg)
{
	struct aisio_dmabuf_attach a;
	struct device *dev;
	struct dma_buf *dmabuf;
	bool pci;
	long err;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~AISIO_DMABUF_ATTACH_FLAGS || a.rsvd)
		return -EINVAL;
	pci = a.flags & AISIO_DMABUF_ATTACH_PCI;
	if (pci && strnlen(a.pci_dev, sizeof(a.pci_dev)) == sizeof(a.pci_dev))
		return -EINVAL;
	/*
	 * The addresses let a device that user space drives reach the memory:
	 * the same privilege as raw I/O to that device.
	 */
	if (!capable(CAP_SYS_RAWIO) && !capable(CAP_SYS_ADMIN))
		return -EPERM;

	dmabuf = dma_buf_get(a.fd);     /* -EBADF: not open, -EINVAL: not a dma-buf */
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);

	if (pci) {
		dev = dmai_pci_dev_get(a.pci_dev);
		if (IS_ERR(dev)) {
			err = PTR_ERR(dev);
		} else {
			device_lock(dev);
			mutex_lock(&dmai_lock);
			err = dmai_attach_locked(f, dmabuf, dev, true, &a);
			mutex_unlock(&dmai_lock);
			device_unlock(dev);
			put_device(dev);
		}
	} else {
		dev = READ_ONCE(dmai_dma_dev);
		mutex_lock(&dmai_lock);
		err = dev ? dmai_attach_locked(f, dmabuf, dev, false, &a) : -ENODEV;
		mutex_unlock(&dmai_lock);
	}
	dma_buf_put(dmabuf);
	if (err && err != -EEXIST)
		return err;
	if (copy_to_user(uarg, &a, sizeof(a))) {
		if (!err) {
			mutex_lock(&dmai_lock);
			dmai_detach_locked(f, a.handle);
			mutex_unlock(&dmai_lock);
		}
		return -EFAULT;
	}
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
	mutex_lock(&dmai_lock);
	att = xa_load(&f->atts, m.handle);
	if (!att) {
		err = -ENOENT;
		goto out_unlock;
	}
	if (READ_ONCE(att->revoked)) {
		err = -ENODEV;
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
	mutex_unlock(&dmai_lock);
	return err;
}

static long dmai_ioc_detach(struct dmai_file *f, void __user *uarg)
{
	struct aisio_dmabuf_detach d;
	long err = -ENOENT;

	if (copy_from_user(&d, uarg, sizeof(d)))
		return -EFAULT;
	if (d.rsvd)
		return -EINVAL;
	mutex_lock(&dmai_lock);
	if (d.handle && xa_load(&f->atts, d.handle)) {
		dmai_detach_locked(f, d.handle);
		err = 0;
	}
	mutex_unlock(&dmai_lock);
	return err;
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
	.poll = dmai_poll,
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

/*
 * Test hook: act as the exporter of the dma-buf whose fd number (in the
 * writer's process) is written, revoking it the way an exporter does: with
 * its reservation lock held, every importer's move_notify is called.
 */
static ssize_t dmai_move_notify_write(struct file *file, const char __user *ubuf, size_t len,
				      loff_t *ppos)
{
	struct dma_buf *dmabuf;
	int fd, err;

	err = kstrtoint_from_user(ubuf, len, 10, &fd);
	if (err)
		return err;
	dmabuf = dma_buf_get(fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	dma_resv_lock(dmabuf->resv, NULL);
	dma_buf_move_notify(dmabuf);
	dma_resv_unlock(dmabuf->resv);
	dma_buf_put(dmabuf);
	return len;
}

static const struct file_operations dmai_move_notify_fops = {
	.owner = THIS_MODULE,
	.write = dmai_move_notify_write,
	.llseek = noop_llseek,
};

static struct dentry *dmai_debugfs;

static int __init dmai_init(void)
{
	struct device *dev;
	int err;

	err = dmai_notifier_register();
	if (err)
		return err;
	err = misc_register(&dmai_misc);
	if (err)
		goto err_notifier;
	/* The misc device doubles as the DMA device for plain (direct) mappings. */
	dev = dmai_misc.this_device;
	dev->dma_mask = &dev->coherent_dma_mask;
	err = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (err)
		goto err_misc;
	WRITE_ONCE(dmai_dma_dev, dev);
	if (debug_hooks) {
		dmai_debugfs = debugfs_create_dir(AISIO_DMABUF_DEV_NAME, NULL);
		debugfs_create_file("move_notify", 0200, dmai_debugfs, NULL, &dmai_move_notify_fops);
	}
	return 0;

err_misc:
	misc_deregister(&dmai_misc);
err_notifier:
	dmai_notifier_unregister();
	return err;
}

static void __exit dmai_exit(void)
{
	/* No file is open (each holds a module reference), so nothing is attached. */
	debugfs_remove_recursive(dmai_debugfs);
	misc_deregister(&dmai_misc);
	dmai_notifier_unregister();
}

module_init(dmai_init);
module_exit(dmai_exit);

MODULE_DESCRIPTION("aisio dma-buf importer: DMA addresses of dma-bufs for user-space drivers");
MODULE_AUTHOR("aisio project");
MODULE_LICENSE("Dual MIT/GPL");
MODULE_VERSION("1.0");
MODULE_IMPORT_NS(DMA_BUF);
