// SPDX-License-Identifier: GPL-2.0-or-later
/* The FUSE side of the daemon's state: see req.h. */
#include <errno.h>
#include <string.h>

#include "cdmfs/log.h"
#include "fs.h"
#include "req.h"

bool cdm_req_is_uring(fuse_req_t req)
{
#if FUSE_VERSION >= FUSE_MAKE_VERSION(3, 18)
	return fuse_req_is_uring(req);
#else
	return false;
#endif
}

/*
 * Drop the attributes the kernel caches for @inode: the daemon changed
 * them on its own, outside any request for it.  Attributes only (offset
 * -1): the kernel takes no page or inode lock for that, so this is safe
 * from any thread, even while a request on @inode waits for us.
 */
void cdm_inval_attr(struct cdm_fs *fs, struct cdm_inode *inode)
{
	int ret;

	if (!fs->se)
		return;
	ret = fuse_lowlevel_notify_inval_inode(fs->se, cdm_ino_of(fs, inode), -1, 0);
	/*
	 * ENOENT: the kernel has forgotten it; ENODEV, ENOTCONN: the mount
	 * is gone (a migration stopped at exit).  Nothing is cached then.
	 */
	if (ret && ret != -ENOENT && ret != -ENODEV && ret != -ENOTCONN)
		cdm_log(LOG_WARNING, "inode %llu: cannot drop the kernel's cached attributes: %s",
			(unsigned long long)inode->src_ino, strerror(-ret));
}
