/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the FUSE handlers (ops.c, xattr.c). */
#ifndef CDMFS_FS_OPS_H
#define CDMFS_FS_OPS_H

#define FUSE_USE_VERSION 317
#include <fuse_lowlevel.h>

#include "cdmfs.h"
#include "perm.h"

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

/** Whether @req came over FUSE-over-io_uring, not /dev/fuse (main.c). */
bool cdm_req_is_uring(fuse_req_t req);

/** The credentials of the thread that made @req (see ops.c). */
void cdm_caller_of(fuse_req_t req, struct cdm_caller *c);
/**
 * Clear set-uid/set-gid of @inode as the kernel would after a write or
 * truncate by the caller of @req (nothing if it has CAP_FSETID), or after
 * a chown by it (@chown; @gid is the group before the chown).  1 if the
 * mode changed, 0 if not, or -errno.
 */
int cdm_kill_priv(fuse_req_t req, struct cdm_inode *inode, bool chown,
		  gid_t gid);
/**
 * Drop the attributes the kernel caches for @inode, which the daemon
 * changed outside a request for it.  Any thread; never blocks on @inode.
 */
void cdm_inval_attr(struct cdm_fs *fs, struct cdm_inode *inode);
/** After an access ACL was set on @inode by the caller of @req. */
int cdm_acl_kill_sgid(fuse_req_t req, struct cdm_inode *inode);

void cdm_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags);
void cdm_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size);
void cdm_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void cdm_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

#endif
