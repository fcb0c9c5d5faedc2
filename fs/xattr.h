/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The xattr requests (xattr.c): user.cdm.* and the backing inode's own. */
#ifndef CDMFS_FS_XATTR_H
#define CDMFS_FS_XATTR_H

#include <stdbool.h>
#include <stddef.h>

#include "req.h"

void cdm_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags);
void cdm_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size);
void cdm_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void cdm_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);
/**
 * Drop from list @buf of @n bytes (NUL-terminated names, as listxattr(2)
 * returns them) the user.cdm.* names the daemon keeps for itself;
 * user.cdm.policy stays.  trusted.* names go too unless @trusted (a
 * caller with CAP_SYS_ADMIN).  Returns the new length; @buf is compacted
 * in place.
 */
size_t cdm_xattr_hide_own(char *buf, size_t n, bool trusted);

#endif
