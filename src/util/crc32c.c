/* SPDX-License-Identifier: MIT */
/*
 * CRC32C (Castagnoli): the SSE4.2 instruction when the CPU has it (metadata of a large
 * file system is hundreds of MiB), a slicing-by-8 table otherwise.
 */
#include <pthread.h>
#include <string.h>

#include "util/crc32c.h"

#define CRC32C_POLY 0x82f63b78u

static uint32_t tbl[8][256];
static int have_sse42;
static pthread_once_t tbl_once = PTHREAD_ONCE_INIT;

static void tbl_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
		tbl[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int s = 1; s < 8; s++)
			tbl[s][i] = (tbl[s - 1][i] >> 8) ^ tbl[0][tbl[s - 1][i] & 0xff];
#if defined(__x86_64__)
	have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_sw(uint32_t c, const uint8_t *p, size_t n)
{
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w ^= c;
		c = tbl[7][w & 0xff] ^ tbl[6][(w >> 8) & 0xff] ^ tbl[5][(w >> 16) & 0xff] ^
		    tbl[4][(w >> 24) & 0xff] ^ tbl[3][(w >> 32) & 0xff] ^ tbl[2][(w >> 40) & 0xff] ^
		    tbl[1][(w >> 48) & 0xff] ^ tbl[0][w >> 56];
		p += 8;
		n -= 8;
	}
	while (n--)
		c = (c >> 8) ^ tbl[0][(c ^ *p++) & 0xff];
	return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c64 = __builtin_ia32_crc32di(c64, w);
		p += 8;
		n -= 8;
	}
	c = (uint32_t)c64;
	while (n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}
#endif

uint32_t aisio_crc32c_update(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&tbl_once, tbl_init);
#if defined(__x86_64__)
	if (have_sse42)
		return crc_hw(crc, buf, len);
#endif
	return crc_sw(crc, buf, len);
}

uint32_t aisio_crc32c(const void *buf, size_t len)
{
	return ~aisio_crc32c_update(~0u, buf, len);
}
