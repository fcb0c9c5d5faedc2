// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The policy store: which policy a file or directory follows.
 *
 * A file or directory's own policy is stored with its backing inode, as the
 * xattr user.cdm.policy of the store, so it lives as long as the file and
 * survives a daemon restart.  Without one, a file follows its device
 * directory's policy, and without that, bind:<device>.  Reading is cached
 * (a device directory's policy, an inode's lack of one); the daemon is the
 * only writer of its store and says when it wrote (cdm_policy_written,
 * cdm_forget_device_policy).  Below the migrator and placement, which ask
 * it; it asks only the inode table.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "cdmfs/xattr.h"
#include "fs.h"
#include "policystore.h"

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
 * writer of its store; a policy written meanwhile (cdm_policy_written()) bumps
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
void cdm_policy_written(struct cdm_fs *fs, struct cdm_inode *inode)
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

int cdm_policystore_open(struct cdm_fs *fs)
{
	fs->devpol = calloc(fs->devices.count ? fs->devices.count : 1,
			    sizeof(*fs->devpol));
	if (!fs->devpol)
		return -ENOMEM;
	pthread_mutex_init(&fs->devpol_lock, NULL);
	return 0;
}

void cdm_policystore_close(struct cdm_fs *fs)
{
	if (!fs->devpol)
		return;
	pthread_mutex_destroy(&fs->devpol_lock);
	free(fs->devpol);
	fs->devpol = NULL;
}

/* Drop the cached policy of device @dev's directory (it may have changed). */
void cdm_forget_device_policy(struct cdm_fs *fs, uint16_t dev)
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

int cdm_device_policy(struct cdm_fs *fs, uint16_t dev, struct cdm_policy *p)
{
	return device_policy(fs, dev, p, NULL, NULL);
}

int cdm_own_policy(struct cdm_fs *fs, struct cdm_inode *inode,
		   struct cdm_policy *p)
{
	uint16_t dev = inode->dev;	/* once: a rename may change it */
	struct cdm_policy own;
	ino_t dino = 0;
	dev_t ddev = 0;
	int ret;

	if (dev == CDM_NO_DEVICE)
		return -ENODATA;
	ret = device_policy(fs, dev, p, &dino, &ddev);
	/* the device directory itself: cached, as each create asks for it */
	if (ret < 0 || (inode->src_ino == dino && inode->src_dev == ddev))
		return ret;
	/* without a policy of its own, @inode follows its device */
	ret = inode_own_policy(fs, inode, &own);
	if (ret > 0)
		*p = own;
	return ret;
}

int cdm_effective_policy(struct cdm_fs *fs, struct cdm_inode *inode,
			 struct cdm_policy *p)
{
	int ret = cdm_own_policy(fs, inode, p);

	return ret < 0 ? ret : 0;
}

int cdm_placement_of(struct cdm_fs *fs, const struct cdm_policy *p,
		     uint16_t dev, struct cdm_placement *pl)
{
	const struct cdm_backend_ops *ops = fs->devices.dev[dev].ops;

	if (!ops->translate)
		return -EOPNOTSUPP;
	return ops->translate(p, &fs->devices, dev, pl);
}
