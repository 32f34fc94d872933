/* SPDX-License-Identifier: MIT */
/* homid's log: one line per event on stderr, with a level (journald reads the prefix). */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "homid.h"

int homid_log_level = HOMID_LOG_INFO;

void homid_log(int level, const char *fmt, ...)
{
	/* sd-daemon(3) priority prefixes: err 3, warning 4, info 6, debug 7 */
	static const char *const prefix[] = { "<3>homid: error: ", "<4>homid: warning: ",
					      "<6>homid: ", "<7>homid: debug: " };
	static int tty = -1;
	char line[1024];
	va_list ap;

	if (level > homid_log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (tty < 0)
		tty = isatty(2);
	/* the <N> priority is for journald; a terminal gets the words alone */
	fprintf(stderr, "%s%s\n", prefix[level < 0 ? 0 : level > 3 ? 3 : level] + (tty ? 3 : 0), line);
}
