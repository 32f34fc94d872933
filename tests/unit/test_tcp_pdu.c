/* SPDX-License-Identifier: MIT */
/*
 * The NVMe/TCP PDU codec (src/tcp/pdu.c) and URI parser (src/tcp/uri.c):
 * layouts, encode, and a decoder that refuses every malformed header with
 * a message naming what is wrong.
 */
#include <string.h>

#include <aisio/aisio.h>
#include <aisio/nvme_tcp_spec.h>

#include "t.h"
#include "tcp/pdu.h"
#include "tcp/tcp.h"
#include "util/crc32c.h"

static const struct aisio_tcp_params plain = { .maxh2cdata = 65536, .max_c2h = 65536 };
static const struct aisio_tcp_params dg = { .hdgst = 1, .ddgst = 1, .maxh2cdata = 65536, .max_c2h = 65536 };

static void set_hdgst(uint8_t *b, uint32_t hlen)
{
	uint32_t d = aisio_crc32c(b, hlen);

	memcpy(b + hlen, &d, 4);
}

/* A C2HData header as a controller would send it. */
static uint32_t c2h(uint8_t *b, const struct aisio_tcp_params *p, uint16_t cid, uint32_t off, uint32_t len,
		    uint8_t flags)
{
	struct aisio_nvme_tcp_c2h_data *d = (void *)b;
	uint32_t hl = 24 + (p->hdgst ? 4 : 0);

	memset(b, 0, 64);
	d->hdr.type = AISIO_NVME_TCP_C2H_DATA;
	d->hdr.flags = (uint8_t)(flags | (p->hdgst ? AISIO_NVME_TCP_F_HDGST : 0) |
				 (p->ddgst ? AISIO_NVME_TCP_F_DDGST : 0));
	d->hdr.hlen = 24;
	d->hdr.pdo = (uint8_t)hl;
	d->hdr.plen = hl + len + (p->ddgst ? 4 : 0);
	d->cccid = cid;
	d->datao = off;
	d->datal = len;
	if (p->hdgst)
		set_hdgst(b, 24);
	return hl;
}

static uint32_t rsp(uint8_t *b, const struct aisio_tcp_params *p, uint16_t cid, uint16_t status)
{
	struct aisio_nvme_tcp_rsp *r = (void *)b;
	uint32_t hl = 24 + (p->hdgst ? 4 : 0);

	memset(b, 0, 64);
	r->hdr.type = AISIO_NVME_TCP_RSP;
	r->hdr.flags = p->hdgst ? AISIO_NVME_TCP_F_HDGST : 0;
	r->hdr.hlen = 24;
	r->hdr.plen = hl;
	r->cqe.cid = cid;
	r->cqe.status = status;
	r->cqe.dw0 = 0x1234;
	if (p->hdgst)
		set_hdgst(b, 24);
	return hl;
}

/* Decode @len bytes the way the receive path does: common header, then the rest. */
static int decode(const uint8_t *b, uint32_t len, const struct aisio_tcp_params *p, int ic,
		  struct aisio_tcp_pdu *o)
{
	uint32_t need;
	int err = aisio_tcp_pdu_hdr_len(b, p, ic, &need);

	if (err)
		return err;
	if (need != len)
		return -1000; /* test bug */
	return aisio_tcp_pdu_decode(b, len, p, ic, o);
}

static void check_good(void)
{
	uint8_t b[256];
	struct aisio_tcp_pdu o;
	uint32_t hl;

	hl = rsp(b, &plain, 7, 0);
	CHECK_EQ(decode(b, hl, &plain, 0, &o), 0);
	CHECK_EQ(o.type, AISIO_NVME_TCP_RSP);
	CHECK_EQ(o.cccid, 7);
	CHECK_EQ(o.cqe.dw0, 0x1234);

	hl = rsp(b, &dg, 9, 0);
	CHECK_EQ(hl, 28);
	CHECK_EQ(decode(b, hl, &dg, 0, &o), 0);

	hl = c2h(b, &plain, 3, 4096, 8192, AISIO_NVME_TCP_F_DATA_LAST | AISIO_NVME_TCP_F_DATA_SUCCESS);
	CHECK_EQ(decode(b, hl, &plain, 0, &o), 0);
	CHECK_EQ(o.data_len, 8192);
	CHECK_EQ(o.offset, 4096);
	CHECK_EQ(o.pad, 0);
	CHECK_EQ(o.ddgst_len, 0);

	hl = c2h(b, &dg, 3, 0, 512, 0);
	CHECK_EQ(decode(b, hl, &dg, 0, &o), 0);
	CHECK_EQ(o.ddgst_len, 4);
	CHECK_EQ(o.data_len, 512);
}

static void check_bad(void)
{
	uint8_t b[256];
	struct aisio_tcp_pdu o;
	uint32_t hl, need;

	/* unknown type, and types only a host sends */
	hl = rsp(b, &plain, 1, 0);
	b[0] = 0x0b;
	CHECK_EQ(aisio_tcp_pdu_hdr_len(b, &plain, 0, &need), -EPROTO);
	CHECK(strstr(aisio_errmsg(), "type 0xb") != NULL);
	b[0] = AISIO_NVME_TCP_CMD;
	CHECK_EQ(aisio_tcp_pdu_hdr_len(b, &plain, 0, &need), -EPROTO);
	b[0] = AISIO_NVME_TCP_H2C_DATA;
	CHECK_EQ(aisio_tcp_pdu_hdr_len(b, &plain, 0, &need), -EPROTO);

	/* wrong HLEN; PLEN shorter than the header; PLEN longer for a PDU without data */
	hl = rsp(b, &plain, 1, 0);
	b[2] = 25;
	CHECK_EQ(aisio_tcp_pdu_hdr_len(b, &plain, 0, &need), -EPROTO);
	CHECK(strstr(aisio_errmsg(), "HLEN 25") != NULL);
	hl = rsp(b, &plain, 1, 0);
	b[4] = 20;
	CHECK_EQ(aisio_tcp_pdu_hdr_len(b, &plain, 0, &need), -EPROTO);
	hl = rsp(b, &plain, 1, 0);
	b[4] = 100;
	CHECK_EQ(decode(b, hl, &plain, 0, &o), -EPROTO);
	/* PDO on a PDU without data */
	hl = rsp(b, &plain, 1, 0);
	b[3] = 24;
	CHECK_EQ(decode(b, hl, &plain, 0, &o), -EPROTO);

	/* ICResp after setup; CapsuleResp before ICResp */
	hl = rsp(b, &plain, 1, 0);
	CHECK_EQ(aisio_tcp_pdu_hdr_len(b, &plain, 1, &need), -EPROTO);

	/* header digest: missing, corrupted, present when not negotiated */
	hl = rsp(b, &dg, 1, 0);
	b[10] ^= 1;
	CHECK_EQ(decode(b, hl, &dg, 0, &o), -EBADMSG);
	CHECK(strstr(aisio_errmsg(), "digest") != NULL);
	hl = rsp(b, &plain, 1, 0);
	CHECK_EQ(aisio_tcp_pdu_hdr_len(b, &dg, 0, &need), -EPROTO); /* plen 24 < 28 */
	hl = rsp(b, &dg, 1, 0);
	CHECK_EQ(aisio_tcp_pdu_hdr_len(b, &plain, 0, &need), 0);
	CHECK_EQ(aisio_tcp_pdu_decode(b, need, &plain, 0, &o), -EPROTO);

	/* C2HData: SUCCESS without LAST, DATAL against PLEN, too large, bad PDO, digest flag */
	hl = c2h(b, &plain, 1, 0, 512, AISIO_NVME_TCP_F_DATA_SUCCESS);
	CHECK_EQ(decode(b, hl, &plain, 0, &o), -EPROTO);
	CHECK(strstr(aisio_errmsg(), "SUCCESS") != NULL);
	hl = c2h(b, &plain, 1, 0, 512, 0);
	((struct aisio_nvme_tcp_c2h_data *)b)->datal = 511;
	CHECK_EQ(decode(b, hl, &plain, 0, &o), -EPROTO);
	hl = c2h(b, &plain, 1, 0, 65536 + 4, 0);
	CHECK_EQ(decode(b, hl, &plain, 0, &o), -EPROTO);
	hl = c2h(b, &plain, 1, 0, 512, 0);
	b[3] = 10; /* PDO inside the header */
	CHECK_EQ(decode(b, hl, &plain, 0, &o), -EPROTO);
	hl = c2h(b, &plain, 1, 0, 512, 0);
	b[3] = 26; /* not dword aligned */
	CHECK_EQ(decode(b, hl, &plain, 0, &o), -EPROTO);
	hl = c2h(b, &plain, 1, 0, 512, 0);
	b[1] |= AISIO_NVME_TCP_F_DDGST;
	CHECK_EQ(decode(b, hl, &plain, 0, &o), -EPROTO);
	hl = c2h(b, &plain, 1, 0xfffffff0u, 512, 0);
	CHECK_EQ(decode(b, hl, &plain, 0, &o), -EPROTO);
	/* unknown flag on a CapsuleResp */
	hl = rsp(b, &plain, 1, 0);
	b[1] = 0x10;
	CHECK_EQ(decode(b, hl, &plain, 0, &o), -EPROTO);

	/* R2T for nothing */
	memset(b, 0, 64);
	b[0] = AISIO_NVME_TCP_R2T;
	b[2] = 24;
	b[4] = 24;
	CHECK_EQ(decode(b, 24, &plain, 0, &o), -EPROTO);

	/* TermReq: fine up to 152 bytes, refused beyond */
	memset(b, 0, 64);
	b[0] = AISIO_NVME_TCP_C2H_TERM;
	b[2] = 24;
	b[4] = 40;
	b[8] = AISIO_NVME_TCP_FES_HDGST;
	CHECK_EQ(decode(b, 24, &dg, 0, &o), 0);
	CHECK_EQ(o.data_len, 16);
	CHECK_EQ(o.fes, AISIO_NVME_TCP_FES_HDGST);
	b[4] = 153;
	CHECK_EQ(decode(b, 24, &dg, 0, &o), -EPROTO);
}

static void check_icresp(void)
{
	struct aisio_nvme_tcp_icresp r;
	struct aisio_tcp_params none = { 0 };
	struct aisio_tcp_pdu o;

	memset(&r, 0, sizeof(r));
	r.hdr.type = AISIO_NVME_TCP_ICRESP;
	r.hdr.hlen = 128;
	r.hdr.plen = 128;
	r.maxdata = 131072;
	r.dgst = 3;
	CHECK_EQ(decode((void *)&r, 128, &none, 1, &o), 0);
	CHECK_EQ(o.maxdata, 131072);
	CHECK_EQ(o.dgst, 3);
	r.maxdata = 1024;
	CHECK_EQ(decode((void *)&r, 128, &none, 1, &o), -EPROTO);
	CHECK(strstr(aisio_errmsg(), "MAXH2CDATA") != NULL);
	r.maxdata = 8192;
	r.pfv = 1;
	CHECK_EQ(decode((void *)&r, 128, &none, 1, &o), -EPROTO);
	r.pfv = 0;
	r.cpda = 32;
	CHECK_EQ(decode((void *)&r, 128, &none, 1, &o), -EPROTO);
}

static void check_encode(void)
{
	uint8_t b[256];
	struct aisio_nvme_sqe sqe = { .opc = 1, .cid = 5 };
	struct aisio_tcp_params p = dg;
	struct aisio_nvme_tcp_cmd *c = (void *)b;
	struct aisio_nvme_tcp_h2c_data *h = (void *)b;
	size_t n;

	CHECK_EQ(aisio_tcp_pdu_icreq(b, 1, 0), 128);
	CHECK_EQ(b[0], AISIO_NVME_TCP_ICREQ);
	CHECK_EQ(b[11], AISIO_NVME_TCP_HDGST_ENABLE);

	n = aisio_tcp_pdu_cmd(b, &sqe, 4096, &p);
	CHECK_EQ(n, 76); /* 72 + digest, PDO aligned to 4 */
	CHECK_EQ(c->hdr.pdo, 76);
	CHECK_EQ(c->hdr.plen, 76 + 4096 + 4);
	CHECK_EQ(c->hdr.flags, AISIO_NVME_TCP_F_HDGST | AISIO_NVME_TCP_F_DDGST);
	CHECK_EQ(*(uint32_t *)(b + 72), aisio_crc32c(b, 72));
	p.cpda = 7; /* 32-byte alignment */
	n = aisio_tcp_pdu_cmd(b, &sqe, 4096, &p);
	CHECK_EQ(n, 96);
	CHECK_EQ(c->hdr.plen, 96 + 4096 + 4);
	n = aisio_tcp_pdu_cmd(b, &sqe, 0, &plain);
	CHECK_EQ(n, 72);
	CHECK_EQ(c->hdr.pdo, 0);
	CHECK_EQ(c->hdr.plen, 72);

	n = aisio_tcp_pdu_h2c(b, 5, 0x77, 8192, 4096, 1, &plain);
	CHECK_EQ(n, 24);
	CHECK_EQ(h->hdr.flags, AISIO_NVME_TCP_F_DATA_LAST);
	CHECK_EQ(h->hdr.plen, 24 + 4096);
	CHECK_EQ(h->ttag, 0x77);
	CHECK_EQ(h->datao, 8192);
}

static void check_uri(void)
{
	struct aisio_tcp_uri u;

	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp://127.0.0.1/nqn.2024-01.io.aisio:t1", &u), 0);
	CHECK(!strcmp(u.host, "127.0.0.1") && !strcmp(u.port, "4420"));
	CHECK(!strcmp(u.subnqn, "nqn.2024-01.io.aisio:t1"));
	CHECK_EQ(u.nr_io_queues, 4);
	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp://[::1]:4421/nqn.x,hostnqn=nqn.h,nr_io_queues=8,hdgst=1", &u), 0);
	CHECK(!strcmp(u.host, "::1") && !strcmp(u.port, "4421") && !strcmp(u.hostnqn, "nqn.h"));
	CHECK_EQ(u.nr_io_queues, 8);
	CHECK_EQ(u.hdgst, 1);
	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp://host:99999/nqn.x", &u), -EINVAL);
	CHECK(strstr(aisio_errmsg(), "port") != NULL);
	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp://host:/nqn.x", &u), -EINVAL);
	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp://host", &u), -EINVAL);
	CHECK(strstr(aisio_errmsg(), "subsystem NQN") != NULL);
	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp:///nqn.x", &u), -EINVAL);
	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp://[::1/nqn.x", &u), -EINVAL);
	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp://h/nqn.x,nr_io_queues=0", &u), -EINVAL);
	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp://h/nqn.x,bogus=1", &u), -EINVAL);
	CHECK(strstr(aisio_errmsg(), "bogus") != NULL);
	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp://h/nqn.x,hdgst", &u), -EINVAL);
	CHECK_EQ(aisio_tcp_uri_parse("nvme+tcp://h/nqn.x,hostnqn=", &u), -EINVAL);
}

int main(void)
{
	check_good();
	check_bad();
	check_icresp();
	check_encode();
	check_uri();
	return t_result("tcp_pdu");
}
