/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the kernel caches of an inode (entry.c): the entry a lookup gives,
 * the attributes getattr and setattr give, and for how long it may keep
 * them.
 */
#ifndef CDMFS_FS_ENTRY_H
#define CDMFS_FS_ENTRY_H

#include <sys/stat.h>

#include "req.h"

/** How long the kernel may cache the attributes @st of @inode. */
double cdm_attr_timeout(struct cdm_fs *fs, struct cdm_inode *inode,
			const struct stat *st);
/**
 * Look @name up in @parent and fill @e, taking one lookup reference on the
 * inode for the kernel.  The root shows the device directories only.  0,
 * -ENOENT (a negative entry the kernel may cache), -ENFILE when the
 * daemon is out of fds, or -errno.
 */
int cdm_entry_lookup(struct cdm_fs *fs, struct cdm_inode *parent,
		     const char *name, struct fuse_entry_param *e);
/** The attributes of @inode, from its backing inode.  0 or -errno. */
int cdm_attr_get(struct cdm_fs *fs, struct cdm_inode *inode, struct stat *st);
/**
 * SETATTR of @inode by the caller of @req: the members of @attr that
 * @valid names (FUSE_SET_ATTR_*), the size through @fi's fd if given, then
 * set-uid/set-gid cleared as the kernel would (KILLPRIV_V2 leaves that to
 * us).  Growth under -o reserve is reserved first.  On 0 @st holds the
 * attributes after; else -errno.
 */
int cdm_attr_set(fuse_req_t req, struct cdm_inode *inode, struct stat *attr,
		 int valid, struct fuse_file_info *fi, struct stat *st);

#endif
