/* SPDX-License-Identifier: MIT */
/*
 * The nvme+tcp:// backend: a remote NVMe controller over NVMe/TCP (tcp.h),
 * one TCP connection per queue, behind the one API.
 *
 *   nvme+tcp://HOST[:PORT]/SUBNQN[,hostnqn=NQN][,nr_io_queues=N][,nsid=N]
 *             [,timeout_ms=N][,kato_ms=N][,ctrl_loss_tmo=S][,reconnect_delay_ms=N]
 *             [,hdgst=0|1][,ddgst=0|1]
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvme/cmd.h"
#include "tcp/tcp.h"
#include "util/err.h"

struct tcp_dev {
	struct aisio_tcp_ctrl *ctrl;
	uint8_t *qid_used; /* [1..nr_io_queues] */
	uint32_t next_qid; /* where the round robin resumes, 0's based */
};

static int pick_nsid(struct aisio_dev *dev, struct tcp_dev *td, uint32_t want, uint32_t *nsid)
{
	struct aisio_nvme_ns_list *list;
	struct aisio_nvme_sqe cmd;
	int st;

	list = calloc(1, sizeof(*list));
	if (!list)
		return aisio_err(-ENOMEM, "out of memory");
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0, 0);
	st = aisio_tcp_ctrl_admin(td->ctrl, &cmd, list, sizeof(*list), NULL);
	if (st) {
		if (st > 0)
			st = aisio_err(-EIO, "%s: Identify (active namespaces) failed: %s", dev->uri,
				       aisio_nvme_status_str((uint32_t)st));
		goto out;
	}
	if (!list->nsid[0]) {
		st = aisio_err(-ENODEV, "%s: the subsystem exports no namespace (is one enabled in nvmet?)",
			       dev->uri);
		goto out;
	}
	*nsid = list->nsid[0];
	if (want) {
		st = aisio_err(-ENODEV, "%s: namespace %u is not active on the target", dev->uri, want);
		for (int i = 0; i < 1024 && list->nsid[i]; i++)
			if (list->nsid[i] == want) {
				*nsid = want;
				st = 0;
			}
	}
out:
	free(list);
	return st;
}

static int fill_geo(struct aisio_dev *dev, struct tcp_dev *td, uint32_t nsid)
{
	struct aisio_tcp_ctrl *c = td->ctrl;
	struct aisio_nvme_id_ns *id;
	struct aisio_nvme_sqe cmd;
	uint32_t lbads;
	int st;

	id = calloc(1, sizeof(*id));
	if (!id)
		return aisio_err(-ENOMEM, "out of memory");
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS, nsid, 0);
	st = aisio_tcp_ctrl_admin(c, &cmd, id, sizeof(*id), NULL);
	if (st) {
		if (st > 0)
			st = aisio_err(-EIO, "%s: Identify Namespace %u failed: %s", dev->uri, nsid,
				       aisio_nvme_status_str((uint32_t)st));
		goto out;
	}
	lbads = id->lbaf[aisio_nvme_id_ns_flbas_index(id)].lbads;
	if (lbads < 9 || lbads > 16 || !id->nsze) {
		st = aisio_err(-ENODEV, "%s: namespace %u reports LBA size 2^%u and %llu LBAs; cannot use it",
			       dev->uri, nsid, lbads, (unsigned long long)id->nsze);
		goto out;
	}
	dev->geo.nsid = nsid;
	dev->geo.lba_size = 1u << lbads;
	dev->geo.nlbas = id->nsze;
	dev->geo.max_xfer = c->max_xfer;
	dev->geo.max_queues = c->nr_io_queues;
	dev->geo.max_qdepth = c->max_qdepth;
	dev->geo.buf_align = 4096;
	dev->geo.sgl = aisio_nvme_sgls_supported(aisio_le32_to_cpu(c->id.sgls)) ? 1 : 0;
	dev->geo.backend = "tcp";
out:
	free(id);
	return st;
}

static int tcp_open(struct aisio_dev *dev, const char *uri, const struct aisio_open_opts *opts)
{
	struct aisio_tcp_uri u;
	struct tcp_dev *td;
	uint32_t nsid = 0;
	int err;

	err = aisio_tcp_uri_parse(uri, &u);
	if (err)
		return err;
	if (opts->timeout_ms)
		u.timeout_ms = opts->timeout_ms;
	if (opts->nsid)
		u.nsid = opts->nsid;
	td = calloc(1, sizeof(*td));
	if (!td)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_tcp_ctrl_init(dev->uri, &u, &td->ctrl);
	if (err)
		goto err_free;
	td->qid_used = calloc(td->ctrl->nr_io_queues + 1, 1);
	if (!td->qid_used) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto err_term;
	}
	err = pick_nsid(dev, td, u.nsid, &nsid);
	if (!err)
		err = fill_geo(dev, td, nsid);
	if (err)
		goto err_term;
	dev->priv = td;
	return 0;

err_term:
	aisio_tcp_ctrl_term(td->ctrl);
err_free:
	free(td->qid_used);
	free(td);
	return err;
}

static void tcp_close(struct aisio_dev *dev)
{
	struct tcp_dev *td = dev->priv;

	if (!td)
		return;
	aisio_tcp_ctrl_term(td->ctrl);
	free(td->qid_used);
	free(td);
	dev->priv = NULL;
}

static int tcp_admin(struct aisio_dev *dev, struct aisio_nvme_sqe *cmd, void *buf, size_t len,
		     uint32_t *result)
{
	struct tcp_dev *td = dev->priv;

	if (len && !buf)
		return aisio_err(-EINVAL, "%s: admin command with length %zu but no buffer", dev->uri, len);
	if (len > (4u << 20))
		return aisio_err(-EINVAL, "%s: admin transfer of %zu bytes (at most 4 MiB)", dev->uri, len);
	return aisio_tcp_ctrl_admin(td->ctrl, cmd, buf, len, result);
}

static int tcp_reset(struct aisio_dev *dev)
{
	struct tcp_dev *td = dev->priv;
	struct aisio_tcp_ctrl *c = td->ctrl;
	int err;

	pthread_mutex_lock(&c->admin_lock);
	err = aisio_tcp_ctrl_reconnect(c, c->gen);
	pthread_mutex_unlock(&c->admin_lock);
	return err;
}

static void *tcp_buf_alloc(struct aisio_dev *dev, size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len ? len : 1)) {
		aisio_err(-ENOMEM, "%s: out of memory for a %zu-byte buffer", dev->uri, len);
		return NULL;
	}
	return p;
}

static void tcp_buf_free(struct aisio_dev *dev, void *buf)
{
	(void)dev;
	free(buf);
}

static int tcp_queue_init(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **out)
{
	struct tcp_dev *td = dev->priv;
	struct aisio_tcp_queue *tq;
	uint16_t qid = 0;
	int err;

	/* round robin: the target frees a closed queue's ID asynchronously */
	for (uint32_t i = 0; i < td->ctrl->nr_io_queues && !qid; i++) {
		uint32_t cand = (td->next_qid + i) % td->ctrl->nr_io_queues + 1;

		if (!td->qid_used[cand])
			qid = (uint16_t)cand;
	}
	if (!qid)
		return aisio_err(-EBUSY, "%s: all %u I/O queues are in use (nr_io_queues= asks for more)",
				 dev->uri, td->ctrl->nr_io_queues);
	err = aisio_tcp_queue_create(td->ctrl, qid, depth, &tq);
	if (err)
		return err;
	tq->q.dev = dev;
	td->qid_used[qid] = 1;
	td->next_qid = qid % td->ctrl->nr_io_queues;
	*out = &tq->q;
	return 0;
}

static void tcp_queue_term(struct aisio_queue *q)
{
	struct aisio_tcp_queue *tq = (struct aisio_tcp_queue *)q;
	struct tcp_dev *td = q->dev->priv;

	td->qid_used[tq->qid] = 0;
	aisio_tcp_queue_destroy(tq);
}

static struct aisio_io *tcp_get_io(struct aisio_queue *q)
{
	return aisio_tcp_queue_get_io((struct aisio_tcp_queue *)q);
}

static void tcp_put_io(struct aisio_queue *q, struct aisio_io *io)
{
	aisio_tcp_queue_put_io((struct aisio_tcp_queue *)q, io);
}

static int tcp_submit(struct aisio_queue *q)
{
	return aisio_tcp_queue_submit((struct aisio_tcp_queue *)q);
}

/* Waits briefly for the socket when nothing is ready, instead of spinning. */
static int tcp_reap(struct aisio_queue *q, uint32_t max)
{
	return aisio_tcp_queue_reap((struct aisio_tcp_queue *)q, max, 10);
}

static uint32_t tcp_outstanding(const struct aisio_queue *q)
{
	return aisio_tcp_queue_outstanding((const struct aisio_tcp_queue *)q);
}

const struct aisio_backend_ops aisio_be_tcp = {
	.name = "tcp",
	.open = tcp_open,
	.close = tcp_close,
	.admin = tcp_admin,
	.reset = tcp_reset,
	.buf_alloc = tcp_buf_alloc,
	.buf_free = tcp_buf_free,
	.queue_init = tcp_queue_init,
	.queue_term = tcp_queue_term,
	.get_io = tcp_get_io,
	.put_io = tcp_put_io,
	.submit = tcp_submit,
	.reap = tcp_reap,
	.outstanding = tcp_outstanding,
};
