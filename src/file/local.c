/* SPDX-License-Identifier: MIT */
/* The decoded file system of a local device, for aisio_file_open() (local.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <aisio/aisio.h>

#include "file/local.h"
#include "io/backend.h"
#include "util/err.h"
#include "xfs/xfs.h"

/* The file or block device behind a kernel-path URI ("file:PATH", "/dev/...", "PATH,opts"). */
static int backing_path(const char *uri, char *out, size_t cap)
{
	const char *p = !strncmp(uri, "file:", 5) ? uri + 5 : uri[0] == '/' ? uri : NULL;

	if (!p)
		return 0;
	snprintf(out, cap, "%.*s", (int)strcspn(p, ","), p);
	return 1;
}

int aisio_file_vol_get(struct aisio_dev *dev, struct aisio_file_vol **out)
{
	struct aisio_xfs_rd *rd = NULL;
	struct aisio_xfs *fs = NULL;
	struct aisio_file_vol *vol;
	char path[4096], where[2048];
	int err;

	if (dev->fvol) {
		*out = dev->fvol;
		return 0;
	}
	if (backing_path(aisio_dev_uri(dev), path, sizeof(path)) &&
	    aisio_xfs_mounted(path, where, sizeof(where)) == 1)
		return aisio_err(-EBUSY, "%s is mounted on %s: its metadata on disk may be stale; "
				 "read the files there (a homi: device maps mounted files)", path,
				 where);
	vol = calloc(1, sizeof(*vol));
	if (!vol)
		return aisio_err(-ENOMEM, "out of memory");
	err = aisio_xfs_rd_open_dev(dev, 0, &rd);
	if (!err)
		err = aisio_xfs_open(rd, NULL, &fs); /* takes rd over */
	if (!err)
		err = aisio_xfs_index(fs, &vol->map);
	if (fs)
		aisio_xfs_close(fs);
	if (err) {
		err = aisio_err(err, "%s holds no XFS this library can read: %s", aisio_dev_uri(dev),
				aisio_errmsg());
		aisio_extmap_free(&vol->map);
		free(vol);
		return err;
	}
	dev->fvol = vol;
	*out = vol;
	return 0;
}

void aisio_file_vol_free(struct aisio_file_vol *vol)
{
	if (!vol)
		return;
	aisio_extmap_free(&vol->map);
	free(vol);
}
