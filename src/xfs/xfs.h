/* SPDX-License-Identifier: MIT */
/*
 * XFS on-disk decoder: reads a v5 (CRC) XFS file system through the aisio
 * I/O API, without the kernel, and builds the extent map (path -> inode ->
 * extents) of every file. Every metadata block read is CRC-verified;
 * corrupt metadata fails the index with -EUCLEAN (-EBADMSG for a CRC
 * mismatch) and a message naming the structure, never a crash.
 */
#ifndef AISIO_XFS_XFS_H
#define AISIO_XFS_XFS_H

#include <stdint.h>

#include "extent/extmap.h"
#include "xfs/reader.h"

#define AISIO_XFS_FORCE 0x1 /* open a mounted file system or one with a dirty log (warns) */
#define AISIO_XFS_NOCRC 0x2 /* skip CRC checks, so parsers see corrupt data (fuzzing) */

struct aisio_xfs_opts {
	uint32_t flags; /* AISIO_XFS_* */
	/* Called with each warning; NULL prints "aisio xfs: warning: ..." to stderr. */
	void (*warn)(void *arg, const char *msg);
	void *warn_arg;
};

/* What the superblock says, for the CLI. */
struct aisio_xfs_geom {
	uint32_t blocksize;
	uint32_t sectsize;
	uint32_t inodesize;
	uint32_t agblocks;
	uint32_t agcount;
	uint32_t dirblksize;
	uint64_t dblocks;
	uint64_t rblocks;
	uint64_t rootino;
	uint32_t features_incompat;
	uint32_t features_ro_compat;
	char label[13];
};

struct aisio_xfs;

/**
 * aisio_xfs_open - read and check the superblock and the log through @rd
 * (the file system takes @rd over and closes it). Refuses (-EOPNOTSUPP)
 * v4 file systems and unknown incompatible features, (-EBUSY) a dirty log
 * unless AISIO_XFS_FORCE. Returns 0, -EUCLEAN, -EBADMSG, -EIO, -ENOMEM.
 */
int aisio_xfs_open(struct aisio_xfs_rd *rd, const struct aisio_xfs_opts *opts,
		   struct aisio_xfs **out);

void aisio_xfs_close(struct aisio_xfs *fs);

const struct aisio_xfs_geom *aisio_xfs_geom(const struct aisio_xfs *fs);

/**
 * aisio_xfs_index - walk the AG headers, the inode B+trees, every allocated
 * inode, block map B+trees and directories, and fill @map (initialised here;
 * free with aisio_extmap_free). Returns 0, -EUCLEAN, -EBADMSG, -EIO, -ENOMEM.
 */
int aisio_xfs_index(struct aisio_xfs *fs, struct aisio_extmap *map);

/** aisio_xfs_reader - the reader the file system reads through (for statistics). */
struct aisio_xfs_rd *aisio_xfs_reader(struct aisio_xfs *fs);

/**
 * aisio_xfs_mounted - is the file or block device at @path mounted (directly
 * or through a loop device)? Returns 1 and writes the mount point to @where,
 * 0 if not, -errno if it cannot tell.
 */
int aisio_xfs_mounted(const char *path, char *where, size_t len);

#endif
