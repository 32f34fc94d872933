/* SPDX-License-Identifier: MIT */
/* A connection to homid: one request at a time, each answered before the next. */
#ifndef AISIO_HOMI_CLIENT_H
#define AISIO_HOMI_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <aisio/homi_proto.h>

struct aisio_homi_conn;

/*
 * aisio_homi_connect - connect to homid at @path (NULL or "" = the default
 * socket) and say hello. Returns 0, -ENOENT/-ECONNREFUSED/-EACCES (no homid
 * there; the message says so), -EPROTONOSUPPORT, -ENOMEM.
 */
int aisio_homi_connect(const char *path, struct aisio_homi_conn **out);
void aisio_homi_disconnect(struct aisio_homi_conn *c);

/*
 * aisio_homi_call - (thread-safe: calls on one connection are serialised) send request @type with @req (@len bytes) and, when
 * @fd_in >= 0, that descriptor; wait for the reply. Its body is copied to
 * @reply (up to @cap bytes; *@rlen gets its size) and a descriptor that
 * came with it to *@fd_out (-1 when none; @fd_out may be NULL and the
 * descriptor is closed). Returns 0, homid's negative errno (its message in
 * aisio_errmsg()), -EPIPE/-ECONNRESET (homid went away), -EBADMSG/-EPROTO.
 */
int aisio_homi_call(struct aisio_homi_conn *c, uint16_t type, const void *req, size_t len, int fd_in,
		    void *reply, size_t cap, size_t *rlen, int *fd_out);

/*
 * What GPU queues need from a device opened with a homi: URI (src/gpu/
 * qp_homi.c): the session's connection, its doorbell page as mapped here
 * (laid out as BAR0: a queue's doorbells at the offsets QP_CREATE returns)
 * and the ATTACH reply. Valid until aisio_dev_close().
 */
struct aisio_dev;
struct aisio_homi_session {
	struct aisio_homi_conn *conn;
	volatile void *db;
	size_t db_len;
	const struct aisio_homi_attach_reply *att;
};
/* Returns 0, or -EINVAL when @dev was not opened through homid. */
int aisio_homi_session_of(struct aisio_dev *dev, struct aisio_homi_session *out);

/*
 * aisio_homi_shared_mem - @len bytes of shared memory registered with homid
 * on @conn (MEM_REG): a sealed memfd (*@fd), mapped here (*@host), and
 * homid's *@mem_id and device address *@bus for it. For memory another
 * agent reaches too (a GPU registers *@host with CUDA). The caller
 * unregisters (MEM_UNREG), unmaps and closes. Returns 0, -errno, homid's error.
 */
int aisio_homi_shared_mem(struct aisio_homi_conn *conn, size_t len, int *fd, void **host, uint32_t *mem_id,
			  uint64_t *bus);
/* The connection of a homi: device (its requests go through it), or NULL for another device. */
struct aisio_homi_conn *aisio_homi_dev_conn(struct aisio_dev *dev);
/* aisio_homi_call for replies with several descriptors: up to @max land in @fds_out, in order. */
int aisio_homi_call_fds(struct aisio_homi_conn *c, uint16_t type, const void *req, size_t len,
			int fd_in, void *reply, size_t cap, size_t *rlen, int *fds_out, int max,
			int *nfds_out);

/* The socket (for tests that send raw packets). */
int aisio_homi_conn_fd(const struct aisio_homi_conn *c);

#endif
