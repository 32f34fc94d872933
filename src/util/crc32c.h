/* SPDX-License-Identifier: MIT */
/* CRC32C (Castagnoli), as XFS metadata and NVMe/TCP digests use it. */
#ifndef AISIO_UTIL_CRC32C_H
#define AISIO_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Standard CRC32C (initial ~0, final inversion) of @len bytes. */
uint32_t aisio_crc32c(const void *buf, size_t len);

/*
 * aisio_crc32c_update - the raw register over @len more bytes: start with ~0u,
 * feed pieces in order, invert at the end (~crc == aisio_crc32c of the whole).
 */
uint32_t aisio_crc32c_update(uint32_t crc, const void *buf, size_t len);

#endif
