/* SPDX-License-Identifier: MIT */
/* Printing extent maps, shared by 'aisio xfs' and 'aisio extents'. */
#ifndef AISIO_TOOLS_EXTPRINT_H
#define AISIO_TOOLS_EXTPRINT_H

#include <stdio.h>

#include "extent/extmap.h"

/* Geometry for the AG columns of the bmap listing; agblocks 0 leaves them out. */
struct extprint_geo {
	uint32_t blksize;
	uint32_t agblocks;
};

/* xfs_bmap -v style listing of node @idx (512-byte units), plus device byte offset and LBA;
 * headed by @label, or by the node's path when @label is NULL. */
void extprint_bmap(FILE *f, const struct aisio_extmap *map, uint32_t idx,
		   const struct extprint_geo *geo, const char *label);

/* One line per node of the subtree at @idx: PATH TAB type TAB size TAB off,len,dev,flags;... */
void extprint_raw(FILE *f, const struct aisio_extmap *map, uint32_t idx);

/* Visit the subtree at @idx depth-first (children in name order), as find(1) does. */
void extprint_walk(const struct aisio_extmap *map, uint32_t idx,
		   void (*fn)(const struct aisio_extmap *map, uint32_t idx, void *arg), void *arg);

#endif
