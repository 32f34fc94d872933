/* SPDX-License-Identifier: MIT */
/*
 * NVMe/TCP send: a FIFO of slots with a PDU ready (a CapsuleCmd, with its
 * data in the capsule for small writes, or one H2CData chunk answering an
 * R2T), written with one sendmsg() for many PDUs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tcp/queue_int.h"
#include "util/crc32c.h"
#include "util/err.h"

#define TX_IOV_MAX 48

static uint32_t slot_tx_len(const struct aisio_tcp_queue *tq, const struct tcp_slot *s)
{
	return s->hdr_len + s->tx_data_len + (s->tx_data_len && tq->p.ddgst ? 4 : 0);
}

void aisio_tcp_tx_push(struct aisio_tcp_queue *tq, uint16_t idx)
{
	tq->txq[tq->tx_tail % tq->tx_cap] = idx;
	tq->tx_tail++;
}

/* The command is done: the reserved slot waits for its caller, the others for reap. */
/* Direction of @cmd's data: opcode bits 1:0 (FCTYPE's for fabrics commands). */
static int cmd_dir(const struct aisio_nvme_sqe *cmd)
{
	uint8_t code = cmd->opc == AISIO_NVME_FABRICS_OPC ? (uint8_t)cmd->nsid : cmd->opc;

	return code & 3;
}

/* The next H2CData chunk of the R2T @s is answering. */
void aisio_tcp_h2c_next(struct aisio_tcp_queue *tq, struct tcp_slot *s)
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
	aisio_tcp_tx_push(tq, (uint16_t)(s - tq->slots));
}

/* A PDU has gone out whole. */
static void on_sent(struct aisio_tcp_queue *tq, struct tcp_slot *s)
{
	if (s->r2t && s->state == SLOT_INFLIGHT) {
		if (s->h2c_done < s->h2c_end)
			aisio_tcp_h2c_next(tq, s);
		else
			s->r2t = 0;
	}
}

/* Send what the FIFO holds until the socket is full. Returns 0 or -errno (connection gone). */
int aisio_tcp_tx_flush(struct aisio_tcp_queue *tq)
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
int aisio_tcp_issue(struct aisio_tcp_queue *tq, struct tcp_slot *s, uint32_t timeout_ms)
{
	struct aisio_io *io = &s->io;
	struct aisio_nvme_sqe sqe = io->cmd;
	uint16_t idx = (uint16_t)(s - tq->slots);
	int dir = cmd_dir(&sqe), connect;
	uint32_t len = io->len;

	if (io->len && !io->buf)
		return aisio_err(-EINVAL, "%s: command with %u bytes of data and no buffer", tq->ctrl->name,
				 io->len);
	if (tq->qid && tq->ctrl->max_xfer && io->len > tq->ctrl->max_xfer)
		return aisio_err(-EINVAL, "%s: transfer of %u bytes, more than the %u the controller takes",
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
	aisio_tcp_tx_push(tq, idx);
	return 0;
}
