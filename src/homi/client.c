/* SPDX-License-Identifier: MIT */
/* The client end of the homid protocol (client.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "homi/client.h"
#include "homi/proto.h"
#include "util/err.h"

struct aisio_homi_conn {
	int sock;
	pthread_mutex_t lock; /* one request at a time: threads share a device's connection */
	uint32_t seq;
	uint8_t buf[AISIO_HOMI_MSG_MAX];
};

int aisio_homi_conn_fd(const struct aisio_homi_conn *c)
{
	return c->sock;
}

static int call_locked(struct aisio_homi_conn *c, uint16_t type, const void *req, size_t len,
		       int fd_in, void *reply, size_t cap, size_t *rlen, int *fd_out)
{
	int fds[AISIO_HOMI_MAX_FDS], n = 0, err;

	err = aisio_homi_call_fds(c, type, req, len, fd_in, reply, cap, rlen, fds, AISIO_HOMI_MAX_FDS,
				  &n);
	if (fd_out)
		*fd_out = -1;
	for (int i = 0; i < n; i++) {
		if (fd_out && *fd_out < 0)
			*fd_out = fds[i];
		else
			close(fds[i]);
	}
	return err;
}

int aisio_homi_call_fds(struct aisio_homi_conn *c, uint16_t type, const void *req, size_t len,
			int fd_in, void *reply, size_t cap, size_t *rlen, int *fds_out, int max,
			int *nfds_out)
{
	const uint8_t *body = NULL;
	uint32_t blen = 0, seq = ++c->seq;
	int32_t status = 0;
	int fds[AISIO_HOMI_MAX_FDS], nfds = 0, trunc = 0, n, err;

	*nfds_out = 0;
	if (rlen)
		*rlen = 0;
	n = aisio_homi_encode(c->buf, type, seq, req, len);
	if (n < 0)
		return n;
	err = aisio_homi_send(c->sock, c->buf, (size_t)n, &fd_in, fd_in >= 0);
	if (err)
		return aisio_err(err, "homi: sending request %u to homid: %s", type, strerror(-err));
	n = aisio_homi_recv(c->sock, c->buf, sizeof(c->buf), fds, AISIO_HOMI_MAX_FDS, &nfds, &trunc);
	if (n <= 0) {
		err = n ? n : -ECONNRESET;
		return aisio_err(err, "homi: no reply from homid (%s); is it still running?",
				 strerror(-err));
	}
	err = trunc ? aisio_err(-EBADMSG, "homi: reply larger than %u bytes", AISIO_HOMI_MSG_MAX)
		    : aisio_homi_decode_reply(c->buf, (size_t)n, type, seq, &status, &body, &blen);
	if (!err && status)
		err = status;
	if (!err && blen > cap)
		err = aisio_err(-EBADMSG, "homi: %u-byte reply to request %u; %zu expected at most",
				blen, type, cap);
	if (err) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return err;
	}
	if (blen)
		memcpy(reply, body, blen);
	if (rlen)
		*rlen = blen;
	for (int i = 0; i < nfds; i++) {
		if (*nfds_out < max)
			fds_out[(*nfds_out)++] = fds[i];
		else
			close(fds[i]);
	}
	return 0;
}

int aisio_homi_call(struct aisio_homi_conn *c, uint16_t type, const void *req, size_t len, int fd_in,
		    void *reply, size_t cap, size_t *rlen, int *fd_out)
{
	int err;

	pthread_mutex_lock(&c->lock);
	err = call_locked(c, type, req, len, fd_in, reply, cap, rlen, fd_out);
	pthread_mutex_unlock(&c->lock);
	return err;
}

int aisio_homi_connect(const char *path, struct aisio_homi_conn **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct aisio_homi_hello h = { .version_min = AISIO_HOMI_VERSION,
				      .version_max = AISIO_HOMI_VERSION };
	struct aisio_homi_hello_reply hr;
	struct aisio_homi_conn *c;
	int err;

	*out = NULL;
	if (!path || !*path)
		path = AISIO_HOMI_SOCKET_DEFAULT;
	if (strlen(path) >= sizeof(sa.sun_path))
		return aisio_err(-ENAMETOOLONG, "homi: socket path '%s' is too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c = calloc(1, sizeof(*c));
	if (!c)
		return aisio_err(-ENOMEM, "out of memory");
	pthread_mutex_init(&c->lock, NULL);
	c->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->sock < 0) {
		err = aisio_err(-errno, "homi: socket: %s", strerror(errno));
		goto err_free;
	}
	if (connect(c->sock, (struct sockaddr *)&sa, sizeof(sa))) {
		err = aisio_err(-errno, "homi: cannot connect to homid at %s: %s (start it with "
				"'homid --socket %s --ctrl emu:1G' or as the homid service)", path,
				strerror(errno), path);
		goto err_close;
	}
	err = aisio_homi_call(c, AISIO_HOMI_HELLO, &h, sizeof(h), -1, &hr, sizeof(hr), NULL, NULL);
	if (err)
		goto err_close;
	*out = c;
	return 0;

err_close:
	close(c->sock);
err_free:
	pthread_mutex_destroy(&c->lock);
	free(c);
	return err;
}

void aisio_homi_disconnect(struct aisio_homi_conn *c)
{
	if (!c)
		return;
	close(c->sock);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

int aisio_homi_shared_mem(struct aisio_homi_conn *conn, size_t len, int *fd, void **host, uint32_t *mem_id,
			  uint64_t *bus)
{
	struct aisio_homi_mem_reg req = { .len = len };
	struct aisio_homi_mem_reg_reply rep;
	void *va;
	int err;

	*fd = memfd_create("aisio-homi-shared", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	*host = NULL;
	if (*fd < 0)
		return aisio_err(-errno, "homi: memfd_create: %s", strerror(errno));
	/* homid refuses memory the client could shrink under it */
	if (ftruncate(*fd, (off_t)len) || fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_SEAL)) {
		err = aisio_err(-errno, "homi: sizing %zu bytes of shared memory: %s", len, strerror(errno));
		goto err_close;
	}
	va = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, *fd, 0);
	if (va == MAP_FAILED) {
		err = aisio_err(-errno, "homi: mapping %zu bytes of shared memory: %s", len, strerror(errno));
		goto err_close;
	}
	err = aisio_homi_call(conn, AISIO_HOMI_MEM_REG, &req, sizeof(req), *fd, &rep, sizeof(rep), NULL, NULL);
	if (err) {
		munmap(va, len);
		goto err_close;
	}
	*host = va;
	*mem_id = rep.mem_id;
	*bus = rep.bus;
	return 0;

err_close:
	close(*fd);
	*fd = -1;
	return err;
}
