// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Extended attributes: the computed user.cdm.* ones, and everything else
 * stored on the backing inode as tmpfs stores it (user.*, trusted.*,
 * security.*).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "cdmfs/xattr.h"
#include "caller.h"
#include "fs.h"
#include "migrator.h"
#include "perm.h"
#include "placement.h"
#include "req.h"
#include "stats.h"
#include "tiering.h"
#include "xattr.h"

static bool is_regular(struct cdm_fs *fs, struct cdm_inode *inode)
{
	struct stat st;
	int fd = cdm_inode_fd(&fs->table, inode);
	bool reg = fd >= 0 &&
		   !fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) &&
		   S_ISREG(st.st_mode);

	cdm_inode_fd_put(inode, fd);
	return reg;
}

static bool is_cdm_name(const char *name)
{
	return !strncmp(name, CDM_XATTR_PREFIX, strlen(CDM_XATTR_PREFIX));
}

/*
 * The value of computed attribute @name of @ino, malloc'd, or NULL with
 * errno: ENODATA when @ino has no such attribute.
 */
static char *computed_value(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *inode = cdm_inode_of(req, ino);

	if (ino == FUSE_ROOT_ID && !strcmp(name, CDM_XATTR_DEVICES))
		return cdm_devices_format(fs);
	if (ino == FUSE_ROOT_ID && !strcmp(name, CDM_XATTR_STATS))
		return cdm_stats_format(fs, cdm_req_is_uring(req));
	if (!strcmp(name, CDM_XATTR_POLICY)) {
		if (ino == FUSE_ROOT_ID) {
			errno = ENODATA;
			return NULL;
		}
		return cdm_policy_value(fs, inode);
	}
	if (ino == FUSE_ROOT_ID && !strcmp(name, CDM_XATTR_DATAPATH))
		/* the mount's: what the next open gets (cdmfsctl status) */
		return strdup(atomic_load(&fs->passthrough) ? "passthrough"
							    : "daemon");
	if (!is_regular(fs, inode)) {
		errno = ENODATA;
		return NULL;
	}
	if (!strcmp(name, CDM_XATTR_RESIDENCY))
		return cdm_residency_value(fs, inode, false);
	if (!strcmp(name, CDM_XATTR_DRIFT))
		return cdm_residency_value(fs, inode, true);
	if (!strcmp(name, CDM_XATTR_MIGRATION))
		return cdm_migration_value(inode);
	if (!strcmp(name, CDM_XATTR_HEAT))
		return cdm_heat_value(fs, inode);
	if (!strcmp(name, CDM_XATTR_DATAPATH)) {
		uint8_t dp;

		pthread_mutex_lock(&inode->lock);
		dp = inode->datapath;
		pthread_mutex_unlock(&inode->lock);
		if (dp == CDM_DATAPATH_NONE)
			dp = atomic_load(&fs->passthrough) ?
				     CDM_DATAPATH_PASSTHROUGH : CDM_DATAPATH_DAEMON;
		return strdup(dp == CDM_DATAPATH_PASSTHROUGH ? "passthrough"
							     : "daemon");
	}
	errno = ENODATA;
	return NULL;
}

static bool is_computed(const char *name)
{
	static const char *const names[] = {
		CDM_XATTR_DATAPATH, CDM_XATTR_DEVICES, CDM_XATTR_STATS,
		CDM_XATTR_RESIDENCY, CDM_XATTR_MIGRATION, CDM_XATTR_DRIFT,
		CDM_XATTR_HEAT,
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

static void reply_value(fuse_req_t req, const char *value, size_t len,
			size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

/*
 * Path through which the backing inode's xattrs are reached.  Returns the
 * fd it names, to give back with cdm_inode_fd_put(), or -errno.
 */
static int xattr_path(fuse_req_t req, struct cdm_inode *inode,
		      char buf[CDM_PROCFD_MAX])
{
	int fd = cdm_inode_fd(&cdm_fs_of(req)->table, inode);

	/*
	 * The /proc link of an O_PATH fd ends at the inode it names, a
	 * symlink included: getxattr() through it does not follow the
	 * symlink any further (lgetxattr() would act on the /proc link).
	 */
	if (fd >= 0)
		cdm_procfd(buf, fd);
	return fd;
}

void cdm_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  size_t size)
{
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	char path[CDM_PROCFD_MAX], *value = NULL;
	ssize_t n;
	int fd;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_GETXATTR);
	if (is_cdm_name(name)) {
		value = computed_value(req, ino, name);
		if (!value) {
			fuse_reply_err(req, errno);
			return;
		}
		reply_value(req, value, strlen(value), size);
		free(value);
		return;
	}
	fd = xattr_path(req, inode, path);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	if (size == 0) {
		n = getxattr(path, name, NULL, 0);
		n = n < 0 ? -errno : n;
		cdm_inode_fd_put(inode, fd);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_xattr(req, (size_t)n);
		return;
	}
	value = malloc(size);
	n = !value ? -ENOMEM : getxattr(path, name, value, size);
	n = n == -1 ? -errno : n;
	cdm_inode_fd_put(inode, fd);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, value, (size_t)n);
	free(value);
}

void cdm_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		  const char *value, size_t size, int flags)
{
	char path[CDM_PROCFD_MAX];
	int ret, fd;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_SETXATTR);
	if (!strcmp(name, CDM_XATTR_POLICY)) {
		ret = cdm_set_policy(cdm_fs_of(req), cdm_inode_of(req, ino),
				     fuse_req_ctx(req)->uid, value, size);
		fuse_reply_err(req, -ret);
		return;
	}
	if (is_cdm_name(name)) {
		/* computed attributes are read-only; others do not exist */
		fuse_reply_err(req, is_computed(name) ? EPERM : EINVAL);
		return;
	}
	fd = xattr_path(req, cdm_inode_of(req, ino), path);
	ret = fd < 0 ? fd : setxattr(path, name, value, size, flags) ? -errno : 0;
	cdm_inode_fd_put(cdm_inode_of(req, ino), fd);
	if (!ret && !strcmp(name, "system.posix_acl_access"))
		ret = cdm_acl_kill_sgid(req, cdm_inode_of(req, ino));
	fuse_reply_err(req, -ret);
}

/*
 * Drop from list @buf of @n bytes the user.cdm.* names the daemon keeps
 * for itself (user.cdm.pending); user.cdm.policy stays.  trusted.* names
 * go too unless @trusted: the kernel shows them only to CAP_SYS_ADMIN
 * (and filters them for tmpfs, not for FUSE), and we listed as root.
 * Returns the new length.
 */
size_t cdm_xattr_hide_own(char *buf, size_t n, bool trusted)
{
	size_t in = 0, out = 0;

	while (in < n) {
		size_t len = strnlen(buf + in, n - in) + 1;

		if ((!is_cdm_name(buf + in) ||
		     !strcmp(buf + in, CDM_XATTR_POLICY)) &&
		    (trusted || strncmp(buf + in, "trusted.", 8))) {
			memmove(buf + out, buf + in, len);
			out += len;
		}
		in += len;
	}
	return out;
}

void cdm_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	char path[CDM_PROCFD_MAX], *buf = NULL;
	ssize_t n;
	int fd;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_LISTXATTR);
	fd = xattr_path(req, inode, path);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	/* the whole list, also for its size: some names are not shown */
	for (;;) {
		n = listxattr(path, NULL, 0);
		if (n < 0) {
			n = -errno;
			break;
		}
		free(buf);
		buf = malloc((size_t)n + 1);
		if (!buf) {
			n = -ENOMEM;
			break;
		}
		n = listxattr(path, buf, (size_t)n);
		if (n >= 0 || errno != ERANGE) {
			n = n < 0 ? -errno : n;
			break;		/* else it grew meanwhile */
		}
	}
	cdm_inode_fd_put(inode, fd);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
	} else {
		struct cdm_caller c = { .sys_admin = true };

		/* the caller's capabilities cost a read of /proc: only if needed */
		if (memmem(buf, (size_t)n, "trusted.", 8))
			cdm_caller_of(req, &c);
		n = (ssize_t)cdm_xattr_hide_own(buf, (size_t)n, c.sys_admin);
		reply_value(req, buf, (size_t)n, size);
	}
	free(buf);
}

void cdm_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	char path[CDM_PROCFD_MAX];
	int ret, fd;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_REMOVEXATTR);
	if (!strcmp(name, CDM_XATTR_POLICY)) {
		ret = cdm_set_policy(cdm_fs_of(req), cdm_inode_of(req, ino),
				     fuse_req_ctx(req)->uid, "inherit", 7);
		fuse_reply_err(req, -ret);
		return;
	}
	if (is_cdm_name(name)) {
		fuse_reply_err(req, is_computed(name) ? EPERM : ENODATA);
		return;
	}
	fd = xattr_path(req, cdm_inode_of(req, ino), path);
	ret = fd < 0 ? -fd : removexattr(path, name) ? errno : 0;
	cdm_inode_fd_put(cdm_inode_of(req, ino), fd);
	fuse_reply_err(req, ret);
}
