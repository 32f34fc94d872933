/* SPDX-License-Identifier: MIT */
/*
 * nvme+tcp:// against a small NVMe/TCP target on loopback that misbehaves on
 * request: wrong lengths, bad digests, unknown PDU types, C2HData past the
 * buffer or for a command not in flight, TermReq, SUCCESS without LAST, an
 * R2T past the data, a closed connection, silence. Each fault must end the
 * command with a clean error and a message, and the next command must work
 * again on a new connection (the queue reconnects), with its data intact.
 * Open-time faults (refused port, bad ICResp, unknown subsystem) must fail
 * the open with a message. No kernel target needed.
 *
 * The target is written here from the specification, apart from the
 * initiator's code: it shares only the spec header and CRC32C.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <aisio/aisio.h>
#include <aisio/nvme_tcp_spec.h>

#include "util/crc32c.h"

#define SUBNQN "nqn.2026-01.io.aisio:badpeer"
#define NS_BYTES (1u << 20)
#define LBA 512
#define ICD_MAX 4096
#define MAXH2C 4096

enum fault {
	F_NONE, F_HLEN, F_PLEN, F_TYPE, F_HDGST, F_DDGST, F_PAST, F_CID, F_TERM, F_SUCCESS_NOLAST,
	F_R2T_PAST, F_CLOSE, F_SILENT, F_ICRESP,
};

static volatile int fault; /* consumed by the first I/O command (F_ICRESP: the first ICReq) */
static volatile int refuse;   /* hang up on every new connection */
static volatile int keep_alives;
static pthread_mutex_t fault_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t store[NS_BYTES];
static int failed;

#define FAIL(...)                                      \
	do {                                           \
		fprintf(stderr, "FAIL: " __VA_ARGS__); \
		fprintf(stderr, "\n");                 \
		failed = 1;                            \
	} while (0)

static int take_fault(int want_ic)
{
	int f;

	pthread_mutex_lock(&fault_lock);
	f = fault;
	if ((f == F_ICRESP) != want_ic)
		f = F_NONE;
	else
		fault = F_NONE;
	pthread_mutex_unlock(&fault_lock);
	return f;
}

struct conn {
	int fd;
	int hd, dd;
	uint16_t qid;
	uint32_t cc;
};

static int rd(int fd, void *b, size_t n)
{
	uint8_t *p = b;

	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int wr(int fd, const void *b, size_t n)
{
	return send(fd, b, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Send a header of @hlen bytes (digest added when on), then @data with its digest. */
static int send_pdu(struct conn *c, uint8_t *hdr, uint32_t hlen, const void *data, uint32_t dlen, int bad_hd,
		    int bad_dd)
{
	uint8_t buf[512];
	uint32_t n = hlen, d;
	int has_hd = c->hd && hdr[0] != AISIO_NVME_TCP_C2H_TERM;

	memcpy(buf, hdr, hlen);
	if (has_hd) {
		d = aisio_crc32c(buf, hlen) ^ (bad_hd ? 1u : 0u);
		memcpy(buf + n, &d, 4);
		n += 4;
	}
	if (wr(c->fd, buf, n))
		return -1;
	if (dlen && wr(c->fd, data, dlen))
		return -1;
	if (dlen && c->dd) {
		d = aisio_crc32c(data, dlen) ^ (bad_dd ? 1u : 0u);
		if (wr(c->fd, &d, 4))
			return -1;
	}
	return 0;
}

static int send_rsp(struct conn *c, uint16_t cid, uint16_t sc, uint64_t res, int f)
{
	struct aisio_nvme_tcp_rsp r = { 0 };

	r.hdr.type = AISIO_NVME_TCP_RSP;
	r.hdr.flags = c->hd ? AISIO_NVME_TCP_F_HDGST : 0;
	r.hdr.hlen = 24;
	r.hdr.plen = 24 + (c->hd ? 4 : 0);
	r.cqe.cid = cid;
	r.cqe.status = aisio_nvme_status_field(sc, 0);
	r.cqe.dw0 = (uint32_t)res;
	r.cqe.dw1 = (uint32_t)(res >> 32);
	if (f == F_HLEN)
		r.hdr.hlen = 25;
	if (f == F_TYPE)
		r.hdr.type = 0x0b;
	return send_pdu(c, (uint8_t *)&r, 24, NULL, 0, f == F_HDGST, 0);
}

static int send_c2h(struct conn *c, uint16_t cid, uint32_t off, const void *data, uint32_t len, int f)
{
	struct aisio_nvme_tcp_c2h_data d = { 0 };
	uint32_t hl = 24 + (c->hd ? 4 : 0);

	d.hdr.type = AISIO_NVME_TCP_C2H_DATA;
	d.hdr.flags = (uint8_t)(AISIO_NVME_TCP_F_DATA_LAST | AISIO_NVME_TCP_F_DATA_SUCCESS |
				(c->hd ? AISIO_NVME_TCP_F_HDGST : 0) | (c->dd ? AISIO_NVME_TCP_F_DDGST : 0));
	d.hdr.hlen = 24;
	d.hdr.pdo = (uint8_t)hl;
	d.hdr.plen = hl + len + (c->dd ? 4 : 0);
	d.cccid = cid;
	d.datao = off;
	d.datal = len;
	if (f == F_PLEN)
		d.hdr.plen += 8;
	if (f == F_PAST) { /* in order, but 4 KiB longer than the command's buffer */
		len += 4096;
		d.hdr.plen += 4096;
		d.datal = len;
	}
	if (f == F_HLEN)
		d.hdr.hlen = 25;
	if (f == F_TYPE)
		d.hdr.type = 0x0b;
	if (f == F_CID)
		d.cccid = 999;
	if (f == F_SUCCESS_NOLAST)
		d.hdr.flags &= (uint8_t)~AISIO_NVME_TCP_F_DATA_LAST;
	return send_pdu(c, (uint8_t *)&d, 24, data, len, f == F_HDGST, f == F_DDGST);
}

static int send_term(struct conn *c)
{
	struct aisio_nvme_tcp_term t = { 0 };

	t.hdr.type = AISIO_NVME_TCP_C2H_TERM;
	t.hdr.hlen = 24;
	t.hdr.plen = 24;
	t.fes = AISIO_NVME_TCP_FES_INVALID_HEADER;
	return send_pdu(c, (uint8_t *)&t, 24, NULL, 0, 0, 0);
}

static int admin(struct conn *c, const struct aisio_nvme_sqe *s, const uint8_t *icd)
{
	static uint8_t id[4096];
	uint8_t opc = s->opc;

	memset(id, 0, sizeof(id));
	if (opc == AISIO_NVME_FABRICS_OPC) {
		const struct aisio_nvmf_property_cmd *p = (const void *)s;
		uint8_t fct = (uint8_t)s->nsid;

		if (fct == AISIO_NVME_FCTYPE_CONNECT) {
			const struct aisio_nvmf_connect_cmd *cc = (const void *)s;
			const struct aisio_nvmf_connect_data *d = (const void *)icd;

			if (!icd || strcmp(d->subnqn, SUBNQN))
				return send_rsp(c, s->cid, AISIO_NVMF_SC_CONNECT_INVALID_PARAM, 0, 0);
			c->qid = cc->qid;
			return send_rsp(c, s->cid, 0, 1, 0);
		}
		if (fct == AISIO_NVME_FCTYPE_PROP_GET) {
			uint64_t v = 0;

			if (p->ofst == AISIO_NVME_REG_CAP)
				v = AISIO_NVME_CAP_MQES(127) | AISIO_NVME_CAP_TO(2) | AISIO_NVME_CAP_CSS_NVM;
			else if (p->ofst == AISIO_NVME_REG_VS)
				v = AISIO_NVME_VS(1, 3, 0);
			else if (p->ofst == AISIO_NVME_REG_CSTS)
				v = (c->cc & 1) | ((c->cc >> 14) & 3 ? AISIO_NVME_CSTS_SHST_CMPLT : 0);
			return send_rsp(c, s->cid, 0, v, 0);
		}
		if (fct == AISIO_NVME_FCTYPE_PROP_SET) {
			if (p->ofst == AISIO_NVME_REG_CC)
				c->cc = (uint32_t)p->value;
			return send_rsp(c, s->cid, 0, 0, 0);
		}
		return send_rsp(c, s->cid, AISIO_NVME_SC_INVALID_OPCODE, 0, 0);
	}
	switch (opc) {
	case AISIO_NVME_ADM_IDENTIFY:
		if ((s->cdw10 & 0xff) == AISIO_NVME_CNS_CTRL) {
			struct aisio_nvme_id_ctrl *ic = (void *)id;

			snprintf(ic->mn, sizeof(ic->mn), "badpeer");
			ic->ioccsz = (64 + ICD_MAX) / 16;
			ic->iorcsz = 1;
			ic->sgls = 1;
			ic->nn = 1;
		} else if ((s->cdw10 & 0xff) == AISIO_NVME_CNS_NS_ACTIVE_LIST) {
			((uint32_t *)id)[0] = 1;
		} else if ((s->cdw10 & 0xff) == AISIO_NVME_CNS_NS) {
			struct aisio_nvme_id_ns *ns = (void *)id;

			ns->nsze = ns->ncap = NS_BYTES / LBA;
			ns->lbaf[0].lbads = 9;
		}
		if (send_c2h(c, s->cid, 0, id, 4096, 0))
			return -1;
		return 0;
	case AISIO_NVME_ADM_SET_FEATURES:
		return send_rsp(c, s->cid, 0, AISIO_NVME_FEAT_NUM_QUEUES_VAL(2, 2), 0);
	case AISIO_NVME_ADM_KEEP_ALIVE:
		__atomic_add_fetch(&keep_alives, 1, __ATOMIC_RELAXED);
		return send_rsp(c, s->cid, 0, 0, 0);
	}
	return send_rsp(c, s->cid, AISIO_NVME_SC_INVALID_OPCODE, 0, 0);
}

static int io_cmd(struct conn *c, const struct aisio_nvme_sqe *s, const uint8_t *icd, uint32_t icd_len)
{
	uint64_t slba = s->cdw10 | (uint64_t)s->cdw11 << 32;
	uint32_t len = ((s->cdw12 & 0xffff) + 1) * LBA, off = (uint32_t)(slba * LBA);
	int f = take_fault(0);

	if ((uint64_t)off + len > NS_BYTES)
		return send_rsp(c, s->cid, AISIO_NVME_SC_LBA_RANGE, 0, 0);
	if (f == F_CLOSE)
		return -1;
	if (f == F_SILENT)
		return 0;
	if (f == F_TERM)
		return send_term(c);
	if (s->opc == AISIO_NVME_NVM_READ)
		return send_c2h(c, s->cid, 0, store + off, len, f);
	if (s->opc != AISIO_NVME_NVM_WRITE)
		return send_rsp(c, s->cid, AISIO_NVME_SC_INVALID_OPCODE, 0, f);
	if (icd_len) {
		if (icd_len != len)
			return send_rsp(c, s->cid, AISIO_NVME_SC_DATA_XFER_ERROR, 0, 0);
		memcpy(store + off, icd, len);
		return send_rsp(c, s->cid, 0, 0, f);
	}
	{
		struct aisio_nvme_tcp_r2t r = { 0 };
		uint32_t got = 0;

		r.hdr.type = AISIO_NVME_TCP_R2T;
		r.hdr.flags = c->hd ? AISIO_NVME_TCP_F_HDGST : 0;
		r.hdr.hlen = 24;
		r.hdr.plen = 24 + (c->hd ? 4 : 0);
		r.cccid = s->cid;
		r.ttag = 0x55;
		r.r2tl = f == F_R2T_PAST ? len + 512 : len;
		if (send_pdu(c, (uint8_t *)&r, 24, NULL, 0, 0, 0))
			return -1;
		if (f == F_R2T_PAST)
			return 0; /* the host must refuse it and hang up */
		while (got < len) {
			uint8_t h[32];
			struct aisio_nvme_tcp_h2c_data *d = (void *)h;
			uint32_t dg;

			if (rd(c->fd, h, 24 + (c->hd ? 4 : 0)) || d->hdr.type != AISIO_NVME_TCP_H2C_DATA ||
			    d->datao != got || d->datal > MAXH2C || d->ttag != 0x55 || d->cccid != s->cid)
				return -1;
			if (d->hdr.pdo > 24 + (c->hd ? 4 : 0) && rd(c->fd, h, d->hdr.pdo - 24 - (c->hd ? 4u : 0u)))
				return -1;
			if (rd(c->fd, store + off + got, d->datal))
				return -1;
			if (c->dd && (rd(c->fd, &dg, 4) || dg != aisio_crc32c(store + off + got, d->datal)))
				return -1;
			got += d->datal;
			if (!!(d->hdr.flags & AISIO_NVME_TCP_F_DATA_LAST) != (got == len))
				return -1;
		}
		return send_rsp(c, s->cid, 0, 0, f);
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct aisio_nvme_tcp_icreq req;
	struct aisio_nvme_tcp_icresp resp = { 0 };
	static __thread uint8_t icd[16384];

	if (refuse || rd(c->fd, &req, sizeof(req)) || req.hdr.type != AISIO_NVME_TCP_ICREQ)
		goto out;
	c->hd = !!(req.dgst & AISIO_NVME_TCP_HDGST_ENABLE);
	c->dd = !!(req.dgst & AISIO_NVME_TCP_DDGST_ENABLE);
	resp.hdr.type = AISIO_NVME_TCP_ICRESP;
	resp.hdr.hlen = 128;
	resp.hdr.plen = 128;
	resp.dgst = req.dgst;
	resp.maxdata = take_fault(1) == F_ICRESP ? 1000 : MAXH2C;
	if (wr(c->fd, &resp, sizeof(resp)))
		goto out;
	for (;;) {
		struct aisio_nvme_tcp_cmd cmd;
		uint32_t hl = 72 + (c->hd ? 4 : 0), icd_len = 0, pad;
		uint8_t dg[4];

		if (rd(c->fd, &cmd, 8) || cmd.hdr.type != AISIO_NVME_TCP_CMD ||
		    rd(c->fd, (uint8_t *)&cmd + 8, 64))
			break;
		if (c->hd && rd(c->fd, dg, 4))
			break;
		if (cmd.hdr.pdo) {
			pad = cmd.hdr.pdo - hl;
			icd_len = cmd.hdr.plen - cmd.hdr.pdo - (c->dd ? 4 : 0);
			if (icd_len > sizeof(icd) || (pad && rd(c->fd, icd, pad)) || rd(c->fd, icd, icd_len) ||
			    (c->dd && rd(c->fd, dg, 4)))
				break;
		}
		if ((c->qid ? io_cmd(c, &cmd.sqe, icd, icd_len) : admin(c, &cmd.sqe, icd_len ? icd : NULL)))
			break;
	}
out:
	close(c->fd);
	free(c);
	return NULL;
}

static void *server_main(void *arg)
{
	int ls = (int)(intptr_t)arg;

	for (;;) {
		struct conn *c;
		pthread_t t;
		int fd = accept(ls, NULL, NULL);

		if (fd < 0)
			continue;
		c = calloc(1, sizeof(*c));
		c->fd = fd;
		pthread_create(&t, NULL, conn_main, c);
		pthread_detach(t);
	}
	return NULL;
}

static int rw(struct aisio_queue *q, int write, uint64_t slba, void *buf, size_t len)
{
	struct aisio_io *io = aisio_queue_get_io(q);

	if (!io)
		return -EBUSY;
	aisio_io_set_cb(io, NULL, NULL);
	if (write)
		aisio_prep_write(io, 1, slba, (uint32_t)(len / LBA), buf, len);
	else
		aisio_prep_read(io, 1, slba, (uint32_t)(len / LBA), buf, len);
	return aisio_io_sync(io);
}

static const struct {
	int fault;
	const char *name;
	int write;
	int want;
	const char *msg;
} cases[] = {
	{ F_HLEN, "wrong HLEN", 0, -EPROTO, "HLEN" },
	{ F_PLEN, "PLEN against DATAL", 0, -EPROTO, "DATAL" },
	{ F_TYPE, "unknown PDU type", 0, -EPROTO, "type 0xb" },
	{ F_HDGST, "bad header digest", 0, -EBADMSG, "header digest" },
	{ F_DDGST, "bad data digest", 0, -EBADMSG, "data digest" },
	{ F_PAST, "C2HData past the buffer", 0, -EPROTO, "past its" },
	{ F_CID, "C2HData for a CID not in flight", 0, -EPROTO, "not in flight" },
	{ F_TERM, "C2HTermReq", 0, -ECONNRESET, "FES" },
	{ F_SUCCESS_NOLAST, "SUCCESS without LAST_PDU", 0, -EPROTO, "SUCCESS" },
	{ F_R2T_PAST, "R2T past the data", 1, -EPROTO, "R2T" },
	{ F_CLOSE, "connection closed mid-command", 0, -ENOTCONN, "closed" },
	{ F_SILENT, "no answer", 0, -ETIMEDOUT, "timed out" },
	{ F_HLEN, "wrong HLEN on a write", 1, -EPROTO, "HLEN" },
};

static void run_cases(const char *uri, int digests)
{
	struct aisio_dev *dev;
	struct aisio_queue *q;
	uint8_t *w, *r;
	int st;

	st = aisio_dev_open(uri, NULL, &dev);
	if (st) {
		FAIL("open %s: %s", uri, aisio_errmsg());
		return;
	}
	if (aisio_dev_geo(dev)->nlbas != NS_BYTES / LBA || aisio_dev_geo(dev)->lba_size != LBA)
		FAIL("%s: geometry %llu x %u", uri, (unsigned long long)aisio_dev_geo(dev)->nlbas,
		     aisio_dev_geo(dev)->lba_size);
	st = aisio_queue_init(dev, 16, &q);
	if (st) {
		FAIL("queue on %s: %s", uri, aisio_errmsg());
		aisio_dev_close(dev);
		return;
	}
	w = aisio_buf_alloc(dev, 16384);
	r = aisio_buf_alloc(dev, 16384);
	for (int i = 0; i < 16384; i++)
		w[i] = (uint8_t)(i * 7 + digests);
	/* good traffic first: in-capsule (4 KiB) and R2T (16 KiB, four H2CData) writes */
	if ((st = rw(q, 1, 0, w, 4096)) || (st = rw(q, 1, 64, w, 16384)))
		FAIL("%s: write: %s (%s)", uri, aisio_status_str(st), aisio_errmsg());
	if ((st = rw(q, 0, 64, r, 16384)) || memcmp(w, r, 16384))
		FAIL("%s: read back: %s", uri, st ? aisio_status_str(st) : "data differs");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int f = cases[i].fault;

		if (!digests && (f == F_HDGST || f == F_DDGST))
			continue;
		fault = f;
		memset(r, 0, 16384);
		st = rw(q, cases[i].write, 64, cases[i].write ? w : r, 16384);
		if (st != cases[i].want || !strstr(aisio_errmsg(), cases[i].msg))
			FAIL("%s: %s: status %d (%s), want %d; message '%s' should name '%s'", uri,
			     cases[i].name, st, aisio_status_str(st), cases[i].want, aisio_errmsg(), cases[i].msg);
		else
			printf("ok   %s%s: %s\n", cases[i].name, digests ? " (digests)" : "", aisio_errmsg());
		fault = F_NONE;
		/* the queue reconnects; the data written before is intact */
		memset(r, 0, 16384);
		st = rw(q, 0, 64, r, 16384);
		if (st || memcmp(w, r, 16384))
			FAIL("%s: after '%s': %s (%s)", uri, cases[i].name,
			     st ? aisio_status_str(st) : "data differs", aisio_errmsg());
	}
	aisio_buf_free(dev, w);
	aisio_buf_free(dev, r);
	aisio_queue_term(q);
	aisio_dev_close(dev);
}

/*
 * Keep Alive goes out every KATO/2; a target that stays away past the
 * controller-loss timeout makes every command fail with -ENODEV, for good.
 */
static void ka_and_loss(const char *base)
{
	char uri[400];
	struct aisio_dev *dev;
	struct aisio_queue *q;
	uint8_t *r;
	int st = 0, ka0, n = 0;
	time_t t0;

	snprintf(uri, sizeof(uri), "%s,kato_ms=200,ctrl_loss_tmo=1,reconnect_delay_ms=50,timeout_ms=500", base);
	if (aisio_dev_open(uri, NULL, &dev) || aisio_queue_init(dev, 4, &q)) {
		FAIL("open %s: %s", uri, aisio_errmsg());
		return;
	}
	r = aisio_buf_alloc(dev, 4096);
	ka0 = keep_alives;
	{
		/* 5 at 100 ms apart take 0.5 s; 10 s allows for a loaded machine, the rate is printed */
		struct timespec a, b;
		double s;

		clock_gettime(CLOCK_MONOTONIC, &a);
		for (int i = 0; i < 500 && keep_alives - ka0 < 5; i++)
			usleep(20000);
		clock_gettime(CLOCK_MONOTONIC, &b);
		s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (keep_alives - ka0 < 5)
			FAIL("%d Keep Alive commands in %.1f s with KATO 200 ms (want one every 100 ms)",
			     keep_alives - ka0, s);
		else
			printf("ok   %d Keep Alive commands in %.2f s (KATO 200 ms)\n", keep_alives - ka0, s);
	}
	refuse = 1;
	fault = F_CLOSE;
	t0 = time(NULL);
	while (time(NULL) - t0 < 10) {
		st = rw(q, 0, 0, r, 4096);
		n++;
		if (st == -ENODEV)
			break;
		if (st != -ENOTCONN && st != -ECONNREFUSED)
			break;
		usleep(20000);
	}
	if (st != -ENODEV || !strstr(aisio_errmsg(), "controller lost"))
		FAIL("target away past ctrl_loss_tmo=1: %d (%s) after %d tries", st, aisio_errmsg(), n);
	else
		printf("ok   target away past the controller-loss timeout: %s\n", aisio_errmsg());
	refuse = 0;
	usleep(200 * 1000);
	st = rw(q, 0, 0, r, 4096);
	if (st != -ENODEV)
		FAIL("a lost controller came back: %d", st);
	aisio_buf_free(dev, r);
	aisio_queue_term(q);
	aisio_dev_close(dev);
}

static void open_fails(const char *uri, int f, int want, const char *msg)
{
	struct aisio_dev *dev;
	int st;

	fault = f;
	st = aisio_dev_open(uri, NULL, &dev);
	fault = F_NONE;
	if (!st) {
		FAIL("open %s succeeded; wanted %d", uri, want);
		aisio_dev_close(dev);
		return;
	}
	if (st != want || !strstr(aisio_errmsg(), msg))
		FAIL("open %s: %d '%s'; want %d naming '%s'", uri, st, aisio_errmsg(), want, msg);
	else
		printf("ok   open refused: %s\n", aisio_errmsg());
}

int main(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	char uri[256];
	pthread_t t;
	int ls, one = 1, port, dead;

	signal(SIGPIPE, SIG_IGN);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, (void *)&sa, sizeof(sa)) || listen(ls, 16) || getsockname(ls, (void *)&sa, &sl)) {
		perror("tcp_badpeer: loopback listener");
		return 77;
	}
	port = ntohs(sa.sin_port);
	pthread_create(&t, NULL, server_main, (void *)(intptr_t)ls);

	snprintf(uri, sizeof(uri), "nvme+tcp://127.0.0.1:%d/%s,timeout_ms=1000,reconnect_delay_ms=20", port,
		 SUBNQN);
	run_cases(uri, 0);
	snprintf(uri, sizeof(uri), "nvme+tcp://127.0.0.1:%d/%s,timeout_ms=1000,reconnect_delay_ms=20,"
		 "hdgst=1,ddgst=1", port, SUBNQN);
	run_cases(uri, 1);

	snprintf(uri, sizeof(uri), "nvme+tcp://127.0.0.1:%d/%s", port, SUBNQN);
	ka_and_loss(uri);
	open_fails(uri, F_ICRESP, -EPROTO, "MAXH2CDATA");
	snprintf(uri, sizeof(uri), "nvme+tcp://127.0.0.1:%d/nqn.2026-01.io.aisio:nosuch", port);
	open_fails(uri, F_NONE, -ECONNREFUSED, "SUBNQN");
	/* a port nobody listens on: bind one, close it, connect there */
	dead = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_port = 0;
	sl = sizeof(sa);
	if (!bind(dead, (void *)&sa, sizeof(sa)) && !getsockname(dead, (void *)&sa, &sl)) {
		close(dead);
		snprintf(uri, sizeof(uri), "nvme+tcp://127.0.0.1:%d/%s,timeout_ms=2000", ntohs(sa.sin_port),
			 SUBNQN);
		open_fails(uri, F_NONE, -ECONNREFUSED, "cannot connect");
	}
	open_fails("nvme+tcp://127.0.0.1:0/" SUBNQN, F_NONE, -EINVAL, "port");
	open_fails("nvme+tcp://127.0.0.1/", F_NONE, -EINVAL, "subsystem NQN");
	printf("tcp_badpeer: %s\n", failed ? "FAILED" : "all passed");
	return failed ? 1 : 0;
}
