/* SPDX-License-Identifier: MIT */
/*
 * NVMe/TCP protocol data units (NVM Express TCP Transport Specification 1.0).
 *
 * On-wire layouts only, no transport state. Every PDU starts with the 8-byte
 * common header; HLEN is the size of the PDU specific header that includes
 * it, PDO the offset of the data (0: none), PLEN the whole PDU including
 * digests and padding. A header digest (HDGST, CRC32C of the HLEN bytes)
 * follows the header and a data digest (DDGST, CRC32C of the data) the data,
 * when the connection negotiated them in ICReq/ICResp. Little-endian.
 */
#ifndef AISIO_NVME_TCP_SPEC_H
#define AISIO_NVME_TCP_SPEC_H

#include "nvme_spec.h"

#define AISIO_NVME_TCP_PORT 4420
#define AISIO_NVME_TCP_PFV_1_0 0      /* PDU format version */
#define AISIO_NVME_TCP_DIGEST_LEN 4

enum aisio_nvme_tcp_pdu_type {
	AISIO_NVME_TCP_ICREQ = 0x00,
	AISIO_NVME_TCP_ICRESP = 0x01,
	AISIO_NVME_TCP_H2C_TERM = 0x02,
	AISIO_NVME_TCP_C2H_TERM = 0x03,
	AISIO_NVME_TCP_CMD = 0x04,
	AISIO_NVME_TCP_RSP = 0x05,
	AISIO_NVME_TCP_H2C_DATA = 0x06,
	AISIO_NVME_TCP_C2H_DATA = 0x07,
	AISIO_NVME_TCP_R2T = 0x09,
};

/* Common header FLAGS */
enum {
	AISIO_NVME_TCP_F_HDGST = 1u << 0,    /* a header digest follows the header */
	AISIO_NVME_TCP_F_DDGST = 1u << 1,    /* a data digest follows the data */
	AISIO_NVME_TCP_F_DATA_LAST = 1u << 2, /* H2C/C2HData: last PDU of the transfer */
	AISIO_NVME_TCP_F_DATA_SUCCESS = 1u << 3, /* C2HData: command done, no CapsuleResp follows */
};

/* ICReq / ICResp DGST byte */
enum {
	AISIO_NVME_TCP_HDGST_ENABLE = 1u << 0,
	AISIO_NVME_TCP_DDGST_ENABLE = 1u << 1,
};

/* Common header (8 bytes) */
struct aisio_nvme_tcp_hdr {
	uint8_t type;
	uint8_t flags;
	uint8_t hlen;
	uint8_t pdo;
	aisio_le32 plen;
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_tcp_hdr) == 8, "common header is 8 bytes");

/* ICReq (host to controller, 128 bytes) */
struct aisio_nvme_tcp_icreq {
	struct aisio_nvme_tcp_hdr hdr;
	aisio_le16 pfv;
	uint8_t hpda;  /* host PDU data alignment, in dwords, 0's based */
	uint8_t dgst;  /* AISIO_NVME_TCP_*DGST_ENABLE */
	aisio_le32 maxr2t; /* outstanding R2Ts per command, 0's based */
	uint8_t rsvd16[112];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_tcp_icreq) == 128, "ICReq is 128 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_tcp_icreq, maxr2t) == 12, "MAXR2T at byte 12");

/* ICResp (controller to host, 128 bytes) */
struct aisio_nvme_tcp_icresp {
	struct aisio_nvme_tcp_hdr hdr;
	aisio_le16 pfv;
	uint8_t cpda;  /* controller PDU data alignment, in dwords, 0's based */
	uint8_t dgst;
	aisio_le32 maxdata; /* MAXH2CDATA: the largest H2CData the controller takes, bytes */
	uint8_t rsvd16[112];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_tcp_icresp) == 128, "ICResp is 128 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_tcp_icresp, maxdata) == 12, "MAXH2CDATA at byte 12");

/* MAXH2CDATA is at least 4096 and a multiple of 4 (TCP transport 3.6.2.3). */
#define AISIO_NVME_TCP_MIN_MAXH2CDATA 4096

/* H2CTermReq / C2HTermReq header (24 bytes); up to 128 bytes of the offending PDU follow */
struct aisio_nvme_tcp_term {
	struct aisio_nvme_tcp_hdr hdr;
	aisio_le16 fes; /* fatal error status */
	aisio_le32 fei; /* fatal error information: byte offset of the bad field, or 0 */
	uint8_t rsvd14[10];
} __attribute__((packed));
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_tcp_term) == 24, "TermReq header is 24 bytes");
AISIO_STATIC_ASSERT(offsetof(struct aisio_nvme_tcp_term, fei) == 10, "FEI at byte 10");
#define AISIO_NVME_TCP_TERM_MAX_PLEN 152

enum aisio_nvme_tcp_fes {
	AISIO_NVME_TCP_FES_INVALID_HEADER = 0x01,
	AISIO_NVME_TCP_FES_PDU_SEQUENCE = 0x02,
	AISIO_NVME_TCP_FES_HDGST = 0x03,
	AISIO_NVME_TCP_FES_DATA_RANGE = 0x04,
	AISIO_NVME_TCP_FES_R2T_LIMIT = 0x05,
	AISIO_NVME_TCP_FES_UNSUPPORTED = 0x06,
};

/* CapsuleCmd: the SQE; in-capsule data follows at PDO (72 bytes) */
struct aisio_nvme_tcp_cmd {
	struct aisio_nvme_tcp_hdr hdr;
	struct aisio_nvme_sqe sqe;
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_tcp_cmd) == 72, "CapsuleCmd header is 72 bytes");

/* CapsuleResp: the CQE (24 bytes) */
struct aisio_nvme_tcp_rsp {
	struct aisio_nvme_tcp_hdr hdr;
	struct aisio_nvme_cqe cqe;
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_tcp_rsp) == 24, "CapsuleResp is 24 bytes");

/* H2CData (24 bytes): data the host sends after an R2T */
struct aisio_nvme_tcp_h2c_data {
	struct aisio_nvme_tcp_hdr hdr;
	uint16_t cccid;  /* the command's CID */
	aisio_le16 ttag; /* from the R2T */
	aisio_le32 datao; /* offset of this data in the command's transfer */
	aisio_le32 datal;
	uint8_t rsvd20[4];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_tcp_h2c_data) == 24, "H2CData header is 24 bytes");

/* C2HData (24 bytes): read data for a command */
struct aisio_nvme_tcp_c2h_data {
	struct aisio_nvme_tcp_hdr hdr;
	uint16_t cccid;
	uint8_t rsvd10[2];
	aisio_le32 datao;
	aisio_le32 datal;
	uint8_t rsvd20[4];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_tcp_c2h_data) == 24, "C2HData header is 24 bytes");

/* R2T (24 bytes): the controller is ready for [R2TO, R2TO + R2TL) of a command's data */
struct aisio_nvme_tcp_r2t {
	struct aisio_nvme_tcp_hdr hdr;
	uint16_t cccid;
	aisio_le16 ttag;
	aisio_le32 r2to;
	aisio_le32 r2tl;
	uint8_t rsvd20[4];
};
AISIO_STATIC_ASSERT(sizeof(struct aisio_nvme_tcp_r2t) == 24, "R2T is 24 bytes");

/* The largest PDU header of any type (ICReq/ICResp), without its digest. */
#define AISIO_NVME_TCP_MAX_HLEN 128

#endif /* AISIO_NVME_TCP_SPEC_H */
