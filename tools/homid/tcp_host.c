/* SPDX-License-Identifier: MIT */
/*
 * A remote controller owned by homid over NVMe/TCP (nvme+tcp://HOST[:PORT]/
 * SUBNQN[,...], src/tcp). homid holds the association: the admin queue (and
 * its Keep Alive) and a pool of I/O queue IDs. Each mediated client queue is
 * one Fabrics I/O queue of homid's, a TCP connection of its own that the
 * mediator drives; the data moves between the socket and the client's
 * registered memory in homid, so a client queue needs no device mapping.
 * A direct client gets a Fabrics I/O queue connection of its own: homid
 * connects it (ICReq, Connect with the controller's CNTLID) and hands the
 * socket over (TCP_QUEUE); it keeps a duplicate to shut the connection down
 * when the client goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "homid.h"
#include "nvme/cmd.h"
#include "tcp/tcp.h"
#include "util/err.h"

/* I/O queues homid asks for when the spec does not say (one per mediated client queue). */
#define HOMID_TCP_DEF_QUEUES 16

struct homid_tcp {
	char *uri;		   /* the spec; the initiator's messages name it */
	struct aisio_tcp_ctrl *c;
	uint8_t *qid_used;	   /* [1..nr_io_queues] */
	uint32_t nused;
	uint32_t next_qid;	   /* round robin: the target frees a closed queue's ID late */
};

static int tcp_learn_ns(struct homid_ctrl *hc)
{
	struct aisio_tcp_ctrl *c = hc->tcp->c;
	struct aisio_nvme_ns_list *list;
	struct aisio_nvme_id_ns *id;
	struct aisio_nvme_sqe cmd;
	uint32_t n = 0;
	int st;

	list = calloc(1, sizeof(*list));
	id = calloc(1, sizeof(*id));
	if (!list || !id) {
		st = aisio_err(-ENOMEM, "out of memory");
		goto out;
	}
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0, 0);
	st = aisio_tcp_ctrl_admin(c, &cmd, list, sizeof(*list), NULL);
	if (st > 0)
		st = aisio_err(-EIO, "%s: Identify (active namespaces) failed: %s", hc->tcp->uri,
			       aisio_nvme_status_str((uint32_t)st));
	if (st)
		goto out;
	while (n < 1024 && list->nsid[n])
		n++;
	hc->ns = calloc(n ? n : 1, sizeof(*hc->ns));
	if (!hc->ns) {
		st = aisio_err(-ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t lbads;

		aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS, list->nsid[i], 0);
		st = aisio_tcp_ctrl_admin(c, &cmd, id, sizeof(*id), NULL);
		if (st > 0)
			st = aisio_err(-EIO, "%s: Identify Namespace %u failed: %s", hc->tcp->uri,
				       list->nsid[i], aisio_nvme_status_str((uint32_t)st));
		if (st)
			goto out;
		lbads = id->lbaf[aisio_nvme_id_ns_flbas_index(id)].lbads;
		if (lbads < 9 || lbads > 16 || !id->nsze)
			continue;
		hc->ns[hc->nns].nsid = list->nsid[i];
		hc->ns[hc->nns].lba_shift = lbads;
		hc->ns[hc->nns].nlbas = id->nsze;
		hc->nns++;
	}
	if (!hc->nns)
		st = aisio_err(-ENODEV, "%s: the subsystem exports no usable namespace (is one enabled "
			       "in nvmet?)", hc->tcp->uri);
out:
	free(list);
	free(id);
	return st;
}

int homid_tcp_open(const char *spec, int index, struct homid_ctrl *hc)
{
	struct aisio_tcp_uri u;
	struct homid_tcp *t;
	int err;

	err = aisio_tcp_uri_parse(spec, &u);
	if (err)
		return err;
	if (!strstr(spec, ",nr_io_queues="))
		u.nr_io_queues = HOMID_TCP_DEF_QUEUES;
	t = calloc(1, sizeof(*t));
	if (!t || !(t->uri = strdup(spec))) {
		free(t);
		return aisio_err(-ENOMEM, "out of memory");
	}
	hc->kind = AISIO_HOMI_CTRL_TCP;
	snprintf(hc->name, sizeof(hc->name), "tcp%d", index);
	hc->tcp = t;
	err = aisio_tcp_ctrl_init(t->uri, &u, &t->c);
	if (err)
		goto err_free;
	t->qid_used = calloc(t->c->nr_io_queues + 1, 1);
	if (!t->qid_used) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto err_term;
	}
	err = tcp_learn_ns(hc);
	if (err)
		goto err_term;
	return 0;

err_term:
	aisio_tcp_ctrl_term(t->c);
	free(hc->ns);
	hc->ns = NULL;
	hc->nns = 0;
err_free:
	free(t->qid_used);
	free(t->uri);
	free(t);
	hc->tcp = NULL;
	return err;
}

void homid_tcp_close(struct homid_ctrl *hc)
{
	struct homid_tcp *t = hc->tcp;

	if (!t)
		return;
	if (t->nused)
		LOG_WARN("%s: closing with %u I/O queue(s) still open", hc->name, t->nused);
	aisio_tcp_ctrl_term(t->c); /* a normal shutdown (CC.SHN), then the admin connection closes */
	free(t->qid_used);
	free(t->uri);
	free(t);
	hc->tcp = NULL;
}

void homid_tcp_desc(struct homid_ctrl *hc, struct aisio_homi_ctrl_desc *d)
{
	struct aisio_tcp_ctrl *c = hc->tcp->c;

	d->nqueues = c->nr_io_queues;
	d->qids_used = hc->tcp->nused;
	d->max_qdepth = c->max_qdepth;
	d->max_xfer = c->max_xfer;
	d->page_shift = 12; /* the page size of the PRPs homid resolves; the wire carries none */
	d->dstrd = 0;
	d->sgl = 0;
	d->timeout_ms = c->u.timeout_ms;
	d->direct_ok = 1; /* a direct client gets connections of its own (TCP_QUEUE) */
}

int homid_tcp_identify(struct homid_ctrl *hc, uint32_t cns, uint32_t nsid, void *out)
{
	struct aisio_nvme_sqe cmd;
	int st;

	aisio_nvme_cmd_identify(&cmd, (uint8_t)cns, nsid, 0);
	st = aisio_tcp_ctrl_admin(hc->tcp->c, &cmd, out, 4096, NULL);
	if (st > 0)
		return aisio_err(-EIO, "%s: Identify CNS %u failed: %s", hc->name, cns,
				 aisio_nvme_status_str((uint32_t)st));
	return st;
}

int homid_tcp_queue_create(struct homid_ctrl *hc, uint32_t depth, struct aisio_tcp_queue **out,
			   uint16_t *qid)
{
	struct homid_tcp *t = hc->tcp;
	uint32_t n = t->c->nr_io_queues;
	uint16_t q = 0;
	int err;

	for (uint32_t i = 0; i < n && !q; i++) {
		uint32_t cand = (t->next_qid + i) % n + 1;

		if (!t->qid_used[cand])
			q = (uint16_t)cand;
	}
	if (!q)
		return aisio_err(-EBUSY, "%s: all %u I/O queues of the remote controller are in use "
				 "(give the controller spec nr_io_queues=N for more)", hc->name, n);
	err = aisio_tcp_queue_create(t->c, q, depth, out);
	if (err)
		return err;
	t->qid_used[q] = 1;
	t->nused++;
	t->next_qid = q % n;
	*qid = q;
	return 0;
}

void homid_tcp_qid_put(struct homid_ctrl *hc, uint16_t qid)
{
	struct homid_tcp *t = hc->tcp;

	if (qid && qid <= t->c->nr_io_queues && t->qid_used[qid]) {
		t->qid_used[qid] = 0;
		t->nused--;
	}
}

void homid_tcp_queue_destroy(struct homid_ctrl *hc, struct aisio_tcp_queue *tq)
{
	if (!tq)
		return;
	homid_tcp_qid_put(hc, tq->qid);
	/* the connection closes: the target aborts what was in flight and frees the queue */
	aisio_tcp_queue_destroy(tq);
}

int homid_tcp_queue_handover(struct homid_ctrl *hc, uint32_t depth,
			     struct aisio_homi_tcp_queue_reply *r, int *fd_client, int *fd_keep)
{
	struct aisio_tcp_ctrl *c = hc->tcp->c;
	struct aisio_tcp_queue *tq;
	uint16_t qid;
	int err, fd;

	err = homid_tcp_queue_create(hc, depth, &tq, &qid);
	if (err)
		return err;
	memset(r, 0, sizeof(*r));
	r->qid = qid;
	r->cntlid = c->cntlid;
	r->depth = depth;
	r->maxh2cdata = tq->p.maxh2cdata;
	r->icd_max = tq->icd_max;
	r->max_xfer = c->max_xfer;
	r->cpda = (uint8_t)tq->p.cpda;
	r->hdgst = (uint8_t)tq->p.hdgst;
	r->ddgst = (uint8_t)tq->p.ddgst;
	r->timeout_ms = c->u.timeout_ms;
	fd = aisio_tcp_queue_release_fd(tq); /* Connect is done: nothing of the stream is left here */
	*fd_client = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (*fd_client < 0) {
		err = aisio_err(-errno, "dup of the queue's socket: %s", strerror(errno));
		close(fd);
		homid_tcp_qid_put(hc, qid);
		return err;
	}
	*fd_keep = fd; /* homid's own: shutdown() on it cuts the client off at reclaim */
	return 0;
}
