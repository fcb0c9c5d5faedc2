/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Placing files, changing their policy, telling where they are (placement.c).
 */
#ifndef CDMFS_FS_PLACEMENT_H
#define CDMFS_FS_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs.h"

/**
 * Give new inode @fd (created in @parent) the parent's own policy, and for
 * a @regular file bind its memory accordingly, before any page exists.
 */
int cdm_place_new(struct cdm_fs *fs, struct cdm_inode *parent, int fd,
		  bool regular);
/**
 * Bind @fd, an empty regular file, by the policy @inode follows on its
 * device (its own, else its device's): a copy of a file into another
 * device's tmpfs (lodge.c).  0 or -errno.
 */
int cdm_place_file(struct cdm_fs *fs, struct cdm_inode *inode, int fd);
/**
 * New regular file @inode, created in @parent, is in the table: a file
 * that follows a tiered policy (its parent's, as cdm_place_new gave it)
 * is handed to tiering.
 */
void cdm_place_created(struct cdm_fs *fs, struct cdm_inode *parent,
		       struct cdm_inode *inode);
/**
 * Regular file @inode was opened: one that follows a tiered policy and is
 * not watched yet (tiered before this daemon started) is handed to tiering.
 */
void cdm_place_opened(struct cdm_fs *fs, struct cdm_inode *inode);
/** -ENOSPC if @inode's policy cannot take @bytes more. */
int cdm_check_space(struct cdm_fs *fs, struct cdm_inode *inode,
		    uint64_t bytes);
/**
 * setxattr user.cdm.policy by @uid: parse, check, store, and for a regular
 * file bind its new pages and start moving its existing ones in the
 * background (returns once the migration is queued; it supersedes one
 * that is running).
 */
int cdm_set_policy(struct cdm_fs *fs, struct cdm_inode *inode, uid_t uid,
		   const char *value, size_t size);
/**
 * A rename moved @inode into device @devidx's directory: it belongs to that
 * device from now on, and a @regular file drops its own policy and moves
 * its pages there (as setting "inherit", from where they were).
 */
int cdm_move_to_device(struct cdm_fs *fs, struct cdm_inode *inode,
		       uint16_t devidx, bool regular);
/* Values of the read-only xattrs, malloc'd; NULL with errno. */
char *cdm_policy_value(struct cdm_fs *fs, struct cdm_inode *inode);
char *cdm_residency_value(struct cdm_fs *fs, struct cdm_inode *inode,
			  bool want_drift);

#endif
