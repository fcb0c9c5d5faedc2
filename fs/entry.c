// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * What the kernel caches of an inode (entry.h): lookups, getattr and
 * setattr on the backing inode, and how long the kernel may trust them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caller.h"
#include "capacity.h"
#include "entry.h"
#include "fs.h"
#include "lodge.h"
#include "namespace.h"

/*
 * How long the kernel may cache @inode's attributes.  The daemon is the
 * only writer of its store, so by default that is long (-o attr_timeout):
 * what the kernel does through FUSE it accounts for itself (write,
 * truncate, setattr, xattrs, link counts, a parent's times), and what the
 * daemon changes on its own it invalidates (cdm_inval_attr).  One writer
 * is not seen by either: a write through a passthrough mapping faults on
 * the backing file and updates its times there (backing_file_mmap made it
 * the mapping's file), and 6.18 has no passthrough getattr.  So a regular
 * file that was ever opened O_RDWR through passthrough (the only way to
 * map it shared writable) has its attributes never cached, and stat sees
 * such writes at once, as on tmpfs: each stat of it costs a GETATTR.  That
 * holds after the last close too, as long as the daemon knows the inode
 * (a mapping outlives its fd, and no request tells of the munmap); the
 * flag goes with the inode at FORGET.  write() needs none of this (the
 * kernel updates the FUSE inode), nor do read-only opens.
 */
double cdm_attr_timeout(struct cdm_fs *fs, struct cdm_inode *inode,
			const struct stat *st)
{
	bool mapped;

	if (!S_ISREG(st->st_mode))
		return fs->opt.attr_timeout;
	pthread_mutex_lock(&inode->lock);
	mapped = inode->mapped_rw;
	pthread_mutex_unlock(&inode->lock);
	return mapped ? 0 : fs->opt.attr_timeout;
}

/*
 * Out of fds: say so in the log (once per burst) and answer ENFILE, the
 * daemon's shortage, not EMFILE, which would blame the caller's own limit.
 */
static int lookup_fd_error(struct cdm_fs *fs, uint16_t devidx,
			   const char *name, int err)
{
	char what[NAME_MAX + 64];

	if (err != EMFILE && err != ENFILE)
		return -err;
	snprintf(what, sizeof(what), "lookup of '%s' in %s", name,
		 devidx == CDM_NO_DEVICE ? "/" : fs->devices.dev[devidx].name);
	cdm_fd_exhausted(&fs->table, what, err);
	return -ENFILE;
}

int cdm_entry_lookup(struct cdm_fs *fs, struct cdm_inode *parent,
		     const char *name, struct fuse_entry_param *e)
{
	struct cdm_inode *inode;
	uint16_t devidx = parent->dev;
	int fd, pfd;

	memset(e, 0, sizeof(*e));
	e->attr_timeout = e->entry_timeout = fs->opt.attr_timeout;
	if (cdm_ns_is_root(fs, parent)) {
		int i = cdm_ns_device_index(fs, name);

		if (i < 0)
			return i;
		devidx = (uint16_t)i;
	}
	pfd = cdm_inode_fd(&fs->table, parent);
	if (pfd < 0)
		return lookup_fd_error(fs, devidx, name, -pfd);
	fd = openat(pfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	fd = fd < 0 ? -errno : fd;
	cdm_inode_fd_put(parent, pfd);
	if (fd < 0)
		return lookup_fd_error(fs, devidx, name, -fd);
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	/* a marker: the name of a file lodged on another device (lodge.h) */
	if (fs->any_devsb) {
		int ret;

		cdm_lodge_enter(fs);
		ret = cdm_lodge_resolve(fs, &fd, &e->attr);
		cdm_lodge_leave(fs);
		if (ret < 0) {
			close(fd);
			return ret;
		}
	}
	inode = cdm_inode_get_mode(&fs->table, e->attr.st_ino, e->attr.st_dev,
				   fd, devidx, 1, e->attr.st_mode);
	if (!inode)
		return lookup_fd_error(fs, devidx, name, errno);
	e->ino = cdm_ino_of(fs, inode);
	e->attr_timeout = cdm_attr_timeout(fs, inode, &e->attr);
	return 0;
}

int cdm_attr_get(struct cdm_fs *fs, struct cdm_inode *inode, struct stat *st)
{
	int fd, ret = 0;

	fd = cdm_inode_fd(&fs->table, inode);
	if (fd < 0)
		return fd;
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		ret = -errno;
	cdm_inode_fd_put(inode, fd);
	return ret;
}

/* @fd: an O_PATH fd of @inode (cdm_inode_fd) */
static int do_setattr(fuse_req_t req, struct cdm_fs *fs,
		      struct cdm_inode *inode, int fd, struct stat *attr,
		      int valid, struct fuse_file_info *fi)
{
	char path[CDM_PROCFD_MAX];
	struct stat st, before;
	int err;

	cdm_procfd(path, fd);
	if (fstatat(fd, "", &before, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (valid & FUSE_SET_ATTR_MODE) {
		if (chmod(path, attr->st_mode & 07777))
			return -errno;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

		if (fchownat(fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		bool grow = !fstatat(fd, "", &st, AT_EMPTY_PATH) &&
			    attr->st_size > st.st_size;
		int ret = 0;

		/*
		 * Without -o reserve growth is a hole, as on tmpfs: it takes
		 * no memory, so a size beyond the device's free memory is
		 * no ENOSPC (LMDB sizes its file to the map size).  Pages
		 * faulted in later are bounded by the kernel (store size=).
		 */
		if (grow && fs->opt.reserve)
			ret = cdm_capacity_grow(fs, inode, fi ? (int)fi->fh : -1,
						st.st_size, attr->st_size);
		if (!ret && (fi ? ftruncate(fi->fh, attr->st_size)
				: truncate(path, attr->st_size)))
			ret = -errno;
		if (ret)
			return ret;
		if (!grow)	/* it may have freed memory */
			cdm_capacity_changed(fs, inode->dev);
	}
	if (valid & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
		struct timespec tv[2] = {
			{ .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT },
		};

		if (valid & FUSE_SET_ATTR_ATIME_NOW)
			tv[0].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_ATIME)
			tv[0] = attr->st_atim;
		if (valid & FUSE_SET_ATTR_MTIME_NOW)
			tv[1].tv_nsec = UTIME_NOW;
		else if (valid & FUSE_SET_ATTR_MTIME)
			tv[1] = attr->st_mtim;
		if (utimensat(fd, "", tv, AT_EMPTY_PATH))
			return -errno;
	}
	/*
	 * KILLPRIV_V2 leaves clearing suid/sgid to us.  The kernel's one
	 * FATTR_KILL_SUIDGID (libfuse's FUSE_SET_ATTR_KILL_SUID) means both
	 * bits: on truncate by a caller without CAP_FSETID, on any chown.
	 * A SETATTR that sets nothing is file_remove_privs() of a write by
	 * such a caller (fuse_setattr drops the kill bits and sends the rest,
	 * which is nothing), on either data path.
	 */
	if (valid & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID)) {
		err = cdm_kill_priv(req, inode,
				    valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID),
				    before.st_gid);
		if (err < 0)
			return err;
	} else if (!valid) {
		err = cdm_kill_priv(req, inode, false, before.st_gid);
		if (err < 0)
			return err;
	}
	return 0;
}

int cdm_attr_set(fuse_req_t req, struct cdm_inode *inode, struct stat *attr,
		 int valid, struct fuse_file_info *fi, struct stat *st)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	int ret, fd;

	fd = cdm_inode_fd(&fs->table, inode);
	ret = fd < 0 ? fd : do_setattr(req, fs, inode, fd, attr, valid, fi);
	if (!ret && fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		ret = -errno;
	cdm_inode_fd_put(inode, fd);
	return ret;
}
