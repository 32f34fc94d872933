/* SPDX-License-Identifier: MIT */
/*
 * From inodes and directory entries to the extent map: breadth-first from
 * the root, children sorted by name. A directory reached twice is a loop;
 * an entry naming an inode the inode B+tree does not hold is corruption.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/err.h"
#include "xfs/xfs_priv.h"

static int dent_cmp(const void *x, const void *y, void *arg)
{
	const struct xfs_dent *a = x, *b = y;
	const char *names = arg;
	size_t n;
	int c;

	if (a->dir_xi != b->dir_xi)
		return a->dir_xi < b->dir_xi ? -1 : 1;
	n = a->name_len < b->name_len ? a->name_len : b->name_len;
	c = memcmp(names + a->name_off, names + b->name_off, n);
	if (c)
		return c;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static long xi_find(const struct aisio_xfs *fs, uint64_t ino)
{
	uint64_t lo = 0, hi = fs->nxi;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (fs->xi[mid].ino == ino)
			return (long)mid;
		if (fs->xi[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static uint8_t mode_ftype(uint16_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return 1;
	case S_IFDIR: return 2;
	case S_IFCHR: return 3;
	case S_IFBLK: return 4;
	case S_IFIFO: return 5;
	case S_IFSOCK: return 6;
	case S_IFLNK: return 7;
	}
	return 0;
}

static void node_fill(struct aisio_extmap_node *n, const struct xfs_xi *xi)
{
	n->ino = xi->ino;
	n->size = xi->size;
	n->ext_first = xi->ext_first;
	n->ext_count = xi->ext_count;
	n->mode = xi->mode;
	n->nlink = xi->nlink;
	n->flags = xi->nflags;
}

int xfs_build_tree(struct aisio_xfs *fs)
{
	struct aisio_extmap *map = fs->map;
	uint32_t *node_xi = NULL;
	uint64_t node_xi_cap = 0;
	long root;
	uint32_t idx;
	int err;

	if (fs->ndents > 1)
		qsort_r(fs->dents, fs->ndents, sizeof(*fs->dents), dent_cmp, map->names);
	for (uint64_t i = 0; i < fs->ndents;) {
		uint64_t j = i;
		while (j < fs->ndents && fs->dents[j].dir_xi == fs->dents[i].dir_xi)
			j++;
		fs->xi[fs->dents[i].dir_xi].dent_first = (uint32_t)i;
		fs->xi[fs->dents[i].dir_xi].dent_count = (uint32_t)(j - i);
		i = j;
	}
	root = xi_find(fs, fs->geom.rootino);
	if (root < 0 || !S_ISDIR(fs->xi[root].mode))
		return xfs_corrupt(fs, "root inode %llu is not an allocated directory",
				   (unsigned long long)fs->geom.rootino);
	if ((err = aisio_extmap_add_node(map, &idx)))
		return err;
	node_fill(&map->nodes[idx], &fs->xi[root]);
	fs->xi[root].visited = 1;
	if ((err = xfs_grow((void **)&node_xi, &node_xi_cap, 1, sizeof(*node_xi))))
		return err;
	node_xi[0] = (uint32_t)root;

	for (uint32_t n = 0; n < map->nnodes; n++) {
		const struct xfs_xi *dir = &fs->xi[node_xi[n]];
		uint32_t first = map->nnodes;

		if (!S_ISDIR(dir->mode))
			continue;
		if ((err = xfs_grow((void **)&node_xi, &node_xi_cap,
				    (uint64_t)map->nnodes + dir->dent_count, sizeof(*node_xi))))
			goto out;
		for (uint32_t d = dir->dent_first; d < dir->dent_first + dir->dent_count; d++) {
			const struct xfs_dent *de = &fs->dents[d];
			long c = xi_find(fs, de->ino);
			struct aisio_extmap_node *cn;

			if (c < 0) {
				err = xfs_corrupt(fs, "directory inode %llu: entry '%.*s' names inode %llu, which is not allocated",
						  (unsigned long long)dir->ino, de->name_len,
						  map->names + de->name_off, (unsigned long long)de->ino);
				goto out;
			}
			if (fs->ftype && de->ftype != mode_ftype(fs->xi[c].mode)) {
				err = xfs_corrupt(fs, "directory inode %llu: entry '%.*s' has file type %u, inode %llu has mode 0%o",
						  (unsigned long long)dir->ino, de->name_len,
						  map->names + de->name_off, de->ftype,
						  (unsigned long long)de->ino, fs->xi[c].mode);
				goto out;
			}
			if (S_ISDIR(fs->xi[c].mode)) {
				if (fs->xi[c].visited) {
					err = xfs_corrupt(fs, "directory inode %llu is reached twice (directory loop or hard-linked directory)",
							  (unsigned long long)de->ino);
					goto out;
				}
				fs->xi[c].visited = 1;
			}
			if ((err = aisio_extmap_add_node(map, &idx)))
				goto out;
			cn = &map->nodes[idx];
			node_fill(cn, &fs->xi[c]);
			cn->parent = n;
			cn->name_off = de->name_off;
			cn->name_len = de->name_len;
			node_xi[idx] = (uint32_t)c;
			dir = &fs->xi[node_xi[n]];
		}
		map->nodes[n].child_first = first;
		map->nodes[n].child_count = map->nnodes - first;
	}
	err = 0;
out:
	free(node_xi);
	return err;
}

int aisio_xfs_index(struct aisio_xfs *fs, struct aisio_extmap *map)
{
	int err;

	aisio_extmap_init(map, fs->lba_size ? fs->lba_size : 512, fs->geom.blocksize);
	fs->map = map;
	if ((err = xfs_scan_inobt(fs)) || (err = xfs_scan_inodes(fs)) || (err = xfs_mark_shared(fs)) ||
	    (err = xfs_scan_dirs(fs)) ||
	    (err = xfs_build_tree(fs))) {
		aisio_extmap_free(map);
		fs->map = NULL;
		return err;
	}
	fs->map = NULL;
	return 0;
}
