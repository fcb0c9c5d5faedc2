/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which policy a file or directory follows (policystore.c).
 */
#ifndef CDMFS_FS_POLICYSTORE_H
#define CDMFS_FS_POLICYSTORE_H

#include "fs.h"

struct cdm_devpolicy;
/** Set up and tear down the cache of the device directories' policies. */
int cdm_policystore_open(struct cdm_fs *fs);
void cdm_policystore_close(struct cdm_fs *fs);
/** After the daemon wrote or removed @inode's policy xattr. */
void cdm_policy_written(struct cdm_fs *fs, struct cdm_inode *inode);
/** Drop the cached policy of device @dev's directory (it may have changed). */
void cdm_forget_device_policy(struct cdm_fs *fs, uint16_t dev);
/**
 * The policy the files that follow device @dev's directory get: 1 and the
 * directory's own, 0 and bind:<device>, or -errno.
 */
int cdm_device_policy(struct cdm_fs *fs, uint16_t dev, struct cdm_policy *p);
/**
 * The policy @inode follows, in @p: 1 when it is @inode's own (for a device
 * directory, the directory's), which a file created in @inode copies; 0
 * when @inode follows its device's; -ENODATA for the root, other -errno.
 */
int cdm_own_policy(struct cdm_fs *fs, struct cdm_inode *inode,
		   struct cdm_policy *p);
/** The policy @inode follows; -ENODATA for the root. */
int cdm_effective_policy(struct cdm_fs *fs, struct cdm_inode *inode,
			 struct cdm_policy *p);
/**
 * How a file of device @dev follows policy @p (not inherit), by @dev's
 * backend: 0 and @pl, or -errno (-EINVAL: such a file cannot follow @p).
 */
int cdm_placement_of(struct cdm_fs *fs, const struct cdm_policy *p,
		     uint16_t dev, struct cdm_placement *pl);

#endif
