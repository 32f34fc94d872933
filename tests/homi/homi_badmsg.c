/* SPDX-License-Identifier: MIT */
/*
 * Bad messages to a running homid: truncated, oversized, wrong version,
 * garbage, unknown type, descriptors where none belong, a missing
 * descriptor, a descriptor that is not sealed memory, requests out of
 * order, GPU memory registrations homid cannot take (mediated session,
 * unknown handle kind, bad length, a controller without gpu=N). Each is
 * answered with the error the protocol names, or the client is dropped;
 * homid stays up, serves the next client, and leaks no descriptor. Then a
 * controller with gpu=0: without a GPU homid refuses to start and says
 * why; with one, a handle that names no allocation is refused (-EINVAL).
 * Usage: homi_badmsg HOMID
 */
#include <sys/mman.h>

#include "ht.h"

static uint8_t pkt[AISIO_HOMI_MSG_MAX + 4096];

/* Send raw bytes (and an fd), return the reply's status, or 1 when homid dropped us. */
static int raw(int sock, const void *buf, size_t len, int fd)
{
	static uint8_t rep[AISIO_HOMI_MSG_MAX];
	struct aisio_homi_hdr h;
	struct aisio_homi_reply r;
	int fds[1], nfds, trunc, n;

	if (aisio_homi_send(sock, buf, len, &fd, fd >= 0))
		return 1;
	n = aisio_homi_recv(sock, rep, sizeof(rep), fds, 1, &nfds, &trunc);
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (n <= 0)
		return 1;
	REQUIRE((size_t)n >= sizeof(h) + sizeof(r));
	memcpy(&h, rep, sizeof(h));
	memcpy(&r, rep + sizeof(h), sizeof(r));
	CHECK_EQ(h.magic, AISIO_HOMI_MAGIC);
	CHECK(h.type & AISIO_HOMI_REPLY);
	return r.status;
}

/* A GPU_MEM_REG request of @kind and @len with a handle of @fill bytes. */
static size_t gpu_msg(uint32_t kind, uint64_t len, uint8_t fill)
{
	struct aisio_homi_gpu_mem_reg g = { .kind = kind, .len = len };
	struct aisio_homi_hdr h = { .magic = AISIO_HOMI_MAGIC, .version = 1, .type = AISIO_HOMI_GPU_MEM_REG,
				    .len = sizeof(g), .seq = 8 };

	memset(g.handle, fill, sizeof(g.handle));
	memcpy(pkt, &h, sizeof(h));
	memcpy(pkt + sizeof(h), &g, sizeof(g));
	return sizeof(h) + sizeof(g);
}

/* Send a direct ATTACH; its reply's doorbell descriptor is closed. Returns the status. */
static int attach_direct(int s)
{
	struct aisio_homi_attach att = { .mode = AISIO_HOMI_MODE_DIRECT };
	struct aisio_homi_hdr h = { .magic = AISIO_HOMI_MAGIC, .version = 1, .type = AISIO_HOMI_ATTACH,
				    .len = sizeof(att), .seq = 9 };

	memcpy(pkt, &h, sizeof(h));
	memcpy(pkt + sizeof(h), &att, sizeof(att));
	return raw(s, pkt, sizeof(h) + sizeof(att), -1);
}

/*
 * homid with --ctrl emu:16M,gpu=0. Without a usable GPU it must exit at
 * once (status 1) with a message about the GPU; with one, it serves, and
 * a handle that names no GPU allocation is refused with -EINVAL.
 */
static void gpu_ctrl(const char *homid)
{
	char sock[108], log[128], cmd[300];
	int status = 0, s;
	pid_t pid, w = 0;

	snprintf(sock, sizeof(sock), "/tmp/homid-test-gpu-%d.sock", getpid());
	snprintf(log, sizeof(log), "/tmp/homid-test-gpu-%d.log", getpid());
	unlink(sock);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		execl(homid, homid, "--foreground", "--socket", sock, "--ctrl", "emu:16M,gpu=0", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 400 && !w; i++) {
		struct aisio_homi_conn *c;

		w = waitpid(pid, &status, WNOHANG);
		if (!w && !aisio_homi_connect(sock, &c)) {
			aisio_homi_disconnect(c);
			break;
		}
		usleep(25000);
	}
	if (w == pid) {
		/* no GPU here: refused at start, with the reason */
		snprintf(cmd, sizeof(cmd), "grep -q 'gpu=0.*needs CUDA' %s", log);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
		CHECK_EQ(system(cmd), 0);
		if (system(cmd))
			(void)!system("cat /tmp/homid-test-gpu-*.log >&2");
		unlink(log);
		printf("homid --ctrl emu:16M,gpu=0 without a GPU: refused at start with the reason\n");
		return;
	}
	REQUIRE(w == 0);
	s = ht_raw_connect(sock);
	if (!attach_direct(s)) {
		CHECK_EQ(raw(s, pkt, gpu_msg(AISIO_HOMI_GPU_CUDA_IPC, 4096, 0x33), -1), -EINVAL);
		printf("homid --ctrl emu:16M,gpu=0 on a GPU host: a handle of no allocation refused\n");
	}
	close(s);
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	unlink(log);
}

static size_t msg(uint16_t type, uint16_t version, uint32_t hdr_len, const void *body, size_t len)
{
	struct aisio_homi_hdr h = { .magic = AISIO_HOMI_MAGIC, .version = version, .type = type,
				    .len = hdr_len, .seq = 7 };

	memcpy(pkt, &h, sizeof(h));
	if (len)
		memcpy(pkt + sizeof(h), body, len);
	return sizeof(h) + len;
}

int main(int argc, char **argv)
{
	const char *args[] = { "--ctrl", "emu:16M", NULL };
	struct aisio_homi_hello hello = { .version_min = 1, .version_max = 1 };
	struct aisio_homi_mem_reg reg = { .len = 4096 };
	struct aisio_homi_attach att = { .mode = AISIO_HOMI_MODE_MEDIATED };
	struct ht_homid h;
	int s, fds0, memfd, r;
	size_t n;

	REQUIRE(argc == 2);
	ht_start(&h, argv[1], args);
	fds0 = ht_fds_settled(h.pid);
	s = ht_raw_connect(h.sock);

	/* shorter than the header */
	CHECK_EQ(raw(s, "HOMI", 4, -1), -EBADMSG);
	/* truncated: the header promises a body that is not there */
	n = msg(AISIO_HOMI_HELLO, 1, sizeof(hello), NULL, 0);
	CHECK_EQ(raw(s, pkt, n, -1), -EBADMSG);
	/* body of the wrong size for its type */
	n = msg(AISIO_HOMI_HELLO, 1, 4, &hello, 4);
	CHECK_EQ(raw(s, pkt, n, -1), -EBADMSG);
	/* wrong version */
	n = msg(AISIO_HOMI_HELLO, 9, sizeof(hello), &hello, sizeof(hello));
	CHECK_EQ(raw(s, pkt, n, -1), -EPROTONOSUPPORT);
	/* unknown type */
	n = msg(77, 1, 0, NULL, 0);
	CHECK_EQ(raw(s, pkt, n, -1), -EOPNOTSUPP);
	/* garbage */
	for (size_t i = 0; i < 200; i++)
		pkt[i] = (uint8_t)(i * 37 + 11);
	CHECK_EQ(raw(s, pkt, 200, -1), -EBADMSG);
	/* oversized: larger than AISIO_HOMI_MSG_MAX */
	memset(pkt, 0, sizeof(pkt));
	n = msg(AISIO_HOMI_HELLO, 1, sizeof(pkt) - 16, NULL, 0);
	r = raw(s, pkt, sizeof(pkt), -1);
	CHECK(r == -EMSGSIZE || r == 1);
	if (r == 1) {
		close(s);
		s = ht_raw_connect(h.sock);
	}
	/* a descriptor where none belongs: refused, and homid does not keep it */
	memfd = memfd_create("t", MFD_CLOEXEC);
	REQUIRE(memfd >= 0);
	n = msg(AISIO_HOMI_HELLO, 1, sizeof(hello), &hello, sizeof(hello));
	CHECK_EQ(raw(s, pkt, n, memfd), -EBADMSG);
	/* MEM_REG without its descriptor */
	n = msg(AISIO_HOMI_MEM_REG, 1, sizeof(reg), &reg, sizeof(reg));
	CHECK_EQ(raw(s, pkt, n, -1), -EBADMSG);
	/* requests out of order: memory before ATTACH */
	CHECK_EQ(raw(s, pkt, n, memfd), -ENOTCONN);
	CHECK_EQ(raw(s, pkt, gpu_msg(AISIO_HOMI_GPU_CUDA_IPC, 4096, 0), -1), -ENOTCONN);
	/* GPU_MEM_REG takes no descriptor, and exactly its 96 bytes */
	CHECK_EQ(raw(s, pkt, gpu_msg(AISIO_HOMI_GPU_CUDA_IPC, 4096, 0), memfd), -EBADMSG);
	n = gpu_msg(AISIO_HOMI_GPU_CUDA_IPC, 4096, 0);
	((struct aisio_homi_hdr *)pkt)->len = 80;
	CHECK_EQ(raw(s, pkt, n - 16, -1), -EBADMSG);
	/* after ATTACH: an unsealed memfd is refused (the client could shrink it under homid) */
	n = msg(AISIO_HOMI_ATTACH, 1, sizeof(att), &att, sizeof(att));
	CHECK_EQ(raw(s, pkt, n, -1), 0);
	/* GPU memory in a mediated session: the mediator reads client memory with the CPU */
	CHECK_EQ(raw(s, pkt, gpu_msg(AISIO_HOMI_GPU_CUDA_IPC, 4096, 0), -1), -ENOTSUP);
	REQUIRE(ftruncate(memfd, 4096) == 0);
	n = msg(AISIO_HOMI_MEM_REG, 1, sizeof(reg), &reg, sizeof(reg));
	CHECK_EQ(raw(s, pkt, n, memfd), -EINVAL);
	/* a queue whose rings are not in registered memory */
	{
		struct aisio_homi_qp_create qc = { .depth = 16, .sq_bus = 0x100000, .cq_bus = 0x200000 };

		n = msg(AISIO_HOMI_QP_CREATE, 1, sizeof(qc), &qc, sizeof(qc));
		CHECK_EQ(raw(s, pkt, n, -1), -EFAULT);
	}
	/* GPU memory on a direct session of a controller started without gpu=N */
	{
		int d = ht_raw_connect(h.sock);
		int ar = attach_direct(d);

		if (ar == 0) {
			CHECK_EQ(raw(d, pkt, gpu_msg(7, 4096, 0), -1), -EINVAL);                      /* kind */
			CHECK_EQ(raw(d, pkt, gpu_msg(AISIO_HOMI_GPU_CUDA_IPC, 0, 0), -1), -EINVAL);    /* length 0 */
			CHECK_EQ(raw(d, pkt, gpu_msg(AISIO_HOMI_GPU_CUDA_IPC, 4097, 0), -1), -EINVAL); /* not pages */
			CHECK_EQ(raw(d, pkt, gpu_msg(AISIO_HOMI_GPU_CUDA_IPC, 4096, 0), -1), -ENOTSUP);
			/* nothing was registered: the connection holds no memory */
			{
				struct aisio_homi_mem_unreg u = { .mem_id = 1 };

				n = msg(AISIO_HOMI_MEM_UNREG, 1, sizeof(u), &u, sizeof(u));
				CHECK_EQ(raw(d, pkt, n, -1), -ENOENT);
			}
		} else {
			CHECK(getuid() != 0); /* root gets direct queues by default */
			printf("direct GPU_MEM_REG refusals not checked: uid %u has no direct grant\n", getuid());
		}
		close(d);
	}
	/* a well-formed request on the same connection still works */
	n = msg(AISIO_HOMI_HELLO, 1, sizeof(hello), &hello, sizeof(hello));
	CHECK_EQ(raw(s, pkt, n, -1), 0);
	/* an empty packet reads as a hang-up: homid drops that client and goes on */
	CHECK(send(s, "", 0, 0) == 0);
	close(s);
	close(memfd);

	CHECK(ht_alive(&h));
	{
		struct aisio_homi_conn *c;

		CHECK_EQ(aisio_homi_connect(h.sock, &c), 0);
		aisio_homi_disconnect(c);
	}
	CHECK_EQ(ht_back_to(ht_fds, h.pid, fds0), fds0);
	CHECK_EQ(ht_stop(&h), 0);
	gpu_ctrl(argv[1]);
	return t_result("homi_badmsg");
}
