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

static int client(const char *sock, int rounds, const char *mode)
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
	}
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	return 0;
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
	p = fork();
	REQUIRE(p >= 0);
	if (!p)
		_exit(client(h.sock, 0, "direct"));
	usleep(300000);
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
		_exit(client(h.sock, 100, "direct"));
	REQUIRE(waitpid(p, &st, 0) == p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* SIGUSR2: restart in place under a direct and a mediated client */
	{
		pid_t c[2];
		uint32_t used, ncl;
		int fds0, fds1;

		REQUIRE(ht_status(h.sock, &used, &ncl) == 0);
		usleep(200000); /* homid closes the STATUS connection when it sees the hang-up */
		fds0 = ht_fds(h.pid);
		for (int i = 0; i < 2; i++) {
			c[i] = fork();
			REQUIRE(c[i] >= 0);
			if (!c[i])
				_exit(client(h.sock, 0, i ? "mediated" : "direct"));
		}
		usleep(300000);
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
			_exit(client(h.sock, 100, "direct"));
		REQUIRE(waitpid(p, &st, 0) == p);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
		REQUIRE(ht_status(h.sock, &used, &ncl) == 0);
		CHECK_EQ(used, 0);
		CHECK_EQ(ncl, 0);
		for (int i = 0; i < 100 && (fds1 = ht_fds(h.pid)) != fds0; i++)
			usleep(20000);
		printf("homid descriptors before the restart %d, after %d\n", fds0, fds1);
		CHECK_EQ(fds1, fds0);
	}
	CHECK_EQ(ht_stop(&h), 0);
	return t_result("homi_restart");
}
