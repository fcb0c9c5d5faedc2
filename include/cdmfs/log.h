/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef CDMFS_LOG_H
#define CDMFS_LOG_H

#include <syslog.h>

/**
 * Log one line at syslog @level (LOG_ERR .. LOG_DEBUG).  Goes to stderr
 * ("cdmfs: " before it; "<N>" instead when stderr is systemd's journal
 * stream, per $JOURNAL_STREAM, so the journal keeps the level), or to
 * syslog once cdm_log_to_syslog() was called (daemon in background).
 * Messages name the object they are about: "%s: cannot bind to node %d: %s".
 */
void cdm_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cdm_log_set_level(int level);
void cdm_log_to_syslog(void);

#endif /* CDMFS_LOG_H */
