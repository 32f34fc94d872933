/* SPDX-License-Identifier: MIT */
/*
 * Corrupted images give an error, never a crash: flipped bits (CRC on and
 * off), a truncated image, B+tree loops, absurd counts, unknown features,
 * a v4 superblock, a dirty log. Works on a private copy-on-write mapping of
 * a test image from mkimage.py, through the in-memory reader.
 *
 *   xfs_corrupt IMAGE [DIRTY-IMAGE]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "xfs/crc32c.h"
#include "xfs/xfs.h"
#include "xfs/xfs_format.h"

static int failures;

#define CHECK(cond, ...)                                                                      \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			failures++;                                                           \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                  \
			fprintf(stderr, __VA_ARGS__);                                         \
			fputc('\n', stderr);                                                  \
		}                                                                             \
	} while (0)

static uint8_t *img;
static size_t img_len;
static const uint8_t *orig; /* read-only mapping of the clean image */

struct range {
	uint64_t off;
	uint32_t len;
};
static struct range *ranges;
static size_t nranges, ranges_cap;
static int warned;

static void trace(void *arg, uint64_t off, uint32_t len)
{
	(void)arg;
	if (nranges == ranges_cap) {
		ranges_cap = ranges_cap ? ranges_cap * 2 : 1024;
		ranges = realloc(ranges, ranges_cap * sizeof(*ranges));
		if (!ranges)
			abort();
	}
	ranges[nranges++] = (struct range){ off, len };
}

static void on_warn(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
	warned++;
}

/* Decode @len bytes of @buf; 0 or -errno. @map kept when @keep. */
static int decode(const uint8_t *buf, size_t len, uint32_t flags, int tracing,
		  struct aisio_extmap *keep)
{
	struct aisio_xfs_opts o = { .flags = flags, .warn = on_warn };
	struct aisio_extmap map;
	struct aisio_xfs_rd *rd;
	struct aisio_xfs *fs;
	int err;

	if (aisio_xfs_rd_open_mem(buf, len, &rd))
		return -ENOMEM;
	if (tracing)
		aisio_xfs_rd_set_trace(rd, trace, NULL);
	err = aisio_xfs_open(rd, &o, &fs);
	if (err)
		return err;
	err = aisio_xfs_index(fs, &map);
	aisio_xfs_close(fs);
	if (!err) {
		if (keep)
			*keep = map;
		else
			aisio_extmap_free(&map);
	}
	return err;
}

static void restore(uint64_t off, size_t len)
{
	memcpy(img + off, orig + off, len);
}

static void reseal_sb(void)
{
	uint32_t ss = aisio_be16p(img + 102), crc;

	memset(img + XFS_SB_CRC_OFF, 0, 4);
	crc = aisio_crc32c(img, ss);
	memcpy(img + XFS_SB_CRC_OFF, &crc, 4);
}

struct geo {
	uint32_t bs, blocklog, agblocks, agblklog, inopblog, isz;
};

static struct geo geo_read(void)
{
	const struct xfs_dsb *sb = (const void *)orig;
	struct geo g = { aisio_be32_to_cpu(sb->sb_blocksize), sb->sb_blocklog,
			 aisio_be32_to_cpu(sb->sb_agblocks), sb->sb_agblklog, sb->sb_inopblog,
			 aisio_be16_to_cpu(sb->sb_inodesize) };
	return g;
}

static uint64_t ino_off(const struct geo *g, uint64_t ino)
{
	uint64_t agno = ino >> (g->agblklog + g->inopblog);
	uint64_t agino = ino & ((1ull << (g->agblklog + g->inopblog)) - 1);

	return agno * g->agblocks * g->bs + agino * g->isz;
}

static uint64_t fsb_off(const struct geo *g, uint64_t fsb)
{
	return ((fsb >> g->agblklog) * g->agblocks + (fsb & ((1ull << g->agblklog) - 1))) * g->bs;
}

static uint64_t path_ino(const struct aisio_extmap *map, const char *path)
{
	long i = aisio_extmap_lookup(map, path);

	return i < 0 ? 0 : map->nodes[i].ino;
}

static void test_superblock(void)
{
	int err;

	img[64] ^= 0x10; /* sb_rbmino */
	err = decode(img, img_len, 0, 0, NULL);
	CHECK(err == -EBADMSG, "flipped superblock bit: %d %s", err, aisio_errmsg());
	restore(0, 512);

	img[0] = 'Y';
	err = decode(img, img_len, 0, 0, NULL);
	CHECK(err == -EINVAL && strstr(aisio_errmsg(), "not an XFS"), "bad magic: %d %s", err,
	      aisio_errmsg());
	restore(0, 512);

	img[216] |= 0x80; /* unknown incompatible feature (bit 31) */
	reseal_sb();
	err = decode(img, img_len, 0, 0, NULL);
	CHECK(err == -EOPNOTSUPP && strstr(aisio_errmsg(), "incompatible features"),
	      "unknown feature: %d %s", err, aisio_errmsg());
	restore(0, 512);

	img[101] = (img[101] & 0xf0) | 4; /* version 4 */
	reseal_sb();
	err = decode(img, img_len, 0, 0, NULL);
	CHECK(err == -EOPNOTSUPP && strstr(aisio_errmsg(), "version 4"), "v4: %d %s", err,
	      aisio_errmsg());
	restore(0, 512);

	img[88] = 0x40; /* absurd AG count */
	reseal_sb();
	err = decode(img, img_len, 0, 0, NULL);
	CHECK(err == -EUCLEAN, "absurd AG count: %d %s", err, aisio_errmsg());
	restore(0, 512);
}

static void test_truncated(void)
{
	int err = decode(img, img_len / 2, 0, 0, NULL);

	CHECK(err == -EIO && strstr(aisio_errmsg(), "truncated"), "truncated: %d %s", err,
	      aisio_errmsg());
	err = decode(img, 300, 0, 0, NULL);
	CHECK(err < 0, "300-byte image: %d", err);
	err = decode(img, 0, 0, 0, NULL);
	CHECK(err < 0, "empty image: %d", err);
}

/* A directory entry pointing at a free inode, a huge extent count, a btree loop. */
static void test_structures(const struct aisio_extmap *map)
{
	struct geo g = geo_read();
	uint64_t ino, off;
	uint8_t *d;
	int err;

	/* Absurd extent count in an extent-format inode (CRC off so the parser sees it). */
	ino = path_ino(map, "/data");
	CHECK(ino, "no /data in image");
	off = ino_off(&g, ino);
	d = img + off;
	memset(d + 76, 0xff, 4);
	err = decode(img, img_len, AISIO_XFS_NOCRC, 0, NULL);
	CHECK(err == -EUCLEAN, "absurd extent count: %d %s", err, aisio_errmsg());
	err = decode(img, img_len, 0, 0, NULL);
	CHECK(err == -EBADMSG, "absurd extent count with CRC: %d %s", err, aisio_errmsg());
	restore(off, g.isz);

	/* Short-form directory entry count beyond the fork. */
	ino = path_ino(map, "/sf");
	off = ino_off(&g, ino);
	img[off + 176] = 200;
	err = decode(img, img_len, AISIO_XFS_NOCRC, 0, NULL);
	CHECK(err == -EUCLEAN, "short-form count: %d %s", err, aisio_errmsg());
	restore(off, g.isz);

	/* Block map B+tree loop: the root's second pointer repeats the first. */
	ino = path_ino(map, "/frag");
	off = ino_off(&g, ino);
	d = img + off;
	if (d[5] == XFS_DINODE_FMT_BTREE) {
		uint32_t dsize = d[82] ? d[82] * 8u : g.isz - 176;
		uint32_t maxrecs = (dsize - 4) / 16, n = aisio_be16p(d + 176 + 2);
		uint8_t *ptrs = d + 176 + 4 + maxrecs * 8;
		uint64_t child = aisio_be64p(ptrs);
		uint8_t *blk = img + fsb_off(&g, child);

		CHECK(n >= 2 || aisio_be16p(blk + 6) >= 2, "/frag B+tree too small for the loop test");
		if (n >= 2) {
			memcpy(ptrs + 8, ptrs, 8);
			err = decode(img, img_len, AISIO_XFS_NOCRC, 0, NULL);
			CHECK(err == -EUCLEAN && strstr(aisio_errmsg(), "loop"), "bmbt loop: %d %s", err,
			      aisio_errmsg());
			restore(off, g.isz);
		}
		/* A node pointing at itself: the level check or the loop check must stop it. */
		if (aisio_be16p(blk + 4) > 0) {
			uint32_t bmax = (g.bs - 72) / 16;
			memcpy(blk + 72 + bmax * 8, ptrs, 8);
			err = decode(img, img_len, AISIO_XFS_NOCRC, 0, NULL);
			CHECK(err == -EUCLEAN, "bmbt self-pointer: %d %s", err, aisio_errmsg());
			restore(fsb_off(&g, child), g.bs);
		}
		/* Absurd record count in a B+tree block. */
		blk[6] = 0xff;
		blk[7] = 0xff;
		err = decode(img, img_len, AISIO_XFS_NOCRC, 0, NULL);
		CHECK(err == -EUCLEAN, "bmbt numrecs: %d %s", err, aisio_errmsg());
		err = decode(img, img_len, 0, 0, NULL);
		CHECK(err == -EBADMSG, "bmbt numrecs with CRC: %d %s", err, aisio_errmsg());
		restore(fsb_off(&g, child), g.bs);
	} else {
		CHECK(0, "/frag is not in B+tree format");
	}

	/* AGI says the inode B+tree is 200 levels deep. */
	off = 2 * aisio_be16p(orig + 102) + 24;
	img[off + 3] = 200;
	err = decode(img, img_len, AISIO_XFS_NOCRC, 0, NULL);
	CHECK(err == -EUCLEAN, "AGI level: %d %s", err, aisio_errmsg());
	restore(off, 4);
}

/* Flip bits in every metadata range the clean decode read: errors, never crashes. */
static void test_bitflips(uint32_t flags, int iters, int want_errors)
{
	unsigned seed = 12345;
	int errors = 0;

	for (int i = 0; i < iters; i++) {
		const struct range *r = &ranges[(size_t)rand_r(&seed) % nranges];
		uint64_t at = r->off + (uint64_t)rand_r(&seed) % r->len;
		uint8_t bit = (uint8_t)(1u << (rand_r(&seed) % 8));
		int err;

		img[at] ^= bit;
		err = decode(img, img_len, flags, 0, NULL);
		img[at] ^= bit;
		if (err)
			errors++;
	}
	printf("bit flips (%s): %d of %d decodes failed cleanly\n",
	       flags & AISIO_XFS_NOCRC ? "CRC off" : "CRC on", errors, iters);
	if (want_errors)
		CHECK(errors * 2 > iters, "too few flipped bits detected with CRCs on: %d/%d", errors,
		      iters);
}

static void test_dirty(const char *path)
{
	int fd = open(path, O_RDONLY), err;
	struct stat st;
	void *m;

	if (fd < 0 || fstat(fd, &st)) {
		CHECK(0, "cannot open %s", path);
		return;
	}
	m = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	CHECK(m != MAP_FAILED, "mmap");
	if (m == MAP_FAILED)
		return;
	err = decode(m, st.st_size, 0, 0, NULL);
	CHECK(err == -EBUSY && strstr(aisio_errmsg(), "dirty"), "dirty log refused: %d %s", err,
	      aisio_errmsg());
	warned = 0;
	err = decode(m, st.st_size, AISIO_XFS_FORCE, 0, NULL);
	CHECK(warned > 0, "forced decode of a dirty log did not warn");
	printf("dirty log, forced: %s (%d warnings)\n", err ? aisio_errmsg() : "decoded", warned);
	munmap(m, st.st_size);
}

int main(int argc, char **argv)
{
	struct aisio_extmap map;
	struct stat st;
	int fd, err;

	if (argc < 2) {
		fprintf(stderr, "usage: xfs_corrupt IMAGE [DIRTY-IMAGE]\n");
		return 1;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st)) {
		perror(argv[1]);
		return 1;
	}
	img_len = (size_t)st.st_size;
	img = mmap(NULL, img_len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	orig = mmap(NULL, img_len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (img == MAP_FAILED || orig == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	err = decode(img, img_len, 0, 1, &map);
	if (err) {
		fprintf(stderr, "FAIL: clean image does not decode: %s\n", aisio_errmsg());
		return 1;
	}
	printf("clean image: %u files, %zu metadata reads\n", map.nnodes, nranges);
	test_superblock();
	test_truncated();
	test_structures(&map);
	test_bitflips(0, 300, 1);
	test_bitflips(AISIO_XFS_NOCRC, 1500, 0);
	if (argc > 2)
		test_dirty(argv[2]);
	CHECK(decode(img, img_len, 0, 0, NULL) == 0, "image not restored: %s", aisio_errmsg());
	aisio_extmap_free(&map);
	free(ranges);
	if (failures) {
		printf("%d failures\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
