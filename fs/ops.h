/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the FUSE handlers (ops.c, xattr.c) and their layers. */
#ifndef CDMFS_FS_OPS_H
#define CDMFS_FS_OPS_H

#define FUSE_USE_VERSION 317
#include <fuse_lowlevel.h>

#include "cdmfs.h"

static inline struct cdm_fs *cdm_fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* FUSE inode numbers are inode pointers, but for the root. */
static inline struct cdm_inode *cdm_inode_of(fuse_req_t req, fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &cdm_fs_of(req)->root;
	return (struct cdm_inode *)(uintptr_t)ino;
}

/** Whether @req came over FUSE-over-io_uring, not /dev/fuse. */
bool cdm_req_is_uring(fuse_req_t req);

/**
 * Drop the attributes the kernel caches for @inode, which the daemon
 * changed outside a request for it.  Any thread; never blocks on @inode.
 */
void cdm_inval_attr(struct cdm_fs *fs, struct cdm_inode *inode);

void cdm_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags);
void cdm_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size);
void cdm_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void cdm_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
