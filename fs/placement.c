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

#include "cdmfs/log.h"
#include "cdmfs/xattr.h"
#include "capacity.h"
#include "fs.h"
#include "migrator.h"
#include "placement.h"
#include "policystore.h"
#include "tiering.h"

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
	int copy;

	if (dev == CDM_NO_DEVICE)
		return -EPERM;
	copy = cdm_own_policy(fs, parent, &p);
	if (copy < 0)
		return copy;
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

int cdm_place_file(struct cdm_fs *fs, struct cdm_inode *inode, int fd)
{
	struct cdm_policy p;
	int ret = cdm_effective_policy(fs, inode, &p);

	return ret ? ret : apply(fs, &p, inode->dev, fd, true);
}

/* Tiering hook: a regular file that follows @p from now on. */
static void tier_if_tiered(struct cdm_fs *fs, struct cdm_inode *inode,
			   const struct cdm_policy *p)
{
	if (p->mode == CDM_POLICY_TIERED)
		cdm_tier_watch(fs, inode);
}

void cdm_place_created(struct cdm_fs *fs, struct cdm_inode *parent,
		       struct cdm_inode *inode)
{
	struct cdm_policy p;

	/* the parent's: cached when it has none, no getxattr per create */
	if (cdm_own_policy(fs, parent, &p) >= 0)
		tier_if_tiered(fs, inode, &p);
}

void cdm_place_opened(struct cdm_fs *fs, struct cdm_inode *inode)
{
	struct cdm_policy p;

	/*
	 * A file tiered before this daemon started (or before the kernel
	 * forgot its inode) is watched again from its first open; the
	 * policy is cached for files without one of their own
	 */
	if (!fs->tiering || cdm_tier_watching(fs, inode))
		return;
	if (!cdm_effective_policy(fs, inode, &p))
		tier_if_tiered(fs, inode, &p);
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
	cdm_policy_written(fs, inode);
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
	const char *why;
	struct stat st;
	ssize_t oldn;
	int ret, fd, n;

	if (dev == CDM_NO_DEVICE)
		return -EPERM;		/* the root has no memory of its own */
	ret = cdm_policy_parse_why(value, size, &fs->devices, &p, &why);
	if (ret) {
		/* the value as far as it is text, for the reader of the log */
		cdm_log(LOG_NOTICE, "inode %llu: policy '%.*s' refused: %s",
			(unsigned long long)inode->src_ino,
			(int)strnlen(value, size < 96 ? size : 96), value, why);
		return ret;
	}
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
		cdm_forget_device_policy(fs, dev);
		cdm_policy_written(fs, inode);
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
		ret = cdm_device_policy(fs, dev, &p);
		if (ret < 0)
			goto out;
		ret = check_move(fs, inode, &p, &st);
		if (ret)
			goto out;
		if (removexattr(path, CDM_XATTR_POLICY) && errno != ENODATA) {
			ret = -errno;
			goto out;
		}
		cdm_policy_written(fs, inode);
	} else {
		ret = check_move(fs, inode, &p, &st);
		n = cdm_policy_format(&p, &fs->devices, text, sizeof(text));
		if (!ret && n < 0)
			ret = n;
		if (!ret && setxattr(path, CDM_XATTR_POLICY, text, (size_t)n, 0))
			ret = -errno;
		if (ret)
			goto out;	/* nothing changed yet */
		cdm_policy_written(fs, inode);
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
	tier_if_tiered(fs, inode, &p);
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
