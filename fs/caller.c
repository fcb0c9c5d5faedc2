// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The caller of a request (caller.h): its credentials read from /proc, its
 * umask, and the kernel's set-uid/set-gid rules applied for it on the
 * backing tmpfs, where the daemon acts as root.  The rules themselves are
 * pure functions in perm.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "caller.h"
#include "inode.h"
#include "perm.h"
#include "req.h"


/*
 * True if thread @pid is in our user namespace.  The kernel's checks
 * (capable()) count capabilities in the initial one, where we are: those
 * of a process in a namespace of its own (a rootless container's root)
 * do not count.
 */
static bool same_userns(pid_t pid)
{
	char path[40];
	struct stat a, b;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	return !stat(path, &a) && !stat("/proc/self/ns/user", &b) &&
	       a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/*
 * The credentials of the thread that made @req, from /proc/TID/status (the
 * kernel checked them already; we need CAP_FSETID and the groups, which
 * the request does not carry).  The thread waits for our reply, so they
 * cannot change meanwhile.  Without a view of it (another pid namespace),
 * its ids from the request, and root taken as having CAP_FSETID.
 */
void cdm_caller_of(fuse_req_t req, struct cdm_caller *c)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char path[32], buf[8192];
	ssize_t n = -1;
	int fd;

	if (ctx->pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/status", (int)ctx->pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
		}
	}
	if (n > 0) {
		buf[n] = '\0';
		if (!cdm_caller_parse_status(buf, c) && c->fsuid == ctx->uid &&
		    c->fsgid == ctx->gid) {
			if ((c->fsetid || c->sys_admin) && !same_userns(ctx->pid))
				c->fsetid = c->sys_admin = false;
			return;
		}
	}
	memset(c, 0, sizeof(*c));
	c->fsuid = ctx->uid;
	c->fsgid = ctx->gid;
	c->fsetid = c->sys_admin = ctx->uid == 0;
}

/*
 * Clear set-uid/set-gid of a regular file as the kernel would for the
 * caller of @req (fs/attr.c setattr_should_drop_suidgid): after a write or
 * truncate by a caller without CAP_FSETID, or after any chown (@chown;
 * @gid is the file's group before it).  KILLPRIV_V2 leaves this to us, and
 * tmpfs never sees the caller: we act as root, who keeps the bits.
 * Returns 1 if the mode changed, 0 if not, or -errno.
 */
int cdm_kill_priv(fuse_req_t req, struct cdm_inode *inode, bool chown,
		  gid_t gid)
{
	char path[CDM_PROCFD_MAX];
	struct cdm_caller c;
	struct stat st;
	int fd = cdm_inode_fd(&cdm_fs_of(req)->table, inode), ret = 0;
	mode_t m;

	if (fd < 0)
		return fd;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		ret = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || !(st.st_mode & (S_ISUID | S_ISGID)))
		goto out;
	cdm_caller_of(req, &c);
	if (!chown && c.fsetid)
		goto out;
	if (!chown)
		gid = st.st_gid;
	m = cdm_mode_after_kill(st.st_mode,
				cdm_caller_in_group(&c, gid) || c.fsetid);
	if (m == st.st_mode)
		goto out;
	cdm_procfd(path, fd);
	ret = chmod(path, m & 07777) ? -errno : 1;
out:
	cdm_inode_fd_put(inode, fd);
	return ret;
}

/*
 * Setting an access ACL clears set-gid when the caller is neither in the
 * file's group nor has CAP_FSETID (posix_acl_update_mode; the kernel's
 * FUSE_SETXATTR_ACL_KILL_SGID, which libfuse 3.17 does not pass on).
 * tmpfs saw root set it and kept the bit.
 */
int cdm_acl_kill_sgid(fuse_req_t req, struct cdm_inode *inode)
{
	char path[CDM_PROCFD_MAX];
	struct cdm_caller c;
	struct stat st;
	int fd = cdm_inode_fd(&cdm_fs_of(req)->table, inode), ret = 0;

	if (fd < 0)
		return fd;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		ret = -errno;
		goto out;
	}
	if (!(st.st_mode & S_ISGID))
		goto out;
	cdm_caller_of(req, &c);
	if (c.fsetid || cdm_caller_in_group(&c, st.st_gid))
		goto out;
	cdm_procfd(path, fd);
	ret = chmod(path, st.st_mode & 07777 & ~S_ISGID) ? -errno : 0;
out:
	cdm_inode_fd_put(inode, fd);
	return ret;
}

/*
 * Create with the caller's umask, as tmpfs would for a local caller: it
 * applies the umask unless the parent has a default ACL (posix_acl_create).
 * The umask is per process, so each worker thread first takes its own
 * fs_struct (unshare(CLONE_FS), as virtiofsd does); our threads use no
 * cwd.  If that fails, the mode is masked here (default ACLs then lose).
 */
void cdm_use_caller_umask(fuse_req_t req, mode_t *mode)
{
	/* 1: unshared, 2: and our umask is @cur, -1: cannot unshare */
	static __thread int own_fs;
	static __thread mode_t cur;
	mode_t mask = fuse_req_ctx(req)->umask;

	if (!own_fs)
		own_fs = unshare(CLONE_FS) ? -1 : 1;
	if (own_fs < 0) {
		*mode &= ~mask;
	} else if (own_fs == 1 || mask != cur) {
		/* a syscall per change, not per create: umasks rarely vary */
		umask(mask);
		cur = mask;
		own_fs = 2;
	}
}

/*
 * New inodes are made by the daemon (root) and handed to the caller, as a
 * local filesystem would: the group is the caller's unless the directory is
 * setgid, where the backing filesystem already gave it the directory's.
 * @fd is any fd of the new inode, @opath if it is an O_PATH one (fchown
 * takes no O_PATH fd), @pfd one of its parent.  chown clears set-uid and
 * set-gid (chown_common), which the caller asked for and the kernel vetted
 * (vfs_prepare_mode strips what it may not have): put them back.  Nothing
 * to do when the inode has the caller's ids already (a caller with our own
 * ids, root mostly): the parent's mode is read only when the group differs.
 */
int cdm_give_to_caller(fuse_req_t req, int pfd, int fd, bool opath)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	char path[CDM_PROCFD_MAX];
	struct stat dir, st;
	gid_t gid = ctx->gid;
	int ret;

	if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (st.st_gid != ctx->gid &&
	    !fstatat(pfd, "", &dir, AT_EMPTY_PATH) &&
	    dir.st_mode & S_ISGID)
		gid = (gid_t)-1;
	if (st.st_uid == ctx->uid && (gid == (gid_t)-1 || st.st_gid == gid))
		return 0;
	if (opath)
		ret = fchownat(fd, "", ctx->uid, gid,
			       AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	else
		ret = fchown(fd, ctx->uid, gid);
	if (ret)
		return -errno;
	if (S_ISLNK(st.st_mode) || !(st.st_mode & (S_ISUID | S_ISGID)))
		return 0;
	if (!opath)
		return fchmod(fd, st.st_mode & 07777) ? -errno : 0;
	cdm_procfd(path, fd);
	return chmod(path, st.st_mode & 07777) ? -errno : 0;
}

/* An O_PATH fd of @name in parent @pfd, for cdm_give_to_caller(). */
int cdm_give_name_to_caller(fuse_req_t req, int pfd, const char *name)
{
	int fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = cdm_give_to_caller(req, pfd, fd, true);
	close(fd);
	return ret;
}
