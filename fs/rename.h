/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Rename within and across devices (rename.c). */
#ifndef CDMFS_FS_RENAME_H
#define CDMFS_FS_RENAME_H

struct cdm_fs;
struct cdm_inode;

/**
 * renameat2(2) of @name in @parent to @newname in @newparent, both device
 * directories or below (the root namespace is checked by the caller).
 * Across devices a regular file with one link moves its memory to the new
 * device; what mv(1) must copy instead gets -EXDEV, and a move that fails
 * leaves both names as they were.  0 or -errno.
 */
int cdm_rename_entry(struct cdm_fs *fs, struct cdm_inode *parent,
		     const char *name, struct cdm_inode *newparent,
		     const char *newname, unsigned int flags);

#endif
