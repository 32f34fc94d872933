/* SPDX-License-Identifier: MIT */
#include <stdlib.h>

#include "util/array.h"
#include "util/err.h"

int aisio_array_grow(void **p, uint64_t *cap, uint64_t need, size_t elem, const char *what)
{
	uint64_t n = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	np = realloc(*p, n * elem);
	if (!np)
		return aisio_err(-ENOMEM, "%s: out of memory (%llu entries)", what,
				 (unsigned long long)need);
	*p = np;
	*cap = n;
	return 0;
}
