/* SPDX-License-Identifier: MIT */
/*
 * homi:...,mode=vf: a whole SR-IOV virtual function from homid's pool.
 * homid passes the VF's vfio container, group and device descriptors
 * (VF_TAKE); this process brings the VF's controller up with the
 * user-space driver and owns it (admin queue, its own queues, its own
 * IOMMU domain) until it closes the device or exits; then homid resets
 * the VF and takes it back. The connection to homid is the lease.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "homi/be_homi_vf.h"
#include "io/backend.h"
#include "pci/pci.h"
#include "util/err.h"

int aisio_homi_vf_open(struct aisio_homi_conn *conn, const char *want_bdf, uint32_t timeout_ms,
		       struct aisio_pcif **fn, struct aisio_nvme_ctrl **ctrl, char *bdf_out)
{
	struct aisio_homi_vf_take req = { 0 };
	struct aisio_homi_vf_take_reply rep;
	struct aisio_pci_vfio_handover ho = { 0 };
	struct aisio_nvme_ctrl_opts co = { .timeout_ms = timeout_ms };
	int fds[3], nfds = 0, err;

	*fn = NULL;
	*ctrl = NULL;
	snprintf(req.bdf, sizeof(req.bdf), "%s", want_bdf ? want_bdf : "");
	err = aisio_homi_call_fds(conn, AISIO_HOMI_VF_TAKE, &req, sizeof(req), -1, &rep, sizeof(rep),
				  NULL, fds, 3, &nfds);
	if (err)
		return err;
	if (nfds != 3 || !memchr(rep.bdf, 0, sizeof(rep.bdf)) ||
	    strlen(rep.bdf) >= sizeof(ho.bdf)) {
		err = aisio_err(-EPROTO, "homid's VF_TAKE reply lacks the three vfio descriptors");
		goto err_fds;
	}
	memcpy(ho.bdf, rep.bdf, strlen(rep.bdf) + 1);
	ho.container = fds[0];
	ho.group = fds[1];
	ho.device = fds[2];
	err = aisio_pci_vfio_adopt(&ho, fn);
	if (err)
		goto err_fds;
	/* from here on the function owns the descriptors */
	err = aisio_nvme_ctrl_init(*fn, &co, ctrl);
	if (err) {
		aisio_pcif_close(*fn);
		*fn = NULL;
		return err;
	}
	snprintf(bdf_out, AISIO_PCI_BDF_LEN, "%s", rep.bdf);
	return 0;

err_fds:
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return err;
}

int aisio_homi_vf_geo(struct aisio_dev *dev, struct aisio_nvme_ctrl *ctrl, uint32_t want)
{
	const struct aisio_nvme_ctrl_info *ci = aisio_nvme_ctrl_info(ctrl);
	struct aisio_nvme_sqe cmd = { .opc = AISIO_NVME_ADM_IDENTIFY, .cdw10 = AISIO_NVME_CNS_NS };
	struct aisio_nvme_id_ns *id;
	uint32_t lbads, nsid = 0;
	int err;

	for (uint32_t i = 0; i < ci->nactive && !nsid; i++)
		if (!want || ci->active[i] == want)
			nsid = ci->active[i];
	if (!nsid)
		return aisio_err(-ENODEV, "%s: namespace %u is not attached to the VF (%u active)",
				 dev->uri, want, ci->nactive);
	id = aisio_nvme_ctrl_dma_alloc(ctrl, sizeof(*id), 0);
	if (!id)
		return aisio_err(-ENOMEM, "%s: no DMA memory for Identify Namespace", dev->uri);
	cmd.nsid = nsid;
	err = aisio_nvme_ctrl_admin(ctrl, &cmd, id, sizeof(*id), NULL);
	lbads = err ? 0 : id->lbaf[aisio_nvme_id_ns_flbas_index(id)].lbads;
	if (!err && (lbads < 9 || lbads > 16 || !id->nsze))
		err = aisio_err(-ENODEV, "%s: namespace %u reports LBA size 2^%u and %llu LBAs",
				dev->uri, nsid, lbads, (unsigned long long)id->nsze);
	if (!err) {
		dev->geo.nsid = nsid;
		dev->geo.lba_size = 1u << lbads;
		dev->geo.nlbas = id->nsze;
		dev->geo.max_xfer = ci->max_xfer;
		dev->geo.max_queues = ci->nqueues;
		dev->geo.max_qdepth = ci->max_qdepth;
		dev->geo.buf_align = 1u << ci->page_shift;
		dev->geo.sgl = ci->sgl;
		dev->geo.backend = "homi";
	}
	aisio_nvme_ctrl_dma_free(ctrl, id);
	return err;
}
