/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FUSE side of the daemon's state (req.c): the request's filesystem,
 * node ids (inode pointers, but for the root), the transport a request came
 * over, and telling the kernel what the daemon changed on its own.  Below
 * every layer that answers or notifies the kernel.
 */
#ifndef CDMFS_FS_REQ_H
#define CDMFS_FS_REQ_H

#define FUSE_USE_VERSION 317
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

#include "fs.h"

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

static inline fuse_ino_t cdm_ino_of(struct cdm_fs *fs, struct cdm_inode *inode)
{
	return inode == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)inode;
}

/** Whether @req came over FUSE-over-io_uring, not /dev/fuse. */
bool cdm_req_is_uring(fuse_req_t req);

/**
 * Drop the attributes the kernel caches for @inode, which the daemon
 * changed outside a request for it.  Any thread; never blocks on @inode.
 */
void cdm_inval_attr(struct cdm_fs *fs, struct cdm_inode *inode);

#endif
