/* SPDX-License-Identifier: MIT */
/* Helpers for the host tests of the kernel paths: checks and scratch files. */
#ifndef AISIO_TESTS_HOST_KT_H
#define AISIO_TESTS_HOST_KT_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <aisio/aisio.h>

static int kt_failed;

#define KT_CHECK(cond, ...)                                                        \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                              \
			fprintf(stderr, " (errmsg: %s)\n", aisio_errmsg());        \
			kt_failed = 1;                                             \
		}                                                                  \
	} while (0)

/* The message names the cause: it contains @word. */
#define KT_MSG_HAS(word) KT_CHECK(strstr(aisio_errmsg(), (word)) != NULL, "message lacks '%s'", (word))

/* A scratch file of @size bytes on a disk file system (O_DIRECT needs one). */
static inline char *kt_scratch(const char *tag, long long size)
{
	const char *dir = getenv("AISIO_TEST_DIR") ? getenv("AISIO_TEST_DIR") : "/var/tmp";
	char *path;
	int fd;

	if (asprintf(&path, "%s/aisio-%s-XXXXXX", dir, tag) < 0)
		exit(1);
	fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, size)) {
		perror(path);
		exit(1);
	}
	close(fd);
	return path;
}

static inline char *kt_uri(const char *path)
{
	char *uri;

	if (asprintf(&uri, "file:%s", path) < 0)
		exit(1);
	return uri;
}

/* Run one command synchronously on @q. */
static inline int kt_sync(struct aisio_queue *q, const struct aisio_nvme_sqe *cmd, void *buf,
			  size_t len)
{
	struct aisio_io *io = aisio_queue_get_io(q);

	if (!io)
		return -999;
	aisio_prep_cmd(io, cmd, buf, len);
	return aisio_io_sync(io);
}

static inline int kt_rw(struct aisio_queue *q, int write, uint32_t nsid, uint64_t slba,
			uint32_t nlb, void *buf, size_t len)
{
	struct aisio_io *io = aisio_queue_get_io(q);

	if (!io)
		return -999;
	if (write)
		aisio_prep_write(io, nsid, slba, nlb, buf, len);
	else
		aisio_prep_read(io, nsid, slba, nlb, buf, len);
	return aisio_io_sync(io);
}

#endif
