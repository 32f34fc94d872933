/* SPDX-License-Identifier: MIT */
/* systemd's notify and listen protocols (sd.h). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sd.h"
#include "util/err.h"

static int sd_sock = -1;

void homid_sd_reset(void)
{
	if (sd_sock >= 0)
		close(sd_sock);
	sd_sock = -1;
}

/* $NOTIFY_SOCKET: a path, or @name in the abstract namespace. */
static int sd_addr(const char *e, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(e);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((e[0] != '/' && e[0] != '@') || n < 2 || n >= sizeof(sa->sun_path))
		return aisio_err(-EAFNOSUPPORT, "NOTIFY_SOCKET '%s': only a socket path or an "
				 "abstract @name is supported", e);
	memcpy(sa->sun_path, e, n);
	if (e[0] == '@')
		sa->sun_path[0] = 0;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (e[0] == '/'));
	return 0;
}

int homid_sd_notify(const char *msg, const int *fds, int nfds)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen = 0;
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 16)];
	} cm;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int err;

	if (!e || !*e)
		return 0;
	if (nfds < 0 || nfds > 16)
		return aisio_err(-EINVAL, "sd_notify: %d descriptors in one message (16 at most)", nfds);
	err = sd_addr(e, &sa, &salen);
	if (err)
		return err;
	if (sd_sock < 0) {
		sd_sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (sd_sock < 0)
			return aisio_err(-errno, "sd_notify: socket: %s", strerror(errno));
	}
	mh.msg_name = &sa;
	mh.msg_namelen = salen;
	if (nfds) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm.h.cmsg_level = SOL_SOCKET;
		cm.h.cmsg_type = SCM_RIGHTS;
		cm.h.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(&cm.h), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(sd_sock, &mh, MSG_NOSIGNAL) < 0)
		return aisio_err(-errno, "sd_notify to %s: %s", e, strerror(errno));
	return 1;
}

int homid_sd_fdname_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 255)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (name[i] < 0x21 || name[i] > 0x7e || name[i] == ':')
			return 0;
	return 1;
}

static void listen_unset(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

int homid_sd_listen_fds(int unset, char ***names)
{
	const char *pid_s = getenv("LISTEN_PID"), *n_s = getenv("LISTEN_FDS");
	const char *names_s = getenv("LISTEN_FDNAMES");
	char *end, **v, *p;
	long pid, n;
	size_t blen;
	int err = 0;

	*names = NULL;
	if (!pid_s || !n_s)
		goto none;
	errno = 0;
	pid = strtol(pid_s, &end, 10);
	if (errno || *end || pid <= 0) {
		err = aisio_err(-EINVAL, "LISTEN_PID='%s' is not a process ID", pid_s);
		goto out;
	}
	if (pid != getpid())
		goto none; /* meant for another process */
	n = strtol(n_s, &end, 10);
	if (errno || *end || n < 0 || n > 65536) {
		err = aisio_err(-EINVAL, "LISTEN_FDS='%s' is not a descriptor count", n_s);
		goto out;
	}
	if (!n)
		goto none;
	blen = names_s ? strlen(names_s) + 1 : 0;
	v = malloc((size_t)n * sizeof(*v) + blen + (size_t)n * 8);
	if (!v) {
		err = aisio_err(-ENOMEM, "out of memory");
		goto out;
	}
	p = (char *)(v + n);
	if (names_s) {
		long i = 0;

		memcpy(p, names_s, blen);
		v[0] = p;
		for (char *s = p; *s; s++) {
			if (*s != ':')
				continue;
			*s = 0;
			if (++i < n)
				v[i] = s + 1;
		}
		if (i + 1 != n) {
			free(v);
			err = aisio_err(-EINVAL, "LISTEN_FDNAMES has %ld name(s) for LISTEN_FDS=%ld",
					i + 1, n);
			goto out;
		}
	} else {
		for (long i = 0; i < n; i++) {
			v[i] = p + blen + i * 8;
			memcpy(v[i], "unknown", 8);
		}
	}
	for (long i = 0; i < n; i++) {
		int fd = HOMID_SD_LISTEN_START + (int)i;

		if (fcntl(fd, F_SETFD, FD_CLOEXEC)) {
			err = aisio_err(-EBADF, "LISTEN_FDS=%ld, but descriptor %d is not open", n, fd);
			free(v);
			goto out;
		}
	}
	*names = v;
	err = (int)n;
	goto out;
none:
	err = 0;
out:
	if (unset)
		listen_unset();
	return err;
}
