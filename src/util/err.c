/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>

#include <aisio/aisio.h>

#include "util/err.h"

static __thread char errmsg[512];

int aisio_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return err;
}

void aisio_err_clear(void)
{
	errmsg[0] = '\0';
}

const char *aisio_errmsg(void)
{
	return errmsg;
}
