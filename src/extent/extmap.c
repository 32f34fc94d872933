/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "extent/extmap.h"
#include "util/array.h"
#include "util/err.h"

void aisio_extmap_init(struct aisio_extmap *map, uint32_t lba_size, uint32_t blksize)
{
	memset(map, 0, sizeof(*map));
	map->lba_size = lba_size;
	map->blksize = blksize;
}

void aisio_extmap_free(struct aisio_extmap *map)
{
	free(map->nodes);
	free(map->exts);
	free(map->names);
	memset(map, 0, sizeof(*map));
}

int aisio_extmap_add_extent(struct aisio_extmap *map, const struct aisio_extent *e)
{
	int err = aisio_array_grow((void **)&map->exts, &map->exts_cap, map->nexts + 1, sizeof(*e),
				   "extent map");

	if (err)
		return err;
	map->exts[map->nexts++] = *e;
	return 0;
}

int aisio_extmap_add_name(struct aisio_extmap *map, const char *name, size_t len, uint32_t *off)
{
	int err;

	if (len > UINT16_MAX)
		return aisio_err(-ENAMETOOLONG, "extent map: name of %zu bytes", len);
	if (map->names_len + len > UINT32_MAX)
		return aisio_err(-EOVERFLOW, "extent map: name pool above 4 GiB");
	err = aisio_array_grow((void **)&map->names, &map->names_cap, map->names_len + len, 1,
			       "extent map");
	if (err)
		return err;
	memcpy(map->names + map->names_len, name, len);
	*off = (uint32_t)map->names_len;
	map->names_len += len;
	return 0;
}

int aisio_extmap_add_node(struct aisio_extmap *map, uint32_t *idx)
{
	uint64_t cap = map->nodes_cap;
	int err;

	if (map->nnodes == UINT32_MAX)
		return aisio_err(-EOVERFLOW, "extent map: too many files");
	err = aisio_array_grow((void **)&map->nodes, &cap, (uint64_t)map->nnodes + 1,
			       sizeof(*map->nodes), "extent map");
	if (err)
		return err;
	map->nodes_cap = (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap);
	memset(&map->nodes[map->nnodes], 0, sizeof(map->nodes[0]));
	*idx = map->nnodes++;
	return 0;
}

static int name_cmp(const struct aisio_extmap *map, const struct aisio_extmap_node *n,
		    const char *s, size_t len)
{
	size_t m = n->name_len < len ? n->name_len : len;
	int c = memcmp(map->names + n->name_off, s, m);

	if (c)
		return c;
	return n->name_len < len ? -1 : n->name_len > len;
}

long aisio_extmap_lookup(const struct aisio_extmap *map, const char *path)
{
	uint32_t cur = 0;

	if (!map->nnodes)
		return -ENOENT;
	while (*path) {
		const char *e;
		size_t len;
		uint32_t lo, hi;
		const struct aisio_extmap_node *d = &map->nodes[cur];

		while (*path == '/')
			path++;
		if (!*path)
			break;
		e = strchr(path, '/');
		len = e ? (size_t)(e - path) : strlen(path);
		if (len == 1 && path[0] == '.') {
			path += len;
			continue;
		}
		if (len == 2 && path[0] == '.' && path[1] == '.') {
			cur = d->parent;
			path += len;
			continue;
		}
		if (!S_ISDIR(d->mode))
			return -ENOTDIR;
		lo = d->child_first;
		hi = d->child_first + d->child_count;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			int c = name_cmp(map, &map->nodes[mid], path, len);
			if (c == 0) {
				lo = mid;
				break;
			}
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= d->child_first + d->child_count ||
		    name_cmp(map, &map->nodes[lo], path, len))
			return -ENOENT;
		cur = lo;
		path += len;
	}
	return cur;
}

int aisio_extmap_path(const struct aisio_extmap *map, uint32_t idx, char *buf, size_t len)
{
	size_t pos = len;
	uint32_t depth = 0;

	if (len < 2)
		return -ENAMETOOLONG;
	buf[--pos] = '\0';
	while (idx != 0 && depth++ < map->nnodes) {
		const struct aisio_extmap_node *n = &map->nodes[idx];
		if (pos < (size_t)n->name_len + 1)
			return -ENAMETOOLONG;
		pos -= n->name_len;
		memcpy(buf + pos, map->names + n->name_off, n->name_len);
		buf[--pos] = '/';
		idx = n->parent;
	}
	if (pos == len - 1)
		buf[--pos] = '/';
	memmove(buf, buf + pos, len - pos);
	return (int)(len - pos - 1);
}

static int node_cmp(const void *a, const void *b, void *arg)
{
	const struct aisio_extmap *map = arg;
	const struct aisio_extmap_node *y = b;

	return name_cmp(map, a, map->names + y->name_off, y->name_len);
}

void aisio_extmap_sort_children(struct aisio_extmap *map, uint32_t first, uint32_t n)
{
	if (n > 1)
		qsort_r(map->nodes + first, n, sizeof(map->nodes[0]), node_cmp, map);
}

size_t aisio_extmap_bytes(const struct aisio_extmap *map)
{
	return (size_t)map->nodes_cap * sizeof(*map->nodes) + map->exts_cap * sizeof(*map->exts) +
	       map->names_cap;
}

char aisio_extmap_type_char(uint16_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return 'd';
	case S_IFREG:
		return '-';
	case S_IFLNK:
		return 'l';
	case S_IFCHR:
		return 'c';
	case S_IFBLK:
		return 'b';
	case S_IFIFO:
		return 'p';
	case S_IFSOCK:
		return 's';
	}
	return '?';
}
