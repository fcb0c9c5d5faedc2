// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * New names and inodes (create.h).  The daemon makes each inode as root on
 * the store; what tmpfs would do for the caller is done here in order: the
 * caller's umask, the room on the device, the parent's policy, the
 * caller's ownership.  A step that fails removes the name again, so a
 * failed request leaves nothing behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdmfs/log.h"
#include "caller.h"
#include "capacity.h"
#include "create.h"
#include "datapath.h"
#include "entry.h"
#include "fs.h"
#include "namespace.h"
#include "placement.h"
#include "req.h"

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

/*
 * New regular file @name (open as @fd) in @parent (@pfd): a full device
 * takes no new file (capacity.c), then it is placed and the caller's.
 */
static int own_new_file(fuse_req_t req, struct cdm_inode *parent, int pfd,
			const char *name, int fd)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	int ret = cdm_capacity_new_file(fs, parent);

	if (!ret)
		ret = place_new(fs, parent, name, fd, true);
	if (!ret)
		ret = cdm_give_to_caller(req, pfd, fd, false);
	return ret;
}

/*
 * An fd of @parent to make a new inode in, or -errno: after the root's
 * rules, and with the caller's umask applied to @mode (NULL: none used).
 */
static int parent_fd(fuse_req_t req, struct cdm_inode *parent, mode_t *mode)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	int ret = cdm_ns_may_create(fs, parent);

	if (ret)
		return ret;
	if (mode)
		cdm_use_caller_umask(req, mode);
	return cdm_inode_fd(&fs->table, parent);
}

/* What a MKNOD, MKDIR or SYMLINK asks for. */
struct new_node {
	const char *name;
	mode_t mode;		/* type and permissions, before the umask */
	dev_t rdev;		/* of a device node */
	const char *link;	/* the target of a symlink, else NULL */
	bool dir;		/* MKDIR; a MKNOD goes by its mode */
};

/*
 * Make @n in @parent (@pfd), placed and the caller's.  0, or -errno with
 * nothing left behind.
 */
static int make_node(fuse_req_t req, struct cdm_inode *parent, int pfd,
		     const struct new_node *n)
{
	int fd, ret, rmflags = 0;

	if (n->link) {
		if (symlinkat(n->link, pfd, n->name))
			return -errno;
		ret = cdm_give_name_to_caller(req, pfd, n->name);
	} else if (n->dir) {
		if (mkdirat(pfd, n->name, n->mode))
			return -errno;
		rmflags = AT_REMOVEDIR;
		fd = openat(pfd, n->name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		ret = fd < 0 ? -errno : place_new(cdm_fs_of(req), parent,
						  n->name, fd, false);
		if (!ret)
			ret = cdm_give_to_caller(req, pfd, fd, false);
		if (fd >= 0)
			close(fd);
	} else if (S_ISREG(n->mode)) {
		fd = openat(pfd, n->name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
			    n->mode & 07777);
		if (fd < 0)
			return -errno;
		ret = own_new_file(req, parent, pfd, n->name, fd);
		close(fd);
	} else {
		if (mknodat(pfd, n->name, n->mode, n->rdev))
			return -errno;
		ret = cdm_give_name_to_caller(req, pfd, n->name);
	}
	if (ret)
		unlinkat(pfd, n->name, rmflags);
	return ret;
}

/* @n made in @parent, and the entry of it for the reply */
static int new_entry(fuse_req_t req, struct cdm_inode *parent,
		     struct new_node *n, struct fuse_entry_param *e)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	int ret, pfd;

	/* a symlink's mode is always 0777 */
	pfd = parent_fd(req, parent, n->link ? NULL : &n->mode);
	if (pfd < 0)
		return pfd;
	ret = make_node(req, parent, pfd, n);
	cdm_inode_fd_put(parent, pfd);
	return ret ? ret : cdm_entry_lookup(fs, parent, n->name, e);
}

int cdm_create_node(fuse_req_t req, struct cdm_inode *parent,
		    const char *name, mode_t mode, dev_t rdev,
		    struct fuse_entry_param *e)
{
	struct new_node n = { .name = name, .mode = mode, .rdev = rdev };

	return new_entry(req, parent, &n, e);
}

int cdm_create_dir(fuse_req_t req, struct cdm_inode *parent,
		   const char *name, mode_t mode, struct fuse_entry_param *e)
{
	struct new_node n = { .name = name, .mode = mode, .dir = true };

	return new_entry(req, parent, &n, e);
}

int cdm_create_symlink(fuse_req_t req, const char *link,
		       struct cdm_inode *parent, const char *name,
		       struct fuse_entry_param *e)
{
	struct new_node n = { .name = name, .link = link };

	return new_entry(req, parent, &n, e);
}

/*
 * The backing inode is linked through /proc, which also names an inode
 * that has no name yet (an O_TMPFILE being linked into place).
 */
int cdm_create_link(struct cdm_fs *fs, struct cdm_inode *inode,
		    struct cdm_inode *newparent, const char *newname,
		    struct fuse_entry_param *e)
{
	char path[CDM_PROCFD_MAX];
	int ret, fd, pfd;

	ret = cdm_ns_may_link(fs, inode, newparent);
	if (ret)
		return ret;
	fd = cdm_inode_fd(&fs->table, inode);
	if (fd < 0)
		return fd;
	pfd = cdm_inode_fd(&fs->table, newparent);
	if (pfd < 0) {
		ret = pfd;
		goto err_put;
	}
	cdm_procfd(path, fd);
	if (linkat(AT_FDCWD, path, pfd, newname, AT_SYMLINK_FOLLOW))
		ret = -errno;
	cdm_inode_fd_put(newparent, pfd);
	cdm_inode_fd_put(inode, fd);
	return ret ? ret : cdm_entry_lookup(fs, newparent, newname, e);
err_put:
	cdm_inode_fd_put(inode, fd);
	return ret;
}

int cdm_create_open(fuse_req_t req, struct cdm_inode *parent,
		    const char *name, mode_t mode, int flags,
		    struct fuse_entry_param *e, int *fdp)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	bool created = true;
	int fd, ret, pfd;

	pfd = parent_fd(req, parent, &mode);
	if (pfd < 0)
		return pfd;
	fd = openat(pfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
		    mode & 07777);
	if (fd < 0 && errno == EEXIST && !(flags & O_EXCL)) {
		created = false;
		fd = openat(pfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		ret = -errno;
		goto err_put;
	}
	if (created) {
		ret = own_new_file(req, parent, pfd, name, fd);
		if (ret)
			goto err_unlink;
	} else if (flags & O_TRUNC) {
		/* before the lookup: the reply carries the attributes after */
		ret = cdm_open_truncate(req, fd);
		if (ret < 0)
			goto err_unlink;
	}
	ret = cdm_entry_lookup(fs, parent, name, e);
	if (ret)
		goto err_unlink;
	if (created)
		cdm_place_created(fs, parent, cdm_inode_of(req, e->ino));
	cdm_inode_fd_put(parent, pfd);
	*fdp = fd;
	return 0;
err_unlink:
	if (created)
		unlinkat(pfd, name, 0);
	close(fd);
err_put:
	cdm_inode_fd_put(parent, pfd);
	return ret;
}

/*
 * Linked later, the file is named by cdm_create_link(); until then the
 * inode table holds it by an O_PATH fd reopened from the open one.
 */
int cdm_create_tmpfile(fuse_req_t req, struct cdm_inode *parent, mode_t mode,
		       struct fuse_entry_param *e, int *fdp)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	char path[CDM_PROCFD_MAX];
	struct cdm_inode *inode;
	int fd, pfd, ret, dirfd;

	dirfd = parent_fd(req, parent, &mode);
	if (dirfd < 0)
		return dirfd;
	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode & 07777);
	if (fd < 0) {
		ret = -errno;
		cdm_inode_fd_put(parent, dirfd);
		return ret;
	}
	/* a full device takes no new file, named or not */
	ret = own_new_file(req, parent, dirfd, "(O_TMPFILE)", fd);
	cdm_inode_fd_put(parent, dirfd);
	if (ret)
		goto err_close;
	memset(e, 0, sizeof(*e));
	e->attr_timeout = e->entry_timeout = fs->opt.attr_timeout;
	if (fstat(fd, &e->attr)) {
		ret = -errno;
		goto err_close;
	}
	cdm_procfd(path, fd);
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0) {
		ret = -errno;
		goto err_close;
	}
	/* takes pfd, also on failure */
	inode = cdm_inode_get(&fs->table, e->attr.st_ino, e->attr.st_dev, pfd,
			      parent->dev, 1);
	if (!inode) {
		ret = -errno;
		goto err_close;
	}
	e->ino = cdm_ino_of(fs, inode);
	*fdp = fd;
	return 0;
err_close:
	close(fd);
	return ret;
}
