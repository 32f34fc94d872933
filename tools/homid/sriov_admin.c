/* SPDX-License-Identifier: MIT */
/*
 * homid: how SR-IOV provisioning (sriov.c, sriov_ns.c) reaches the physical
 * function, its "admin transport". Two owners of the PF, one provisioning
 * code:
 *   - the Linux nvme driver keeps the PF: admin commands go through the
 *     kernel's admin passthrough (/dev/nvmeX, src/io/kpath_admin.c) and a
 *     function reset through sysfs, the kernel quiescing its driver;
 *   - homid owns the PF through vfio (one of its controllers, --ctrl
 *     pci:BDF,drv=vfio): admin commands go through homid's own admin queue,
 *     a function reset is VFIO_DEVICE_RESET with homid's driver brought up
 *     again around it, and sriov_numvfs is written to vfio-pci, which takes
 *     it only with its enable_sriov parameter set.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "homid.h"
#include "io/kpath.h"
#include "pci/pci.h"
#include "pci/sysfs.h"
#include "sriov_int.h"
#include "util/err.h"

/* ---- the kernel's nvme driver owns the PF ------------------------------ */

/* The kernel nvme controller (nvmeX) of the PF; -ENODEV when nvme does not drive it. */
static int kernel_ctrl(struct sriov_pf *pf)
{
	char drv[64] = "", p[PATH_MAX];
	int err = aisio_pci_sysfs_driver(pf->bdf, drv, sizeof(drv));

	if (err)
		return aisio_err(err, "%s: cannot read its driver: %s", pf->bdf, strerror(-err));
	if (!strcmp(drv, "vfio-pci"))
		return aisio_err(-ENODEV, "%s: the physical function is bound to vfio-pci: homid "
				 "provisions the VFs of a PF under vfio through its own admin queue, "
				 "as one of its controllers (homid --ctrl pci:%s,drv=vfio --sriov "
				 "pci:%s,vfs=N; while it runs, aisio homi status shows the VFs)",
				 pf->bdf, pf->bdf, pf->bdf);
	if (strcmp(drv, "nvme"))
		return aisio_err(-ENODEV, "%s: the physical function is bound to '%s', not nvme: homid "
				 "provisions VFs through the kernel driver's admin passthrough "
				 "(echo %s > /sys/bus/pci/drivers/nvme/bind) or, owning the PF, "
				 "through its own admin queue (homid --ctrl pci:%s,drv=vfio --sriov ...)",
				 pf->bdf, drv[0] ? drv : "no driver", pf->bdf, pf->bdf);
	/* the function's nvme/ folder names its controller, nvmeN */
	if (!aisio_pci_sysfs_path(p, sizeof(p), pf->bdf, "nvme")) {
		DIR *d = opendir(p);
		struct dirent *de;
		unsigned n;
		char end;

		while (d && (de = readdir(d))) {
			if (sscanf(de->d_name, "nvme%u%c", &n, &end) == 1) {
				snprintf(pf->ctrl, sizeof(pf->ctrl), "nvme%u", n);
				closedir(d);
				return 0;
			}
		}
		if (d)
			closedir(d);
	}
	return aisio_err(-ENODEV, "%s: bound to nvme but has no nvme controller in sysfs", pf->bdf);
}

static int kernel_open(struct sriov_pf *pf)
{
	char path[64];
	int err = kernel_ctrl(pf);

	if (err)
		return err;
	snprintf(path, sizeof(path), "/dev/%s", pf->ctrl);
	pf->kf.fd = open(path, O_RDWR | O_CLOEXEC);
	if (pf->kf.fd < 0)
		return aisio_err(-errno, "%s: cannot open %s: %s%s", pf->bdf, path, strerror(errno),
				 errno == EACCES ? " (admin passthrough needs root)" : "");
	pf->kf.nvme = 1;
	pf->kf.is_chr = 1;
	pf->kf.path = pf->ctrl;
	pf->kf.be = "homid";
	return 0;
}

/*
 * Function reset of the PF (sysfs "reset": the kernel quiesces its nvme
 * driver around it); waits until the kernel has the controller live again.
 */
static int kernel_reset(struct sriov_pf *pf)
{
	char p[PATH_MAX], st[32] = "", leaf[64];
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int err;

	err = aisio_pci_sysfs_path(p, sizeof(p), pf->bdf, "reset");
	if (!err)
		err = sriov_write_file(p, "1");
	if (err)
		return aisio_err(err, "%s: function reset (sysfs reset) failed: %s", pf->bdf, strerror(-err));
	snprintf(leaf, sizeof(leaf), "nvme/%s/state", pf->ctrl);
	for (int i = 0; i < 20 * 120; i++) {
		if (!sriov_sysfs_read(pf->bdf, leaf, st, sizeof(st)) && !strcmp(st, "live"))
			return 0;
		nanosleep(&ts, NULL);
	}
	return aisio_err(-ETIMEDOUT, "%s: controller %s not live 120 s after the function reset "
			 "(state '%s')", pf->bdf, pf->ctrl, st);
}

/* ---- homid owns the PF through vfio -------------------------------------- */

static int own_open(struct sriov_pf *pf)
{
	struct homid_ctrl *hc = pf->own;

	if (hc->kind != AISIO_HOMI_CTRL_PCI || !hc->host)
		return aisio_err(-ENOTSUP, "%s: homid drives the physical function through uio: "
				 "provisioning VFs needs it through vfio (--ctrl pci:%s,drv=vfio), "
				 "where vfio-pci enables the VFs and hands them out with a VF token",
				 pf->bdf, pf->bdf);
	snprintf(pf->ctrl, sizeof(pf->ctrl), "homid's admin queue");
	return 0;
}

/* The command through homid's admin queue, its data through DMA memory. */
static int own_admin(struct sriov_pf *pf, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		     uint32_t *res)
{
	return aisio_nvme_ctrl_admin_copy(pf->own->nc, cmd, buf, len, res);
}

static int own_reset(struct sriov_pf *pf)
{
	if (pf->own_busy)
		return aisio_err(-EBUSY, "%s: the primary's flexible resources take effect only "
				 "after a function reset, and clients hold queues on the PF: "
				 "stop them first", pf->bdf);
	return homid_ctrl_function_reset(pf->own);
}

/* ---- one interface ------------------------------------------------------------ */

int sriov_transport_open(struct sriov_pf *pf)
{
	pf->kf.fd = -1;
	pf->dev.uri = pf->bdf;
	return pf->own ? own_open(pf) : kernel_open(pf);
}

void sriov_transport_close(struct sriov_pf *pf)
{
	if (pf->kf.fd >= 0)
		close(pf->kf.fd);
	pf->kf.fd = -1;
}

int sriov_admin(struct sriov_pf *pf, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		uint32_t *res)
{
	if (pf->own)
		return own_admin(pf, cmd, buf, len, res);
	return aisio_kfile_admin(&pf->dev, &pf->kf, cmd, buf, len, res);
}

int sriov_pf_reset(struct sriov_pf *pf)
{
	return pf->own ? own_reset(pf) : kernel_reset(pf);
}

int sriov_numvfs_write(struct sriov_pf *pf, uint32_t n)
{
	/* vfio-pci refuses every change of the count without it, with ENOENT */
	if (pf->own && aisio_pci_vfio_sriov_enabled() != 1)
		return aisio_err(-EPERM, "%s: vfio-pci does not let the PFs it drives enable or "
				 "disable VFs: its module parameter enable_sriov is off. Turn it on "
				 "(echo 1 > /sys/module/vfio_pci/parameters/enable_sriov, or "
				 "'options vfio-pci enable_sriov=1' in /etc/modprobe.d) and start "
				 "homid again", pf->bdf);
	return sriov_sysfs_write_u32(pf->bdf, "sriov_numvfs", n);
}
