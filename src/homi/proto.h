/* SPDX-License-Identifier: MIT */
/*
 * Encoding, decoding and transport of homid messages (layouts:
 * include/aisio/homi_proto.h, docs/homi.md). Shared by homid and clients.
 */
#ifndef AISIO_HOMI_PROTO_INT_H
#define AISIO_HOMI_PROTO_INT_H

#include <stddef.h>
#include <stdint.h>

#include <aisio/homi_proto.h>

/* A received message after aisio_homi_decode(): body points into the packet. */
struct aisio_homi_msg {
	struct aisio_homi_hdr hdr;
	const uint8_t *body;
	uint32_t len;
	int fd; /* the one descriptor MEM_REG carries, else -1 */
};

/*
 * aisio_homi_decode - check a request packet of @n bytes that came with
 * @nfds descriptors (@fds), @trunc set when the kernel cut the packet or
 * its descriptors. On success the message owns the descriptor it may carry.
 * On failure every descriptor is closed, and *@m->hdr holds what could be
 * read of the header (to address the error reply).
 * Returns 0, -EMSGSIZE (packet larger than AISIO_HOMI_MSG_MAX), -EBADMSG
 * (short, bad magic, body length not what the header says or the type
 * takes, descriptors where none belong or missing), -EPROTONOSUPPORT
 * (other version), -EOPNOTSUPP (unknown type). A message is set in
 * aisio_errmsg().
 */
int aisio_homi_decode(const void *pkt, size_t n, const int *fds, int nfds, int trunc,
		      struct aisio_homi_msg *m);

/*
 * aisio_homi_decode_reply - check a reply packet to request (@type, @seq).
 * *@status gets the reply's status; with status 0 the body must have the
 * size the type takes (variable-size replies: their fixed part and counts
 * are checked), with status < 0 the error text is copied to aisio_errmsg().
 * Returns 0 (the packet is a well-formed reply) or -EBADMSG / -EPROTO.
 */
int aisio_homi_decode_reply(const void *pkt, size_t n, uint16_t type, uint32_t seq, int32_t *status,
			    const uint8_t **body, uint32_t *len);

/* Build a request or reply in @buf (AISIO_HOMI_MSG_MAX bytes); returns its length or -EMSGSIZE. */
int aisio_homi_encode(void *buf, uint16_t type, uint32_t seq, const void *body, size_t len);
int aisio_homi_encode_reply(void *buf, uint16_t type, uint32_t seq, int32_t status, const void *body,
			    size_t len);
/* An error reply carrying @msg. */
int aisio_homi_encode_err(void *buf, uint16_t type, uint32_t seq, int32_t status, const char *msg);

/* Body size a request type takes (-1: unknown type). */
int aisio_homi_req_len(uint16_t type);

/*
 * Transport over a SOCK_SEQPACKET socket. send: 0 or -errno. recv: bytes
 * received, 0 when the peer hung up, or -errno; descriptors that came with
 * the packet land in @fds (at most @maxfds, the rest closed), *@trunc is
 * set when the packet or its descriptors were cut.
 */
int aisio_homi_send(int sock, const void *buf, size_t len, const int *fds, int nfds);
int aisio_homi_recv(int sock, void *buf, size_t cap, int *fds, int maxfds, int *nfds, int *trunc);

#endif
