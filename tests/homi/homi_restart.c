/* SPDX-License-Identifier: MIT */
/*
 * homid killed under a running direct client: the model lived inside homid,
 * so the client's I/O cannot finish; it gets a clear error within seconds
 * (not the 30 s command timeout). A new homid takes over the stale socket
 * and serves a new client.
 * Then homid restarted in place (SIGUSR2: it executes itself again, keeping
 * what a restart can keep): a model cannot be kept, so its direct and
 * mediated clients get the same clear error, the same homid process serves
 * again at once, a new client works, and no descriptor is left behind.
 * Usage: homi_restart HOMID
 */
#include <aisio/aisio.h>

#include "ht.h"

/*
 * A client that writes LBA 8 @rounds times (0: until an error); after its
 * first write it tells @ready (a pipe, or -1) that it is under way.
 */
static int client(const char *sock, int rounds, const char *mode, int ready)
{
	char uri[200];
	struct aisio_dev *dev;
	struct aisio_queue *q;
	void *buf;
	int err = 0;

	snprintf(uri, sizeof(uri), "homi:%s,mode=%s", sock, mode);
	if (aisio_dev_open(uri, NULL, &dev) || aisio_queue_init(dev, 8, &q))
		return 2;
	buf = aisio_buf_alloc(dev, 4096);
	if (!buf)
		return 3;
	for (int n = 0; !rounds || n < rounds; n++) {
		struct aisio_io *io = aisio_queue_get_io(q);

		aisio_prep_write(io, aisio_dev_geo(dev)->nsid, 8, 8, buf, 4096);
		err = aisio_io_sync(io);
		if (err) {
			fprintf(stderr, "client: %d: %s\n", err, aisio_errmsg());
			return strstr(aisio_errmsg(), "homid went away") ? 10 : 4;
		}
		if (!n && ready >= 0) {
			(void)!write(ready, "r", 1);
			close(ready);
		}
	}
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	return 0;
}

/* Fork a client of @mode that runs until an error; return once its first write is done. */
static pid_t client_under_way(const char *sock, const char *mode)
{
	int pfd[2];
	char c;
	pid_t p;

	REQUIRE(pipe(pfd) == 0);
	p = fork();
	REQUIRE(p >= 0);
	if (!p) {
		close(pfd[0]);
		_exit(client(sock, 0, mode, pfd[1]));
	}
	close(pfd[1]);
	/* EOF instead of a byte: the client failed before its first write (its status says why) */
	if (read(pfd[0], &c, 1) != 1)
		fprintf(stderr, "a %s client ended before its first write\n", mode);
	close(pfd[0]);
	return p;
}

int main(int argc, char **argv)
{
	const char *args[] = { "--ctrl", "emu:16M", NULL };
	struct ht_homid h;
	uint64_t t0;
	pid_t p;
	int st;

	REQUIRE(argc == 2);
	ht_start(&h, argv[1], args);
	p = client_under_way(h.sock, "direct");
	kill(h.pid, SIGKILL);
	REQUIRE(waitpid(h.pid, &st, 0) == h.pid);
	t0 = ht_now_ms();
	REQUIRE(waitpid(p, &st, 0) == p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 10);
	printf("client told homid went away %llu ms after the kill\n",
	       (unsigned long long)(ht_now_ms() - t0));
	CHECK(ht_now_ms() - t0 < 10000);

	/* a new homid on the same socket path (the dead one's file is still there) */
	ht_start(&h, argv[1], args);
	p = fork();
	REQUIRE(p >= 0);
	if (!p)
		_exit(client(h.sock, 100, "direct", -1));
	REQUIRE(waitpid(p, &st, 0) == p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* SIGUSR2: restart in place under a direct and a mediated client */
	{
		pid_t c[2];
		uint32_t used, ncl;
		int fds0, fds1;

		REQUIRE(ht_status(h.sock, &used, &ncl) == 0);
		fds0 = ht_fds_settled(h.pid); /* homid closes the STATUS connection when it sees the hang-up */
		for (int i = 0; i < 2; i++)
			c[i] = client_under_way(h.sock, i ? "mediated" : "direct");
		kill(h.pid, SIGUSR2);
		t0 = ht_now_ms();
		for (int i = 0; i < 2; i++) {
			REQUIRE(waitpid(c[i], &st, 0) == c[i]);
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 10);
		}
		printf("clients of the model told homid went away %llu ms after SIGUSR2\n",
		       (unsigned long long)(ht_now_ms() - t0));
		CHECK(ht_now_ms() - t0 < 10000);
		CHECK(ht_alive(&h)); /* the same process, executed again */
		p = fork();
		REQUIRE(p >= 0);
		if (!p)
			_exit(client(h.sock, 100, "direct", -1));
		REQUIRE(waitpid(p, &st, 0) == p);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		REQUIRE(ht_status(h.sock, &used, &ncl) == 0);
		CHECK_EQ(used, 0);
		CHECK_EQ(ncl, 0);
		fds1 = ht_back_to(ht_fds, h.pid, fds0);
		printf("homid descriptors before the restart %d, after %d\n", fds0, fds1);
		CHECK_EQ(fds1, fds0);
	}
	CHECK_EQ(ht_stop(&h), 0);
	return t_result("homi_restart");
}
