/* SPDX-License-Identifier: MIT */
/*
 * NVMe/TCP receive: a state machine (common header, rest of the header,
 * padding, data, data digest) that reads headers through a staging buffer
 * and large data straight into the command's buffer. Every PDU is checked
 * against the command it names; anything wrong is an error for the caller
 * to end the connection with.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "tcp/queue_int.h"
#include "util/crc32c.h"
#include "util/err.h"

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
	aisio_tcp_complete(tq, s, (int)code,
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
	aisio_tcp_h2c_next(tq, s);
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
		aisio_tcp_complete(tq, s, 0, 0);
	}
	return 0;
}

/* Read and handle PDUs until the socket is empty. Returns 0 or -errno (message set). */
int aisio_tcp_rx_process(struct aisio_tcp_queue *tq)
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
