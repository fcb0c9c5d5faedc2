// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The root namespace rules (namespace.h).  The store's root directory may
 * hold more than this mount's device directories: only those are looked
 * up or listed at the root.
 */
#include <errno.h>
#include <string.h>
#include "fs.h"
#include "namespace.h"


int cdm_ns_device_index(const struct cdm_fs *fs, const char *name)
{
	struct cdm_device *d = cdm_device_find(&fs->devices, name);

	return d ? (int)(d - fs->devices.dev) : -ENOENT;
}

/* Nothing but the device directories lives at the root. */
int cdm_ns_may_create(const struct cdm_fs *fs, const struct cdm_inode *parent)
{
	return cdm_ns_is_root(fs, parent) ? -EPERM : 0;
}

int cdm_ns_may_link(const struct cdm_fs *fs, const struct cdm_inode *inode,
		    const struct cdm_inode *newparent)
{
	int ret = cdm_ns_may_create(fs, newparent);

	/* one file's memory is on one device: no links across devices */
	if (!ret && newparent->dev != inode->dev)
		ret = -EXDEV;
	return ret;
}

int cdm_ns_may_unlink(const struct cdm_fs *fs, const struct cdm_inode *parent)
{
	return cdm_ns_is_root(fs, parent) ? -EPERM : 0;
}

int cdm_ns_may_rmdir(const struct cdm_fs *fs, const struct cdm_inode *parent,
		     const char *name)
{
	if (!cdm_ns_is_root(fs, parent))
		return 0;
	return cdm_ns_device_index(fs, name) >= 0 ? -EBUSY : -ENOENT;
}

int cdm_ns_may_rename(const struct cdm_fs *fs, const struct cdm_inode *parent,
		      const struct cdm_inode *newparent)
{
	return cdm_ns_is_root(fs, parent) || cdm_ns_is_root(fs, newparent) ?
	       -EPERM : 0;
}

bool cdm_ns_hidden(const struct cdm_fs *fs, bool root, const char *name)
{
	return root && strcmp(name, ".") && strcmp(name, "..") &&
	       cdm_ns_device_index(fs, name) < 0;
}
