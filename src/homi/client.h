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
 * aisio_homi_call - send request @type with @req (@len bytes) and, when
 * @fd_in >= 0, that descriptor; wait for the reply. Its body is copied to
 * @reply (up to @cap bytes; *@rlen gets its size) and a descriptor that
 * came with it to *@fd_out (-1 when none; @fd_out may be NULL and the
 * descriptor is closed). Returns 0, homid's negative errno (its message in
 * aisio_errmsg()), -EPIPE/-ECONNRESET (homid went away), -EBADMSG/-EPROTO.
 */
int aisio_homi_call(struct aisio_homi_conn *c, uint16_t type, const void *req, size_t len, int fd_in,
		    void *reply, size_t cap, size_t *rlen, int *fd_out);

/* aisio_homi_call for replies with several descriptors: up to @max land in @fds_out, in order. */
int aisio_homi_call_fds(struct aisio_homi_conn *c, uint16_t type, const void *req, size_t len,
			int fd_in, void *reply, size_t cap, size_t *rlen, int *fds_out, int max,
			int *nfds_out);

/* The socket (for tests that send raw packets). */
int aisio_homi_conn_fd(const struct aisio_homi_conn *c);

#endif
