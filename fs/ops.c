// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The FUSE low-level operations: the adapter between requests and the
 * layers that decide (entry.c: lookups and attributes, create.c: new
 * inodes, namespace.c: the root's rules, datapath.c: opens and
 * passthrough, rename.c: moves across devices, capacity.c: reservations).
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
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cdmfs/log.h"
#include "capacity.h"
#include "create.h"
#include "datapath.h"
#include "entry.h"
#include "fs.h"
#include "lodge.h"
#include "namespace.h"
#include "ops.h"
#include "placement.h"
#include "rename.h"
#include "store.h"
#include "req.h"
#include "xattr.h"

static void reply_entry(fuse_req_t req, int ret, struct fuse_entry_param *e)
{
	if (ret) {
		fuse_reply_err(req, -ret);
	} else {
		cdm_lodge_attr(cdm_fs_of(req), &e->attr);
		fuse_reply_entry(req, e);
	}
}

static void cdm_init(void *userdata, struct fuse_conn_info *conn)
{
	struct cdm_fs *fs = userdata;

	/*
	 * The caller's umask is applied per request (use_caller_umask); ours
	 * (whatever the shell that started us had) must not add to it.
	 */
	umask(0);
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
	 * every write(): SB_NOSEC needs KILLPRIV_V2 (fs/fuse: file_remove_privs).
	 */
	if (!fuse_set_feature_flag(conn, FUSE_CAP_HANDLE_KILLPRIV_V2))
		cdm_log(LOG_WARNING, "%s: no FUSE_HANDLE_KILLPRIV_V2: each write() costs a daemon round trip",
			fs->opt.mountpoint);
	/*
	 * The kernel passes the caller's umask instead of applying it, and
	 * checks POSIX ACLs: the backing tmpfs then applies a default ACL
	 * instead of the umask, as it does for a local caller.
	 */
	if (!fuse_set_feature_flag(conn, FUSE_CAP_DONT_MASK))
		cdm_log(LOG_WARNING, "%s: no FUSE_DONT_MASK: the kernel applies the umask even under a default ACL",
			fs->opt.mountpoint);
	else if (!fuse_set_feature_flag(conn, FUSE_CAP_POSIX_ACL))
		cdm_log(LOG_WARNING, "%s: no FUSE_POSIX_ACL: POSIX ACLs are stored but not enforced",
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
	ret = cdm_entry_lookup(fs, cdm_inode_of(req, parent), name, &e);
	if (ret == -ENOENT) {
		/* a negative entry the kernel may cache */
		e.ino = 0;
		fuse_reply_entry(req, &e);
	} else if (ret) {
		fuse_reply_err(req, -ret);
	} else {
		cdm_lodge_attr(fs, &e.attr);
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
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	struct stat st;
	int ret;

	cdm_stat_inc(fs, CDM_STAT_GETATTR);
	ret = cdm_attr_get(fs, inode, &st);
	if (ret) {
		fuse_reply_err(req, -ret);
	} else {
		cdm_lodge_attr(fs, &st);
		fuse_reply_attr(req, &st, cdm_attr_timeout(fs, inode, &st));
	}
}

static void cdm_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			int valid, struct fuse_file_info *fi)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	struct stat st;
	int ret;

	cdm_stat_inc(fs, CDM_STAT_SETATTR);
	/* not while its data goes home (lodge.h): the change would stay behind */
	cdm_lodge_enter(fs);
	ret = cdm_attr_set(req, inode, attr, valid, fi, &st);
	cdm_lodge_leave(fs);
	if (ret) {
		fuse_reply_err(req, -ret);
	} else {
		cdm_lodge_attr(fs, &st);
		fuse_reply_attr(req, &st, cdm_attr_timeout(fs, inode, &st));
	}
}

static void cdm_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	char buf[PATH_MAX + 1];
	ssize_t n;
	int fd;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_READLINK);
	fd = cdm_inode_fd(&cdm_fs_of(req)->table, inode);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	n = readlinkat(fd, "", buf, sizeof(buf));
	if (n < 0)
		n = -errno;
	cdm_inode_fd_put(inode, fd);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (n == sizeof(buf))
		fuse_reply_err(req, ENAMETOOLONG);
	else {
		buf[n] = '\0';
		fuse_reply_readlink(req, buf);
	}
}

static void cdm_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, dev_t rdev)
{
	struct fuse_entry_param e;
	int ret;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_MKNOD);
	ret = cdm_create_node(req, cdm_inode_of(req, parent), name, mode, rdev,
			      &e);
	reply_entry(req, ret, &e);
}

static void cdm_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode)
{
	struct fuse_entry_param e;
	int ret;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_MKDIR);
	ret = cdm_create_dir(req, cdm_inode_of(req, parent), name, mode, &e);
	reply_entry(req, ret, &e);
}

static void cdm_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			const char *name)
{
	struct fuse_entry_param e;
	int ret;

	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_SYMLINK);
	ret = cdm_create_symlink(req, link, cdm_inode_of(req, parent), name,
				 &e);
	reply_entry(req, ret, &e);
}

static void cdm_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		     const char *newname)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct fuse_entry_param e;
	int ret;

	cdm_stat_inc(fs, CDM_STAT_LINK);
	ret = cdm_create_link(fs, cdm_inode_of(req, ino),
			      cdm_inode_of(req, newparent), newname, &e);
	reply_entry(req, ret, &e);
}

static void cdm_unlink(fuse_req_t req, fuse_ino_t parent_ino, const char *name)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *parent = cdm_inode_of(req, parent_ino);
	int pfd, ret;

	cdm_stat_inc(fs, CDM_STAT_UNLINK);
	ret = cdm_ns_may_unlink(fs, parent);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	pfd = cdm_inode_fd(&fs->table, parent);
	cdm_lodge_enter(fs);
	if (pfd < 0) {
		ret = -pfd;
	} else {
		/* the name of a file lodged on another device: that goes too */
		struct stat st;
		bool known = fs->any_devsb &&
			     !fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW);
		struct cdm_lodger *l = known ? cdm_lodge_of(fs, &st) : NULL;

		ret = -cdm_inode_remove(&fs->table, pfd, name, 0);
		if (!ret && l)
			cdm_lodge_drop(fs, l);
		if (!ret && known)
			cdm_lodge_unlinked(fs, &st);
	}
	cdm_lodge_leave(fs);
	cdm_inode_fd_put(parent, pfd);
	if (ret) {
		fuse_reply_err(req, ret);
		return;
	}
	cdm_capacity_changed(fs, parent->dev);	/* it may have freed memory */
	fuse_reply_err(req, 0);
}

static void cdm_rmdir(fuse_req_t req, fuse_ino_t parent_ino, const char *name)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *parent = cdm_inode_of(req, parent_ino);
	int pfd, ret;

	cdm_stat_inc(fs, CDM_STAT_RMDIR);
	ret = cdm_ns_may_rmdir(fs, parent, name);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	pfd = cdm_inode_fd(&fs->table, parent);
	ret = pfd < 0 ? -pfd : -cdm_inode_remove(&fs->table, pfd, name,
						 AT_REMOVEDIR);
	cdm_inode_fd_put(parent, pfd);
	fuse_reply_err(req, ret);
}

static void cdm_rename(fuse_req_t req, fuse_ino_t parent_ino, const char *name,
		       fuse_ino_t newparent_ino, const char *newname,
		       unsigned int flags)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *parent = cdm_inode_of(req, parent_ino);
	struct cdm_inode *newparent = cdm_inode_of(req, newparent_ino);
	int ret;

	cdm_stat_inc(fs, CDM_STAT_RENAME);
	ret = cdm_ns_may_rename(fs, parent, newparent);
	if (!ret)
		ret = cdm_rename_entry(fs, parent, name, newparent, newname,
				       flags);
	fuse_reply_err(req, -ret);
}

static void cdm_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	int ret;

	cdm_stat_inc(fs, CDM_STAT_OPEN);
	cdm_lodge_enter(fs);
	ret = cdm_open_file(req, inode, fi);
	cdm_lodge_leave(fs);
	if (ret < 0) {
		fuse_reply_err(req, -ret);
		return;
	}
	cdm_place_opened(fs, inode);
	if (ret > 0 && fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	/* on failure the kernel has no open file (and req is freed): undo */
	if (fuse_reply_open(req, fi) < 0)
		cdm_release_file(NULL, fs, inode, fi);
}

/*
 * Attach backing @fd of new @inode (entry @e, one lookup taken) to the
 * open and reply to a create or tmpfile.  On a failed reply the kernel has
 * no open file and req is freed: undo the open and the lookup.
 */
static void reply_create(fuse_req_t req, int ret, struct fuse_entry_param *e,
			 struct fuse_file_info *fi, int fd)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *inode;

	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	inode = cdm_inode_of(req, e->ino);
	cdm_setup_datapath(req, inode, fi, fd);
	cdm_lodge_attr(fs, &e->attr);
	e->attr_timeout = cdm_attr_timeout(fs, inode, &e->attr);
	if (fuse_reply_create(req, e, fi) < 0) {
		cdm_release_file(NULL, fs, inode, fi);
		forget_one(fs, e->ino, 1);
	}
}

static void cdm_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		       mode_t mode, struct fuse_file_info *fi)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct fuse_entry_param e;
	int ret, fd = -1;

	cdm_stat_inc(fs, CDM_STAT_CREATE);
	cdm_lodge_enter(fs);
	ret = cdm_create_open(req, cdm_inode_of(req, parent), name, mode,
			      fi->flags, &e, &fd);
	reply_create(req, ret, &e, fi, fd);	/* frees req */
	cdm_lodge_leave(fs);
}

static void cdm_tmpfile(fuse_req_t req, fuse_ino_t parent, mode_t mode,
			struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int ret, fd = -1;

	/* counted as a create: no stat of its own */
	cdm_stat_inc(cdm_fs_of(req), CDM_STAT_CREATE);
	ret = cdm_create_tmpfile(req, cdm_inode_of(req, parent), mode, &e,
				 &fd);
	reply_create(req, ret, &e, fi, fd);
}

static void cdm_release(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	struct cdm_fs *fs = cdm_fs_of(req);

	cdm_stat_inc(fs, CDM_STAT_RELEASE);
	cdm_release_file(req, fs, cdm_inode_of(req, ino), fi);
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

	cdm_stat_inc(fs, CDM_STAT_FALLOCATE);
	fuse_reply_err(req, -cdm_capacity_fallocate(fs, cdm_inode_of(req, ino),
						    (int)fi->fh, mode, offset,
						    length));
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
	dev_t dev;			/* st_dev of the directory */
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
	fd = cdm_inode_fd(&fs->table, inode);
	if (fd < 0) {
		ret = -fd;
		goto err_free;
	}
	ret = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = ret < 0 ? -errno : ret;
	cdm_inode_fd_put(inode, fd);
	fd = ret;
	if (fd < 0) {
		ret = -fd;
		goto err_free;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		ret = errno;
		close(fd);
		goto err_free;
	}
	d->root = cdm_ns_is_root(fs, inode);
	{
		struct stat st;

		d->dev = fstat(fd, &st) ? 0 : st.st_dev;
	}
	fi->fh = (uintptr_t)d;
	fuse_reply_open(req, fi);
	return;
err_free:
	free(d);
out_err:
	fuse_reply_err(req, ret);
}

/* A device directory listed in the root: the inode stat shows for it. */
static ino_t root_entry_ino(struct cdm_fs *fs, const struct dirent *de)
{
	int i = cdm_ns_device_index(fs, de->d_name);

	if (i >= 0 && fs->devsb && fs->devsb[i].own)
		return cdm_store_ino(fs, fs->devsb[i].root_ino,
				     fs->devsb[i].sbdev);
	return de->d_ino;
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
		if (!cdm_ns_hidden(fs, d->root, d->entry->d_name)) {
			st.st_ino = d->root ? root_entry_ino(fs, d->entry) :
				    cdm_lodge_dirent_ino(fs, d->entry->d_ino,
							 d->dev);
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
 * added up.  Size is the device's size, Avail what can still go in (also
 * bounded by the store's own limit), and Size grows to Used + Avail when a
 * simulated device was overfilled through passthrough, so Used shows all it
 * holds.  Inode counts are the store's.
 */
static void cdm_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	struct cdm_inode *inode = cdm_inode_of(req, ino);
	uint64_t size, total = 0, used = 0, avail = 0, shared = 0;
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
		total += size;
		used += u;
		if (cdm_device_own_fs(&fs->devices.dev[i]) ||
		    (fs->devsb && fs->devsb[i].own))
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
	sv.f_blocks = (total > used + avail ? total : used + avail) / 4096;
	sv.f_bfree = sv.f_bavail = avail / 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

/* Changes that must not fall between a lodger's copy and its switch. */
static void gated_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   const char *value, size_t size, int flags)
{
	struct cdm_fs *fs = cdm_fs_of(req);

	cdm_lodge_enter(fs);
	cdm_setxattr(req, ino, name, value, size, flags);	/* frees req */
	cdm_lodge_leave(fs);
}

static void gated_removexattr(fuse_req_t req, fuse_ino_t ino,
			      const char *name)
{
	struct cdm_fs *fs = cdm_fs_of(req);

	cdm_lodge_enter(fs);
	cdm_removexattr(req, ino, name);	/* frees req */
	cdm_lodge_leave(fs);
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
	.tmpfile = cdm_tmpfile,
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
	.setxattr = gated_setxattr,
	.getxattr = cdm_getxattr,
	.listxattr = cdm_listxattr,
	.removexattr = gated_removexattr,
};
