/* SPDX-License-Identifier: MIT */
/*
 * AG headers and inode B+trees: every AG's AGF and AGI are read at once,
 * then each inode B+tree level of all AGs is in flight together. Leaves give
 * the inode chunks, sparse ones included (holemask).
 */
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "xfs/xfs_priv.h"

#define XFS_BTREE_MAXLEVELS 9

struct agreq {
	struct aisio_xfs_req req;
	struct aisio_xfs *fs;
	uint32_t agno;
	uint32_t agbno;
	uint32_t level; /* expected level of the block */
	int refc;       /* refcount B+tree block, not inode B+tree */
	uint8_t buf[] __attribute__((aligned(8)));
};

static void inobt_done(struct aisio_xfs_req *r, int status);

static int queue_block(struct aisio_xfs *fs, uint32_t agno, uint32_t agbno, uint32_t level,
		       int refc)
{
	struct agreq *a;
	int err;

	if (agbno == 0 || agbno >= xfs_ag_len(fs, agno))
		return xfs_corrupt(fs, "AG %u %s B+tree pointer to block %u", agno,
				   refc ? "refcount" : "inode", agbno);
	err = xfs_seen_add(fs, xfs_agb_to_off(fs, agno, agbno), refc ? "refcount B+tree" : "inode B+tree");
	if (err)
		return err;
	a = malloc(sizeof(*a) + fs->geom.blocksize);
	if (!a)
		return aisio_err(-ENOMEM, "xfs: out of memory");
	a->fs = fs;
	a->agno = agno;
	a->agbno = agbno;
	a->level = level;
	a->refc = refc;
	a->req = (struct aisio_xfs_req){ .off = xfs_agb_to_off(fs, agno, agbno),
					 .len = fs->geom.blocksize, .buf = a->buf,
					 .done = inobt_done, .arg = a };
	aisio_xfs_rd_queue(fs->rd, &a->req);
	return 0;
}

static int add_chunk(struct aisio_xfs *fs, uint32_t agno, const struct xfs_inobt_rec *r)
{
	uint32_t agino = aisio_be32_to_cpu(r->ir_startino);
	uint32_t maxagino = xfs_ag_len(fs, agno) << fs->inopblog;
	uint16_t holemask = 0;
	uint64_t present = ~0ull, free_ = aisio_be64_to_cpu(r->ir_free);
	struct xfs_chunk *c;
	int err;

	if (agino % XFS_INODES_PER_CHUNK || agino >= maxagino ||
	    maxagino - agino < XFS_INODES_PER_CHUNK || agino == 0)
		return xfs_corrupt(fs, "AG %u inode chunk at inode %u", agno, agino);
	if (fs->spinodes) {
		holemask = aisio_be16_to_cpu(r->ir_holemask);
		for (int b = 0; b < 16; b++)
			if (holemask & (1u << b))
				present &= ~(0xfull << (b * XFS_INODES_PER_HOLEMASK_BIT));
		if (r->ir_count != __builtin_popcountll(present) || r->ir_count == 0)
			return xfs_corrupt(fs, "AG %u inode chunk %u: count %u with holemask 0x%04x",
					   agno, agino, r->ir_count, holemask);
		if (r->ir_freecount != __builtin_popcountll(free_ & present))
			return xfs_corrupt(fs, "AG %u inode chunk %u: free count %u, free mask says %d",
					   agno, agino, r->ir_freecount,
					   __builtin_popcountll(free_ & present));
	} else if (aisio_be32p(&r->ir_holemask) != (uint32_t)__builtin_popcountll(free_)) {
		return xfs_corrupt(fs, "AG %u inode chunk %u: free count %u, free mask says %d", agno,
				   agino, aisio_be32p(&r->ir_holemask), __builtin_popcountll(free_));
	}
	err = xfs_grow((void **)&fs->chunks, &fs->chunks_cap, fs->nchunks + 1, sizeof(*c));
	if (err)
		return err;
	c = &fs->chunks[fs->nchunks++];
	c->startino = ((uint64_t)agno << (fs->agblklog + fs->inopblog)) | agino;
	c->present = present;
	c->alloc = present & ~free_;
	c->first_xi = 0;
	return 0;
}

static int inobt_parse(struct agreq *a)
{
	struct aisio_xfs *fs = a->fs;
	const struct xfs_btree_sblock *h = (const void *)a->buf;
	uint32_t bs = fs->geom.blocksize, hdr = sizeof(*h);
	uint32_t level = aisio_be16_to_cpu(h->bb_level), n = aisio_be16_to_cpu(h->bb_numrecs);
	uint32_t where = a->agbno;
	int err;

	if (aisio_be32_to_cpu(h->bb_magic) != XFS_IBT_CRC_MAGIC)
		return xfs_corrupt(fs, "AG %u block %u: not an inode B+tree block (magic 0x%08x)",
				   a->agno, where, aisio_be32_to_cpu(h->bb_magic));
	if (!xfs_crc_ok(fs, a->buf, bs, XFS_BTREE_SBLOCK_CRC_OFF))
		return aisio_err(-EBADMSG, "corrupt XFS metadata: AG %u inode B+tree block %u: CRC mismatch",
				 a->agno, where);
	if (aisio_be64_to_cpu(h->bb_blkno) != a->req.off >> XFS_BB_SHIFT || aisio_be32_to_cpu(h->bb_owner) != a->agno ||
	    memcmp(h->bb_uuid, fs->uuid, 16))
		return xfs_corrupt(fs, "AG %u inode B+tree block %u: wrong location, owner or UUID",
				   a->agno, where);
	if (level != a->level)
		return xfs_corrupt(fs, "AG %u inode B+tree block %u: level %u, expected %u", a->agno,
				   where, level, a->level);
	if (level == 0) {
		uint32_t maxrecs = (bs - hdr) / sizeof(struct xfs_inobt_rec);
		const struct xfs_inobt_rec *r = (const void *)(a->buf + hdr);
		if (n > maxrecs)
			return xfs_corrupt(fs, "AG %u inode B+tree leaf %u: %u records (max %u)",
					   a->agno, where, n, maxrecs);
		for (uint32_t i = 0; i < n; i++) {
			if (i && aisio_be32_to_cpu(r[i].ir_startino) <= aisio_be32_to_cpu(r[i - 1].ir_startino))
				return xfs_corrupt(fs, "AG %u inode B+tree leaf %u: records out of order",
						   a->agno, where);
			if ((err = add_chunk(fs, a->agno, &r[i])))
				return err;
		}
	} else {
		uint32_t maxrecs = (bs - hdr) / 8;
		const uint8_t *ptrs = a->buf + hdr + maxrecs * 4;
		if (n == 0 || n > maxrecs)
			return xfs_corrupt(fs, "AG %u inode B+tree node %u: %u pointers (max %u)",
					   a->agno, where, n, maxrecs);
		for (uint32_t i = 0; i < n; i++)
			if ((err = queue_block(fs, a->agno, aisio_be32p(ptrs + 4 * i), level - 1, 0)))
				return err;
	}
	return 0;
}

/* Refcount B+tree: remember data blocks shared by more than one owner. */
static int refc_parse(struct agreq *a)
{
	struct aisio_xfs *fs = a->fs;
	const struct xfs_btree_sblock *h = (const void *)a->buf;
	uint32_t bs = fs->geom.blocksize, hdr = sizeof(*h);
	uint32_t level = aisio_be16_to_cpu(h->bb_level), n = aisio_be16_to_cpu(h->bb_numrecs);
	uint32_t agl = xfs_ag_len(fs, a->agno);
	int err;

	if (aisio_be32_to_cpu(h->bb_magic) != XFS_REFC_CRC_MAGIC)
		return xfs_corrupt(fs, "AG %u block %u: not a refcount B+tree block (magic 0x%08x)",
				   a->agno, a->agbno, aisio_be32_to_cpu(h->bb_magic));
	if (!xfs_crc_ok(fs, a->buf, bs, XFS_BTREE_SBLOCK_CRC_OFF))
		return aisio_err(-EBADMSG, "corrupt XFS metadata: AG %u refcount B+tree block %u: CRC mismatch",
				 a->agno, a->agbno);
	if (aisio_be64_to_cpu(h->bb_blkno) != a->req.off >> XFS_BB_SHIFT ||
	    aisio_be32_to_cpu(h->bb_owner) != a->agno || memcmp(h->bb_uuid, fs->uuid, 16) ||
	    level != a->level)
		return xfs_corrupt(fs, "AG %u refcount B+tree block %u: wrong location, owner, UUID or level",
				   a->agno, a->agbno);
	if (level == 0) {
		const struct xfs_refcount_rec *r = (const void *)(a->buf + hdr);
		if (n > (bs - hdr) / sizeof(*r))
			return xfs_corrupt(fs, "AG %u refcount B+tree leaf %u: %u records", a->agno,
					   a->agbno, n);
		for (uint32_t i = 0; i < n; i++) {
			uint32_t start = aisio_be32_to_cpu(r[i].rc_startblock);
			uint32_t cnt = aisio_be32_to_cpu(r[i].rc_blockcount);
			if (start & XFS_REFC_COWFLAG || aisio_be32_to_cpu(r[i].rc_refcount) < 2)
				continue;
			if (cnt == 0 || start >= agl || cnt > agl - start)
				return xfs_corrupt(fs, "AG %u refcount record %u+%u outside the AG",
						   a->agno, start, cnt);
			err = xfs_grow((void **)&fs->shared, &fs->shared_cap, fs->nshared + 1,
				       sizeof(*fs->shared));
			if (err)
				return err;
			fs->shared[fs->nshared++] = (struct xfs_shared){
				xfs_agb_to_off(fs, a->agno, start), (uint64_t)cnt << fs->blocklog };
		}
	} else {
		uint32_t maxrecs = (bs - hdr) / 8;
		const uint8_t *ptrs = a->buf + hdr + maxrecs * 4;
		if (n == 0 || n > maxrecs)
			return xfs_corrupt(fs, "AG %u refcount B+tree node %u: %u pointers", a->agno,
					   a->agbno, n);
		for (uint32_t i = 0; i < n; i++)
			if ((err = queue_block(fs, a->agno, aisio_be32p(ptrs + 4 * i), level - 1, 1)))
				return err;
	}
	return 0;
}

static void inobt_done(struct aisio_xfs_req *r, int status)
{
	struct agreq *a = r->arg;

	if (!a->fs->err) {
		if (status)
			xfs_fail(a->fs, status);
		else if ((status = a->refc ? refc_parse(a) : inobt_parse(a)))
			xfs_fail(a->fs, status);
	}
	free(a);
}

static int ag_parse(struct agreq *a)
{
	struct aisio_xfs *fs = a->fs;
	uint32_t ss = fs->geom.sectsize;
	const struct xfs_agf *agf = (const void *)a->buf;
	const struct xfs_agi *agi = (const void *)(a->buf + ss);
	uint32_t len = xfs_ag_len(fs, a->agno), level;

	if (aisio_be32_to_cpu(agf->agf_magicnum) != XFS_AGF_MAGIC)
		return xfs_corrupt(fs, "AG %u: bad AGF magic 0x%08x", a->agno,
				   aisio_be32_to_cpu(agf->agf_magicnum));
	if (!xfs_crc_ok(fs, agf, ss, XFS_AGF_CRC_OFF))
		return aisio_err(-EBADMSG, "corrupt XFS metadata: AG %u: AGF CRC mismatch", a->agno);
	if (aisio_be32_to_cpu(agf->agf_seqno) != a->agno || aisio_be32_to_cpu(agf->agf_length) != len ||
	    memcmp(agf->agf_uuid, fs->uuid, 16))
		return xfs_corrupt(fs, "AG %u: AGF says AG %u of %u blocks (expected %u)", a->agno,
				   aisio_be32_to_cpu(agf->agf_seqno), aisio_be32_to_cpu(agf->agf_length), len);
	if (aisio_be32_to_cpu(agi->agi_magicnum) != XFS_AGI_MAGIC)
		return xfs_corrupt(fs, "AG %u: bad AGI magic 0x%08x", a->agno,
				   aisio_be32_to_cpu(agi->agi_magicnum));
	if (!xfs_crc_ok(fs, agi, ss, XFS_AGI_CRC_OFF))
		return aisio_err(-EBADMSG, "corrupt XFS metadata: AG %u: AGI CRC mismatch", a->agno);
	if (aisio_be32_to_cpu(agi->agi_seqno) != a->agno || aisio_be32_to_cpu(agi->agi_length) != len ||
	    memcmp(agi->agi_uuid, fs->uuid, 16))
		return xfs_corrupt(fs, "AG %u: AGI says AG %u of %u blocks (expected %u)", a->agno,
				   aisio_be32_to_cpu(agi->agi_seqno), aisio_be32_to_cpu(agi->agi_length), len);
	level = aisio_be32_to_cpu(agi->agi_level);
	if (level == 0 || level > XFS_BTREE_MAXLEVELS)
		return xfs_corrupt(fs, "AG %u: inode B+tree of %u levels", a->agno, level);
	for (int b = 0; b < XFS_AGI_UNLINKED_BUCKETS; b++)
		if (aisio_be32_to_cpu(agi->agi_unlinked[b]) != 0xffffffffu) {
			xfs_warn(fs, "AG %u has unlinked inodes still open or awaiting log recovery",
				 a->agno);
			break;
		}
	if (fs->reflink) {
		uint32_t rl = aisio_be32_to_cpu(agf->agf_refcount_level);
		int err;
		if (rl == 0 || rl > XFS_BTREE_MAXLEVELS)
			return xfs_corrupt(fs, "AG %u: refcount B+tree of %u levels", a->agno, rl);
		err = queue_block(fs, a->agno, aisio_be32_to_cpu(agf->agf_refcount_root), rl - 1, 1);
		if (err)
			return err;
	}
	return queue_block(fs, a->agno, aisio_be32_to_cpu(agi->agi_root), level - 1, 0);
}

static void ag_done(struct aisio_xfs_req *r, int status)
{
	struct agreq *a = r->arg;

	if (!a->fs->err) {
		if (status)
			xfs_fail(a->fs, status);
		else if ((status = ag_parse(a)))
			xfs_fail(a->fs, status);
	}
	free(a);
}

static int chunk_cmp(const void *x, const void *y)
{
	const struct xfs_chunk *a = x, *b = y;

	return a->startino < b->startino ? -1 : a->startino > b->startino;
}

static int shared_cmp(const void *x, const void *y)
{
	const struct xfs_shared *a = x, *b = y;

	return a->off < b->off ? -1 : a->off > b->off;
}

int xfs_scan_inobt(struct aisio_xfs *fs)
{
	uint32_t ss = fs->geom.sectsize;
	int err;

	for (uint32_t agno = 0; agno < fs->geom.agcount; agno++) {
		struct agreq *a = malloc(sizeof(*a) + 2 * ss);
		if (!a)
			return aisio_err(-ENOMEM, "xfs: out of memory");
		a->fs = fs;
		a->agno = agno;
		a->refc = 0;
		a->req = (struct aisio_xfs_req){ .off = xfs_agb_to_off(fs, agno, 0) + ss,
						 .len = 2 * ss, .buf = a->buf, .done = ag_done,
						 .arg = a };
		aisio_xfs_rd_queue(fs->rd, &a->req);
	}
	err = aisio_xfs_rd_run(fs->rd);
	if (err)
		return err;
	if (fs->err)
		return aisio_err(fs->err, "%s", fs->errmsg);
	if (fs->nchunks > 1)
		qsort(fs->chunks, fs->nchunks, sizeof(*fs->chunks), chunk_cmp);
	if (fs->nshared > 1)
		qsort(fs->shared, fs->nshared, sizeof(*fs->shared), shared_cmp);
	for (uint64_t i = 1; i < fs->nchunks; i++)
		if (fs->chunks[i].startino < fs->chunks[i - 1].startino + XFS_INODES_PER_CHUNK)
			return xfs_corrupt(fs, "inode chunks %llu and %llu overlap",
					   (unsigned long long)fs->chunks[i - 1].startino,
					   (unsigned long long)fs->chunks[i].startino);
	return 0;
}
