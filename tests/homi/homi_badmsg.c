/* SPDX-License-Identifier: MIT */
/*
 * Bad messages to a running homid: truncated, oversized, wrong version,
 * garbage, unknown type, descriptors where none belong, a missing
 * descriptor, a descriptor that is not sealed memory, requests out of
 * order. Each is answered with the error the protocol names, or the
 * client is dropped; homid stays up, serves the next client, and leaks no
 * descriptor. Usage: homi_badmsg HOMID
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
	usleep(50000);
	fds0 = ht_fds(h.pid);
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
	/* after ATTACH: an unsealed memfd is refused (the client could shrink it under homid) */
	n = msg(AISIO_HOMI_ATTACH, 1, sizeof(att), &att, sizeof(att));
	CHECK_EQ(raw(s, pkt, n, -1), 0);
	REQUIRE(ftruncate(memfd, 4096) == 0);
	n = msg(AISIO_HOMI_MEM_REG, 1, sizeof(reg), &reg, sizeof(reg));
	CHECK_EQ(raw(s, pkt, n, memfd), -EINVAL);
	/* a queue whose rings are not in registered memory */
	{
		struct aisio_homi_qp_create qc = { .depth = 16, .sq_bus = 0x100000, .cq_bus = 0x200000 };

		n = msg(AISIO_HOMI_QP_CREATE, 1, sizeof(qc), &qc, sizeof(qc));
		CHECK_EQ(raw(s, pkt, n, -1), -EFAULT);
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
	usleep(100000);
	CHECK_EQ(ht_fds(h.pid), fds0);
	CHECK_EQ(ht_stop(&h), 0);
	return t_result("homi_badmsg");
}
