/* SPDX-License-Identifier: MIT */
/*
 * FIEMAP backend: the extent map of files on a mounted file system (XFS,
 * ext4, anything with FIEMAP), asked of the kernel with FIEMAP_FLAG_SYNC so
 * delayed allocations are on disk first. Flags are kept as the kernel gives
 * them; extents are the same type the XFS decoder produces.
 */
#ifndef AISIO_EXTENT_FIEMAP_H
#define AISIO_EXTENT_FIEMAP_H

#include "extent/extmap.h"

/**
 * aisio_fiemap_fd - append the extents of open file @fd to @map; *@first
 * and *@count get their range. Returns 0, -EOPNOTSUPP (no FIEMAP on this
 * file system), -ENOMEM, or -errno of the ioctl.
 */
int aisio_fiemap_fd(struct aisio_extmap *map, int fd, uint64_t *first, uint32_t *count);

/**
 * aisio_fiemap_walk - build @map (initialised here) for the tree at @path
 * (a directory, walked without following symlinks or crossing mount
 * points, or a single file): one node per entry, extents of regular files
 * and directories. Returns 0 or -errno (message in aisio_errmsg()).
 */
int aisio_fiemap_walk(const char *path, struct aisio_extmap *map);

#endif
