/* SPDX-License-Identifier: MIT */
/* Decoder state shared by the files of src/xfs (not an interface). */
#ifndef AISIO_XFS_PRIV_H
#define AISIO_XFS_PRIV_H

#include <errno.h>
#include <stdint.h>

#include "xfs/xfs.h"
#include "xfs/xfs_format.h"

#ifndef EUCLEAN
#define EUCLEAN 117
#endif

/* An inode chunk from the inode B+tree: 64 inodes, holes for sparse chunks. */
struct xfs_chunk {
	uint64_t startino;
	uint64_t present; /* bit i: inode i exists on disk (not in a sparse hole) */
	uint64_t alloc;   /* bit i: inode i is in use */
	uint32_t first_xi; /* index of its first allocated inode in fs->xi */
};

/* One allocated inode, as the index needs it. */
struct xfs_xi {
	uint64_t ino;
	uint64_t size;
	uint64_t nblocks;
	uint64_t ext_first;
	uint32_t ext_count;
	uint32_t nlink;
	uint32_t dent_first;
	uint32_t dent_count;
	uint32_t nflags; /* AISIO_NODE_* */
	uint16_t mode;
	uint8_t format;
	uint8_t visited;
};

/* One directory entry ("." and ".." excluded). */
struct xfs_dent {
	uint64_t ino;
	uint32_t dir_xi;
	uint32_t name_off; /* in the extent map's name pool */
	uint16_t name_len;
	uint8_t ftype;
};

/* A range of data blocks shared by several files (refcount B+tree). */
struct xfs_shared {
	uint64_t off; /* device byte offset */
	uint64_t len; /* bytes */
};

/* Block-map B+tree walk of one inode: leaves collected, sorted afterwards. */
struct xfs_btjob {
	uint32_t xi;
	uint32_t nblocks; /* B+tree blocks visited */
	struct aisio_extent *recs;
	uint64_t nrecs, cap;
	uint64_t nrecs_expected;
};

struct aisio_xfs {
	struct aisio_xfs_rd *rd;
	struct aisio_xfs_opts opts;
	struct aisio_xfs_geom geom;
	uint32_t blocklog, agblklog, inopblog, inopblock, dirblkfsbs;
	uint8_t uuid[16]; /* metadata UUID every block header carries */
	int ftype, spinodes, nrext64;
	uint32_t lba_size;

	int err; /* first error of an asynchronous step */
	char errmsg[512];

	struct xfs_chunk *chunks;
	uint64_t nchunks, chunks_cap;
	struct xfs_xi *xi;
	uint64_t nxi;
	struct xfs_dent *dents;
	uint64_t ndents, dents_cap;
	struct xfs_btjob *jobs;
	uint64_t njobs, jobs_cap;
	struct xfs_shared *shared; /* blocks with refcount > 1 (reflink), sorted */
	uint64_t nshared, shared_cap;
	int reflink;
	uint64_t *seen; /* open-addressed set of B+tree block numbers (loop detection) */
	uint64_t seen_cap, nseen;
	struct aisio_extmap *map;
	uint64_t refill_pos; /* next chunk (inode scan) or inode (directory scan) to queue */
};

/* Record the first failure of an asynchronous step (keeps its message). */
void xfs_fail(struct aisio_xfs *fs, int err);
int xfs_corrupt(struct aisio_xfs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xfs_warn(struct aisio_xfs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int xfs_crc_ok(struct aisio_xfs *fs, const void *buf, size_t len, size_t off);
#include "util/array.h"
/* Growable arrays of the decoder. */
/*
 * One batched read pass: @refill queues reads (from fs->refill_pos, reset
 * here) until the reader has run dry. Returns 0, the reader's error, or
 * the decoder's fs->err with its message.
 */
int xfs_run_pass(struct aisio_xfs *fs, int (*refill)(void *arg));
#define xfs_grow(p, cap, need, elem) aisio_array_grow((p), (cap), (need), (elem), "xfs")
/* Remember a B+tree block; -EUCLEAN if it was seen before (a loop or shared block). */
int xfs_seen_add(struct aisio_xfs *fs, uint64_t blk, const char *what);

static inline uint64_t xfs_agb_to_off(const struct aisio_xfs *fs, uint32_t agno, uint64_t agbno)
{
	return ((uint64_t)agno * fs->geom.agblocks + agbno) << fs->blocklog;
}

/* Filesystem block number (agno << agblklog | agbno) -> byte offset; -EUCLEAN if outside. */
int xfs_fsb_to_off(struct aisio_xfs *fs, uint64_t fsb, uint64_t len, uint64_t *off);
uint32_t xfs_ag_len(const struct aisio_xfs *fs, uint32_t agno);

/* Steps of aisio_xfs_index, in order. */
int xfs_log_check(struct aisio_xfs *fs);
int xfs_scan_inobt(struct aisio_xfs *fs);
int xfs_scan_inodes(struct aisio_xfs *fs);
int xfs_mark_shared(struct aisio_xfs *fs);
int xfs_scan_dirs(struct aisio_xfs *fs);
int xfs_dir_sf_parse(struct aisio_xfs *fs, uint32_t xi, const uint8_t *d, uint64_t len);
int xfs_dir_add(struct aisio_xfs *fs, uint32_t xi, uint64_t ino, const uint8_t *name,
		uint32_t len, uint8_t ftype);
int xfs_build_tree(struct aisio_xfs *fs);

#endif
