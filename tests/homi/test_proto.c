/* SPDX-License-Identifier: MIT */
/* The homid message codec: round trips and every refusal, with descriptors closed. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "../unit/t.h"
#include "homi/proto.h"
#include <aisio/aisio.h>

static uint8_t buf[AISIO_HOMI_MSG_MAX];

static int closed(int fd)
{
	return fcntl(fd, F_GETFD) == -1;
}

int main(void)
{
	struct aisio_homi_qp_create qc = { .depth = 32, .sq_bus = 0x1000, .cq_bus = 0x2000 };
	struct aisio_homi_mem_reg mr = { .len = 8192 };
	struct aisio_homi_msg m;
	const uint8_t *body;
	uint32_t len;
	int32_t status;
	int n, fd;

	/* request round trip */
	n = aisio_homi_encode(buf, AISIO_HOMI_QP_CREATE, 5, &qc, sizeof(qc));
	CHECK_EQ(n, 16 + 24);
	CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), 0);
	CHECK_EQ(m.hdr.type, AISIO_HOMI_QP_CREATE);
	CHECK_EQ(m.hdr.seq, 5);
	CHECK_EQ(m.len, 24);
	CHECK(!memcmp(m.body, &qc, sizeof(qc)));
	CHECK_EQ(m.fd, -1);
	/* each refusal */
	CHECK_EQ(aisio_homi_decode(buf, 15, NULL, 0, 0, &m), -EBADMSG);
	CHECK_EQ(aisio_homi_decode(buf, (size_t)n - 1, NULL, 0, 0, &m), -EBADMSG);
	CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 1, &m), -EMSGSIZE);
	CHECK_EQ(aisio_homi_decode(buf, AISIO_HOMI_MSG_MAX + 1, NULL, 0, 0, &m), -EMSGSIZE);
	buf[4] = 2; /* version */
	CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), -EPROTONOSUPPORT);
	buf[4] = 1;
	buf[0] ^= 0xff; /* magic */
	CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), -EBADMSG);
	buf[0] ^= 0xff;
	n = aisio_homi_encode(buf, 99, 1, NULL, 0);
	CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), -EOPNOTSUPP);
	n = aisio_homi_encode(buf, AISIO_HOMI_QP_CREATE, 1, &qc, 20); /* wrong body size */
	CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), -EBADMSG);
	/* descriptors: where none belongs it is closed; MEM_REG keeps exactly one */
	n = aisio_homi_encode(buf, AISIO_HOMI_QP_CREATE, 1, &qc, sizeof(qc));
	fd = dup(0);
	CHECK_EQ(aisio_homi_decode(buf, (size_t)n, &fd, 1, 0, &m), -EBADMSG);
	CHECK(closed(fd));
	n = aisio_homi_encode(buf, AISIO_HOMI_MEM_REG, 1, &mr, sizeof(mr));
	CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), -EBADMSG);
	fd = dup(0);
	CHECK_EQ(aisio_homi_decode(buf, (size_t)n, &fd, 1, 0, &m), 0);
	CHECK_EQ(m.fd, fd);
	close(fd);
	/* replies */
	{
		struct aisio_homi_mem_reg_reply rr = { .mem_id = 3, .bus = 0x4000 };

		n = aisio_homi_encode_reply(buf, AISIO_HOMI_MEM_REG, 9, 0, &rr, sizeof(rr));
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_MEM_REG, 9, &status, &body,
						 &len), 0);
		CHECK_EQ(status, 0);
		CHECK_EQ(len, sizeof(rr));
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_MEM_REG, 8, &status, &body,
						 &len), -EPROTO);
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_QP_CREATE, 9, &status,
						 &body, &len), -EPROTO);
		n = aisio_homi_encode_reply(buf, AISIO_HOMI_MEM_REG, 9, 0, &rr, 8);
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_MEM_REG, 9, &status, &body,
						 &len), -EBADMSG);
		n = aisio_homi_encode_err(buf, AISIO_HOMI_MEM_REG, 9, -EDQUOT, "over quota");
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_MEM_REG, 9, &status, &body,
						 &len), 0);
		CHECK_EQ(status, -EDQUOT);
		CHECK(strstr(aisio_errmsg(), "over quota") != NULL);
	}
	/* TCP_QUEUE: 8 bytes, no descriptor in the request; a 32-byte reply */
	{
		struct aisio_homi_tcp_queue tq = { .depth = 64 };
		struct aisio_homi_tcp_queue_reply tr = { .qid = 3, .cntlid = 1, .depth = 64 };

		n = aisio_homi_encode(buf, AISIO_HOMI_TCP_QUEUE, 2, &tq, sizeof(tq));
		CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), 0);
		CHECK_EQ(m.len, 8);
		n = aisio_homi_encode(buf, AISIO_HOMI_TCP_QUEUE, 2, &tq, 4);
		CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), -EBADMSG);
		n = aisio_homi_encode_reply(buf, AISIO_HOMI_TCP_QUEUE, 2, 0, &tr, sizeof(tr));
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_TCP_QUEUE, 2, &status, &body,
						 &len), 0);
		CHECK_EQ(len, 32);
		n = aisio_homi_encode_reply(buf, AISIO_HOMI_TCP_QUEUE, 2, 0, &tr, 16);
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_TCP_QUEUE, 2, &status, &body,
						 &len), -EBADMSG);
	}
	/* GPU_MEM_REG: 96 bytes, no descriptor; its reply is MEM_REG's */
	{
		struct aisio_homi_gpu_mem_reg gr = { .kind = AISIO_HOMI_GPU_CUDA_IPC, .len = 1 << 20 };
		struct aisio_homi_mem_reg_reply rr = { .mem_id = 4, .bus = 0x7f0000000000ull };

		memset(gr.handle, 0x5a, sizeof(gr.handle));
		n = aisio_homi_encode(buf, AISIO_HOMI_GPU_MEM_REG, 11, &gr, sizeof(gr));
		CHECK_EQ(n, 16 + 96);
		CHECK_EQ(aisio_homi_req_len(AISIO_HOMI_GPU_MEM_REG), 96);
		CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), 0);
		CHECK_EQ(m.hdr.type, AISIO_HOMI_GPU_MEM_REG);
		CHECK_EQ(m.len, 96);
		CHECK_EQ(m.fd, -1);
		CHECK(!memcmp(m.body, &gr, sizeof(gr)));
		fd = dup(0);
		CHECK_EQ(aisio_homi_decode(buf, (size_t)n, &fd, 1, 0, &m), -EBADMSG);
		CHECK(closed(fd));
		n = aisio_homi_encode(buf, AISIO_HOMI_GPU_MEM_REG, 11, &gr, 80); /* the body without rsvd */
		CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), -EBADMSG);
		n = aisio_homi_encode_reply(buf, AISIO_HOMI_GPU_MEM_REG, 11, 0, &rr, sizeof(rr));
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_GPU_MEM_REG, 11, &status, &body,
						 &len), 0);
		CHECK_EQ(len, sizeof(rr));
		CHECK(!memcmp(body, &rr, sizeof(rr)));
		n = aisio_homi_encode_reply(buf, AISIO_HOMI_GPU_MEM_REG, 11, 0, &rr, 8);
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_GPU_MEM_REG, 11, &status, &body,
						 &len), -EBADMSG);
	}
	/* a LIST reply whose counts do not match its length */
	{
		struct aisio_homi_list_reply lr = { .nctrl = 2, .nns = 0 };

		n = aisio_homi_encode_reply(buf, AISIO_HOMI_LIST, 1, 0, &lr, sizeof(lr));
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_LIST, 1, &status, &body,
						 &len), -EBADMSG);
	}
	/* FILE_MAP: a reply must hold exactly its nruns runs, at most AISIO_HOMI_FILE_RUNS_MAX */
	{
		uint8_t rb[sizeof(struct aisio_homi_file_map_reply) + 3 * sizeof(struct aisio_homi_run)];
		struct aisio_homi_file_map_reply mr = { .version = AISIO_HOMI_FILE_VERSION, .gen = 5,
							 .nruns = 3 };
		struct aisio_homi_file_map req = { .version = AISIO_HOMI_FILE_VERSION };
		struct aisio_homi_msg m;

		memset(rb, 0, sizeof(rb));
		memcpy(rb, &mr, sizeof(mr));
		n = aisio_homi_encode_reply(buf, AISIO_HOMI_FILE_MAP, 3, 0, rb, sizeof(rb));
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_FILE_MAP, 3, &status, &body,
						 &len), 0);
		CHECK_EQ(len, (uint32_t)sizeof(rb));
		n = aisio_homi_encode_reply(buf, AISIO_HOMI_FILE_MAP, 3, 0, rb, sizeof(rb) - 32);
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_FILE_MAP, 3, &status, &body,
						 &len), -EBADMSG);
		mr.nruns = AISIO_HOMI_FILE_RUNS_MAX + 1;
		memcpy(rb, &mr, sizeof(mr));
		n = aisio_homi_encode_reply(buf, AISIO_HOMI_FILE_MAP, 3, 0, rb, sizeof(mr));
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_FILE_MAP, 3, &status, &body,
						 &len), -EBADMSG);
		/* FILE_CHECK answers with an empty body or -ESTALE */
		n = aisio_homi_encode_reply(buf, AISIO_HOMI_FILE_CHECK, 4, 0, NULL, 0);
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_FILE_CHECK, 4, &status, &body,
						 &len), 0);
		n = aisio_homi_encode_err(buf, AISIO_HOMI_FILE_CHECK, 4, -ESTALE, "changed");
		CHECK_EQ(aisio_homi_decode_reply(buf, (size_t)n, AISIO_HOMI_FILE_CHECK, 4, &status, &body,
						 &len), 0);
		CHECK_EQ(status, -ESTALE);
		/* requests: fixed sizes */
		n = aisio_homi_encode(buf, AISIO_HOMI_FILE_MAP, 1, &req, sizeof(req));
		CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), 0);
		n = aisio_homi_encode(buf, AISIO_HOMI_FILE_MAP, 1, &req, sizeof(req) - 1);
		CHECK_EQ(aisio_homi_decode(buf, (size_t)n, NULL, 0, 0, &m), -EBADMSG);
		CHECK_EQ(aisio_homi_req_len(AISIO_HOMI_FILE_CHECK), 8);
	}
	return t_result("homi_proto");
}
