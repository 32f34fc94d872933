/* SPDX-License-Identifier: MIT */
/*
 * Kernel paths on a file (backend from argv[1]: psync or io_uring): every
 * NVM command the file mapping supports, the statuses a controller would
 * give (LBA out of range, invalid namespace, invalid opcode), Identify from
 * the geometry, short reads at end of file and misaligned O_DIRECT buffers.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>

#include "kt.h"

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

static void test_commands(const char *be)
{
	struct aisio_open_opts oo = { .be = be };
	char *path = kt_scratch("io", 4 << 20);
	char *uri = kt_uri(path);
	struct aisio_nvme_id_ctrl *id;
	struct aisio_nvme_id_ns *ns;
	struct aisio_nvme_dsm_range *rng;
	struct aisio_nvme_sqe cmd;
	struct aisio_queue *q;
	struct aisio_dev *dev;
	const struct aisio_geo *g;
	uint8_t *w, *r;
	int st;

	KT_CHECK(aisio_dev_open(uri, &oo, &dev) == 0, "open %s", uri);
	if (!dev)
		exit(1);
	g = aisio_dev_geo(dev);
	KT_CHECK(g->lba_size == 512 && g->nlbas == (4 << 20) / 512, "geometry %u x %llu", g->lba_size,
		 (unsigned long long)g->nlbas);
	KT_CHECK(!strcmp(g->backend, be), "backend %s", g->backend);
	KT_CHECK(aisio_queue_init(dev, 8, &q) == 0, "queue");
	w = aisio_buf_alloc(dev, 65536);
	r = aisio_buf_alloc(dev, 65536);
	id = aisio_buf_alloc(dev, sizeof(*id));
	ns = aisio_buf_alloc(dev, sizeof(*ns));
	rng = aisio_buf_alloc(dev, 4096);

	/* Write, read back, compare. */
	fill(w, 65536, 3);
	st = kt_rw(q, 1, g->nsid, 100, 128, w, 65536);
	KT_CHECK(st == 0, "write: %d", st);
	memset(r, 0, 65536);
	st = kt_rw(q, 0, g->nsid, 100, 128, r, 65536);
	KT_CHECK(st == 0 && !memcmp(w, r, 65536), "read back: %d", st);
	{
		struct aisio_io *io = aisio_queue_get_io(q);

		aisio_prep_compare(io, g->nsid, 100, 128, w, 65536);
		st = aisio_io_sync(io);
		KT_CHECK(st == 0, "compare equal: %d", st);
		w[10] ^= 1;
		io = aisio_queue_get_io(q);
		aisio_prep_compare(io, g->nsid, 100, 128, w, 65536);
		st = aisio_io_sync(io);
		KT_CHECK(st == AISIO_NVME_SC_COMPARE_FAILED, "compare different: %#x", st);
	}
	/* Flush. */
	{
		struct aisio_io *io = aisio_queue_get_io(q);

		aisio_prep_flush(io, g->nsid);
		KT_CHECK(aisio_io_sync(io) == 0, "flush");
	}
	/* Write Zeroes and DSM deallocate read back as zeroes. */
	{
		struct aisio_io *io = aisio_queue_get_io(q);

		aisio_prep_write_zeroes(io, g->nsid, 100, 8, 0);
		KT_CHECK(aisio_io_sync(io) == 0, "write zeroes");
		memset(rng, 0, 4096);
		rng[0].slba = 108;
		rng[0].nlb = 8;
		io = aisio_queue_get_io(q);
		aisio_prep_dsm(io, g->nsid, rng, 1, AISIO_NVME_DSM_AD);
		KT_CHECK(aisio_io_sync(io) == 0, "dsm deallocate");
		memset(r, 0xaa, 65536);
		st = kt_rw(q, 0, g->nsid, 100, 24, r, 24 * 512);
		KT_CHECK(st == 0, "read after zeroes: %d", st);
		for (int i = 0; i < 16 * 512; i++)
			if (r[i]) {
				KT_CHECK(0, "byte %d not zero after write zeroes / deallocate", i);
				break;
			}
		KT_CHECK(!memcmp(r + 16 * 512, w + 16 * 512, 8 * 512), "data past the zeroed range");
	}
	/* What a controller refuses. */
	st = kt_rw(q, 0, g->nsid, g->nlbas - 4, 8, r, 4096);
	KT_CHECK(st == AISIO_NVME_SC_LBA_RANGE, "read past the end: %#x", st);
	KT_MSG_HAS("beyond the end");
	st = kt_rw(q, 0, 7, 0, 8, r, 4096);
	KT_CHECK(st == AISIO_NVME_SC_INVALID_NS, "wrong nsid: %#x", st);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = 0x7f;
	cmd.nsid = g->nsid;
	st = kt_sync(q, &cmd, NULL, 0);
	KT_CHECK(st == AISIO_NVME_SC_INVALID_OPCODE, "vendor opcode: %#x", st);
	st = kt_rw(q, 0, g->nsid, 0, 8, r, 512);
	KT_CHECK(st == -EINVAL, "buffer smaller than the transfer: %d", st);

	/* Identify from the geometry. */
	KT_CHECK(aisio_dev_identify_ctrl(dev, id) == 0, "identify ctrl");
	KT_CHECK(id->nn == 1 && (id->oncs & AISIO_NVME_ONCS_WRITE_ZEROES), "id ctrl nn %u oncs %#x",
		 id->nn, id->oncs);
	KT_CHECK(aisio_dev_identify_ns(dev, g->nsid, ns) == 0, "identify ns");
	KT_CHECK(ns->nsze == g->nlbas && ns->lbaf[0].lbads == 9, "id ns nsze %llu",
		 (unsigned long long)ns->nsze);
	memset(&cmd, 0, sizeof(cmd));
	cmd.opc = AISIO_NVME_ADM_GET_LOG_PAGE;
	st = aisio_dev_admin(dev, &cmd, r, 512, NULL);
	KT_CHECK(st == AISIO_NVME_SC_INVALID_OPCODE, "admin on a file: %#x", st);

	/* Short read at end of file: the file shrank after it was opened. */
	KT_CHECK(truncate(path, 1 << 20) == 0, "truncate");
	st = kt_rw(q, 0, g->nsid, (2 << 20) / 512, 8, r, 4096);
	KT_CHECK(st == -ENODATA, "short read at EOF: %d", st);
	KT_MSG_HAS("short read at end of file");

	aisio_buf_free(dev, w);
	aisio_buf_free(dev, r);
	aisio_buf_free(dev, id);
	aisio_buf_free(dev, ns);
	aisio_buf_free(dev, rng);
	KT_CHECK(aisio_queue_wait(q) == 0, "wait");
	aisio_queue_term(q);
	aisio_dev_close(dev);
	unlink(path);
	free(path);
	free(uri);
}

/* O_DIRECT with a buffer that is not block aligned: EINVAL, named as such. */
static void test_direct_misaligned(const char *be)
{
	struct aisio_open_opts oo = { .be = be, .direct = 1 };
	char *path = kt_scratch("dio", 1 << 20);
	char *uri = kt_uri(path);
	struct aisio_queue *q;
	struct aisio_dev *dev;
	uint8_t *buf;
	int st, err;

	err = aisio_dev_open(uri, &oo, &dev);
	if (err == -EINVAL && strstr(aisio_errmsg(), "O_DIRECT")) {
		printf("skip O_DIRECT: %s\n", aisio_errmsg());
		goto out;
	}
	KT_CHECK(err == 0, "open O_DIRECT");
	if (err)
		goto out;
	KT_CHECK(aisio_queue_init(dev, 4, &q) == 0, "queue");
	buf = aisio_buf_alloc(dev, 8192);
	/* Allocated blocks: O_DIRECT reads of holes never reach the device or its checks. */
	memset(buf, 0x5a, 8192);
	st = kt_rw(q, 1, 1, 0, 8, buf, 4096);
	KT_CHECK(st == 0, "aligned O_DIRECT write: %d", st);
	st = kt_rw(q, 0, 1, 0, 8, buf, 4096);
	KT_CHECK(st == 0, "aligned O_DIRECT read: %d", st);
	st = kt_rw(q, 0, 1, 0, 8, buf + 1, 4096);
	KT_CHECK(st == -EINVAL, "misaligned O_DIRECT read: %d", st);
	KT_MSG_HAS("O_DIRECT");
	KT_MSG_HAS("logical block size");
	st = kt_rw(q, 1, 1, 0, 8, buf + 3, 4096);
	KT_CHECK(st == -EINVAL, "misaligned O_DIRECT write: %d", st);
	KT_MSG_HAS("O_DIRECT");
	aisio_buf_free(dev, buf);
	aisio_queue_term(q);
	aisio_dev_close(dev);
out:
	unlink(path);
	free(path);
	free(uri);
}

/* Opening what is not there or not usable. */
static void test_open_errors(const char *be)
{
	struct aisio_open_opts oo = { .be = be };
	char *path = kt_scratch("empty", 0);
	char *uri = kt_uri(path);
	struct aisio_dev *dev;
	int err;

	err = aisio_dev_open("file:/nonexistent/aisio/x", &oo, &dev);
	KT_CHECK(err == -ENOENT, "missing file: %d", err);
	KT_MSG_HAS("no such file");
	err = aisio_dev_open(uri, &oo, &dev);
	KT_CHECK(err == -EINVAL, "empty file: %d", err);
	KT_MSG_HAS("smaller than one 512-byte LBA");
	err = aisio_dev_open("file:/dev/null", &oo, &dev);
	KT_CHECK(err == -EINVAL, "character device on %s: %d", be, err);
	KT_MSG_HAS("character device");
	unlink(path);
	free(uri);
	/* file:PATH,size=N creates the file when asked to (test_kpath_create: when not). */
	if (asprintf(&uri, "file:%s,size=1M", path) < 0)
		exit(1);
	oo.flags = AISIO_OPEN_CREATE;
	err = aisio_dev_open(uri, &oo, &dev);
	KT_CHECK(err == 0 && aisio_dev_geo(dev)->nlbas == 2048, "create with size=: %d", err);
	if (!err)
		aisio_dev_close(dev);
	unlink(path);
	free(path);
	free(uri);
}

int main(int argc, char **argv)
{
	const char *be = argc > 1 ? argv[1] : "psync";

	test_commands(be);
	test_direct_misaligned(be);
	test_open_errors(be);
	if (!kt_failed)
		printf("PASS kernel path %s\n", be);
	return kt_failed;
}
