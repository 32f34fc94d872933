/* SPDX-License-Identifier: MIT */
/*
 * NVMe/TCP PDU encode and strict decode, host side. No sockets here: the
 * decoder takes bytes and says what they are or why they are wrong, so the
 * unit test and the fuzz target reach every check.
 */
#ifndef AISIO_TCP_PDU_H
#define AISIO_TCP_PDU_H

#include <stddef.h>
#include <stdint.h>

#include <aisio/nvme_tcp_spec.h>

/* What the connection negotiated: the decoder holds every PDU to it. */
struct aisio_tcp_params {
	int hdgst;          /* header digests on */
	int ddgst;          /* data digests on */
	uint32_t cpda;      /* controller's alignment for data we send, dwords 0's based */
	uint32_t maxh2cdata;/* the largest H2CData the controller takes */
	uint32_t max_c2h;   /* the largest C2HData/TermReq data we accept */
};

/* A decoded PDU header, controller to host. */
struct aisio_tcp_pdu {
	uint8_t type;
	uint8_t flags;
	uint32_t hdr_len;   /* HLEN + header digest: bytes of header to read */
	uint32_t pad;       /* bytes between the header (with digest) and the data */
	uint32_t data_len;  /* data bytes (C2HData; TermReq: the offending PDU) */
	uint32_t ddgst_len; /* 0 or 4 */
	uint32_t plen;
	/* type specific, host order */
	uint16_t cccid;
	uint16_t ttag;
	uint32_t offset;    /* C2HData DATAO, R2T R2TO */
	uint32_t length;    /* C2HData DATAL, R2T R2TL */
	uint16_t fes;       /* TermReq */
	uint32_t fei;
	struct aisio_nvme_cqe cqe;  /* CapsuleResp */
	uint8_t cpda;       /* ICResp */
	uint8_t dgst;
	uint32_t maxdata;
};

/*
 * aisio_tcp_pdu_hdr_len - from the 8-byte common header alone: how many
 * header bytes the PDU has (HLEN plus the header digest). @ic: the connection
 * is waiting for ICResp and nothing else. Returns 0 with *@hdr_len set, or
 * -EPROTO (unknown type, a type the controller never sends, HLEN wrong for
 * the type, PLEN shorter than the header) with a message saying which.
 */
int aisio_tcp_pdu_hdr_len(const void *ch, const struct aisio_tcp_params *p, int ic, uint32_t *hdr_len);

/*
 * aisio_tcp_pdu_decode - check a whole PDU header (@len bytes: exactly what
 * aisio_tcp_pdu_hdr_len said) and decode it into @out. Checks the header
 * digest, flags, PDO and alignment, PLEN against what follows, and the
 * fields of each type. Returns 0, -EPROTO (malformed) or -EBADMSG (header
 * digest mismatch), with a message.
 */
int aisio_tcp_pdu_decode(const void *hdr, size_t len, const struct aisio_tcp_params *p, int ic,
			 struct aisio_tcp_pdu *out);

/* Encoders: return the header bytes written to @buf (digest and padding included). */
size_t aisio_tcp_pdu_icreq(void *buf, int hdgst, int ddgst);
/*
 * A CapsuleCmd header for @sqe (its CID and SGL already set) with
 * @icd_len bytes of in-capsule data following; @ddgst: the data digest
 * follows the data (not written here). @buf holds at least 256 bytes.
 */
size_t aisio_tcp_pdu_cmd(void *buf, const struct aisio_nvme_sqe *sqe, uint32_t icd_len,
			 const struct aisio_tcp_params *p);
/* An H2CData header for @len bytes at @offset of command @cccid's data. */
size_t aisio_tcp_pdu_h2c(void *buf, uint16_t cccid, uint16_t ttag, uint32_t offset, uint32_t len,
			 int last, const struct aisio_tcp_params *p);

/* Text for a TermReq's fatal error status. */
const char *aisio_tcp_fes_str(uint16_t fes);
/* Name of a PDU type ("C2HData", ...) or "unknown". */
const char *aisio_tcp_pdu_type_str(uint8_t type);

#endif
