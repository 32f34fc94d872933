/* SPDX-License-Identifier: MIT */
/*
 * Real PCI functions for the user-space NVMe driver: a function is bound to
 * uio_pci_generic or vfio-pci through sysfs, its BAR0 mapped, and its DMA
 * memory translated either by physical address (uio, hugepages + pagemap)
 * or by IOMMU mappings at IOVAs we choose (vfio type 1). Closing the function
 * gives it back to the driver it had before.
 */
#ifndef AISIO_PCI_PCI_H
#define AISIO_PCI_PCI_H

#include "pci/pcif.h"

/* "DDDD:BB:DD.F" plus NUL. */
#define AISIO_PCI_BDF_LEN 13

/*
 * Open the PCI function @bdf ("0000:01:00.0" or "01:00.0") for user-space
 * access. @binding is "uio", "vfio" or NULL (auto: keep a uio/vfio binding
 * the function already has, else vfio when the function has an IOMMU group
 * and vfio-pci is loaded, else uio). Needs root.
 * Returns 0 and *out, or -EINVAL (bad address or binding), -ENODEV (no such
 * function, or the wanted kernel driver is not loaded), -EBUSY (cannot
 * unbind/bind), -EACCES/-EPERM (not root), -EOPNOTSUPP (uio while an IOMMU
 * translates the function's DMA), other -errno from sysfs or vfio.
 */
int aisio_pcif_open(const char *bdf, const char *binding, struct aisio_pcif **out);

/*
 * Normalise a PCI address into "DDDD:BB:DD.F" (lower case). Returns 0 or
 * -EINVAL.
 */
int aisio_pci_bdf_parse(const char *in, char out[AISIO_PCI_BDF_LEN]);

/*
 * aisio_pcif_map_user - make @len bytes of memory at @va (page aligned, any
 * owner: homid maps its clients' memfds) reachable by function @f at one
 * contiguous device address *@bus; aisio_pcif_unmap_user takes it back.
 * vfio only (-ENOTSUP for other bindings: no IOMMU to confine the device).
 */
int aisio_pcif_map_user(struct aisio_pcif *f, void *va, size_t len, uint64_t *bus);
int aisio_pcif_unmap_user(struct aisio_pcif *f, uint64_t bus, size_t len);

#endif
