/* SPDX-License-Identifier: MIT */
/*
 * Missing permission on the kernel paths (backend from argv[1]): a file the
 * user cannot open at all fails with -EACCES and says so; a file the user
 * may only read opens read-only, reads work, and writes fail with -EACCES
 * naming the read-only open. As root the checks run in a child that drops
 * to user nobody (65534).
 */
#include <errno.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kt.h"

static void as_user(const char *be, const char *noaccess, const char *readonly)
{
	struct aisio_open_opts oo = { .be = be };
	char *u1 = kt_uri(noaccess), *u2 = kt_uri(readonly);
	struct aisio_queue *q;
	struct aisio_dev *dev;
	uint8_t *buf;
	int err, st;

	err = aisio_dev_open(u1, &oo, &dev);
	KT_CHECK(err == -EACCES, "open without permission: %d", err);
	KT_MSG_HAS("permission denied");

	err = aisio_dev_open(u2, &oo, &dev);
	KT_CHECK(err == 0, "open a read-only file: %d", err);
	if (err)
		goto out;
	KT_CHECK(aisio_queue_init(dev, 4, &q) == 0, "queue");
	buf = aisio_buf_alloc(dev, 4096);
	st = kt_rw(q, 0, 1, 0, 8, buf, 4096);
	KT_CHECK(st == 0, "read of a read-only file: %d", st);
	st = kt_rw(q, 1, 1, 0, 8, buf, 4096);
	KT_CHECK(st == -EACCES, "write to a read-only file: %d", st);
	KT_MSG_HAS("read-only");
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
out:
	free(u1);
	free(u2);
}

int main(int argc, char **argv)
{
	const char *be = argc > 1 ? argv[1] : "psync";
	char *noaccess = kt_scratch("noaccess", 1 << 20);
	char *readonly = kt_scratch("readonly", 1 << 20);
	int status = 0;

	chmod(noaccess, 0);
	chmod(readonly, 0444);
	if (geteuid() == 0) {
		pid_t pid;

		/* The scratch directory must let nobody reach the files. */
		struct stat st;
		char *dir = strdup(noaccess);

		*strrchr(dir, '/') = '\0';
		if (stat(dir, &st) || !(st.st_mode & S_IXOTH)) {
			printf("skip: %s is not searchable by other users\n", dir);
			status = 77;
			free(dir);
			goto out;
		}
		free(dir);
		pid = fork();
		if (pid == 0) {
			if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
			    setresuid(65534, 65534, 65534)) {
				perror("drop to nobody");
				_exit(77);
			}
			as_user(be, noaccess, readonly);
			_exit(kt_failed);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
			status = 1;
		else
			status = WEXITSTATUS(status);
	} else {
		as_user(be, noaccess, readonly);
		status = kt_failed;
	}
	if (!status)
		printf("PASS permission errors on %s\n", be);
out:
	unlink(noaccess);
	unlink(readonly);
	free(noaccess);
	free(readonly);
	return status;
}
