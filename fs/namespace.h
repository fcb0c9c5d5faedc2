/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The root namespace: the mount root holds the device directories and
 * nothing else, and they are fixed (one per device, made at mount).  The
 * handlers ask here before they touch the store; each rule is a pure
 * function of the inodes and names involved.
 */
#ifndef CDMFS_FS_NAMESPACE_H
#define CDMFS_FS_NAMESPACE_H

#include <stdbool.h>

#include "fs.h"

/** Whether @inode is the mount root. */
static inline bool cdm_ns_is_root(const struct cdm_fs *fs,
				  const struct cdm_inode *inode)
{
	return inode == &fs->root;
}

/** Index of the device directory called @name at the root, or -ENOENT. */
int cdm_ns_device_index(const struct cdm_fs *fs, const char *name);
/**
 * May a new inode (mknod, mkdir, symlink, create, O_TMPFILE) go into
 * @parent?  0, or -EPERM at the root.
 */
int cdm_ns_may_create(const struct cdm_fs *fs, const struct cdm_inode *parent);
/**
 * May @inode get a new name in @newparent?  0, -EPERM at the root, or
 * -EXDEV across devices.
 */
int cdm_ns_may_link(const struct cdm_fs *fs, const struct cdm_inode *inode,
		    const struct cdm_inode *newparent);
/** May a name in @parent go?  0, or -EPERM at the root. */
int cdm_ns_may_unlink(const struct cdm_fs *fs, const struct cdm_inode *parent);
/**
 * May directory @name in @parent go?  0; at the root -EBUSY for a device
 * directory, -ENOENT for anything else.
 */
int cdm_ns_may_rmdir(const struct cdm_fs *fs, const struct cdm_inode *parent,
		     const char *name);
/** May a name move from @parent to @newparent?  0, or -EPERM at the root. */
int cdm_ns_may_rename(const struct cdm_fs *fs, const struct cdm_inode *parent,
		      const struct cdm_inode *newparent);
/**
 * Whether readdir of a directory (@root: the mount root) leaves entry
 * @name out: the root shows its device directories only.
 */
bool cdm_ns_hidden(const struct cdm_fs *fs, bool root, const char *name);

#endif
