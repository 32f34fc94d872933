/* SPDX-License-Identifier: MIT */
/*
 * The user-space NVMe driver behind the one API, for every URI a PCI-function
 * provider answers (src/pci/provider.h): emu: (the device model in this
 * process) and pci: (a real function through uio or vfio).
 *
 *   emu:SPEC[,nsid=N][,sgl=1][,timeout_ms=N]   SPEC as the device model takes it
 *   pci:BDF[,nsid=N][,drv=uio|vfio][,sgl=1][,timeout_ms=N]
 *
 * The driver's options (nsid=, sgl=, timeout_ms=) are taken out of the URI
 * here; what is left goes to the PCI layer, which hands it to the provider of
 * the scheme. The driver never learns which provider answered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drv/drv.h"
#include "io/backend.h"
#include "pci/pci.h"
#include "util/err.h"

struct upci_dev {
	struct aisio_pcif *pcif;
	struct aisio_nvme_ctrl *ctrl;
	uint32_t qp_flags;
};

struct upci_uri {
	char *pcif;         /* what is left for the PCI layer: "SCHEME:" and the provider's text */
	uint32_t nsid;
	int sgl;            /* -1 = not given */
	uint32_t timeout_ms;
};

static int parse_u32(const char *uri, const char *key, const char *v, uint32_t *out)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 0);
	if (!*v || *end || errno || x > UINT32_MAX)
		return aisio_err(-EINVAL, "%s: '%s=%s' is not a number", uri, key, v);
	*out = (uint32_t)x;
	return 0;
}

/*
 * Split what follows the scheme at commas; keep the driver's options and
 * copy everything else into u->pcif after the scheme (the first @scheme_len
 * bytes of @uri, colon included).
 */
static int parse_uri(const char *uri, size_t scheme_len, struct upci_uri *u)
{
	const char *body = uri + scheme_len;
	char *copy = strdup(body), *save = NULL, *tok;
	size_t used = scheme_len;
	int err = 0;

	memset(u, 0, sizeof(*u));
	u->sgl = -1;
	u->pcif = calloc(1, strlen(uri) + 1);
	if (!copy || !u->pcif) {
		free(copy);
		free(u->pcif);
		u->pcif = NULL;
		return aisio_err(-ENOMEM, "out of memory");
	}
	memcpy(u->pcif, uri, scheme_len);
	for (tok = strtok_r(copy, ",", &save); tok && !err; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		uint32_t v;

		if (eq && !strncmp(tok, "nsid=", 5)) {
			err = parse_u32(uri, "nsid", eq + 1, &u->nsid);
			if (!err && !u->nsid)
				err = aisio_err(-EINVAL, "%s: nsid must be 1 or more", uri);
		} else if (eq && !strncmp(tok, "sgl=", 4)) {
			err = parse_u32(uri, "sgl", eq + 1, &v);
			if (!err && v > 1)
				err = aisio_err(-EINVAL, "%s: sgl takes 0 or 1", uri);
			u->sgl = (int)v;
		} else if (eq && !strncmp(tok, "timeout_ms=", 11)) {
			err = parse_u32(uri, "timeout_ms", eq + 1, &u->timeout_ms);
		} else {
			if (used > scheme_len)
				u->pcif[used++] = ',';
			memcpy(u->pcif + used, tok, strlen(tok));
			used += strlen(tok);
		}
	}
	free(copy);
	if (err) {
		free(u->pcif);
		u->pcif = NULL;
	}
	return err;
}

/* The namespace the caller asked for, or the first active one. */
static int pick_nsid(struct aisio_dev *dev, const struct aisio_nvme_ctrl_info *ci, uint32_t want,
		     uint32_t *nsid)
{
	if (!ci->nactive)
		return aisio_err(-ENODEV, "%s: the controller has no active namespace", dev->uri);
	if (!want) {
		*nsid = ci->active[0];
		return 0;
	}
	for (uint32_t i = 0; i < ci->nactive; i++) {
		if (ci->active[i] == want) {
			*nsid = want;
			return 0;
		}
	}
	return aisio_err(-ENODEV, "%s: namespace %u is not active (active: %u..%u, %u in all)", dev->uri,
			 want, ci->active[0], ci->active[ci->nactive - 1], ci->nactive);
}

static int fill_geo(struct aisio_dev *dev, struct upci_dev *ud, uint32_t nsid)
{
	const struct aisio_nvme_ctrl_info *ci = aisio_nvme_ctrl_info(ud->ctrl);
	struct aisio_nvme_id_ns *id;
	struct aisio_nvme_sqe cmd = { .opc = AISIO_NVME_ADM_IDENTIFY, .nsid = nsid,
				      .cdw10 = AISIO_NVME_CNS_NS };
	uint32_t lbads;
	int err;

	id = aisio_nvme_ctrl_dma_alloc(ud->ctrl, sizeof(*id), 0);
	if (!id)
		return aisio_err(-ENOMEM, "%s: no DMA memory for Identify Namespace", dev->uri);
	err = aisio_nvme_ctrl_admin(ud->ctrl, &cmd, id, sizeof(*id), NULL);
	if (err)
		goto out;
	lbads = id->lbaf[aisio_nvme_id_ns_flbas_index(id)].lbads;
	if (lbads < 9 || lbads > 16 || !id->nsze) {
		err = aisio_err(-ENODEV, "%s: namespace %u reports LBA size 2^%u and %llu LBAs; cannot use it",
				dev->uri, nsid, lbads, (unsigned long long)id->nsze);
		goto out;
	}
	dev->geo.nsid = nsid;
	dev->geo.lba_size = 1u << lbads;
	dev->geo.nlbas = id->nsze;
	dev->geo.max_xfer = ci->max_xfer;
	dev->geo.max_queues = ci->nqueues;
	dev->geo.max_qdepth = ci->max_qdepth;
	dev->geo.buf_align = 1u << ci->page_shift;
	if (dev->geo.buf_align < 4096)
		dev->geo.buf_align = 4096;
	dev->geo.sgl = ci->sgl;
	dev->geo.backend = "upci";
out:
	aisio_nvme_ctrl_dma_free(ud->ctrl, id);
	return err;
}

static int upci_open(struct aisio_dev *dev, const char *uri, const struct aisio_open_opts *opts)
{
	struct aisio_nvme_ctrl_opts co = { 0 };
	const char *colon = strchr(uri, ':');
	struct upci_dev *ud;
	struct upci_uri u;
	uint32_t nsid = 0;
	int err;

	/* a scheme no provider answers is refused by aisio_pcif_open_uri() */
	err = parse_uri(uri, colon ? (size_t)(colon - uri) + 1 : 0, &u);
	if (err)
		return err;
	ud = calloc(1, sizeof(*ud));
	if (!ud) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto err_free_uri;
	}
	err = aisio_pcif_open_uri(u.pcif, opts->flags & AISIO_OPEN_CREATE ? AISIO_PCIF_CREATE : 0,
				  &ud->pcif);
	if (err)
		goto err_free_ud;
	co.timeout_ms = opts->timeout_ms ? opts->timeout_ms : u.timeout_ms;
	err = aisio_nvme_ctrl_init(ud->pcif, &co, &ud->ctrl);
	if (err)
		goto err_close;
	if (u.sgl == 1) {
		if (!aisio_nvme_ctrl_info(ud->ctrl)->sgl) {
			err = aisio_err(-ENOTSUP, "%s: sgl=1 but the controller does not support SGLs", uri);
			goto err_term;
		}
		ud->qp_flags |= AISIO_NVME_QP_SGL;
	}
	err = pick_nsid(dev, aisio_nvme_ctrl_info(ud->ctrl), opts->nsid ? opts->nsid : u.nsid, &nsid);
	if (err)
		goto err_term;
	dev->priv = ud;
	err = fill_geo(dev, ud, nsid);
	if (err)
		goto err_term;
	free(u.pcif);
	return 0;

err_term:
	dev->priv = NULL;
	aisio_nvme_ctrl_term(ud->ctrl);
err_close:
	aisio_pcif_close(ud->pcif);
err_free_ud:
	free(ud);
err_free_uri:
	free(u.pcif);
	return err;
}

static void upci_close(struct aisio_dev *dev)
{
	struct upci_dev *ud = dev->priv;

	if (!ud)
		return;
	aisio_nvme_ctrl_term(ud->ctrl);
	aisio_pcif_close(ud->pcif);
	free(ud);
	dev->priv = NULL;
}

/* Data goes through DMA memory of the controller (aisio_nvme_ctrl_admin_copy). */
static int upci_admin(struct aisio_dev *dev, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		      uint32_t *result)
{
	struct upci_dev *ud = dev->priv;

	return aisio_nvme_ctrl_admin_copy(ud->ctrl, cmd, buf, len, result);
}

static int upci_reset(struct aisio_dev *dev)
{
	struct upci_dev *ud = dev->priv;

	return aisio_nvme_ctrl_reset(ud->ctrl);
}

static void *upci_buf_alloc(struct aisio_dev *dev, size_t len)
{
	struct upci_dev *ud = dev->priv;
	void *p = aisio_nvme_ctrl_dma_alloc(ud->ctrl, len, dev->geo.buf_align);

	if (!p)
		aisio_err(-ENOMEM, "%s: out of DMA memory for a %zu-byte buffer", dev->uri, len);
	return p;
}

static void upci_buf_free(struct aisio_dev *dev, void *buf)
{
	struct upci_dev *ud = dev->priv;

	aisio_nvme_ctrl_dma_free(ud->ctrl, buf);
}

static int upci_queue_init(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **out)
{
	struct upci_dev *ud = dev->priv;
	struct aisio_nvme_qpair *qp;
	int err;

	err = aisio_nvme_qpair_create(ud->ctrl, dev, depth, ud->qp_flags, &qp);
	if (err)
		return err;
	qp->q.nvme = qp;
	*out = &qp->q;
	return 0;
}

static void upci_queue_term(struct aisio_queue *q)
{
	aisio_nvme_qpair_delete(aisio_nvme_qpair_of(q));
}

static struct aisio_io *upci_get_io(struct aisio_queue *q)
{
	return aisio_nvme_qpair_get_io(aisio_nvme_qpair_of(q));
}

static void upci_put_io(struct aisio_queue *q, struct aisio_io *io)
{
	aisio_nvme_qpair_put_io(aisio_nvme_qpair_of(q), io);
}

static int upci_submit(struct aisio_queue *q)
{
	return aisio_nvme_qpair_submit(aisio_nvme_qpair_of(q));
}

static int upci_reap(struct aisio_queue *q, uint32_t max)
{
	return aisio_nvme_qpair_reap(aisio_nvme_qpair_of(q), max);
}

static uint32_t upci_outstanding(const struct aisio_queue *q)
{
	return aisio_nvme_qpair_outstanding((const struct aisio_nvme_qpair *)q);
}

struct aisio_nvme_ctrl *aisio_upci_ctrl(struct aisio_dev *dev)
{
	if (!dev || dev->ops != &aisio_be_upci || !dev->priv)
		return NULL;
	return ((struct upci_dev *)dev->priv)->ctrl;
}

struct aisio_pcif *aisio_upci_pcif(struct aisio_dev *dev)
{
	if (!dev || dev->ops != &aisio_be_upci || !dev->priv)
		return NULL;
	return ((struct upci_dev *)dev->priv)->pcif;
}

const struct aisio_backend_ops aisio_be_upci = {
	.name = "upci",
	.open = upci_open,
	.close = upci_close,
	.admin = upci_admin,
	.reset = upci_reset,
	.buf_alloc = upci_buf_alloc,
	.buf_free = upci_buf_free,
	.queue_init = upci_queue_init,
	.queue_term = upci_queue_term,
	.get_io = upci_get_io,
	.put_io = upci_put_io,
	.submit = upci_submit,
	.reap = upci_reap,
	.outstanding = upci_outstanding,
};
