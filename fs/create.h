/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * New names and inodes (create.c): mknod, mkdir, symlink, link, create and
 * O_TMPFILE on the store.  Each makes the backing inode, places it under
 * its parent's policy, hands it to the caller, undoes all that on failure,
 * and fills the entry for the reply with one lookup reference taken.
 */
#ifndef CDMFS_FS_CREATE_H
#define CDMFS_FS_CREATE_H

#include <sys/types.h>

#include "req.h"

/**
 * MKNOD of @name in @parent for the caller of @req.  A regular file is
 * refused on a full device (-ENOSPC) and its memory bound.  0 with @e
 * filled, or -errno (nothing made then).
 */
int cdm_create_node(fuse_req_t req, struct cdm_inode *parent,
		    const char *name, mode_t mode, dev_t rdev,
		    struct fuse_entry_param *e);
/** MKDIR: as cdm_create_node(), for a directory. */
int cdm_create_dir(fuse_req_t req, struct cdm_inode *parent,
		   const char *name, mode_t mode, struct fuse_entry_param *e);
/** SYMLINK @name in @parent to @link: as cdm_create_node(). */
int cdm_create_symlink(fuse_req_t req, const char *link,
		       struct cdm_inode *parent, const char *name,
		       struct fuse_entry_param *e);
/**
 * LINK: a new name @newname in @newparent for @inode, on its own device
 * (-EXDEV across).  0 with @e filled, or -errno.
 */
int cdm_create_link(struct cdm_fs *fs, struct cdm_inode *inode,
		    struct cdm_inode *newparent, const char *newname,
		    struct fuse_entry_param *e);
/**
 * CREATE of @name in @parent with open flags @flags: a new file as
 * cdm_create_node() makes one, or without O_EXCL the existing one
 * (truncated for O_TRUNC).  On 0, @e is filled and *@fd is a read-write fd
 * of the backing file, the caller's to close; else -errno, and a file made
 * here is gone again.
 */
int cdm_create_open(fuse_req_t req, struct cdm_inode *parent,
		    const char *name, mode_t mode, int flags,
		    struct fuse_entry_param *e, int *fd);
/**
 * O_TMPFILE in @parent's device: an unnamed file placed and owned as a
 * created one.  On 0, @e is filled and *@fd is a read-write fd of it, the
 * caller's to close; else -errno.
 */
int cdm_create_tmpfile(fuse_req_t req, struct cdm_inode *parent, mode_t mode,
		       struct fuse_entry_param *e, int *fd);

#endif
