/* SPDX-License-Identifier: MIT */
/*
 * One NVMe/TCP queue: commands in flight on one non-blocking socket.
 *
 * Send: a FIFO of slots with a PDU ready (a CapsuleCmd, with its data in the
 * capsule for small writes, or one H2CData chunk answering an R2T), written
 * with one sendmsg() for many PDUs. Receive: a state machine (common header,
 * rest of the header, padding, data, data digest) that reads headers through
 * a staging buffer and large data straight into the command's buffer. Every
 * PDU the target sends is checked against the command it names; anything
 * wrong ends the connection with an error for every command in flight, and
 * the queue reconnects (fabrics.c) within the controller-loss timeout.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tcp/tcp.h"
#include "util/crc32c.h"
#include "util/err.h"

enum { SLOT_FREE, SLOT_TAKEN, SLOT_INFLIGHT, SLOT_DONE };
enum { DIR_NONE = 0, DIR_H2C = 1, DIR_C2H = 2 };
enum { RX_CH, RX_HDR, RX_PAD, RX_DATA, RX_DDGST, RX_TERM };

#define RX_STAGING (64 * 1024)
#define TX_IOV_MAX 48

struct tcp_slot {
	struct aisio_io io;
	uint8_t state;
	uint8_t dir;
	uint8_t icd;           /* data went in the capsule */
	uint8_t r2t;           /* an R2T is being answered */
	uint32_t c2h_next;     /* next C2HData offset expected */
	uint32_t h2c_done;     /* data bytes sent by H2CData so far */
	uint32_t h2c_end;      /* end of the R2T being answered */
	uint16_t ttag;
	uint64_t deadline_ms;
	/* the PDU to send */
	uint32_t hdr_len;
	const uint8_t *tx_data;
	uint32_t tx_data_len;
	uint8_t ddgst[4];
	uint8_t hdr[256];
};

static inline struct aisio_tcp_queue *tq_of(struct aisio_queue *q)
{
	return (struct aisio_tcp_queue *)q;
}

static uint32_t slot_tx_len(const struct aisio_tcp_queue *tq, const struct tcp_slot *s)
{
	return s->hdr_len + s->tx_data_len + (s->tx_data_len && tq->p.ddgst ? 4 : 0);
}

static void tx_push(struct aisio_tcp_queue *tq, uint16_t idx)
{
	tq->txq[tq->tx_tail % tq->tx_cap] = idx;
	tq->tx_tail++;
}

/* The command is done: the reserved slot waits for its caller, the others for reap. */
static void complete(struct aisio_tcp_queue *tq, struct tcp_slot *s, int status, uint64_t result)
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
			complete(tq, &tq->slots[i], status, 0);
}

/* ---- send ---------------------------------------------------------------- */

/* Direction of @cmd's data: opcode bits 1:0 (FCTYPE's for fabrics commands). */
static int cmd_dir(const struct aisio_nvme_sqe *cmd)
{
	uint8_t code = cmd->opc == AISIO_NVME_FABRICS_OPC ? (uint8_t)cmd->nsid : cmd->opc;

	return code & 3;
}

/* The next H2CData chunk of the R2T @s is answering. */
static void h2c_next(struct aisio_tcp_queue *tq, struct tcp_slot *s)
{
	uint32_t len = s->h2c_end - s->h2c_done;

	if (len > tq->p.maxh2cdata)
		len = tq->p.maxh2cdata;
	s->hdr_len = (uint32_t)aisio_tcp_pdu_h2c(s->hdr, (uint16_t)(s - tq->slots), s->ttag, s->h2c_done,
						  len, s->h2c_done + len == s->h2c_end, &tq->p);
	s->tx_data = (const uint8_t *)s->io.buf + s->h2c_done;
	s->tx_data_len = len;
	if (tq->p.ddgst) {
		uint32_t d = aisio_cpu_to_le32(aisio_crc32c(s->tx_data, len));
		memcpy(s->ddgst, &d, 4);
	}
	s->h2c_done += len;
	tx_push(tq, (uint16_t)(s - tq->slots));
}

/* A PDU has gone out whole. */
static void on_sent(struct aisio_tcp_queue *tq, struct tcp_slot *s)
{
	if (s->r2t && s->state == SLOT_INFLIGHT) {
		if (s->h2c_done < s->h2c_end)
			h2c_next(tq, s);
		else
			s->r2t = 0;
	}
}

/* Send what the FIFO holds until the socket is full. Returns 0 or -errno (connection gone). */
static int tx_flush(struct aisio_tcp_queue *tq)
{
	struct iovec iov[TX_IOV_MAX];
	struct msghdr msg = { .msg_iov = iov };

	while (tq->tx_head != tq->tx_tail) {
		uint32_t n = 0, skip = tq->tx_sent;
		ssize_t sent;

		for (uint32_t i = tq->tx_head; i != tq->tx_tail && n + 3 <= TX_IOV_MAX; i++) {
			struct tcp_slot *s = &tq->slots[tq->txq[i % tq->tx_cap]];
			struct iovec seg[3] = {
				{ s->hdr, s->hdr_len },
				{ (void *)s->tx_data, s->tx_data_len },
				{ s->ddgst, s->tx_data_len && tq->p.ddgst ? 4 : 0 },
			};

			for (int k = 0; k < 3; k++) {
				if (skip >= seg[k].iov_len) {
					skip -= (uint32_t)seg[k].iov_len;
					continue;
				}
				iov[n].iov_base = (uint8_t *)seg[k].iov_base + skip;
				iov[n].iov_len = seg[k].iov_len - skip;
				skip = 0;
				n++;
			}
		}
		msg.msg_iovlen = n;
		sent = sendmsg(tq->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return aisio_err(-errno, "%s: qid %u: sending to the target: %s", tq->ctrl->name,
					 tq->qid, strerror(errno));
		}
		while (sent > 0 && tq->tx_head != tq->tx_tail) {
			struct tcp_slot *s = &tq->slots[tq->txq[tq->tx_head % tq->tx_cap]];
			uint32_t left = slot_tx_len(tq, s) - tq->tx_sent;

			if ((uint64_t)sent < left) {
				tq->tx_sent += (uint32_t)sent;
				break;
			}
			sent -= left;
			tq->tx_sent = 0;
			tq->tx_head++;
			on_sent(tq, s);
		}
	}
	return 0;
}

/* Queue @s's command for sending. Returns 0 or -errno (the command was not sent). */
static int issue(struct aisio_tcp_queue *tq, struct tcp_slot *s, uint32_t timeout_ms)
{
	struct aisio_io *io = &s->io;
	struct aisio_nvme_sqe sqe = io->cmd;
	uint16_t idx = (uint16_t)(s - tq->slots);
	int dir = cmd_dir(&sqe), connect;
	uint32_t len = (uint32_t)io->len;

	if (io->len && !io->buf)
		return aisio_err(-EINVAL, "%s: command with %zu bytes of data and no buffer", tq->ctrl->name,
				 io->len);
	if (io->len > UINT32_MAX || (tq->qid && tq->ctrl->max_xfer && io->len > tq->ctrl->max_xfer))
		return aisio_err(-EINVAL, "%s: transfer of %zu bytes, more than the %u the controller takes",
				 tq->ctrl->name, io->len, tq->ctrl->max_xfer);
	if (len && dir == 3)
		return aisio_err(-ENOTSUP, "%s: bidirectional command %#x", tq->ctrl->name, sqe.opc);
	if (!len)
		dir = DIR_NONE;
	connect = sqe.opc == AISIO_NVME_FABRICS_OPC && (uint8_t)sqe.nsid == AISIO_NVME_FCTYPE_CONNECT;
	io->cmd.cid = idx;
	sqe.cid = idx;
	sqe.flags = (uint8_t)((sqe.flags & ~AISIO_NVME_PSDT_MASK) | AISIO_NVME_PSDT_SGL_MPTR_CONTIG);
	memset(&sqe.dptr, 0, sizeof(sqe.dptr));
	s->icd = dir == DIR_H2C && (len <= tq->icd_max || connect);
	sqe.dptr.sgl1.length = aisio_cpu_to_le32(len);
	if (s->icd)
		sqe.dptr.sgl1.type = AISIO_NVME_SGL_TYPE(AISIO_NVME_SGL_TYPE_DATA_BLOCK, AISIO_NVME_SGL_SUBTYPE_OFFSET);
	else
		sqe.dptr.sgl1.type = AISIO_NVME_SGL_TYPE(AISIO_NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK,
							 AISIO_NVME_SGL_SUBTYPE_TRANSPORT);
	s->hdr_len = (uint32_t)aisio_tcp_pdu_cmd(s->hdr, &sqe, s->icd ? len : 0, &tq->p);
	s->tx_data = s->icd ? io->buf : NULL;
	s->tx_data_len = s->icd ? len : 0;
	if (s->icd && tq->p.ddgst) {
		uint32_t d = aisio_cpu_to_le32(aisio_crc32c(io->buf, len));
		memcpy(s->ddgst, &d, 4);
	}
	s->dir = (uint8_t)dir;
	s->r2t = 0;
	s->c2h_next = 0;
	s->h2c_done = 0;
	s->h2c_end = 0;
	s->deadline_ms = aisio_tcp_now_ms() + timeout_ms;
	s->state = SLOT_INFLIGHT;
	tq->inflight++;
	tx_push(tq, idx);
	return 0;
}

/* ---- receive ------------------------------------------------------------- */

/*
 * Up to @n bytes into @dst (NULL: discard): from the staging buffer, or
 * straight from the socket for large reads. Returns bytes, -EAGAIN, or
 * -errno (-ECONNRESET: the target closed the connection).
 */
static ssize_t rx_read(struct aisio_tcp_queue *tq, void *dst, uint32_t n)
{
	ssize_t got;

	if (tq->rx_pos == tq->rx_len) {
		tq->rx_pos = tq->rx_len = 0;
		if (dst && n >= 16384) {
			got = recv(tq->fd, dst, n, MSG_DONTWAIT);
			goto out;
		}
		got = recv(tq->fd, tq->rx_buf, RX_STAGING, MSG_DONTWAIT);
		if (got <= 0)
			goto out;
		tq->rx_len = (uint32_t)got;
	}
	got = tq->rx_len - tq->rx_pos;
	if ((uint32_t)got > n)
		got = n;
	if (dst)
		memcpy(dst, tq->rx_buf + tq->rx_pos, (size_t)got);
	tq->rx_pos += (uint32_t)got;
	return got;
out:
	if (got > 0)
		return got;
	if (!got)
		return -ECONNRESET;
	return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
}

static int proto_err(struct aisio_tcp_queue *tq, const char *fmt, uint32_t a, uint32_t b, uint32_t c)
{
	char what[200];

	snprintf(what, sizeof(what), fmt, a, b, c);
	return aisio_err(-EPROTO, "%s: qid %u: %s", tq->ctrl->name, tq->qid, what);
}

/* The in-flight command a PDU names, or NULL (message set). */
static struct tcp_slot *pdu_slot(struct aisio_tcp_queue *tq, uint16_t cid)
{
	if (cid > tq->nslots || tq->slots[cid].state != SLOT_INFLIGHT) {
		aisio_err(-EPROTO, "%s: qid %u: the target sent %s for CID %u, which is not in flight",
			  tq->ctrl->name, tq->qid, aisio_tcp_pdu_type_str(tq->rx_pdu.type), cid);
		return NULL;
	}
	return &tq->slots[cid];
}

/* Put the queue's name in front of the decoder's message ("nvme+tcp: ..."). */
static int requalify(struct aisio_tcp_queue *tq, int err)
{
	char msg[400];
	const char *m = aisio_errmsg();

	if (!strncmp(m, "nvme+tcp: ", 10))
		m += 10;
	snprintf(msg, sizeof(msg), "%s", m);
	return aisio_err(err, "%s: qid %u: %s", tq->ctrl->name, tq->qid, msg);
}

static int on_rsp(struct aisio_tcp_queue *tq)
{
	const struct aisio_nvme_cqe *cqe = &tq->rx_pdu.cqe;
	struct tcp_slot *s = pdu_slot(tq, cqe->cid);
	uint32_t code;

	if (!s)
		return -EPROTO;
	if (s->r2t)
		return proto_err(tq, "CapsuleResp for CID %u while its data is still being sent (%u of %u)",
				 cqe->cid, s->h2c_done, (uint32_t)s->io.len);
	code = aisio_nvme_cqe_code(aisio_le16_to_cpu(cqe->status));
	if (!code && s->dir == DIR_C2H && s->c2h_next != s->io.len)
		return proto_err(tq, "CID %u completed with %u of its %u data bytes", cqe->cid, s->c2h_next,
				 (uint32_t)s->io.len);
	complete(tq, s, (int)code,
		 aisio_le32_to_cpu(cqe->dw0) | (uint64_t)aisio_le32_to_cpu(cqe->dw1) << 32);
	return 0;
}

static int on_r2t(struct aisio_tcp_queue *tq)
{
	const struct aisio_tcp_pdu *p = &tq->rx_pdu;
	struct tcp_slot *s = pdu_slot(tq, p->cccid);

	if (!s)
		return -EPROTO;
	if (s->dir != DIR_H2C || s->icd)
		return aisio_err(-EPROTO, "%s: qid %u: R2T for CID %u, which has %s", tq->ctrl->name,
				 tq->qid, p->cccid, s->icd ? "its data in the capsule" : "no data to send");
	if (s->r2t)
		return proto_err(tq, "R2T for CID %u while an R2T for it is outstanding (MAXR2T is 1)",
				 p->cccid, 0, 0);
	if (p->offset != s->h2c_done || (uint64_t)p->offset + p->length > s->io.len)
		return proto_err(tq, "R2T for bytes %u..+%u of a %u-byte transfer", p->offset, p->length,
				 (uint32_t)s->io.len);
	s->r2t = 1;
	s->ttag = p->ttag;
	s->h2c_end = p->offset + p->length;
	h2c_next(tq, s);
	return 0;
}

/* A whole header is in rx_hdr: decode it and say what follows. */
static int on_header(struct aisio_tcp_queue *tq)
{
	struct aisio_tcp_pdu *p = &tq->rx_pdu;
	struct tcp_slot *s;
	int err;

	err = aisio_tcp_pdu_decode(tq->rx_hdr, tq->rx_have, &tq->p, 0, p);
	if (err)
		return requalify(tq, err);
	switch (p->type) {
	case AISIO_NVME_TCP_RSP:
		tq->rx_state = RX_CH;
		return on_rsp(tq);
	case AISIO_NVME_TCP_R2T:
		tq->rx_state = RX_CH;
		return on_r2t(tq);
	case AISIO_NVME_TCP_C2H_TERM:
		tq->rx_state = RX_TERM;
		tq->rx_need = p->data_len;
		return 0;
	case AISIO_NVME_TCP_C2H_DATA:
		s = pdu_slot(tq, p->cccid);
		if (!s)
			return -EPROTO;
		if (s->dir != DIR_C2H)
			return proto_err(tq, "C2HData for CID %u, which reads no data", p->cccid, 0, 0);
		if (p->offset != s->c2h_next)
			return proto_err(tq, "C2HData for CID %u at offset %u, expected %u", p->cccid,
					 p->offset, s->c2h_next);
		if ((uint64_t)p->offset + p->length > s->io.len)
			return proto_err(tq, "C2HData for CID %u ends at byte %u, past its %u-byte buffer",
					 p->cccid, p->offset + p->length, (uint32_t)s->io.len);
		tq->rx_crc = ~0u;
		tq->rx_need = p->pad;
		tq->rx_state = p->pad ? RX_PAD : RX_DATA;
		if (!p->pad)
			tq->rx_need = p->data_len;
		return 0;
	}
	return proto_err(tq, "unexpected PDU type %#x", p->type, 0, 0);
}

static int on_data_done(struct aisio_tcp_queue *tq)
{
	struct aisio_tcp_pdu *p = &tq->rx_pdu;
	struct tcp_slot *s = &tq->slots[p->cccid];

	s->c2h_next += p->data_len;
	tq->rx_state = RX_CH;
	if (p->flags & AISIO_NVME_TCP_F_DATA_SUCCESS) {
		if (s->c2h_next != s->io.len)
			return proto_err(tq, "C2HData with SUCCESS for CID %u after %u of %u bytes", p->cccid,
					 s->c2h_next, (uint32_t)s->io.len);
		complete(tq, s, 0, 0);
	}
	return 0;
}

/* Read and handle PDUs until the socket is empty. Returns 0 or -errno (message set). */
static int rx_process(struct aisio_tcp_queue *tq)
{
	for (;;) {
		struct aisio_tcp_pdu *p = &tq->rx_pdu;
		ssize_t got = 0;
		int err = 0;

		switch (tq->rx_state) {
		case RX_CH:
		case RX_HDR:
			if (tq->rx_state == RX_CH && tq->rx_have == 0)
				tq->rx_need = 8;
			got = rx_read(tq, tq->rx_hdr + tq->rx_have, tq->rx_need - tq->rx_have);
			if (got < 0)
				break;
			tq->rx_have += (uint32_t)got;
			if (tq->rx_have < tq->rx_need)
				continue;
			if (tq->rx_state == RX_CH) {
				err = aisio_tcp_pdu_hdr_len(tq->rx_hdr, &tq->p, 0, &tq->rx_need);
				if (err)
					return requalify(tq, err);
				tq->rx_state = RX_HDR;
				if (tq->rx_have < tq->rx_need)
					continue;
			}
			err = on_header(tq);
			tq->rx_have = 0;
			if (err)
				return err;
			continue;
		case RX_PAD:
			got = rx_read(tq, NULL, tq->rx_need);
			if (got < 0)
				break;
			tq->rx_need -= (uint32_t)got;
			if (!tq->rx_need) {
				tq->rx_state = RX_DATA;
				tq->rx_need = p->data_len;
			}
			continue;
		case RX_DATA: {
			struct tcp_slot *s = &tq->slots[p->cccid];
			uint8_t *dst = (uint8_t *)s->io.buf + p->offset + (p->data_len - tq->rx_need);

			got = rx_read(tq, dst, tq->rx_need);
			if (got < 0)
				break;
			if (p->ddgst_len)
				tq->rx_crc = aisio_crc32c_update(tq->rx_crc, dst, (size_t)got);
			tq->rx_need -= (uint32_t)got;
			if (tq->rx_need)
				continue;
			if (p->ddgst_len) {
				tq->rx_state = RX_DDGST;
				tq->rx_need = 4;
				tq->rx_have = 0;
				continue;
			}
			err = on_data_done(tq);
			if (err)
				return err;
			continue;
		}
		case RX_DDGST: {
			uint32_t want;

			got = rx_read(tq, tq->rx_hdr + tq->rx_have, tq->rx_need - tq->rx_have);
			if (got < 0)
				break;
			tq->rx_have += (uint32_t)got;
			if (tq->rx_have < 4)
				continue;
			tq->rx_have = 0;
			memcpy(&want, tq->rx_hdr, 4);
			if (aisio_le32_to_cpu(want) != ~tq->rx_crc)
				return aisio_err(-EBADMSG, "%s: qid %u: C2HData for CID %u: data digest %#010x, "
						 "computed %#010x: data corrupted on the way", tq->ctrl->name,
						 tq->qid, p->cccid, aisio_le32_to_cpu(want), ~tq->rx_crc);
			err = on_data_done(tq);
			if (err)
				return err;
			continue;
		}
		case RX_TERM:
			got = tq->rx_need ? rx_read(tq, NULL, tq->rx_need) : 0;
			if (got < 0)
				break;
			tq->rx_need -= (uint32_t)got;
			if (tq->rx_need)
				continue;
			return aisio_err(-ECONNRESET, "%s: qid %u: the target ended the connection: %s "
					 "(C2HTermReq FES %#x, FEI %#x)", tq->ctrl->name, tq->qid,
					 aisio_tcp_fes_str(p->fes), p->fes, p->fei);
		}
		/* got < 0 */
		if (got == -EAGAIN)
			return 0;
		if (got == -ECONNRESET)
			return aisio_err(-ENOTCONN, "%s: qid %u: the target closed the connection",
					 tq->ctrl->name, tq->qid);
		return aisio_err((int)got, "%s: qid %u: receiving: %s", tq->ctrl->name, tq->qid,
				 strerror((int)-got));
	}
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
			complete(tq, s, -ETIMEDOUT, 0);
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
	err = tx_flush(tq);
	if (!err)
		err = rx_process(tq);
	if (!err)
		err = tx_flush(tq); /* H2CData answering R2Ts just read */
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
			err = issue(tq, s, tq->ctrl->u.timeout_ms);
		} else if (tq->state == TCP_Q_DOWN) {
			err = aisio_err(-ENOTCONN, "%s: qid %u: not connected to the target (reconnecting for "
					"up to %u s)", tq->ctrl->name, tq->qid, tq->ctrl->u.ctrl_loss_tmo_s);
		} else {
			err = aisio_err(-ENODEV, "%s: qid %u: controller lost: the target was unreachable "
					"for the controller-loss timeout (%u s)", tq->ctrl->name, tq->qid,
					tq->ctrl->u.ctrl_loss_tmo_s);
		}
		if (err)
			complete(tq, s, err, 0);
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
	err = issue(tq, s, timeout_ms);
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

int aisio_tcp_queue_create(struct aisio_tcp_ctrl *c, uint16_t qid, uint32_t depth,
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
	err = aisio_tcp_queue_connect(tq);
	if (err)
		goto err_free;
	*out = tq;
	return 0;

err_free:
	aisio_tcp_queue_destroy(tq);
	return err;
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
