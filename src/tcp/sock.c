/* SPDX-License-Identifier: MIT */
/* NVMe/TCP: TCP connection with a deadline and the ICReq/ICResp exchange. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tcp/tcp.h"
#include "util/err.h"

uint64_t aisio_tcp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int left_ms(uint64_t deadline_ms)
{
	uint64_t now = aisio_tcp_now_ms();

	return now >= deadline_ms ? 0 : (int)(deadline_ms - now);
}

/* Wait for @ev on @fd until @deadline_ms. Returns 0 or -ETIMEDOUT / -errno. */
static int wait_fd(int fd, short ev, uint64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = ev };
	int n;

	for (;;) {
		n = poll(&pfd, 1, left_ms(deadline_ms));
		if (n > 0)
			return 0;
		if (!n)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int connect_one(const struct addrinfo *ai, uint64_t deadline_ms)
{
	int fd, err, one = 1;
	socklen_t elen = sizeof(err);

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			goto err_close;
		}
		err = wait_fd(fd, POLLOUT, deadline_ms);
		if (err)
			goto err_close;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0) {
			err = -errno;
			goto err_close;
		}
		if (err) {
			err = -err;
			goto err_close;
		}
	}
	return fd;

err_close:
	close(fd);
	return err;
}

/* Send or receive exactly @len bytes by @deadline_ms. */
static int xfer_all(int fd, void *buf, size_t len, int send_it, uint64_t deadline_ms)
{
	uint8_t *p = buf;
	ssize_t n;
	int err;

	while (len) {
		n = send_it ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (!n)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		err = wait_fd(fd, send_it ? POLLOUT : POLLIN, deadline_ms);
		if (err)
			return err;
	}
	return 0;
}

/* The decoder's message ("nvme+tcp: ...") with the target's address in front. */
static int with_addr(const struct aisio_tcp_uri *u, int err)
{
	char msg[400];
	const char *m = aisio_errmsg();

	if (!strncmp(m, "nvme+tcp: ", 10))
		m += 10;
	snprintf(msg, sizeof(msg), "%s", m);
	return aisio_err(err, "nvme+tcp://%s:%s: %s", u->host, u->port, msg);
}

static int icreq(int fd, const struct aisio_tcp_uri *u, uint64_t deadline_ms, struct aisio_tcp_params *p)
{
	struct aisio_nvme_tcp_icreq req;
	uint8_t buf[sizeof(struct aisio_nvme_tcp_icresp)];
	struct aisio_tcp_pdu pdu;
	struct aisio_tcp_params none = { .max_c2h = 0 };
	uint32_t hdr_len;
	int err;

	aisio_tcp_pdu_icreq(&req, u->hdgst, u->ddgst);
	err = xfer_all(fd, &req, sizeof(req), 1, deadline_ms);
	if (err)
		return aisio_err(err, "nvme+tcp://%s:%s: sending ICReq: %s", u->host, u->port, strerror(-err));
	err = xfer_all(fd, buf, 8, 0, deadline_ms);
	if (!err) {
		err = aisio_tcp_pdu_hdr_len(buf, &none, 1, &hdr_len);
		if (err)
			return with_addr(u, err);
		if (buf[0] == AISIO_NVME_TCP_C2H_TERM)
			return aisio_err(-ECONNREFUSED, "nvme+tcp://%s:%s: the target refused ICReq "
					 "(C2HTermReq)", u->host, u->port);
		err = xfer_all(fd, buf + 8, hdr_len - 8, 0, deadline_ms);
	}
	if (err)
		return aisio_err(err, "nvme+tcp://%s:%s: waiting for ICResp: %s", u->host, u->port,
				 err == -ECONNRESET ? "the target closed the connection" : strerror(-err));
	err = aisio_tcp_pdu_decode(buf, hdr_len, &none, 1, &pdu);
	if (err)
		return with_addr(u, err);
	if (!!(pdu.dgst & AISIO_NVME_TCP_HDGST_ENABLE) != !!u->hdgst ||
	    !!(pdu.dgst & AISIO_NVME_TCP_DDGST_ENABLE) != !!u->ddgst)
		return aisio_err(-EPROTO, "nvme+tcp://%s:%s: asked for header digest %s, data digest %s; "
				 "the target answered %s, %s", u->host, u->port, u->hdgst ? "on" : "off",
				 u->ddgst ? "on" : "off", pdu.dgst & 1 ? "on" : "off", pdu.dgst & 2 ? "on" : "off");
	memset(p, 0, sizeof(*p));
	p->hdgst = u->hdgst;
	p->ddgst = u->ddgst;
	p->cpda = pdu.cpda;
	p->maxh2cdata = pdu.maxdata;
	return 0;
}

int aisio_tcp_sock_connect(const struct aisio_tcp_uri *u, uint64_t deadline_ms, struct aisio_tcp_params *p)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int fd = -ECONNREFUSED, err;

	err = getaddrinfo(u->host, u->port, &hints, &res);
	if (err)
		return aisio_err(-EHOSTUNREACH, "nvme+tcp://%s:%s: cannot resolve the host: %s", u->host,
				 u->port, gai_strerror(err));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_one(ai, deadline_ms);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return aisio_err(fd, "nvme+tcp://%s:%s: cannot connect: %s%s", u->host, u->port,
				 strerror(-fd), fd == -ECONNREFUSED ? " (is nvmet-tcp listening on that port?)" : "");
	err = icreq(fd, u, deadline_ms, p);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}
