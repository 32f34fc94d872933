/* SPDX-License-Identifier: MIT */
/*
 * Dataset content as a function of (name, offset): every byte of a file made
 * by `aisio fil gen` can be checked wherever it lands (host memory, GPU
 * memory, Python), with no reference copy.
 *
 * The 8-byte little-endian word at offset 8k of the file called NAME (its path
 * relative to the dataset root, '/'-separated) is splitmix64(fnv1a64(NAME) ^ k).
 * A byte at any offset is the matching byte of its word, so any range, aligned
 * or not, can be produced or checked. Header-only and usable in CUDA device code.
 */
#ifndef AISIO_PATTERN_H
#define AISIO_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __CUDACC__
#define AISIO_PATTERN_FN static inline __host__ __device__
#else
#define AISIO_PATTERN_FN static inline
#endif

/* FNV-1a, 64 bit, over NAME: the per-file seed. */
AISIO_PATTERN_FN uint64_t aisio_pattern_seed(const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The word at file offset 8*K. */
AISIO_PATTERN_FN uint64_t aisio_pattern_word(uint64_t seed, uint64_t k)
{
	uint64_t z = (seed ^ k) + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The byte at file offset OFF. */
AISIO_PATTERN_FN uint8_t aisio_pattern_byte(uint64_t seed, uint64_t off)
{
	return (uint8_t)(aisio_pattern_word(seed, off >> 3) >> ((off & 7) * 8));
}

/* Fills BUF with the LEN bytes that start at file offset OFF. */
AISIO_PATTERN_FN void aisio_pattern_fill(uint64_t seed, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = (uint8_t *)buf;
	size_t i = 0;

	for (; i < len && ((off + i) & 7); i++)
		p[i] = aisio_pattern_byte(seed, off + i);
	for (; i + 8 <= len; i += 8) {
		uint64_t w = aisio_pattern_word(seed, (off + i) >> 3);

		for (int b = 0; b < 8; b++)
			p[i + b] = (uint8_t)(w >> (8 * b));
	}
	for (; i < len; i++)
		p[i] = aisio_pattern_byte(seed, off + i);
}

/*
 * Checks the LEN bytes of BUF against file offset OFF. Returns LEN when all
 * match, else the index of the first byte that differs.
 */
AISIO_PATTERN_FN size_t aisio_pattern_check(uint64_t seed, uint64_t off, const void *buf,
					    size_t len)
{
	const uint8_t *p = (const uint8_t *)buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != aisio_pattern_byte(seed, off + i))
			return i;
	return len;
}

#endif
