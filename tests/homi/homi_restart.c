/* SPDX-License-Identifier: MIT */
/*
 * homid killed under a running direct client: the model lived inside homid,
 * so the client's I/O cannot finish; it gets a clear error within seconds
 * (not the 30 s command timeout). A new homid takes over the stale socket
 * and serves a new client. Usage: homi_restart HOMID
 */
#include <aisio/aisio.h>

#include "ht.h"

static int client(const char *sock, int rounds)
{
	char uri[160];
	struct aisio_dev *dev;
	struct aisio_queue *q;
	void *buf;
	int err = 0;

	snprintf(uri, sizeof(uri), "homi:%s", sock);
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
		_exit(client(h.sock, 0));
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
		_exit(client(h.sock, 100));
	REQUIRE(waitpid(p, &st, 0) == p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(ht_stop(&h), 0);
	return t_result("homi_restart");
}
