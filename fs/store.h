/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The store's naming (store.c), for its unit test. */
#ifndef CDMFS_FS_STORE_H
#define CDMFS_FS_STORE_H

#include <stddef.h>

/**
 * The store name of mount point @path (canonical), as systemd-escape
 * --path names mount units, into @out of @len bytes: 0, or -ENAMETOOLONG
 * (never truncated).
 */
int cdm_store_escape_path(const char *path, char *out, size_t len);

#endif
