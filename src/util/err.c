/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <aisio/aisio.h>

#include "util/err.h"

static __thread char errmsg[512];

int aisio_err(int err, const char *fmt, ...)
{
	char msg[sizeof(errmsg)];
	va_list ap;

	/* through a copy: the arguments may quote the message being replaced (aisio_errmsg()) */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(errmsg, msg, sizeof(msg));
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
