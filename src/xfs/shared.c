/* SPDX-License-Identifier: MIT */
/*
 * Reflink: extents of files flagged XFS_DIFLAG2_REFLINK are split where the
 * refcount B+tree says blocks have more than one owner, and those pieces
 * get AISIO_EXT_SHARED, as FIEMAP reports them.
 */
#include "util/err.h"
#include "xfs/xfs_priv.h"

/* First shared range that ends after @off. */
static uint64_t shared_first(const struct aisio_xfs *fs, uint64_t off)
{
	uint64_t lo = 0, hi = fs->nshared;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (fs->shared[mid].off + fs->shared[mid].len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int xi_overlaps(const struct aisio_xfs *fs, const struct xfs_xi *xi)
{
	for (uint32_t i = 0; i < xi->ext_count; i++) {
		const struct aisio_extent *e = &fs->map->exts[xi->ext_first + i];
		uint64_t s = shared_first(fs, e->dev_off);
		if (s < fs->nshared && fs->shared[s].off < e->dev_off + e->len)
			return 1;
	}
	return 0;
}

static int split_one(struct aisio_xfs *fs, struct xfs_xi *xi)
{
	uint64_t first = fs->map->nexts, old = xi->ext_first;
	int err;

	for (uint32_t i = 0; i < xi->ext_count; i++) {
		struct aisio_extent e = fs->map->exts[old + i];
		uint64_t end = e.dev_off + e.len, pos = e.dev_off;
		uint64_t s = shared_first(fs, pos);

		while (pos < end) {
			struct aisio_extent p = e;
			uint64_t stop;

			if (s < fs->nshared && fs->shared[s].off <= pos) {
				stop = fs->shared[s].off + fs->shared[s].len;
				p.flags |= AISIO_EXT_SHARED;
				s++;
			} else {
				stop = s < fs->nshared ? fs->shared[s].off : end;
			}
			if (stop > end)
				stop = end;
			p.off = e.off + (pos - e.dev_off);
			p.dev_off = pos;
			p.len = stop - pos;
			if ((err = aisio_extmap_add_extent(fs->map, &p)))
				return err;
			pos = stop;
		}
	}
	if (fs->map->nexts - first > UINT32_MAX)
		return xfs_corrupt(fs, "inode %llu: too many extents", (unsigned long long)xi->ino);
	xi->ext_first = first;
	xi->ext_count = (uint32_t)(fs->map->nexts - first);
	return 0;
}

int xfs_mark_shared(struct aisio_xfs *fs)
{
	int err;

	if (!fs->nshared)
		return 0;
	for (uint64_t i = 0; i < fs->nxi; i++) {
		struct xfs_xi *xi = &fs->xi[i];
		if (!(xi->nflags & AISIO_NODE_REFLINK) || (xi->nflags & AISIO_NODE_REALTIME) ||
		    !xi->ext_count || !xi_overlaps(fs, xi))
			continue;
		if ((err = split_one(fs, xi)))
			return err;
	}
	return 0;
}
