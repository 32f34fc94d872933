/* SPDX-License-Identifier: MIT */
/*
 * Kernel paths: admin commands. On an NVMe block or character device they
 * go to the controller through the passthrough ioctl and carry any command;
 * on a file (or a block device that is not NVMe) Identify is answered from
 * the geometry so that 'aisio dev identify' works on every path.
 */
#include <errno.h>
#include <linux/nvme_ioctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "io/kpath.h"
#include "util/err.h"

static int admin_ioctl(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_nvme_sqe *cmd,
		       void *buf, size_t len, uint32_t *result)
{
	struct nvme_passthru_cmd pt;
	int ret;

	memset(&pt, 0, sizeof(pt));
	pt.opcode = cmd->opc;
	pt.flags = cmd->flags;
	pt.nsid = aisio_le32_to_cpu(cmd->nsid);
	pt.cdw2 = aisio_le32_to_cpu(cmd->cdw2);
	pt.cdw3 = aisio_le32_to_cpu(cmd->cdw3);
	pt.addr = (uint64_t)(uintptr_t)buf;
	pt.data_len = (uint32_t)len;
	pt.cdw10 = aisio_le32_to_cpu(cmd->cdw10);
	pt.cdw11 = aisio_le32_to_cpu(cmd->cdw11);
	pt.cdw12 = aisio_le32_to_cpu(cmd->cdw12);
	pt.cdw13 = aisio_le32_to_cpu(cmd->cdw13);
	pt.cdw14 = aisio_le32_to_cpu(cmd->cdw14);
	pt.cdw15 = aisio_le32_to_cpu(cmd->cdw15);
	ret = ioctl(kf->fd, NVME_IOCTL_ADMIN_CMD, &pt);
	if (ret < 0) {
		int err = -errno;

		if (err == -EACCES || err == -EPERM)
			return aisio_err(-EACCES, "%s: admin command %s refused: the passthrough ioctl "
					 "needs CAP_SYS_ADMIN (run as root)", dev->uri,
					 aisio_nvme_opc_str(cmd->opc, 1));
		return aisio_kfile_ioerr(dev, kf, err, "admin passthrough ioctl", 0, len, buf);
	}
	if (result)
		*result = pt.result;
	if (ret > 0) {
		/* The kernel reports the CQE status field shifted right by one: keep SCT and SC. */
		int status = ret & 0x7ff;

		return aisio_err(status, "%s: admin command %s failed: %s", dev->uri,
				 aisio_nvme_opc_str(cmd->opc, 1), aisio_nvme_status_str((uint32_t)status));
	}
	return 0;
}

static void put_str(char *dst, size_t n, const char *src)
{
	size_t l = strlen(src);

	memset(dst, ' ', n);
	memcpy(dst, src, l < n ? l : n);
}

static void fake_id_ctrl(struct aisio_dev *dev, struct aisio_kfile *kf,
			 struct aisio_nvme_id_ctrl *id)
{
	struct stat st;
	char sn[24];

	memset(id, 0, sizeof(*id));
	if (fstat(kf->fd, &st))
		memset(&st, 0, sizeof(st));
	snprintf(sn, sizeof(sn), "%llx-%llx", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	put_str(id->sn, sizeof(id->sn), sn);
	put_str(id->mn, sizeof(id->mn), kf->is_blk ? "aisio block device" : "aisio file");
	put_str(id->fr, sizeof(id->fr), "1.0");
	id->cntlid = aisio_cpu_to_le16(1);
	id->ver = aisio_cpu_to_le32(AISIO_NVME_VS(1, 4, 0));
	id->sqes = 0x66;
	id->cqes = 0x44;
	id->maxcmd = aisio_cpu_to_le16(0xffff);
	id->nn = aisio_cpu_to_le32(1);
	id->oncs = aisio_cpu_to_le16(AISIO_NVME_ONCS_COMPARE | AISIO_NVME_ONCS_DSM |
				     AISIO_NVME_ONCS_WRITE_ZEROES);
	id->vwc = kf->direct ? 0 : 1; /* buffered I/O: the page cache is a volatile write cache */
	aisio_nvme_u128_set(id->tnvmcap, dev->geo.nlbas * dev->geo.lba_size);
	snprintf(id->subnqn, sizeof(id->subnqn), "nqn.2026-01.io.aisio:%s:%s", kf->be, kf->path);
}

static void fake_id_ns(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_nvme_id_ns *ns)
{
	memset(ns, 0, sizeof(*ns));
	ns->nsze = ns->ncap = ns->nuse = aisio_cpu_to_le64(dev->geo.nlbas);
	ns->nlbaf = 0;
	ns->flbas = 0;
	ns->dlfeat = 1; /* deallocated blocks read as zeroes (hole punching) */
	ns->lbaf[0].lbads = (uint8_t)kf->lba_shift;
	aisio_nvme_u128_set(ns->nvmcap, dev->geo.nlbas * dev->geo.lba_size);
}

static int admin_fake(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_nvme_sqe *cmd,
		      void *buf, size_t len, uint32_t *result)
{
	union {
		struct aisio_nvme_id_ctrl ctrl;
		struct aisio_nvme_id_ns ns;
		struct aisio_nvme_ns_list list;
	} u;
	uint32_t cns = aisio_le32_to_cpu(cmd->cdw10) & 0xff;
	uint32_t nsid = aisio_le32_to_cpu(cmd->nsid);

	if (result)
		*result = 0;
	if (cmd->opc != AISIO_NVME_ADM_IDENTIFY)
		return aisio_err(AISIO_NVME_SC_INVALID_OPCODE, "%s: admin command %s is not supported "
				 "on a file or non-NVMe device by the %s backend", dev->uri,
				 aisio_nvme_opc_str(cmd->opc, 1), kf->be);
	switch (cns) {
	case AISIO_NVME_CNS_CTRL:
		fake_id_ctrl(dev, kf, &u.ctrl);
		break;
	case AISIO_NVME_CNS_NS:
		if (nsid != dev->geo.nsid)
			return aisio_err(AISIO_NVME_SC_INVALID_NS, "%s: namespace %u does not exist",
					 dev->uri, nsid);
		fake_id_ns(dev, kf, &u.ns);
		break;
	case AISIO_NVME_CNS_NS_ACTIVE_LIST:
		memset(&u.list, 0, sizeof(u.list));
		if (nsid < dev->geo.nsid)
			u.list.nsid[0] = aisio_cpu_to_le32(dev->geo.nsid);
		break;
	default:
		return aisio_err(AISIO_NVME_SC_INVALID_FIELD, "%s: Identify CNS 0x%02x is not "
				 "supported on a file", dev->uri, cns);
	}
	if (buf)
		memcpy(buf, &u, len < sizeof(u) ? len : sizeof(u));
	return 0;
}

int aisio_kfile_admin(struct aisio_dev *dev, struct aisio_kfile *kf, struct aisio_nvme_sqe *cmd,
		      void *buf, size_t len, uint32_t *result)
{
	if (kf->nvme || kf->is_chr)
		return admin_ioctl(dev, kf, cmd, buf, len, result);
	return admin_fake(dev, kf, cmd, buf, len, result);
}
