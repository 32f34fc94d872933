/* SPDX-License-Identifier: MIT */
/*
 * Files inside the XFS of a device that is not homi: (AISIO_FILE_IMAGE):
 * the decoder indexes the device's file system in this process, once per
 * device, and aisio_dev_close() lets the index go.
 */
#ifndef AISIO_FILE_LOCAL_H
#define AISIO_FILE_LOCAL_H

#include "extent/extmap.h"

struct aisio_dev;

struct aisio_file_vol {
	struct aisio_extmap map;
};

/**
 * aisio_file_vol_get - the decoded file system of @dev (decoded now when it
 * is not yet). Refuses (-EBUSY) a file or block device the kernel has
 * mounted. Returns 0 or the decoder's -errno.
 */
int aisio_file_vol_get(struct aisio_dev *dev, struct aisio_file_vol **out);

void aisio_file_vol_free(struct aisio_file_vol *vol);

#endif
