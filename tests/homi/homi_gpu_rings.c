/* SPDX-License-Identifier: MIT */
/*
 * The host side of a GPU client's queues, without a GPU: what
 * aisio_gpu_qp_create_homi does before CUDA comes in. Rings in one sealed
 * memfd from aisio_homi_shared_mem (SQ, then CQ at the next page), homid
 * creates 16 queues on them (QP_CREATE), 64 commands in flight on each are
 * driven with nvme_ring.h through the session's doorbell page at the
 * offsets homid returns, data in shared memory registered the same way:
 * writes, then reads that compare equal. A client killed with its queues
 * full is reclaimed; the next gets the same queue IDs.
 * Usage: homi_gpu_rings HOMID
 */
#include <sys/mman.h>

#include <aisio/aisio.h>
#include <aisio/nvme_ring.h>

#include "ht.h"
#include "nvme/cmd.h"

#define NQ 16
#define DEPTH 65 /* 64 CIDs, as a GPU queue of 64 threads */
#define BLK 512

struct gq {
	int fd;
	void *rings;
	size_t len;
	uint32_t mem_id;
	uint16_t qid;
	struct aisio_nvme_sq sq;
	struct aisio_nvme_cq cq;
};

/* One client: NQ queues, every command written then read back. Returns the QIDs in @qids. */
static int client(const char *uri, uint16_t *qids, int stop_full)
{
	struct aisio_homi_session hs;
	struct aisio_dev *dev;
	struct gq q[NQ];
	int dfd;
	void *data;
	uint32_t dmem;
	uint64_t dbus;
	const size_t pg = 4096, sq_len = (DEPTH * 64 + pg - 1) & ~(pg - 1);
	const size_t dlen = (size_t)NQ * 64 * BLK * 2;
	int bad = 0;

	if (aisio_dev_open(uri, NULL, &dev) || aisio_homi_session_of(dev, &hs)) {
		fprintf(stderr, "%s: %s\n", uri, aisio_errmsg());
		return -1;
	}
	if (aisio_homi_shared_mem(hs.conn, dlen, &dfd, &data, &dmem, &dbus)) {
		fprintf(stderr, "data: %s\n", aisio_errmsg());
		return -1;
	}
	for (int i = 0; i < NQ; i++) {
		struct aisio_homi_qp_create req = { .depth = DEPTH };
		struct aisio_homi_qp_create_reply rep;

		q[i].len = sq_len + ((DEPTH * 16 + pg - 1) & ~(pg - 1));
		if (aisio_homi_shared_mem(hs.conn, q[i].len, &q[i].fd, &q[i].rings, &q[i].mem_id, &req.sq_bus)) {
			fprintf(stderr, "rings: %s\n", aisio_errmsg());
			return -1;
		}
		req.cq_bus = req.sq_bus + sq_len;
		if (aisio_homi_call(hs.conn, AISIO_HOMI_QP_CREATE, &req, sizeof(req), -1, &rep, sizeof(rep), NULL,
				    NULL)) {
			fprintf(stderr, "QP_CREATE: %s\n", aisio_errmsg());
			return -1;
		}
		CHECK(rep.sq_db + 4 <= hs.db_len && rep.cq_db + 4 <= hs.db_len);
		q[i].qid = rep.qid;
		qids[i] = rep.qid;
		aisio_nvme_sq_init(&q[i].sq, q[i].rings, hs.db, rep.qid, DEPTH, hs.att->ctrl.dstrd);
		aisio_nvme_cq_init(&q[i].cq, (uint8_t *)q[i].rings + sq_len, hs.db, rep.qid, DEPTH, hs.att->ctrl.dstrd);
		q[i].sq.db = (volatile uint32_t *)((volatile uint8_t *)hs.db + rep.sq_db);
		q[i].cq.db = (volatile uint32_t *)((volatile uint8_t *)hs.db + rep.cq_db);
	}
	/* write: block i of queue q from data[q][i]; read: into the second half */
	for (size_t i = 0; i < dlen / 2; i++)
		((uint8_t *)data)[i] = (uint8_t)(i * 131 + (i >> 9) * 7 + 1);
	for (int pass = 0; pass < 2; pass++) {
		uint8_t opc = pass ? AISIO_NVME_NVM_READ : AISIO_NVME_NVM_WRITE;

		for (int i = 0; i < NQ; i++) {
			for (uint16_t c = 0; c < 64; c++) {
				struct aisio_nvme_sqe *e = aisio_nvme_sq_slot(&q[i].sq);
				uint64_t blk = (uint64_t)i * 64 + c;

				aisio_nvme_cmd_rw(e, opc, hs.att->ns.nsid, blk, 1, 0);
				e->cid = c;
				e->dptr.prp.prp1 = dbus + (pass ? dlen / 2 : 0) + blk * BLK;
				aisio_nvme_sq_advance(&q[i].sq);
			}
			__atomic_thread_fence(__ATOMIC_RELEASE);
			aisio_nvme_sq_ring_db(&q[i].sq);
		}
		if (stop_full && pass)
			return 0; /* killed by the caller with every queue full */
		for (int i = 0; i < NQ; i++) {
			uint64_t seen = 0, end = ht_now_ms() + 10000;

			while (seen != ~0ull && ht_now_ms() < end) {
				volatile struct aisio_nvme_cqe *e = aisio_nvme_cq_peek(&q[i].cq);
				struct aisio_nvme_cqe cqe;

				if (!e)
					continue;
				__atomic_thread_fence(__ATOMIC_ACQUIRE);
				aisio_nvme_cqe_read(&cqe, e);
				if (cqe.cid >= 64 || (seen >> cqe.cid & 1) || aisio_nvme_cqe_code(cqe.status))
					bad++;
				seen |= 1ull << (cqe.cid & 63);
				q[i].sq.head = cqe.sqhd;
				aisio_nvme_cq_advance(&q[i].cq);
				aisio_nvme_cq_ring_db(&q[i].cq);
			}
			if (seen != ~0ull)
				bad++;
		}
	}
	CHECK_EQ(bad, 0);
	CHECK(memcmp(data, (uint8_t *)data + dlen / 2, dlen / 2) == 0);
	/* teardown as aisio_gpu_qset_delete does it: every queue first, then memory */
	for (int i = 0; i < NQ; i++) {
		struct aisio_homi_qp_delete d = { .qid = q[i].qid };
		struct aisio_homi_mem_unreg u = { .mem_id = q[i].mem_id };

		CHECK_EQ(aisio_homi_call(hs.conn, AISIO_HOMI_QP_DELETE, &d, sizeof(d), -1, NULL, 0, NULL, NULL), 0);
		/* homid keeps memory while the session holds a queue */
		if (i + 1 < NQ)
			CHECK_EQ(aisio_homi_call(hs.conn, AISIO_HOMI_MEM_UNREG, &u, sizeof(u), -1, NULL, 0, NULL,
						 NULL), -EBUSY);
	}
	for (int i = 0; i < NQ; i++) {
		struct aisio_homi_mem_unreg u = { .mem_id = q[i].mem_id };

		CHECK_EQ(aisio_homi_call(hs.conn, AISIO_HOMI_MEM_UNREG, &u, sizeof(u), -1, NULL, 0, NULL, NULL), 0);
		munmap(q[i].rings, q[i].len);
		close(q[i].fd);
	}
	aisio_dev_close(dev);
	munmap(data, dlen);
	close(dfd);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *args[] = { "--ctrl", "emu:64M", NULL };
	struct ht_homid h;
	uint16_t qa[NQ], qb[NQ], qc[NQ];
	uint32_t used = 99, others = 99;
	char uri[160];
	int p[2];
	pid_t pid;

	REQUIRE(argc == 2);
	ht_start(&h, argv[1], args);
	snprintf(uri, sizeof(uri), "homi:%s", h.sock);
	CHECK_EQ(client(uri, qa, 0), 0);

	/* a client killed with 64 commands in flight on each of its queues */
	REQUIRE(pipe(p) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (!pid) {
		int r = client(uri, qb, 1);

		if (write(p[1], qb, sizeof(qb)) != sizeof(qb))
			_exit(3);
		pause();
		_exit(r ? 2 : 0);
	}
	close(p[1]);
	REQUIRE(read(p[0], qb, sizeof(qb)) == sizeof(qb));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	for (uint64_t end = ht_now_ms() + 30000; ht_now_ms() < end; usleep(20000))
		if (!ht_status(h.sock, &used, &others) && !used && !others)
			break;
	CHECK_EQ(used, 0);
	CHECK_EQ(others, 0);
	CHECK(memcmp(qa, qb, sizeof(qa)) == 0);
	/* the next client: the same queue IDs, every command again */
	CHECK_EQ(client(uri, qc, 0), 0);
	CHECK(memcmp(qa, qc, sizeof(qa)) == 0);
	CHECK(ht_alive(&h));
	CHECK_EQ(ht_stop(&h), 0);
	return t_result("homi_gpu_rings");
}
