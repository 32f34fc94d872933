/* SPDX-License-Identifier: MIT */
/* NVMe/TCP PDU encode and strict decode (pdu.h). */
#include <errno.h>
#include <string.h>

#include "tcp/pdu.h"
#include "util/crc32c.h"
#include "util/err.h"

const char *aisio_tcp_pdu_type_str(uint8_t type)
{
	switch (type) {
	case AISIO_NVME_TCP_ICREQ: return "ICReq";
	case AISIO_NVME_TCP_ICRESP: return "ICResp";
	case AISIO_NVME_TCP_H2C_TERM: return "H2CTermReq";
	case AISIO_NVME_TCP_C2H_TERM: return "C2HTermReq";
	case AISIO_NVME_TCP_CMD: return "CapsuleCmd";
	case AISIO_NVME_TCP_RSP: return "CapsuleResp";
	case AISIO_NVME_TCP_H2C_DATA: return "H2CData";
	case AISIO_NVME_TCP_C2H_DATA: return "C2HData";
	case AISIO_NVME_TCP_R2T: return "R2T";
	}
	return "unknown";
}

const char *aisio_tcp_fes_str(uint16_t fes)
{
	switch (fes) {
	case AISIO_NVME_TCP_FES_INVALID_HEADER: return "invalid PDU header field";
	case AISIO_NVME_TCP_FES_PDU_SEQUENCE: return "PDU sequence error";
	case AISIO_NVME_TCP_FES_HDGST: return "header digest error";
	case AISIO_NVME_TCP_FES_DATA_RANGE: return "data transfer out of range";
	case AISIO_NVME_TCP_FES_R2T_LIMIT: return "R2T limit exceeded";
	case AISIO_NVME_TCP_FES_UNSUPPORTED: return "unsupported parameter";
	}
	return "unknown fatal error";
}

/* The HLEN a controller-to-host PDU of @type has, or 0 for a type it never sends. */
static uint32_t c2h_hlen(uint8_t type)
{
	switch (type) {
	case AISIO_NVME_TCP_ICRESP: return sizeof(struct aisio_nvme_tcp_icresp);
	case AISIO_NVME_TCP_C2H_TERM: return sizeof(struct aisio_nvme_tcp_term);
	case AISIO_NVME_TCP_RSP: return sizeof(struct aisio_nvme_tcp_rsp);
	case AISIO_NVME_TCP_C2H_DATA: return sizeof(struct aisio_nvme_tcp_c2h_data);
	case AISIO_NVME_TCP_R2T: return sizeof(struct aisio_nvme_tcp_r2t);
	}
	return 0;
}

/* Does a PDU of @type carry a header digest on a connection with digests? */
static int has_hdgst(uint8_t type, const struct aisio_tcp_params *p)
{
	return p->hdgst && type != AISIO_NVME_TCP_ICRESP && type != AISIO_NVME_TCP_C2H_TERM &&
	       type != AISIO_NVME_TCP_ICREQ && type != AISIO_NVME_TCP_H2C_TERM;
}

int aisio_tcp_pdu_hdr_len(const void *chp, const struct aisio_tcp_params *p, int ic, uint32_t *hdr_len)
{
	const struct aisio_nvme_tcp_hdr *ch = chp;
	uint32_t hlen = c2h_hlen(ch->type), plen = aisio_le32_to_cpu(ch->plen), n;

	if (!hlen)
		return aisio_err(-EPROTO, "nvme+tcp: the target sent a PDU of type %#x (%s), which a "
				 "controller never sends", ch->type, aisio_tcp_pdu_type_str(ch->type));
	if (ic != (ch->type == AISIO_NVME_TCP_ICRESP) && ch->type != AISIO_NVME_TCP_C2H_TERM)
		return aisio_err(-EPROTO, "nvme+tcp: the target sent %s %s", aisio_tcp_pdu_type_str(ch->type),
				 ic ? "before ICResp" : "after the connection was set up");
	if (ch->hlen != hlen)
		return aisio_err(-EPROTO, "nvme+tcp: %s with HLEN %u (the specification says %u)",
				 aisio_tcp_pdu_type_str(ch->type), ch->hlen, hlen);
	n = hlen + (has_hdgst(ch->type, p) ? AISIO_NVME_TCP_DIGEST_LEN : 0);
	if (plen < n)
		return aisio_err(-EPROTO, "nvme+tcp: %s with PLEN %u, shorter than its %u-byte header",
				 aisio_tcp_pdu_type_str(ch->type), plen, n);
	*hdr_len = n;
	return 0;
}

static int check_hdgst(const uint8_t *hdr, uint32_t hlen, const char *what)
{
	uint32_t want = aisio_crc32c(hdr, hlen), got;

	memcpy(&got, hdr + hlen, 4);
	if (aisio_le32_to_cpu(got) != want)
		return aisio_err(-EBADMSG, "nvme+tcp: %s header digest %#010x, computed %#010x: "
				 "corrupted on the way", what, aisio_le32_to_cpu(got), want);
	return 0;
}

/* Flags a PDU of @type may carry from a controller. */
static uint8_t allowed_flags(uint8_t type)
{
	switch (type) {
	case AISIO_NVME_TCP_C2H_DATA:
		return AISIO_NVME_TCP_F_HDGST | AISIO_NVME_TCP_F_DDGST | AISIO_NVME_TCP_F_DATA_LAST |
		       AISIO_NVME_TCP_F_DATA_SUCCESS;
	case AISIO_NVME_TCP_RSP:
	case AISIO_NVME_TCP_R2T:
		return AISIO_NVME_TCP_F_HDGST;
	}
	return 0;
}

static int decode_data_pdu(const uint8_t *hdr, const struct aisio_tcp_params *p, struct aisio_tcp_pdu *o)
{
	const struct aisio_nvme_tcp_c2h_data *d = (const void *)hdr;
	const struct aisio_nvme_tcp_hdr *ch = &d->hdr;
	uint32_t align = 4, rest;

	o->cccid = d->cccid;
	o->offset = aisio_le32_to_cpu(d->datao);
	o->length = aisio_le32_to_cpu(d->datal);
	if (!!(ch->flags & AISIO_NVME_TCP_F_DDGST) != !!p->ddgst)
		return aisio_err(-EPROTO, "nvme+tcp: C2HData %s a data digest, but the connection "
				 "negotiated %s", ch->flags & AISIO_NVME_TCP_F_DDGST ? "with" : "without",
				 p->ddgst ? "data digests" : "none");
	if ((ch->flags & AISIO_NVME_TCP_F_DATA_SUCCESS) && !(ch->flags & AISIO_NVME_TCP_F_DATA_LAST))
		return aisio_err(-EPROTO, "nvme+tcp: C2HData with SUCCESS but not LAST_PDU");
	if (ch->pdo < o->hdr_len || ch->pdo % align)
		return aisio_err(-EPROTO, "nvme+tcp: C2HData with PDO %u (header ends at %u, alignment %u)",
				 ch->pdo, o->hdr_len, align);
	o->pad = ch->pdo - o->hdr_len;
	o->ddgst_len = p->ddgst ? AISIO_NVME_TCP_DIGEST_LEN : 0;
	if (o->plen < ch->pdo + o->ddgst_len)
		return aisio_err(-EPROTO, "nvme+tcp: C2HData with PLEN %u, shorter than PDO %u and digest",
				 o->plen, ch->pdo);
	rest = o->plen - ch->pdo - o->ddgst_len;
	if (!o->length || rest != o->length)
		return aisio_err(-EPROTO, "nvme+tcp: C2HData with DATAL %u, but PLEN %u leaves %u data bytes",
				 o->length, o->plen, rest);
	if (o->length > p->max_c2h)
		return aisio_err(-EPROTO, "nvme+tcp: C2HData of %u bytes, more than the %u this host accepts",
				 o->length, p->max_c2h);
	if ((uint64_t)o->offset + o->length > UINT32_MAX)
		return aisio_err(-EPROTO, "nvme+tcp: C2HData offset %u + length %u overflows", o->offset,
				 o->length);
	o->data_len = o->length;
	return 0;
}

int aisio_tcp_pdu_decode(const void *hdrp, size_t len, const struct aisio_tcp_params *p, int ic,
			 struct aisio_tcp_pdu *o)
{
	const uint8_t *hdr = hdrp;
	const struct aisio_nvme_tcp_hdr *ch = hdrp;
	const char *name = aisio_tcp_pdu_type_str(ch->type);
	uint32_t hdr_len;
	int err;

	memset(o, 0, sizeof(*o));
	if (len < sizeof(*ch))
		return aisio_err(-EPROTO, "nvme+tcp: PDU header of %zu bytes", len);
	err = aisio_tcp_pdu_hdr_len(ch, p, ic, &hdr_len);
	if (err)
		return err;
	if (len != hdr_len)
		return aisio_err(-EPROTO, "nvme+tcp: %s header of %zu bytes, expected %u", name, len, hdr_len);
	o->type = ch->type;
	o->flags = ch->flags;
	o->hdr_len = hdr_len;
	o->plen = aisio_le32_to_cpu(ch->plen);
	if (ch->flags & ~allowed_flags(ch->type))
		return aisio_err(-EPROTO, "nvme+tcp: %s with flags %#x (allowed: %#x)", name, ch->flags,
				 allowed_flags(ch->type));
	if (has_hdgst(ch->type, p)) {
		if (!(ch->flags & AISIO_NVME_TCP_F_HDGST))
			return aisio_err(-EPROTO, "nvme+tcp: %s without the header digest the connection "
					 "negotiated", name);
		err = check_hdgst(hdr, ch->hlen, name);
		if (err)
			return err;
	} else if (ch->flags & AISIO_NVME_TCP_F_HDGST) {
		return aisio_err(-EPROTO, "nvme+tcp: %s with a header digest the connection did not "
				 "negotiate", name);
	}
	switch (ch->type) {
	case AISIO_NVME_TCP_ICRESP: {
		const struct aisio_nvme_tcp_icresp *r = hdrp;

		if (ch->pdo || o->plen != hdr_len)
			return aisio_err(-EPROTO, "nvme+tcp: ICResp with PDO %u, PLEN %u (want 0, %u)",
					 ch->pdo, o->plen, hdr_len);
		if (aisio_le16_to_cpu(r->pfv) != AISIO_NVME_TCP_PFV_1_0)
			return aisio_err(-EPROTO, "nvme+tcp: the target speaks PDU format version %u; "
					 "this host speaks %u", aisio_le16_to_cpu(r->pfv),
					 AISIO_NVME_TCP_PFV_1_0);
		o->cpda = r->cpda;
		o->dgst = r->dgst;
		o->maxdata = aisio_le32_to_cpu(r->maxdata);
		if (r->cpda > 31 || (r->dgst & ~3u))
			return aisio_err(-EPROTO, "nvme+tcp: ICResp with CPDA %u, DGST %#x", r->cpda, r->dgst);
		if (o->maxdata < AISIO_NVME_TCP_MIN_MAXH2CDATA || o->maxdata % 4)
			return aisio_err(-EPROTO, "nvme+tcp: ICResp with MAXH2CDATA %u (at least %u, a "
					 "multiple of 4)", o->maxdata, AISIO_NVME_TCP_MIN_MAXH2CDATA);
		return 0;
	}
	case AISIO_NVME_TCP_C2H_TERM: {
		const struct aisio_nvme_tcp_term *t = hdrp;

		if (o->plen > AISIO_NVME_TCP_TERM_MAX_PLEN)
			return aisio_err(-EPROTO, "nvme+tcp: C2HTermReq with PLEN %u (at most %u)", o->plen,
					 AISIO_NVME_TCP_TERM_MAX_PLEN);
		o->fes = aisio_le16_to_cpu(t->fes);
		o->fei = aisio_le32_to_cpu(t->fei);
		o->data_len = o->plen - hdr_len;
		return 0;
	}
	case AISIO_NVME_TCP_RSP: {
		const struct aisio_nvme_tcp_rsp *r = hdrp;

		if (ch->pdo || o->plen != hdr_len)
			return aisio_err(-EPROTO, "nvme+tcp: CapsuleResp with PDO %u, PLEN %u (want 0, %u)",
					 ch->pdo, o->plen, hdr_len);
		o->cqe = r->cqe;
		o->cccid = r->cqe.cid;
		return 0;
	}
	case AISIO_NVME_TCP_R2T: {
		const struct aisio_nvme_tcp_r2t *r = hdrp;

		if (ch->pdo || o->plen != hdr_len)
			return aisio_err(-EPROTO, "nvme+tcp: R2T with PDO %u, PLEN %u (want 0, %u)", ch->pdo,
					 o->plen, hdr_len);
		o->cccid = r->cccid;
		o->ttag = aisio_le16_to_cpu(r->ttag);
		o->offset = aisio_le32_to_cpu(r->r2to);
		o->length = aisio_le32_to_cpu(r->r2tl);
		if (!o->length)
			return aisio_err(-EPROTO, "nvme+tcp: R2T for 0 bytes (CID %u)", o->cccid);
		if ((uint64_t)o->offset + o->length > UINT32_MAX)
			return aisio_err(-EPROTO, "nvme+tcp: R2T offset %u + length %u overflows", o->offset,
					 o->length);
		return 0;
	}
	case AISIO_NVME_TCP_C2H_DATA:
		return decode_data_pdu(hdr, p, o);
	}
	return aisio_err(-EPROTO, "nvme+tcp: PDU type %#x", ch->type);
}

static void put_hdgst(uint8_t *buf, uint32_t hlen)
{
	uint32_t d = aisio_cpu_to_le32(aisio_crc32c(buf, hlen));

	memcpy(buf + hlen, &d, 4);
}

size_t aisio_tcp_pdu_icreq(void *buf, int hdgst, int ddgst)
{
	struct aisio_nvme_tcp_icreq *r = buf;

	memset(r, 0, sizeof(*r));
	r->hdr.type = AISIO_NVME_TCP_ICREQ;
	r->hdr.hlen = sizeof(*r);
	r->hdr.plen = aisio_cpu_to_le32(sizeof(*r));
	r->pfv = aisio_cpu_to_le16(AISIO_NVME_TCP_PFV_1_0);
	r->hpda = 0; /* any alignment */
	r->dgst = (uint8_t)((hdgst ? AISIO_NVME_TCP_HDGST_ENABLE : 0) |
			    (ddgst ? AISIO_NVME_TCP_DDGST_ENABLE : 0));
	r->maxr2t = 0; /* one R2T outstanding per command */
	return sizeof(*r);
}

/* Header, digest and padding up to the data offset the controller's CPDA asks for. */
static size_t finish_hdr(uint8_t *buf, uint32_t hlen, uint32_t data_len, const struct aisio_tcp_params *p)
{
	struct aisio_nvme_tcp_hdr *ch = (void *)buf;
	uint32_t n = hlen, align = (p->cpda + 1) * 4, pdo = 0;

	ch->hlen = (uint8_t)hlen;
	if (p->hdgst) {
		ch->flags |= AISIO_NVME_TCP_F_HDGST;
		n += AISIO_NVME_TCP_DIGEST_LEN;
	}
	if (data_len) {
		pdo = (n + align - 1) / align * align;
		if (p->ddgst)
			ch->flags |= AISIO_NVME_TCP_F_DDGST;
	}
	ch->pdo = (uint8_t)pdo;
	ch->plen = aisio_cpu_to_le32((data_len ? pdo : n) + data_len +
				     (data_len && p->ddgst ? AISIO_NVME_TCP_DIGEST_LEN : 0));
	if (p->hdgst)
		put_hdgst(buf, hlen);
	if (pdo > n)
		memset(buf + n, 0, pdo - n);
	return data_len ? pdo : n;
}

size_t aisio_tcp_pdu_cmd(void *buf, const struct aisio_nvme_sqe *sqe, uint32_t icd_len,
			 const struct aisio_tcp_params *p)
{
	struct aisio_nvme_tcp_cmd *c = buf;

	memset(c, 0, sizeof(c->hdr));
	c->hdr.type = AISIO_NVME_TCP_CMD;
	c->sqe = *sqe;
	return finish_hdr(buf, sizeof(*c), icd_len, p);
}

size_t aisio_tcp_pdu_h2c(void *buf, uint16_t cccid, uint16_t ttag, uint32_t offset, uint32_t len,
			 int last, const struct aisio_tcp_params *p)
{
	struct aisio_nvme_tcp_h2c_data *d = buf;

	memset(d, 0, sizeof(*d));
	d->hdr.type = AISIO_NVME_TCP_H2C_DATA;
	d->hdr.flags = last ? AISIO_NVME_TCP_F_DATA_LAST : 0;
	d->cccid = cccid;
	d->ttag = aisio_cpu_to_le16(ttag);
	d->datao = aisio_cpu_to_le32(offset);
	d->datal = aisio_cpu_to_le32(len);
	return finish_hdr(buf, sizeof(*d), len, p);
}
