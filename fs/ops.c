// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE low-level operations.
 *
 * Every handler works on the backing store through O_PATH fds and replies
 * exactly once; internal helpers return 0 or -errno and only the reply turns
 * errno positive.  Regular files are opened with FUSE passthrough, so read,
 * write, splice and mmap of an open file never come here; read and write
 * below serve only the fallback data path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cdmfs.h"
#include "cdmfs/log.h"
#include "ops.h"

static fuse_ino_t ino_of(struct cdm_fs *fs, struct cdm_inode *inode)
{
	return inode == &fs->root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)inode;
}

static bool is_root(struct cdm_fs *fs, struct cdm_inode *inode)
{
	return inode == &fs->root;
}

/* Index of the device directory called @name at the root, or -ENOENT. */
static int device_index(struct cdm_fs *fs, const char *name)
{
	struct cdm_device *d = cdm_device_find(&fs->devices, name);

	return d ? (int)(d - fs->devices.dev) : -ENOENT;
}

/*
 * Look @name up in @parent and fill @e, taking one lookup reference on the
 * inode for the kernel.  The root shows the device directories only.
 */
static int do_lookup(struct cdm_fs *fs, struct cdm_inode *parent,
		     const char *name, struct fuse_entry_param *e)
{
	struct cdm_inode *inode;
	uint16_t devidx = parent->dev;
	int fd;

	memset(e, 0, sizeof(*e));
	e->attr_timeout = e->entry_timeout = fs->opt.attr_timeout;
	if (is_root(fs, parent)) {
		int i = device_index(fs, name);

		if (i < 0)
			return i;
		devidx = (uint16_t)i;
	}
	fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	inode = cdm_inode_get(&fs->table, e->attr.st_ino, e->attr.st_dev, fd,
			      devidx, 1);
	if (!inode)
		return -errno;
	e->ino = ino_of(fs, inode);
	return 0;
}

static void reply_entry(fuse_req_t req, struct cdm_inode *parent,
			const char *name)
{
	struct fuse_entry_param e;
	int ret = do_lookup(cdm_fs_of(req), parent, name, &e);

	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_entry(req, &e);
}

static void cdm_init(void *userdata, struct fuse_conn_info *conn)
{
	struct cdm_fs *fs = userdata;

	if (fs->opt.nopassthrough) {
		cdm_log(LOG_NOTICE, "%s: passthrough off (-o nopassthrough): I/O is served by the daemon",
			fs->opt.mountpoint);
	} else if (!fuse_set_feature_flag(conn, FUSE_CAP_PASSTHROUGH)) {
		cdm_log(LOG_WARNING, "%s: kernel offers no FUSE passthrough (needs Linux >= 6.9): I/O is served by the daemon",
			fs->opt.mountpoint);
	} else {
		atomic_store(&fs->passthrough, true);
	}
	/*
	 * Without this the kernel asks us for security.capability before
	 * every write(): SB_NOSEC needs KILLPRIV_V2 (FACTS §1).
	 */
	if (!fuse_set_feature_flag(conn, FUSE_CAP_HANDLE_KILLPRIV_V2))
		cdm_log(LOG_WARNING, "%s: no FUSE_HANDLE_KILLPRIV_V2: each write() costs a daemon round trip",
			fs->opt.mountpoint);
	fuse_set_feature_flag(conn, FUSE_CAP_SPLICE_READ);
	fuse_set_feature_flag(conn, FUSE_CAP_SPLICE_WRITE);
	fuse_set_feature_flag(conn, FUSE_CAP_FLOCK_LOCKS);
	fuse_set_feature_flag(conn, FUSE_CAP_NO_EXPORT_SUPPORT);
	/* passthrough and writeback cache exclude each other */
	fuse_unset_feature_flag(conn, FUSE_CAP_WRITEBACK_CACHE);
	fuse_unset_feature_flag(conn, FUSE_CAP_READDIRPLUS);
	conn->no_interrupt = 1;
	conn->max_write = 1024 * 1024;
}

static void cdm_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct fuse_entry_param e;
	int ret;

	cdm_stat_inc(fs, CDM_STAT_LOOKUP);
	ret = do_lookup(fs, cdm_inode_of(req, parent), name, &e);
	if (ret == -ENOENT) {
		/* a negative entry the kernel may cache */
		e.ino = 0;
		fuse_reply_entry(req, &e);
	} else if (ret) {
		fuse_reply_err(req, -ret);
	} else {
		fuse_reply_entry(req, &e);
	}
}

static void forget_one(struct cdm_fs *fs, fuse_ino_t ino, uint64_t n)
{
	if (ino != FUSE_ROOT_ID)
		cdm_inode_put(&fs->table, (struct cdm_inode *)(uintptr_t)ino, n);
}

static void cdm_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_FORGET);
	forget_one(cdm_fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void cdm_forget_multi(fuse_req_t req, size_t count,
			     struct fuse_forget_data *forgets)
{
	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_FORGET);
	for (size_t i = 0; i < count; i++)
		forget_one(cdm_fs_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void cdm_getattr(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct stat st;

	cdm_stat_inc(fs, CDM_STAT_GETATTR);
	if (fstatat(cdm_inode_of(req, ino)->fd, "", &st,
		    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		fuse_reply_err(req, errno);
	else
		fuse_reply_attr(req, &st, fs->opt.attr_timeout);
}

/*
 * -o reserve: allocate the pages a truncate adds to the file now, under its
 * policy, so a full device says ENOSPC here rather than failing a page
 * fault later (SIGBUS).  The room is reserved first, so concurrent
 * truncates cannot together take more than the device has.  Writes past
 * the end through passthrough never reach the daemon: only truncate growth
 * is covered.
 */
static int reserve(struct cdm_fs *fs, struct cdm_inode *inode,
		   struct fuse_file_info *fi, off_t from, off_t to)
{
	struct cdm_reservation r;
	char path[CDM_PROCFD_MAX];
	int fd = fi ? (int)fi->fh : -1, ret;
	uint64_t need;

	if (fd < 0) {
		cdm_procfd(path, inode->fd);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return -errno;
	}
	/* pages a fallocate(KEEP_SIZE) put past the end are there already */
	ret = cdm_capacity_unallocated(fd, from, to, &need);
	if (!ret)
		ret = cdm_capacity_reserve_inode(fs, inode, need, &r);
	if (ret)
		goto out;
	/* shmem gives back what it allocated when it fails part way */
	if (fallocate(fd, 0, from, to - from))
		ret = errno == ENOMEM ? -ENOSPC : -errno;
	cdm_capacity_release(fs, &r);
out:
	if (!fi)
		close(fd);
	return ret;
}

static int do_setattr(struct cdm_fs *fs, struct cdm_inode *inode,
		      struct stat *attr, int valid, struct fuse_file_info *fi)
{
	char path[CDM_PROCFD_MAX];
	struct stat st;

	cdm_procfd(path, inode->fd);
	if (valid & FUSE_SET_ATTR_MODE) {
		if (chmod(path, attr->st_mode & 07777))
			return -errno;
	}
	if (valid & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		uid_t uid = valid & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t)-1;
		gid_t gid = valid & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t)-1;

		if (fchownat(inode->fd, "", uid, gid,
			     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
			return -errno;
	}
	if (valid & FUSE_SET_ATTR_SIZE) {
		bool grow = !fstatat(inode->fd, "", &st, AT_EMPTY_PATH) &&
			    attr->st_size > st.st_size;
		int ret = 0;

		/*
		 * Without -o reserve growth is a hole, as on tmpfs: it takes
		 * no memory, so a size beyond the device's free memory is
		 * no ENOSPC (LMDB sizes its file to the map size).  Pages
		 * faulted in later are bounded by the kernel (store size=).
		 */
		if (grow && fs->opt.reserve)
			ret = reserve(fs, inode, fi, st.st_size, attr->st_size);
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
		if (utimensat(inode->fd, "", tv, AT_EMPTY_PATH))
			return -errno;
	}
	/* KILLPRIV_V2: the kernel leaves clearing suid/sgid to us */
	if (valid & (FUSE_SET_ATTR_KILL_SUID | FUSE_SET_ATTR_KILL_SGID) &&
	    !fstatat(inode->fd, "", &st, AT_EMPTY_PATH) &&
	    S_ISREG(st.st_mode) && st.st_mode & (S_ISUID | S_ISGID)) {
		mode_t m = st.st_mode & 07777;

		if (valid & FUSE_SET_ATTR_KILL_SUID)
			m &= ~S_ISUID;
		if (valid & FUSE_SET_ATTR_KILL_SGID && st.st_mode & S_IXGRP)
			m &= ~S_ISGID;
		if (chmod(path, m))
			return -errno;
	}
	return 0;
}

static void cdm_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			int valid, struct fuse_file_info *fi)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	struct stat st;
	int ret;

	cdm_stat_inc(fs, CDM_STAT_SETATTR);
	ret = do_setattr(fs, inode, attr, valid, fi);
	if (!ret && fstatat(inode->fd, "", &st,
			    AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		ret = -errno;
	if (ret)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, fs->opt.attr_timeout);
}

static void cdm_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[PATH_MAX + 1];
	ssize_t n;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_READLINK);
	n = readlinkat(cdm_inode_of(req, ino)->fd, "", buf, sizeof(buf));
	if (n < 0)
		fuse_reply_err(req, errno);
	else if (n == sizeof(buf))
		fuse_reply_err(req, ENAMETOOLONG);
	else {
		buf[n] = '\0';
		fuse_reply_readlink(req, buf);
	}
}

/*
 * New inodes are made by the daemon (root) and handed to the caller, as a
 * local filesystem would: the group is the caller's unless the directory is
 * setgid, where the backing filesystem already gave it the directory's.
 */
static int give_to_caller(fuse_req_t req, struct cdm_inode *parent,
			  const char *name)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct stat dir;
	gid_t gid = ctx->gid;

	if (!fstatat(parent->fd, "", &dir, AT_EMPTY_PATH) &&
	    dir.st_mode & S_ISGID)
		gid = (gid_t)-1;
	if (fchownat(parent->fd, name, ctx->uid, gid, AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

/* Nothing but the device directories lives at the root. */
static int check_parent(struct cdm_fs *fs, struct cdm_inode *parent)
{
	return is_root(fs, parent) ? -EPERM : 0;
}

/* Give a new inode its parent's policy and bind a new file's memory. */
static int place_new(struct cdm_fs *fs, struct cdm_inode *parent,
		     const char *name, int fd, bool regular)
{
	int ret = cdm_place_new(fs, parent, fd, regular);

	if (ret)
		cdm_log(LOG_ERR, "%s/%s: cannot place: %s",
			fs->devices.dev[parent->dev].name, name, strerror(-ret));
	return ret;
}

static void cdm_mknod(fuse_req_t req, fuse_ino_t parent_ino, const char *name,
		      mode_t mode, dev_t rdev)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *parent = cdm_inode_of(req, parent_ino);
	int ret, fd;

	cdm_stat_inc(fs, CDM_STAT_MKNOD);
	ret = check_parent(fs, parent);
	if (ret)
		goto out_err;
	if (S_ISREG(mode)) {
		fd = openat(parent->fd, name,
			    O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, mode & 07777);
		if (fd < 0) {
			ret = -errno;
			goto out_err;
		}
		/* a full device takes no new file (capacity.c) */
		ret = cdm_capacity_new_file(fs, parent);
		if (!ret)
			ret = place_new(fs, parent, name, fd, true);
		close(fd);
	} else if (mknodat(parent->fd, name, mode, rdev)) {
		ret = -errno;
		goto out_err;
	}
	if (!ret)
		ret = give_to_caller(req, parent, name);
	if (ret) {
		unlinkat(parent->fd, name, 0);
		goto out_err;
	}
	reply_entry(req, parent, name);
	return;
out_err:
	fuse_reply_err(req, -ret);
}

static void cdm_mkdir(fuse_req_t req, fuse_ino_t parent_ino, const char *name,
		      mode_t mode)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *parent = cdm_inode_of(req, parent_ino);
	int ret;

	cdm_stat_inc(fs, CDM_STAT_MKDIR);
	ret = check_parent(fs, parent);
	if (!ret && mkdirat(parent->fd, name, mode))
		ret = -errno;
	if (!ret) {
		int fd = openat(parent->fd, name,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		ret = fd < 0 ? -errno : place_new(fs, parent, name, fd, false);
		if (fd >= 0)
			close(fd);
		if (!ret)
			ret = give_to_caller(req, parent, name);
		if (ret)
			unlinkat(parent->fd, name, AT_REMOVEDIR);
	}
	if (ret)
		fuse_reply_err(req, -ret);
	else
		reply_entry(req, parent, name);
}

static void cdm_symlink(fuse_req_t req, const char *link,
			fuse_ino_t parent_ino, const char *name)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *parent = cdm_inode_of(req, parent_ino);
	int ret;

	cdm_stat_inc(fs, CDM_STAT_SYMLINK);
	ret = check_parent(fs, parent);
	if (!ret && symlinkat(link, parent->fd, name))
		ret = -errno;
	if (!ret) {
		ret = give_to_caller(req, parent, name);
		if (ret)
			unlinkat(parent->fd, name, 0);
	}
	if (ret)
		fuse_reply_err(req, -ret);
	else
		reply_entry(req, parent, name);
}

static void cdm_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent_ino,
		     const char *newname)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	struct cdm_inode *newparent = cdm_inode_of(req, newparent_ino);
	char path[CDM_PROCFD_MAX];
	int ret;

	cdm_stat_inc(fs, CDM_STAT_LINK);
	ret = check_parent(fs, newparent);
	/* one file's memory is on one device: no links across devices */
	if (!ret && newparent->dev != inode->dev)
		ret = -EXDEV;
	cdm_procfd(path, inode->fd);
	if (!ret && linkat(AT_FDCWD, path, newparent->fd, newname,
			   AT_SYMLINK_FOLLOW))
		ret = -errno;
	if (ret)
		fuse_reply_err(req, -ret);
	else
		reply_entry(req, newparent, newname);
}

static void cdm_unlink(fuse_req_t req, fuse_ino_t parent_ino, const char *name)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *parent = cdm_inode_of(req, parent_ino);

	cdm_stat_inc(fs, CDM_STAT_UNLINK);
	if (is_root(fs, parent)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (unlinkat(parent->fd, name, 0)) {
		fuse_reply_err(req, errno);
		return;
	}
	cdm_capacity_changed(fs, parent->dev);	/* it may have freed memory */
	fuse_reply_err(req, 0);
}

static void cdm_rmdir(fuse_req_t req, fuse_ino_t parent_ino, const char *name)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *parent = cdm_inode_of(req, parent_ino);

	cdm_stat_inc(fs, CDM_STAT_RMDIR);
	if (is_root(fs, parent))
		fuse_reply_err(req, device_index(fs, name) >= 0 ? EBUSY : ENOENT);
	else
		fuse_reply_err(req, unlinkat(parent->fd, name, AT_REMOVEDIR) ?
					    errno : 0);
}

/*
 * A regular file renamed into another device's directory moves its memory
 * there: same inode, open mappings keep working, the pages migrate (in the
 * background, as for setfattr).  Its own policy (if any) goes: it now
 * follows its new device.
 */
static int move_to_device(struct cdm_fs *fs, const struct stat *st,
			  uint16_t devidx)
{
	struct cdm_inode *inode;
	uint16_t old;
	int ret;

	/* the kernel holds a lookup on the inode it renames */
	inode = cdm_inode_find(&fs->table, st->st_ino, st->st_dev);
	if (!inode)
		return 0;
	pthread_mutex_lock(&fs->table.lock);
	old = inode->dev;
	inode->dev = devidx;
	pthread_mutex_unlock(&fs->table.lock);
	if (!S_ISREG(st->st_mode))
		return 0;
	ret = cdm_set_policy(fs, inode, 0, "inherit", 7);
	if (ret) {
		pthread_mutex_lock(&fs->table.lock);
		inode->dev = old;
		pthread_mutex_unlock(&fs->table.lock);
	}
	return ret;
}

static void cdm_rename(fuse_req_t req, fuse_ino_t parent_ino, const char *name,
		       fuse_ino_t newparent_ino, const char *newname,
		       unsigned int flags)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *parent = cdm_inode_of(req, parent_ino);
	struct cdm_inode *newparent = cdm_inode_of(req, newparent_ino);
	bool cross = parent->dev != newparent->dev, exchanged = false;
	struct stat st, victim;
	int ret = 0;

	cdm_stat_inc(fs, CDM_STAT_RENAME);
	if (is_root(fs, parent) || is_root(fs, newparent)) {
		ret = -EPERM;
		goto out;
	}
	if (fstatat(parent->fd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		ret = -errno;
		goto out;
	}
	/*
	 * Across devices only single-link regular files (and inodes without
	 * memory) move in place, and not into or out of a helper-module
	 * region; mv(1) copies anything else on EXDEV.
	 */
	if (cross && (S_ISDIR(st.st_mode) || flags & RENAME_EXCHANGE ||
		      (S_ISREG(st.st_mode) && st.st_nlink > 1) ||
		      /* a region's files live in the module's own filesystem */
		      fs->devices.dev[parent->dev].kind == CDM_KIND_COHERENT ||
		      fs->devices.dev[newparent->dev].kind == CDM_KIND_COHERENT)) {
		ret = -EXDEV;
		goto out;
	}
	if (cross && S_ISREG(st.st_mode)) {
		struct cdm_inode target = { .fd = newparent->fd,
					    .dev = newparent->dev };

		ret = cdm_check_space(fs, &target, (uint64_t)st.st_blocks * 512);
		if (ret)
			goto out;
		/*
		 * A file this replaces is swapped out of the way, not
		 * dropped, until the move is sure: a failed move puts both
		 * names back.
		 */
		if (!(flags & RENAME_NOREPLACE) &&
		    !fstatat(newparent->fd, newname, &victim,
			     AT_SYMLINK_NOFOLLOW)) {
			if (S_ISDIR(victim.st_mode)) {
				ret = -EISDIR;
				goto out;
			}
			exchanged = true;
		}
	}
	if (renameat2(parent->fd, name, newparent->fd, newname,
		      exchanged ? RENAME_EXCHANGE : flags)) {
		ret = -errno;
		goto out;
	}
	if (!cross)
		goto out;
	cdm_capacity_changed(fs, parent->dev);
	cdm_capacity_changed(fs, newparent->dev);
	ret = move_to_device(fs, &st, newparent->dev);
	if (ret) {
		cdm_log(LOG_WARNING, "%s/%s: cannot move its pages: %s; the name goes back to %s",
			fs->devices.dev[newparent->dev].name, newname,
			strerror(-ret), fs->devices.dev[parent->dev].name);
		if (renameat2(newparent->fd, newname, parent->fd, name,
			      exchanged ? RENAME_EXCHANGE : RENAME_NOREPLACE))
			cdm_log(LOG_ERR, "%s/%s: cannot rename it back: %s",
				fs->devices.dev[newparent->dev].name, newname,
				strerror(errno));
	} else if (exchanged && unlinkat(parent->fd, name, 0)) {
		cdm_log(LOG_ERR, "%s/%s: cannot remove the file it replaced: %s",
			fs->devices.dev[parent->dev].name, name,
			strerror(errno));
	}
out:
	fuse_reply_err(req, -ret);
}

/*
 * Open the backing file for I/O.  Passthrough shares one backing file per
 * inode across all opens, so it is always opened read-write; the kernel
 * checked the caller's access on the cdmfs file already.  O_APPEND stays
 * off: the kernel computes append offsets (and pwrite would ignore them).
 */
static int open_backing(struct cdm_inode *inode, int flags)
{
	char path[CDM_PROCFD_MAX];
	int fd;

	cdm_procfd(path, inode->fd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		fd = open(path, (flags & O_ACCMODE) | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Attach the backing file to the kernel's open file, or fall back. */
static void setup_datapath(fuse_req_t req, struct cdm_inode *inode,
			   struct fuse_file_info *fi, int fd)
{
	struct cdm_fs *fs = cdm_fs_of(req);

	fi->fh = fd;
	fi->keep_cache = 0;
	pthread_mutex_lock(&inode->lock);
	if (atomic_load(&fs->passthrough)) {
		if (!inode->backing_id) {
			int id = fuse_passthrough_open(req, fd);

			if (id > 0) {
				inode->backing_id = id;
			} else if (atomic_exchange(&fs->passthrough, false)) {
				cdm_log(LOG_WARNING,
					"%s: kernel refused FUSE passthrough (%s; needs CAP_SYS_ADMIN): I/O is served by the daemon from now on",
					fs->opt.mountpoint, strerror(errno));
			}
		}
	}
	if (inode->backing_id) {
		fi->backing_id = inode->backing_id;
		inode->datapath = CDM_DATAPATH_PASSTHROUGH;
		cdm_stat_inc(fs, CDM_STAT_PASSTHROUGH_OPENS);
	} else {
		inode->datapath = CDM_DATAPATH_DAEMON;
		cdm_stat_inc(fs, CDM_STAT_PASSTHROUGH_FALLBACKS);
	}
	inode->nopen++;
	pthread_mutex_unlock(&inode->lock);
}

static void cdm_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	int fd;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_OPEN);
	fd = open_backing(inode, fi->flags);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	setup_datapath(req, inode, fi, fd);
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* the opener was interrupted: undo */
		cdm_oper.release(req, ino, fi);
	}
}

static void cdm_create(fuse_req_t req, fuse_ino_t parent_ino, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *parent = cdm_inode_of(req, parent_ino), *inode;
	struct fuse_entry_param e;
	bool created = true;
	int fd, ret;

	cdm_stat_inc(fs, CDM_STAT_CREATE);
	ret = check_parent(fs, parent);
	if (ret)
		goto out_err;
	fd = openat(parent->fd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
		    mode & 07777);
	if (fd < 0 && errno == EEXIST && !(fi->flags & O_EXCL)) {
		created = false;
		fd = openat(parent->fd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		ret = -errno;
		goto out_err;
	}
	if (created) {
		/* a full device takes no new file (capacity.c) */
		ret = cdm_capacity_new_file(fs, parent);
		if (!ret)
			ret = place_new(fs, parent, name, fd, true);
		if (!ret)
			ret = give_to_caller(req, parent, name);
		if (ret)
			goto err_unlink;
	}
	ret = do_lookup(fs, parent, name, &e);
	if (ret)
		goto err_unlink;
	inode = cdm_inode_of(req, e.ino);
	setup_datapath(req, inode, fi, fd);
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		cdm_oper.release(req, e.ino, fi);
		forget_one(fs, e.ino, 1);
	}
	return;
err_unlink:
	if (created)
		unlinkat(parent->fd, name, 0);
	close(fd);
out_err:
	fuse_reply_err(req, -ret);
}

static void cdm_release(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct cdm_inode *inode = cdm_inode_of(req, ino);

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_RELEASE);
	pthread_mutex_lock(&inode->lock);
	if (--inode->nopen == 0 && inode->backing_id) {
		fuse_passthrough_close(req, inode->backing_id);
		inode->backing_id = 0;
	}
	pthread_mutex_unlock(&inode->lock);
	close(fi->fh);
	fuse_reply_err(req, 0);
}

static void cdm_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_READ);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void cdm_write_buf(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_bufvec *in, off_t off,
			  struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	ssize_t n;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_WRITE);
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = fi->fh;
	out.buf[0].pos = off;
	n = fuse_buf_copy(&out, in, 0);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void cdm_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_FLUSH);
	fuse_reply_err(req, 0);
}

static void cdm_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		      struct fuse_file_info *fi)
{
	int ret;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_FSYNC);
	ret = datasync ? fdatasync(fi->fh) : fsync(fi->fh);
	fuse_reply_err(req, ret ? errno : 0);
}

static void cdm_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			  off_t offset, off_t length,
			  struct fuse_file_info *fi)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	struct cdm_reservation r = { .ndev = 0 };
	uint64_t need = 0;
	int ret = 0;

	cdm_stat_inc(fs, CDM_STAT_FALLOCATE);
	/*
	 * Allocating modes only (punching frees); and only what the range
	 * lacks: allocating an allocated range again takes nothing.
	 */
	if (!(mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE))) {
		ret = cdm_capacity_unallocated((int)fi->fh, offset,
					       offset + length, &need);
		if (!ret)
			ret = cdm_capacity_reserve_inode(fs, inode, need, &r);
	}
	if (!ret && fallocate(fi->fh, mode, offset, length))
		ret = errno == ENOMEM ? -ENOSPC : -errno;
	cdm_capacity_release(fs, &r);
	if (!ret && mode & FALLOC_FL_PUNCH_HOLE)
		cdm_capacity_changed(fs, inode->dev);
	fuse_reply_err(req, -ret);
}

static void cdm_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		      struct fuse_file_info *fi)
{
	off_t res;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_LSEEK);
	res = lseek(fi->fh, off, whence);
	if (res < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_lseek(req, res);
}

static void cdm_copy_file_range(fuse_req_t req, fuse_ino_t ino_in,
				off_t off_in, struct fuse_file_info *fi_in,
				fuse_ino_t ino_out, off_t off_out,
				struct fuse_file_info *fi_out, size_t len,
				int flags)
{
	ssize_t n;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_COPY_FILE_RANGE);
	n = copy_file_range(fi_in->fh, &off_in, fi_out->fh, &off_out, len,
			    flags);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

static void cdm_flock(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi, int op)
{
	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_FLOCK);
	fuse_reply_err(req, flock(fi->fh, op) ? errno : 0);
}

struct cdm_dir {
	DIR *dp;
	struct dirent *entry;
	off_t offset;
	bool root;
};

static void cdm_opendir(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	struct cdm_dir *d;
	int fd, ret;

	cdm_stat_inc(fs, CDM_STAT_OPENDIR);
	d = calloc(1, sizeof(*d));
	if (!d) {
		ret = ENOMEM;
		goto out_err;
	}
	fd = openat(inode->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ret = errno;
		goto err_free;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		ret = errno;
		close(fd);
		goto err_free;
	}
	d->root = is_root(fs, inode);
	fi->fh = (uintptr_t)d;
	fuse_reply_open(req, fi);
	return;
err_free:
	free(d);
out_err:
	fuse_reply_err(req, ret);
}

static bool hidden(struct cdm_fs *fs, struct cdm_dir *d, const char *name)
{
	return d->root && strcmp(name, ".") && strcmp(name, "..") &&
	       device_index(fs, name) < 0;
}

static void cdm_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			off_t offset, struct fuse_file_info *fi)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_dir *d = (struct cdm_dir *)(uintptr_t)fi->fh;
	char *buf, *p;
	size_t rem = size;
	int err = 0;

	cdm_stat_inc(fs, CDM_STAT_READDIR);
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	p = buf;
	if (offset != d->offset) {
		seekdir(d->dp, offset);
		d->entry = NULL;
		d->offset = offset;
	}
	for (;;) {
		struct stat st = { 0 };
		size_t n;

		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				err = errno;
				break;
			}
		}
		if (!hidden(fs, d, d->entry->d_name)) {
			st.st_ino = d->entry->d_ino;
			st.st_mode = (mode_t)d->entry->d_type << 12;
			n = fuse_add_direntry(req, p, rem, d->entry->d_name,
					      &st, d->entry->d_off);
			if (n > rem)
				break;
			p += n;
			rem -= n;
		}
		d->offset = d->entry->d_off;
		d->entry = NULL;
	}
	if (err && rem == size)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, size - rem);
	free(buf);
}

static void cdm_releasedir(fuse_req_t req, fuse_ino_t ino,
			   struct fuse_file_info *fi)
{
	struct cdm_dir *d = (struct cdm_dir *)(uintptr_t)fi->fh;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_RELEASEDIR);
	closedir(d->dp);
	free(d);
	fuse_reply_err(req, 0);
}

static void cdm_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			 struct fuse_file_info *fi)
{
	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_FSYNCDIR);
	fuse_reply_err(req, 0);
}

/*
 * df on a device directory shows that device; on the root, all of them
 * added up.  Used is what the device holds (a simulated one overfilled
 * through passthrough shows it all), Avail what can still go in: also
 * bounded by the store's own limit, so Size is Used + Avail.  Inode
 * counts are the store's.
 */
static void cdm_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	uint64_t size, used = 0, avail = 0, shared = 0;
	struct statvfs sv;
	int ret = 0;

	cdm_stat_inc(fs, CDM_STAT_STATFS);
	if (fstatvfs(fs->root.fd, &sv)) {
		fuse_reply_err(req, errno);
		return;
	}
	for (size_t i = 0; i < fs->devices.count && !ret; i++) {
		uint64_t u, a;

		if (inode->dev != CDM_NO_DEVICE && i != inode->dev)
			continue;
		ret = cdm_device_usage(fs, (uint16_t)i, &size, &u, &a);
		used += u;
		if (fs->devices.dev[i].kind == CDM_KIND_COHERENT)
			avail += a;
		else
			shared += a;
	}
	/* devices sharing the store cannot together take more than it has */
	avail += shared < cdm_store_free(fs) ? shared : cdm_store_free(fs);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	sv.f_bsize = sv.f_frsize = 4096;
	sv.f_blocks = (used + avail) / 4096;
	sv.f_bfree = sv.f_bavail = avail / 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops cdm_oper = {
	.init = cdm_init,
	.lookup = cdm_lookup,
	.forget = cdm_forget,
	.forget_multi = cdm_forget_multi,
	.getattr = cdm_getattr,
	.setattr = cdm_setattr,
	.readlink = cdm_readlink,
	.mknod = cdm_mknod,
	.mkdir = cdm_mkdir,
	.symlink = cdm_symlink,
	.link = cdm_link,
	.unlink = cdm_unlink,
	.rmdir = cdm_rmdir,
	.rename = cdm_rename,
	.open = cdm_open,
	.create = cdm_create,
	.release = cdm_release,
	.read = cdm_read,
	.write_buf = cdm_write_buf,
	.flush = cdm_flush,
	.fsync = cdm_fsync,
	.fallocate = cdm_fallocate,
	.lseek = cdm_lseek,
	.copy_file_range = cdm_copy_file_range,
	.flock = cdm_flock,
	.opendir = cdm_opendir,
	.readdir = cdm_readdir,
	.releasedir = cdm_releasedir,
	.fsyncdir = cdm_fsyncdir,
	.statfs = cdm_statfs,
	.setxattr = cdm_setxattr,
	.getxattr = cdm_getxattr,
	.listxattr = cdm_listxattr,
	.removexattr = cdm_removexattr,
};
