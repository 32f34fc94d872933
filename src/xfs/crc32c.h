/* SPDX-License-Identifier: MIT */
/* CRC32c (Castagnoli) as XFS uses it for metadata checksums. */
#ifndef AISIO_XFS_CRC32C_H
#define AISIO_XFS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#include "util/crc32c.h"

/*
 * aisio_xfs_cksum_ok - does the little-endian CRC at @crc_off of the @len
 * bytes at @buf match? XFS computes it with the CRC field taken as zero.
 */
int aisio_xfs_cksum_ok(const void *buf, size_t len, size_t crc_off);

#endif
