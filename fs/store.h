/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The store (store.c): the private tmpfs that holds every device's files,
 * its lock, the device directories, and its naming.
 */
#ifndef CDMFS_FS_STORE_H
#define CDMFS_FS_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs.h"

/**
 * Pick, prepare and lock the store (a second daemon on the same store gets
 * -EBUSY), make the device directories.  Errors are logged.
 */
int cdm_store_open(struct cdm_fs *fs);
void cdm_store_close(struct cdm_fs *fs);
/** Write our pid (again, after fuse_daemonize) into the store's lock file. */
void cdm_store_lock_owner(struct cdm_fs *fs);
/**
 * Rewrite path @buf (a readlink of a store file) in place into the one an
 * admin finds it at: <store>/<device>/... (not the device's own tmpfs
 * mount at <store>/.devs/<device>/files/..., which the daemon works in).
 */
void cdm_store_log_path(const struct cdm_fs *fs, char *buf);
/**
 * The st_ino users see for backing inode (@ino, @dev): unique across the
 * devices' own tmpfs (each numbers its inodes from 1), the device's index
 * + 1 in the high 32 bits; others as they are.
 */
ino_t cdm_store_ino(const struct cdm_fs *fs, ino_t ino, dev_t dev);
/**
 * Bytes used and available in device @devidx's own tmpfs: -ENODEV when
 * it shares the store's.
 */
int cdm_store_devsb_usage(struct cdm_fs *fs, uint16_t devidx,
			  uint64_t *used, uint64_t *avail);
/** Bytes of memory used by the files of device @devidx (walks its tree). */
int cdm_store_used(struct cdm_fs *fs, uint16_t devidx, uint64_t *bytes);

/**
 * The store name of mount point @path (canonical), as systemd-escape
 * --path names mount units, into @out of @len bytes: 0, or -ENAMETOOLONG
 * (never truncated).
 */
int cdm_store_escape_path(const char *path, char *out, size_t len);

#endif
