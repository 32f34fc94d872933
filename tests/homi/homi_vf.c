/* SPDX-License-Identifier: MIT */
/*
 * VF_TAKE and VF_STATUS refusals on the model (the guest test vm_sriov_vf
 * takes real VFs): no pool, a VF not in the pool, a malformed address, a
 * VF that cannot be opened, a connection attached to a controller, a uid
 * without direct grants. Each gets its errno and a message that says what
 * to do; nothing is held afterwards. Usage: homi_vf HOMID
 */
#include <errno.h>
#include <aisio/aisio.h>

#include "ht.h"

#define NOBODY 65534

static int take(const char *sock, const char *bdf, int attach_first, char *msg, size_t cap)
{
	struct aisio_homi_vf_take req = { 0 };
	struct aisio_homi_vf_take_reply rep;
	struct aisio_homi_conn *c;
	int fds[3], n = 0, err;

	if (aisio_homi_connect(sock, &c))
		return -999;
	if (attach_first) {
		struct aisio_homi_attach att = { .mode = AISIO_HOMI_MODE_DIRECT };
		struct aisio_homi_attach_reply ar;
		int fd = -1;

		if (aisio_homi_call(c, AISIO_HOMI_ATTACH, &att, sizeof(att), -1, &ar, sizeof(ar), NULL,
				    &fd))
			return -998;
		close(fd);
	}
	snprintf(req.bdf, sizeof(req.bdf), "%s", bdf);
	err = aisio_homi_call_fds(c, AISIO_HOMI_VF_TAKE, &req, sizeof(req), -1, &rep, sizeof(rep),
				  NULL, fds, 3, &n);
	snprintf(msg, cap, "%s", aisio_errmsg());
	for (int i = 0; i < n; i++)
		close(fds[i]);
	aisio_homi_disconnect(c);
	return err;
}

static int vf_status(const char *sock, char *text, size_t cap)
{
	struct aisio_homi_conn *c;
	size_t len = 0;
	int err;

	if (aisio_homi_connect(sock, &c))
		return -999;
	err = aisio_homi_call(c, AISIO_HOMI_VF_STATUS, NULL, 0, -1, text, cap - 1, &len, NULL);
	text[err ? 0 : len] = 0;
	aisio_homi_disconnect(c);
	return err;
}

int main(int argc, char **argv)
{
	const char *pool[] = { "--ctrl", "emu:16M", "--vf", "pci:0000:7f:1f.7", NULL };
	const char *none[] = { "--ctrl", "emu:16M", NULL };
	char msg[256], text[AISIO_HOMI_VF_STATUS_MAX + 1];
	struct ht_homid h;
	uint32_t used, ncl;
	pid_t p;
	int st;

	REQUIRE(argc == 2);
	ht_start(&h, argv[1], none);
	CHECK_EQ(take(h.sock, "", 0, msg, sizeof(msg)), -ENODEV);
	CHECK(strstr(msg, "--vf pci:BDF") != NULL);
	CHECK_EQ(vf_status(h.sock, text, sizeof(text)), 0);
	CHECK_EQ(strlen(text), 0);
	CHECK_EQ(ht_stop(&h), 0);

	ht_start(&h, argv[1], pool);
	/* a pooled VF that is not there: the open fails and says why; the VF stays free */
	CHECK(take(h.sock, "", 0, msg, sizeof(msg)) < 0);
	printf("missing VF: %s\n", msg);
	CHECK(strstr(msg, "0000:7f:1f.7 cannot be opened") != NULL);
	CHECK_EQ(take(h.sock, "0000:7f:1f.6", 0, msg, sizeof(msg)), -ENODEV);
	CHECK(strstr(msg, "not in homid's VF pool") != NULL);
	CHECK_EQ(take(h.sock, "not-a-bdf", 0, msg, sizeof(msg)), -EINVAL);
	CHECK_EQ(take(h.sock, "", 1, msg, sizeof(msg)), -EALREADY);
	CHECK(strstr(msg, "connection of its own") != NULL);
	CHECK_EQ(vf_status(h.sock, text, sizeof(text)), 0);
	printf("VF_STATUS: %s", text);
	CHECK(strstr(text, "0000:7f:1f.7 free") != NULL);
	CHECK(strstr(text, "taken 0 time(s)") != NULL);
	/* a uid without direct grants (the default policy: root only) */
	p = fork();
	REQUIRE(p >= 0);
	if (!p) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(77);
		_exit(take(h.sock, "", 0, msg, sizeof(msg)) == -EPERM && strstr(msg, "direct = yes") ? 0
												       : 1);
	}
	REQUIRE(waitpid(p, &st, 0) == p);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		printf("not root: the nobody check is skipped\n");
	else
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	REQUIRE(ht_status(h.sock, &used, &ncl) == 0);
	CHECK_EQ(used, 0);
	CHECK_EQ(ncl, 0);
	CHECK_EQ(ht_stop(&h), 0);
	return t_result("homi_vf");
}
