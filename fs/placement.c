// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Placement: which device a file's memory is on, moving it, and telling
 * where its pages really are.
 *
 * A file or directory's own policy is stored with its backing inode, as the
 * xattr user.cdm.policy of the store, so it lives as long as the file and
 * survives a daemon restart.  New files and directories copy their parent's
 * own policy (inherit at creation, like default ACLs).  Without one, a file
 * follows its device directory's policy, and without that, bind:<device>.
 *
 * Setting a file's policy binds its new pages at once and hands the move
 * of the existing ones to a worker (migrator.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cdmfs.h"
#include "cdmfs/log.h"
#include "cdmfs/xattr.h"

/* The inode's own policy: 1 and @p, 0 if none, or -errno. */
static int own_policy(struct cdm_fs *fs, int fd, struct cdm_policy *p)
{
	char path[CDM_PROCFD_MAX], buf[CDM_POLICY_STRLEN];
	ssize_t n;

	cdm_procfd(path, fd);
	n = getxattr(path, CDM_XATTR_POLICY, buf, sizeof(buf));
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
	/* a device that vanished since: fall back to the defaults */
	if (cdm_policy_parse(buf, (size_t)n, &fs->devices, p) ||
	    p->mode == CDM_POLICY_INHERIT)
		return 0;
	return 1;
}

/*
 * @inode's own policy (own_policy()), remembering that it has none: every
 * create in a directory asks for the directory's.  The daemon is the only
 * writer of its store; a policy written meanwhile (policy_written()) bumps
 * fs->policy_gen before it clears no_policy, so a reader that read the
 * xattr before the write does not store a stale "none".
 */
static int inode_own_policy(struct cdm_fs *fs, struct cdm_inode *inode,
			    struct cdm_policy *p)
{
	uint64_t gen = atomic_load(&fs->policy_gen);
	bool none;
	int fd, ret;

	pthread_mutex_lock(&inode->lock);
	none = inode->no_policy;
	pthread_mutex_unlock(&inode->lock);
	if (none)
		return 0;
	fd = cdm_inode_fd(&fs->table, inode);
	if (fd < 0)
		return fd;
	ret = own_policy(fs, fd, p);
	cdm_inode_fd_put(inode, fd);
	if (!ret) {
		pthread_mutex_lock(&inode->lock);
		if (atomic_load(&fs->policy_gen) == gen)
			inode->no_policy = true;
		pthread_mutex_unlock(&inode->lock);
	}
	return ret;
}

/* After the daemon wrote or removed @inode's policy xattr. */
static void policy_written(struct cdm_fs *fs, struct cdm_inode *inode)
{
	atomic_fetch_add(&fs->policy_gen, 1);
	pthread_mutex_lock(&inode->lock);
	inode->no_policy = false;
	pthread_mutex_unlock(&inode->lock);
}

/*
 * Each device directory's own policy, cached: every create in a device
 * follows it, and the daemon is the only writer of its store, so
 * cdm_set_policy() of a directory drops the entry after it wrote the xattr.
 * @gen orders that against a reader that read the xattr before: such a
 * reader stores nothing.
 */
struct cdm_devpolicy {
	bool valid;
	bool has;			/* the directory has a policy of its own */
	struct cdm_policy p;
	ino_t ino;			/* the directory's backing inode */
	dev_t dev;
	uint64_t gen;
};

int cdm_placement_open(struct cdm_fs *fs)
{
	fs->devpol = calloc(fs->devices.count ? fs->devices.count : 1,
			    sizeof(*fs->devpol));
	if (!fs->devpol)
		return -ENOMEM;
	pthread_mutex_init(&fs->devpol_lock, NULL);
	return 0;
}

void cdm_placement_close(struct cdm_fs *fs)
{
	if (!fs->devpol)
		return;
	pthread_mutex_destroy(&fs->devpol_lock);
	free(fs->devpol);
	fs->devpol = NULL;
}

/* Drop the cached policy of device @dev's directory (it may have changed). */
static void forget_device_policy(struct cdm_fs *fs, uint16_t dev)
{
	if (!fs->devpol)
		return;
	pthread_mutex_lock(&fs->devpol_lock);
	fs->devpol[dev].valid = false;
	fs->devpol[dev].gen++;
	pthread_mutex_unlock(&fs->devpol_lock);
}

/*
 * The policy device @dev's directory gives the files that follow it: 1
 * and its own, 0 and bind:<device>, or -errno.  Fills *@ino and *@sdev
 * with the directory's backing inode when they are not NULL.
 */
static int device_policy(struct cdm_fs *fs, uint16_t dev,
			 struct cdm_policy *p, ino_t *ino, dev_t *sdev)
{
	struct cdm_devpolicy *c = fs->devpol ? &fs->devpol[dev] : NULL;
	struct cdm_devpolicy fresh = { 0 };
	struct stat st;
	uint64_t gen = 0;
	int ret;

	if (c) {
		pthread_mutex_lock(&fs->devpol_lock);
		fresh = *c;
		gen = c->gen;
		pthread_mutex_unlock(&fs->devpol_lock);
	}
	if (!fresh.valid) {
		if (fstat(fs->devfd[dev], &st))
			return -errno;
		ret = own_policy(fs, fs->devfd[dev], &fresh.p);
		if (ret < 0)
			return ret;
		fresh.has = ret;
		fresh.ino = st.st_ino;
		fresh.dev = st.st_dev;
		fresh.valid = true;
		if (c) {
			pthread_mutex_lock(&fs->devpol_lock);
			if (c->gen == gen) {
				fresh.gen = gen;
				*c = fresh;
			}
			pthread_mutex_unlock(&fs->devpol_lock);
		}
	}
	if (fresh.has)
		*p = fresh.p;
	else
		cdm_policy_default(p, dev);
	if (ino)
		*ino = fresh.ino;
	if (sdev)
		*sdev = fresh.dev;
	return fresh.has;
}

int cdm_effective_policy(struct cdm_fs *fs, struct cdm_inode *inode,
			 struct cdm_policy *p)
{
	uint16_t dev = inode->dev;	/* once: a rename may change it */
	int ret;

	struct cdm_policy own;
	ino_t dino;
	dev_t ddev;

	if (dev == CDM_NO_DEVICE)
		return -ENODATA;
	ret = device_policy(fs, dev, p, &dino, &ddev);
	if (ret < 0)
		return ret;
	/* the device directory itself: cached, as each create asks for it */
	if (inode->src_ino == dino && inode->src_dev == ddev)
		return 0;
	ret = inode_own_policy(fs, inode, &own);
	if (ret < 0)
		return ret;
	if (ret)
		*p = own;
	return 0;
}

int cdm_placement_of(struct cdm_fs *fs, const struct cdm_policy *p,
		     uint16_t dev, struct cdm_placement *pl)
{
	const struct cdm_backend_ops *ops = fs->devices.dev[dev].ops;

	if (!ops->translate)
		return -EOPNOTSUPP;
	return ops->translate(p, &fs->devices, dev, pl);
}

/*
 * Bind the future pages of backing object @fd of device @dev to @p, the
 * way @dev's backend places them.  @fresh: a new file, no page yet.
 */
static int apply(struct cdm_fs *fs, const struct cdm_policy *p, uint16_t dev,
		 int fd, bool fresh)
{
	const struct cdm_backend_ops *ops = fs->devices.dev[dev].ops;
	struct cdm_placement pl;
	int ret;

	ret = cdm_placement_of(fs, p, dev, &pl);
	if (ret)
		return ret;
	if (!ops->bind)
		return -EOPNOTSUPP;
	return ops->bind(fd, &pl, fresh);
}

int cdm_place_new(struct cdm_fs *fs, struct cdm_inode *parent, int fd,
		  bool regular)
{
	uint16_t dev = parent->dev;	/* once: a rename may change it */
	struct cdm_policy p;
	char path[CDM_PROCFD_MAX], buf[CDM_POLICY_STRLEN];
	ino_t dino;
	dev_t ddev;
	int copy;

	if (dev == CDM_NO_DEVICE)
		return -EPERM;
	/* most files are made right in their device directory: cached */
	copy = device_policy(fs, dev, &p, &dino, &ddev);
	if (copy < 0)
		return copy;
	if (parent->src_ino != dino || parent->src_dev != ddev) {
		struct cdm_policy own;

		/* without a policy of its own, @parent follows its device */
		copy = inode_own_policy(fs, parent, &own);
		if (copy < 0)
			return copy;
		if (copy)
			p = own;
	}
	/* the parent's own policy is copied (inherit at creation) */
	if (copy) {
		int n = cdm_policy_format(&p, &fs->devices, buf, sizeof(buf));

		cdm_procfd(path, fd);
		if (n < 0 || setxattr(path, CDM_XATTR_POLICY, buf, (size_t)n, 0))
			return n < 0 ? n : -errno;
	}
	if (!regular)
		return 0;
	return apply(fs, &p, dev, fd, true);
}

int cdm_check_space(struct cdm_fs *fs, struct cdm_inode *inode,
		    uint64_t bytes)
{
	struct cdm_policy p;
	uint64_t avail;
	int ret;

	if (!bytes)
		return 0;
	ret = cdm_effective_policy(fs, inode, &p);
	if (!ret)
		ret = cdm_policy_avail(fs, &p, &avail);
	if (ret)
		return ret == -ENODATA ? 0 : ret;
	return bytes > avail ? -ENOSPC : 0;
}

/*
 * -ENOSPC if the memory of file @inode (@st) does not fit where @p puts
 * it.  A simulated device counts the files in its directory whatever
 * their policy (placement is logical only), so a file already counted on
 * one of @p's devices needs nothing more there.  Checked, not reserved:
 * the pages move later, a batch at a time.
 */
static int check_move(struct cdm_fs *fs, struct cdm_inode *inode,
		      const struct cdm_policy *p, const struct stat *st)
{
	uint64_t need = (uint64_t)st->st_blocks * 512, avail;
	int ret;

	if (!fs->devices.dev[inode->dev].ops->usage &&
	    cdm_policy_has_device(p, inode->dev))
		need = 0;
	if (!need)
		return 0;
	ret = cdm_policy_avail(fs, p, &avail);
	if (ret)
		return ret;
	return need > avail ? -ENOSPC : 0;
}

/*
 * Put back the file's own policy as it was (@old, @oldn bytes; @oldn < 0:
 * none) and bind its new pages to what it follows then: a policy change
 * that failed halfway leaves nothing changed.
 */
static void restore_policy(struct cdm_fs *fs, struct cdm_inode *inode,
			   uint16_t dev, int fd, const char *old, ssize_t oldn)
{
	char path[CDM_PROCFD_MAX];
	struct cdm_policy p;
	int ret;

	cdm_procfd(path, fd);	/* the file, open for I/O */
	if (oldn >= 0)
		ret = setxattr(path, CDM_XATTR_POLICY, old, (size_t)oldn, 0);
	else
		ret = removexattr(path, CDM_XATTR_POLICY);
	ret = ret && errno != ENODATA ? -errno : 0;
	policy_written(fs, inode);
	if (!ret)
		ret = cdm_effective_policy(fs, inode, &p);
	if (!ret)
		ret = apply(fs, &p, dev, fd, false);
	if (ret)
		cdm_log(LOG_ERR, "inode %llu: cannot restore its policy after a failed change: %s",
			(unsigned long long)inode->src_ino, strerror(-ret));
}

/*
 * cdm_set_policy(), with @was the policy the file's pages followed until
 * now (NULL: the one in force, read here), and @ifd an O_PATH fd of @inode.
 */
static int set_policy_at(struct cdm_fs *fs, struct cdm_inode *inode, int ifd,
			 uid_t uid, const char *value, size_t size,
			 const struct cdm_policy *was)
{
	char path[CDM_PROCFD_MAX], text[CDM_POLICY_STRLEN];
	char old[CDM_POLICY_STRLEN];
	uint16_t dev = inode->dev;	/* once: a rename may change it */
	struct cdm_placement pl;
	struct cdm_policy p, before;
	struct stat st;
	ssize_t oldn;
	int ret, fd, n;

	if (dev == CDM_NO_DEVICE)
		return -EPERM;		/* the root has no memory of its own */
	ret = cdm_policy_parse(value, size, &fs->devices, &p);
	if (ret)
		return ret;
	/* e.g. a region's pages for a file outside it: refuse, change nothing */
	if (p.mode != CDM_POLICY_INHERIT &&
	    (ret = cdm_placement_of(fs, &p, dev, &pl)))
		return ret;
	if (fstatat(ifd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (uid != 0 && uid != st.st_uid)
		return -EPERM;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EINVAL;
	cdm_procfd(path, ifd);
	if (S_ISDIR(st.st_mode)) {
		if (p.mode == CDM_POLICY_INHERIT) {
			ret = removexattr(path, CDM_XATTR_POLICY) &&
			      errno != ENODATA ? -errno : 0;
		} else {
			n = cdm_policy_format(&p, &fs->devices, text,
					      sizeof(text));
			if (n < 0)
				return n;
			ret = setxattr(path, CDM_XATTR_POLICY, text, (size_t)n,
				       0) ? -errno : 0;
		}
		/* after the write: it may be the device's own directory */
		forget_device_policy(fs, dev);
		policy_written(fs, inode);
		return ret;
	}

	/* a regular file: its pages move; check the target has room */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* all or nothing: what to put back if binding or queueing fails */
	oldn = getxattr(path, CDM_XATTR_POLICY, old, sizeof(old));
	if (oldn < 0 && errno != ENODATA) {
		ret = -errno;
		goto out;
	}
	/* where its pages are now, for a logical (simulated) placement */
	if (was)
		before = *was;
	else if ((ret = cdm_effective_policy(fs, inode, &before)))
		goto out;
	if (p.mode == CDM_POLICY_INHERIT) {
		/* it will follow its device: check that has room first */
		ret = device_policy(fs, dev, &p, NULL, NULL);
		if (ret < 0)
			goto out;
		ret = check_move(fs, inode, &p, &st);
		if (ret)
			goto out;
		if (removexattr(path, CDM_XATTR_POLICY) && errno != ENODATA) {
			ret = -errno;
			goto out;
		}
		policy_written(fs, inode);
	} else {
		ret = check_move(fs, inode, &p, &st);
		n = cdm_policy_format(&p, &fs->devices, text, sizeof(text));
		if (!ret && n < 0)
			ret = n;
		if (!ret && setxattr(path, CDM_XATTR_POLICY, text, (size_t)n, 0))
			ret = -errno;
		if (ret)
			goto out;	/* nothing changed yet */
		policy_written(fs, inode);
	}
	/*
	 * New pages go to the new place from now on; the worker moves the
	 * old ones.  The kernel's inode lock keeps setters of one file in
	 * turn, so this binding and the migration's target agree.
	 */
	ret = apply(fs, &p, dev, fd, false);
	if (ret)
		goto err_restore;
	ret = cdm_migrate_start(fs, inode, &p, &before,
				(uint64_t)st.st_blocks * 512);
	if (ret)
		goto err_restore;
	close(fd);
	return 0;
err_restore:
	restore_policy(fs, inode, dev, fd, old, oldn);
out:
	close(fd);
	return ret;
}

static int set_policy(struct cdm_fs *fs, struct cdm_inode *inode, uid_t uid,
		      const char *value, size_t size,
		      const struct cdm_policy *was)
{
	int fd = cdm_inode_fd(&fs->table, inode), ret;

	if (fd < 0)
		return fd;
	ret = set_policy_at(fs, inode, fd, uid, value, size, was);
	cdm_inode_fd_put(inode, fd);
	return ret;
}

int cdm_set_policy(struct cdm_fs *fs, struct cdm_inode *inode, uid_t uid,
		   const char *value, size_t size)
{
	return set_policy(fs, inode, uid, value, size, NULL);
}

int cdm_move_to_device(struct cdm_fs *fs, struct cdm_inode *inode,
		       uint16_t devidx, bool regular)
{
	struct cdm_policy was;
	bool have_was;
	uint16_t old;
	int ret;

	/* where its pages are: by its old device's policy, if it has none */
	have_was = regular && !cdm_effective_policy(fs, inode, &was);
	pthread_mutex_lock(&fs->table.lock);
	old = inode->dev;
	inode->dev = devidx;
	pthread_mutex_unlock(&fs->table.lock);
	if (!regular)
		return 0;
	ret = set_policy(fs, inode, 0, "inherit", 7, have_was ? &was : NULL);
	if (ret) {
		/* the caller puts the name back where it was */
		pthread_mutex_lock(&fs->table.lock);
		inode->dev = old;
		pthread_mutex_unlock(&fs->table.lock);
	}
	return ret;
}

char *cdm_policy_value(struct cdm_fs *fs, struct cdm_inode *inode)
{
	char text[CDM_POLICY_STRLEN];
	struct cdm_policy p;
	int ret;

	ret = cdm_effective_policy(fs, inode, &p);
	if (!ret && cdm_policy_format(&p, &fs->devices, text, sizeof(text)) < 0)
		ret = -ENAMETOOLONG;
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return strdup(text);
}

/* Add @n bytes spread over @p's devices as its pages are dealt out. */
static void spread(const struct cdm_policy *p, uint64_t n, uint64_t *bytes)
{
	for (int i = 0; i < p->ndev; i++)
		bytes[p->dev[i]] += n / p->ndev + (i < (int)(n % p->ndev) ? 1 : 0);
}

/*
 * Devices with no node of their own (simulated: all host RAM) have a
 * logical placement: @total resident bytes are on the policy's devices,
 * except while a migration walks them there: then the bytes it has moved
 * are on the target and the rest where they were.  Never the policy's
 * word alone, which changes before any page has moved.
 */
static void logical_residency(struct cdm_inode *inode,
			      const struct cdm_policy *p, uint64_t total,
			      uint64_t *bytes)
{
	struct cdm_policy from, to;
	uint64_t done;

	if (!cdm_migration_progress(inode, &from, &to, &done)) {
		spread(p, total, bytes);
		return;
	}
	if (done > total)
		done = total;		/* truncated meanwhile */
	/* the moved pages were off the target; the rest keep their place */
	spread(&to, done, bytes);
	spread(&from, total - done, bytes);
}

/*
 * Bytes per device, as the backend of the file's device tells.  Pages of a
 * file whose placement is logical (simulated devices only: host RAM) are
 * counted on the policy's devices, split evenly.
 */
static int residency(struct cdm_fs *fs, struct cdm_inode *inode,
		     uint64_t *bytes, uint64_t *drift, uint64_t *lost)
{
	struct cdm_residency r = { .bytes = bytes };
	const struct cdm_backend_ops *ops;
	struct cdm_policy p;
	char path[CDM_PROCFD_MAX];
	int fd, ret;

	uint16_t dev = inode->dev;	/* once: a rename may change it */

	ret = cdm_effective_policy(fs, inode, &p);
	if (ret)
		return ret;
	fd = cdm_inode_fd(&fs->table, inode);
	if (fd < 0)
		return fd;
	cdm_procfd(path, fd);
	ret = open(path, O_RDONLY | O_CLOEXEC);
	ret = ret < 0 ? -errno : ret;
	cdm_inode_fd_put(inode, fd);
	fd = ret;
	if (fd < 0)
		return fd;
	ops = fs->devices.dev[dev].ops;
	ret = ops->residency ? ops->residency(&p, &fs->devices, dev, fd, &r) :
			       -EOPNOTSUPP;
	close(fd);
	if (ret)
		return ret;
	if (r.logical)
		logical_residency(inode, &p, r.resident, bytes);
	*drift = r.drift;
	*lost = r.lost;
	return 0;
}

char *cdm_residency_value(struct cdm_fs *fs, struct cdm_inode *inode,
			  bool want_drift)
{
	uint64_t *bytes, drift = 0, lost = 0;
	struct cdm_policy p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	bytes = calloc(fs->devices.count, sizeof(*bytes));
	if (!bytes)
		return NULL;
	ret = residency(fs, inode, bytes, &drift, &lost);
	if (!ret)
		ret = cdm_effective_policy(fs, inode, &p);
	f = ret ? NULL : open_memstream(&buf, &len);
	if (!f) {
		free(bytes);
		errno = ret ? -ret : ENOMEM;
		return NULL;
	}
	if (want_drift) {
		fprintf(f, "%llu", (unsigned long long)drift);
	} else {
		const char *sep = "";

		/* the policy's devices always, others where pages are */
		for (size_t i = 0; i < fs->devices.count; i++) {
			if (!bytes[i] && !cdm_policy_has_device(&p, (uint16_t)i))
				continue;
			fprintf(f, "%s%s=%llu", sep, fs->devices.dev[i].name,
				(unsigned long long)bytes[i]);
			sep = " ";
		}
		/* data a failed device took with it: reads say EIO */
		if (lost)
			fprintf(f, "%slost=%llu", sep, (unsigned long long)lost);
	}
	free(bytes);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
