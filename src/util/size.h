/* SPDX-License-Identifier: MIT */
/*
 * Sizes written by people: "4096", "4k", "64KiB", "1G". One parser for every
 * URI option and command-line flag, so the rules are the same everywhere:
 *   - decimal digits only (no sign, no "0x", no leading or trailing space,
 *     no fraction); leading zeros are decimal ("010" is ten);
 *   - an optional unit K, M, G, T, P or E (either case, powers of 1024),
 *     optionally followed by "i", then optionally by "B"; or "B" alone;
 *   - the value must fit in 64 bits ("16E" and 18446744073709551616 do not).
 * Zero parses; a caller that needs a positive size says so itself.
 */
#ifndef AISIO_UTIL_SIZE_H
#define AISIO_UTIL_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* For messages: how a size is written. */
#define AISIO_SIZE_HELP "a decimal number of bytes with an optional K, M, G, T, P or E suffix (e.g. 4096, 4k, 1G)"

/*
 * aisio_parse_size_n - parse the @n bytes at @s as a size into *@out.
 * Returns 0, -EINVAL (empty, sign, junk, hex, unknown unit) or -ERANGE (does
 * not fit in 64 bits). *@out is left alone on error. Sets no message.
 */
int aisio_parse_size_n(const char *s, size_t n, uint64_t *out);

/* aisio_parse_size - the same for a NUL-terminated string. */
int aisio_parse_size(const char *s, uint64_t *out);

/*
 * aisio_parse_count - a count (queue depth, threads, microseconds): the same
 * rules without a unit, and within [@min, @max]. Returns 0, -EINVAL (not a
 * decimal number) or -ERANGE (outside the range, or past 64 bits).
 */
int aisio_parse_count(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out);

#endif
