/* SPDX-License-Identifier: MIT */
/* Superblock: read, verify, refuse what the decoder cannot read. Shared helpers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"
#include "xfs/crc32c.h"
#include "xfs/xfs_priv.h"

#define XFS_INCOMPAT_KNOWN                                                                   \
	(XFS_SB_FEAT_INCOMPAT_FTYPE | XFS_SB_FEAT_INCOMPAT_SPINODES |                        \
	 XFS_SB_FEAT_INCOMPAT_META_UUID | XFS_SB_FEAT_INCOMPAT_BIGTIME |                     \
	 XFS_SB_FEAT_INCOMPAT_NREXT64 | XFS_SB_FEAT_INCOMPAT_EXCHRANGE |                     \
	 XFS_SB_FEAT_INCOMPAT_PARENT)

void xfs_fail(struct aisio_xfs *fs, int err)
{
	if (fs->err)
		return;
	fs->err = err;
	snprintf(fs->errmsg, sizeof(fs->errmsg), "%s", aisio_errmsg());
}

int xfs_corrupt(struct aisio_xfs *fs, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return aisio_err(-EUCLEAN, "corrupt XFS metadata: %s", msg);
}

void xfs_warn(struct aisio_xfs *fs, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fs->opts.warn)
		fs->opts.warn(fs->opts.warn_arg, msg);
	else
		fprintf(stderr, "aisio xfs: warning: %s\n", msg);
}

int xfs_crc_ok(struct aisio_xfs *fs, const void *buf, size_t len, size_t off)
{
	return (fs->opts.flags & AISIO_XFS_NOCRC) || aisio_xfs_cksum_ok(buf, len, off);
}

static uint64_t seen_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

int xfs_seen_add(struct aisio_xfs *fs, uint64_t blk, const char *what)
{
	uint64_t key = blk + 1, i;

	if ((fs->nseen + 1) * 2 > fs->seen_cap) {
		uint64_t ncap = fs->seen_cap ? fs->seen_cap * 2 : 1024;
		uint64_t *n = calloc(ncap, sizeof(*n));
		if (!n)
			return aisio_err(-ENOMEM, "xfs: out of memory");
		for (uint64_t j = 0; j < fs->seen_cap; j++) {
			if (!fs->seen[j])
				continue;
			for (i = seen_hash(fs->seen[j]) & (ncap - 1); n[i]; i = (i + 1) & (ncap - 1))
				;
			n[i] = fs->seen[j];
		}
		free(fs->seen);
		fs->seen = n;
		fs->seen_cap = ncap;
	}
	for (i = seen_hash(key) & (fs->seen_cap - 1); fs->seen[i]; i = (i + 1) & (fs->seen_cap - 1))
		if (fs->seen[i] == key)
			return xfs_corrupt(fs, "%s block at byte %llu is referenced twice (B+tree loop)",
					   what, (unsigned long long)blk);
	fs->seen[i] = key;
	fs->nseen++;
	return 0;
}

uint32_t xfs_ag_len(const struct aisio_xfs *fs, uint32_t agno)
{
	uint64_t start = (uint64_t)agno * fs->geom.agblocks;
	uint64_t left = fs->geom.dblocks - start;

	return left < fs->geom.agblocks ? (uint32_t)left : fs->geom.agblocks;
}

int xfs_fsb_to_off(struct aisio_xfs *fs, uint64_t fsb, uint64_t len, uint64_t *off)
{
	uint64_t agno = fsb >> fs->agblklog;
	uint64_t agbno = fsb & ((1ull << fs->agblklog) - 1);

	if (agno >= fs->geom.agcount || agbno >= xfs_ag_len(fs, (uint32_t)agno) ||
	    len > xfs_ag_len(fs, (uint32_t)agno) - agbno)
		return xfs_corrupt(fs, "block %llu (AG %llu block %llu, %llu blocks) is outside the file system",
				   (unsigned long long)fsb, (unsigned long long)agno,
				   (unsigned long long)agbno, (unsigned long long)len);
	*off = xfs_agb_to_off(fs, (uint32_t)agno, agbno);
	return 0;
}

/* @v == 2^@lg, for a log read from disk (any value). */
static int pow2_is(uint64_t v, uint32_t lg)
{
	return lg < 32 && v == 1ull << lg;
}

static int is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static uint32_t log2_ceil(uint64_t v)
{
	uint32_t l = 0;

	while ((1ull << l) < v)
		l++;
	return l;
}

static int sb_check(struct aisio_xfs *fs, const struct xfs_dsb *sb, uint64_t devsize)
{
	struct aisio_xfs_geom *g = &fs->geom;
	uint32_t ver = aisio_be16_to_cpu(sb->sb_versionnum) & XFS_SB_VERSION_NUMBITS;
	uint32_t incompat = aisio_be32_to_cpu(sb->sb_features_incompat);

	if (aisio_be32_to_cpu(sb->sb_magicnum) != XFS_SB_MAGIC)
		return aisio_err(-EINVAL, "not an XFS file system (no XFSB magic in sector 0)");
	if (ver != XFS_SB_VERSION_5)
		return aisio_err(-EOPNOTSUPP,
				 "XFS superblock version %u is not supported: only version 5 "
				 "(CRC-enabled, mkfs.xfs -m crc=1) file systems can be decoded",
				 ver);
	g->blocksize = aisio_be32_to_cpu(sb->sb_blocksize);
	g->sectsize = aisio_be16_to_cpu(sb->sb_sectsize);
	g->inodesize = aisio_be16_to_cpu(sb->sb_inodesize);
	g->agblocks = aisio_be32_to_cpu(sb->sb_agblocks);
	g->agcount = aisio_be32_to_cpu(sb->sb_agcount);
	g->dblocks = aisio_be64_to_cpu(sb->sb_dblocks);
	g->rblocks = aisio_be64_to_cpu(sb->sb_rblocks);
	g->rootino = aisio_be64_to_cpu(sb->sb_rootino);
	g->features_incompat = incompat;
	g->features_ro_compat = aisio_be32_to_cpu(sb->sb_features_ro_compat);
	memcpy(g->label, sb->sb_fname, 12);
	g->label[12] = '\0';
	fs->blocklog = sb->sb_blocklog;
	fs->agblklog = sb->sb_agblklog;
	fs->inopblog = sb->sb_inopblog;

	if (!is_pow2(g->sectsize) || g->sectsize < 512 || g->sectsize > 32768 ||
	    !pow2_is(g->sectsize, sb->sb_sectlog))
		return xfs_corrupt(fs, "superblock sector size %u (log %u)", g->sectsize, sb->sb_sectlog);
	if (!is_pow2(g->blocksize) || g->blocksize < 512 || g->blocksize > 65536 ||
	    !pow2_is(g->blocksize, fs->blocklog) || g->blocksize < g->sectsize)
		return xfs_corrupt(fs, "superblock block size %u (log %u)", g->blocksize, fs->blocklog);
	if (!is_pow2(g->inodesize) || g->inodesize < 512 || g->inodesize > 2048 ||
	    !pow2_is(g->inodesize, sb->sb_inodelog) || g->inodesize > g->blocksize)
		return xfs_corrupt(fs, "superblock inode size %u", g->inodesize);
	fs->inopblock = g->blocksize / g->inodesize;
	if (aisio_be16_to_cpu(sb->sb_inopblock) != fs->inopblock || !pow2_is(fs->inopblock, fs->inopblog))
		return xfs_corrupt(fs, "superblock inodes per block %u", aisio_be16_to_cpu(sb->sb_inopblock));
	if (g->agblocks < 64 || fs->agblklog != log2_ceil(g->agblocks) || fs->agblklog > 31 ||
	    g->agcount == 0 || g->agcount > 1000000)
		return xfs_corrupt(fs, "superblock AG geometry: %u AGs of %u blocks (log %u)",
				   g->agcount, g->agblocks, fs->agblklog);
	if (g->dblocks > (uint64_t)g->agcount * g->agblocks ||
	    g->dblocks <= (uint64_t)(g->agcount - 1) * g->agblocks)
		return xfs_corrupt(fs, "superblock says %llu blocks in %u AGs of %u",
				   (unsigned long long)g->dblocks, g->agcount, g->agblocks);
	if (fs->blocklog + sb->sb_dirblklog > 16)
		return xfs_corrupt(fs, "directory block size 2^%u", fs->blocklog + sb->sb_dirblklog);
	fs->dirblkfsbs = 1u << sb->sb_dirblklog;
	g->dirblksize = g->blocksize << sb->sb_dirblklog;
	if (sb->sb_inprogress)
		return aisio_err(-EUCLEAN, "mkfs.xfs did not finish on this file system (sb_inprogress)");

	if (incompat & XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR)
		return aisio_err(-EOPNOTSUPP, "XFS is marked as needing repair; run xfs_repair first");
	if (incompat & ~XFS_INCOMPAT_KNOWN)
		return aisio_err(-EOPNOTSUPP,
				 "XFS has incompatible features 0x%x this decoder does not know "
				 "(known: 0x%x); refusing to read it",
				 incompat & ~XFS_INCOMPAT_KNOWN, XFS_INCOMPAT_KNOWN);
	fs->ftype = !!(incompat & XFS_SB_FEAT_INCOMPAT_FTYPE);
	fs->spinodes = !!(incompat & XFS_SB_FEAT_INCOMPAT_SPINODES);
	fs->nrext64 = !!(incompat & XFS_SB_FEAT_INCOMPAT_NREXT64);
	fs->reflink = !!(g->features_ro_compat & XFS_SB_FEAT_RO_COMPAT_REFLINK);
	if (incompat & XFS_SB_FEAT_INCOMPAT_META_UUID)
		memcpy(fs->uuid, sb->sb_meta_uuid, 16);
	else
		memcpy(fs->uuid, sb->sb_uuid, 16);
	if (g->rootino >> (fs->agblklog + fs->inopblog) >= g->agcount)
		return xfs_corrupt(fs, "root inode number %llu", (unsigned long long)g->rootino);
	if (g->dblocks << fs->blocklog > devsize)
		return aisio_err(-EIO,
				 "truncated image: the superblock says %llu bytes, the device has %llu",
				 (unsigned long long)(g->dblocks << fs->blocklog),
				 (unsigned long long)devsize);
	if (g->rblocks)
		xfs_warn(fs, "file system has a realtime section (%llu blocks): realtime files are "
			     "listed with the REALTIME flag and offsets on the realtime device",
			 (unsigned long long)g->rblocks);
	return 0;
}

int aisio_xfs_open(struct aisio_xfs_rd *rd, const struct aisio_xfs_opts *opts,
		   struct aisio_xfs **out)
{
	struct aisio_xfs *fs = calloc(1, sizeof(*fs));
	uint8_t *buf = NULL;
	int err;

	if (!fs) {
		aisio_xfs_rd_close(rd);
		return aisio_err(-ENOMEM, "xfs: out of memory");
	}
	fs->rd = rd;
	fs->lba_size = aisio_xfs_rd_lba_size(rd);
	if (opts)
		fs->opts = *opts;
	buf = malloc(32768);
	if (!buf) {
		err = aisio_err(-ENOMEM, "xfs: out of memory");
		goto err_close;
	}
	err = aisio_xfs_rd_read(rd, 0, 512, buf);
	if (err)
		goto err_close;
	err = sb_check(fs, (const struct xfs_dsb *)buf, aisio_xfs_rd_size(rd));
	if (err)
		goto err_close;
	err = aisio_xfs_rd_read(rd, 0, fs->geom.sectsize, buf);
	if (err)
		goto err_close;
	if (!xfs_crc_ok(fs, buf, fs->geom.sectsize, XFS_SB_CRC_OFF)) {
		err = aisio_err(-EBADMSG, "corrupt XFS metadata: superblock CRC mismatch");
		goto err_close;
	}
	err = xfs_log_check(fs);
	if (err)
		goto err_close;
	free(buf);
	*out = fs;
	return 0;

err_close:
	free(buf);
	aisio_xfs_close(fs);
	return err;
}

void aisio_xfs_close(struct aisio_xfs *fs)
{
	if (!fs)
		return;
	aisio_xfs_rd_close(fs->rd);
	free(fs->chunks);
	free(fs->xi);
	free(fs->dents);
	for (uint64_t i = 0; i < fs->njobs; i++)
		free(fs->jobs[i].recs);
	free(fs->jobs);
	free(fs->seen);
	free(fs->shared);
	free(fs);
}

const struct aisio_xfs_geom *aisio_xfs_geom(const struct aisio_xfs *fs)
{
	return &fs->geom;
}

struct aisio_xfs_rd *aisio_xfs_reader(struct aisio_xfs *fs)
{
	return fs->rd;
}

int xfs_run_pass(struct aisio_xfs *fs, int (*refill)(void *arg))
{
	int err;

	fs->refill_pos = 0;
	aisio_xfs_rd_set_refill(fs->rd, refill, fs);
	err = aisio_xfs_rd_run(fs->rd);
	aisio_xfs_rd_set_refill(fs->rd, NULL, NULL);
	if (err)
		return err;
	if (fs->err)
		return aisio_err(fs->err, "%s", fs->errmsg);
	return 0;
}
