/* SPDX-License-Identifier: MIT */
/*
 * homid: SR-IOV virtual functions of an NVMe controller. The physical
 * function stays with the Linux nvme driver or is one of homid's own
 * controllers through vfio; sriov_admin.c carries the admin commands either
 * way (the kernel's admin passthrough, or homid's admin queue). The PCI
 * side goes through sysfs (src/pci/sysfs.c).
 *
 * Provisioning, in the order the controller needs it:
 *   1. release the primary's flexible VQ and VI resources (Virtualization
 *      Management, Primary Controller Flexible Allocation, NR 0) and reset
 *      the PF function so the release takes effect (VFs disabled first);
 *   2. sriov_drivers_autoprobe = 0, so no driver grabs a VF that has no
 *      queues yet; sriov_numvfs = N;
 *   3. for each VF's secondary controller: offline if its resources are
 *      wrong, Secondary Controller Assign of VI and VQ, Secondary Controller
 *      Online;
 *   4. bind each VF to vfio-pci (driver_override, then probe).
 * Every step first reads the state and does nothing when it is already
 * right, so a second run sends no command and a run after a crash finishes
 * what the first one left half done. Between 3 and 4 the namespaces are
 * attached to the secondaries (Namespace Attachment, sriov_ns.c); release
 * detaches them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "homid.h"
#include "io/kpath.h"
#include "nvme/cmd.h"
#include "pci/pci.h"
#include "pci/sysfs.h"
#include "sriov.h"
#include "sriov_int.h"
#include "util/err.h"

/* ---- sysfs -------------------------------------------------------------- */

int sriov_sysfs_read(const char *bdf, const char *leaf, char *buf, size_t len)
{
	char p[PATH_MAX];
	ssize_t n;
	int fd, err = aisio_pci_sysfs_path(p, sizeof(p), bdf, leaf);

	if (err)
		return err;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int sysfs_read_u32(const char *bdf, const char *leaf, uint32_t *v)
{
	char buf[32];
	int err = sriov_sysfs_read(bdf, leaf, buf, sizeof(buf));

	if (err)
		return aisio_err(err, "%s: cannot read %s: %s", bdf, leaf, strerror(-err));
	*v = (uint32_t)strtoul(buf, NULL, 0);
	return 0;
}

int sriov_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), e;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	e = n < 0 ? -errno : (size_t)n == strlen(s) ? 0 : -EIO;
	close(fd);
	return e;
}

int sriov_sysfs_write_u32(const char *bdf, const char *leaf, uint32_t v)
{
	char p[PATH_MAX], s[16];
	int err = aisio_pci_sysfs_path(p, sizeof(p), bdf, leaf);

	if (err)
		return err;
	snprintf(s, sizeof(s), "%u", v);
	err = sriov_write_file(p, s);
	if (err)
		return aisio_err(err, "%s: cannot write %u to %s: %s", bdf, v, leaf, strerror(-err));
	return 0;
}

/* BDF of VF @vfn (1-based) from the PF's virtfnN link. */
static int vf_bdf(const char *pf, uint32_t vfn, char out[AISIO_PCI_BDF_LEN])
{
	char p[PATH_MAX], t[PATH_MAX], leaf[32];
	const char *base;
	ssize_t n;

	snprintf(leaf, sizeof(leaf), "virtfn%u", vfn - 1);
	if (aisio_pci_sysfs_path(p, sizeof(p), pf, leaf))
		return -ENAMETOOLONG;
	n = readlink(p, t, sizeof(t) - 1);
	if (n < 0)
		return aisio_err(-errno, "%s: VF %u has no %s link: %s", pf, vfn, leaf, strerror(errno));
	t[n] = '\0';
	base = strrchr(t, '/');
	base = base ? base + 1 : t;
	if (strlen(base) >= AISIO_PCI_BDF_LEN)
		return aisio_err(-EINVAL, "%s: %s points at '%s', not a PCI address", pf, leaf, base);
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

int homid_sriov_vf_bdf(const char *pf, uint32_t vfn, char out[AISIO_PCI_BDF_LEN])
{
	return vf_bdf(pf, vfn, out);
}

/* ---- admin commands ----------------------------------------------------- */

static int read_caps(struct sriov_pf *pf)
{
	struct aisio_nvme_sqe cmd;
	int err;

	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_PRIMARY_CTRL_CAP, 0, pf->cntlid);
	err = sriov_admin(pf, &cmd, &pf->pc, sizeof(pf->pc), NULL);
	if (err)
		return err;
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_SECONDARY_CTRL_LIST, 0, 0);
	return sriov_admin(pf, &cmd, &pf->sl, sizeof(pf->sl), NULL);
}

static int virt(struct sriov_pf *pf, uint8_t act, uint8_t rt, uint16_t cntlid, uint16_t nr)
{
	static const char *const acts[] = { [1] = "primary flexible allocation",
		[7] = "secondary offline", [8] = "secondary assign", [9] = "secondary online" };
	struct aisio_nvme_sqe cmd;
	uint32_t res = 0;
	int err;

	aisio_nvme_cmd_virt_mgmt(&cmd, act, rt, cntlid, nr);
	err = sriov_admin(pf, &cmd, NULL, 0, &res);
	if (err) {
		char why[256];

		snprintf(why, sizeof(why), "%s",
			 err > 0 ? aisio_nvme_status_str((uint32_t)err) : aisio_errmsg());
		return aisio_err(err, "%s: Virtualization Management %s of %u %s to controller %#x "
				 "failed: %s", pf->bdf, acts[act & 0xf] ? acts[act & 0xf] : "?", nr,
				 rt == AISIO_NVME_VIRT_RT_VQ ? "VQ" : "VI", cntlid, why);
	}
	pf->ncmds++;
	if (act == AISIO_NVME_VIRT_ACT_SEC_ONLINE || act == AISIO_NVME_VIRT_ACT_SEC_OFFLINE)
		LOG_INFO("%s: virt-mgmt %s cntlid %#x", pf->bdf, acts[act], cntlid);
	else
		LOG_INFO("%s: virt-mgmt %s cntlid %#x %u %s -> %u", pf->bdf, acts[act & 0xf], cntlid,
			 nr, rt == AISIO_NVME_VIRT_RT_VQ ? "VQ" : "VI", res);
	return 0;
}

const struct aisio_nvme_sec_ctrl_entry *sriov_sec_of_vf(const struct sriov_pf *pf, uint32_t vfn)
{
	for (unsigned i = 0; i < pf->sl.numid && i < AISIO_NVME_SEC_CTRL_LIST_MAX; i++)
		if (aisio_le16_to_cpu(pf->sl.sc[i].vfn) == vfn)
			return &pf->sl.sc[i];
	return NULL;
}

static int pf_open(const char *bdf, struct homid_ctrl *own, struct sriov_pf *pf)
{
	struct aisio_nvme_id_ctrl *id;
	struct aisio_nvme_sqe cmd;
	int err;

	memset(pf, 0, sizeof(*pf));
	pf->kf.fd = -1;
	pf->own = own;
	snprintf(pf->bdf, sizeof(pf->bdf), "%s", bdf);
	err = aisio_pci_sysfs_exists(bdf);
	if (err)
		return err;
	err = sriov_transport_open(pf);
	if (err)
		return err;
	id = calloc(1, sizeof(*id));
	if (!id)
		return aisio_err(-ENOMEM, "out of memory");
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_CTRL, 0, 0);
	err = sriov_admin(pf, &cmd, id, sizeof(*id), NULL);
	if (!err && !(aisio_le16_to_cpu(id->oacs) & AISIO_NVME_OACS_VIRT_MGMT))
		err = aisio_err(-ENOTSUP, "%s: the controller does not support Virtualization "
				"Management (OACS bit 7 clear): it cannot provision VFs", bdf);
	pf->cntlid = aisio_le16_to_cpu(id->cntlid);
	pf->oacs = aisio_le16_to_cpu(id->oacs);
	free(id);
	if (!err)
		err = read_caps(pf);
	return err;
}

static void pf_close(struct sriov_pf *pf)
{
	sriov_transport_close(pf);
}

/* ---- provisioning ------------------------------------------------------- */

/*
 * -EBUSY with a message when VF @vfn is bound to vfio-pci and a process has
 * its group open (a vfio group opens once at a time), else 0.
 */
int sriov_vf_busy(const struct sriov_pf *pf, uint32_t vfn)
{
	char vbdf[AISIO_PCI_BDF_LEN], drv[64] = "", path[64];
	int grp, fd;

	if (vf_bdf(pf->bdf, vfn, vbdf) || aisio_pci_sysfs_driver(vbdf, drv, sizeof(drv)) ||
	    strcmp(drv, "vfio-pci"))
		return 0;
	grp = aisio_pci_sysfs_iommu_group(vbdf);
	if (grp < 0)
		return 0;
	snprintf(path, sizeof(path), "/dev/vfio/%d", grp);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != EBUSY)
		return 0;
	return aisio_err(-EBUSY, "%s: VF %u (%s) is in use (%s is open): stop its user before "
			 "changing or releasing it", pf->bdf, vfn, vbdf, path);
}

/* Every enabled VF idle, or -EBUSY. */
static int vfs_idle(const struct sriov_pf *pf, uint32_t numvfs)
{
	for (uint32_t v = 1; v <= numvfs; v++) {
		int err = sriov_vf_busy(pf, v);

		if (err)
			return err;
	}
	return 0;
}

/* Secondaries offline and holding nothing, then VFs disabled. */
static int release_all(struct sriov_pf *pf, uint32_t numvfs, int *writes)
{
	int err = vfs_idle(pf, numvfs);

	for (unsigned i = 0; !err && i < pf->sl.numid && i < AISIO_NVME_SEC_CTRL_LIST_MAX; i++) {
		const struct aisio_nvme_sec_ctrl_entry *e = &pf->sl.sc[i];
		uint16_t scid = aisio_le16_to_cpu(e->scid);

		if (e->scs & AISIO_NVME_SCS_ONLINE)
			err = virt(pf, AISIO_NVME_VIRT_ACT_SEC_OFFLINE, 0, scid, 0);
		/* Offline need not give the resources back: assign 0 of each. */
		if (!err && aisio_le16_to_cpu(e->nvi))
			err = virt(pf, AISIO_NVME_VIRT_ACT_SEC_ASSIGN, AISIO_NVME_VIRT_RT_VI, scid, 0);
		if (!err && aisio_le16_to_cpu(e->nvq))
			err = virt(pf, AISIO_NVME_VIRT_ACT_SEC_ASSIGN, AISIO_NVME_VIRT_RT_VQ, scid, 0);
	}
	/* namespaces the secondaries held go with them (a later run attaches them again) */
	if (!err)
		err = sriov_ns_detach_all(pf);
	if (!err && numvfs) {
		err = sriov_numvfs_write(pf, 0);
		(*writes)++;
	}
	return err;
}

/* Resources per VF: what the spec asks, else an equal share of the flexible pool. */
static int per_vf(const struct sriov_pf *pf, const struct homid_sriov_spec *s, uint32_t *vq,
		  uint32_t *vi)
{
	uint32_t vqfrt = aisio_le32_to_cpu(pf->pc.vqfrt), vifrt = aisio_le32_to_cpu(pf->pc.vifrt);
	uint32_t vqsm = aisio_le16_to_cpu(pf->pc.vqfrsm), vism = aisio_le16_to_cpu(pf->pc.vifrsm);

	*vq = s->vq ? s->vq : s->vfs ? vqfrt / s->vfs : 0;
	*vi = s->vi ? s->vi : s->vfs ? vifrt / s->vfs : 0;
	if (!s->vq && vqsm && *vq > vqsm)
		*vq = vqsm;
	if (!s->vi && vism && *vi > vism)
		*vi = vism;
	if (!s->vfs)
		return 0;
	if (*vq < 2 || *vi < 1)
		return aisio_err(-ENOSPC, "%s: %u VFs need at least 2 VQ (admin + one I/O queue) and 1 VI "
				 "each; the controller has %u VQ and %u VI flexible resources (%u and %u "
				 "per VF)", pf->bdf, s->vfs, vqfrt, vifrt, *vq, *vi);
	if ((uint64_t)*vq * s->vfs > vqfrt || (uint64_t)*vi * s->vfs > vifrt)
		return aisio_err(-ENOSPC, "%s: %u VFs with %u VQ and %u VI each need %u VQ and %u VI; the "
				 "controller has %u VQ and %u VI flexible resources", pf->bdf, s->vfs,
				 *vq, *vi, *vq * s->vfs, *vi * s->vfs, vqfrt, vifrt);
	if ((vqsm && *vq > vqsm) || (vism && *vi > vism))
		return aisio_err(-ENOSPC, "%s: a secondary controller takes at most %u VQ and %u VI "
				 "(asked %u and %u)", pf->bdf, vqsm, vism, *vq, *vi);
	return 0;
}

/* Steps 1-2: the primary's flexible resources released, VFs enabled. */
static int enable_vfs(struct sriov_pf *pf, const struct homid_sriov_spec *s)
{
	uint32_t numvfs, autoprobe;
	int err;

	err = sysfs_read_u32(pf->bdf, "sriov_numvfs", &numvfs);
	if (err)
		return err;
	if (numvfs == s->vfs && !aisio_le16_to_cpu(pf->pc.vqrfap) && !aisio_le16_to_cpu(pf->pc.virfap))
		return 0;
	if (numvfs && numvfs != s->vfs) {
		/* The kernel changes the count only through 0. */
		LOG_INFO("%s: %u VFs enabled, %u asked: disabling them first", pf->bdf, numvfs, s->vfs);
		err = vfs_idle(pf, numvfs);
		if (!err)
			err = sriov_numvfs_write(pf, 0);
		if (err)
			return err;
		pf->nwrites++;
		numvfs = 0;
	}
	if (aisio_le16_to_cpu(pf->pc.vqrfap) || aisio_le16_to_cpu(pf->pc.virfap)) {
		if (numvfs) {
			err = vfs_idle(pf, numvfs);
			if (!err)
				err = sriov_numvfs_write(pf, 0);
			if (err)
				return err;
			pf->nwrites++;
			numvfs = 0;
		}
		err = virt(pf, AISIO_NVME_VIRT_ACT_PRI_FLEX_ALLOC, AISIO_NVME_VIRT_RT_VQ, pf->cntlid, 0);
		if (!err)
			err = virt(pf, AISIO_NVME_VIRT_ACT_PRI_FLEX_ALLOC, AISIO_NVME_VIRT_RT_VI, pf->cntlid, 0);
		if (!err) {
			err = sriov_pf_reset(pf);
			pf->nwrites++;
		}
		if (!err)
			err = read_caps(pf);
		if (err)
			return err;
		if (aisio_le16_to_cpu(pf->pc.vqrfap) || aisio_le16_to_cpu(pf->pc.virfap))
			return aisio_err(-EIO, "%s: the primary still holds %u VQ and %u VI flexible "
					 "resources after releasing them and a function reset", pf->bdf,
					 aisio_le16_to_cpu(pf->pc.vqrfap), aisio_le16_to_cpu(pf->pc.virfap));
	}
	err = sysfs_read_u32(pf->bdf, "sriov_drivers_autoprobe", &autoprobe);
	if (!err && autoprobe) {
		err = sriov_sysfs_write_u32(pf->bdf, "sriov_drivers_autoprobe", 0);
		pf->nwrites++;
	}
	if (!err && numvfs != s->vfs) {
		err = sriov_numvfs_write(pf, s->vfs);
		pf->nwrites++;
	}
	if (!err)
		err = read_caps(pf);
	return err;
}

/* Step 3: secondary controller of VF @vfn assigned @vq/@vi and online. */
static int arm_secondary(struct sriov_pf *pf, uint32_t vfn, uint32_t vq, uint32_t vi)
{
	const struct aisio_nvme_sec_ctrl_entry *e = sriov_sec_of_vf(pf, vfn);
	uint16_t scid;
	int online, err = 0;

	if (!e)
		return aisio_err(-ENODEV, "%s: no secondary controller for VF %u in the Secondary "
				 "Controller List (%u entries)", pf->bdf, vfn, pf->sl.numid);
	scid = aisio_le16_to_cpu(e->scid);
	online = e->scs & AISIO_NVME_SCS_ONLINE;
	if (online && aisio_le16_to_cpu(e->nvq) == vq && aisio_le16_to_cpu(e->nvi) == vi)
		return 0;
	if (online)
		err = sriov_vf_busy(pf, vfn);
	if (online && !err)
		err = virt(pf, AISIO_NVME_VIRT_ACT_SEC_OFFLINE, 0, scid, 0);
	if (!err && aisio_le16_to_cpu(e->nvi) != vi)
		err = virt(pf, AISIO_NVME_VIRT_ACT_SEC_ASSIGN, AISIO_NVME_VIRT_RT_VI, scid, (uint16_t)vi);
	if (!err && aisio_le16_to_cpu(e->nvq) != vq)
		err = virt(pf, AISIO_NVME_VIRT_ACT_SEC_ASSIGN, AISIO_NVME_VIRT_RT_VQ, scid, (uint16_t)vq);
	if (!err)
		err = virt(pf, AISIO_NVME_VIRT_ACT_SEC_ONLINE, 0, scid, 0);
	return err;
}

/* Step 4: VF bound to @drv. */
static int bind_vf(struct sriov_pf *pf, uint32_t vfn, const char *drv, int *changed)
{
	struct aisio_pci_binding b;
	char cur[64] = "";
	int err;

	memset(&b, 0, sizeof(b));
	err = vf_bdf(pf->bdf, vfn, b.bdf);
	if (err)
		return err;
	err = aisio_pci_sysfs_driver(b.bdf, cur, sizeof(cur));
	if (err)
		return aisio_err(err, "%s: cannot read its driver: %s", b.bdf, strerror(-err));
	if (!strcmp(cur, drv))
		return 0;
	/* The binding is what provisioning leaves behind: not restored. */
	err = aisio_pci_sysfs_bind(&b, drv);
	if (err)
		return err;
	(*changed)++;
	LOG_INFO("%s: VF %u (%s) bound to %s", pf->bdf, vfn, b.bdf, drv);
	return 0;
}

int homid_sriov_provision(const struct homid_sriov_spec *s, struct homid_ctrl *own, int own_busy,
			  int *changes)
{
	struct sriov_pf *pf = calloc(1, sizeof(*pf));
	struct sriov_ns_plan *plan = calloc(1, sizeof(*plan));
	uint32_t total, vq, vi;
	int err, binds = 0;

	if (!pf || !plan) {
		free(pf);
		free(plan);
		return aisio_err(-ENOMEM, "out of memory");
	}
	*changes = 0;
	err = pf_open(s->bdf, own, pf);
	pf->own_busy = own_busy;
	if (err)
		goto out;
	err = sysfs_read_u32(s->bdf, "sriov_totalvfs", &total);
	if (!err && s->vfs > total)
		err = aisio_err(-EINVAL, "%s: %u VFs asked, the function offers at most %u (sriov_totalvfs)",
				s->bdf, s->vfs, total);
	if (!err)
		err = per_vf(pf, s, &vq, &vi);
	if (!err && !s->vfs) {
		uint32_t numvfs;

		err = sysfs_read_u32(s->bdf, "sriov_numvfs", &numvfs);
		if (!err)
			err = release_all(pf, numvfs, &binds);
		goto out;
	}
	/* the namespaces are checked before anything changes */
	if (!err)
		err = sriov_ns_plan(pf, s, plan);
	if (!err)
		err = enable_vfs(pf, s);
	for (uint32_t v = 1; !err && v <= s->vfs; v++)
		err = arm_secondary(pf, v, vq, vi);
	if (!err)
		err = sriov_ns_apply(pf, plan, s->vfs);
	for (uint32_t v = 1; !err && v <= s->vfs; v++)
		err = bind_vf(pf, v, s->drv, &binds);
	if (!err)
		LOG_INFO("%s: %u VFs with %u VQ, %u VI and %u namespace(s) each on %s (%d commands)",
			 s->bdf, s->vfs, vq, vi, plan->n, s->drv, pf->ncmds);
out:
	*changes = pf->ncmds + pf->nwrites + binds;
	pf_close(pf);
	free(pf);
	free(plan);
	return err;
}

int homid_sriov_status(const char *bdf, struct homid_ctrl *own, FILE *out)
{
	struct sriov_pf *pf = calloc(1, sizeof(*pf));
	uint32_t numvfs = 0, total = 0;
	int err;

	if (!pf)
		return aisio_err(-ENOMEM, "out of memory");
	err = pf_open(bdf, own, pf);
	if (!err)
		err = sysfs_read_u32(bdf, "sriov_numvfs", &numvfs);
	if (!err)
		err = sysfs_read_u32(bdf, "sriov_totalvfs", &total);
	if (err)
		goto out;
	fprintf(out, "%s (%s, cntlid %#x): %u of %u VFs enabled\n", bdf, pf->ctrl, pf->cntlid, numvfs,
		total);
	fprintf(out, "  VQ flexible %u: %u assigned to secondaries, %u allocated to the primary "
		"(private %u)\n", aisio_le32_to_cpu(pf->pc.vqfrt), aisio_le32_to_cpu(pf->pc.vqrfa),
		aisio_le16_to_cpu(pf->pc.vqrfap), aisio_le16_to_cpu(pf->pc.vqprt));
	fprintf(out, "  VI flexible %u: %u assigned to secondaries, %u allocated to the primary "
		"(private %u)\n", aisio_le32_to_cpu(pf->pc.vifrt), aisio_le32_to_cpu(pf->pc.virfa),
		aisio_le16_to_cpu(pf->pc.virfap), aisio_le16_to_cpu(pf->pc.viprt));
	for (unsigned i = 0; i < pf->sl.numid && i < AISIO_NVME_SEC_CTRL_LIST_MAX; i++) {
		const struct aisio_nvme_sec_ctrl_entry *e = &pf->sl.sc[i];
		uint32_t vfn = aisio_le16_to_cpu(e->vfn);
		char vbdf[AISIO_PCI_BDF_LEN] = "-", drv[64] = "-", ns[128];

		if (vfn && vfn <= numvfs && !vf_bdf(bdf, vfn, vbdf) &&
		    (aisio_pci_sysfs_driver(vbdf, drv, sizeof(drv)) || !drv[0]))
			snprintf(drv, sizeof(drv), "none");
		if (sriov_ns_of(pf, aisio_le16_to_cpu(e->scid), ns, sizeof(ns))) {
			snprintf(ns, sizeof(ns), "?");
			aisio_err_clear();
		}
		fprintf(out, "  VF %u  scid %#06x  %-12s  %-7s  nvq %u  nvi %u  driver %s  ns %s\n", vfn,
			aisio_le16_to_cpu(e->scid), vbdf, e->scs & AISIO_NVME_SCS_ONLINE ? "online" : "offline",
			aisio_le16_to_cpu(e->nvq), aisio_le16_to_cpu(e->nvi), drv, ns);
	}
out:
	pf_close(pf);
	free(pf);
	return err;
}

int homid_sriov_take_check(const char *bdf)
{
	char drv[64] = "";
	uint32_t numvfs = 0;

	if (aisio_pci_sysfs_driver(bdf, drv, sizeof(drv)) || !drv[0] || !strcmp(drv, "vfio-pci"))
		return 0;
	if (sysfs_read_u32(bdf, "sriov_numvfs", &numvfs) || !numvfs) {
		aisio_err_clear();
		return 0;
	}
	return aisio_err(-EBUSY, "%s: the physical function is still bound to %s, which has %u "
			 "VFs of it enabled: homid cannot take the PF from under them. Release "
			 "them first (homid --sriov pci:%s,vfs=0 while %s owns the PF), then start "
			 "homid with the PF again", bdf, drv, numvfs, bdf, drv);
}

int homid_sriov_cli(const char *spec, const char *status_pf)
{
	struct homid_sriov_spec s;
	int changes = 0, err;

	if (spec) {
		err = homid_sriov_parse(spec, &s);
		if (!err && !s.has_vfs)
			err = aisio_err(-EINVAL, "SR-IOV spec '%s': vfs=N is missing", spec);
		if (err) {
			fprintf(stderr, "homid: %s\n", aisio_errmsg());
			return 2;
		}
		err = homid_sriov_provision(&s, NULL, 0, &changes);
		if (err) {
			fprintf(stderr, "homid: %s\n", aisio_errmsg());
			return 1;
		}
		printf("%s: %u VFs provisioned (%d changes)\n", s.bdf, s.vfs, changes);
	}
	if (status_pf) {
		err = homid_sriov_parse(status_pf, &s);
		if (err) {
			fprintf(stderr, "homid: %s\n", aisio_errmsg());
			return 2;
		}
		err = homid_sriov_status(s.bdf, NULL, stdout);
		if (err) {
			fprintf(stderr, "homid: %s\n", aisio_errmsg());
			return 1;
		}
	}
	fflush(stdout);
	return 0;
}

int homid_sriov_pf_of(const char *vf, char out[AISIO_PCI_BDF_LEN])
{
	char p[PATH_MAX], t[PATH_MAX];
	const char *base;
	ssize_t n;

	if (aisio_pci_sysfs_path(p, sizeof(p), vf, "physfn"))
		return -ENAMETOOLONG;
	n = readlink(p, t, sizeof(t) - 1);
	if (n < 0)
		return -ENODEV;
	t[n] = 0;
	base = strrchr(t, '/');
	base = base ? base + 1 : t;
	if (strlen(base) >= AISIO_PCI_BDF_LEN)
		return -EINVAL;
	memcpy(out, base, strlen(base) + 1);
	return 0;
}

int homid_vf_resources(const char *vf, struct homid_ctrl *ctrls, int nctrls, char *out,
		       size_t cap)
{
	char pfbdf[AISIO_PCI_BDF_LEN], vb[AISIO_PCI_BDF_LEN];
	const struct aisio_nvme_sec_ctrl_entry *e = NULL;
	struct homid_ctrl *own;
	struct sriov_pf *pf;
	uint32_t vfn;
	int err;

	out[0] = 0;
	/* the PF is the VF's physfn; its number the virtfnN link that points back */
	err = homid_sriov_pf_of(vf, pfbdf);
	if (err)
		return err;
	pf = calloc(1, sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	own = NULL;
	for (int i = 0; i < nctrls; i++)
		if (homid_ctrl_is_pci(&ctrls[i], pfbdf))
			own = &ctrls[i];
	err = pf_open(pfbdf, own, pf);
	for (vfn = 1; !err && vfn <= 256; vfn++)
		if (!vf_bdf(pfbdf, vfn, vb) && !strcmp(vb, vf)) {
			e = sriov_sec_of_vf(pf, vfn);
			break;
		}
	if (e) {
		char ns[64];

		if (sriov_ns_of(pf, aisio_le16_to_cpu(e->scid), ns, sizeof(ns)))
			snprintf(ns, sizeof(ns), "?");
		snprintf(out, cap, " (PF %s, secondary controller %#x, %s, %u VQ, %u VI, namespaces %s)",
			 pfbdf, aisio_le16_to_cpu(e->scid), e->scs & 1 ? "online" : "offline",
			 aisio_le16_to_cpu(e->nvq), aisio_le16_to_cpu(e->nvi), ns);
	} else {
		snprintf(out, cap, " (PF %s%s)", pfbdf, err ? ": resources not readable" : "");
	}
	pf_close(pf);
	free(pf);
	aisio_err_clear();
	return 0;
}
