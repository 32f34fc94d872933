/* SPDX-License-Identifier: MIT */
/*
 * homid provisioning and reclaim latency.
 *
 *   homilat provision SOCKET CYCLES [direct|mediated]
 *     Each cycle: aisio_dev_open("homi:SOCKET,mode=M"), a registered 4 KiB
 *     buffer, a queue of depth 32, one 4 KiB read; the time from the open
 *     until that read completes (then everything is closed again), and the
 *     times to the end of the open, the buffer and the queue.
 *
 *   homilat reclaim SOCKET CYCLES [direct|mediated]
 *     Each cycle: a child process opens the device, creates a queue and
 *     reads in a loop; once its first read completed it tells the parent,
 *     which waits a random 0..2 ms (the child is mid-I/O) and sends SIGKILL.
 *     The time from kill() until homid's STATUS (polled every 100 us over
 *     one connection) shows the controller's queue IDs in use back at the
 *     count before the child started and the child's pid gone.
 *
 * Prints one line per figure: "NAME n N min X p50 X p99 X max X" (microseconds).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "homi/client.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* p-th percentile by nearest rank */
static double pct(const uint64_t *s, int n, double p)
{
	int i = (int)(p * n + 0.999999) - 1;

	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return (double)s[i] / 1e3;
}

static void report(const char *name, uint64_t *ns, int n)
{
	qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
	printf("%s n %d min %.1f p50 %.1f p99 %.1f max %.1f\n", name, n, ns[0] / 1e3,
	       pct(ns, n, 0.50), pct(ns, n, 0.99), ns[n - 1] / 1e3);
}

struct client {
	struct aisio_dev *dev;
	struct aisio_queue *q;
	void *buf;
};

static int client_open(const char *uri, struct client *c, uint64_t *t_open, uint64_t *t_buf,
		       uint64_t *t_queue)
{
	uint64_t t0 = now_ns();
	int err;

	memset(c, 0, sizeof(*c));
	err = aisio_dev_open(uri, NULL, &c->dev);
	if (err) {
		fprintf(stderr, "homilat: %s: %s\n", uri, aisio_errmsg());
		return err;
	}
	if (t_open)
		*t_open = now_ns() - t0;
	c->buf = aisio_buf_alloc(c->dev, 4096);
	if (!c->buf) {
		fprintf(stderr, "homilat: buffer: %s\n", aisio_errmsg());
		return -ENOMEM;
	}
	if (t_buf)
		*t_buf = now_ns() - t0;
	err = aisio_queue_init(c->dev, 32, &c->q);
	if (err) {
		fprintf(stderr, "homilat: queue: %s\n", aisio_errmsg());
		return err;
	}
	if (t_queue)
		*t_queue = now_ns() - t0;
	return 0;
}

static int client_read(struct client *c, uint64_t lba)
{
	const struct aisio_geo *g = aisio_dev_geo(c->dev);
	struct aisio_io *io = aisio_queue_get_io(c->q);
	int err;

	if (!io)
		return -EBUSY;
	aisio_prep_read(io, g->nsid, lba % (g->nlbas - 8), 4096 / g->lba_size, c->buf, 4096);
	err = aisio_io_sync(io);
	if (!err && io->status) {
		fprintf(stderr, "homilat: read failed: %s\n", aisio_status_str(io->status));
		err = -EIO;
	}
	aisio_queue_put_io(c->q, io);
	return err;
}

static void client_close(struct client *c)
{
	if (c->q)
		aisio_queue_term(c->q);
	if (c->buf)
		aisio_buf_free(c->dev, c->buf);
	if (c->dev)
		aisio_dev_close(c->dev);
}

static int provision(const char *uri, int cycles)
{
	uint64_t *total = calloc((size_t)cycles, 8), *open = calloc((size_t)cycles, 8);
	uint64_t *queue = calloc((size_t)cycles, 8), *buf = calloc((size_t)cycles, 8);

	if (!total || !open || !queue || !buf)
		return 1;
	for (int i = 0; i < cycles; i++) {
		struct client c;
		uint64_t t0 = now_ns();

		if (client_open(uri, &c, &open[i], &buf[i], &queue[i]) || client_read(&c, (uint64_t)i * 8)) {
			client_close(&c);
			return 1;
		}
		total[i] = now_ns() - t0;
		client_close(&c);
	}
	report("open", open, cycles);
	report("open+buf", buf, cycles);
	report("open+buf+queue", queue, cycles);
	report("provision", total, cycles);
	free(total);
	free(open);
	free(queue);
	free(buf);
	return 0;
}

/* STATUS: queue IDs in use on controller 0, and whether @pid is still a client. */
static int status(struct aisio_homi_conn *hc, pid_t pid, uint32_t *used, int *present)
{
	static uint8_t buf[AISIO_HOMI_MSG_MAX];
	struct aisio_homi_status_reply sr;
	struct aisio_homi_ctrl_desc cd;
	size_t len, off;
	int err;

	err = aisio_homi_call(hc, AISIO_HOMI_STATUS, NULL, 0, -1, buf, sizeof(buf), &len, NULL);
	if (err) {
		fprintf(stderr, "homilat: STATUS: %s\n", aisio_errmsg());
		return err;
	}
	memcpy(&sr, buf, sizeof(sr));
	memcpy(&cd, buf + sizeof(sr), sizeof(cd));
	*used = cd.qids_used;
	*present = 0;
	off = sizeof(sr) + (size_t)sr.nctrl * sizeof(cd) + (size_t)sr.nns * sizeof(struct aisio_homi_ns_desc);
	for (uint32_t i = 0; i < sr.nclient && off + sizeof(struct aisio_homi_client_desc) <= len; i++) {
		struct aisio_homi_client_desc d;

		memcpy(&d, buf + off, sizeof(d));
		if (d.pid == (uint32_t)pid)
			*present = 1;
		off += sizeof(d);
	}
	return 0;
}

static int reclaim(const char *sock, const char *uri, int cycles)
{
	uint64_t *ns = calloc((size_t)cycles, 8);
	struct aisio_homi_conn *hc;
	unsigned seed = (unsigned)getpid();
	int err;

	if (!ns)
		return 1;
	err = aisio_homi_connect(sock, &hc);
	if (err) {
		fprintf(stderr, "homilat: %s\n", aisio_errmsg());
		return 1;
	}
	for (int i = 0; i < cycles; i++) {
		uint32_t used0, used;
		int present, pfd[2], st;
		char b;
		pid_t p;
		uint64_t t0;

		if (status(hc, 0, &used0, &present) || pipe(pfd))
			return 1;
		p = fork();
		if (p < 0)
			return 1;
		if (!p) {
			struct client c;

			close(pfd[0]);
			if (client_open(uri, &c, NULL, NULL, NULL) || client_read(&c, 0))
				_exit(2);
			if (write(pfd[1], "r", 1) != 1)
				_exit(3);
			for (uint64_t n = 1;; n++)
				if (client_read(&c, n * 8))
					_exit(4);
		}
		close(pfd[1]);
		if (read(pfd[0], &b, 1) != 1) {
			fprintf(stderr, "homilat: cycle %d: the client failed before its first read\n", i);
			waitpid(p, &st, 0);
			return 1;
		}
		close(pfd[0]);
		usleep((useconds_t)(rand_r(&seed) % 2000));
		t0 = now_ns();
		kill(p, SIGKILL);
		for (;;) {
			if (status(hc, p, &used, &present))
				return 1;
			if (used == used0 && !present)
				break;
			if (now_ns() - t0 > 5000000000ull) {
				fprintf(stderr, "homilat: cycle %d: %u queue IDs in use 5 s after SIGKILL "
					"(%u before)\n", i, used, used0);
				return 1;
			}
			usleep(100);
		}
		ns[i] = now_ns() - t0;
		waitpid(p, &st, 0);
	}
	aisio_homi_disconnect(hc);
	report("reclaim", ns, cycles);
	free(ns);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 4 ? argv[4] : "direct";
	char uri[256];
	int cycles;

	if (argc < 4 || (strcmp(argv[1], "provision") && strcmp(argv[1], "reclaim")) ||
	    (strcmp(mode, "direct") && strcmp(mode, "mediated"))) {
		fprintf(stderr, "usage: homilat provision|reclaim SOCKET CYCLES [direct|mediated]\n");
		return 2;
	}
	cycles = atoi(argv[3]);
	if (cycles < 1) {
		fprintf(stderr, "homilat: CYCLES must be at least 1 (got '%s')\n", argv[3]);
		return 2;
	}
	snprintf(uri, sizeof(uri), "homi:%s,mode=%s", argv[2], mode);
	if (!strcmp(argv[1], "provision"))
		return provision(uri, cycles);
	return reclaim(argv[2], uri, cycles);
}
