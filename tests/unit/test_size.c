/* SPDX-License-Identifier: MIT */
/*
 * aisio_parse_size: the one parser for sizes in URIs and on the command line.
 * Accepted forms, their values, and every way a size can be wrong: sign,
 * empty, junk, hex, spaces, fractions and values past 64 bits.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "util/size.h"
#include "t.h"

static void ok(const char *s, uint64_t want)
{
	uint64_t v = 0xdeadbeef;
	int err = aisio_parse_size(s, &v);

	if (err || v != want) {
		fprintf(stderr, "'%s': got err %d value %llu, want %llu\n", s, err,
			(unsigned long long)v, (unsigned long long)want);
		t_failures++;
	}
}

static void bad(const char *s, int want_err)
{
	uint64_t v = 12345;
	int err = aisio_parse_size(s, &v);

	if (err != want_err || v != 12345) {
		fprintf(stderr, "'%s': got err %d value %llu, want err %d and the value untouched\n",
			s ? s : "(null)", err, (unsigned long long)v, want_err);
		t_failures++;
	}
}

int main(void)
{
	uint64_t v;

	ok("0", 0);
	ok("4096", 4096);
	ok("010", 10); /* decimal, not octal */
	ok("4k", 4096);
	ok("4K", 4096);
	ok("4KiB", 4096);
	ok("4KB", 4096);
	ok("4kb", 4096);
	ok("512B", 512);
	ok("1M", 1ull << 20);
	ok("1G", 1ull << 30);
	ok("10G", 10ull << 30);
	ok("2T", 2ull << 40);
	ok("3P", 3ull << 50);
	ok("15E", 15ull << 60);
	ok("18446744073709551615", UINT64_MAX);
	ok("17179869183G", 17179869183ull << 30);

	bad(NULL, -EINVAL);
	bad("", -EINVAL);
	bad("-1", -EINVAL);
	bad("+1", -EINVAL);
	bad("-0", -EINVAL);
	bad("1Q", -EINVAL);
	bad("K", -EINVAL);
	bad("1KK", -EINVAL);
	bad("1iB", -EINVAL);
	bad("1Bi", -EINVAL);
	bad(" 5", -EINVAL);
	bad("5 ", -EINVAL);
	bad("0x10", -EINVAL); /* hex is refused, not read as 0 or 16 */
	bad("1.5G", -EINVAL);
	bad("1e6", -EINVAL);
	bad("lots", -EINVAL);
	bad("18446744073709551616", -ERANGE); /* 2^64 */
	bad("99999999999999999999999", -ERANGE);
	bad("16E", -ERANGE);
	bad("17179869184G", -ERANGE); /* 2^64 */
	bad("16384P", -ERANGE);

	/* The length form stops where told: "4k,lbads=9" parses its first 2 bytes. */
	CHECK(aisio_parse_size_n("4k,lbads=9", 2, &v) == 0 && v == 4096);
	CHECK(aisio_parse_size_n("4k,lbads=9", 3, &v) == -EINVAL);
	CHECK(aisio_parse_size_n("4k", 0, &v) == -EINVAL);

	/* Counts: no units, a range, the same refusals. */
	CHECK(aisio_parse_count("32", 2, 1, 1024, &v) == 0 && v == 32);
	CHECK(aisio_parse_count("1024", 4, 1, 1024, &v) == 0 && v == 1024);
	CHECK(aisio_parse_count("0", 1, 1, 1024, &v) == -ERANGE);
	CHECK(aisio_parse_count("1025", 4, 1, 1024, &v) == -ERANGE);
	CHECK(aisio_parse_count("999999", 6, 1, 1024, &v) == -ERANGE);
	CHECK(aisio_parse_count("-3", 2, 1, 1024, &v) == -EINVAL);
	CHECK(aisio_parse_count("4k", 2, 1, 1u << 20, &v) == -EINVAL);
	CHECK(aisio_parse_count("0x10", 4, 1, 1024, &v) == -EINVAL);
	CHECK(aisio_parse_count("", 0, 0, 1024, &v) == -EINVAL);
	CHECK(aisio_parse_count("18446744073709551616", 20, 0, UINT64_MAX, &v) == -ERANGE);
	return t_result("size");
}
