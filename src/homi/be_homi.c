/* SPDX-License-Identifier: MIT */
/*
 * The homi: backend: queues provisioned by homid.
 *
 *   homi:[SOCKET][,ctrl=NAME][,nsid=N][,mode=direct|mediated|vf][,vf=BDF]
 *
 * DMA memory is memfd memory registered with homid (homid maps it for the
 * device and returns its device address), so aisio_buf_alloc() gives
 * registered memory. A queue pair's rings live in that memory too; homid
 * creates the hardware queues (direct) or its mediated ring on them, and the
 * driver's own I/O path (src/drv/io.c) submits and reaps, ringing the
 * doorbells in the page homid shared.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drv/remote.h"
#include "homi/be_homi_tcp.h"
#include "homi/be_homi_vf.h"
#include "homi/client.h"
#include "io/backend.h"
#include "tcp/tcp.h"
#include "util/err.h"

#define HOMI_CHUNK_SHIFT 21
#define HOMI_MODE_VF 3 /* a whole VF from homid's pool (be_homi_vf.c) */
#define HOMI_MODE_TCP 4 /* direct on a remote controller: handed-over TCP queues (be_homi_tcp.c) */
/*
 * The first region registered: a buffer and a queue of moderate depth fit,
 * so provisioning (connect to first completion) allocates, maps and (vfio)
 * pins 256 KiB rather than a whole 8 MiB chunk (bench/homi, section 3).
 */
#define HOMI_DMA_FIRST ((size_t)256 << 10)

struct homi_dev {
	struct aisio_pcif f; /* first: the driver's function is this struct */
	struct aisio_homi_conn *conn;
	struct aisio_nvme_ctrl *ctrl;
	struct aisio_homi_attach_reply att;
	void *db;
	size_t db_len;
	uint32_t mode;
	uint32_t idle_reaps; /* reaps that found nothing since homid was last looked at */
	struct aisio_pcif *vf_fn; /* mode=vf: the VF, driven whole */
	char vf[16];
	struct aisio_tcp_ctrl *tcp; /* HOMI_MODE_TCP */
};

/* Idle reaps between two looks at homid's socket (a dead homid takes its model along). */
#define HOMI_IDLE_CHECK 4096

struct homi_region {
	struct aisio_mem_region r;
	struct homi_dev *hd;
	uint32_t mem_id;
	int fd;
	uint64_t bus[];
};

static void homi_region_release(struct aisio_mem_region *r)
{
	struct homi_region *hr = (struct homi_region *)r;
	struct aisio_homi_mem_unreg u = { .mem_id = hr->mem_id };

	/* homid unmaps it for the device before the pages go away here */
	aisio_homi_call(hr->hd->conn, AISIO_HOMI_MEM_UNREG, &u, sizeof(u), -1, NULL, 0, NULL, NULL);
	munmap(r->va, r->len);
	close(hr->fd);
	free(hr);
}

static const struct aisio_mem_region_ops homi_region_ops = { .release = homi_region_release };

static int homi_dma_alloc(struct aisio_pcif *f, size_t len, struct aisio_mem_region **out)
{
	struct homi_dev *hd = (struct homi_dev *)f;
	struct aisio_homi_mem_reg req = { .len = len };
	struct aisio_homi_mem_reg_reply rep;
	size_t nchunks = ((len - 1) >> HOMI_CHUNK_SHIFT) + 1;
	struct homi_region *hr;
	void *va;
	int fd, err;

	*out = NULL;
	hr = calloc(1, sizeof(*hr) + nchunks * sizeof(uint64_t));
	if (!hr)
		return aisio_err(-ENOMEM, "out of memory");
	fd = memfd_create("aisio-homi-dma", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		err = aisio_err(-errno, "homi: memfd_create: %s", strerror(errno));
		goto err_free;
	}
	/* homid refuses memory the client could shrink under it */
	if (ftruncate(fd, (off_t)len) || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL)) {
		err = aisio_err(-errno, "homi: sizing %zu bytes of DMA memory: %s", len, strerror(errno));
		goto err_close;
	}
	/* populated now: the data path takes no page faults, and a shortage shows here */
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (va == MAP_FAILED) {
		err = aisio_err(-errno, "homi: mapping %zu bytes of DMA memory: %s", len, strerror(errno));
		goto err_close;
	}
	err = aisio_homi_call(hd->conn, AISIO_HOMI_MEM_REG, &req, sizeof(req), fd, &rep, sizeof(rep),
			      NULL, NULL);
	if (err)
		goto err_unmap;
	aisio_mem_region_init_linear(&hr->r, va, len, HOMI_CHUNK_SHIFT, hr->bus, rep.bus,
				     &homi_region_ops, "homi");
	hr->hd = hd;
	hr->mem_id = rep.mem_id;
	hr->fd = fd;
	*out = &hr->r;
	return 0;

err_unmap:
	munmap(va, len);
err_close:
	close(fd);
err_free:
	free(hr);
	return err;
}

static int homi_cfg(struct aisio_pcif *f, uint32_t off, void *buf, size_t len)
{
	return aisio_err(-ENOTSUP, "%s: config space belongs to homid", f->name);
}

static int homi_cfg_w(struct aisio_pcif *f, uint32_t off, const void *buf, size_t len)
{
	return homi_cfg(f, off, NULL, len);
}

static void homi_pcif_close(struct aisio_pcif *f)
{
}

static const struct aisio_pcif_ops homi_pcif_ops = {
	.cfg_read = homi_cfg,
	.cfg_write = homi_cfg_w,
	.dma_alloc = homi_dma_alloc,
	.close = homi_pcif_close,
};

struct homi_uri {
	char sock[108];
	char ctrl[AISIO_HOMI_NAME_LEN];
	uint32_t nsid;
	uint32_t mode;
	char vf[16];
};

static int parse_uri(const char *uri, struct homi_uri *u)
{
	char *copy = strdup(uri + 5), *save = NULL, *tok;
	int first = 1, err = 0;

	memset(u, 0, sizeof(*u));
	u->mode = AISIO_HOMI_MODE_DIRECT;
	if (!copy)
		return aisio_err(-ENOMEM, "out of memory");
	/* strtok would skip an empty SOCKET before the first comma: split by hand */
	for (tok = copy; tok && !err; first = 0) {
		char *comma = strchr(tok, ',');

		if (comma)
			*comma = 0;
		if (first && !strchr(tok, '=')) {
			if (strlen(tok) >= sizeof(u->sock))
				err = aisio_err(-ENAMETOOLONG, "%s: socket path too long", uri);
			else
				snprintf(u->sock, sizeof(u->sock), "%s", tok);
		} else if (!strncmp(tok, "ctrl=", 5)) {
			if (strlen(tok + 5) >= sizeof(u->ctrl))
				err = aisio_err(-EINVAL, "%s: controller name too long", uri);
			else
				snprintf(u->ctrl, sizeof(u->ctrl), "%s", tok + 5);
		} else if (!strncmp(tok, "nsid=", 5)) {
			char *end;
			unsigned long v = strtoul(tok + 5, &end, 0);

			if (!tok[5] || *end || !v || v > UINT32_MAX)
				err = aisio_err(-EINVAL, "%s: nsid takes a number from 1", uri);
			u->nsid = (uint32_t)v;
		} else if (!strcmp(tok, "mode=direct")) {
			u->mode = AISIO_HOMI_MODE_DIRECT;
		} else if (!strcmp(tok, "mode=mediated")) {
			u->mode = AISIO_HOMI_MODE_MEDIATED;
		} else if (!strcmp(tok, "mode=vf")) {
			u->mode = HOMI_MODE_VF;
		} else if (!strncmp(tok, "vf=", 3)) {
			if (strlen(tok + 3) >= sizeof(u->vf))
				err = aisio_err(-EINVAL, "%s: VF address too long", uri);
			else
				snprintf(u->vf, sizeof(u->vf), "%s", tok + 3);
		} else if (*tok) {
			err = aisio_err(-EINVAL, "%s: unknown option '%s' (homi: takes SOCKET, ctrl=NAME, "
					"nsid=N, mode=direct|mediated|vf, vf=BDF)", uri, tok);
		}
		tok = comma ? comma + 1 : NULL;
	}
	free(copy);
	(void)save;
	return err;
}

/* Attach @hd to @dev and fill the geometry from homid's ATTACH reply. */
static void homi_set_geo(struct aisio_dev *dev, struct homi_dev *hd, uint32_t buf_align)
{
	dev->priv = hd;
	dev->geo.nsid = hd->att.ns.nsid;
	dev->geo.lba_size = 1u << hd->att.ns.lba_shift;
	dev->geo.nlbas = hd->att.ns.nlbas;
	dev->geo.max_xfer = hd->att.ctrl.max_xfer;
	dev->geo.max_queues = hd->att.ctrl.nqueues;
	dev->geo.max_qdepth = hd->att.ctrl.max_qdepth;
	dev->geo.buf_align = buf_align;
	dev->geo.sgl = 0;
	dev->geo.backend = "homi";
}

static int homi_open(struct aisio_dev *dev, const char *uri, const struct aisio_open_opts *opts)
{
	struct aisio_homi_attach att = { 0 };
	struct aisio_nvme_remote_info ri;
	struct homi_dev *hd;
	struct homi_uri u;
	int err, fd = -1;

	if (strncmp(uri, "homi:", 5))
		return aisio_err(-EINVAL, "%s: the homi backend opens homi: URIs only", uri);
	err = parse_uri(uri, &u);
	if (err)
		return err;
	hd = calloc(1, sizeof(*hd));
	if (!hd)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_homi_connect(u.sock, &hd->conn);
	if (err)
		goto err_free;
	if (u.mode == HOMI_MODE_VF) {
		hd->mode = u.mode;
		err = aisio_homi_vf_open(hd->conn, u.vf, opts->timeout_ms, &hd->vf_fn, &hd->ctrl, hd->vf);
		if (!err) {
			dev->priv = hd;
			err = aisio_homi_vf_geo(dev, hd->ctrl, opts->nsid ? opts->nsid : u.nsid);
			if (!err)
				return 0;
			dev->priv = NULL;
			aisio_nvme_ctrl_term(hd->ctrl);
			aisio_pcif_close(hd->vf_fn);
		}
		goto err_disconnect;
	}
	memcpy(att.ctrl, u.ctrl, sizeof(att.ctrl));
	att.nsid = opts->nsid ? opts->nsid : u.nsid;
	att.mode = u.mode;
	err = aisio_homi_call(hd->conn, AISIO_HOMI_ATTACH, &att, sizeof(att), -1, &hd->att,
			      sizeof(hd->att), NULL, &fd);
	if (err)
		goto err_disconnect;
	if (u.mode == AISIO_HOMI_MODE_DIRECT && hd->att.ctrl.kind == AISIO_HOMI_CTRL_TCP) {
		/* no doorbells: each queue is a TCP connection homid hands over */
		if (fd >= 0)
			close(fd);
		fd = -1;
		if (hd->att.ns.lba_shift < 9 || hd->att.ns.lba_shift > 16 || !hd->att.ctrl.max_xfer) {
			err = aisio_err(-EPROTO, "%s: homid's ATTACH reply lacks a sane namespace", uri);
			goto err_disconnect;
		}
		err = aisio_homi_tcp_setup(dev, &hd->att, &hd->tcp);
		if (err)
			goto err_disconnect;
		hd->mode = HOMI_MODE_TCP;
		homi_set_geo(dev, hd, 4096);
		return 0;
	}
	if (fd < 0 || hd->att.db_len < 0x1000 + 8 || hd->att.ns.lba_shift < 9 ||
	    hd->att.ns.lba_shift > 16) {
		err = aisio_err(-EPROTO, "%s: homid's ATTACH reply lacks the doorbell page or a sane "
				"namespace", uri);
		goto err_fd;
	}
	hd->db_len = hd->att.db_len;
	hd->db = mmap(NULL, hd->db_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		      (off_t)hd->att.ctrl.db_off);
	if (hd->db == MAP_FAILED) {
		err = aisio_err(-errno, "%s: mapping the doorbell page: %s", uri, strerror(errno));
		hd->db = NULL;
		goto err_fd;
	}
	close(fd);
	fd = -1;
	hd->mode = u.mode;
	hd->f.ops = &homi_pcif_ops;
	hd->f.bar0 = hd->db;
	hd->f.bar0_len = hd->db_len;
	snprintf(hd->f.name, sizeof(hd->f.name), "homi:%s", hd->att.ctrl.name);
	ri = (struct aisio_nvme_remote_info){
		.page_shift = hd->att.ctrl.page_shift,
		.dstrd = hd->att.ctrl.dstrd,
		.max_xfer = hd->att.ctrl.max_xfer,
		.max_qdepth = hd->att.ctrl.max_qdepth,
		.nqueues = hd->att.ctrl.nqueues,
		.sgl = hd->att.ctrl.sgl,
		.timeout_ms = opts->timeout_ms ? opts->timeout_ms : hd->att.ctrl.timeout_ms,
		.dma_first = HOMI_DMA_FIRST,
	};
	err = aisio_nvme_ctrl_remote_init(&hd->f, &ri, &hd->ctrl);
	if (err)
		goto err_unmap;
	homi_set_geo(dev, hd, 1u << hd->att.ctrl.page_shift);
	return 0;

err_unmap:
	munmap(hd->db, hd->db_len);
err_fd:
	if (fd >= 0)
		close(fd);
err_disconnect:
	aisio_homi_disconnect(hd->conn);
err_free:
	free(hd);
	return err;
}

static void homi_close(struct aisio_dev *dev)
{
	struct homi_dev *hd = dev->priv;

	if (!hd)
		return;
	if (hd->mode == HOMI_MODE_TCP) {
		aisio_homi_tcp_teardown(hd->tcp);
		aisio_homi_disconnect(hd->conn);
		free(hd);
		dev->priv = NULL;
		return;
	}
	if (hd->mode == HOMI_MODE_VF) {
		/* disable the VF's controller; homid resets it when the connection closes */
		aisio_nvme_ctrl_term(hd->ctrl);
		aisio_pcif_close(hd->vf_fn);
		aisio_homi_disconnect(hd->conn);
		free(hd);
		dev->priv = NULL;
		return;
	}
	aisio_nvme_ctrl_remote_term(hd->ctrl); /* unregisters its memory */
	munmap(hd->db, hd->db_len);
	aisio_homi_disconnect(hd->conn);
	free(hd);
	dev->priv = NULL;
}

/* Identify only: homid runs it and returns the data. */
static int homi_admin(struct aisio_dev *dev, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		      uint32_t *result)
{
	struct homi_dev *hd = dev->priv;
	struct aisio_homi_identify id = { .cns = cmd->cdw10 & 0xff, .nsid = cmd->nsid };
	uint8_t data[4096];
	size_t got = 0;
	int err;

	if (hd->mode == HOMI_MODE_VF) /* the VF's own admin queue, the data in any memory */
		return aisio_nvme_ctrl_admin_copy(hd->ctrl, cmd, buf, len, result);
	if (cmd->opc != AISIO_NVME_ADM_IDENTIFY || !buf || len > sizeof(data))
		return aisio_err(-ENOTSUP, "%s: homid carries Identify (CNS 00h to 03h) only; admin "
				 "opcode 0x%02x stays with homid", dev->uri, cmd->opc);
	err = aisio_homi_call(hd->conn, AISIO_HOMI_IDENTIFY, &id, sizeof(id), -1, data, sizeof(data),
			      &got, NULL);
	if (err)
		return err;
	memcpy(buf, data, len < got ? len : got);
	if (result)
		*result = 0;
	return 0;
}

static void *homi_buf_alloc(struct aisio_dev *dev, size_t len)
{
	struct homi_dev *hd = dev->priv;
	void *p;

	if (hd->mode == HOMI_MODE_TCP) { /* the data goes through this process's sockets */
		if (posix_memalign(&p, 4096, len ? len : 1)) {
			aisio_err(-ENOMEM, "%s: out of memory for a %zu-byte buffer", dev->uri, len);
			return NULL;
		}
		return p;
	}
	p = aisio_nvme_ctrl_dma_alloc(hd->ctrl, len, dev->geo.buf_align);

	if (!p && !*aisio_errmsg())
		aisio_err(-ENOMEM, "%s: no registered memory for a %zu-byte buffer", dev->uri, len);
	return p;
}

static void homi_buf_free(struct aisio_dev *dev, void *buf)
{
	struct homi_dev *hd = dev->priv;

	if (hd->mode == HOMI_MODE_TCP) {
		free(buf);
		return;
	}
	aisio_nvme_ctrl_dma_free(hd->ctrl, buf);
}

static int homi_queue_init(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **out)
{
	struct homi_dev *hd = dev->priv;
	struct aisio_homi_qp_create req = { .depth = depth };
	struct aisio_homi_qp_create_reply rep;
	struct aisio_nvme_qpair *qp;
	int err;

	if (hd->mode == HOMI_MODE_TCP)
		return aisio_homi_tcp_queue_init(dev, hd->conn, hd->tcp, depth, out);
	if (hd->mode == HOMI_MODE_VF) {
		err = aisio_nvme_qpair_create(hd->ctrl, dev, depth, 0, &qp);
		if (!err)
			*out = &qp->q;
		return err;
	}
	err = aisio_nvme_qpair_remote_alloc(hd->ctrl, dev, depth, 0, &qp, &req.sq_bus, &req.cq_bus);
	if (err)
		return err;
	err = aisio_homi_call(hd->conn, AISIO_HOMI_QP_CREATE, &req, sizeof(req), -1, &rep,
			      sizeof(rep), NULL, NULL);
	if (err) {
		aisio_nvme_qpair_remote_free(qp);
		return err;
	}
	aisio_nvme_qpair_remote_bind(qp, rep.qid, hd->db);
	*out = &qp->q;
	return 0;
}

static void homi_queue_term(struct aisio_queue *q)
{
	struct homi_dev *hd = q->dev->priv;
	struct aisio_nvme_qpair *qp;
	struct aisio_homi_qp_delete req;

	if (hd->mode == HOMI_MODE_TCP) {
		aisio_homi_tcp_queue_term(hd->conn, q);
		return;
	}
	qp = aisio_nvme_qpair_of(q);
	req = (struct aisio_homi_qp_delete){ .qid = aisio_nvme_qpair_qid(qp) };
	if (hd->mode == HOMI_MODE_VF) {
		aisio_nvme_qpair_delete(qp);
		return;
	}
	aisio_homi_call(hd->conn, AISIO_HOMI_QP_DELETE, &req, sizeof(req), -1, NULL, 0, NULL, NULL);
	aisio_nvme_qpair_remote_free(qp);
}

static int is_tcp(const struct aisio_queue *q)
{
	return ((const struct homi_dev *)q->dev->priv)->mode == HOMI_MODE_TCP;
}

static struct aisio_io *homi_get_io(struct aisio_queue *q)
{
	if (is_tcp(q))
		return aisio_tcp_queue_get_io((struct aisio_tcp_queue *)q);
	return aisio_nvme_qpair_get_io(aisio_nvme_qpair_of(q));
}

static void homi_put_io(struct aisio_queue *q, struct aisio_io *io)
{
	if (is_tcp(q))
		aisio_tcp_queue_put_io((struct aisio_tcp_queue *)q, io);
	else
		aisio_nvme_qpair_put_io(aisio_nvme_qpair_of(q), io);
}

static int homi_submit(struct aisio_queue *q)
{
	if (is_tcp(q))
		return aisio_tcp_queue_submit((struct aisio_tcp_queue *)q);
	return aisio_nvme_qpair_submit(aisio_nvme_qpair_of(q));
}

static int homi_reap(struct aisio_queue *q, uint32_t max)
{
	struct homi_dev *hd = q->dev->priv;
	int n;

	if (hd->mode == HOMI_MODE_TCP) /* waits briefly for the socket, as nvme+tcp:// does */
		return aisio_tcp_queue_reap((struct aisio_tcp_queue *)q, max, 10);
	n = aisio_nvme_qpair_reap(aisio_nvme_qpair_of(q), max);

	if (n || hd->mode == HOMI_MODE_VF || ++hd->idle_reaps < HOMI_IDLE_CHECK)
		return n;
	hd->idle_reaps = 0;
	{
		struct pollfd p = { .fd = aisio_homi_conn_fd(hd->conn), .events = POLLIN };

		/* replies come only to requests: a readable socket between them means hang-up */
		if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
			return aisio_err(-ENOTCONN, "%s: homid went away; commands in flight are lost "
					 "(reopen the device once homid is back)", q->dev->uri);
	}
	return 0;
}

static uint32_t homi_outstanding(const struct aisio_queue *q)
{
	if (is_tcp(q))
		return aisio_tcp_queue_outstanding((const struct aisio_tcp_queue *)q);
	return aisio_nvme_qpair_outstanding((const struct aisio_nvme_qpair *)q);
}

int aisio_homi_session_of(struct aisio_dev *dev, struct aisio_homi_session *out)
{
	struct homi_dev *hd;

	if (!dev || dev->ops != &aisio_be_homi || !dev->priv)
		return aisio_err(-EINVAL, "%s: not a device opened through homid (homi:)", dev ? dev->uri : "?");
	hd = dev->priv;
	out->conn = hd->conn;
	out->db = hd->db;
	out->db_len = hd->db_len;
	out->att = &hd->att;
	return 0;
}

const struct aisio_backend_ops aisio_be_homi = {
	.name = "homi",
	.open = homi_open,
	.close = homi_close,
	.admin = homi_admin,
	.buf_alloc = homi_buf_alloc,
	.buf_free = homi_buf_free,
	.queue_init = homi_queue_init,
	.queue_term = homi_queue_term,
	.get_io = homi_get_io,
	.put_io = homi_put_io,
	.submit = homi_submit,
	.reap = homi_reap,
	.outstanding = homi_outstanding,
};

struct aisio_homi_conn *aisio_homi_dev_conn(struct aisio_dev *dev)
{
	return dev && dev->ops == &aisio_be_homi && dev->priv ? ((struct homi_dev *)dev->priv)->conn
							      : NULL;
}

struct aisio_nvme_ctrl *aisio_homi_ctrl(struct aisio_dev *dev)
{
	if (!dev || dev->ops != &aisio_be_homi || !dev->priv)
		return NULL;
	return ((struct homi_dev *)dev->priv)->ctrl;
}

int aisio_homi_vf(struct aisio_dev *dev)
{
	if (!dev || dev->ops != &aisio_be_homi || !dev->priv)
		return 0;
	return ((struct homi_dev *)dev->priv)->mode == HOMI_MODE_VF;
}
