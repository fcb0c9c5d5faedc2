/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The data path of regular files (datapath.c), for the open handlers. */
#ifndef CDMFS_FS_DATAPATH_H
#define CDMFS_FS_DATAPATH_H

#define FUSE_USE_VERSION 317
#include <fuse_lowlevel.h>
#include <stdbool.h>

struct cdm_fs;
struct cdm_inode;

/**
 * A new fd of @inode's backing file for I/O (read-write when the daemon
 * may, else @flags' access mode), or -errno.
 */
int cdm_open_backing(struct cdm_fs *fs, struct cdm_inode *inode, int flags);
/**
 * Attach backing @fd to the open in @fi (passthrough, or the daemon as
 * fallback) and count the open on @inode.  True when the open is the first
 * that lets the file be mapped shared writable: the kernel's cached
 * attributes are to be dropped then.
 */
bool cdm_setup_datapath(fuse_req_t req, struct cdm_inode *inode,
			struct fuse_file_info *fi, int fd);
/**
 * Undo cdm_setup_datapath() and close fi->fh, without a reply.  @req is
 * NULL when the open's reply failed (the request is freed then).
 */
void cdm_release_file(fuse_req_t req, struct cdm_fs *fs,
		      struct cdm_inode *inode, struct fuse_file_info *fi);
/**
 * O_TRUNC inside OPEN/CREATE: truncate @fd and clear set-uid/set-gid as
 * the kernel would.  1 if the mode changed, 0 if not, or -errno.
 */
int cdm_open_truncate(fuse_req_t req, int fd);
/**
 * OPEN of existing @inode: a backing fd in fi->fh, O_TRUNC done, the data
 * path set up; undo with cdm_release_file().  1 when the attributes the
 * kernel caches for @inode are stale (drop them before the reply), 0, or
 * -errno (nothing to undo then).
 */
int cdm_open_file(fuse_req_t req, struct cdm_inode *inode,
		  struct fuse_file_info *fi);

#endif
