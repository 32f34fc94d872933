/* SPDX-License-Identifier: MIT */
/*
 * Opening a file: never creates or changes it unless the caller asks
 * (AISIO_OPEN_CREATE): a query with size= larger than the file leaves its size
 * and mtime alone and says why; a missing file is not created. With the flag,
 * size= creates and grows. Malformed sizes and missing paths are refused.
 */
#include <errno.h>
#include <sys/stat.h>

#include "kt.h"

/* Size and mtime (ns) of @path; the file must exist. */
static void size_mtime(const char *path, long long *size, long long *mtime_ns)
{
	struct stat st;

	if (stat(path, &st)) {
		perror(path);
		exit(1);
	}
	*size = (long long)st.st_size;
	*mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
}

/* Back-date @path's mtime so that any change to it shows. */
static void backdate(const char *path)
{
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	if (utimensat(AT_FDCWD, path, ts, 0)) {
		perror(path);
		exit(1);
	}
}

static char *uri_of(const char *path, const char *opt)
{
	char *uri;

	if (asprintf(&uri, "file:%s%s", path, opt) < 0)
		exit(1);
	return uri;
}

/* A query (no AISIO_OPEN_CREATE) on a 4 MiB file with size=10G. */
static void test_query_keeps_file(const char *be)
{
	struct aisio_open_opts oo = { .be = be };
	char *path = kt_scratch("query", 4 << 20);
	char *uri = uri_of(path, ",size=10G");
	long long size, mtime, size2, mtime2;
	struct aisio_dev *dev;
	int err;

	backdate(path);
	size_mtime(path, &size, &mtime);
	err = aisio_dev_open(uri, &oo, &dev);
	KT_CHECK(err == -EINVAL, "size=10G on a 4 MiB file without AISIO_OPEN_CREATE: %d", err);
	KT_MSG_HAS("holds 4194304 bytes");
	KT_MSG_HAS("left as it is");
	if (!err)
		aisio_dev_close(dev);
	size_mtime(path, &size2, &mtime2);
	KT_CHECK(size2 == size && mtime2 == mtime, "file changed: size %lld -> %lld, mtime %lld -> %lld",
		 size, size2, mtime, mtime2);
	free(uri);

	/* size= no larger than the file: opens at the file's own size, changes nothing. */
	uri = uri_of(path, ",size=1M");
	err = aisio_dev_open(uri, &oo, &dev);
	KT_CHECK(err == 0, "size=1M on a 4 MiB file: %d", err);
	if (!err) {
		KT_CHECK(aisio_dev_geo(dev)->nlbas == 8192, "nlbas %llu, want the file's 8192",
			 (unsigned long long)aisio_dev_geo(dev)->nlbas);
		aisio_dev_close(dev);
	}
	size_mtime(path, &size2, &mtime2);
	KT_CHECK(size2 == size && mtime2 == mtime, "file changed by size=1M");
	free(uri);

	/* Asked to: grows it, never shrinks it. */
	oo.flags = AISIO_OPEN_CREATE;
	uri = uri_of(path, ",size=8M");
	err = aisio_dev_open(uri, &oo, &dev);
	KT_CHECK(err == 0 && aisio_dev_geo(dev)->nlbas == 16384, "grow to 8M with AISIO_OPEN_CREATE: %d",
		 err);
	if (!err)
		aisio_dev_close(dev);
	size_mtime(path, &size2, &mtime2);
	KT_CHECK(size2 == 8 << 20, "size after growing: %lld", size2);
	free(uri);
	uri = uri_of(path, ",size=1M");
	err = aisio_dev_open(uri, &oo, &dev);
	KT_CHECK(err == 0 && aisio_dev_geo(dev)->nlbas == 16384, "size=1M on an 8M file: %d", err);
	if (!err)
		aisio_dev_close(dev);
	size_mtime(path, &size2, &mtime2);
	KT_CHECK(size2 == 8 << 20, "size=1M shrank the file to %lld", size2);
	unlink(path);
	free(path);
	free(uri);
}

/* A missing file: created only with AISIO_OPEN_CREATE and size=. */
static void test_missing(const char *be)
{
	struct aisio_open_opts oo = { .be = be };
	char *path = kt_scratch("missing", 0);
	char *uri = uri_of(path, ",size=1M");
	struct aisio_dev *dev;
	struct stat st;
	int err;

	unlink(path);
	err = aisio_dev_open(uri, &oo, &dev);
	KT_CHECK(err == -ENOENT, "missing file, size=, no AISIO_OPEN_CREATE: %d", err);
	KT_MSG_HAS("no such file");
	KT_CHECK(stat(path, &st) && errno == ENOENT, "the file was created");
	oo.flags = AISIO_OPEN_CREATE;
	err = aisio_dev_open(uri, &oo, &dev);
	KT_CHECK(err == 0 && aisio_dev_geo(dev)->nlbas == 2048, "create with size=: %d", err);
	if (!err)
		aisio_dev_close(dev);
	KT_CHECK(!stat(path, &st) && st.st_size == 1 << 20, "created file's size");
	unlink(path);
	free(path);
	free(uri);
}

/* Sizes and paths that are not valid: refused, nothing created. */
static void test_bad_uris(const char *be)
{
	static const char *const bad_sizes[] = { "-1", "", "1Q", "18446744073709551616", "16E",
						 " 5", "0x10", "0" };
	struct aisio_open_opts oo = { .be = be, .flags = AISIO_OPEN_CREATE };
	char *path = kt_scratch("badsize", 0);
	struct aisio_dev *dev;
	struct stat st;
	int err;

	unlink(path);
	for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		char *uri;

		if (asprintf(&uri, "file:%s,size=%s", path, bad_sizes[i]) < 0)
			exit(1);
		err = aisio_dev_open(uri, &oo, &dev);
		KT_CHECK(err == -EINVAL, "size=%s: %d", bad_sizes[i], err);
		KT_MSG_HAS("bad size");
		if (!err)
			aisio_dev_close(dev);
		KT_CHECK(stat(path, &st) && errno == ENOENT, "size=%s created the file", bad_sizes[i]);
		free(uri);
	}
	err = aisio_dev_open("file:", &oo, &dev);
	KT_CHECK(err == -EINVAL, "file: with no path: %d", err);
	KT_MSG_HAS("the path is missing");
	KT_CHECK(!strstr(aisio_errmsg(), "truncate"), "suggests a command on an empty path");
	err = aisio_dev_open("file:,size=1G", &oo, &dev);
	KT_CHECK(err == -EINVAL, "file:,size=1G: %d", err);
	KT_MSG_HAS("the path is missing");
	/* A path without a scheme that names nothing. */
	err = aisio_dev_open(path, NULL, &dev);
	KT_CHECK(err == -ENOENT, "path without a scheme: %d", err);
	KT_MSG_HAS("no such file: ");
	KT_MSG_HAS(path);
	err = aisio_dev_open("/dev/aisio-no-such-nvme0n1", &oo, &dev);
	KT_CHECK(err == -ENOENT, "missing device: %d", err);
	KT_MSG_HAS("no such device");
	free(path);
}

int main(int argc, char **argv)
{
	const char *be = argc > 1 ? argv[1] : "psync";

	test_query_keeps_file(be);
	test_missing(be);
	test_bad_uris(be);
	if (!kt_failed)
		printf("PASS open without harm, %s\n", be);
	return kt_failed;
}
