/* SPDX-License-Identifier: MIT */
/* homid: what sriov.c and sriov_ns.c share about one provisioning run. */
#ifndef HOMID_SRIOV_INT_H
#define HOMID_SRIOV_INT_H

#include <stdint.h>

#include "drv/drv.h"
#include "io/kpath.h"
#include "pci/pci.h"
#include "sriov.h"

struct homid_ctrl;

/* One provisioning run's view of the physical function. */
struct sriov_pf {
	char bdf[AISIO_PCI_BDF_LEN];
	char ctrl[32];  /* who carries the admin commands: nvmeX of the kernel driver, or homid */
	struct homid_ctrl *own; /* the PF is this controller of homid's (vfio); NULL: the kernel's */
	int own_busy;   /* ... and clients hold queues on it: no function reset */
	struct aisio_dev dev;   /* only uri is used: for messages */
	struct aisio_kfile kf;  /* /dev/nvmeX (the kernel's PF) */
	uint16_t cntlid;
	uint16_t oacs;  /* Identify Controller OACS */
	struct aisio_nvme_pri_ctrl_cap pc;
	struct aisio_nvme_sec_ctrl_list sl;
	int ncmds;      /* admin commands that changed state */
	int nwrites;    /* sysfs writes that changed state */
	/* sriov_ns.c: the subsystem's namespaces (0 = not read yet) */
	uint32_t nalloc;
	uint32_t alloc[1024];
};

/* The namespaces to attach to each VF (sriov_ns.c). */
struct sriov_ns_plan {
	int skip;     /* the controller has no Namespace Management: attach nothing */
	int exact;    /* detach the others from the VFs */
	uint32_t n;
	uint32_t nsid[1024];
};

/* sriov_admin.c: the admin transport (pf->own chooses it) */
/* Reach the PF's admin commands (pf->bdf, pf->own set); 0 or -errno with a message. */
int sriov_transport_open(struct sriov_pf *pf);
void sriov_transport_close(struct sriov_pf *pf);
/* An admin command to the PF: 0, -errno, or NVMe status > 0. */
int sriov_admin(struct sriov_pf *pf, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		uint32_t *res);
/* A function reset of the PF, its controller usable again afterwards. */
int sriov_pf_reset(struct sriov_pf *pf);
/* sriov_numvfs = @n; under vfio only when vfio-pci allows it (enable_sriov). */
int sriov_numvfs_write(struct sriov_pf *pf, uint32_t n);

/* sriov.c: sysfs of the PF */
int sriov_sysfs_read(const char *bdf, const char *leaf, char *buf, size_t len);
int sriov_sysfs_write_u32(const char *bdf, const char *leaf, uint32_t v);
int sriov_write_file(const char *path, const char *s);
/* -EBUSY with a message when VF @vfn's vfio group is open in a process, else 0. */
int sriov_vf_busy(const struct sriov_pf *pf, uint32_t vfn);
const struct aisio_nvme_sec_ctrl_entry *sriov_sec_of_vf(const struct sriov_pf *pf, uint32_t vfn);

/*
 * The namespaces @s asks for, checked before anything changes: each one
 * exists in the subsystem and may be shared. Returns 0 or -errno with a message.
 */
int sriov_ns_plan(struct sriov_pf *pf, const struct homid_sriov_spec *s, struct sriov_ns_plan *p);
/* Namespace Attachment so that VFs 1..@nvfs have @p's namespaces. */
int sriov_ns_apply(struct sriov_pf *pf, const struct sriov_ns_plan *p, uint32_t nvfs);
/* Every namespace detached from every secondary controller (release). */
int sriov_ns_detach_all(struct sriov_pf *pf);
/* The namespaces attached to secondary controller @scid, as "1+2" or "none", into @out. */
int sriov_ns_of(struct sriov_pf *pf, uint16_t scid, char *out, size_t cap);

#endif
