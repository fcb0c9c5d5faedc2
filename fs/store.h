/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The store (store.c): the private tmpfs that holds every device's files,
 * its lock, the device directories, and its naming.
 */
#ifndef CDMFS_FS_STORE_H
#define CDMFS_FS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "fs.h"

/**
 * Pick, prepare and lock the store (a second daemon on the same store gets
 * -EBUSY), make the device directories.  Errors are logged.
 */
int cdm_store_open(struct cdm_fs *fs);
void cdm_store_close(struct cdm_fs *fs);
/** Write our pid (again, after fuse_daemonize) into the store's lock file. */
void cdm_store_lock_owner(struct cdm_fs *fs);
/** Bytes of memory used by the files of device @devidx (walks its tree). */
int cdm_store_used(struct cdm_fs *fs, uint16_t devidx, uint64_t *bytes);

/**
 * The store name of mount point @path (canonical), as systemd-escape
 * --path names mount units, into @out of @len bytes: 0, or -ENAMETOOLONG
 * (never truncated).
 */
int cdm_store_escape_path(const char *path, char *out, size_t len);

#endif
