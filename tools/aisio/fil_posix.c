/* SPDX-License-Identifier: MIT */
/*
 * aisio fil run --path posix | io_uring: the kernel's file path into host
 * memory. posix: open, pread per unit, close. io_uring: each thread keeps up
 * to --qd reads in flight on its own ring (files opened with open(2), the
 * data through the ring).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef AISIO_HAVE_LIBURING
#include <liburing.h>
#endif

#include "fil.h"

int fil_run_threads(struct fil_run *r, void *(*fn)(void *))
{
	pthread_t th[256];
	uint32_t n = r->o->threads, started = 0;

	for (; started < n; started++)
		if (pthread_create(&th[started], NULL, fn, r)) {
			fil_fail(r, -EAGAIN, "cannot start thread %u of %u", started + 1, n);
			break;
		}
	for (uint32_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return atomic_load(&r->err);
}

/* A thread's open file: kept while consecutive units read the same file. */
struct cur_file {
	uint32_t file;
	int fd;
};

static int cur_open(struct fil_run *r, struct cur_file *c, uint32_t fi)
{
	char path[PATH_MAX];

	if (c->fd >= 0 && c->file == fi)
		return c->fd;
	if (c->fd >= 0)
		close(c->fd);
	snprintf(path, sizeof(path), "%s/%s", r->o->target, r->set->f[fi].path);
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	c->file = fi;
	if (c->fd < 0)
		return fil_fail(r, -errno, "%s: %s", path, strerror(errno));
	return c->fd;
}

static int short_read(struct fil_run *r, uint32_t fi, uint64_t off)
{
	return fil_fail(r, -ENODATA, "%s/%s: short file: ends at byte %llu, the manifest says %llu bytes",
			r->o->target, r->set->f[fi].path, (unsigned long long)off,
			(unsigned long long)r->set->f[fi].size);
}

static void *posix_worker(void *arg)
{
	struct fil_run *r = arg;
	struct cur_file c = { .fd = -1 };
	char *buf = NULL;
	uint64_t ui;

	if (posix_memalign((void **)&buf, 4096, r->set->max_unit ? r->set->max_unit : 4096)) {
		fil_fail(r, -ENOMEM, "out of memory for a %u-byte buffer", r->set->max_unit);
		return NULL;
	}
	while ((ui = fil_claim(r)) != UINT64_MAX) {
		const struct fil_unit *u = &r->set->u[ui];
		int fd;
		size_t got = 0;

		fil_unit_start(r, ui);
		fd = cur_open(r, &c, u->file);
		if (fd < 0)
			break;
		while (got < u->len) {
			ssize_t n = pread(fd, buf + got, u->len - got, (off_t)(u->off + got));

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				fil_fail(r, -errno, "%s/%s: read at %llu: %s", r->o->target,
					 r->set->f[u->file].path, (unsigned long long)(u->off + got),
					 strerror(errno));
				goto out;
			}
			if (n == 0) {
				short_read(r, u->file, u->off + got);
				goto out;
			}
			got += (size_t)n;
		}
		fil_served_add(r, 0, u->len);
		if (r->o->verify)
			fil_verify_host(r, u->file, u->off, buf, u->len);
		if (u->off + u->len == r->set->f[u->file].size && c.fd >= 0) {
			close(c.fd); /* the file's last unit: do not hold it open */
			c.fd = -1;
		}
		fil_unit_done(r, ui);
	}
out:
	if (c.fd >= 0)
		close(c.fd);
	free(buf);
	return NULL;
}

int fil_run_posix(struct fil_run *r)
{
	r->served[0].name = "posix";
	return fil_run_threads(r, posix_worker);
}

#ifdef AISIO_HAVE_LIBURING
struct uring_slot {
	uint64_t ui;
	int fd;
	char *buf;
};

static void *uring_worker(void *arg)
{
	struct fil_run *r = arg;
	uint32_t qd = r->o->qd, inflight = 0;
	struct uring_slot *slots = calloc(qd, sizeof(*slots));
	uint32_t *freel = calloc(qd, sizeof(*freel)), nfree = qd;
	size_t blen = r->set->max_unit ? r->set->max_unit : 4096;
	struct io_uring ring;
	int rc, done = 0;

	if (!slots || !freel) {
		fil_fail(r, -ENOMEM, "out of memory");
		goto out_free;
	}
	rc = io_uring_queue_init(qd, &ring, 0);
	if (rc < 0) {
		fil_fail(r, rc, "io_uring_queue_init(%u): %s", qd, strerror(-rc));
		goto out_free;
	}
	for (uint32_t i = 0; i < qd; i++) {
		freel[i] = i;
		if (posix_memalign((void **)&slots[i].buf, 4096, blen)) {
			fil_fail(r, -ENOMEM, "out of memory for read buffers");
			goto out_ring;
		}
	}
	while (!done || inflight) {
		struct io_uring_cqe *cqe;
		uint32_t queued = 0;

		/* fill every free slot with a claimed unit */
		while (!done && nfree) {
			uint64_t ui = fil_claim(r);
			struct uring_slot *s;
			struct io_uring_sqe *sqe;
			const struct fil_unit *u;
			char path[PATH_MAX];

			if (ui == UINT64_MAX) {
				done = 1;
				break;
			}
			u = &r->set->u[ui];
			s = &slots[freel[--nfree]];
			fil_unit_start(r, ui);
			snprintf(path, sizeof(path), "%s/%s", r->o->target, r->set->f[u->file].path);
			s->fd = open(path, O_RDONLY | O_CLOEXEC);
			if (s->fd < 0) {
				fil_fail(r, -errno, "%s: %s", path, strerror(errno));
				freel[nfree++] = (uint32_t)(s - slots);
				done = 1;
				break;
			}
			s->ui = ui;
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_read(sqe, s->fd, s->buf, u->len, u->off);
			io_uring_sqe_set_data(sqe, s);
			queued++;
		}
		if (queued) {
			rc = io_uring_submit(&ring);
			if (rc < 0) {
				fil_fail(r, rc, "io_uring_submit: %s", strerror(-rc));
				break;
			}
			inflight += queued;
		}
		if (!inflight)
			break;
		rc = io_uring_wait_cqe(&ring, &cqe);
		if (rc < 0) {
			fil_fail(r, rc, "io_uring_wait_cqe: %s", strerror(-rc));
			break;
		}
		do {
			struct uring_slot *s = io_uring_cqe_get_data(cqe);
			const struct fil_unit *u = &r->set->u[s->ui];
			int res = cqe->res;

			io_uring_cqe_seen(&ring, cqe);
			inflight--;
			if (res < 0) {
				fil_fail(r, res, "%s/%s: read at %llu: %s", r->o->target,
					 r->set->f[u->file].path, (unsigned long long)u->off, strerror(-res));
				done = 1;
			} else if ((uint32_t)res < u->len) {
				/* page-cache reads are whole unless the file is shorter than it should be */
				short_read(r, u->file, u->off + (uint64_t)res);
				done = 1;
			} else {
				fil_served_add(r, 0, u->len);
				if (r->o->verify)
					fil_verify_host(r, u->file, u->off, s->buf, u->len);
				fil_unit_done(r, s->ui);
			}
			close(s->fd);
			freel[nfree++] = (uint32_t)(s - slots);
		} while (io_uring_peek_cqe(&ring, &cqe) == 0);
	}
	while (inflight) { /* after an error: let what was submitted finish */
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			break;
		close(((struct uring_slot *)io_uring_cqe_get_data(cqe))->fd);
		io_uring_cqe_seen(&ring, cqe);
		inflight--;
	}
out_ring:
	io_uring_queue_exit(&ring);
out_free:
	for (uint32_t i = 0; slots && i < qd; i++)
		free(slots[i].buf);
	free(slots);
	free(freel);
	return NULL;
}

int fil_run_uring(struct fil_run *r)
{
	r->served[0].name = "io_uring";
	return fil_run_threads(r, uring_worker);
}
#else
int fil_run_uring(struct fil_run *r)
{
	return fil_fail(r, -ENOTSUP, "this aisio was built without liburing: no io_uring path");
}
#endif
