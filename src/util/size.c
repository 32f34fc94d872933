/* SPDX-License-Identifier: MIT */
/* The one size parser (rules in size.h). */
#include <errno.h>
#include <string.h>

#include "util/size.h"

static int unit_shift(char c)
{
	switch (c | 0x20) {
	case 'k': return 10;
	case 'm': return 20;
	case 'g': return 30;
	case 't': return 40;
	case 'p': return 50;
	case 'e': return 60;
	default: return -1;
	}
}

static int parse(const char *s, size_t n, int units, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;
	int shift = 0, range = 0;

	if (!s)
		return -EINVAL;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			range = 1;
		else
			v = v * 10 + d;
	}
	if (!i)
		return -EINVAL;
	if (units && i < n && unit_shift(s[i]) >= 0) {
		shift = unit_shift(s[i++]);
		if (i < n && s[i] == 'i')
			i++;
	}
	if (units && i < n && (s[i] == 'B' || s[i] == 'b'))
		i++;
	if (i != n)
		return -EINVAL;
	if (range || (shift && v > UINT64_MAX >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int aisio_parse_size_n(const char *s, size_t n, uint64_t *out)
{
	return parse(s, n, 1, out);
}

int aisio_parse_size(const char *s, uint64_t *out)
{
	return s ? parse(s, strlen(s), 1, out) : -EINVAL;
}

int aisio_parse_count(const char *s, size_t n, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int err = parse(s, n, 0, &v);

	if (err)
		return err;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
