/* SPDX-License-Identifier: MIT */
/* XFS metadata checksums: CRC32C with the CRC field taken as zero. */
#include <string.h>

#include "xfs/crc32c.h"

int aisio_xfs_cksum_ok(const void *buf, size_t len, size_t crc_off)
{
	static const uint8_t zero[4];
	const uint8_t *p = buf;
	uint32_t stored, c;

	if (crc_off + 4 > len)
		return 0;
	memcpy(&stored, p + crc_off, 4);
	c = aisio_crc32c_update(~0u, p, crc_off);
	c = aisio_crc32c_update(c, zero, 4);
	c = aisio_crc32c_update(c, p + crc_off + 4, len - crc_off - 4);
	return ~c == stored;
}
