/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * dmabuf_import: user-space interface of the aisio dma-buf importer module.
 *
 * Linux gives user space no way to learn the DMA addresses of a dma-buf.
 * This module attaches to a dma-buf on behalf of the caller, pins and maps
 * it, and hands out the resulting (dma address, length) segments so that a
 * user-space driver can point a device straight at the buffer (GPU memory,
 * a dma-heap buffer, a udmabuf).
 *
 * Every attachment belongs to the open file of /dev/aisio-dmabuf that
 * created it and is identified by a small handle private to that file.
 * Closing the file (or the process exiting) detaches everything it holds.
 * Attaching needs CAP_SYS_RAWIO or CAP_SYS_ADMIN. Handles are allocated
 * cyclically: a detached handle is not handed out again soon.
 *
 * Revocation (ABI version 2): the module revokes an attachment when the
 * PCI function it maps for is unbound, bound to a driver or removed, or
 * when the exporter takes the buffer back (move_notify). The mapping is
 * gone at once: the device must not use the addresses again. poll() on the
 * file then reports EPOLLERR (as long as it holds a revoked attachment not
 * yet detached), AISIO_DMABUF_IOC_GET_MAP on the handle fails with ENODEV,
 * and AISIO_DMABUF_IOC_DETACH releases it as usual.
 *
 *   int dev = open("/dev/aisio-dmabuf", O_RDWR | O_CLOEXEC);
 *   struct aisio_dmabuf_attach at = { .fd = dmabuf_fd };
 *   ioctl(dev, AISIO_DMABUF_IOC_ATTACH, &at);        // at.handle, at.nsegs
 *   struct aisio_dmabuf_seg segs[at.nsegs];
 *   struct aisio_dmabuf_map m = { .handle = at.handle, .nsegs = at.nsegs,
 *                                 .segs = (uintptr_t)segs };
 *   ioctl(dev, AISIO_DMABUF_IOC_GET_MAP, &m);
 *   ...
 *   struct aisio_dmabuf_detach d = { .handle = at.handle };
 *   ioctl(dev, AISIO_DMABUF_IOC_DETACH, &d);
 *
 * Usable from the kernel and from C user space (only <linux/types.h> and
 * <linux/ioctl.h>). All structures have fixed sizes and no implicit padding,
 * so 32- and 64-bit callers share one layout. Reserved fields must be zero.
 */
#ifndef AISIO_UAPI_DMABUF_IMPORT_H
#define AISIO_UAPI_DMABUF_IMPORT_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define AISIO_DMABUF_DEV_NAME "aisio-dmabuf"
#define AISIO_DMABUF_DEV_PATH "/dev/aisio-dmabuf"

/* Interface version reported in sysfs (/sys/class/misc/aisio-dmabuf/abi_version). */
/* 1: first release. 2: revocation, poll(), capability check, cyclic handles; same layouts. */
#define AISIO_DMABUF_ABI_VERSION 2

/* Size of the PCI device name field: "DDDD:BB:DD.F" plus room to spare. */
#define AISIO_DMABUF_DEV_LEN 32

/* aisio_dmabuf_attach.flags (in) */
/* Map for the PCI function named in @pci_dev instead of for the module's own device. */
#define AISIO_DMABUF_ATTACH_PCI (1u << 0)
#define AISIO_DMABUF_ATTACH_FLAGS (AISIO_DMABUF_ATTACH_PCI)

/* aisio_dmabuf_attach.out_flags (out) */
/* Addresses are CPU physical addresses (no IOMMU translation for the device). */
#define AISIO_DMABUF_OUT_PHYS (1u << 0)

/*
 * AISIO_DMABUF_IOC_ATTACH: attach to, pin and map a dma-buf.
 * The module keeps its own reference to the dma-buf, so @fd may be closed
 * afterwards. Errors: EBADF (@fd not open), EINVAL (@fd is not a dma-buf,
 * unknown flag, nonzero reserved field), EPERM (the caller has neither
 * CAP_SYS_RAWIO nor CAP_SYS_ADMIN), EEXIST (this file already holds a live
 * attachment to that dma-buf for that device; @handle is set to it),
 * ENODEV (no such PCI device), EBUSY (the PCI function is bound to a
 * driver other than uio_pci_generic, or its DMA is owned by user space
 * through vfio; the kernel log names the driver and what to do), ENOSPC
 * (too many attachments on this file), or the exporter's error.
 */
struct aisio_dmabuf_attach {
	__s32 fd;                           /* in: dma-buf file descriptor */
	__u32 flags;                        /* in: AISIO_DMABUF_ATTACH_* */
	char pci_dev[AISIO_DMABUF_DEV_LEN]; /* in: "0000:01:00.0" with ATTACH_PCI */
	__u32 handle;                       /* out: attachment handle, never 0 */
	__u32 nsegs;                        /* out: DMA segments in the mapping */
	__u64 size;                         /* out: dma-buf size in bytes */
	__u32 out_flags;                    /* out: AISIO_DMABUF_OUT_* */
	__u32 rsvd;                         /* must be 0 */
};

/* One DMA-contiguous piece of a mapping, in buffer order. */
struct aisio_dmabuf_seg {
	__u64 addr;                         /* bus (DMA) address */
	__u64 len;                          /* bytes */
};

/*
 * AISIO_DMABUF_IOC_GET_MAP: copy the segments of an attachment.
 * @nsegs in: capacity of the array at @segs; out: segments the mapping has.
 * With @nsegs 0 nothing is copied and the call returns 0 (a count query).
 * When the array is too small the first @nsegs (capacity) entries are
 * written, @nsegs is set to the needed count and the call fails with
 * ENOSPC. Errors: ENOENT (no such handle on this file), ENODEV (the
 * attachment was revoked; detach it), EFAULT, EINVAL.
 */
struct aisio_dmabuf_map {
	__u32 handle;                       /* in */
	__u32 nsegs;                        /* in: capacity; out: total */
	__u64 segs;                         /* in: user pointer to struct aisio_dmabuf_seg[] */
};

/* AISIO_DMABUF_IOC_DETACH: unmap, unpin and release (also a revoked handle). Errors: ENOENT, EINVAL. */
struct aisio_dmabuf_detach {
	__u32 handle;                       /* in */
	__u32 rsvd;                         /* must be 0 */
};

#define AISIO_DMABUF_IOC_MAGIC 0xA5
#define AISIO_DMABUF_IOC_ATTACH  _IOWR(AISIO_DMABUF_IOC_MAGIC, 0x01, struct aisio_dmabuf_attach)
#define AISIO_DMABUF_IOC_GET_MAP _IOWR(AISIO_DMABUF_IOC_MAGIC, 0x02, struct aisio_dmabuf_map)
#define AISIO_DMABUF_IOC_DETACH  _IOW(AISIO_DMABUF_IOC_MAGIC, 0x03, struct aisio_dmabuf_detach)

/* The layout is ABI: any change here breaks existing callers. */
#ifndef __cplusplus
_Static_assert(sizeof(struct aisio_dmabuf_attach) == 64, "aisio_dmabuf_attach layout");
_Static_assert(sizeof(struct aisio_dmabuf_seg) == 16, "aisio_dmabuf_seg layout");
_Static_assert(sizeof(struct aisio_dmabuf_map) == 16, "aisio_dmabuf_map layout");
_Static_assert(sizeof(struct aisio_dmabuf_detach) == 8, "aisio_dmabuf_detach layout");
#endif

#endif
