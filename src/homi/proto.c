/* SPDX-License-Identifier: MIT */
/* homid messages: encode and decode with every length checked (docs/homi.md). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "homi/proto.h"
#include "util/err.h"

int aisio_homi_req_len(uint16_t type)
{
	switch (type) {
	case AISIO_HOMI_HELLO:
		return sizeof(struct aisio_homi_hello);
	case AISIO_HOMI_LIST:
	case AISIO_HOMI_STATUS:
		return 0;
	case AISIO_HOMI_ATTACH:
		return sizeof(struct aisio_homi_attach);
	case AISIO_HOMI_MEM_REG:
		return sizeof(struct aisio_homi_mem_reg);
	case AISIO_HOMI_MEM_UNREG:
		return sizeof(struct aisio_homi_mem_unreg);
	case AISIO_HOMI_QP_CREATE:
		return sizeof(struct aisio_homi_qp_create);
	case AISIO_HOMI_QP_DELETE:
		return sizeof(struct aisio_homi_qp_delete);
	case AISIO_HOMI_IDENTIFY:
		return sizeof(struct aisio_homi_identify);
	case AISIO_HOMI_EXPORT:
		return sizeof(struct aisio_homi_export);
	case AISIO_HOMI_UNEXPORT:
		return sizeof(struct aisio_homi_unexport);
	case AISIO_HOMI_EXPORTS:
		return 0;
	case AISIO_HOMI_FILE_MAP:
		return sizeof(struct aisio_homi_file_map);
	case AISIO_HOMI_FILE_CHECK:
		return sizeof(struct aisio_homi_file_check);
	case AISIO_HOMI_GPU_MEM_REG:
		return sizeof(struct aisio_homi_gpu_mem_reg);
	case AISIO_HOMI_TCP_QUEUE:
		return sizeof(struct aisio_homi_tcp_queue);
	case AISIO_HOMI_VF_TAKE:
		return sizeof(struct aisio_homi_vf_take);
	case AISIO_HOMI_VF_STATUS:
		return 0;
	default:
		return -1;
	}
}

static void close_fds(const int *fds, int nfds)
{
	for (int i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int aisio_homi_decode(const void *pkt, size_t n, const int *fds, int nfds, int trunc,
		      struct aisio_homi_msg *m)
{
	int want, err;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (n >= sizeof(m->hdr))
		memcpy(&m->hdr, pkt, sizeof(m->hdr));
	if (trunc || n > AISIO_HOMI_MSG_MAX) {
		err = aisio_err(-EMSGSIZE, "homi: message larger than %u bytes or with more than %d "
				"descriptor(s)", AISIO_HOMI_MSG_MAX, AISIO_HOMI_MAX_FDS);
		goto bad;
	}
	if (n < sizeof(m->hdr)) {
		err = aisio_err(-EBADMSG, "homi: %zu-byte message is shorter than the 16-byte header", n);
		goto bad;
	}
	if (m->hdr.magic != AISIO_HOMI_MAGIC) {
		err = aisio_err(-EBADMSG, "homi: bad magic 0x%08x (want 0x%08x)", m->hdr.magic,
				AISIO_HOMI_MAGIC);
		goto bad;
	}
	if (m->hdr.version != AISIO_HOMI_VERSION) {
		err = aisio_err(-EPROTONOSUPPORT, "homi: protocol version %u; this homid speaks %u",
				m->hdr.version, AISIO_HOMI_VERSION);
		goto bad;
	}
	if (m->hdr.len != n - sizeof(m->hdr)) {
		err = aisio_err(-EBADMSG, "homi: header says %u body bytes, packet has %zu", m->hdr.len,
				n - sizeof(m->hdr));
		goto bad;
	}
	want = aisio_homi_req_len(m->hdr.type);
	if (want < 0) {
		err = aisio_err(-EOPNOTSUPP, "homi: unknown request type %u", m->hdr.type);
		goto bad;
	}
	if (m->hdr.len != (uint32_t)want) {
		err = aisio_err(-EBADMSG, "homi: request type %u takes %d body bytes, not %u",
				m->hdr.type, want, m->hdr.len);
		goto bad;
	}
	if (m->hdr.type == AISIO_HOMI_MEM_REG ? nfds != 1 : nfds != 0) {
		err = aisio_err(-EBADMSG, "homi: request type %u came with %d descriptor(s); it takes %d",
				m->hdr.type, nfds, m->hdr.type == AISIO_HOMI_MEM_REG);
		goto bad;
	}
	m->body = (const uint8_t *)pkt + sizeof(m->hdr);
	m->len = m->hdr.len;
	if (nfds)
		m->fd = fds[0];
	return 0;
bad:
	close_fds(fds, nfds);
	return err;
}

/* Fixed reply sizes; 0 = variable (checked by count), -1 = unknown. */
static int reply_len(uint16_t type)
{
	switch (type) {
	case AISIO_HOMI_HELLO:
		return sizeof(struct aisio_homi_hello_reply);
	case AISIO_HOMI_ATTACH:
		return sizeof(struct aisio_homi_attach_reply);
	case AISIO_HOMI_MEM_REG:
	case AISIO_HOMI_GPU_MEM_REG:
		return sizeof(struct aisio_homi_mem_reg_reply);
	case AISIO_HOMI_QP_CREATE:
		return sizeof(struct aisio_homi_qp_create_reply);
	case AISIO_HOMI_TCP_QUEUE:
		return sizeof(struct aisio_homi_tcp_queue_reply);
	case AISIO_HOMI_IDENTIFY:
		return 4096;
	case AISIO_HOMI_EXPORT:
		return sizeof(struct aisio_homi_export_reply);
	case AISIO_HOMI_MEM_UNREG:
	case AISIO_HOMI_QP_DELETE:
	case AISIO_HOMI_UNEXPORT:
	case AISIO_HOMI_FILE_CHECK:
		return -2; /* empty */
	case AISIO_HOMI_VF_TAKE:
		return sizeof(struct aisio_homi_vf_take_reply);
	case AISIO_HOMI_LIST:
	case AISIO_HOMI_STATUS:
	case AISIO_HOMI_EXPORTS:
	case AISIO_HOMI_FILE_MAP:
	case AISIO_HOMI_VF_STATUS:
		return 0;
	default:
		return -1;
	}
}

static int variable_ok(uint16_t type, const uint8_t *body, uint32_t len)
{
	if (type == AISIO_HOMI_EXPORTS || type == AISIO_HOMI_VF_STATUS)
		return len >= 1 && len <= AISIO_HOMI_EXPORTS_MAX && body[len - 1] == 0 &&
		       memchr(body, 0, len) == body + len - 1;
	if (type == AISIO_HOMI_FILE_MAP) {
		struct aisio_homi_file_map_reply r;

		if (len < sizeof(r))
			return 0;
		memcpy(&r, body, sizeof(r));
		return r.nruns <= AISIO_HOMI_FILE_RUNS_MAX &&
		       len == sizeof(r) + (uint64_t)r.nruns * sizeof(struct aisio_homi_run);
	}
	if (type == AISIO_HOMI_LIST) {
		struct aisio_homi_list_reply r;

		if (len < sizeof(r))
			return 0;
		memcpy(&r, body, sizeof(r));
		return r.nctrl <= 1024 && r.nns <= 65536 &&
		       len == sizeof(r) + (uint64_t)r.nctrl * sizeof(struct aisio_homi_ctrl_desc) +
				      (uint64_t)r.nns * sizeof(struct aisio_homi_ns_desc);
	}
	{
		struct aisio_homi_status_reply r;

		if (len < sizeof(r))
			return 0;
		memcpy(&r, body, sizeof(r));
		return r.nctrl <= 1024 && r.nns <= 65536 && r.nclient <= 65536 &&
		       len == sizeof(r) + (uint64_t)r.nctrl * sizeof(struct aisio_homi_ctrl_desc) +
				      (uint64_t)r.nns * sizeof(struct aisio_homi_ns_desc) +
				      (uint64_t)r.nclient * sizeof(struct aisio_homi_client_desc);
	}
}

int aisio_homi_decode_reply(const void *pkt, size_t n, uint16_t type, uint32_t seq, int32_t *status,
			    const uint8_t **body, uint32_t *len)
{
	struct aisio_homi_hdr h;
	struct aisio_homi_reply r;
	const uint8_t *b;
	uint32_t blen;
	int want;

	if (n < sizeof(h) + sizeof(r))
		return aisio_err(-EBADMSG, "homi: %zu-byte reply is too short", n);
	memcpy(&h, pkt, sizeof(h));
	if (h.magic != AISIO_HOMI_MAGIC || h.len != n - sizeof(h))
		return aisio_err(-EBADMSG, "homi: malformed reply (magic 0x%08x, length %u of %zu)",
				 h.magic, h.len, n - sizeof(h));
	if (h.version != AISIO_HOMI_VERSION)
		return aisio_err(-EPROTO, "homi: reply in protocol version %u, want %u", h.version,
				 AISIO_HOMI_VERSION);
	memcpy(&r, (const uint8_t *)pkt + sizeof(h), sizeof(r));
	b = (const uint8_t *)pkt + sizeof(h) + sizeof(r);
	blen = h.len - (uint32_t)sizeof(r);
	/* An error can answer a request homid could not read (seq/type then unknown to it). */
	if (r.status < 0) {
		struct aisio_homi_err e;

		if (blen != sizeof(e))
			return aisio_err(-EBADMSG, "homi: error reply with a %u-byte body", blen);
		memcpy(&e, b, sizeof(e));
		e.msg[sizeof(e.msg) - 1] = 0;
		*status = r.status;
		aisio_err(r.status, "homid: %s", e.msg);
		return 0;
	}
	if (h.type != (type | AISIO_HOMI_REPLY) || h.seq != seq)
		return aisio_err(-EPROTO, "homi: reply type 0x%x seq %u to request type %u seq %u",
				 h.type, h.seq, type, seq);
	if (r.status != 0)
		return aisio_err(-EBADMSG, "homi: reply status %d is not 0 or a negative errno",
				 r.status);
	want = reply_len(type);
	if (want == -1 || (want == -2 && blen) || (want > 0 && blen != (uint32_t)want) ||
	    (want == 0 && !variable_ok(type, b, blen)))
		return aisio_err(-EBADMSG, "homi: reply to request type %u has a bad %u-byte body", type,
				 blen);
	*status = 0;
	*body = b;
	*len = blen;
	return 0;
}

int aisio_homi_encode(void *buf, uint16_t type, uint32_t seq, const void *body, size_t len)
{
	struct aisio_homi_hdr h = { .magic = AISIO_HOMI_MAGIC, .version = AISIO_HOMI_VERSION,
				    .type = type, .len = (uint32_t)len, .seq = seq };

	if (len > AISIO_HOMI_MSG_MAX - sizeof(h))
		return aisio_err(-EMSGSIZE, "homi: %zu-byte body does not fit in a message", len);
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy((uint8_t *)buf + sizeof(h), body, len);
	return (int)(sizeof(h) + len);
}

int aisio_homi_encode_reply(void *buf, uint16_t type, uint32_t seq, int32_t status, const void *body,
			    size_t len)
{
	struct aisio_homi_reply r = { .status = status };
	struct aisio_homi_hdr h = { .magic = AISIO_HOMI_MAGIC, .version = AISIO_HOMI_VERSION,
				    .type = (uint16_t)(type | AISIO_HOMI_REPLY),
				    .len = (uint32_t)(sizeof(r) + len), .seq = seq };

	if (len > AISIO_HOMI_MSG_MAX - sizeof(h) - sizeof(r))
		return aisio_err(-EMSGSIZE, "homi: %zu-byte reply does not fit in a message", len);
	memcpy(buf, &h, sizeof(h));
	memcpy((uint8_t *)buf + sizeof(h), &r, sizeof(r));
	if (len)
		memcpy((uint8_t *)buf + sizeof(h) + sizeof(r), body, len);
	return (int)(sizeof(h) + sizeof(r) + len);
}

int aisio_homi_encode_err(void *buf, uint16_t type, uint32_t seq, int32_t status, const char *msg)
{
	struct aisio_homi_err e;

	memset(&e, 0, sizeof(e));
	snprintf(e.msg, sizeof(e.msg), "%s", msg && *msg ? msg : strerror(-status));
	return aisio_homi_encode_reply(buf, type, seq, status, &e, sizeof(e));
}
