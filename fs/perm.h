/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who asked, and the mode rules the daemon applies for them.
 *
 * The daemon acts on the backing tmpfs as root, so tmpfs never sees the
 * caller: clearing set-uid/set-gid on write, truncate and chown by a caller
 * without CAP_FSETID (we negotiate FUSE_HANDLE_KILLPRIV_V2, which makes it
 * our job), the umask, and set-uid/set-gid asked for at creation are done
 * here, by the kernel's own rules (fs/attr.c setattr_should_drop_sgid,
 * setattr_should_drop_suidgid; fs/inode.c inode_init_owner).
 */
#ifndef CDMFS_FS_PERM_H
#define CDMFS_FS_PERM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CDM_CALLER_GROUPS_MAX 64

/* A caller's credentials as the kernel checks them for file operations. */
struct cdm_caller {
	uid_t fsuid;
	gid_t fsgid;
	bool fsetid;			/* CAP_FSETID in its effective set */
	bool sys_admin;			/* CAP_SYS_ADMIN: sees trusted.* */
	size_t ngroups;			/* supplementary groups known */
	gid_t groups[CDM_CALLER_GROUPS_MAX];
};

/**
 * Parse the text of /proc/PID/status into @c.  Returns 0, or -EINVAL when
 * a line it needs (Uid, Gid, CapEff) is missing or malformed.  More than
 * CDM_CALLER_GROUPS_MAX supplementary groups are cut off there.
 */
int cdm_caller_parse_status(const char *text, struct cdm_caller *c);

/** True if @c's fsgid or one of its supplementary groups is @gid. */
bool cdm_caller_in_group(const struct cdm_caller *c, gid_t gid);

/**
 * Mode of a regular file after the kernel kills its privileges (a write or
 * truncate by a caller without CAP_FSETID, any chown): set-uid always
 * goes; set-gid goes when group-executable, or when the caller is neither
 * in the file's group nor has CAP_FSETID (@in_group_or_capable false).
 * Other file types keep their mode.
 */
unsigned int cdm_mode_after_kill(unsigned int mode, bool in_group_or_capable);

#endif
