/* SPDX-License-Identifier: MIT */
/*
 * A file's extents as LBA runs of a namespace (struct aisio_file_run), for
 * homid's extent service and for aisio_file_open() on a local device alike.
 */
#ifndef AISIO_FILE_RUNS_H
#define AISIO_FILE_RUNS_H

#include <stdint.h>

#include <aisio/file.h>

#include "extent/extmap.h"

/* Extent flags that carry no device address the runs could use. */
#define AISIO_RUNS_NO_LBA (AISIO_EXT_UNKNOWN | AISIO_EXT_DELALLOC | AISIO_EXT_INLINE | \
			   AISIO_EXT_ENCODED | AISIO_EXT_ENCRYPTED | AISIO_EXT_NOT_ALIGNED | \
			   AISIO_EXT_REALTIME)

/**
 * aisio_runs_from_exts - runs of @n extents on a file system that starts at
 * namespace LBA @lba_first and spans @nlbas LBAs of 1 << @lba_shift bytes:
 * each run's lba is lba_first + dev_off / LBA size; an extent not aligned
 * to LBAs gets AISIO_EXT_NOT_ALIGNED. *@out (free()) gets the runs.
 * Returns 0, -ENOMEM, -EFBIG, -EUCLEAN (an extent past the file system).
 */
int aisio_runs_from_exts(const struct aisio_extent *exts, uint64_t n, uint64_t lba_first,
			 uint64_t nlbas, uint32_t lba_shift, struct aisio_file_run **out,
			 uint32_t *nout);

struct aisio_runs_file {
	uint64_t ino;
	uint64_t size;
	struct aisio_file_run *runs; /* free() */
	uint32_t nruns;
};

/**
 * aisio_runs_lookup - the runs of regular file @path ("/a/b") in @map, a
 * file system on the whole namespace (LBA 0 on). Refuses '..' (-EXDEV), a
 * missing path (-ENOENT, -ENOTDIR), a directory (-EISDIR), anything else
 * not a regular file (-EINVAL); inline data becomes one AISIO_EXT_INLINE
 * run, realtime data AISIO_EXT_REALTIME runs. Messages name @where.
 */
int aisio_runs_lookup(const struct aisio_extmap *map, const char *path, uint64_t nlbas,
		      uint32_t lba_shift, const char *where, struct aisio_runs_file *out);

#endif
