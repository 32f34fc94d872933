/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the XFS decoder. A clean test image (environment
 * AISIO_XFS_FUZZ_IMAGE) is decoded once to learn which bytes are metadata;
 * each input is a list of patches to those bytes (5 bytes each: a 32-bit
 * position within the metadata, a byte to XOR), applied to the image before
 * a decode with CRC checks off (so the parsers, not the checksums, meet the
 * damage) and undone afterwards. The first input byte picks CRC checks on
 * and a truncated image now and then. Built with clang -fsanitize=fuzzer.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "xfs/xfs.h"

/* The in-memory reader never touches a device: these are never reached. */
int aisio_queue_init(struct aisio_dev *dev, uint32_t depth, struct aisio_queue **out)
{
	(void)dev, (void)depth, (void)out;
	return -95;
}
void aisio_queue_term(struct aisio_queue *q) { (void)q; }
uint32_t aisio_queue_depth(const struct aisio_queue *q) { (void)q; return 0; }
struct aisio_io *aisio_queue_get_io(struct aisio_queue *q) { (void)q; return NULL; }
int aisio_queue_submit(struct aisio_queue *q) { (void)q; return -95; }
int aisio_queue_reap(struct aisio_queue *q, uint32_t max) { (void)q, (void)max; return -95; }
void *aisio_buf_alloc(struct aisio_dev *dev, size_t len) { (void)dev, (void)len; return NULL; }
void aisio_buf_free(struct aisio_dev *dev, void *buf) { (void)dev, (void)buf; }
const struct aisio_geo *aisio_dev_geo(const struct aisio_dev *dev) { (void)dev; return NULL; }
const char *aisio_status_str(int status) { (void)status; return "?"; }
void aisio_prep_read(struct aisio_io *io, uint32_t nsid, uint64_t slba, uint32_t nlb, void *buf,
		     size_t len)
{
	(void)io, (void)nsid, (void)slba, (void)nlb, (void)buf, (void)len;
}

struct range {
	uint64_t off;
	uint32_t len;
};

static uint8_t *work;
static size_t img_len;
static struct range *meta;
static size_t nmeta, meta_cap;
static uint64_t meta_bytes;

static void trace(void *arg, uint64_t off, uint32_t len)
{
	(void)arg;
	if (nmeta == meta_cap) {
		meta_cap = meta_cap ? meta_cap * 2 : 256;
		meta = realloc(meta, meta_cap * sizeof(*meta));
		if (!meta)
			abort();
	}
	meta[nmeta++] = (struct range){ off, len };
	meta_bytes += len;
}

static void quiet(void *arg, const char *msg)
{
	(void)arg, (void)msg;
}

static int decode(size_t len, uint32_t flags, int tracing)
{
	struct aisio_xfs_opts o = { .flags = flags, .warn = quiet };
	struct aisio_xfs_rd *rd;
	struct aisio_extmap map;
	struct aisio_xfs *fs;
	int err;

	if (aisio_xfs_rd_open_mem(work, len, &rd))
		return -12;
	if (tracing)
		aisio_xfs_rd_set_trace(rd, trace, NULL);
	err = aisio_xfs_open(rd, &o, &fs);
	if (err)
		return err;
	err = aisio_xfs_index(fs, &map);
	if (!err) {
		/* Touch what the index says, as a consumer would. */
		for (uint32_t i = 0; i < map.nnodes; i++) {
			char path[4096];
			aisio_extmap_path(&map, i, path, sizeof(path));
		}
		aisio_extmap_free(&map);
	}
	aisio_xfs_close(fs);
	return err;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *path = getenv("AISIO_XFS_FUZZ_IMAGE");
	struct stat st;
	int fd;

	(void)argc, (void)argv;
	if (!path) {
		fprintf(stderr, "xfs_fuzz: set AISIO_XFS_FUZZ_IMAGE to a clean XFS image\n");
		exit(2);
	}
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(path);
		exit(2);
	}
	img_len = (size_t)st.st_size;
	work = mmap(NULL, img_len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	if (work == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	if (decode(img_len, 0, 1)) {
		fprintf(stderr, "xfs_fuzz: %s does not decode cleanly: %s\n", path, aisio_errmsg());
		exit(2);
	}
	fprintf(stderr, "xfs_fuzz: %zu metadata reads, %llu bytes to mutate\n", nmeta,
		(unsigned long long)meta_bytes);
	return 0;
}

static uint64_t meta_off(uint64_t pos)
{
	pos %= meta_bytes;
	for (size_t i = 0; i < nmeta; i++) {
		if (pos < meta[i].len)
			return meta[i].off + pos;
		pos -= meta[i].len;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t undo_off[256];
	uint8_t undo_val[256];
	size_t n = 0, len = img_len;
	uint32_t flags = AISIO_XFS_NOCRC | AISIO_XFS_FORCE;

	if (size) {
		if ((data[0] & 0x0f) == 0)
			flags &= ~AISIO_XFS_NOCRC;
		if ((data[0] & 0xf0) == 0xf0)
			len = img_len / 2 + (img_len / 2 / 16) * (data[0] & 0x0f);
		data++;
		size--;
	}
	for (; size >= 5 && n < 256; data += 5, size -= 5) {
		uint32_t pos;
		uint64_t off;
		memcpy(&pos, data, 4);
		off = meta_off(pos);
		undo_off[n] = off;
		undo_val[n++] = work[off];
		work[off] ^= data[4];
	}
	decode(len, flags, 0);
	while (n--)
		work[undo_off[n]] = undo_val[n];
	return 0;
}
