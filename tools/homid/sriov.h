/* SPDX-License-Identifier: MIT */
/* homid: SR-IOV virtual functions through NVMe Virtualization Management (sriov.c). */
#ifndef HOMID_SRIOV_H
#define HOMID_SRIOV_H

#include <stdint.h>
#include <stdio.h>

#include "pci/pci.h"

#define HOMID_SRIOV_MAX_NS 16

struct homid_sriov_spec {
	char bdf[AISIO_PCI_BDF_LEN]; /* the physical function */
	uint32_t vfs;                /* VFs to enable (0: disable them) */
	int has_vfs;
	uint32_t vq, vi;             /* resources per VF; 0 = an equal share */
	char drv[32];                /* driver the VFs are bound to (vfio-pci) */
	/*
	 * Namespaces attached to every VF's secondary controller. has_ns 0:
	 * every shared namespace attached to the PF (nothing detached); 1:
	 * exactly ns[0..nns) (others detached from the VFs; nns 0 = none).
	 */
	int has_ns;
	uint32_t nns;
	uint32_t ns[HOMID_SRIOV_MAX_NS];
};

/*
 * Parse "pci:BDF,vfs=N[,vq=N][,vi=N][,drv=NAME][,ns=N[+N...]|none]".
 * Returns 0 or -EINVAL with a message.
 */
int homid_sriov_parse(const char *spec, struct homid_sriov_spec *out);

/*
 * The index of the controller spec in @ctrls ("pci:BDF[,...]") that is the
 * PF of SR-IOV spec @sriov: homid owns that PF and provisions its VFs
 * through its own admin queue. -ENOENT when none is (or @sriov is NULL).
 */
int homid_sriov_pf_index(const char *sriov, char *const *ctrls, int nctrls);

struct homid_ctrl;

/*
 * Bring the PF's VFs to the state @s describes, changing only what differs.
 * @own: NULL when the kernel's nvme driver owns the PF (admin commands
 * through /dev/nvmeX), else homid's controller of the PF (vfio: its admin
 * queue); @own_busy: clients hold queues on it, so it must not be reset.
 * *@changes: admin commands and sysfs writes that changed something (0 on a
 * run that found everything in place). Returns 0 or -errno / a positive
 * NVMe status, with a message.
 */
int homid_sriov_provision(const struct homid_sriov_spec *s, struct homid_ctrl *own, int own_busy,
			  int *changes);

/* The PF's flexible resources and each secondary controller (VF, state,
 * resources, driver) on @out; @own as for homid_sriov_provision(). */
int homid_sriov_status(const char *bdf, struct homid_ctrl *own, FILE *out);

/*
 * Before homid takes PF @bdf through vfio: -EBUSY with a message when
 * another driver (nvme) has VFs of it enabled, which homid cannot take
 * from under that driver. 0 otherwise.
 */
int homid_sriov_take_check(const char *bdf);

/* The address of VF @vfn (1-based) of PF @pf, from sysfs; -errno with a message. */
int homid_sriov_vf_bdf(const char *pf, uint32_t vfn, char out[AISIO_PCI_BDF_LEN]);

/* The PF of VF @vf (its physfn link); -ENODEV when @vf is no VF. */
int homid_sriov_pf_of(const char *vf, char out[AISIO_PCI_BDF_LEN]);

/* homid --sriov SPEC / --sriov-status pci:BDF: 0, or the exit code (1, 2 for bad usage). */
int homid_sriov_cli(const char *spec, const char *status_pf);

#endif
