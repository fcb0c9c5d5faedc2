// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "cdmfs/log.h"

/* notices and worse; -d shows everything */
static int log_level = LOG_NOTICE;
static int use_syslog;
/* stderr is systemd's journal stream: -1 not known yet, 0 no, 1 yes */
static atomic_int to_journal = -1;

void cdm_log_set_level(int level)
{
	log_level = level;
}

void cdm_log_to_syslog(void)
{
	openlog("cdmfs", LOG_PID, LOG_DAEMON);
	use_syslog = 1;
}

/*
 * Under systemd (cdmfs -f in cdmfs@.service) stderr is a stream into the
 * journal, which reads a "<N>" prefix as the line's syslog level
 * (SyslogLevelPrefix=, on by default): an error stays an error for
 * `journalctl -p err`.  JOURNAL_STREAM ("DEV:INO" of that stream) is how
 * systemd says stderr is its (systemd.exec(5)); a shell that redirected
 * stderr elsewhere leaves the variable but not the inode.
 */
static int stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 &&
	       !fstat(STDERR_FILENO, &st) &&
	       (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void cdm_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	if (to_journal < 0)
		to_journal = stderr_is_journal();	/* same answer in any thread */
	va_start(ap, fmt);
	if (use_syslog) {
		vsyslog(level, fmt, ap);
	} else {
		/* the journal names the unit and the process itself */
		if (to_journal)
			fprintf(stderr, "<%d>", level);
		else
			fputs("cdmfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
