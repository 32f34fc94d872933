/* SPDX-License-Identifier: MIT */
/*
 * The controllers homid owns: emu:SPEC (the device model runs inside homid,
 * its BAR0 and DMA memory shared with clients) and pci:BDF[,drv=vfio|uio]
 * (a function through the PCI providers). homid brings each one up with the
 * user-space driver and keeps its admin queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "drv/remote.h"
#include "gpu/gpu.h"
#include "homid.h"
#include "util/err.h"

#if __has_include("pci/pci.h")
#include "pci/pci.h"
#define HOMID_HAVE_PCI 1
#endif

static int ctrl_identify_ns(struct homid_ctrl *hc)
{
	const struct aisio_nvme_ctrl_info *ci = aisio_nvme_ctrl_info(hc->nc);
	struct aisio_nvme_id_ns *id;
	int err = 0;

	hc->ns = calloc(ci->nactive ? ci->nactive : 1, sizeof(*hc->ns));
	id = aisio_nvme_ctrl_dma_alloc(hc->nc, sizeof(*id), 0);
	if (!hc->ns || !id) {
		aisio_nvme_ctrl_dma_free(hc->nc, id);
		return aisio_err(-ENOMEM, "%s: out of memory for namespaces", hc->name);
	}
	for (uint32_t i = 0; i < ci->nactive; i++) {
		struct aisio_nvme_sqe cmd = { .opc = AISIO_NVME_ADM_IDENTIFY, .nsid = ci->active[i],
					      .cdw10 = AISIO_NVME_CNS_NS };
		uint32_t lbads;

		err = aisio_nvme_ctrl_admin(hc->nc, &cmd, id, sizeof(*id), NULL);
		if (err)
			break;
		lbads = id->lbaf[aisio_nvme_id_ns_flbas_index(id)].lbads;
		if (lbads < 9 || lbads > 16 || !id->nsze)
			continue;
		hc->ns[hc->nns].nsid = ci->active[i];
		hc->ns[hc->nns].lba_shift = lbads;
		hc->ns[hc->nns].nlbas = id->nsze;
		hc->nns++;
	}
	aisio_nvme_ctrl_dma_free(hc->nc, id);
	return err;
}

#ifdef HOMID_HAVE_PCI
/*
 * vfio: a direct client maps BAR0 from a duplicate of the vfio device
 * descriptor (every register is within its reach: docs/homi.md, the trust
 * table). uio shares nothing: its clients' memory cannot be mapped for the
 * device, so it takes no client queues.
 */
static int ctrl_pci_share(struct homid_ctrl *hc)
{
	uint64_t off;
	int fd;

	if (aisio_pci_vfio_device(hc->pcif, &fd, &off))
		return 0;
	hc->bar_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (hc->bar_fd < 0)
		return aisio_err(-errno, "%s: dup of the vfio device: %s", hc->name, strerror(errno));
	hc->bar_off = off;
	hc->bar_len = hc->pcif->bar0_len;
	hc->direct_ok = 1;
	return 0;
}

/*
 * vfio: a fresh VF token on an SR-IOV physical function, so that homid
 * (and nobody who does not know it) can open the VFs it enables (vf.c).
 * A function that is no PF takes none: no token.
 */
static int ctrl_vf_token(struct homid_ctrl *hc)
{
	char tok[AISIO_PCI_VF_TOKEN_LEN];
	int err = aisio_pci_vf_token_new(tok);

	if (!err)
		err = aisio_pci_vfio_set_vf_token(hc->pcif, tok);
	if (err == -ENOTSUP) {
		aisio_err_clear();
		return 0;
	}
	if (!err)
		memcpy(hc->vf_token, tok, sizeof(tok));
	return err;
}
#endif

/*
 * emu:SPEC[,gpu=N]: the model; with gpu=N, homid opens GPU N and clients
 * may register GPU memory (GPU_MEM_REG): a namespace that stores data gets
 * the GPU copy provider, its host memory still the live DMA ranges.
 */
static int ctrl_emu_create(const char *spec, struct homid_ctrl *hc)
{
	struct aisio_emu_opts o;
	struct aisio_emu_dma ops;
	char buf[512], *g, *file = NULL, *end;
	int err;

	if (strlen(spec + 4) >= sizeof(buf))
		return aisio_err(-EINVAL, "%s: controller spec too long", spec);
	snprintf(buf, sizeof(buf), "%s", spec + 4);
	g = strstr(buf, ",gpu=");
	if (!g)
		return aisio_emu_open_uri(buf, &hc->emu);
	errno = 0;
	long v = strtol(g + 5, &end, 10);
	if (end == g + 5 || (*end && *end != ',') || v < 0 || v > 1023 || errno)
		return aisio_err(-EINVAL, "gpu=N wants a GPU index (0, 1, ...)");
	memmove(g, end, strlen(end) + 1);
	hc->gpu = (int)v;
	aisio_emu_opts_init(&o);
	err = aisio_emu_parse_uri(buf, &o, &file);
	if (err)
		return err;
	err = aisio_gpu_select(hc->gpu);
	if (err) {
		char why[256];

		snprintf(why, sizeof(why), "%s", aisio_errmsg());
		err = aisio_err(err, "clients' GPU memory (gpu=%d) needs CUDA: %s", hc->gpu, why);
		goto out;
	}
	if (o.backing != AISIO_EMU_NULL) {
		err = aisio_gpu_dma_create(hc->gpu, &hc->gdma);
		if (err)
			goto out;
		ops = *aisio_gpu_dma_ops(hc->gdma);
		ops.ranges = 1;
		o.dma = &ops;
	}
	err = aisio_emu_ctrl_create(&o, &hc->emu);
	if (err) {
		aisio_gpu_dma_destroy(hc->gdma);
		hc->gdma = NULL;
		goto out;
	}
	if (hc->gdma)
		aisio_gpu_dma_set_host_map(hc->gdma, aisio_emu_dma_ranges_map, hc->emu);
out:
	free(file);
	return err;
}

int homid_ctrl_open(const char *spec, int index, struct homid_ctrl *hc)
{
	struct aisio_nvme_ctrl_opts co = { 0 };
	int err;

	memset(hc, 0, sizeof(*hc));
	hc->bar_fd = -1;
	hc->gpu = -1;
	if (!strncmp(spec, "emu:", 4)) {
		size_t len;

		hc->kind = AISIO_HOMI_CTRL_EMU;
		snprintf(hc->name, sizeof(hc->name), "emu%d", index);
		err = ctrl_emu_create(spec, hc);
		if (err)
			return err;
		err = homid_emu_pcif_open(hc->emu, &hc->pcif);
		if (err)
			goto err_emu;
		aisio_emu_ctrl_bar0(hc->emu, &len);
		hc->bar_len = len;
		hc->bar_fd = aisio_emu_ctrl_bar0_fd(hc->emu);
		hc->direct_ok = 1;
	} else if (!strncmp(spec, "pci:", 4)) {
#ifdef HOMID_HAVE_PCI
		char bdf[64], *drv;

		hc->kind = AISIO_HOMI_CTRL_PCI;
		snprintf(bdf, sizeof(bdf), "%s", spec + 4);
		drv = strstr(bdf, ",drv=");
		if (drv) {
			*drv = 0;
			drv += 5;
		}
		if (strlen(bdf) >= sizeof(hc->name))
			return aisio_err(-EINVAL, "%s: PCI address too long", spec);
		memcpy(hc->name, bdf, strlen(bdf) + 1);
		err = aisio_pcif_open(bdf, drv, &hc->pcif);
		if (err)
			return err;
		err = ctrl_pci_share(hc);
		if (err)
			goto err_pcif;
		/* vfio: homid's DMA memory in memfds, so that a restart can take it over */
		if (hc->direct_ok) {
			err = homid_pci_host_open(hc->pcif, &hc->host);
			if (err)
				goto err_pcif;
			err = ctrl_vf_token(hc);
			if (err)
				goto err_pcif;
		}
#else
		return aisio_err(-ENOTSUP, "%s: homid was built without PCI support", spec);
#endif
	} else if (!strncmp(spec, "nvme+tcp://", 11)) {
		return homid_tcp_open(spec, index, hc);
	} else {
		return aisio_err(-EINVAL, "controller '%s': use emu:SPEC, pci:BDF[,drv=vfio|uio] or "
				 "nvme+tcp://HOST[:PORT]/SUBNQN[,...]", spec);
	}
	err = aisio_nvme_ctrl_init(hc->host ? hc->host : hc->pcif, &co, &hc->nc);
	if (err)
		goto err_pcif;
	err = ctrl_identify_ns(hc);
	if (err)
		goto err_term;
	return 0;

err_term:
	aisio_nvme_ctrl_term(hc->nc);
	free(hc->ns);
err_pcif:
	aisio_pcif_close(hc->host);
	if (hc->kind == AISIO_HOMI_CTRL_PCI && hc->bar_fd >= 0)
		close(hc->bar_fd);
	aisio_pcif_close(hc->pcif);
err_emu:
	aisio_emu_ctrl_destroy(hc->emu);
	aisio_gpu_dma_destroy(hc->gdma);
	memset(hc, 0, sizeof(*hc));
	return err;
}

#ifdef HOMID_HAVE_PCI
int homid_ctrl_adopt(const char *spec, const struct homid_handover *ho, int index,
		     struct homid_ctrl *hc)
{
	const struct homid_ho_ctrl *s = homid_handover_ctrl(ho, index);
	const struct aisio_nvme_ctrl_handover *nh = &s->nvme;
	char bdf[64], norm[AISIO_PCI_BDF_LEN], *comma;
	void *asq, *acq;
	uint32_t i;
	int err;

	memset(hc, 0, sizeof(*hc));
	hc->bar_fd = -1;
	hc->kind = AISIO_HOMI_CTRL_PCI;
	snprintf(bdf, sizeof(bdf), "%s", strncmp(spec, "pci:", 4) ? "" : spec + 4);
	comma = strchr(bdf, ',');
	if (comma)
		*comma = 0;
	if (aisio_pci_bdf_parse(bdf, norm) || strcmp(norm, s->vfio.bdf))
		return aisio_err(-ESTALE, "controller %s: the handed-over controller is %s; the "
				 "configuration changed across the restart", spec, s->vfio.bdf);
	if (strlen(bdf) >= sizeof(hc->name))
		return aisio_err(-EINVAL, "%s: PCI address too long", spec);
	memcpy(hc->name, bdf, strlen(bdf) + 1);
	err = aisio_pci_vfio_adopt(&s->vfio, &hc->pcif);
	if (err)
		return err;
	/* clients' memory first: homid's own allocations must not land on it */
	err = homid_handover_reserve(ho, index, hc->pcif);
	if (!err)
		err = ctrl_pci_share(hc);
	if (!err)
		err = homid_pci_host_open(hc->pcif, &hc->host);
	if (!err)
		err = ctrl_vf_token(hc);
	/* after a crash, a region whose descriptor left the store was withdrawn already */
	for (i = 0; !err && i < s->nregion; i++)
		if (s->region[i].fd >= 0)
			err = homid_pci_host_adopt(hc->host, &s->region[i]);
	if (err)
		goto err_pcif;
	if (homid_handover_crashed(ho)) {
		uint64_t bytes;

		/* what the crashed homid mapped after its last record: before anything is mapped */
		err = aisio_pci_vfio_unmap_unknown(hc->pcif, &bytes);
		if (err)
			goto err_pcif;
		if (bytes)
			LOG_INFO("controller %s: %llu bytes mapped after the crash record withdrawn",
				 hc->name, (unsigned long long)bytes);
	}
	asq = homid_pci_host_va(hc->host, nh->asq_bus, (size_t)nh->admin_depth * 64);
	acq = homid_pci_host_va(hc->host, nh->acq_bus, (size_t)nh->admin_depth * 16);
	if (!asq || !acq) {
		err = aisio_err(-ESTALE, "%s: the admin queue is not in the handed-over memory",
				hc->name);
		goto err_pcif;
	}
	err = aisio_nvme_ctrl_adopt(hc->host, NULL, nh, asq, acq, &hc->nc);
	if (err)
		goto err_pcif;
	err = ctrl_identify_ns(hc);
	if (err) {
		free(hc->ns);
		aisio_nvme_ctrl_term(hc->nc);
		goto err_pcif;
	}
	return 0;

err_pcif:
	LOG_ERR("controller %s: %s", spec, aisio_errmsg());
	aisio_pcif_close(hc->host);
	if (hc->bar_fd >= 0)
		close(hc->bar_fd);
	/* direct clients hold the device: unbinding vfio-pci would wait for them */
	aisio_pci_vfio_leave_bound(hc->pcif);
	aisio_pcif_close(hc->pcif);
	memset(hc, 0, sizeof(*hc));
	return err;
}
#else
int homid_ctrl_adopt(const char *spec, const struct homid_handover *ho, int index,
		     struct homid_ctrl *hc)
{
	return aisio_err(-ENOTSUP, "%s: homid was built without PCI support", spec);
}
#endif

void homid_ctrl_store(struct homid_ctrl *hc)
{
#ifdef HOMID_HAVE_PCI
	struct aisio_pci_vfio_handover v;

	if (!hc->host || aisio_pci_vfio_handover_save(hc->pcif, &v))
		return;
	homid_store_add(v.container, HOMID_STORE_FD);
	homid_store_add(v.group, HOMID_STORE_FD);
	homid_store_add(v.device, HOMID_STORE_FD);
#else
	(void)hc;
#endif
}

void homid_ctrl_close(struct homid_ctrl *hc)
{
	if (hc->kind == AISIO_HOMI_CTRL_TCP) {
		homid_tcp_close(hc);
		free(hc->ns);
		memset(hc, 0, sizeof(*hc));
		return;
	}
	/* (a PCI controller whose function reset failed has no driver left) */
	if (!hc->nc && !hc->pcif)
		return;
	aisio_nvme_ctrl_term(hc->nc); /* disables the controller, frees homid's DMA memory */
	aisio_pcif_close(hc->host);
	if (hc->kind == AISIO_HOMI_CTRL_PCI && hc->bar_fd >= 0)
		close(hc->bar_fd);
	aisio_pcif_close(hc->pcif);
	aisio_emu_ctrl_destroy(hc->emu);
	aisio_gpu_dma_destroy(hc->gdma);
	free(hc->ns);
	memset(hc, 0, sizeof(*hc));
}

void homid_ctrl_desc(struct homid_ctrl *hc, struct aisio_homi_ctrl_desc *d)
{
	const struct aisio_nvme_ctrl_info *ci;
	uint32_t used, total;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", hc->name);
	d->kind = (uint32_t)hc->kind;
	d->nns = hc->nns;
	if (hc->kind == AISIO_HOMI_CTRL_TCP) {
		homid_tcp_desc(hc, d);
		return;
	}
	ci = aisio_nvme_ctrl_info(hc->nc);
	aisio_nvme_ctrl_qids(hc->nc, &used, &total);
	d->nqueues = total;
	d->qids_used = used;
	d->max_qdepth = ci->max_qdepth;
	d->max_xfer = ci->max_xfer;
	d->page_shift = ci->page_shift;
	d->dstrd = ci->dstrd;
	d->sgl = ci->sgl;
	d->timeout_ms = ci->timeout_ms;
	d->bar0_len = (uint32_t)hc->bar_len;
	d->direct_ok = (uint32_t)hc->direct_ok;
}

const struct homid_ns *homid_ctrl_ns(const struct homid_ctrl *hc, uint32_t nsid)
{
	for (uint32_t i = 0; i < hc->nns; i++)
		if (hc->ns[i].nsid == nsid)
			return &hc->ns[i];
	return NULL;
}

void homid_ctrl_limits(struct homid_ctrl *hc, uint32_t *max_qdepth, uint32_t *max_xfer,
		       uint32_t *page_shift, uint32_t *dstrd)
{
	struct aisio_homi_ctrl_desc d;

	homid_ctrl_desc(hc, &d);
	*max_qdepth = d.max_qdepth;
	*max_xfer = d.max_xfer;
	*page_shift = d.page_shift;
	*dstrd = d.dstrd;
}

int homid_ctrl_identify(struct homid_ctrl *hc, uint32_t cns, uint32_t nsid, void *out)
{
	struct aisio_nvme_sqe cmd = { .opc = AISIO_NVME_ADM_IDENTIFY, .nsid = nsid, .cdw10 = cns };
	void *buf;
	int err;

	if (hc->kind == AISIO_HOMI_CTRL_TCP)
		return homid_tcp_identify(hc, cns, nsid, out);
	buf = aisio_nvme_ctrl_dma_alloc(hc->nc, 4096, 4096);
	if (!buf)
		return aisio_err(-ENOMEM, "no DMA memory for Identify data");
	err = aisio_nvme_ctrl_admin(hc->nc, &cmd, buf, 4096, NULL);
	if (!err)
		memcpy(out, buf, 4096);
	aisio_nvme_ctrl_dma_free(hc->nc, buf);
	if (err > 0)
		return aisio_err(-EIO, "Identify failed: NVMe status 0x%x", err);
	return err;
}

int homid_ctrl_qpair_delete(struct homid_ctrl *hc, struct homid_queue *q)
{
	if (hc->kind == AISIO_HOMI_CTRL_TCP) {
		/* a direct client's connection: cut off (shared socket), then the QID is free */
		if (q->tcp_direct) {
			shutdown(q->tcp_fd, SHUT_RDWR);
			close(q->tcp_fd);
			q->tcp_fd = -1;
			q->tcp_direct = 0;
			homid_tcp_qid_put(hc, q->qid);
		}
		/* mediated: homid's connection, closed when the mediator frees it */
		return 0;
	}
	return aisio_nvme_ctrl_qpair_delete_ext(hc->nc, q->qid);
}

int homid_ctrl_is_pci(const struct homid_ctrl *hc, const char *bdf)
{
	char a[AISIO_PCI_BDF_LEN], b[AISIO_PCI_BDF_LEN];

	if (hc->kind != AISIO_HOMI_CTRL_PCI || aisio_pci_bdf_parse(hc->name, a) ||
	    aisio_pci_bdf_parse(bdf, b)) {
		aisio_err_clear();
		return 0;
	}
	return !strcmp(a, b);
}

int homid_ctrl_function_reset(struct homid_ctrl *hc)
{
	struct aisio_nvme_ctrl_opts co = { 0 };
	uint32_t used = 0, total = 0;
	int err;

	if (hc->kind != AISIO_HOMI_CTRL_PCI || !hc->host)
		return aisio_err(-ENOTSUP, "%s: homid resets only controllers it drives through vfio",
				 hc->name);
	aisio_nvme_ctrl_qids(hc->nc, &used, &total);
	if (used)
		return aisio_err(-EBUSY, "%s: %u I/O queue(s) in use: no function reset under them",
				 hc->name, used);
	/* the controller disabled and homid's DMA memory freed, then the reset */
	aisio_nvme_ctrl_term(hc->nc);
	hc->nc = NULL;
	free(hc->ns);
	hc->ns = NULL;
	hc->nns = 0;
	err = aisio_pci_vfio_reset(hc->pcif);
	/* vfio restores the configuration space, bus mastering included */
	if (!err)
		err = aisio_nvme_ctrl_init(hc->host, &co, &hc->nc);
	if (!err)
		err = ctrl_identify_ns(hc);
	if (err)
		return aisio_err(err, "%s: after a function reset: %s (restart homid)", hc->name,
				 aisio_errmsg());
	LOG_INFO("%s: function reset; controller up again with %u namespace(s)", hc->name, hc->nns);
	return 0;
}

int homid_ctrl_map(struct homid_ctrl *hc, void *va, size_t len, uint64_t *bus)
{
	if (hc->kind == AISIO_HOMI_CTRL_TCP) {
		/* the mediator moves the data itself: the address is homid's mapping */
		*bus = (uint64_t)(uintptr_t)va;
		return 0;
	}
	if (hc->kind == AISIO_HOMI_CTRL_EMU) {
		*bus = (uint64_t)(uintptr_t)va;
		return aisio_emu_ctrl_dma_range_add(hc->emu, *bus, len, va);
	}
#ifdef HOMID_HAVE_PCI
	if (hc->bar_fd >= 0) /* vfio: an IOMMU mapping at an IOVA of homid's */
		return aisio_pci_vfio_map(hc->pcif, va, len, bus);
#endif
	return aisio_err(-ENOTSUP, "%s: client memory can be mapped for the device only through "
			 "vfio (uio would need pinned physical pages of the client's memfd); "
			 "bind it with pci:BDF,drv=vfio", hc->name);
}

int homid_ctrl_unmap(struct homid_ctrl *hc, uint64_t bus, size_t len)
{
	if (hc->kind == AISIO_HOMI_CTRL_TCP)
		return 0;
	if (hc->kind == AISIO_HOMI_CTRL_EMU)
		return aisio_emu_ctrl_dma_range_remove(hc->emu, bus);
#ifdef HOMID_HAVE_PCI
	if (hc->bar_fd >= 0)
		return aisio_pci_vfio_unmap(hc->pcif, bus);
#endif
	return aisio_err(-ENOTSUP, "%s: no client memory is mapped on this controller", hc->name);
}

int homid_ctrl_gpu_map(struct homid_ctrl *hc, const uint8_t *handle, size_t len, void **ptr)
{
	int err;

	*ptr = NULL;
	if (hc->kind != AISIO_HOMI_CTRL_EMU)
		return aisio_err(-ENOTSUP, "%s: GPU memory of clients reaches a real controller only as a "
				 "dma-buf, which homid does not take yet; use the device model (emu:...,gpu=N)",
				 hc->name);
	if (!aisio_gpu_built())
		return aisio_err(-ENOTSUP, "this homid was built without CUDA: it cannot open clients' GPU "
				 "memory (rebuild with nvcc, meson -Dcuda=enabled)");
	if (hc->gpu < 0)
		return aisio_err(-ENOTSUP, "%s was started without a GPU: give its spec gpu=N (homid --ctrl "
				 "emu:SIZE,gpu=0) to take clients' GPU memory", hc->name);
	err = aisio_gpu_ipc_open(hc->gpu, handle, len, ptr);
	if (err)
		return err;
	/* a null namespace moves no data: nothing to add */
	if (hc->gdma) {
		err = aisio_gpu_dma_add_gpu(hc->gdma, (uint64_t)(uintptr_t)*ptr, len);
		if (err) {
			aisio_gpu_ipc_close(*ptr);
			*ptr = NULL;
		}
	}
	return err;
}

void homid_ctrl_gpu_unmap(struct homid_ctrl *hc, void *ptr)
{
	/* copies still queued into it land first; then the handle is closed */
	if (hc->gdma && aisio_gpu_dma_remove_gpu(hc->gdma, (uint64_t)(uintptr_t)ptr))
		LOG_WARN("%s: withdrawing GPU memory %p: %s", hc->name, ptr, aisio_errmsg());
	aisio_gpu_ipc_close(ptr);
}
