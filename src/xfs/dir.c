/* SPDX-License-Identifier: MIT */
/*
 * Directories. Whatever the format (block, leaf, node, B+tree), every entry
 * lives in a data block below XFS_DIR2_DATA_SPACE_BYTES of the directory's
 * offset space, and the data fork maps those blocks (extent list or block
 * map B+tree at any depth, already decoded). So the decoder reads the data
 * blocks, many at once, and never needs the hash (leaf/node) blocks above
 * them. Short-form directories live in the inode.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/err.h"
#include "xfs/xfs_priv.h"

#define DIR_READ_MAX (1u << 20) /* bytes of whole directory blocks per read */

int xfs_dir_add(struct aisio_xfs *fs, uint32_t xi, uint64_t ino, const uint8_t *name,
		uint32_t len, uint8_t ftype)
{
	struct xfs_dent *d;
	uint32_t off;
	int err;

	if (len == 0 || memchr(name, '/', len) || memchr(name, 0, len))
		return xfs_corrupt(fs, "directory inode %llu: invalid entry name",
				   (unsigned long long)fs->xi[xi].ino);
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	err = xfs_grow((void **)&fs->dents, &fs->dents_cap, fs->ndents + 1, sizeof(*d));
	if (err)
		return err;
	err = aisio_extmap_add_name(fs->map, (const char *)name, len, &off);
	if (err)
		return err;
	d = &fs->dents[fs->ndents++];
	d->ino = ino;
	d->dir_xi = xi;
	d->name_off = off;
	d->name_len = (uint16_t)len;
	d->ftype = ftype;
	return 0;
}

int xfs_dir_sf_parse(struct aisio_xfs *fs, uint32_t xi, const uint8_t *d, uint64_t len)
{
	unsigned long long ino = fs->xi[xi].ino;
	uint32_t count, i8, isz, pos;
	int err;

	if (len < 2)
		return xfs_corrupt(fs, "short-form directory inode %llu: %llu bytes", ino,
				   (unsigned long long)len);
	count = d[0];
	i8 = d[1];
	isz = i8 ? 8 : 4;
	pos = XFS_DIR2_SF_HDR_SIZE(i8);
	if (i8 > count || pos > len)
		return xfs_corrupt(fs, "short-form directory inode %llu: header", ino);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t nl, ent;
		uint64_t child;
		uint8_t ft = 0;

		if (pos + 3 > len)
			return xfs_corrupt(fs, "short-form directory inode %llu: entry %u past the end",
					   ino, i);
		nl = d[pos];
		ent = 3 + nl + (fs->ftype ? 1 : 0) + isz;
		if (nl == 0 || pos + ent > len)
			return xfs_corrupt(fs, "short-form directory inode %llu: entry %u of %u bytes", ino,
					   i, ent);
		if (fs->ftype)
			ft = d[pos + 3 + nl];
		child = i8 ? aisio_be64p(d + pos + ent - 8) : aisio_be32p(d + pos + ent - 4);
		if ((err = xfs_dir_add(fs, xi, child, d + pos + 3, nl, ft)))
			return err;
		pos += ent;
	}
	return 0;
}

/* One directory data block (@blk bytes at @p, read from byte @off of the device). */
static int dir_block_parse(struct aisio_xfs *fs, uint32_t xi, const uint8_t *p, uint64_t off)
{
	const struct xfs_dir3_blk_hdr *h = (const void *)p;
	uint32_t blk = fs->geom.dirblksize, magic = aisio_be32_to_cpu(h->magic), end = blk, pos;
	unsigned long long ino = fs->xi[xi].ino;
	int err;

	if (magic != XFS_DIR3_BLOCK_MAGIC && magic != XFS_DIR3_DATA_MAGIC)
		return xfs_corrupt(fs, "directory inode %llu: block at byte %llu has magic 0x%08x",
				   ino, (unsigned long long)off, magic);
	if (!xfs_crc_ok(fs, p, blk, XFS_DIR3_CRC_OFF))
		return aisio_err(-EBADMSG, "corrupt XFS metadata: directory inode %llu: block at byte %llu: CRC mismatch",
				 ino, (unsigned long long)off);
	if (aisio_be64_to_cpu(h->blkno) != off >> XFS_BB_SHIFT || aisio_be64_to_cpu(h->owner) != ino ||
	    memcmp(h->uuid, fs->uuid, 16))
		return xfs_corrupt(fs, "directory inode %llu: block at byte %llu: wrong location, owner or UUID",
				   ino, (unsigned long long)off);
	if (magic == XFS_DIR3_BLOCK_MAGIC) {
		uint32_t count = aisio_be32p(p + blk - sizeof(struct xfs_dir2_block_tail));
		if (count > (blk - sizeof(struct xfs_dir3_data_hdr) - 8) / XFS_DIR2_LEAF_ENTRY_SIZE)
			return xfs_corrupt(fs, "directory inode %llu: block tail count %u", ino, count);
		end = blk - 8 - count * XFS_DIR2_LEAF_ENTRY_SIZE;
	}
	for (pos = sizeof(struct xfs_dir3_data_hdr); pos < end;) {
		uint32_t nl, ent;

		if (end - pos < 8)
			return xfs_corrupt(fs, "directory inode %llu: entry at %u runs past the block", ino, pos);
		if (aisio_be16p(p + pos) == XFS_DIR2_DATA_FREE_TAG) {
			uint32_t fl = aisio_be16p(p + pos + 2);
			if (fl < 8 || fl % 8 || fl > end - pos)
				return xfs_corrupt(fs, "directory inode %llu: free space of %u bytes at %u",
						   ino, fl, pos);
			pos += fl;
			continue;
		}
		nl = p[pos + 8];
		ent = (XFS_DIR2_DATA_ENTRY_HDR + nl + (fs->ftype ? 1 : 0) + 2 + 7) & ~7u;
		if (nl == 0 || ent > end - pos)
			return xfs_corrupt(fs, "directory inode %llu: entry of %u bytes at %u", ino, ent, pos);
		if (aisio_be16p(p + pos + ent - 2) != pos)
			return xfs_corrupt(fs, "directory inode %llu: entry at %u has tag %u", ino, pos,
					   aisio_be16p(p + pos + ent - 2));
		err = xfs_dir_add(fs, xi, aisio_be64p(p + pos), p + pos + 9, nl,
				  fs->ftype ? p[pos + 9 + nl] : 0);
		if (err)
			return err;
		pos += ent;
	}
	return 0;
}

/* A read of whole directory blocks, or of one piece of a block split across extents. */
struct dblk {
	struct aisio_xfs *fs;
	uint32_t xi;
	uint32_t pending; /* pieces not yet read */
	uint32_t nblk;    /* whole blocks in buf */
	uint64_t off;     /* device byte offset of the first block's first fs block */
	uint8_t *buf;
};

struct dreq {
	struct aisio_xfs_req req;
	struct dblk *b;
};

static void dreq_done(struct aisio_xfs_req *r, int status)
{
	struct dreq *q = r->arg;
	struct dblk *b = q->b;
	struct aisio_xfs *fs = b->fs;

	free(q);
	if (status && !fs->err)
		xfs_fail(fs, status);
	if (--b->pending)
		return;
	for (uint32_t i = 0; i < b->nblk && !fs->err; i++) {
		uint64_t off = b->nblk > 1 ? b->off + (uint64_t)i * fs->geom.dirblksize : b->off;
		int err = dir_block_parse(fs, b->xi, b->buf + (size_t)i * fs->geom.dirblksize, off);
		if (err)
			xfs_fail(fs, err);
	}
	free(b->buf);
	free(b);
}

static struct dblk *dblk_new(struct aisio_xfs *fs, uint32_t xi, uint32_t nblk, uint64_t off)
{
	struct dblk *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->buf = malloc((size_t)nblk * fs->geom.dirblksize);
	if (!b->buf) {
		free(b);
		return NULL;
	}
	b->fs = fs;
	b->xi = xi;
	b->nblk = nblk;
	b->off = off;
	b->pending = 1; /* held until queueing is done */
	return b;
}

static int dblk_piece(struct aisio_xfs *fs, struct dblk *b, uint64_t off, uint32_t len,
		      uint32_t boff)
{
	struct dreq *q = malloc(sizeof(*q));

	if (!q)
		return aisio_err(-ENOMEM, "xfs: out of memory");
	q->b = b;
	q->req = (struct aisio_xfs_req){ .off = off, .len = len, .buf = b->buf + boff,
					 .done = dreq_done, .arg = q };
	b->pending++;
	aisio_xfs_rd_queue(fs->rd, &q->req);
	return 0;
}

/* Drop the queueing hold; frees @b when no piece was queued. */
static void dblk_release(struct dblk *b)
{
	if (b->pending > 1) {
		b->pending--;
		return;
	}
	free(b->buf);
	free(b);
}

static int dir_queue(struct aisio_xfs *fs, uint32_t xi_idx)
{
	const struct xfs_xi *xi = &fs->xi[xi_idx];
	const struct aisio_extent *ext = fs->map->exts ? fs->map->exts + xi->ext_first : NULL;
	uint32_t bs = fs->geom.blocksize, D = fs->dirblkfsbs, dbs = fs->geom.dirblksize;
	uint64_t limit = XFS_DIR2_DATA_SPACE_BYTES >> fs->blocklog;
	struct dblk *part = NULL; /* block split across extents, being assembled */
	uint64_t part_k = 0, part_next = 0;
	int err = 0;

	for (uint32_t i = 0; i < xi->ext_count && !err; i++) {
		uint64_t fo = ext[i].off >> fs->blocklog, n = ext[i].len >> fs->blocklog;
		uint64_t f, end;

		if (fo >= limit)
			break;
		if (ext[i].flags & AISIO_EXT_UNWRITTEN)
			return xfs_corrupt(fs, "directory inode %llu has an unwritten extent",
					   (unsigned long long)xi->ino);
		end = fo + n < limit ? fo + n : limit;
		for (f = fo; f < end && !err;) {
			uint64_t k = f / D, boff = f - k * D;
			uint64_t phys = ext[i].dev_off + ((f - fo) << fs->blocklog);

			if (boff == 0 && f + D <= end) {
				uint64_t m = (end - f) / D;
				struct dblk *b;
				if (m > DIR_READ_MAX / dbs)
					m = DIR_READ_MAX / dbs ? DIR_READ_MAX / dbs : 1;
				b = dblk_new(fs, xi_idx, (uint32_t)m, phys);
				if (!b)
					return aisio_err(-ENOMEM, "xfs: out of memory");
				err = dblk_piece(fs, b, phys, (uint32_t)(m * dbs), 0);
				dblk_release(b);
				f += m * D;
				continue;
			}
			if (part && part_k != k)
				err = xfs_corrupt(fs, "directory inode %llu: block %llu is incomplete",
						  (unsigned long long)xi->ino, (unsigned long long)part_k);
			if (!err && !part) {
				if (boff != 0) {
					err = xfs_corrupt(fs, "directory inode %llu: block %llu starts with a hole",
							  (unsigned long long)xi->ino, (unsigned long long)k);
					break;
				}
				part = dblk_new(fs, xi_idx, 1, phys);
				if (!part)
					return aisio_err(-ENOMEM, "xfs: out of memory");
				part_k = k;
				part_next = f;
			}
			if (!err && f != part_next)
				err = xfs_corrupt(fs, "directory inode %llu: block %llu has a hole",
						  (unsigned long long)xi->ino, (unsigned long long)k);
			if (!err) {
				uint64_t take = (k + 1) * D - f;
				if (take > end - f)
					take = end - f;
				err = dblk_piece(fs, part, phys, (uint32_t)(take * bs), (uint32_t)(boff * bs));
				f += take;
				part_next = f;
				if (part_next == (k + 1) * D) {
					dblk_release(part);
					part = NULL;
				}
			}
		}
	}
	if (part) {
		if (!err)
			err = xfs_corrupt(fs, "directory inode %llu: last block %llu is incomplete",
					  (unsigned long long)xi->ino, (unsigned long long)part_k);
		xfs_fail(fs, err);
		dblk_release(part);
	}
	return err;
}

#define DIR_REFILL_INODES 64

/* Queue the data blocks of the next directories. */
static int dir_refill(void *arg)
{
	struct aisio_xfs *fs = arg;
	uint32_t queued = 0;

	for (; fs->refill_pos < fs->nxi && queued < DIR_REFILL_INODES && !fs->err; fs->refill_pos++) {
		const struct xfs_xi *xi = &fs->xi[fs->refill_pos];
		int err;
		if (!S_ISDIR(xi->mode) || xi->format == XFS_DINODE_FMT_LOCAL)
			continue;
		err = dir_queue(fs, (uint32_t)fs->refill_pos);
		if (err)
			xfs_fail(fs, err);
		queued++;
	}
	return fs->refill_pos < fs->nxi && !fs->err;
}

int xfs_scan_dirs(struct aisio_xfs *fs)
{
	return xfs_run_pass(fs, dir_refill);
}
