/* SPDX-License-Identifier: MIT */
/* Minimal checks for unit tests: count failures, exit 0 pass / 1 fail / 77 skip. */
#ifndef AISIO_TESTS_UNIT_T_H
#define AISIO_TESTS_UNIT_T_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int t_failures;

#define CHECK(c)                                                                              \
	do {                                                                                  \
		if (!(c)) {                                                                   \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
			t_failures++;                                                         \
		}                                                                             \
	} while (0)

#define CHECK_EQ(a, b)                                                                          \
	do {                                                                                    \
		unsigned long long a_ = (unsigned long long)(a);                                \
		unsigned long long b_ = (unsigned long long)(b);                                \
		if (a_ != b_) {                                                                 \
			fprintf(stderr, "%s:%d: %s == %s failed: 0x%llx != 0x%llx\n", __FILE__, \
				__LINE__, #a, #b, a_, b_);                                      \
			t_failures++;                                                           \
		}                                                                               \
	} while (0)

/* Fatal: stop the test (later checks would only cascade). */
#define REQUIRE(c)                                                                              \
	do {                                                                                    \
		if (!(c)) {                                                                     \
			fprintf(stderr, "%s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #c); \
			exit(1);                                                                \
		}                                                                               \
	} while (0)

static inline int t_result(const char *name)
{
	if (t_failures)
		fprintf(stderr, "%s: %d check(s) failed\n", name, t_failures);
	else
		printf("%s: ok\n", name);
	return t_failures ? 1 : 0;
}

#endif
