/* SPDX-License-Identifier: MIT */
/*
 * Policy and mediation. A client forked and setuid to nobody gets what the
 * configuration grants it (mediated, namespace 1, LBAs 1024..2047,
 * read and write, no flush, 2 queues of depth 64 at most, 4 MiB of
 * registered memory) and a clear refusal for the rest; it drives its
 * mediated ring by hand, so that it can send what the driver never would:
 * each command outside the grant completes with an NVMe error status and
 * the bytes outside the grant are unchanged. Then the policy is made
 * read-only and reloaded with SIGHUP while a root client stays connected:
 * a write now completes with Namespace Write Protected, the root client
 * goes on. A uid without a rule is refused. Identify through homi shows a
 * client its own namespace only. --check-config accepts the
 * file and names the line of a bad one.
 * Usage: homi_policy HOMID
 */
#include <aisio/aisio.h>
#include <aisio/nvme_ring.h>
#include <sys/mman.h>

#include "ht.h"
#include "nvme/cmd.h"

#define NOBODY 65534
#define MEM_LEN (1u << 20)
#define DEPTH 16

static const char *conf_path;

static void write_conf(const char *access)
{
	FILE *f = fopen(conf_path, "w");

	REQUIRE(f);
	fprintf(f, "[homid]\nlog_level = info\n\n[uid:%d]\nnamespace = 1\nlba_first = 1024\n"
		"lba_count = 1024\naccess = %s\nops = read,write\ndirect = no\nmax_queues = 2\n"
		"max_depth = 64\nmax_mem = 4M\n", NOBODY, access);
	fclose(f);
}

struct raw_q {
	struct aisio_homi_conn *c;
	uint8_t *mem;
	uint64_t bus;
	uint8_t *shadow;
	size_t shadow_len;
	struct aisio_nvme_sq sq;
	struct aisio_nvme_cq cq;
	uint16_t cid;
};

/* Connect mediated, register 1 MiB (SQ at 0, CQ at 64 KiB, data from 128 KiB), create a queue. */
static int raw_open(const char *sock, struct raw_q *r)
{
	struct aisio_homi_attach att = { .mode = AISIO_HOMI_MODE_MEDIATED };
	struct aisio_homi_attach_reply ar;
	struct aisio_homi_mem_reg reg = { .len = MEM_LEN };
	struct aisio_homi_mem_reg_reply rr;
	struct aisio_homi_qp_create qc = { .depth = DEPTH };
	struct aisio_homi_qp_create_reply qr;
	int fd, dbfd, err;

	memset(r, 0, sizeof(*r));
	err = aisio_homi_connect(sock, &r->c);
	if (err)
		return err;
	err = aisio_homi_call(r->c, AISIO_HOMI_ATTACH, &att, sizeof(att), -1, &ar, sizeof(ar), NULL,
			      &dbfd);
	if (err)
		return err;
	r->shadow_len = ar.db_len;
	r->shadow = mmap(NULL, r->shadow_len, PROT_READ | PROT_WRITE, MAP_SHARED, dbfd, 0);
	close(dbfd);
	REQUIRE(r->shadow != MAP_FAILED);
	fd = memfd_create("raw", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(fd >= 0 && ftruncate(fd, MEM_LEN) == 0);
	REQUIRE(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
	r->mem = mmap(NULL, MEM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	REQUIRE(r->mem != MAP_FAILED);
	err = aisio_homi_call(r->c, AISIO_HOMI_MEM_REG, &reg, sizeof(reg), fd, &rr, sizeof(rr), NULL,
			      NULL);
	close(fd);
	if (err)
		return err;
	r->bus = rr.bus;
	qc.sq_bus = r->bus;
	qc.cq_bus = r->bus + 65536;
	err = aisio_homi_call(r->c, AISIO_HOMI_QP_CREATE, &qc, sizeof(qc), -1, &qr, sizeof(qr), NULL,
			      NULL);
	if (err)
		return err;
	aisio_nvme_sq_init(&r->sq, r->mem, r->shadow, qr.qid, DEPTH, 0);
	aisio_nvme_cq_init(&r->cq, r->mem + 65536, r->shadow, qr.qid, DEPTH, 0);
	return 0;
}

/* Submit @cmd and wait for its completion; returns the status code (SCT << 8 | SC) or -1. */
static int raw_cmd(struct raw_q *r, struct aisio_nvme_sqe cmd)
{
	volatile struct aisio_nvme_cqe *e;
	uint64_t t0 = ht_now_ms();
	struct aisio_nvme_cqe c;

	cmd.cid = r->cid++;
	*aisio_nvme_sq_slot(&r->sq) = cmd;
	aisio_nvme_sq_advance(&r->sq);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	aisio_nvme_sq_ring_db(&r->sq);
	while (!(e = aisio_nvme_cq_peek(&r->cq))) {
		if (ht_now_ms() - t0 > 5000)
			return -1;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	aisio_nvme_cqe_read(&c, e);
	aisio_nvme_cq_advance(&r->cq);
	aisio_nvme_cq_ring_db(&r->cq);
	if (c.cid != cmd.cid)
		return -2;
	return (int)aisio_nvme_cqe_code(c.status);
}

static struct aisio_nvme_sqe rw(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb,
				uint64_t prp1, uint64_t prp2)
{
	struct aisio_nvme_sqe c;

	memset(&c, 0, sizeof(c));
	c.opc = opc;
	c.nsid = nsid;
	c.cdw10 = (uint32_t)slba;
	c.cdw11 = (uint32_t)(slba >> 32);
	c.cdw12 = nlb - 1;
	c.dptr.prp.prp1 = prp1;
	c.dptr.prp.prp2 = prp2;
	return c;
}

static void become(uid_t uid)
{
	if (setgid(uid) || setuid(uid)) {
		perror("setuid");
		_exit(77);
	}
}

/* The nobody client under the read-write policy; returns failed checks. */
static int nobody_rw(const char *sock)
{
	struct raw_q r, r2;
	struct aisio_homi_conn *c;
	struct aisio_homi_attach att = { .mode = AISIO_HOMI_MODE_DIRECT };
	struct aisio_homi_attach_reply ar;
	uint64_t data;
	uint8_t *d;
	int fd, err;

	become(NOBODY);
	/* direct queues are not granted, and the refusal says what to do */
	REQUIRE(aisio_homi_connect(sock, &c) == 0);
	err = aisio_homi_call(c, AISIO_HOMI_ATTACH, &att, sizeof(att), -1, &ar, sizeof(ar), NULL,
			      &fd);
	CHECK_EQ(err, -EPERM);
	CHECK(strstr(aisio_errmsg(), "mode=mediated") != NULL);
	/* namespace 2 is not granted */
	att.mode = AISIO_HOMI_MODE_MEDIATED;
	att.nsid = 2;
	CHECK_EQ(aisio_homi_call(c, AISIO_HOMI_ATTACH, &att, sizeof(att), -1, &ar, sizeof(ar), NULL,
				 &fd), -EACCES);
	aisio_homi_disconnect(c);
	/* the homi: backend says the same */
	{
		struct aisio_dev *dev;
		char uri[160];

		snprintf(uri, sizeof(uri), "homi:%s,mode=direct", sock);
		CHECK_EQ(aisio_dev_open(uri, NULL, &dev), -EPERM);
	}

	REQUIRE(raw_open(sock, &r) == 0);
	data = r.bus + 131072;
	d = r.mem + 131072;
	memset(d, 0xa5, 65536);
	/* inside the grant: works */
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_WRITE, 1, 1024, 8, data, 0)), 0);
	/* LBA outside the grant, below and across its end */
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_WRITE, 1, 0, 8, data, 0)), AISIO_NVME_SC_LBA_RANGE);
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_WRITE, 1, 2044, 8, data, 0)), AISIO_NVME_SC_LBA_RANGE);
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_READ, 1, 4000, 1, data, 0)), AISIO_NVME_SC_LBA_RANGE);
	/* Dataset Management: every range inside the grant, the range list in the client's memory */
	{
		struct aisio_nvme_dsm_range *rg = (struct aisio_nvme_dsm_range *)(r.mem + 200704);
		struct aisio_nvme_sqe dsm = rw(AISIO_NVME_NVM_DSM, 1, 0, 1, r.bus + 200704, 0);

		dsm.cdw10 = 1;		  /* two ranges */
		dsm.cdw11 = 1u << 2;	  /* deallocate */
		dsm.cdw12 = 0;
		memset(rg, 0, 2 * sizeof(*rg));
		rg[0].slba = 1536;
		rg[0].nlb = 8;
		rg[1].slba = 1600;
		rg[1].nlb = 8;
		CHECK_EQ(raw_cmd(&r, dsm), 0);
		rg[1].slba = 8; /* below the grant */
		CHECK_EQ(raw_cmd(&r, dsm), AISIO_NVME_SC_LBA_RANGE);
		rg[1].slba = 2044; /* across its end */
		CHECK_EQ(raw_cmd(&r, dsm), AISIO_NVME_SC_LBA_RANGE);
		dsm.dptr.prp.prp1 = 0x10000; /* a range list that is not the client's */
		CHECK_EQ(raw_cmd(&r, dsm), AISIO_NVME_SC_DATA_XFER_ERROR);
	}
	/* a buffer outside the client's registered memory: PRP1, PRP2, and a PRP list entry */
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_READ, 1, 1024, 8, 0x10000, 0)),
		 AISIO_NVME_SC_DATA_XFER_ERROR);
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_READ, 1, 1024, 8, r.bus + MEM_LEN - 512,
				r.bus + MEM_LEN)), AISIO_NVME_SC_DATA_XFER_ERROR);
	{
		uint64_t *list = (uint64_t *)(r.mem + 196608);

		list[0] = r.bus + 135168;
		list[1] = 0x7f000000; /* not the client's */
		CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_READ, 1, 1024, 24, data, r.bus + 196608)),
			 AISIO_NVME_SC_DATA_XFER_ERROR);
		list[1] = r.bus + 139264;
		CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_READ, 1, 1024, 24, data, r.bus + 196608)), 0);
	}
	/* opcodes not granted: Flush (ops = read,write), a vendor opcode */
	{
		struct aisio_nvme_sqe f = rw(AISIO_NVME_NVM_FLUSH, 1, 0, 1, 0, 0);

		f.cdw10 = f.cdw11 = f.cdw12 = 0;
		CHECK_EQ(raw_cmd(&r, f), AISIO_NVME_SC_INVALID_OPCODE);
		f.opc = 0x81;
		CHECK_EQ(raw_cmd(&r, f), AISIO_NVME_SC_INVALID_OPCODE);
	}
	/* another namespace, and more than MDTS (the model runs with mdts=2: 16 KiB) */
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_READ, 2, 1024, 8, data, 0)), AISIO_NVME_SC_INVALID_NS);
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_READ, 1, 1024, 40, data, 0)),
		 AISIO_NVME_SC_INVALID_FIELD);
	/* the write that went through reads back */
	memset(d, 0, 4096);
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_READ, 1, 1024, 8, data, 0)), 0);
	CHECK(d[0] == 0xa5 && d[4095] == 0xa5);
	/* quotas: depth, queues, memory */
	{
		struct aisio_homi_qp_create qc = { .depth = 128, .sq_bus = r.bus + 262144,
						   .cq_bus = r.bus + 524288 };
		struct aisio_homi_qp_create_reply qr;
		struct aisio_homi_mem_reg reg = { .len = 4u << 20 };
		int mfd = memfd_create("big", MFD_CLOEXEC | MFD_ALLOW_SEALING);

		CHECK_EQ(aisio_homi_call(r.c, AISIO_HOMI_QP_CREATE, &qc, sizeof(qc), -1, &qr,
					 sizeof(qr), NULL, NULL), -EINVAL);
		qc.depth = 64;
		CHECK_EQ(aisio_homi_call(r.c, AISIO_HOMI_QP_CREATE, &qc, sizeof(qc), -1, &qr,
					 sizeof(qr), NULL, NULL), 0);
		qc.sq_bus += 8192;
		qc.cq_bus += 8192;
		CHECK_EQ(aisio_homi_call(r.c, AISIO_HOMI_QP_CREATE, &qc, sizeof(qc), -1, &qr,
					 sizeof(qr), NULL, NULL), -EDQUOT);
		REQUIRE(mfd >= 0 && ftruncate(mfd, 4u << 20) == 0 &&
			fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0);
		CHECK_EQ(aisio_homi_call(r.c, AISIO_HOMI_MEM_REG, &reg, sizeof(reg), mfd, NULL, 0, NULL,
					 NULL), -EDQUOT);
		close(mfd);
	}
	/* a second connection of the same uid has its own quota and the same checks */
	REQUIRE(raw_open(sock, &r2) == 0);
	CHECK_EQ(raw_cmd(&r2, rw(AISIO_NVME_NVM_WRITE, 1, 100, 8, r2.bus + 131072, 0)),
		 AISIO_NVME_SC_LBA_RANGE);
	/* r's buffer is not r2's memory */
	CHECK_EQ(raw_cmd(&r2, rw(AISIO_NVME_NVM_READ, 1, 1024, 8, data, 0)),
		 AISIO_NVME_SC_DATA_XFER_ERROR);
	/*
	 * A chained PRP list (16 KiB: PRP1, then a list that starts 16 bytes
	 * before the end of its page: one entry and the chain pointer, then two
	 * entries on the next list page) that leads into r's memory: the chain
	 * pointer, then an entry of the chained page. Both complete with an
	 * error and r's bytes stay as they were; the same list inside r2 reads.
	 */
	{
		uint64_t l1 = 200704 + 4080, l2 = 204800, victim = 147456;
		uint64_t *a = (uint64_t *)(r2.mem + l1), *b = (uint64_t *)(r2.mem + l2);
		int same = 1;

		memset(r.mem + victim, 0x5c, 4096);
		memset(r.mem + l2, 0x5c, 4096);
		a[0] = r2.bus + 139264;
		a[1] = r.bus + l2; /* the chain pointer into r's memory */
		b[0] = r2.bus + 143360;
		b[1] = r2.bus + 147456;
		memcpy(r.mem + l2, b, 16);
		CHECK_EQ(raw_cmd(&r2, rw(AISIO_NVME_NVM_READ, 1, 1024, 32, r2.bus + 135168, r2.bus + l1)),
			 AISIO_NVME_SC_DATA_XFER_ERROR);
		a[1] = r2.bus + l2;
		b[1] = r.bus + victim; /* an entry of the chained page into r's memory */
		CHECK_EQ(raw_cmd(&r2, rw(AISIO_NVME_NVM_READ, 1, 1024, 32, r2.bus + 135168, r2.bus + l1)),
			 AISIO_NVME_SC_DATA_XFER_ERROR);
		for (int i = 0; i < 4096; i++)
			same &= r.mem[victim + i] == 0x5c;
		CHECK(same);
		b[1] = r2.bus + 147456;
		memset(r2.mem + 135168, 0, 16384);
		CHECK_EQ(raw_cmd(&r2, rw(AISIO_NVME_NVM_READ, 1, 1024, 32, r2.bus + 135168, r2.bus + l1)),
			 0);
		/* LBA 1024 holds the 0xa5 written above: it landed where the chained list says */
		CHECK(r2.mem[135168] == 0xa5 && r2.mem[135168 + 4095] == 0xa5);
	}
	return t_failures;
}

static int nobody_ro(const char *sock)
{
	struct raw_q r;

	become(NOBODY);
	REQUIRE(raw_open(sock, &r) == 0);
	memset(r.mem + 131072, 0x5a, 4096);
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_WRITE, 1, 1024, 8, r.bus + 131072, 0)),
		 AISIO_NVME_SC_NS_WRITE_PROTECTED);
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_WRITE_ZEROES, 1, 1024, 8, 0, 0)),
		 AISIO_NVME_SC_NS_WRITE_PROTECTED);
	CHECK_EQ(raw_cmd(&r, rw(AISIO_NVME_NVM_READ, 1, 1024, 8, r.bus + 131072, 0)), 0);
	CHECK(r.mem[131072] == 0xa5);
	return t_failures;
}

static int stranger(const char *sock)
{
	struct aisio_dev *dev;
	char uri[160];

	become(12345);
	snprintf(uri, sizeof(uri), "homi:%s,mode=mediated", sock);
	CHECK_EQ(aisio_dev_open(uri, NULL, &dev), -EACCES);
	CHECK(strstr(aisio_errmsg(), "no grant") != NULL);
	return t_failures;
}

/*
 * Identify through homi on a controller of 2 namespaces, from a client
 * attached to namespace 1: the active list holds namespace 1 alone, the
 * descriptors of namespace 1 come from the controller, namespace 2 and
 * other CNS values are refused.
 */
static void identify_through_homi(struct aisio_dev *dev)
{
	struct aisio_nvme_sqe cmd;
	uint8_t *d = calloc(1, 4096);
	uint32_t *list = (uint32_t *)d;

	REQUIRE(d);
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, d, 4096, NULL), 0);
	CHECK_EQ(aisio_le32_to_cpu(list[0]), 1);
	CHECK_EQ(list[1], 0);
	memset(d, 0xff, 4096);
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 1, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, d, 4096, NULL), 0);
	CHECK_EQ(list[0], 0);
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0xffffffffu, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, d, 4096, NULL), -EINVAL);
	memset(d, 0, 4096);
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_DESC_LIST, 1, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, d, 4096, NULL), 0);
	CHECK(d[0] == 3 && d[1] == 16); /* the model's UUID descriptor */
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_DESC_LIST, 2, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, d, 4096, NULL), -EACCES);
	CHECK(strstr(aisio_errmsg(), "attached to namespace 1") != NULL);
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS, 2, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, d, 4096, NULL), -EACCES);
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ALLOC_LIST, 0, 0);
	CHECK_EQ(aisio_dev_admin(dev, &cmd, d, 4096, NULL), -EPERM);
	CHECK(strstr(aisio_errmsg(), "not passed through") != NULL);
	free(d);
}

static int in_child(int (*fn)(const char *), const char *sock)
{
	pid_t p = fork();
	int st;

	REQUIRE(p >= 0);
	if (!p) {
		t_failures = 0; /* the child counts its own checks */
		_exit(fn(sock) ? 1 : 0);
	}
	REQUIRE(waitpid(p, &st, 0) == p);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		return 77;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

/* root's view of LBAs [first, first + n): each must still hold its byte pattern. */
static int root_unchanged(struct aisio_dev *dev, struct aisio_queue *q, uint8_t *buf, uint64_t first,
			  uint32_t n)
{
	int bad = 0;

	for (uint64_t lba = first; lba < first + n; lba += 32) {
		uint32_t k = first + n - lba < 32 ? (uint32_t)(first + n - lba) : 32;
		struct aisio_io *io = aisio_queue_get_io(q);

		REQUIRE(io);
		aisio_prep_read(io, 1, lba, k, buf, (size_t)k * 512);
		REQUIRE(aisio_io_sync(io) == 0);
		for (uint32_t i = 0; i < k * 512; i++)
			bad += buf[i] != (uint8_t)(lba + i / 512 + 3);
	}
	(void)dev;
	return bad;
}

int main(int argc, char **argv)
{
	char conf[96], cmd[512], sock_uri[160];
	const char *args[] = { "--config", conf, "--ctrl", "emu:16M,nns=2,mdts=2", NULL };
	struct aisio_dev *dev;
	struct aisio_queue *q;
	struct ht_homid h;
	uint8_t *buf;
	int rc;

	REQUIRE(argc == 2);
	if (getuid() != 0) {
		fprintf(stderr, "homi_policy: needs root (setuid to nobody)\n");
		return 77;
	}
	snprintf(conf, sizeof(conf), "/tmp/homid-policy-%d.conf", getpid());
	conf_path = conf;
	write_conf("rw");
	/* --check-config: accepted, and a bad file names its line */
	snprintf(cmd, sizeof(cmd), "%s --config %s --check-config >/dev/null", argv[1], conf);
	CHECK_EQ(system(cmd), 0);
	{
		char bad[128];
		FILE *f;

		snprintf(bad, sizeof(bad), "%s.bad", conf);
		f = fopen(bad, "w");
		REQUIRE(f);
		fprintf(f, "[uid:7]\naccess = rw\nmax_mem = lots\n");
		fclose(f);
		snprintf(cmd, sizeof(cmd), "%s --config %s --check-config 2>&1 | grep -q ':3: .*max_mem'",
			 argv[1], bad);
		CHECK_EQ(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s --config %s --check-config 2>/dev/null", argv[1], bad);
		CHECK(system(cmd) != 0);
		unlink(bad);
	}

	ht_start(&h, argv[1], args);
	/* root (no rule: everything) fills LBAs 0..4095 with a pattern per LBA */
	snprintf(sock_uri, sizeof(sock_uri), "homi:%s", h.sock);
	REQUIRE(aisio_dev_open(sock_uri, NULL, &dev) == 0);
	REQUIRE(aisio_queue_init(dev, 8, &q) == 0);
	buf = aisio_buf_alloc(dev, 512 * 1024);
	REQUIRE(buf);
	for (uint64_t lba = 0; lba < 4096; lba += 32) {
		struct aisio_io *io = aisio_queue_get_io(q);

		for (uint32_t i = 0; i < 32 * 512; i++)
			buf[i] = (uint8_t)(lba + i / 512 + 3);
		aisio_prep_write(io, 1, lba, 32, buf, 32 * 512);
		REQUIRE(aisio_io_sync(io) == 0);
	}

	identify_through_homi(dev);

	rc = in_child(nobody_rw, h.sock);
	if (rc == 77) {
		ht_stop(&h);
		return 77;
	}
	CHECK_EQ(rc, 0);
	/* outside the grant nothing changed; inside, the one write landed */
	CHECK_EQ(root_unchanged(dev, q, buf, 0, 1024), 0);
	CHECK_EQ(root_unchanged(dev, q, buf, 2048, 1024), 0);
	/* ... but for the 16 LBAs nobody's Dataset Management deallocated (1536 and 1600, 8 each) */
	CHECK_EQ(root_unchanged(dev, q, buf, 1032, 1016), 16 * 512);
	CHECK_EQ(root_unchanged(dev, q, buf, 1032, 504), 0);
	CHECK_EQ(root_unchanged(dev, q, buf, 1544, 56), 0);
	CHECK_EQ(root_unchanged(dev, q, buf, 1608, 440), 0);
	CHECK_EQ(root_unchanged(dev, q, buf, 1024, 8), 8 * 512 - 0);

	/* read-only now, reloaded with SIGHUP while root stays connected */
	write_conf("ro");
	{
		int reloads = ht_log_count(&h, "policy reloaded");

		kill(h.pid, SIGHUP);
		REQUIRE(ht_log_wait(&h, "policy reloaded", reloads) == 0);
	}
	CHECK_EQ(in_child(nobody_ro, h.sock), 0);
	CHECK_EQ(root_unchanged(dev, q, buf, 0, 1024), 0);
	CHECK_EQ(in_child(stranger, h.sock), 0);

	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
	CHECK(ht_alive(&h));
	CHECK_EQ(ht_stop(&h), 0);
	unlink(conf);
	return t_result("homi_policy");
}
