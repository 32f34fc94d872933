/* SPDX-License-Identifier: MIT */
/*
 * A test supervisor that plays systemd's part for homid (there is no
 * systemd in the QEMU guest nor in CI): a notify socket ($NOTIFY_SOCKET)
 * that takes READY=1, STATUS=, FDSTORE=1 with FDNAME= (the descriptors
 * sent with it are kept) and FDSTOREREMOVE=1 with FDNAME=; when the
 * program dies of a signal or exits non-zero it is started again
 * (Restart=on-failure) with the stored descriptors from fd 3 on and
 * LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID. As systemd does, a stored
 * socket that hung up is dropped before a restart. Exit 0 of the program
 * ends the supervisor (exit 0); SIGTERM is passed on to it.
 *
 *   sd_sup --dir DIR [--max N] [--restart-ms MS] [--starts N] -- PROGRAM ARGS...
 *
 * DIR/notify.sock is the socket; DIR/state is rewritten after every event:
 *   pid=PID ready=0|1 starts=N fds=N status=... names=a:b:...
 * (one line), so that a test can wait for a new pid that is ready.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 4096

struct stored {
	int fd;
	char name[256];
};

static struct stored store[MAX_FDS];
static int nstored, maxfds = 1024, ready, starts;
static pid_t child = -1;
static char status_line[256], dir[80];

static void write_state(void)
{
	char path[256], tmp[256], names[8192] = "";
	size_t off = 0;
	FILE *f;

	for (int i = 0; i < nstored && off < sizeof(names) - 300; i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ":" : "",
					store[i].name);
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(tmp, sizeof(tmp), "%s/state.tmp", dir);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "pid=%d ready=%d starts=%d fds=%d status=%s names=%s\n", (int)child, ready,
		starts, nstored, status_line[0] ? status_line : "-", names);
	fclose(f);
	rename(tmp, path);
}

static void drop_at(int i)
{
	close(store[i].fd);
	store[i] = store[--nstored];
}

/* One datagram: KEY=VALUE lines and maybe descriptors. */
static void on_message(int sock)
{
	char buf[4096], name[256] = "stored";
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int) * 253)];
	} cm;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	int fds[253], nfds = 0, fdstore = 0, remove = 0;
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0)
		return;
	buf[n] = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

			memcpy(fds + nfds, CMSG_DATA(c), (size_t)k * sizeof(int));
			nfds += k;
		}
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strcmp(line, "READY=1"))
			ready = 1;
		else if (!strncmp(line, "STATUS=", 7))
			snprintf(status_line, sizeof(status_line), "%s", line + 7);
		else if (!strcmp(line, "FDSTORE=1"))
			fdstore = 1;
		else if (!strcmp(line, "FDSTOREREMOVE=1"))
			remove = 1;
		else if (!strncmp(line, "FDNAME=", 7))
			snprintf(name, sizeof(name), "%s", line + 7);
	}
	if (remove)
		for (int i = nstored - 1; i >= 0; i--)
			if (!strcmp(store[i].name, name))
				drop_at(i);
	for (int i = 0; i < nfds; i++) {
		if (!fdstore || nstored == maxfds) {
			if (fdstore)
				fprintf(stderr, "sd_sup: store full (%d): '%s' not kept\n", maxfds, name);
			close(fds[i]);
			continue;
		}
		store[nstored].fd = fds[i];
		snprintf(store[nstored].name, sizeof(store[nstored].name), "%s", name);
		nstored++;
	}
	write_state();
}

/* systemd drops a stored descriptor that reports POLLHUP or POLLERR. */
static void prune(void)
{
	for (int i = nstored - 1; i >= 0; i--) {
		struct pollfd p = { .fd = store[i].fd, .events = 0 };

		if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL))) {
			fprintf(stderr, "sd_sup: '%s' hung up: dropped from the store\n", store[i].name);
			drop_at(i);
		}
	}
}

static void launch(char **argv, const char *sockpath, const sigset_t *mask)
{
	pid_t pid;

	ready = 0;
	status_line[0] = 0;
	starts++;
	pid = fork();
	if (pid < 0) {
		perror("sd_sup: fork");
		exit(1);
	}
	if (!pid) {
		char names[65536] = "", num[32];
		size_t off = 0;
		int high[MAX_FDS];

		/* out of the way first: a stored descriptor may sit where another goes */
		for (int i = 0; i < nstored; i++)
			high[i] = fcntl(store[i].fd, F_DUPFD, 3 + nstored + 16);
		for (int i = 0; i < nstored; i++) {
			close(store[i].fd);
		}
		for (int i = 0; i < nstored; i++) {
			dup2(high[i], 3 + i); /* without FD_CLOEXEC */
			close(high[i]);
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s", i ? ":" : "",
						store[i].name);
		}
		if (nstored) {
			snprintf(num, sizeof(num), "%d", nstored);
			setenv("LISTEN_FDS", num, 1);
			setenv("LISTEN_FDNAMES", names, 1);
			snprintf(num, sizeof(num), "%d", (int)getpid());
			setenv("LISTEN_PID", num, 1);
		}
		setenv("NOTIFY_SOCKET", sockpath, 1);
		snprintf(num, sizeof(num), "%d", maxfds);
		setenv("FDSTORE", num, 1);
		sigprocmask(SIG_UNBLOCK, mask, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "sd_sup: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	child = pid;
	fprintf(stderr, "sd_sup: start %d: pid %d with %d stored descriptor(s)\n", starts, (int)pid,
		nstored);
	write_state();
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "max", required_argument, NULL, 'm' },
		{ "restart-ms", required_argument, NULL, 'r' },
		{ "starts", required_argument, NULL, 's' },
		{ 0 },
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int c, sock, sfd, restart_ms = 100, max_starts = 100, stopping = 0;
	sigset_t mask;

	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			snprintf(dir, sizeof(dir), "%s", optarg);
			break;
		case 'm':
			maxfds = atoi(optarg);
			if (maxfds < 1 || maxfds > MAX_FDS)
				maxfds = MAX_FDS;
			break;
		case 'r':
			restart_ms = atoi(optarg);
			break;
		case 's':
			max_starts = atoi(optarg);
			break;
		default:
			return 2;
		}
	}
	if (!dir[0] || optind >= argc) {
		fprintf(stderr, "usage: sd_sup --dir DIR [--max N] [--restart-ms MS] [--starts N] -- "
			"PROGRAM ARGS...\n");
		return 2;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", dir);
	unlink(sa.sun_path);
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("sd_sup: notify socket");
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	launch(argv + optind, sa.sun_path, &mask);
	for (;;) {
		struct pollfd p[2] = { { .fd = sock, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		struct signalfd_siginfo si;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return 1;
		/* messages first: what a dying program sent before it died counts */
		while (p[0].revents & POLLIN) {
			struct pollfd q = { .fd = sock, .events = POLLIN };

			on_message(sock);
			if (poll(&q, 1, 0) <= 0)
				break;
		}
		if (!(p[1].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			stopping = 1;
			if (child > 0)
				kill(child, SIGTERM);
			continue;
		}
		for (;;) {
			int ws;
			pid_t w = waitpid(-1, &ws, WNOHANG);

			if (w <= 0)
				break;
			if (w != child)
				continue;
			/* drain what it sent before it went */
			for (struct pollfd q = { .fd = sock, .events = POLLIN }; poll(&q, 1, 0) > 0;)
				on_message(sock);
			if (WIFEXITED(ws))
				fprintf(stderr, "sd_sup: pid %d exited %d\n", (int)w, WEXITSTATUS(ws));
			else
				fprintf(stderr, "sd_sup: pid %d killed by signal %d\n", (int)w,
					WTERMSIG(ws));
			child = -1;
			if (stopping || (WIFEXITED(ws) && !WEXITSTATUS(ws)) || starts >= max_starts) {
				write_state();
				fprintf(stderr, "sd_sup: done, %d descriptor(s) left in the store\n",
					nstored);
				while (nstored)
					drop_at(nstored - 1);
				unlink(sa.sun_path);
				return WIFEXITED(ws) ? WEXITSTATUS(ws) : 1;
			}
			prune();
			write_state();
			if (restart_ms > 0) {
				struct timespec ts = { restart_ms / 1000, (restart_ms % 1000) * 1000000L };

				nanosleep(&ts, NULL);
			}
			for (struct pollfd q = { .fd = sock, .events = POLLIN }; poll(&q, 1, 0) > 0;)
				on_message(sock);
			launch(argv + optind, sa.sun_path, &mask);
		}
	}
}
