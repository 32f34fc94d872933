/* SPDX-License-Identifier: MIT */
/* A file's extents as LBA runs of a namespace (runs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file/runs.h"
#include "util/err.h"

int aisio_runs_from_exts(const struct aisio_extent *exts, uint64_t n, uint64_t lba_first,
			 uint64_t nlbas, uint32_t lba_shift, struct aisio_file_run **out,
			 uint32_t *nout)
{
	uint64_t lbs = (uint64_t)1 << lba_shift;
	struct aisio_file_run *r;

	if (n > UINT32_MAX / sizeof(*r))
		return aisio_err(-EFBIG, "%llu extents: too many", (unsigned long long)n);
	r = calloc(n ? n : 1, sizeof(*r));
	if (!r)
		return aisio_err(-ENOMEM, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		const struct aisio_extent *e = &exts[i];

		r[i].off = e->off;
		r[i].len = e->len;
		r[i].flags = e->flags;
		if (e->flags & AISIO_RUNS_NO_LBA)
			continue;
		if (e->dev_off & (lbs - 1)) {
			r[i].flags |= AISIO_EXT_NOT_ALIGNED;
			continue;
		}
		if (e->dev_off >> lba_shift > nlbas ||
		    (e->len + lbs - 1) >> lba_shift > nlbas - (e->dev_off >> lba_shift)) {
			free(r);
			return aisio_err(-EUCLEAN, "an extent at device byte %llu (+%llu) lies past the "
					 "end of the file system's %llu LBAs",
					 (unsigned long long)e->dev_off, (unsigned long long)e->len,
					 (unsigned long long)nlbas);
		}
		r[i].lba = lba_first + (e->dev_off >> lba_shift);
	}
	*out = r;
	*nout = (uint32_t)n;
	return 0;
}

static int has_dotdot(const char *path)
{
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

int aisio_runs_lookup(const struct aisio_extmap *map, const char *path, uint64_t nlbas,
		      uint32_t lba_shift, const char *where, struct aisio_runs_file *out)
{
	const struct aisio_extmap_node *nd;
	long idx;
	int err;

	memset(out, 0, sizeof(*out));
	if (has_dotdot(path))
		return aisio_err(-EXDEV, "'%s': '..' is not taken in a path inside the file system",
				 path);
	idx = aisio_extmap_lookup(map, path);
	if (idx < 0)
		return aisio_err((int)idx, "'%s' in the file system on %s: %s", path, where,
				 strerror((int)-idx));
	nd = &map->nodes[idx];
	if (S_ISDIR(nd->mode))
		return aisio_err(-EISDIR, "'%s' is a directory; map its files one by one", path);
	if (!S_ISREG(nd->mode))
		return aisio_err(-EINVAL, "'%s' is not a regular file", path);
	out->ino = nd->ino;
	out->size = nd->size;
	if (nd->flags & AISIO_NODE_INLINE) {
		out->runs = calloc(1, sizeof(*out->runs));
		if (!out->runs)
			return aisio_err(-ENOMEM, "out of memory");
		out->runs[0] = (struct aisio_file_run){ .len = nd->size,
							.flags = AISIO_EXT_INLINE | AISIO_EXT_LAST };
		out->nruns = nd->size ? 1 : 0;
		return 0;
	}
	err = aisio_runs_from_exts(map->exts + nd->ext_first, nd->ext_count, 0, nlbas, lba_shift,
				   &out->runs, &out->nruns);
	if (err)
		return err;
	if (nd->flags & AISIO_NODE_REALTIME)
		for (uint32_t i = 0; i < out->nruns; i++)
			out->runs[i].flags |= AISIO_EXT_REALTIME;
	return 0;
}
