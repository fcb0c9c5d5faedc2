// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "cdmfs/log.h"

/* notices and worse; -d shows everything */
static int log_level = LOG_NOTICE;
static int use_syslog;

void cdm_log_set_level(int level)
{
	log_level = level;
}

void cdm_log_to_syslog(void)
{
	openlog("cdmfs", LOG_PID, LOG_DAEMON);
	use_syslog = 1;
}

void cdm_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		fputs("cdmfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
