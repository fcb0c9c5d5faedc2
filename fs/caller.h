/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The caller of a request (caller.c): what the daemon, acting as root on
 * the store, does on its behalf so tmpfs ends as it would for the caller.
 */
#ifndef CDMFS_FS_CALLER_H
#define CDMFS_FS_CALLER_H

#define FUSE_USE_VERSION 317
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>

#include "perm.h"

struct cdm_inode;

/** The credentials of the thread that made @req. */
void cdm_caller_of(fuse_req_t req, struct cdm_caller *c);
/**
 * Clear set-uid/set-gid of @inode as the kernel would after a write or
 * truncate by the caller of @req (nothing if it has CAP_FSETID), or after
 * a chown by it (@chown; @gid is the group before the chown).  1 if the
 * mode changed, 0 if not, or -errno.
 */
int cdm_kill_priv(fuse_req_t req, struct cdm_inode *inode, bool chown,
		  gid_t gid);
/** After an access ACL was set on @inode by the caller of @req. */
int cdm_acl_kill_sgid(fuse_req_t req, struct cdm_inode *inode);
/**
 * Make this worker thread create with the umask of @req's caller (or,
 * where it cannot, mask @mode here).  Call before creating an inode.
 */
void cdm_use_caller_umask(fuse_req_t req, mode_t *mode);
/**
 * Hand a new inode to the caller of @req: its uid, and its gid unless
 * parent @pfd is set-gid.  @fd is any fd of the inode, @opath if O_PATH.
 * 0 or -errno.
 */
int cdm_give_to_caller(fuse_req_t req, int pfd, int fd, bool opath);
/** cdm_give_to_caller() for entry @name of parent @pfd. */
int cdm_give_name_to_caller(fuse_req_t req, int pfd, const char *name);

#endif
