/* SPDX-License-Identifier: MIT */
/*
 * One NVMe/TCP queue: commands in flight on one non-blocking socket (epoll),
 * the API's get/put/submit/reap on command slots, per-command timeouts, and
 * the connection's life. Sending is tx.c, receiving rx.c. A PDU that is
 * wrong ends the connection with an error for every command in flight, and
 * the queue reconnects (fabrics.c) within the controller-loss timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "tcp/queue_int.h"
#include "util/err.h"

void aisio_tcp_complete(struct aisio_tcp_queue *tq, struct tcp_slot *s, int status, uint64_t result)
{
	uint16_t idx = (uint16_t)(s - tq->slots);

	if (s->state == SLOT_INFLIGHT)
		tq->inflight--;
	s->io.status = status;
	s->io.result = (uint32_t)result;
	s->io.be_data = result >> 32; /* CQE dw1: the high half of an 8-byte property */
	s->state = SLOT_DONE;
	if (idx < tq->nslots)
		tq->done[(tq->done_head + tq->ndone++) % tq->nslots] = idx;
}

/* done[] is a ring of nslots entries: every slot is in it at most once. */
static uint16_t done_pop(struct aisio_tcp_queue *tq)
{
	uint16_t idx = tq->done[tq->done_head];

	tq->done_head = (tq->done_head + 1) % tq->nslots;
	tq->ndone--;
	return idx;
}

static void close_conn(struct aisio_tcp_queue *tq)
{
	if (tq->fd >= 0)
		close(tq->fd);
	tq->fd = -1;
	tq->tx_head = tq->tx_tail = 0;
	tq->tx_sent = 0;
	tq->rx_state = RX_CH;
	tq->rx_have = 0;
	tq->rx_pos = tq->rx_len = 0;
}

void aisio_tcp_queue_fail(struct aisio_tcp_queue *tq, int status)
{
	uint64_t now = aisio_tcp_now_ms();

	close_conn(tq);
	if (tq->state == TCP_Q_UP) {
		tq->state = TCP_Q_DOWN;
		tq->down_since_ms = now;
		tq->next_try_ms = now;
	}
	for (uint32_t i = 0; i <= tq->nslots; i++)
		if (tq->slots[i].state == SLOT_INFLIGHT)
			aisio_tcp_complete(tq, &tq->slots[i], status, 0);
}

/* ---- timeouts and progress ----------------------------------------------- */

static int check_timeouts(struct aisio_tcp_queue *tq)
{
	uint64_t now = aisio_tcp_now_ms();
	int expired = 0;

	for (uint32_t i = 0; i <= tq->nslots; i++) {
		struct tcp_slot *s = &tq->slots[i];

		if (s->state == SLOT_INFLIGHT && now >= s->deadline_ms) {
			aisio_err(-ETIMEDOUT, "%s: qid %u cid %u (%s) timed out after %u ms", tq->ctrl->name,
				  tq->qid, i, aisio_nvme_opc_str(s->io.cmd.opc, !tq->qid), tq->ctrl->u.timeout_ms);
			aisio_tcp_complete(tq, s, -ETIMEDOUT, 0);
			expired++;
		}
	}
	/* The target may still answer a command given up on: start over on a new connection. */
	if (expired)
		aisio_tcp_queue_fail(tq, -ECONNABORTED);
	return expired;
}

/* Send and receive what can be without waiting. */
static void progress(struct aisio_tcp_queue *tq)
{
	int err;

	if (tq->state != TCP_Q_UP)
		return;
	err = aisio_tcp_tx_flush(tq);
	if (!err)
		err = aisio_tcp_rx_process(tq);
	if (!err)
		err = aisio_tcp_tx_flush(tq); /* H2CData answering R2Ts just read */
	if (err)
		aisio_tcp_queue_fail(tq, err);
}

static void wait_socket(struct aisio_tcp_queue *tq, int wait_ms)
{
	struct epoll_event ev;

	if (tq->state == TCP_Q_UP && wait_ms > 0)
		epoll_wait(tq->epfd, &ev, 1, wait_ms);
}

/* I/O queues: back on the controller's current association, or try to be. */
static void maybe_reconnect(struct aisio_tcp_queue *tq)
{
	struct aisio_tcp_ctrl *c = tq->ctrl;
	uint64_t now;
	int err;

	if (!tq->qid)
		return;
	if (tq->state == TCP_Q_UP && tq->gen != aisio_tcp_ctrl_gen(c)) {
		/* the association was replaced (reset, or lost and rebuilt) */
		aisio_tcp_queue_fail(tq, -ECANCELED);
	}
	if (tq->state != TCP_Q_DOWN)
		return;
	if (c->no_reconnect) {
		tq->state = TCP_Q_DEAD;
		return;
	}
	now = aisio_tcp_now_ms();
	if (now < tq->next_try_ms)
		return;
	pthread_mutex_lock(&c->admin_lock);
	err = aisio_tcp_ctrl_reconnect(c, tq->gen);
	if (!err)
		err = aisio_tcp_queue_connect(tq);
	pthread_mutex_unlock(&c->admin_lock);
	if (!err)
		return;
	if (err == -ENODEV || __atomic_load_n(&c->lost, __ATOMIC_ACQUIRE)) {
		tq->state = TCP_Q_DEAD;
		return;
	}
	tq->next_try_ms = aisio_tcp_now_ms() + c->u.reconnect_delay_ms;
}

/* ---- the API's queue operations ----------------------------------------- */

struct aisio_io *aisio_tcp_queue_get_io(struct aisio_tcp_queue *tq)
{
	struct tcp_slot *s;
	uint16_t idx;

	if (!tq->nfree)
		return NULL;
	idx = tq->free[--tq->nfree];
	s = &tq->slots[idx];
	s->state = SLOT_TAKEN;
	tq->prep[tq->nprep++] = idx;
	s->io.status = 0;
	s->io.result = 0;
	return &s->io;
}

void aisio_tcp_queue_put_io(struct aisio_tcp_queue *tq, struct aisio_io *io)
{
	uint16_t idx = io->cid;

	for (uint32_t i = 0; i < tq->nprep; i++) {
		if (tq->prep[i] == idx) {
			memmove(tq->prep + i, tq->prep + i + 1, (tq->nprep - i - 1) * sizeof(*tq->prep));
			tq->nprep--;
			tq->slots[idx].state = SLOT_FREE;
			tq->free[tq->nfree++] = idx;
			return;
		}
	}
}

int aisio_tcp_queue_submit(struct aisio_tcp_queue *tq)
{
	uint32_t n = tq->nprep;

	maybe_reconnect(tq);
	for (uint32_t i = 0; i < n; i++) {
		struct tcp_slot *s = &tq->slots[tq->prep[i]];
		int err;

		if (tq->state == TCP_Q_UP) {
			err = aisio_tcp_issue(tq, s, tq->ctrl->u.timeout_ms);
		} else if (tq->state == TCP_Q_DOWN) {
			err = aisio_err(-ENOTCONN, "%s: qid %u: not connected to the target (reconnecting for "
					"up to %u s)", tq->ctrl->name, tq->qid, tq->ctrl->u.ctrl_loss_tmo_s);
		} else if (tq->ctrl->no_reconnect) {
			err = aisio_err(-ENOTCONN, "%s: qid %u: the connection homid handed over is gone "
					"(the target or homid closed it); reopen the device", tq->ctrl->name,
					tq->qid);
		} else {
			err = aisio_err(-ENODEV, "%s: qid %u: controller lost: the target was unreachable "
					"for the controller-loss timeout (%u s)", tq->ctrl->name, tq->qid,
					tq->ctrl->u.ctrl_loss_tmo_s);
		}
		if (err)
			aisio_tcp_complete(tq, s, err, 0);
	}
	tq->nprep = 0;
	progress(tq);
	return (int)n;
}

int aisio_tcp_queue_reap(struct aisio_tcp_queue *tq, uint32_t max, int wait_ms)
{
	uint32_t n = 0, avail;

	maybe_reconnect(tq);
	progress(tq);
	if (!tq->ndone && tq->inflight) {
		wait_socket(tq, wait_ms);
		progress(tq);
	}
	if (tq->inflight)
		check_timeouts(tq);
	/* callbacks may submit again; run only what was done before they started */
	avail = tq->ndone;
	if (max && avail > max)
		avail = max;
	while (n < avail) {
		struct tcp_slot *s = &tq->slots[done_pop(tq)];

		s->state = SLOT_FREE;
		tq->free[tq->nfree++] = (uint16_t)(s - tq->slots);
		n++;
		if (s->io.cb)
			s->io.cb(&s->io, s->io.cb_arg);
	}
	return (int)n;
}

uint32_t aisio_tcp_queue_outstanding(const struct aisio_tcp_queue *tq)
{
	return tq->inflight + tq->ndone;
}

int aisio_tcp_queue_sync(struct aisio_tcp_queue *tq, const struct aisio_nvme_sqe *cmd, void *buf,
			 size_t len, uint64_t *result, uint32_t timeout_ms)
{
	struct tcp_slot *s = &tq->slots[tq->nslots]; /* reserved for this */
	int err;

	if (s->state != SLOT_FREE)
		return aisio_err(-EBUSY, "%s: qid %u: a synchronous command is already running",
				 tq->ctrl->name, tq->qid);
	if (tq->state != TCP_Q_UP)
		return aisio_err(-ENOTCONN, "%s: qid %u: not connected to the target", tq->ctrl->name, tq->qid);
	memset(&s->io, 0, sizeof(s->io));
	s->io.cmd = *cmd;
	s->io.buf = buf;
	s->io.len = len;
	s->io.q = &tq->q;
	s->io.cid = (uint16_t)tq->nslots;
	err = aisio_tcp_issue(tq, s, timeout_ms);
	if (err)
		return err;
	progress(tq);
	while (s->state == SLOT_INFLIGHT) {
		wait_socket(tq, 50);
		progress(tq);
		if (s->state == SLOT_INFLIGHT)
			check_timeouts(tq);
	}
	s->state = SLOT_FREE;
	if (result)
		*result = s->io.result | s->io.be_data << 32;
	return s->io.status;
}

/* ---- life ---------------------------------------------------------------- */

int aisio_tcp_queue_connect(struct aisio_tcp_queue *tq)
{
	struct aisio_tcp_ctrl *c = tq->ctrl;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	uint64_t retry_until = 0;
	int fd, err;

again:
	close_conn(tq);
	fd = aisio_tcp_sock_connect(&c->u, aisio_tcp_now_ms() + c->u.timeout_ms, &tq->p);
	if (fd < 0)
		return fd;
	tq->p.max_c2h = c->max_xfer ? c->max_xfer : 4u << 20;
	if (tq->p.max_c2h < 8192)
		tq->p.max_c2h = 8192;
	ev.data.ptr = tq;
	if (epoll_ctl(tq->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = aisio_err(-errno, "%s: epoll_ctl: %s", c->name, strerror(errno));
		close(fd);
		return err;
	}
	tq->fd = fd;
	tq->state = TCP_Q_UP;
	tq->gen = aisio_tcp_ctrl_gen(c);
	tq->icd_max = tq->qid ? c->io_icd_max : 8192;
	err = aisio_tcp_fabrics_connect(c, tq, tq->nslots + 1);
	if (err == AISIO_NVME_SC_CMD_SEQ_ERROR && tq->qid && !retry_until)
		retry_until = aisio_tcp_now_ms() + 2000;
	if (err == AISIO_NVME_SC_CMD_SEQ_ERROR && tq->qid && aisio_tcp_now_ms() < retry_until) {
		/* the target still tears down an earlier queue with this ID */
		close_conn(tq);
		tq->state = TCP_Q_DOWN;
		usleep(20000);
		goto again;
	}
	if (err) {
		int st = err;

		close_conn(tq);
		tq->state = TCP_Q_DOWN;
		/* fabrics_connect's message says which status and why */
		return st > 0 ? -ECONNREFUSED : err;
	}
	return 0;
}

static int queue_alloc(struct aisio_tcp_ctrl *c, uint16_t qid, uint32_t depth,
		       struct aisio_tcp_queue **out)
{
	struct aisio_tcp_queue *tq;
	uint32_t n = depth - 1;
	int err;

	*out = NULL;
	tq = calloc(1, sizeof(*tq));
	if (!tq)
		return aisio_err(-ENOMEM, "out of memory");
	tq->ctrl = c;
	tq->qid = qid;
	tq->nslots = n;
	tq->fd = -1;
	tq->q.depth = n;
	tq->tx_cap = 2 * (n + 1);
	tq->slots = calloc(n + 1, sizeof(*tq->slots));
	tq->free = calloc(n, sizeof(*tq->free));
	tq->prep = calloc(n, sizeof(*tq->prep));
	tq->done = calloc(n, sizeof(*tq->done));
	tq->txq = calloc(tq->tx_cap, sizeof(*tq->txq));
	tq->rx_buf = malloc(RX_STAGING);
	tq->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!tq->slots || !tq->free || !tq->prep || !tq->done || !tq->txq || !tq->rx_buf || tq->epfd < 0) {
		err = aisio_err(-ENOMEM, "out of memory for a queue of %u entries", depth);
		goto err_free;
	}
	for (uint32_t i = 0; i <= n; i++) {
		tq->slots[i].io.q = &tq->q;
		tq->slots[i].io.cid = (uint16_t)i;
	}
	for (uint32_t i = 0; i < n; i++)
		tq->free[tq->nfree++] = (uint16_t)(n - 1 - i);
	tq->state = TCP_Q_DOWN;
	*out = tq;
	return 0;

err_free:
	aisio_tcp_queue_destroy(tq);
	return err;
}

int aisio_tcp_queue_create(struct aisio_tcp_ctrl *c, uint16_t qid, uint32_t depth,
			   struct aisio_tcp_queue **out)
{
	struct aisio_tcp_queue *tq;
	int err = queue_alloc(c, qid, depth, &tq);

	*out = NULL;
	if (err)
		return err;
	err = aisio_tcp_queue_connect(tq);
	if (err) {
		aisio_tcp_queue_destroy(tq);
		return err;
	}
	*out = tq;
	return 0;
}

int aisio_tcp_queue_adopt(struct aisio_tcp_ctrl *c, uint16_t qid, uint32_t depth, int fd,
			  const struct aisio_tcp_params *p, struct aisio_tcp_queue **out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET };
	struct aisio_tcp_queue *tq;
	int err = queue_alloc(c, qid, depth, &tq), fl;

	*out = NULL;
	if (err)
		return err;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		err = aisio_err(-errno, "%s: qid %u: the socket homid handed over: %s", c->name, qid,
				strerror(errno));
		aisio_tcp_queue_destroy(tq);
		return err;
	}
	ev.data.ptr = tq;
	if (epoll_ctl(tq->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = aisio_err(-errno, "%s: epoll_ctl: %s", c->name, strerror(errno));
		aisio_tcp_queue_destroy(tq);
		return err;
	}
	tq->p = *p;
	tq->p.max_c2h = c->max_xfer ? c->max_xfer : 4u << 20;
	if (tq->p.max_c2h < 8192)
		tq->p.max_c2h = 8192;
	tq->fd = fd;
	tq->state = TCP_Q_UP;
	tq->gen = aisio_tcp_ctrl_gen(c);
	tq->icd_max = c->io_icd_max;
	*out = tq;
	return 0;
}

int aisio_tcp_queue_release_fd(struct aisio_tcp_queue *tq)
{
	int fd = tq->fd;

	tq->fd = -1; /* destroy closes nothing now; its epoll set goes, the socket stays */
	tq->state = TCP_Q_DEAD;
	aisio_tcp_queue_destroy(tq);
	return fd;
}

void aisio_tcp_queue_destroy(struct aisio_tcp_queue *tq)
{
	if (!tq)
		return;
	aisio_tcp_queue_fail(tq, -ECANCELED);
	tq->state = TCP_Q_DEAD;
	if (tq->epfd >= 0)
		close(tq->epfd);
	free(tq->slots);
	free(tq->free);
	free(tq->prep);
	free(tq->done);
	free(tq->txq);
	free(tq->rx_buf);
	free(tq);
}
