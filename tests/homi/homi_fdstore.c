/* SPDX-License-Identifier: MIT */
/*
 * systemd's notify and listen protocols as homid speaks them
 * (tools/homid/sd.c), then homid on the model under the test supervisor
 * (sd_sup, which plays systemd's part): it reports READY=1 and keeps its
 * listening socket and crash record in the store; SIGKILLed, it is started
 * again with LISTEN_FDS and serves on the same socket (a connection made
 * while no homid ran waits in the socket's backlog and is answered); a
 * client of the model, which lived inside homid, gets a clear error; a
 * clean exit empties the store.
 * Usage: homi_fdstore HOMID SD_SUP
 */
#include <aisio/aisio.h>
#include <errno.h>
#include <poll.h>
#include <sys/stat.h>

#include "ht.h"
#include "sd.h"

static int dgram_at(const char *path, int abstract)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0);
	if (abstract) {
		memcpy(sa.sun_path + 1, path, strlen(path));
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path));
	} else {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		unlink(path);
		len = sizeof(sa);
	}
	REQUIRE(bind(fd, (struct sockaddr *)&sa, len) == 0);
	return fd;
}

/* One datagram: its text and descriptors. */
static int recv_msg(int sock, char *buf, size_t cap, int *fds, int *nfds)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 16)];
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = cap - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	*nfds = 0;
	if (n < 0)
		return -errno;
	buf[n] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_type == SCM_RIGHTS) {
			*nfds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(c), (size_t)*nfds * sizeof(int));
		}
	return (int)n;
}

static void test_notify(void)
{
	char path[64], buf[256];
	int sock, p[2], fds[16], nfds;

	unsetenv("NOTIFY_SOCKET");
	homid_sd_reset();
	CHECK_EQ(homid_sd_notify("READY=1", NULL, 0), 0); /* no socket: nothing to do */

	snprintf(path, sizeof(path), "/tmp/homi-fdstore-%d.sock", getpid());
	sock = dgram_at(path, 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CHECK_EQ(homid_sd_notify("READY=1\nSTATUS=serving", NULL, 0), 1);
	CHECK(recv_msg(sock, buf, sizeof(buf), fds, &nfds) > 0);
	CHECK(!strcmp(buf, "READY=1\nSTATUS=serving"));
	CHECK_EQ(nfds, 0);

	/* a descriptor goes with FDSTORE=1 and arrives as the same file */
	REQUIRE(pipe(p) == 0);
	CHECK_EQ(homid_sd_notify("FDSTORE=1\nFDNAME=f7", &p[1], 1), 1);
	CHECK(recv_msg(sock, buf, sizeof(buf), fds, &nfds) > 0);
	CHECK(!strcmp(buf, "FDSTORE=1\nFDNAME=f7"));
	REQUIRE(nfds == 1);
	CHECK(write(fds[0], "x", 1) == 1);
	CHECK(read(p[0], buf, 1) == 1 && buf[0] == 'x');
	close(fds[0]);
	CHECK_EQ(homid_sd_notify("FDSTORE=1", p, 17), -EINVAL); /* too many for one message */
	close(sock);
	unlink(path);

	/* the abstract namespace: @name */
	snprintf(path, sizeof(path), "homi-fdstore-%d", getpid());
	sock = dgram_at(path, 1);
	snprintf(buf, sizeof(buf), "@%s", path);
	setenv("NOTIFY_SOCKET", buf, 1);
	CHECK_EQ(homid_sd_notify("FDSTOREREMOVE=1\nFDNAME=f7", NULL, 0), 1);
	CHECK(recv_msg(sock, buf, sizeof(buf), fds, &nfds) > 0);
	CHECK(!strcmp(buf, "FDSTOREREMOVE=1\nFDNAME=f7"));
	close(sock);

	/* what is not a socket path is refused with the reason */
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	CHECK_EQ(homid_sd_notify("READY=1", NULL, 0), -EAFNOSUPPORT);
	CHECK(strstr(aisio_errmsg(), "NOTIFY_SOCKET") != NULL);
	/* nobody listening: the error says so */
	snprintf(buf, sizeof(buf), "/tmp/homi-fdstore-none-%d.sock", getpid());
	setenv("NOTIFY_SOCKET", buf, 1);
	CHECK(homid_sd_notify("READY=1", NULL, 0) < 0);
	unsetenv("NOTIFY_SOCKET");
	homid_sd_reset();
	close(p[0]);
	close(p[1]);

	CHECK(homid_sd_fdname_ok("f12"));
	CHECK(homid_sd_fdname_ok("s1"));
	CHECK(!homid_sd_fdname_ok(""));
	CHECK(!homid_sd_fdname_ok("a:b"));
	CHECK(!homid_sd_fdname_ok("a b"));
}

static void listen_env(const char *pid, const char *n, const char *names)
{
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", n, 1);
	if (names)
		setenv("LISTEN_FDNAMES", names, 1);
	else
		unsetenv("LISTEN_FDNAMES");
}

static void test_listen(void)
{
	char me[16], other[16], **names;
	int p[2];

	snprintf(me, sizeof(me), "%d", getpid());
	snprintf(other, sizeof(other), "%d", getpid() + 1);
	REQUIRE(pipe(p) == 0);
	/* two descriptors at 3 and 4, as a service manager passes them */
	REQUIRE(dup2(p[0], 3) == 3 && dup2(p[1], 4) == 4);

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	CHECK_EQ(homid_sd_listen_fds(1, &names), 0);
	CHECK(names == NULL);

	listen_env(me, "2", "f3:s9");
	CHECK_EQ(homid_sd_listen_fds(0, &names), 2);
	REQUIRE(names);
	CHECK(!strcmp(names[0], "f3") && !strcmp(names[1], "s9"));
	CHECK(fcntl(3, F_GETFD) & FD_CLOEXEC);
	CHECK(fcntl(4, F_GETFD) & FD_CLOEXEC);
	free(names);
	CHECK(getenv("LISTEN_FDS") != NULL); /* kept without unset */
	CHECK_EQ(homid_sd_listen_fds(1, &names), 2);
	free(names);
	CHECK(!getenv("LISTEN_FDS") && !getenv("LISTEN_PID") && !getenv("LISTEN_FDNAMES"));

	listen_env(other, "2", "a:b"); /* for another process */
	CHECK_EQ(homid_sd_listen_fds(1, &names), 0);
	listen_env(me, "2", NULL); /* no names */
	CHECK_EQ(homid_sd_listen_fds(1, &names), 2);
	REQUIRE(names);
	CHECK(!strcmp(names[0], "unknown") && !strcmp(names[1], "unknown"));
	free(names);
	listen_env(me, "2", "only-one");
	CHECK_EQ(homid_sd_listen_fds(1, &names), -EINVAL);
	CHECK(strstr(aisio_errmsg(), "LISTEN_FDNAMES") != NULL);
	listen_env(me, "2", "a:b:c");
	CHECK_EQ(homid_sd_listen_fds(1, &names), -EINVAL);
	listen_env(me, "two", "a:b");
	CHECK_EQ(homid_sd_listen_fds(1, &names), -EINVAL);
	listen_env("x", "2", "a:b");
	CHECK_EQ(homid_sd_listen_fds(1, &names), -EINVAL);
	listen_env(me, "0", "");
	CHECK_EQ(homid_sd_listen_fds(1, &names), 0);
	close(5);
	listen_env(me, "3", "a:b:c"); /* fd 5 is not open */
	CHECK_EQ(homid_sd_listen_fds(1, &names), -EBADF);
	CHECK(names == NULL);
	close(3);
	close(4);
	close(p[0]);
	close(p[1]);
}

/* The supervisor's state line: "pid=N ready=N starts=N fds=N status=... names=..." */
struct sup_state {
	int pid, ready, starts, fds;
	char names[4096];
};

static int sup_read(const char *dir, struct sup_state *s)
{
	char path[256], line[8192];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/state", dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ok = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (!ok || sscanf(line, "pid=%d ready=%d starts=%d fds=%d", &s->pid, &s->ready, &s->starts,
			  &s->fds) != 4)
		return -1;
	snprintf(s->names, sizeof(s->names), "%s", strstr(line, "names=") ? strstr(line, "names=") + 6 : "");
	s->names[strcspn(s->names, "\n")] = 0;
	return 0;
}

/* Wait until start @starts is ready; 0 or -1 after 20 s. */
static int sup_wait_ready(const char *dir, int starts, struct sup_state *s)
{
	for (int i = 0; i < 800; i++) {
		if (!sup_read(dir, s) && s->starts == starts && s->ready)
			return 0;
		usleep(25000);
	}
	return -1;
}

static int count_prefix(const char *names, char c)
{
	int n = 0;

	for (const char *p = names; *p; p++)
		if ((p == names || p[-1] == ':') && *p == c)
			n++;
	return n;
}

static int model_client(const char *sock)
{
	char uri[200];
	struct aisio_dev *dev;
	struct aisio_queue *q;
	void *buf;

	snprintf(uri, sizeof(uri), "homi:%s,mode=direct", sock);
	if (aisio_dev_open(uri, NULL, &dev) || aisio_queue_init(dev, 8, &q))
		return 2;
	buf = aisio_buf_alloc(dev, 4096);
	if (!buf)
		return 3;
	for (;;) {
		struct aisio_io *io = aisio_queue_get_io(q);
		int err;

		aisio_prep_write(io, aisio_dev_geo(dev)->nsid, 8, 8, buf, 4096);
		err = aisio_io_sync(io);
		if (err) {
			fprintf(stderr, "model client: %d: %s\n", err, aisio_errmsg());
			return strstr(aisio_errmsg(), "homid went away") ? 10 : 4;
		}
	}
}

static void test_supervised(const char *homid, const char *sup)
{
	char dir[64], sock[128], log[160], cmd[512];
	struct sup_state s0, s;
	struct aisio_homi_conn *c;
	uint32_t qids, ncl;
	pid_t sp, cp, wp;
	uint64_t t0;
	int st, fd, fdstokens;

	snprintf(dir, sizeof(dir), "/tmp/homi-fdstore-%d", getpid());
	snprintf(sock, sizeof(sock), "%s/homid.sock", dir);
	snprintf(log, sizeof(log), "%s/homid.log", dir);
	mkdir(dir, 0700);
	sp = fork();
	REQUIRE(sp >= 0);
	if (!sp) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		/* a second's pause before a restart: a connection made meanwhile must wait, not fail */
		execl(sup, sup, "--dir", dir, "--restart-ms", "1000", "--starts", "10", "--", homid,
		      "--foreground", "--socket", sock, "--ctrl", "emu:16M", "--log-level", "debug",
		      (char *)NULL);
		_exit(127);
	}
	if (sup_wait_ready(dir, 1, &s0)) {
		fprintf(stderr, "homid under sd_sup did not report READY=1\n");
		snprintf(cmd, sizeof(cmd), "cat %s/state %s >&2", dir, log);
		(void)!system(cmd);
		kill(sp, SIGTERM);
		exit(1);
	}
	/* the listening socket and the crash record's two memfds are in the store */
	CHECK(count_prefix(s0.names, 'f') >= 1);
	CHECK_EQ(count_prefix(s0.names, 's'), 2);
	fdstokens = s0.fds;

	/* a client of the model: its data path lives in homid */
	cp = fork();
	REQUIRE(cp >= 0);
	if (!cp)
		_exit(model_client(sock));
	for (int i = 0; i < 1200; i++) {
		if (!ht_status(sock, &qids, &ncl) && qids == 1)
			break;
		usleep(25000);
	}
	CHECK_EQ(qids, 1);
	/* the model client adds nothing to the store: nothing of it can outlive homid */
	CHECK(!sup_read(dir, &s) && s.fds == fdstokens);

	CHECK(kill(s0.pid, SIGKILL) == 0);
	t0 = ht_now_ms();
	/* while no homid runs: a connection is accepted by the kept socket and answered later */
	usleep(200000);
	CHECK(!sup_read(dir, &s) && s.starts == 1);
	CHECK_EQ(aisio_homi_connect(sock, &c), 0);
	CHECK(!sup_read(dir, &s) && s.starts == 2 && s.pid != s0.pid);
	fprintf(stderr, "a connection made while homid was down answered after %llu ms\n",
		(unsigned long long)(ht_now_ms() - t0));
	if (c)
		aisio_homi_disconnect(c);
	CHECK_EQ(sup_wait_ready(dir, 2, &s), 0);
	wp = waitpid(cp, &st, 0);
	CHECK(wp == cp && WIFEXITED(st) && WEXITSTATUS(st) == 10); /* "homid went away" */
	CHECK_EQ(ht_status(sock, &qids, &ncl), 0);
	CHECK_EQ(qids, 0); /* the successor swept nothing: a model starts empty */
	CHECK_EQ(ncl, 0);
	CHECK(count_prefix(s.names, 's') == 2); /* the record's memfds went on */
	/* a new client works on the successor */
	cp = fork();
	REQUIRE(cp >= 0);
	if (!cp) {
		char uri[200];
		struct aisio_dev *dev;

		snprintf(uri, sizeof(uri), "homi:%s", sock);
		_exit(aisio_dev_open(uri, NULL, &dev) ? 1 : (aisio_dev_close(dev), 0));
	}
	CHECK(waitpid(cp, &st, 0) == cp && WIFEXITED(st) && !WEXITSTATUS(st));
	/* killed again, at once this time */
	CHECK(kill(s.pid, SIGKILL) == 0);
	CHECK_EQ(sup_wait_ready(dir, 3, &s), 0);
	CHECK_EQ(ht_status(sock, &qids, &ncl), 0);
	CHECK_EQ(s.fds, fdstokens); /* nothing piles up in the store */

	/* a clean exit empties the store and ends the supervision */
	CHECK(kill(sp, SIGTERM) == 0);
	CHECK(waitpid(sp, &st, 0) == sp && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(!sup_read(dir, &s) && s.fds == 0);
	if (t_failures) {
		snprintf(cmd, sizeof(cmd), "cat %s/state; grep -v DEBUG %s | tail -40", dir, log);
		(void)!system(cmd);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 3);
	signal(SIGPIPE, SIG_IGN);
	test_notify();
	test_listen();
	test_supervised(argv[1], argv[2]);
	return t_result("homi_fdstore");
}
