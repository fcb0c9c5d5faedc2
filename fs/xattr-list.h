/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What listxattr shows of a backing inode's names (xattr.c). */
#ifndef CDMFS_FS_XATTR_LIST_H
#define CDMFS_FS_XATTR_LIST_H

#include <stdbool.h>
#include <stddef.h>

/**
 * Drop from list @buf of @n bytes (NUL-terminated names, as listxattr(2)
 * returns them) the user.cdm.* names the daemon keeps for itself;
 * user.cdm.policy stays.  trusted.* names go too unless @trusted (a
 * caller with CAP_SYS_ADMIN).  Returns the new length; @buf is compacted
 * in place.
 */
size_t cdm_xattr_hide_own(char *buf, size_t n, bool trusted);

#endif
