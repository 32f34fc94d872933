/* SPDX-License-Identifier: MIT */
/*
 * The driver's conformance suite: one program, any controller the
 * user-space driver can open (the device model, QEMU's NVMe through uio or
 * vfio). Everything it expects comes from the controller's own geometry and
 * Identify data, so the same checks hold on every target.
 *
 *   conformance [--max-pages N] [URI]        default URI: emu:64M,mdts=10
 *
 * URIs of the user-space driver (emu:, pci:) and nvme+tcp:// (a remote
 * controller). Over a fabric the PCIe-only checks (PRP lists, the driver's
 * SGL queues, Create/Delete I/O Queue on the admin queue) are reported as
 * skipped: NVMe/TCP carries data in its own PDUs and makes queues by Connect.
 *
 * Through homid (homi:...) the controller is shared and its admin queue is
 * homid's: checks that need the whole controller (queue limits, SGL queues,
 * reset, admin errors) are skipped or become checks that homid refuses.
 * A VF from homid's pool (homi:...,mode=vf) is a whole controller with its
 * own admin queue: every check runs but the reset, which is homid's.
 * A direct client of homid's remote (NVMe/TCP) controller drives a Fabrics
 * queue homid handed over: the fabric rules apply to it as well.
 *
 * --max-pages N: the controller maps at most N memory pages per command,
 * whatever MDTS says (QEMU's NVMe controller fails a command with more than
 * 1024 PRP or SGL mappings with Internal Error); transfers are clipped to
 * that and the report says how many were.
 *
 * Prints one line per check (PASS / FAIL / SKIP and what was seen) and
 * exits 0 when nothing failed, 1 otherwise. It overwrites data in the first
 * 64 MiB of the namespace.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aisio/aisio.h>

#include "drv/drv.h"
#include "homi/client.h"
#include "nvme/cmd.h"

static const char *target;
static int npass, nfail, nskip;

static void report(const char *verdict, const char *name, const char *fmt, va_list ap)
{
	printf("conformance %s: %-4s %s", target, verdict, name);
	if (fmt && *fmt) {
		printf(": ");
		vprintf(fmt, ap);
	}
	printf("\n");
	fflush(stdout);
}

static void pass(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("PASS", name, fmt, ap);
	va_end(ap);
	npass++;
}

static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("FAIL", name, fmt, ap);
	va_end(ap);
	nfail++;
}

static void skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("SKIP", name, fmt, ap);
	va_end(ap);
	nskip++;
}

/* ---- helpers ------------------------------------------------------------ */

static struct aisio_dev *dev;
static struct aisio_nvme_ctrl *drvc; /* the driver's controller handle behind dev */
static int through_homid;	     /* homi: homid owns the controller and its admin queue */
static int homid_vf;		     /* homi:...,mode=vf: a whole VF, but homid resets it */
static const struct aisio_geo *geo;
static struct aisio_nvme_id_ctrl idc;
static uint64_t area_lbas; /* LBAs the suite may write */
static size_t max_pages;   /* --max-pages (0: no limit but MDTS) */
static uint32_t clipped;   /* transfers clipped to max_pages */
static int fabric;         /* nvme+tcp://: no PCIe queues or PRPs */

/* Memory page size of the controller: the driver's, or 4 KiB over a fabric. */
static size_t page_size(void)
{
	if (fabric)
		return 4096;
	return (size_t)1 << aisio_nvme_ctrl_info(drvc)->page_shift;
}

/* @len cut so that a transfer from buffer offset @off spans at most max_pages pages of @ps. */
static size_t fit_pages(size_t len, size_t off, size_t ps)
{
	size_t room;

	if (!max_pages)
		return len;
	room = max_pages * ps - off % ps;
	if (len <= room)
		return len;
	clipped++;
	return room / geo->lba_size * geo->lba_size;
}

static uint64_t rnd_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
	uint64_t x = rnd_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rnd_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rnd();
		memcpy(p + i, &v, n - i < 8 ? n - i : 8);
	}
}

static int run_cmd(struct aisio_queue *q, const struct aisio_nvme_sqe *cmd, void *buf, size_t len)
{
	struct aisio_io *io = aisio_queue_get_io(q);

	if (!io)
		return -EBUSY;
	aisio_io_set_cb(io, NULL, NULL);
	aisio_prep_cmd(io, cmd, buf, len);
	return aisio_io_sync(io);
}

static int rw(struct aisio_queue *q, int write, uint64_t slba, void *buf, size_t len)
{
	struct aisio_nvme_sqe cmd;

	aisio_nvme_cmd_rw(&cmd, write ? AISIO_NVME_NVM_WRITE : AISIO_NVME_NVM_READ, geo->nsid, slba,
			  (uint32_t)(len / geo->lba_size), 0);
	return run_cmd(q, &cmd, buf, len);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* ---- checks ------------------------------------------------------------- */

static int check_bringup(void)
{
	struct aisio_nvme_id_ns idn;
	struct aisio_nvme_ns_list *list;
	struct aisio_nvme_sqe cmd;
	int st, found = 0;

	st = aisio_dev_identify_ctrl(dev, &idc);
	if (st) {
		fail("identify-controller", "%s", aisio_errmsg());
		return -1;
	}
	pass("identify-controller", "vid %04x, '%.40s', MDTS %u, NN %u, SGLS %x, ONCS %x, SQES %02x, CQES %02x",
	     idc.vid, idc.mn, idc.mdts, idc.nn, idc.sgls, idc.oncs, idc.sqes, idc.cqes);
	if ((idc.sqes & 0xf) > 6 || (idc.sqes >> 4) < 6 || (idc.cqes & 0xf) > 4 || (idc.cqes >> 4) < 4)
		fail("identify-entry-sizes", "SQES %02x / CQES %02x do not allow 64/16-byte entries",
		     idc.sqes, idc.cqes);

	st = aisio_dev_identify_ns(dev, geo->nsid, &idn);
	if (st)
		fail("identify-namespace", "nsid %u: %s", geo->nsid, aisio_errmsg());
	else if (idn.nsze != geo->nlbas ||
		 (1u << idn.lbaf[aisio_nvme_id_ns_flbas_index(&idn)].lbads) != geo->lba_size)
		fail("identify-namespace", "NSZE %llu / LBADS %u disagree with the geometry (%llu LBAs of %u)",
		     (unsigned long long)idn.nsze, idn.lbaf[aisio_nvme_id_ns_flbas_index(&idn)].lbads,
		     (unsigned long long)geo->nlbas, geo->lba_size);
	else
		pass("identify-namespace", "nsid %u: %llu LBAs of %u bytes", geo->nsid,
		     (unsigned long long)idn.nsze, geo->lba_size);

	if (through_homid) {
		/* homid answers Identify for the attached namespace only */
		st = aisio_dev_identify_ns(dev, geo->nsid + 1, &idn);
		if (st < 0)
			pass("identify-other-namespace", "refused by homid: %s", aisio_errmsg());
		else
			fail("identify-other-namespace", "nsid %u answered (%s) through homid", geo->nsid + 1,
			     aisio_status_str(st));
	}
	list = calloc(1, sizeof(*list));
	if (!list)
		return -1;
	aisio_nvme_cmd_identify(&cmd, AISIO_NVME_CNS_NS_ACTIVE_LIST, 0, 0);
	st = aisio_dev_admin(dev, &cmd, list, sizeof(*list), NULL);
	for (int i = 0; !st && i < 1024 && list->nsid[i]; i++)
		if (list->nsid[i] == geo->nsid)
			found = 1;
	if (st || !found)
		fail("identify-active-ns-list", "%s", st ? aisio_errmsg() : "namespace missing from the list");
	else if (through_homid && list->nsid[1])
		fail("identify-active-ns-list", "homid listed namespace %u beside the attached %u",
		     list->nsid[0] == geo->nsid ? list->nsid[1] : list->nsid[0], geo->nsid);
	else
		pass("identify-active-ns-list", "first %u", list->nsid[0]);
	free(list);
	if (through_homid)
		return 0;

	memset(&idn, 0xa5, sizeof(idn));
	st = aisio_dev_identify_ns(dev, 0xfffffff0u, &idn);
	if (st == AISIO_NVME_SC_INVALID_NS)
		pass("identify-invalid-namespace", "%s", aisio_status_str(st));
	else if (fabric && !st && !idn.nsze && !idn.ncap && !idn.nlbaf)
		pass("identify-invalid-namespace", "success with a zeroed structure (the Linux target "
		     "answers an inactive NSID so)");
	else
		fail("identify-invalid-namespace", "got %s", aisio_status_str(st));
	return 0;
}

static void check_queues(void)
{
	uint32_t n = geo->max_queues, made = 0, io_ok = 0, full = 0;
	struct aisio_queue **qs, *extra = NULL;
	uint8_t *buf;
	struct aisio_io *io;
	int err = 0;

	if (through_homid) {
		skip("queues-max", "homid shares the controller's queue IDs among its clients");
		return;
	}
	qs = calloc(n + 1, sizeof(*qs));
	buf = aisio_buf_alloc(dev, geo->lba_size);

	if (!qs || !buf) {
		fail("queues-max", "out of memory");
		goto out;
	}
	for (made = 0; made < n; made++) {
		uint32_t depth = made == 0 ? geo->max_qdepth : geo->max_qdepth < 16 ? geo->max_qdepth : 16;

		err = aisio_queue_init(dev, depth, &qs[made]);
		if (err)
			break;
	}
	if (made < n) {
		fail("queues-max", "queue %u of %u: %s", made + 1, n, aisio_errmsg());
		goto out;
	}
	err = aisio_queue_init(dev, 2, &extra);
	if (err != -EBUSY) {
		fail("queues-max", "queue %u beyond the granted %u: got %d", n + 1, n, err);
		if (!err)
			aisio_queue_term(extra);
	}
	for (uint32_t i = 0; i < n; i++)
		if (!rw(qs[i], 0, 0, buf, geo->lba_size))
			io_ok++;
	if (io_ok != n)
		fail("queues-max", "I/O worked on %u of %u queues", io_ok, n);
	else if (err == -EBUSY)
		pass("queues-max", "%u I/O queue pairs created and used, one more refused", n);

	/* The deepest queue, completely full. */
	while ((io = aisio_queue_get_io(qs[0]))) {
		aisio_io_set_cb(io, NULL, NULL);
		aisio_prep_read(io, geo->nsid, full % area_lbas, 1, buf, geo->lba_size);
		full++;
	}
	err = aisio_queue_submit(qs[0]);
	if (err >= 0)
		err = aisio_queue_wait(qs[0]);
	if (err || full != geo->max_qdepth - 1)
		fail("queues-max-depth", "%u commands in a queue of %u entries: %s", full, geo->max_qdepth,
		     err ? aisio_errmsg() : "wrong count");
	else
		pass("queues-max-depth", "%u entries (CAP.MQES + 1), %u commands in flight", geo->max_qdepth, full);
out:
	for (uint32_t i = 0; i < made; i++)
		aisio_queue_term(qs[i]);
	/* Deleted queues can be created again. */
	if (made == n && n) {
		err = aisio_queue_init(dev, 2, &extra);
		if (err)
			fail("queues-recreate", "%s", aisio_errmsg());
		else
			pass("queues-recreate", "");
		aisio_queue_term(extra);
	}
	aisio_buf_free(dev, buf);
	free(qs);
}

/*
 * Write a pattern from one buffer offset, read it back at another, compare.
 * @prp: the queue uses PRPs, one per page, so --max-pages applies (an SGL
 * describes a bus-contiguous run with one descriptor).
 */
static void check_integrity(struct aisio_queue *q, const char *name, int prp)
{
	static const size_t offs[] = { 0, 8, 512, 2048, 4092 };
	const uint32_t lbs = geo->lba_size, maxx = geo->max_xfer;
	const size_t ps = page_size();
	size_t sizes[16];
	uint32_t ns = 0, checks = 0, bad = 0, clipped0 = clipped;
	uint8_t *w = aisio_buf_alloc(dev, maxx + 8192), *r = aisio_buf_alloc(dev, maxx + 8192);

	if (!w || !r) {
		fail(name, "no DMA memory for %u-byte buffers", maxx + 8192);
		goto out;
	}
	sizes[ns++] = lbs;
	sizes[ns++] = 2 * lbs;
	sizes[ns++] = 4096 > lbs ? 4096 : 2 * lbs;
	sizes[ns++] = 4096 + lbs;
	sizes[ns++] = 8192;
	sizes[ns++] = 3 * 4096 + lbs;
	sizes[ns++] = 64 * 1024;
	sizes[ns++] = 128 * 1024 + lbs;
	sizes[ns++] = (size_t)maxx / 2;
	sizes[ns++] = (size_t)maxx - lbs;
	sizes[ns++] = maxx;
	for (uint32_t si = 0; si < ns; si++) {
		size_t len0 = sizes[si] / lbs * lbs;

		if (!len0 || len0 > maxx || len0 / lbs > area_lbas)
			continue;
		for (uint32_t oi = 0; oi < sizeof(offs) / sizeof(offs[0]); oi++) {
			uint8_t *wb = w + offs[oi], *rb = r + offs[(oi + 2) % 5];
			size_t len = prp ? fit_pages(fit_pages(len0, offs[oi], ps), offs[(oi + 2) % 5], ps)
					 : len0;
			uint64_t slba = rnd() % (area_lbas - len / lbs + 1);
			int st;

			fill(wb, len);
			memset(rb, 0x5a, len);
			st = rw(q, 1, slba, wb, len);
			if (!st)
				st = rw(q, 0, slba, rb, len);
			checks++;
			if (st || memcmp(wb, rb, len)) {
				if (bad++ < 3)
					fail(name, "%zu bytes at LBA %llu, buffer offsets %zu/%zu: %s", len,
					     (unsigned long long)slba, offs[oi], offs[(oi + 2) % 5],
					     st ? aisio_status_str(st) : "data differs");
			}
		}
	}
	if (!bad)
		pass(name, "%u write/read pairs, %zu bytes to %u bytes (MDTS), offsets 0..4092%s", checks,
		     (size_t)lbs, maxx, clipped > clipped0 ? ", some clipped to --max-pages" : "");
out:
	aisio_buf_free(dev, w);
	aisio_buf_free(dev, r);
}

/*
 * Transfers whose PRP list does not fit in one list page: more entries after
 * PRP1 than a page holds (page / 8), so the last entry of each full list page
 * points to the next one. Each is written and read back byte for byte from
 * different buffer offsets; the data differs in every page, so a page listed
 * twice, skipped or out of order shows. The entry and list-page counts are
 * worked out here from the page geometry, independently of the driver. One
 * transfer fills exactly one list page (the edge before chaining). When MDTS
 * does not allow a chained transfer, the check is skipped, never passed.
 */
static void check_prp_chain(struct aisio_queue *q)
{
	const size_t ps = page_size();
	const size_t per = ps / 8, lbs = geo->lba_size, maxx = geo->max_xfer;
	const struct {
		size_t off, len;
	} tc[] = {
		{ 0, (per + 1) * ps },          /* per entries: one full list page */
		{ 0, (per + 1) * ps + lbs },    /* per + 1 entries: two list pages */
		{ 8, (per + 1) * ps },          /* unaligned start: one page more */
		{ 2048, (per + 2) * ps - lbs },
		{ 0, maxx },
		{ 512, maxx - ps },
	};
	uint8_t *w = NULL, *r = NULL;
	uint32_t done = 0, chained = 0, most_lists = 0, bad = 0;
	size_t min_len = SIZE_MAX, max_len = 0;

	if (max_pages && max_pages < per + 2) {
		skip("prp-chained-lists", "the controller maps at most %zu pages per command "
		     "(--max-pages): a chained list needs at least %zu", max_pages, per + 2);
		return;
	}
	if (maxx < (per + 1) * ps + lbs) {
		skip("prp-chained-lists", "MDTS allows %zu bytes per command: at most %zu PRP entries, "
		     "one list page of %zu (a chained list needs more than %zu bytes)",
		     maxx, maxx / ps + 1, per, (per + 1) * ps);
		return;
	}
	w = aisio_buf_alloc(dev, maxx + 2 * ps);
	r = aisio_buf_alloc(dev, maxx + 2 * ps);
	if (!w || !r) {
		fail("prp-chained-lists", "no DMA memory for two %zu-byte buffers", maxx + 2 * ps);
		goto out;
	}
	for (size_t i = 0; i < sizeof(tc) / sizeof(tc[0]); i++) {
		size_t len = fit_pages(tc[i].len / lbs * lbs, tc[i].off, ps), roff = tc[i].off + ps;
		size_t entries = (tc[i].off % ps + len + ps - 1) / ps - 1;
		size_t lists = entries <= per ? 1 : (entries - 1 + per - 2) / (per - 1);
		uint64_t slba;
		int st;

		if (!len || len > maxx || len / lbs > area_lbas)
			continue;
		slba = rnd() % (area_lbas - len / lbs + 1);
		fill(w + tc[i].off, len);
		memset(r + roff, 0x5a, len);
		st = rw(q, 1, slba, w + tc[i].off, len);
		if (!st)
			st = rw(q, 0, slba, r + roff, len);
		done++;
		if (lists > 1)
			chained++;
		if (lists > most_lists)
			most_lists = (uint32_t)lists;
		min_len = len < min_len ? len : min_len;
		max_len = len > max_len ? len : max_len;
		if (st || memcmp(w + tc[i].off, r + roff, len)) {
			size_t at = 0;

			while (!st && at < len && w[tc[i].off + at] == r[roff + at])
				at++;
			if (bad++ < 3)
				fail("prp-chained-lists", "%zu bytes (%zu PRP entries, %zu list pages) at LBA "
				     "%llu, buffer offsets %zu/%zu: %s at byte %zu", len, entries, lists,
				     (unsigned long long)slba, tc[i].off, roff,
				     st ? aisio_status_str(st) : "data differs", at);
		}
	}
	if (bad)
		goto out;
	if (!chained)
		fail("prp-chained-lists", "no transfer needed a chained list (MDTS %zu bytes)", maxx);
	else
		pass("prp-chained-lists", "%u transfers of %zu..%zu bytes byte for byte, %u of them "
		     "through chained PRP lists (up to %u list pages of %zu entries)",
		     done, min_len, max_len, chained, most_lists, per);
out:
	aisio_buf_free(dev, w);
	aisio_buf_free(dev, r);
}

static void check_sgl(void)
{
	struct aisio_nvme_ctrl *c = drvc;
	struct aisio_nvme_qpair *qp;
	int err;

	if (through_homid) {
		skip("sgl-integrity", "homid creates the queues; homi: clients use PRPs");
		return;
	}
	if (!geo->sgl) {
		skip("sgl-integrity", "controller reports no SGL support (SGLS %x)", idc.sgls);
		return;
	}
	err = aisio_nvme_qpair_create(c, dev, 32, AISIO_NVME_QP_SGL, &qp);
	if (err) {
		fail("sgl-integrity", "SGL queue: %s", aisio_errmsg());
		return;
	}
	check_integrity(&qp->q, "sgl-integrity", 0);
	aisio_nvme_qpair_delete(qp);
}

static void check_wrap(void)
{
	uint32_t depth = geo->max_qdepth < 4 ? geo->max_qdepth : 4, cmds = 0, bad = 0;
	const uint32_t lbs = geo->lba_size;
	struct aisio_queue *q;
	uint8_t *w = aisio_buf_alloc(dev, 8 * lbs), *r = aisio_buf_alloc(dev, 8 * lbs);
	int err = aisio_queue_init(dev, depth, &q);

	if (err || !w || !r) {
		fail("queue-wrap", "%s", err ? aisio_errmsg() : "out of DMA memory");
		goto out_buf;
	}
	/* Batches of depth - 1 commands, so every ring position is used in every alignment. */
	for (uint32_t round = 0; round < 40; round++) {
		uint32_t n = 0;
		struct aisio_io *io;

		fill(w, 8 * lbs);
		while ((io = aisio_queue_get_io(q))) {
			aisio_io_set_cb(io, NULL, NULL);
			aisio_prep_write(io, geo->nsid, (round * 8 + n) % area_lbas, 1, w + n * lbs, lbs);
			n++;
		}
		err = aisio_queue_submit(q);
		if (err >= 0)
			err = aisio_queue_wait(q);
		for (uint32_t i = 0; !err && i < n; i++) {
			err = rw(q, 0, (round * 8 + i) % area_lbas, r + i * lbs, lbs);
			cmds++;
		}
		cmds += n;
		if (err || memcmp(w, r, (size_t)n * lbs)) {
			if (bad++ < 3)
				fail("queue-wrap", "round %u: %s", round, err ? aisio_errmsg() : "data differs");
		}
	}
	if (!bad)
		pass("queue-wrap", "%u commands through a %u-entry queue (%u wraps)", cmds, depth, cmds / depth);
	aisio_queue_term(q);
out_buf:
	aisio_buf_free(dev, w);
	aisio_buf_free(dev, r);
}

static void expect_status(const char *name, int st, int want)
{
	if (st == want)
		pass(name, "%s", aisio_status_str(st));
	else if (fabric && want == AISIO_NVME_SC_LBA_RANGE && st > 0)
		pass(name, "the target reports %s (Linux nvmet's block backend leaves the range check to "
		     "the block layer)", aisio_status_str(st));
	else
		fail(name, "expected %s, got %s", aisio_status_str(want), aisio_status_str(st));
}

static void check_errors(struct aisio_queue *q)
{
	uint8_t *buf = aisio_buf_alloc(dev, 2 * geo->lba_size);
	struct aisio_nvme_sqe cmd;
	int st;

	if (!buf) {
		fail("errors", "out of DMA memory");
		return;
	}
	expect_status("lba-out-of-range", rw(q, 0, geo->nlbas, buf, geo->lba_size), AISIO_NVME_SC_LBA_RANGE);
	expect_status("lba-out-of-range-end", rw(q, 1, geo->nlbas - 1, buf, 2 * geo->lba_size),
		      AISIO_NVME_SC_LBA_RANGE);

	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = 0x7f; /* no command set defines it */
	cmd.nsid = geo->nsid;
	expect_status("invalid-opcode", run_cmd(q, &cmd, NULL, 0), AISIO_NVME_SC_INVALID_OPCODE);

	aisio_nvme_cmd_read(&cmd, 0xfffffff0u, 0, 1);
	expect_status("invalid-namespace", run_cmd(q, &cmd, buf, geo->lba_size), AISIO_NVME_SC_INVALID_NS);

	/* Admin: a QID beyond those granted, and deleting a queue that does not exist. */
	if (fabric) {
		skip("invalid-queue-id-create", "fabrics: I/O queues are made by Connect");
		skip("invalid-queue-id-delete", "fabrics: I/O queues are made by Connect");
		goto recovery;
	}
	aisio_nvme_cmd_create_cq(&cmd, (uint16_t)(geo->max_queues + 1), 2,
				 aisio_mem_bus(aisio_nvme_ctrl_dma_region(drvc, buf), buf), 0, 0);
	st = aisio_dev_admin(dev, &cmd, NULL, 0, NULL);
	if (through_homid) {
		/* queue management stays with homid: refused before the controller sees it */
		if (st < 0)
			pass("admin-refused", "Create I/O CQ through homid: %s", aisio_errmsg());
		else
			fail("admin-refused", "Create I/O CQ through homid got %s", aisio_status_str(st));
	} else {
		expect_status("invalid-queue-id-create", st, AISIO_NVME_SC_QID_INVALID);
		aisio_nvme_cmd_delete_queue(&cmd, AISIO_NVME_ADM_DELETE_SQ, (uint16_t)(geo->max_queues + 1));
		st = aisio_dev_admin(dev, &cmd, NULL, 0, NULL);
		expect_status("invalid-queue-id-delete", st, AISIO_NVME_SC_QID_INVALID);
	}

recovery:
	/* The queue still works after all that. */
	st = rw(q, 0, 0, buf, geo->lba_size);
	if (st)
		fail("errors-recovery", "%s", aisio_status_str(st));
	else
		pass("errors-recovery", "I/O works after the error statuses");
	aisio_buf_free(dev, buf);
}

static void check_nvm_cmds(struct aisio_queue *q)
{
	const uint32_t lbs = geo->lba_size, nlb = 16;
	uint8_t *w = aisio_buf_alloc(dev, nlb * lbs), *r = aisio_buf_alloc(dev, nlb * lbs);
	struct aisio_nvme_dsm_range *rg = aisio_buf_alloc(dev, 4096);
	struct aisio_nvme_id_ns idn;
	struct aisio_nvme_sqe cmd;
	uint64_t slba = area_lbas > 64 ? area_lbas - 64 : 0;
	int st;

	if (!w || !r || !rg || area_lbas < nlb) {
		fail("nvm-commands", "out of DMA memory");
		goto out;
	}
	aisio_nvme_cmd_flush(&cmd, geo->nsid);
	expect_status("flush", run_cmd(q, &cmd, NULL, 0), 0);

	fill(w, nlb * lbs);
	st = rw(q, 1, slba, w, nlb * lbs);
	if (!(idc.oncs & AISIO_NVME_ONCS_WRITE_ZEROES)) {
		skip("write-zeroes", "ONCS says not supported");
	} else {
		aisio_nvme_cmd_write_zeroes(&cmd, geo->nsid, slba + 4, 8, 0);
		if (!st)
			st = run_cmd(q, &cmd, NULL, 0);
		if (!st)
			st = rw(q, 0, slba, r, nlb * lbs);
		if (st)
			fail("write-zeroes", "%s", aisio_status_str(st));
		else if (memcmp(r, w, 4 * lbs) || !all_zero(r + 4 * lbs, 8 * lbs) ||
			 memcmp(r + 12 * lbs, w + 12 * lbs, 4 * lbs))
			fail("write-zeroes", "data around or inside the zeroed range is wrong");
		else
			pass("write-zeroes", "8 LBAs zeroed, neighbours intact");
	}

	if (!(idc.oncs & AISIO_NVME_ONCS_DSM)) {
		skip("dsm-deallocate", "ONCS says not supported");
	} else {
		memset(rg, 0, 4096);
		rg[0].slba = slba;
		rg[0].nlb = nlb;
		aisio_nvme_cmd_dsm(&cmd, geo->nsid, 1, AISIO_NVME_DSM_AD);
		st = rw(q, 1, slba, w, nlb * lbs);
		if (!st)
			st = run_cmd(q, &cmd, rg, 4096);
		if (st) {
			fail("dsm-deallocate", "%s", aisio_status_str(st));
		} else if (!aisio_dev_identify_ns(dev, geo->nsid, &idn) && (idn.dlfeat & 7) == 1) {
			st = rw(q, 0, slba, r, nlb * lbs);
			if (st || !all_zero(r, nlb * lbs))
				fail("dsm-deallocate", "DLFEAT says zeroes, read gave %s",
				     st ? aisio_status_str(st) : "data");
			else
				pass("dsm-deallocate", "deallocated LBAs read as zeroes (DLFEAT %x)", idn.dlfeat);
		} else {
			pass("dsm-deallocate", "accepted (DLFEAT %x: read-back value unspecified)", idn.dlfeat);
		}
	}

	if (!(idc.oncs & AISIO_NVME_ONCS_COMPARE)) {
		skip("compare", "ONCS says not supported");
	} else {
		st = rw(q, 1, slba, w, nlb * lbs);
		aisio_nvme_cmd_compare(&cmd, geo->nsid, slba, nlb);
		if (!st)
			st = run_cmd(q, &cmd, w, nlb * lbs);
		expect_status("compare-match", st, 0);
		w[lbs + 7] ^= 0x40;
		expect_status("compare-mismatch", run_cmd(q, &cmd, w, nlb * lbs), AISIO_NVME_SC_COMPARE_FAILED);
	}
out:
	aisio_buf_free(dev, w);
	aisio_buf_free(dev, r);
	aisio_buf_free(dev, rg);
}

struct reset_count {
	uint32_t calls, ok, canceled, other;
};

static void on_reset_done(struct aisio_io *io, void *arg)
{
	struct reset_count *c = arg;

	c->calls++;
	if (!io->status)
		c->ok++;
	else if (io->status == -ECANCELED)
		c->canceled++;
	else
		c->other++;
}

static void check_reset(struct aisio_queue *q)
{
	const uint32_t lbs = geo->lba_size;
	uint32_t n = 0, len = geo->max_xfer < 65536 ? geo->max_xfer : 65536;
	uint8_t *w = aisio_buf_alloc(dev, len), *r = aisio_buf_alloc(dev, len);
	struct reset_count cnt = { 0 };
	struct aisio_io *io;
	int err;

	if (!w || !r) {
		fail("reset-in-flight", "out of DMA memory");
		goto out;
	}
	fill(w, len);
	err = rw(q, 1, 0, w, len);
	/* A queue full of large reads, then a reset before reaping any of them. */
	while (!err && (io = aisio_queue_get_io(q))) {
		aisio_io_set_cb(io, on_reset_done, &cnt);
		aisio_prep_read(io, geo->nsid, (uint64_t)(n % 64) * (len / lbs) % (area_lbas - len / lbs),
				len / lbs, r, len);
		n++;
	}
	if (!err)
		err = aisio_queue_submit(q) < 0 ? -EIO : 0;
	if (!err)
		err = aisio_dev_reset(dev);
	if (err) {
		fail("reset-in-flight", "%s", aisio_errmsg());
		goto out;
	}
	err = aisio_queue_wait(q);
	if (err || cnt.calls != n || cnt.other)
		fail("reset-in-flight", "%u commands: %u callbacks, %u ok, %u canceled, %u other (%s)", n,
		     cnt.calls, cnt.ok, cnt.canceled, cnt.other, err ? aisio_errmsg() : "");
	else
		pass("reset-in-flight", "%u commands: %u completed before the reset, %u canceled", n, cnt.ok,
		     cnt.canceled);
	memset(r, 0, len);
	err = rw(q, 0, 0, r, len);
	if (err || memcmp(w, r, len))
		fail("reset-recovery", "%s", err ? aisio_status_str(err) : "data differs after reset");
	else
		pass("reset-recovery", "same queue works, data intact");
out:
	aisio_buf_free(dev, w);
	aisio_buf_free(dev, r);
}

int main(int argc, char **argv)
{
	const char *uri = "emu:64M,mdts=10";
	struct aisio_queue *q;
	int err, a = 1;

	if (argc > 2 && !strcmp(argv[1], "--max-pages")) {
		char *end;
		unsigned long long n = strtoull(argv[2], &end, 10);

		if (!*argv[2] || *end || argv[2][0] == '-' || n < 2 || n > (1u << 20)) {
			fprintf(stderr, "%s: --max-pages wants a number of pages from 2 to %u, not '%s'\n",
				argv[0], 1u << 20, argv[2]);
			return 2;
		}
		max_pages = (size_t)n;
		a = 3;
	}
	if (argc > a + 1 || (argc > a && (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help") ||
					  argv[a][0] == '-'))) {
		fprintf(stderr, "usage: %s [--max-pages N] [URI]   (default emu:64M,mdts=10)\n", argv[0]);
		return 2;
	}
	if (argc > a)
		uri = argv[a];
	target = uri;
	err = aisio_dev_open(uri, NULL, &dev);
	if (err) {
		fail("open", "%s", aisio_errmsg());
		return 1;
	}
	geo = aisio_dev_geo(dev);
	fabric = !strcmp(geo->backend, "tcp");
	drvc = aisio_upci_ctrl(dev);
	if (!drvc && (drvc = aisio_homi_ctrl(dev)))
		through_homid = !(homid_vf = aisio_homi_vf(dev));
	else if (!drvc && aisio_homi_dev_conn(dev))
		through_homid = fabric = 1; /* direct on homid's remote controller: a TCP queue of its own */
	if (!drvc && !fabric) {
		fail("open", "%s is not driven by the user-space driver (backend %s)", uri, geo->backend);
		aisio_dev_close(dev);
		return 1;
	}
	pass("open", "nsid %u, %llu LBAs of %u B, max transfer %u B, %u queues of up to %u entries, SGL %s",
	     geo->nsid, (unsigned long long)geo->nlbas, geo->lba_size, geo->max_xfer, geo->max_queues,
	     geo->max_qdepth, geo->sgl ? "yes" : "no");
	area_lbas = geo->nlbas < (64ull << 20) / geo->lba_size ? geo->nlbas : (64ull << 20) / geo->lba_size;

	if (check_bringup() == 0) {
		check_queues();
		err = aisio_queue_init(dev, geo->max_qdepth < 64 ? geo->max_qdepth : 64, &q);
		if (err) {
			fail("queue", "%s", aisio_errmsg());
		} else {
			check_integrity(q, "prp-integrity", 1);
			if (fabric) {
				skip("prp-chained-lists", "fabrics: data travels in PDUs, not PRP lists");
				skip("sgl-integrity", "fabrics: every command uses a transport SGL "
				     "(checked by prp-integrity above)");
			} else {
				check_prp_chain(q);
				check_sgl();
			}
			check_wrap();
			check_errors(q);
			check_nvm_cmds(q);
			if (through_homid)
				skip("reset-in-flight", "a controller reset belongs to homid");
			else if (homid_vf)
				skip("reset-in-flight", "homid resets its VFs (FLR when the client "
				     "lets go)");
			else
				check_reset(q);
			aisio_queue_term(q);
		}
	}
	aisio_dev_close(dev);
	if (clipped)
		printf("conformance %s: %u transfers clipped to %zu pages per command (--max-pages)\n",
		       uri, clipped, max_pages);
	printf("conformance %s: %d passed, %d failed, %d skipped\n", uri, npass, nfail, nskip);
	return nfail ? 1 : 0;
}
