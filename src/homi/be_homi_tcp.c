/* SPDX-License-Identifier: MIT */
/*
 * Direct queues on a remote controller homid owns over NVMe/TCP. homid holds
 * the association (admin queue, Keep Alive); for each queue it connects a
 * TCP connection, exchanges ICReq/ICResp, sends Fabrics Connect with the
 * controller's CNTLID and hands the connected socket over by SCM_RIGHTS
 * (TCP_QUEUE). This process then drives it with src/tcp's queue code, as
 * the nvme+tcp:// backend would. A connection that fails is not reconnected
 * here (only homid can connect to the association): its commands fail with
 * a message that says to reopen the device.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "homi/be_homi_tcp.h"
#include "tcp/tcp.h"
#include "util/err.h"

int aisio_homi_tcp_setup(struct aisio_dev *dev, const struct aisio_homi_attach_reply *att,
			 struct aisio_tcp_ctrl **out)
{
	struct aisio_tcp_ctrl *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return aisio_err(-ENOMEM, "out of memory");
	c->name = dev->uri;
	c->u.timeout_ms = att->ctrl.timeout_ms ? att->ctrl.timeout_ms : 30000;
	c->max_xfer = att->ctrl.max_xfer;
	c->max_qdepth = att->ctrl.max_qdepth;
	c->nr_io_queues = att->ctrl.nqueues;
	c->gen = 1;
	c->no_reconnect = 1;
	pthread_mutex_init(&c->admin_lock, NULL);
	*out = c;
	return 0;
}

void aisio_homi_tcp_teardown(struct aisio_tcp_ctrl *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->admin_lock);
	free(c);
}

int aisio_homi_tcp_queue_init(struct aisio_dev *dev, struct aisio_homi_conn *conn,
			      struct aisio_tcp_ctrl *c, uint32_t depth, struct aisio_queue **out)
{
	struct aisio_homi_tcp_queue req = { .depth = depth };
	struct aisio_homi_tcp_queue_reply rep;
	struct aisio_tcp_params p = { 0 };
	struct aisio_tcp_queue *tq;
	int err, fd = -1;

	err = aisio_homi_call(conn, AISIO_HOMI_TCP_QUEUE, &req, sizeof(req), -1, &rep, sizeof(rep), NULL,
			      &fd);
	if (err)
		return err;
	if (fd < 0 || !rep.qid || rep.depth != depth) {
		if (fd >= 0)
			close(fd);
		return aisio_err(-EPROTO, "%s: homid's TCP_QUEUE reply lacks the connection or a sane "
				 "queue", dev->uri);
	}
	p.hdgst = rep.hdgst;
	p.ddgst = rep.ddgst;
	p.cpda = rep.cpda;
	p.maxh2cdata = rep.maxh2cdata;
	c->io_icd_max = rep.icd_max;
	c->cntlid = rep.cntlid;
	err = aisio_tcp_queue_adopt(c, rep.qid, depth, fd, &p, &tq);
	if (err) {
		struct aisio_homi_qp_delete d = { .qid = rep.qid };

		close(fd);
		aisio_homi_call(conn, AISIO_HOMI_QP_DELETE, &d, sizeof(d), -1, NULL, 0, NULL, NULL);
		return err;
	}
	tq->q.dev = dev;
	*out = &tq->q;
	return 0;
}

void aisio_homi_tcp_queue_term(struct aisio_homi_conn *conn, struct aisio_queue *q)
{
	struct aisio_tcp_queue *tq = (struct aisio_tcp_queue *)q;
	struct aisio_homi_qp_delete d = { .qid = tq->qid };

	aisio_tcp_queue_destroy(tq); /* commands in flight are cancelled; the connection closes */
	aisio_homi_call(conn, AISIO_HOMI_QP_DELETE, &d, sizeof(d), -1, NULL, 0, NULL, NULL);
}
