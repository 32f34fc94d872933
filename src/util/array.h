/* SPDX-License-Identifier: MIT */
/* Growable arrays: doubling capacity, errors worded for the user. */
#ifndef AISIO_UTIL_ARRAY_H
#define AISIO_UTIL_ARRAY_H

#include <stddef.h>
#include <stdint.h>

/*
 * Make room for @need elements of @elem bytes in *@p (capacity *@cap).
 * @what names the array in the error message. Returns 0 or -ENOMEM.
 */
int aisio_array_grow(void **p, uint64_t *cap, uint64_t need, size_t elem, const char *what);

#endif
