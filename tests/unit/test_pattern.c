/* SPDX-License-Identifier: MIT */
/*
 * The dataset pattern: fixed values (other languages re-implement it and must
 * agree), fill and byte agree at every alignment, and check finds a flipped byte.
 */
#include <string.h>

#include "aisio/pattern.h"
#include "t.h"

int main(void)
{
	uint64_t seed = aisio_pattern_seed("a/b.bin", 7);
	uint8_t buf[100], ref[100];

	CHECK_EQ(aisio_pattern_seed("", 0), 0xcbf29ce484222325ull);
	CHECK_EQ(aisio_pattern_seed("a", 1), 0xaf63dc4c8601ec8cull);
	CHECK_EQ(aisio_pattern_word(0, 0), 0xe220a8397b1dcdafull);
	for (uint64_t off = 0; off < 24; off++) {
		for (size_t len = 0; len <= 64; len++) {
			aisio_pattern_fill(seed, off, buf, len);
			for (size_t i = 0; i < len; i++)
				ref[i] = aisio_pattern_byte(seed, off + i);
			CHECK(memcmp(buf, ref, len) == 0);
			CHECK_EQ(aisio_pattern_check(seed, off, buf, len), len);
		}
	}
	aisio_pattern_fill(seed, 4093, buf, sizeof(buf));
	buf[37] ^= 1;
	CHECK_EQ(aisio_pattern_check(seed, 4093, buf, sizeof(buf)), 37);
	CHECK(aisio_pattern_seed("a/b.bin", 7) != aisio_pattern_seed("a/c.bin", 7));
	return t_result("pattern");
}
