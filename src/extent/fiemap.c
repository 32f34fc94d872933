/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <aisio/aisio.h>

#include "extent/fiemap.h"
#include "util/err.h"

#define FIEMAP_BATCH 512

int aisio_fiemap_fd(struct aisio_extmap *map, int fd, uint64_t *first, uint32_t *count)
{
	size_t sz = sizeof(struct fiemap) + FIEMAP_BATCH * sizeof(struct fiemap_extent);
	struct fiemap *fm = malloc(sz);
	uint64_t start = 0;
	uint32_t flags = FIEMAP_FLAG_SYNC;
	int err = 0, last = 0;

	if (!fm)
		return aisio_err(-ENOMEM, "fiemap: out of memory");
	*first = map->nexts;
	*count = 0;
	while (!last) {
		memset(fm, 0, sizeof(*fm));
		fm->fm_start = start;
		fm->fm_length = FIEMAP_MAX_OFFSET - start;
		fm->fm_flags = flags;
		fm->fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm) < 0) {
			err = -errno;
			err = aisio_err(err == -ENOTTY ? -EOPNOTSUPP : err, "FIEMAP failed: %s",
					strerror(-err));
			break;
		}
		flags = 0; /* synced once is enough */
		if (fm->fm_mapped_extents == 0)
			break;
		for (uint32_t i = 0; i < fm->fm_mapped_extents; i++) {
			const struct fiemap_extent *fe = &fm->fm_extents[i];
			struct aisio_extent e = { .off = fe->fe_logical, .len = fe->fe_length,
						  .dev_off = fe->fe_physical, .flags = fe->fe_flags };
			if ((err = aisio_extmap_add_extent(map, &e)))
				goto out;
			(*count)++;
			start = fe->fe_logical + fe->fe_length;
			if (fe->fe_flags & FIEMAP_EXTENT_LAST)
				last = 1;
		}
	}
out:
	free(fm);
	return err;
}

struct ent {
	char *name;
	uint16_t len;
};

static int ent_cmp(const void *x, const void *y)
{
	const struct ent *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->name, b->name, n);

	return c ? c : (a->len > b->len) - (a->len < b->len);
}

static void node_stat(struct aisio_extmap_node *n, const struct stat *st)
{
	n->ino = st->st_ino;
	n->size = (uint64_t)st->st_size;
	n->mode = (uint16_t)st->st_mode;
	n->nlink = (uint32_t)st->st_nlink;
}

/* Extents of node @idx, opened relative to @dfd (regular files and directories). */
static int node_extents(struct aisio_extmap *map, uint32_t idx, int dfd, const char *name)
{
	struct aisio_extmap_node *n = &map->nodes[idx];
	uint64_t first;
	uint32_t count;
	int fd, err;

	if (!S_ISREG(n->mode))
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return aisio_err(-errno, "cannot open %s: %s", name, strerror(errno));
	err = aisio_fiemap_fd(map, fd, &first, &count);
	close(fd);
	if (err)
		return aisio_err(err, "%s: %s", name, aisio_errmsg());
	map->nodes[idx].ext_first = first;
	map->nodes[idx].ext_count = count;
	return 0;
}

static int walk_dir(struct aisio_extmap *map, uint32_t n, const char *root, dev_t dev)
{
	char path[4096];
	struct ent *ents = NULL;
	size_t nents = 0, cap = 0;
	struct dirent *de;
	uint32_t first;
	DIR *d;
	int dfd, err = 0, len;

	len = aisio_extmap_path(map, n, path + strlen(root), sizeof(path) - strlen(root));
	if (len < 0)
		return aisio_err(-ENAMETOOLONG, "fiemap walk: path too long");
	memcpy(path, root, strlen(root));
	d = opendir(path);
	if (!d)
		return aisio_err(-errno, "cannot open directory %s: %s", path, strerror(errno));
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (nents == cap) {
			struct ent *ne = realloc(ents, (cap = cap ? cap * 2 : 64) * sizeof(*ents));
			if (!ne) {
				err = aisio_err(-ENOMEM, "fiemap walk: out of memory");
				goto out;
			}
			ents = ne;
		}
		ents[nents].name = strndup(de->d_name, l);
		ents[nents].len = (uint16_t)l;
		if (!ents[nents].name) {
			err = aisio_err(-ENOMEM, "fiemap walk: out of memory");
			goto out;
		}
		nents++;
	}
	if (nents > 1)
		qsort(ents, nents, sizeof(*ents), ent_cmp);
	first = map->nnodes;
	for (size_t i = 0; i < nents; i++) {
		struct stat st;
		uint32_t idx;

		if (fstatat(dfd, ents[i].name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			err = aisio_err(-errno, "cannot stat %s/%s: %s", path, ents[i].name,
					strerror(errno));
			goto out;
		}
		if ((err = aisio_extmap_add_node(map, &idx)))
			goto out;
		node_stat(&map->nodes[idx], &st);
		map->nodes[idx].parent = n;
		if ((err = aisio_extmap_add_name(map, ents[i].name, ents[i].len,
						 &map->nodes[idx].name_off)))
			goto out;
		map->nodes[idx].name_len = ents[i].len;
		if (S_ISDIR(st.st_mode) && st.st_dev != dev)
			map->nodes[idx].flags |= AISIO_NODE_OTHER_FS;
		if ((err = node_extents(map, idx, dfd, ents[i].name)))
			goto out;
	}
	map->nodes[n].child_first = first;
	map->nodes[n].child_count = map->nnodes - first;
out:
	for (size_t i = 0; i < nents; i++)
		free(ents[i].name);
	free(ents);
	closedir(d);
	return err;
}

int aisio_fiemap_walk(const char *path, struct aisio_extmap *map)
{
	struct stat st;
	uint32_t idx;
	int err;

	aisio_extmap_init(map, 512, 0);
	if (lstat(path, &st) < 0)
		return aisio_err(-errno, "cannot stat %s: %s", path, strerror(errno));
	map->blksize = (uint32_t)st.st_blksize;
	if ((err = aisio_extmap_add_node(map, &idx)))
		goto err_free;
	node_stat(&map->nodes[0], &st);
	if (S_ISREG(st.st_mode)) {
		int fd = open(path, O_RDONLY | O_NOCTTY);
		uint64_t first;
		uint32_t count;
		if (fd < 0) {
			err = aisio_err(-errno, "cannot open %s: %s", path, strerror(errno));
			goto err_free;
		}
		err = aisio_fiemap_fd(map, fd, &first, &count);
		close(fd);
		if (err)
			goto err_free;
		map->nodes[0].ext_first = first;
		map->nodes[0].ext_count = count;
		return 0;
	}
	for (uint32_t n = 0; n < map->nnodes; n++) {
		if (!S_ISDIR(map->nodes[n].mode) || (map->nodes[n].flags & AISIO_NODE_OTHER_FS))
			continue;
		if ((err = walk_dir(map, n, path, st.st_dev)))
			goto err_free;
	}
	return 0;

err_free:
	aisio_extmap_free(map);
	return err;
}
