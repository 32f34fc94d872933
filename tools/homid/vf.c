/* SPDX-License-Identifier: MIT */
/*
 * SR-IOV virtual functions handed to clients (docs/homi.md, "Handing out
 * VFs"). homid keeps a pool of VFs (--vf pci:BDF). VF_TAKE opens a free one
 * through vfio (bound to vfio-pci, a container of its own) and passes the
 * container, group and device descriptors to the client, which drives the
 * whole VF with the user-space driver: hardware isolation, its own
 * controller and IOMMU domain. homid keeps its own copies; when the
 * connection closes it resets the VF (VFIO_DEVICE_RESET: a function-level
 * reset stops any DMA), then closes them, which tears the client's IOMMU
 * mappings down with the container, and the VF is free again.
 */
#include <errno.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "homid.h"
#include "sriov.h"
#include "util/err.h"

int homid_vf_add(struct homid *h, const char *spec)
{
	struct homid_vf *v;

	if (h->nvfs == HOMID_MAX_VFS)
		return aisio_err(-E2BIG, "at most %d VFs in the pool", HOMID_MAX_VFS);
	if (strncmp(spec, "pci:", 4))
		return aisio_err(-EINVAL, "--vf %s: give pci:BDF", spec);
	v = &h->vfs[h->nvfs];
	memset(v, 0, sizeof(*v));
	if (aisio_pci_bdf_parse(spec + 4, v->bdf))
		return aisio_err(-EINVAL, "--vf %s: not a PCI address", spec);
	for (int i = 0; i < h->nvfs; i++)
		if (!strcmp(h->vfs[i].bdf, v->bdf))
			return aisio_err(-EEXIST, "--vf %s given twice", spec);
	h->nvfs++;
	return 0;
}

/* Every VF that @sriov enables, into the pool, marked as the sriov line's. */
static int add_sriov(struct homid *h, const char *sriov)
{
	char spec[8 + AISIO_PCI_BDF_LEN];
	struct homid_sriov_spec sp;
	int err;

	if (homid_sriov_parse(sriov, &sp))
		return aisio_err(-EINVAL, "vf = sriov: no sriov spec to take the VFs from");
	for (uint32_t v = 1; v <= sp.vfs; v++) {
		char bdf[AISIO_PCI_BDF_LEN];

		err = homid_sriov_vf_bdf(sp.bdf, v, bdf);
		if (err)
			return aisio_err(err, "vf = sriov: VF %u of %s is not enabled (%s)", v, sp.bdf,
					 aisio_errmsg());
		snprintf(spec, sizeof(spec), "pci:%s", bdf);
		err = homid_vf_add(h, spec);
		if (err)
			return err;
		h->vfs[h->nvfs - 1].from_sriov = 1;
	}
	return 0;
}

int homid_vf_add_config(struct homid *h, const char *sriov)
{
	char spec[8 + AISIO_PCI_BDF_LEN];
	int err;

	for (int i = 0; i < h->cfg.nvfs; i++) {
		snprintf(spec, sizeof(spec), "pci:%s", h->cfg.vfs[i]);
		err = homid_vf_add(h, spec);
		if (err)
			return err;
	}
	/* no spec: the sriov line's PF is homid's, its VFs come once it is up (homid_vf_resync) */
	if (!h->cfg.vfs_sriov || !sriov)
		return 0;
	return add_sriov(h, sriov);
}

int homid_vf_any_taken(const struct homid *h)
{
	for (int i = 0; i < h->nvfs; i++)
		if (h->vfs[i].owner)
			return aisio_err(-EBUSY, "VF %s is taken by pid %d: the VFs change only while "
					 "no client holds one", h->vfs[i].bdf, h->vfs[i].owner->pid);
	return 0;
}

int homid_vf_resync(struct homid *h, const char *sriov)
{
	int n = 0, err = homid_vf_any_taken(h);

	if (err)
		return err;
	for (int i = 0; i < h->nvfs; i++)
		if (!h->vfs[i].from_sriov)
			h->vfs[n++] = h->vfs[i];
	h->nvfs = n;
	return h->cfg.vfs_sriov ? add_sriov(h, sriov) : 0;
}

/* The VF token to open @v with: its PF's, when the PF is one of homid's vfio controllers. */
static const char *vf_token_of(struct homid *h, const struct homid_vf *v)
{
	char pf[AISIO_PCI_BDF_LEN];

	if (homid_sriov_pf_of(v->bdf, pf))
		return NULL;
	for (int i = 0; i < h->nctrls; i++)
		if (homid_ctrl_is_pci(&h->ctrls[i], pf) && h->ctrls[i].vf_token[0])
			return h->ctrls[i].vf_token;
	return NULL;
}

static struct homid_vf *vf_of(struct homid *h, const struct homid_client *cl)
{
	for (int i = 0; i < h->nvfs; i++)
		if (h->vfs[i].owner == cl)
			return &h->vfs[i];
	return NULL;
}

int homid_vf_take(struct homid *h, struct homid_client *cl, const struct aisio_homi_vf_take *r,
		  void *reply, size_t *rlen, int *fds_out)
{
	struct aisio_homi_vf_take_reply *tr = reply;
	struct aisio_pci_vfio_handover ho;
	struct homid_vf *v = NULL;
	char want[AISIO_PCI_BDF_LEN] = "";
	const char *tok;
	int err, busy = 0;

	if (!cl->grant.allowed || !cl->grant.direct)
		return aisio_err(-EPERM, "a VF is a whole controller: uid %u needs a grant with "
				 "direct = yes (%s)", cl->uid, cl->grant.allowed ? cl->grant.rule : "none");
	if (cl->ctrl)
		return aisio_err(-EALREADY, "this connection is attached to %s; take a VF on a "
				 "connection of its own", cl->ctrl->name);
	if (vf_of(h, cl))
		return aisio_err(-EALREADY, "this connection holds VF %s already", vf_of(h, cl)->bdf);
	if (!memchr(r->bdf, 0, sizeof(r->bdf)))
		return aisio_err(-EINVAL, "VF address is not NUL-terminated");
	if (r->bdf[0] && aisio_pci_bdf_parse(r->bdf, want))
		return aisio_err(-EINVAL, "'%s' is not a PCI address", r->bdf);
	if (!h->nvfs)
		return aisio_err(-ENODEV, "no VF pool here (start homid with --vf pci:BDF)");
	for (int i = 0; i < h->nvfs && !v; i++) {
		struct homid_vf *c = &h->vfs[i];

		if (want[0] && strcmp(c->bdf, want))
			continue;
		if (c->owner) {
			busy++;
			if (want[0])
				return aisio_err(-EBUSY, "VF %s is in use by pid %d; ask for another or "
						 "none in particular", c->bdf, c->owner->pid);
			continue;
		}
		v = c;
	}
	if (!v && want[0])
		return aisio_err(-ENODEV, "%s is not in homid's VF pool (see aisio homi status)", want);
	if (!v)
		return aisio_err(-EBUSY, "all %d VFs of the pool are in use; try again when a client "
				 "lets one go", busy);
	tok = vf_token_of(h, v);
	err = tok ? aisio_pci_vfio_open_vf(v->bdf, tok, &v->fn) : aisio_pcif_open(v->bdf, "vfio", &v->fn);
	if (err) {
		char why[200];

		snprintf(why, sizeof(why), "%s", aisio_errmsg());
		v->fn = NULL;
		return aisio_err(err, "VF %s cannot be opened%s: %s", v->bdf,
				 err == -EBUSY ? " (another process holds its vfio group)" : "", why);
	}
	err = aisio_pci_vfio_handover_save(v->fn, &ho);
	if (!err) {
		fds_out[0] = dup(ho.container);
		fds_out[1] = dup(ho.group);
		fds_out[2] = dup(ho.device);
		if (fds_out[0] < 0 || fds_out[1] < 0 || fds_out[2] < 0)
			err = aisio_err(-errno, "dup: %s", strerror(errno));
	}
	if (err) {
		for (int i = 0; i < 3; i++)
			if (fds_out[i] >= 0)
				close(fds_out[i]);
		fds_out[0] = fds_out[1] = fds_out[2] = -1;
		aisio_pci_vfio_leave_bound(v->fn);
		aisio_pcif_close(v->fn);
		v->fn = NULL;
		return err;
	}
	v->owner = cl;
	v->takes++;
	memset(tr, 0, sizeof(*tr));
	snprintf(tr->bdf, sizeof(tr->bdf), "%s", v->bdf);
	*rlen = sizeof(*tr);
	LOG_INFO("client pid %d took VF %s", cl->pid, v->bdf);
	return 0;
}

void homid_vf_release(struct homid *h, struct homid_client *cl)
{
	struct homid_vf *v = vf_of(h, cl);
	struct aisio_pci_vfio_handover ho;

	if (!v)
		return;
	/* a function-level reset first: no DMA may land in memory given back */
	if (aisio_pci_vfio_handover_save(v->fn, &ho) || ioctl(ho.device, VFIO_DEVICE_RESET)) {
		v->reset_failed++;
		LOG_WARN("VF %s: VFIO_DEVICE_RESET: %s", v->bdf, strerror(errno));
	} else {
		v->resets++;
	}
	/* the client may still hold the descriptors: do not wait on an unbind */
	aisio_pci_vfio_leave_bound(v->fn);
	aisio_pcif_close(v->fn);
	v->fn = NULL;
	v->owner = NULL;
	LOG_INFO("VF %s reset and back in the pool (client pid %d gone)", v->bdf, cl->pid);
}

int homid_vf_status(struct homid *h, char *out, size_t cap)
{
	size_t off = 0;

	out[0] = 0;
	/* the PF homid owns: its flexible resources and secondary controllers first */
	if (h->sriov_pf) {
		FILE *f = fmemopen(out, cap, "w");
		char pf[AISIO_HOMI_NAME_LEN];

		if (f && aisio_pci_bdf_parse(h->sriov_pf->name, pf))
			snprintf(pf, sizeof(pf), "%s", h->sriov_pf->name);
		if (f) {
			if (homid_sriov_status(pf, h->sriov_pf, f)) {
				fprintf(f, "%s: SR-IOV state not readable: %s\n", h->sriov_pf->name,
					aisio_errmsg());
				aisio_err_clear();
			}
			off = (size_t)ftell(f);
			fclose(f);
			if (off >= cap)
				off = cap - 1;
			out[off] = 0;
		}
	}
	for (int i = 0; i < h->nvfs && off < cap; i++) {
		struct homid_vf *v = &h->vfs[i];
		char res[192] = "";

		homid_vf_resources(v->bdf, h->ctrls, h->nctrls, res, sizeof(res));
		if (v->owner)
			off += (size_t)snprintf(out + off, cap - off, "%s taken pid %d uid %u%s; taken %u "
						"time(s), %u reset(s), %u failed\n", v->bdf,
						v->owner->pid, v->owner->uid, res, v->takes, v->resets,
						v->reset_failed);
		else
			off += (size_t)snprintf(out + off, cap - off, "%s free%s; taken %u time(s), %u "
						"reset(s), %u failed\n", v->bdf, res, v->takes,
						v->resets, v->reset_failed);
	}
	return off < cap ? (int)off : (int)cap - 1;
}
