/* SPDX-License-Identifier: MIT */
/*
 * Inodes: every allocated inode of every chunk is read (runs of present
 * inodes, many in flight), checked and reduced to what the index needs.
 * Data forks in extent format are decoded in place; B+tree forks are walked
 * level by level with all inodes' walks in flight together.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/err.h"
#include "xfs/xfs_priv.h"

#define XFS_BMBT_MAXLEVELS 9
#define XFS_INODE_RUN_MAX 64 /* inodes per read */

struct ireq {
	struct aisio_xfs_req req;
	struct aisio_xfs *fs;
	uint64_t chunk;
	uint32_t first; /* inode index in the chunk */
	uint32_t count;
	uint8_t buf[] __attribute__((aligned(8)));
};

struct breq {
	struct aisio_xfs_req req;
	struct aisio_xfs *fs;
	uint32_t job;
	uint32_t level;
	uint8_t buf[] __attribute__((aligned(8)));
};

/* Decode one 128-bit extent record of inode @xi into @e (validated). */
static int bmbt_unpack(struct aisio_xfs *fs, const struct xfs_xi *xi, const uint8_t *rec,
		       struct aisio_extent *e)
{
	uint64_t l0 = aisio_be64p(rec), l1 = aisio_be64p(rec + 8);
	uint64_t off = (l0 & ((1ull << 63) - 1)) >> 9;
	uint64_t blk = ((l0 & 0x1ff) << 43) | (l1 >> 21);
	uint64_t cnt = l1 & ((1ull << 21) - 1);
	int err;

	if (cnt == 0 || off + cnt >= 1ull << (63 - fs->blocklog))
		return xfs_corrupt(fs, "inode %llu: extent at block %llu of %llu blocks",
				   (unsigned long long)xi->ino, (unsigned long long)off,
				   (unsigned long long)cnt);
	e->off = off << fs->blocklog;
	e->len = cnt << fs->blocklog;
	e->flags = (l0 >> 63) ? AISIO_EXT_UNWRITTEN : 0;
	e->rsvd = 0;
	if (xi->nflags & AISIO_NODE_REALTIME) {
		if (blk >= fs->geom.rblocks || cnt > fs->geom.rblocks - blk)
			return xfs_corrupt(fs, "inode %llu: realtime extent %llu+%llu outside the realtime section",
					   (unsigned long long)xi->ino, (unsigned long long)blk,
					   (unsigned long long)cnt);
		e->dev_off = blk << fs->blocklog;
		e->flags |= AISIO_EXT_REALTIME;
		return 0;
	}
	err = xfs_fsb_to_off(fs, blk, cnt, &e->dev_off);
	if (err)
		return aisio_err(err, "%s (inode %llu)", aisio_errmsg(), (unsigned long long)xi->ino);
	return 0;
}

/* Extents must be sorted and must not overlap. */
static int extents_check(struct aisio_xfs *fs, const struct xfs_xi *xi,
			 const struct aisio_extent *e, uint64_t n)
{
	for (uint64_t i = 1; i < n; i++)
		if (e[i].off < e[i - 1].off + e[i - 1].len)
			return xfs_corrupt(fs, "inode %llu: extents %llu and %llu overlap or are out of order",
					   (unsigned long long)xi->ino, (unsigned long long)i - 1,
					   (unsigned long long)i);
	return 0;
}

static void bmbt_done(struct aisio_xfs_req *r, int status);

static int bmbt_queue(struct aisio_xfs *fs, uint32_t job, uint64_t fsb, uint32_t level)
{
	struct xfs_btjob *j = &fs->jobs[job];
	const struct xfs_xi *xi = &fs->xi[j->xi];
	struct breq *b;
	uint64_t off;
	int err;

	err = xfs_fsb_to_off(fs, fsb, 1, &off);
	if (err)
		return aisio_err(err, "%s (block map B+tree of inode %llu)", aisio_errmsg(),
				 (unsigned long long)xi->ino);
	if (++j->nblocks > xi->nblocks)
		return xfs_corrupt(fs, "inode %llu: block map B+tree has more blocks than the inode's %llu",
				   (unsigned long long)xi->ino, (unsigned long long)xi->nblocks);
	err = xfs_seen_add(fs, off, "block map B+tree");
	if (err)
		return err;
	b = malloc(sizeof(*b) + fs->geom.blocksize);
	if (!b)
		return aisio_err(-ENOMEM, "xfs: out of memory");
	b->fs = fs;
	b->job = job;
	b->level = level;
	b->req = (struct aisio_xfs_req){ .off = off, .len = fs->geom.blocksize, .buf = b->buf,
					 .done = bmbt_done, .arg = b };
	aisio_xfs_rd_queue(fs->rd, &b->req);
	return 0;
}

static int bmbt_parse(struct breq *b)
{
	struct aisio_xfs *fs = b->fs;
	struct xfs_btjob *j = &fs->jobs[b->job];
	const struct xfs_xi *xi = &fs->xi[j->xi];
	const struct xfs_btree_lblock *h = (const void *)b->buf;
	uint32_t bs = fs->geom.blocksize, hdr = sizeof(*h);
	uint32_t level = aisio_be16_to_cpu(h->bb_level), n = aisio_be16_to_cpu(h->bb_numrecs);
	unsigned long long ino = xi->ino;
	int err;

	if (aisio_be32_to_cpu(h->bb_magic) != XFS_BMAP_CRC_MAGIC)
		return xfs_corrupt(fs, "inode %llu: block map B+tree block at byte %llu has magic 0x%08x",
				   ino, (unsigned long long)b->req.off, aisio_be32_to_cpu(h->bb_magic));
	if (!xfs_crc_ok(fs, b->buf, bs, XFS_BTREE_LBLOCK_CRC_OFF))
		return aisio_err(-EBADMSG, "corrupt XFS metadata: inode %llu: block map B+tree block at byte %llu: CRC mismatch",
				 ino, (unsigned long long)b->req.off);
	if (aisio_be64_to_cpu(h->bb_blkno) != b->req.off >> XFS_BB_SHIFT || aisio_be64_to_cpu(h->bb_owner) != ino ||
	    memcmp(h->bb_uuid, fs->uuid, 16))
		return xfs_corrupt(fs, "inode %llu: block map B+tree block at byte %llu: wrong location, owner or UUID",
				   ino, (unsigned long long)b->req.off);
	if (level != b->level)
		return xfs_corrupt(fs, "inode %llu: block map B+tree block level %u, expected %u", ino,
				   level, b->level);
	if (level == 0) {
		uint32_t maxrecs = (bs - hdr) / 16;
		if (n == 0 || n > maxrecs)
			return xfs_corrupt(fs, "inode %llu: block map B+tree leaf with %u records", ino, n);
		if (j->nrecs + n > j->nrecs_expected)
			return xfs_corrupt(fs, "inode %llu: block map B+tree holds more than the inode's %llu extents",
					   ino, (unsigned long long)j->nrecs_expected);
		err = xfs_grow((void **)&j->recs, &j->cap, j->nrecs + n, sizeof(*j->recs));
		if (err)
			return err;
		for (uint32_t i = 0; i < n; i++)
			if ((err = bmbt_unpack(fs, xi, b->buf + hdr + 16 * i, &j->recs[j->nrecs++])))
				return err;
	} else {
		uint32_t maxrecs = (bs - hdr) / 16;
		const uint8_t *ptrs = b->buf + hdr + maxrecs * 8;
		if (n == 0 || n > maxrecs)
			return xfs_corrupt(fs, "inode %llu: block map B+tree node with %u pointers", ino, n);
		for (uint32_t i = 0; i < n; i++)
			if ((err = bmbt_queue(fs, b->job, aisio_be64p(ptrs + 8 * i), level - 1)))
				return err;
	}
	return 0;
}

static void bmbt_done(struct aisio_xfs_req *r, int status)
{
	struct breq *b = r->arg;

	if (!b->fs->err) {
		if (status)
			xfs_fail(b->fs, status);
		else if ((status = bmbt_parse(b)))
			xfs_fail(b->fs, status);
	}
	free(b);
}

/* B+tree root in the inode fork: queue its children. */
static int bmdr_parse(struct aisio_xfs *fs, uint32_t xi_idx, const uint8_t *d, uint32_t dsize,
		      uint64_t nextents)
{
	struct xfs_xi *xi = &fs->xi[xi_idx];
	uint32_t level = aisio_be16p(d), n = aisio_be16p(d + 2);
	uint32_t maxrecs = (dsize - 4) / 16, job;
	int err;

	if (level == 0 || level > XFS_BMBT_MAXLEVELS || n == 0 || n > maxrecs)
		return xfs_corrupt(fs, "inode %llu: block map B+tree root of level %u with %u records",
				   (unsigned long long)xi->ino, level, n);
	err = xfs_grow((void **)&fs->jobs, &fs->jobs_cap, fs->njobs + 1, sizeof(*fs->jobs));
	if (err)
		return err;
	job = (uint32_t)fs->njobs++;
	fs->jobs[job] = (struct xfs_btjob){ .xi = xi_idx, .nrecs_expected = nextents };
	for (uint32_t i = 0; i < n; i++)
		if ((err = bmbt_queue(fs, job, aisio_be64p(d + 4 + maxrecs * 8 + 8 * i), level - 1)))
			return err;
	return 0;
}

static int fmt_ok(uint16_t mode, uint8_t fmt)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
		return fmt == XFS_DINODE_FMT_LOCAL || fmt == XFS_DINODE_FMT_EXTENTS ||
		       fmt == XFS_DINODE_FMT_BTREE;
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return fmt == XFS_DINODE_FMT_DEV;
	}
	return 0;
}

static int inode_parse(struct aisio_xfs *fs, uint32_t xi_idx, const uint8_t *p)
{
	const struct xfs_dinode *di = (const void *)p;
	struct xfs_xi *xi = &fs->xi[xi_idx];
	unsigned long long ino = xi->ino;
	uint32_t isz = fs->geom.inodesize, dsize;
	uint64_t flags2, nextents;
	const uint8_t *d = p + XFS_DINODE_V3_SIZE;
	int err;

	if (aisio_be16_to_cpu(di->di_magic) != XFS_DINODE_MAGIC || di->di_version != 3)
		return xfs_corrupt(fs, "inode %llu: bad magic 0x%04x or version %u", ino,
				   aisio_be16_to_cpu(di->di_magic), di->di_version);
	if (!xfs_crc_ok(fs, p, isz, XFS_DINODE_CRC_OFF))
		return aisio_err(-EBADMSG, "corrupt XFS metadata: inode %llu: CRC mismatch", ino);
	if (aisio_be64_to_cpu(di->di_ino) != ino || memcmp(di->di_uuid, fs->uuid, 16))
		return xfs_corrupt(fs, "inode %llu: records inode number %llu or a foreign UUID", ino,
				   (unsigned long long)aisio_be64_to_cpu(di->di_ino));
	xi->mode = aisio_be16_to_cpu(di->di_mode);
	xi->format = di->di_format;
	xi->nlink = aisio_be32_to_cpu(di->di_nlink);
	xi->size = aisio_be64_to_cpu(di->di_size);
	xi->nblocks = aisio_be64_to_cpu(di->di_nblocks);
	flags2 = aisio_be64_to_cpu(di->di_flags2);
	if (!fmt_ok(xi->mode, xi->format))
		return xfs_corrupt(fs, "inode %llu: mode 0%o with data fork format %u", ino, xi->mode,
				   xi->format);
	if (xi->size >> 63)
		return xfs_corrupt(fs, "inode %llu: size %llu", ino, (unsigned long long)xi->size);
	if ((flags2 & XFS_DIFLAG2_NREXT64) && !fs->nrext64)
		return xfs_corrupt(fs, "inode %llu: large extent counts without the NREXT64 feature", ino);
	nextents = (flags2 & XFS_DIFLAG2_NREXT64) ? aisio_be64_to_cpu(di->di_big_nextents)
						   : aisio_be32p(di->di_nextents_u);
	if (aisio_be16_to_cpu(di->di_flags) & XFS_DIFLAG_REALTIME)
		xi->nflags |= AISIO_NODE_REALTIME;
	if (flags2 & XFS_DIFLAG2_REFLINK)
		xi->nflags |= AISIO_NODE_REFLINK;
	dsize = di->di_forkoff ? di->di_forkoff * 8u : isz - XFS_DINODE_V3_SIZE;
	if (dsize > isz - XFS_DINODE_V3_SIZE)
		return xfs_corrupt(fs, "inode %llu: attribute fork offset %u", ino, di->di_forkoff);

	xi->ext_first = fs->map->nexts;
	switch (xi->format) {
	case XFS_DINODE_FMT_EXTENTS:
		if (nextents > dsize / 16)
			return xfs_corrupt(fs, "inode %llu: %llu extents do not fit the inode fork", ino,
					   (unsigned long long)nextents);
		for (uint32_t i = 0; i < nextents; i++) {
			struct aisio_extent e;
			if ((err = bmbt_unpack(fs, xi, d + 16 * i, &e)) ||
			    (err = aisio_extmap_add_extent(fs->map, &e)))
				return err;
		}
		xi->ext_count = (uint32_t)nextents;
		return nextents > 1 ? extents_check(fs, xi, fs->map->exts + xi->ext_first, nextents) : 0;
	case XFS_DINODE_FMT_BTREE:
		return bmdr_parse(fs, xi_idx, d, dsize, nextents);
	case XFS_DINODE_FMT_LOCAL:
		xi->nflags |= AISIO_NODE_INLINE;
		if (xi->size > dsize)
			return xfs_corrupt(fs, "inode %llu: %llu bytes of inline data in a %u-byte fork", ino,
					   (unsigned long long)xi->size, dsize);
		if (S_ISDIR(xi->mode))
			return xfs_dir_sf_parse(fs, xi_idx, d, xi->size);
		return 0;
	default:
		return 0;
	}
	return 0;
}

static int ireq_parse(struct ireq *q)
{
	struct aisio_xfs *fs = q->fs;
	const struct xfs_chunk *c = &fs->chunks[q->chunk];
	uint32_t xi = c->first_xi + (uint32_t)__builtin_popcountll(c->alloc & ((1ull << q->first) - 1));
	int err;

	for (uint32_t i = q->first; i < q->first + q->count; i++) {
		if (!(c->alloc & (1ull << i)))
			continue;
		err = inode_parse(fs, xi++, q->buf + (size_t)(i - q->first) * fs->geom.inodesize);
		if (err)
			return err;
	}
	return 0;
}

static void ireq_done(struct aisio_xfs_req *r, int status)
{
	struct ireq *q = r->arg;

	if (!q->fs->err) {
		if (status)
			xfs_fail(q->fs, status);
		else if ((status = ireq_parse(q)))
			xfs_fail(q->fs, status);
	}
	free(q);
}

static int queue_run(struct aisio_xfs *fs, uint64_t chunk, uint32_t first, uint32_t count)
{
	const struct xfs_chunk *c = &fs->chunks[chunk];
	uint64_t agno = c->startino >> (fs->agblklog + fs->inopblog);
	uint64_t agino = (c->startino & ((1ull << (fs->agblklog + fs->inopblog)) - 1)) + first;
	uint32_t isz = fs->geom.inodesize;
	struct ireq *q = malloc(sizeof(*q) + (size_t)count * isz);

	if (!q)
		return aisio_err(-ENOMEM, "xfs: out of memory");
	q->fs = fs;
	q->chunk = chunk;
	q->first = first;
	q->count = count;
	q->req = (struct aisio_xfs_req){ .off = xfs_agb_to_off(fs, (uint32_t)agno, 0) + agino * isz,
					 .len = count * isz, .buf = q->buf, .done = ireq_done,
					 .arg = q };
	aisio_xfs_rd_queue(fs->rd, &q->req);
	return 0;
}

static int job_finish(struct aisio_xfs *fs, struct xfs_btjob *j);

#define INODE_REFILL_CHUNKS 64

/* Queue the next chunks' runs of present inodes that hold allocated ones. */
static int inode_refill(void *arg)
{
	struct aisio_xfs *fs = arg;
	uint64_t end = fs->refill_pos + INODE_REFILL_CHUNKS;

	if (fs->err || fs->refill_pos >= fs->nchunks)
		return 0;
	for (; fs->refill_pos < end && fs->refill_pos < fs->nchunks; fs->refill_pos++) {
		const struct xfs_chunk *c = &fs->chunks[fs->refill_pos];
		for (uint32_t k = 0; k < 64;) {
			uint32_t s = k, e;
			int err;
			if (!(c->present & (1ull << k)) || !(c->alloc >> k)) {
				k++;
				continue;
			}
			for (e = s; e < 64 && e - s < XFS_INODE_RUN_MAX && (c->present & (1ull << e)); e++)
				;
			while (e > s && !(c->alloc & (1ull << (e - 1))))
				e--;
			while (s < e && !(c->alloc & (1ull << s)))
				s++;
			if (e > s && (err = queue_run(fs, fs->refill_pos, s, e - s))) {
				xfs_fail(fs, err);
				return 0;
			}
			k = e > k ? e : k + 1;
		}
	}
	return 1;
}

int xfs_scan_inodes(struct aisio_xfs *fs)
{
	uint64_t nxi = 0;
	int err;

	for (uint64_t i = 0; i < fs->nchunks; i++) {
		fs->chunks[i].first_xi = (uint32_t)nxi;
		nxi += (uint64_t)__builtin_popcountll(fs->chunks[i].alloc);
		if (nxi > UINT32_MAX)
			return xfs_corrupt(fs, "more than 2^32 allocated inodes");
	}
	fs->xi = calloc(nxi ? nxi : 1, sizeof(*fs->xi));
	if (!fs->xi)
		return aisio_err(-ENOMEM, "xfs: out of memory for %llu inodes", (unsigned long long)nxi);
	fs->nxi = nxi;
	for (uint64_t i = 0; i < fs->nchunks; i++) {
		const struct xfs_chunk *c = &fs->chunks[i];
		uint32_t xi = c->first_xi;
		for (int k = 0; k < 64; k++)
			if (c->alloc & (1ull << k))
				fs->xi[xi++].ino = c->startino + (uint64_t)k;
	}
	err = xfs_run_pass(fs, inode_refill);
	if (err)
		return err;
	for (uint64_t i = 0; i < fs->njobs; i++)
		if ((err = job_finish(fs, &fs->jobs[i])))
			return err;
	return 0;
}

static int ext_cmp(const void *x, const void *y)
{
	const struct aisio_extent *a = x, *b = y;

	return a->off < b->off ? -1 : a->off > b->off;
}

static int job_finish(struct aisio_xfs *fs, struct xfs_btjob *j)
{
	struct xfs_xi *xi = &fs->xi[j->xi];
	int err;

	if (j->nrecs != j->nrecs_expected)
		return xfs_corrupt(fs, "inode %llu: block map B+tree holds %llu extents, the inode says %llu",
				   (unsigned long long)xi->ino, (unsigned long long)j->nrecs,
				   (unsigned long long)j->nrecs_expected);
	if (j->nrecs > 1)
		qsort(j->recs, j->nrecs, sizeof(*j->recs), ext_cmp);
	err = extents_check(fs, xi, j->recs, j->nrecs);
	if (err)
		return err;
	xi->ext_first = fs->map->nexts;
	for (uint64_t i = 0; i < j->nrecs; i++)
		if ((err = aisio_extmap_add_extent(fs->map, &j->recs[i])))
			return err;
	if (j->nrecs > UINT32_MAX)
		return xfs_corrupt(fs, "inode %llu: too many extents", (unsigned long long)xi->ino);
	xi->ext_count = (uint32_t)j->nrecs;
	free(j->recs);
	j->recs = NULL;
	return 0;
}
