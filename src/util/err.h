/* SPDX-License-Identifier: MIT */
/* Per-thread error message: set once where a call failed, read by the caller. */
#ifndef AISIO_UTIL_ERR_H
#define AISIO_UTIL_ERR_H

#include <errno.h>

/* Sets the message for aisio_errmsg() (the arguments may quote aisio_errmsg()) and returns @err (a -errno value). */
int aisio_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void aisio_err_clear(void);

#endif
