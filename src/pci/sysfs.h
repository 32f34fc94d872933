/* SPDX-License-Identifier: MIT */
/*
 * PCI functions through sysfs: driver binding, configuration space and
 * resource mapping. The sysfs PCI root is /sys/bus/pci, or $AISIO_PCI_SYSFS
 * (tests point it at a fake tree).
 */
#ifndef AISIO_PCI_SYSFS_H
#define AISIO_PCI_SYSFS_H

#include <stddef.h>
#include <stdint.h>

#include "pci/pci.h"

/* PCI configuration space offsets and command register bits used here. */
enum {
	AISIO_PCI_CFG_VENDOR = 0x00,
	AISIO_PCI_CFG_DEVICE = 0x02,
	AISIO_PCI_CFG_COMMAND = 0x04,
	AISIO_PCI_CFG_CLASS = 0x08, /* revision, prog-if, subclass, class */
	AISIO_PCI_CMD_MEMORY = 1u << 1,
	AISIO_PCI_CMD_MASTER = 1u << 2,
	AISIO_PCI_CMD_INTX_DISABLE = 1u << 10,
};

/* A function's binding: what it had when we found it, what it has now. */
struct aisio_pci_binding {
	char bdf[AISIO_PCI_BDF_LEN];
	char orig[64]; /* driver before we touched it; "" = none */
	int changed;   /* we rebound it and must restore @orig */
};

const char *aisio_pci_sysfs_root(void);

/* "<root>/devices/<bdf>/<leaf>" into @buf. Returns 0 or -ENAMETOOLONG. */
int aisio_pci_sysfs_path(char *buf, size_t len, const char *bdf, const char *leaf);

/* 0 if the function exists, else -ENODEV with a message. */
int aisio_pci_sysfs_exists(const char *bdf);

/* Name of the bound driver into @buf ("" = none). Returns 0 or -errno. */
int aisio_pci_sysfs_driver(const char *bdf, char *buf, size_t len);

/* 1 if the kernel driver @drv is registered (module loaded), else 0. */
int aisio_pci_sysfs_driver_loaded(const char *drv);

/*
 * Bind @b->bdf to @drv via driver_override + drivers_probe, unbinding the
 * current driver first and remembering it in @b. Returns 0, -ENODEV (driver
 * not loaded), -EBUSY (the driver did not take the function) or -errno.
 */
int aisio_pci_sysfs_bind(struct aisio_pci_binding *b, const char *drv);

/* Give the function back to the driver recorded by aisio_pci_sysfs_bind(). */
int aisio_pci_sysfs_restore(struct aisio_pci_binding *b);

/* IOMMU group number, or -ENOENT when the function has none. */
int aisio_pci_sysfs_iommu_group(const char *bdf);

/* The group's default domain type ("identity", "DMA", "DMA-FQ"...) or "". */
int aisio_pci_sysfs_iommu_type(const char *bdf, char *buf, size_t len);

/* Open the config space file (O_RDWR). Returns an fd or -errno. */
int aisio_pci_sysfs_cfg_open(const char *bdf);

/* pread/pwrite of exactly @len bytes at @off. Returns 0 or -errno. */
int aisio_pci_cfg_pread(int fd, uint32_t off, void *buf, size_t len);
int aisio_pci_cfg_pwrite(int fd, uint32_t off, const void *buf, size_t len);

/* mmap resource<bar> shared, read/write. Returns 0 or -errno. */
int aisio_pci_sysfs_map_bar(const char *bdf, int bar, volatile uint8_t **va, size_t *len);

/* Set memory decoding and bus mastering in the command register of @f. */
int aisio_pci_enable_master(struct aisio_pcif *f);

#endif
