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
 * Open the PCI function a URI names, through the provider of its scheme
 * (src/pci/provider.c):
 *   pci:BDF[,drv=uio|vfio]   a real function, as aisio_pcif_open()
 *   emu:SPEC                 a device-model controller in this process,
 *                            SPEC as aisio_emu_open_uri() takes it; closing
 *                            the function destroys the controller; its
 *                            file=PATH is created or grown only with
 *                            AISIO_PCIF_CREATE in @flags
 * Returns 0 and *out, -EINVAL (no provider for the scheme, nothing after the
 * colon, or what the provider rejects) or the provider's -errno.
 */
int aisio_pcif_open_uri(const char *uri, unsigned flags, struct aisio_pcif **out);

/*
 * @flags of aisio_pcif_open_uri(): the caller means to write and may have a
 * backing file created or grown (a model's file=PATH). Without it nothing on
 * disk is created or changed: a query must leave files as they are.
 */
#define AISIO_PCIF_CREATE (1u << 0)

/* 1 when a provider answers @uri's scheme, else 0. */
int aisio_pcif_uri_known(const char *uri);

/*
 * Normalise a PCI address into "DDDD:BB:DD.F" (lower case). Returns 0 or
 * -EINVAL.
 */
int aisio_pci_bdf_parse(const char *in, char out[AISIO_PCI_BDF_LEN]);

/*
 * vfio functions only (others: -ENOTSUP). Map @len bytes of this process's
 * memory at @va (page aligned; any shared mapping, e.g. a memfd) for the
 * function's DMA, at an IOVA chosen from a range apart from the provider's
 * own DMA memory; the pages stay pinned until unmapped. Returns 0 and
 * *iova, -EINVAL, -ENOSPC (IOVA range full) or VFIO_IOMMU_MAP_DMA's -errno.
 * Unmap before closing the function.
 */
int aisio_pci_vfio_map(struct aisio_pcif *f, void *va, size_t len, uint64_t *iova);
/* Withdraw what aisio_pci_vfio_map() mapped at @iova: 0, -ENOENT or -errno. */
int aisio_pci_vfio_unmap(struct aisio_pcif *f, uint64_t iova);
/*
 * The vfio device descriptor (owned by @f: dup it to keep it) and the offset
 * of BAR0 in it, for mmap in another process. 0 or -errno.
 */
int aisio_pci_vfio_device(struct aisio_pcif *f, int *fd, uint64_t *bar0_off);

/*
 * Handing a vfio function to another process (homid's restart): its
 * container, group and device descriptors (kept open across exec by the
 * caller) and the driver to restore on close. The IOMMU mappings live in
 * the container and stay.
 */
struct aisio_pci_vfio_handover {
	char bdf[AISIO_PCI_BDF_LEN];
	char orig[64]; /* driver to give the function back to on close; "" = none */
	int32_t changed;
	int32_t container, group, device;
};
int aisio_pci_vfio_handover_save(struct aisio_pcif *f, struct aisio_pci_vfio_handover *h);
/*
 * A function from handed-over descriptors: BAR0 mapped again, nothing reset
 * or rebound. On failure the descriptors stay the caller's. 0 or -errno.
 */
int aisio_pci_vfio_adopt(const struct aisio_pci_vfio_handover *h, struct aisio_pcif **out);
/*
 * Close without giving the function back to its driver: unbinding vfio-pci
 * waits for every descriptor of the device, and other processes (homid's
 * direct clients) may hold one.
 */
void aisio_pci_vfio_leave_bound(struct aisio_pcif *f);
/* Record a mapping made by the previous owner (aisio_pci_vfio_map), to unmap it later. */
int aisio_pci_vfio_map_adopt(struct aisio_pcif *f, uint64_t iova, uint64_t len);
/*
 * After a previous owner crashed: withdraw every mapping in the range for
 * mapped memory that is not recorded (aisio_pci_vfio_map, _map_adopt):
 * memory it mapped after its last record. *@bytes: how much. 0 or -errno.
 */
int aisio_pci_vfio_unmap_unknown(struct aisio_pcif *f, uint64_t *bytes);

/*
 * SR-IOV with the PF under vfio-pci (src/pci/vfio_sriov.c). vfio-pci lets a
 * PF it drives enable VFs only with its module parameter enable_sriov set,
 * and opens those VFs only for a process that gives the VF token (a UUID)
 * that the PF's owner set.
 */
#define AISIO_PCI_VF_TOKEN_LEN 37 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and NUL */
/* Open VF @bdf through vfio with the PF's VF token @token (a UUID string, NULL: none). */
int aisio_pci_vfio_open_vf(const char *bdf, const char *token, struct aisio_pcif **out);
/* A fresh random VF token as a UUID string. 0 or -errno. */
int aisio_pci_vf_token_new(char out[AISIO_PCI_VF_TOKEN_LEN]);
/*
 * Set VF token @token on PF @f (VFIO_DEVICE_FEATURE_PCI_VF_TOKEN). Returns 0,
 * -ENOTSUP (not a vfio function, or not an SR-IOV PF), -EINVAL (not a UUID), -errno.
 */
int aisio_pci_vfio_set_vf_token(struct aisio_pcif *f, const char *token);
/* 1 when vfio-pci lets its PFs enable VFs (enable_sriov), 0 when not, -errno. */
int aisio_pci_vfio_sriov_enabled(void);
/* A function-level reset of @f (VFIO_DEVICE_RESET). 0 or -errno with a message. */
int aisio_pci_vfio_reset(struct aisio_pcif *f);

#endif
