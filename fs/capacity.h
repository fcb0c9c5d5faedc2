/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Growth the daemon sees, checked against and reserved on the devices
 * (capacity.c; doc/capacity.md).  The reservation primitives themselves
 * are still declared in cdmfs.h.
 */
#ifndef CDMFS_FS_CAPACITY_H
#define CDMFS_FS_CAPACITY_H

#include <sys/types.h>

struct cdm_fs;
struct cdm_inode;

/**
 * -o reserve: allocate bytes @from..@to of @inode now, under its policy,
 * reserving them first.  @fd is an fd of @inode open for writing, or -1 to
 * open one here.  0, -ENOSPC when the policy's devices lack the room, or
 * -errno.
 */
int cdm_capacity_grow(struct cdm_fs *fs, struct cdm_inode *inode, int fd,
		      off_t from, off_t to);
/**
 * fallocate(2) of @fd (an open fd of @inode) with the room it allocates
 * reserved first: only what the range lacks counts.  0, -ENOSPC, or
 * -errno (ENOMEM of the store is ENOSPC).
 */
int cdm_capacity_fallocate(struct cdm_fs *fs, struct cdm_inode *inode, int fd,
			   int mode, off_t offset, off_t length);

#endif
