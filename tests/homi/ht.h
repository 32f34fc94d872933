/* SPDX-License-Identifier: MIT */
/* homid tests: start and stop a homid, count its descriptors, speak raw protocol. */
#ifndef AISIO_TESTS_HOMI_HT_H
#define AISIO_TESTS_HOMI_HT_H

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../unit/t.h"
#include "homi/client.h"
#include "homi/proto.h"

struct ht_homid {
	pid_t pid;
	char sock[108];
	char log[128];
};

/* Start @homid_path with @args (NULL-terminated, after --foreground --socket); wait for the socket. */
static inline void ht_start(struct ht_homid *h, const char *homid_path, const char *const *args)
{
	const char *argv[32];
	int n = 0;

	snprintf(h->sock, sizeof(h->sock), "/tmp/homid-test-%d.sock", getpid());
	snprintf(h->log, sizeof(h->log), "/tmp/homid-test-%d.log", getpid());
	unlink(h->sock);
	argv[n++] = homid_path;
	argv[n++] = "--foreground";
	argv[n++] = "--socket";
	argv[n++] = h->sock;
	for (int i = 0; args[i] && n < 30; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	h->pid = fork();
	REQUIRE(h->pid >= 0);
	if (!h->pid) {
		int fd = open(h->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execv(homid_path, (char *const *)argv);
		_exit(127);
	}
	/* 30 s: a sanitizer build on a loaded machine starts slowly */
	for (int i = 0; i < 1200; i++) {
		struct aisio_homi_conn *c;

		if (!aisio_homi_connect(h->sock, &c)) {
			aisio_homi_disconnect(c);
			return;
		}
		usleep(25000);
	}
	fprintf(stderr, "homid did not come up; its log (%s):\n", h->log);
	(void)!system("cat /tmp/homid-test-*.log >&2");
	kill(h->pid, SIGKILL);
	exit(1);
}

/* homid still running? */
static inline int ht_alive(struct ht_homid *h)
{
	int st;

	return waitpid(h->pid, &st, WNOHANG) == 0;
}

/* SIGTERM it; returns its exit status (0 = clean shutdown). */
static inline int ht_stop(struct ht_homid *h)
{
	int st = 0;

	kill(h->pid, SIGTERM);
	if (waitpid(h->pid, &st, 0) != h->pid)
		return -1;
	unlink(h->sock);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "tail -20 %s >&2", h->log);
		(void)!system(cmd);
	}
	unlink(h->log);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline int ht_count_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static inline int ht_fds(pid_t pid)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/%d/fd", pid);
	return ht_count_dir(p);
}

/*
 * homid's descriptor count once it holds still (three equal samples 50 ms
 * apart, 10 s at most): a client that has just gone may not be closed yet.
 */
static inline int ht_fds_settled(pid_t pid)
{
	int last = ht_fds(pid), same = 0;

	for (int i = 0; i < 200 && same < 2; i++) {
		int n;

		usleep(50000);
		n = ht_fds(pid);
		same = n == last ? same + 1 : 0;
		last = n;
	}
	return last;
}

/*
 * Wait up to 30 s for @count(@pid) to come back to @want or below; returns
 * the last count. Closing and unmapping after a hang-up take homid a moment;
 * a leak never comes back.
 */
static inline int ht_back_to(int (*count)(pid_t), pid_t pid, int want)
{
	int n = count(pid);

	for (int i = 0; i < 600 && n > want; i++) {
		usleep(50000);
		n = count(pid);
	}
	return n;
}

/*
 * homid's mappings that could hold a client's memory: file-backed (memfds,
 * BARs, vfio) or shared. Private anonymous ones are the allocator's (a
 * sanitizer's allocator maps a region for each size class the first time it
 * is used); leaks there are LeakSanitizer's to find.
 */
static inline int ht_maps(pid_t pid)
{
	char p[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(p, sizeof(p), "/proc/%d/maps", pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char perms[8] = "";
		unsigned long inode = 0;
		int path = 0;

		if (sscanf(line, "%*s %7s %*s %*s %lu %n", perms, &inode, &path) < 2)
			continue;
		if (inode || perms[3] == 's' || (path && line[path] && line[path] != '\n'))
			n++;
	}
	fclose(f);
	return n;
}

/* How many lines of homid's log hold @needle. */
static inline int ht_log_count(const struct ht_homid *h, const char *needle)
{
	char line[1024];
	FILE *f = fopen(h->log, "r");
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* Wait up to 30 s for homid's log to hold more than @before lines with @needle; 0 or -1. */
static inline int ht_log_wait(const struct ht_homid *h, const char *needle, int before)
{
	for (int i = 0; i < 1200; i++) {
		if (ht_log_count(h, needle) > before)
			return 0;
		usleep(25000);
	}
	fprintf(stderr, "homid's log never said \"%s\"\n", needle);
	return -1;
}

/* STATUS over a fresh connection: qids in use on controller 0 and clients other than us. */
static inline int ht_status(const char *sock, uint32_t *qids_used, uint32_t *nclients)
{
	static uint8_t buf[AISIO_HOMI_MSG_MAX];
	struct aisio_homi_status_reply sr;
	struct aisio_homi_ctrl_desc cd;
	struct aisio_homi_conn *c;
	size_t len;
	int err;

	err = aisio_homi_connect(sock, &c);
	if (err)
		return err;
	err = aisio_homi_call(c, AISIO_HOMI_STATUS, NULL, 0, -1, buf, sizeof(buf), &len, NULL);
	aisio_homi_disconnect(c);
	if (err)
		return err;
	memcpy(&sr, buf, sizeof(sr));
	memcpy(&cd, buf + sizeof(sr), sizeof(cd));
	*qids_used = cd.qids_used;
	*nclients = sr.nclient; /* the asking connection is left out */
	return 0;
}

/* A raw connection for malformed packets. */
static inline int ht_raw_connect(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	REQUIRE(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	REQUIRE(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

static inline uint64_t ht_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint64_t ht_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#endif
