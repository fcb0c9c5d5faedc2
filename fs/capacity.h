/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Growth the daemon sees, checked against and reserved on the devices
 * (capacity.c; doc/capacity.md): reservations, what a device holds and has
 * free, and the growth the daemon sees.
 */
#ifndef CDMFS_FS_CAPACITY_H
#define CDMFS_FS_CAPACITY_H

#include <stdint.h>
#include <sys/types.h>

#include "fs.h"

int cdm_capacity_open(struct cdm_fs *fs);
void cdm_capacity_close(struct cdm_fs *fs);
/** Free bytes of the store's filesystem; UINT64_MAX when unbounded. */
uint64_t cdm_store_free(struct cdm_fs *fs);
/**
 * Bytes policy @p may still allocate, less what other requests reserved;
 * UINT64_MAX for preferred (it falls back).
 */
int cdm_policy_avail(struct cdm_fs *fs, const struct cdm_policy *p,
		     uint64_t *avail);
/**
 * Reserve @bytes on the devices of @p: -ENOSPC if they do not fit.  On 0,
 * release @r with cdm_capacity_release() once the allocation is done (or
 * failed).  Nothing is reserved for preferred.
 */
int cdm_capacity_reserve(struct cdm_fs *fs, const struct cdm_policy *p,
			 uint64_t bytes, struct cdm_reservation *r);
/** The same for the policy @inode follows (nothing for the root). */
int cdm_capacity_reserve_inode(struct cdm_fs *fs, struct cdm_inode *inode,
			       uint64_t bytes, struct cdm_reservation *r);
void cdm_capacity_release(struct cdm_fs *fs, struct cdm_reservation *r);
/**
 * -ENOSPC if a regular file created in @parent would land on a full
 * device.  A simulated device's last walk stands for a second or more.
 */
int cdm_capacity_new_file(struct cdm_fs *fs, struct cdm_inode *parent);
/** Memory of device @dev was freed or taken: walk it again next time. */
void cdm_capacity_changed(struct cdm_fs *fs, uint16_t dev);
/** Bytes of [@from, @to) that shmem file @fd has no pages for (whole pages). */
int cdm_capacity_unallocated(int fd, off_t from, off_t to, uint64_t *bytes);
/**
 * Capacity, bytes in use and bytes free of device @devidx now.  Free is
 * also bounded by the store's own free space (the host backstop), so
 * @used + @avail may be less than @size; a simulated device can hold more
 * than its size (@used > @size) when passthrough writes overfilled it.
 */
int cdm_device_usage(struct cdm_fs *fs, uint16_t devidx, uint64_t *size,
		     uint64_t *used, uint64_t *avail);

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
