/* SPDX-License-Identifier: MIT */
/*
 * Device model, the namespace store offered to a DMA provider (store_add /
 * store_remove, opts.gpu_direct): offered once with its range and flags
 * (file, eager), not offered with gpu_direct=0 or a null namespace, taken
 * back before it is unmapped. While the provider may pin it, Write Zeroes
 * and Deallocate zero blocks in place: a punched hole would put fresh pages
 * behind the mapping and leave the pinned ones stale. A provider that
 * declines gets the holes as before. A bad gpu_direct value is refused.
 */
#include <fcntl.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "emu_t.h"

#define NS (1u << 20)

static struct {
	int adds, removes, accept;
	void *base;
	size_t len;
	unsigned flags;
	int mapped_at_remove; /* the store still readable when store_remove came */
} seen;

static void *map(void *ctx, uint64_t bus, size_t len)
{
	return (void *)(uintptr_t)bus;
}

static int store_add(void *ctx, void *base, size_t len, unsigned flags)
{
	seen.adds++;
	seen.base = base;
	seen.len = len;
	seen.flags = flags;
	return seen.accept;
}

static void store_remove(void *ctx, void *base)
{
	volatile uint8_t *p = base;

	seen.removes++;
	seen.mapped_at_remove = base == seen.base && (p[0] | 1) && (p[seen.len - 1] | 1);
}

static const struct aisio_emu_dma ops = { .map = map, .store_add = store_add, .store_remove = store_remove };

static void open_spec(struct et_host *h, const char *spec)
{
	struct aisio_emu_opts o;
	char *file = NULL;

	aisio_emu_opts_init(&o);
	REQUIRE(!aisio_emu_parse_uri(spec, &o, &file));
	o.dma = &ops;
	memset(&seen, 0, sizeof(seen));
	seen.accept = 1;
	et_open(h, &o);
	free(file);
}

/* Write Zeroes with Deallocate over 512 KiB at 256 KiB; 1 when the file then has a hole there. */
static int zero_makes_hole(struct et_host *h, const char *path)
{
	struct et_queue q;
	struct aisio_nvme_sqe c;
	uint8_t *buf = et_alloc(4096);
	int fd, hole;

	et_enable(h);
	REQUIRE(et_ioq_create(h, &q, 1, 8) == 0);
	aisio_nvme_cmd_write_zeroes(&c, 1, (256u << 10) / 512, (512u << 10) / 512, 1);
	CHECK_EQ(et_cmd(&q, &c, NULL), 0);
	aisio_nvme_cmd_read(&c, 1, (300u << 10) / 512, 8);
	memset(buf, 0xee, 4096);
	et_prp_simple(&c, buf, 4096);
	CHECK_EQ(et_cmd(&q, &c, NULL), 0);
	CHECK(buf[0] == 0 && buf[4095] == 0); /* zeroes either way */
	CHECK_EQ(et_ioq_delete(h, &q), 0);
	fd = open(path, O_RDONLY);
	REQUIRE(fd >= 0);
	off_t at = lseek(fd, 256u << 10, SEEK_HOLE);
	hole = at >= 0 && at < (off_t)(768u << 10);
	close(fd);
	free(buf);
	return hole;
}

static void fill_file(const char *path)
{
	uint8_t *data = et_alloc(NS);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	REQUIRE(fd >= 0);
	memset(data, 0x5a, NS);
	REQUIRE(pwrite(fd, data, NS, 0) == (ssize_t)NS);
	close(fd);
	free(data);
}

int main(void)
{
	char path[64], spec[128];
	struct et_host h;
	int fd;

	snprintf(path, sizeof(path), "/tmp/aisio-store-offer-XXXXXX");
	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	close(fd);

	/* a file: offered once, whole, with the file flag; taken back while still mapped */
	fill_file(path);
	snprintf(spec, sizeof(spec), "1M,file=%s,nns=2", path);
	open_spec(&h, spec);
	CHECK_EQ(seen.adds, 1);
	CHECK_EQ(seen.len, 2 * NS);
	CHECK_EQ(seen.flags, AISIO_EMU_STORE_FILE);
	CHECK(seen.base != NULL);
	CHECK(!zero_makes_hole(&h, path)); /* the provider may pin it: zeroed in place */
	et_close(&h);
	CHECK_EQ(seen.removes, 1);
	CHECK(seen.mapped_at_remove);

	/* a provider that declines: not taken back, and deallocation punches holes as before */
	fill_file(path);
	snprintf(spec, sizeof(spec), "1M,file=%s", path);
	struct aisio_emu_opts o;
	char *file = NULL;
	aisio_emu_opts_init(&o);
	REQUIRE(!aisio_emu_parse_uri(spec, &o, &file));
	o.dma = &ops;
	memset(&seen, 0, sizeof(seen)); /* seen.accept = 0: declined */
	et_open(&h, &o);
	free(file);
	CHECK_EQ(seen.adds, 1);
	int punched = zero_makes_hole(&h, path);
	et_close(&h);
	CHECK_EQ(seen.removes, 0);
	if (!punched)
		printf("note: this file system keeps no holes (SEEK_HOLE): the punch is not seen\n");

	/* memory, eager */
	open_spec(&h, "1M,gpu_direct=eager");
	CHECK_EQ(seen.adds, 1);
	CHECK_EQ(seen.len, NS);
	CHECK_EQ(seen.flags, AISIO_EMU_STORE_EAGER);
	et_close(&h);
	CHECK_EQ(seen.removes, 1);

	/* not offered: gpu_direct=0, a null namespace */
	open_spec(&h, "1M,gpu_direct=0");
	et_close(&h);
	CHECK_EQ(seen.adds + seen.removes, 0);
	open_spec(&h, "1M,null");
	et_close(&h);
	CHECK_EQ(seen.adds + seen.removes, 0);

	/* a bad value in the options */
	struct aisio_emu_ctrl *c = NULL;
	aisio_emu_opts_init(&o);
	o.gpu_direct = 3;
	CHECK_EQ(aisio_emu_ctrl_create(&o, &c), -EINVAL);
	CHECK(c == NULL);
	CHECK(strstr(aisio_errmsg(), "gpu_direct=3"));

	unlink(path);
	return t_result("emu_store_offer");
}
