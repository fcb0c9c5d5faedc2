// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Capacity: what a device may still take, reserved atomically for the
 * growth the daemon sees (truncate with -o reserve, fallocate, new files).
 *
 * Passthrough writes and page faults never reach the daemon: what bounds
 * them is the kernel's, the store tmpfs's size= (store.c) and the nodes'
 * own memory.  The daemon's part is to refuse, before allocating, growth
 * that would not fit, and not to let two requests both take the last free
 * bytes: each growth reserves what it adds under cap.lock, allocates with
 * the lock dropped, and releases the reservation once the allocation shows
 * in the device's usage.  doc/capacity.md has the whole design.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "capacity.h"
#include "fs.h"
#include "policystore.h"
#include "store.h"


int cdm_capacity_open(struct cdm_fs *fs)
{
	fs->cap.dev = calloc(fs->devices.count ? fs->devices.count : 1,
			     sizeof(*fs->cap.dev));
	if (!fs->cap.dev)
		return -ENOMEM;
	pthread_mutex_init(&fs->cap.lock, NULL);
	return 0;
}

void cdm_capacity_close(struct cdm_fs *fs)
{
	if (!fs->cap.dev)
		return;
	pthread_mutex_destroy(&fs->cap.lock);
	free(fs->cap.dev);
	fs->cap.dev = NULL;
}

uint64_t cdm_store_free(struct cdm_fs *fs)
{
	struct statvfs sv;

	/* size=0 (unbounded) tmpfs says 0 blocks: nothing bounds it */
	if (fstatvfs(fs->root.fd, &sv) || !sv.f_blocks)
		return UINT64_MAX;
	return (uint64_t)sv.f_bavail * sv.f_frsize;
}

/* Free bytes of @dev less what others reserved; cap.lock held. */
static int dev_avail_locked(struct cdm_fs *fs, uint16_t dev, uint64_t *avail)
{
	uint64_t size, used, a;
	int ret = cdm_device_usage(fs, dev, &size, &used, &a);

	if (ret)
		return ret;
	*avail = a > fs->cap.dev[dev].reserved ? a - fs->cap.dev[dev].reserved : 0;
	return 0;
}

static int policy_avail_locked(struct cdm_fs *fs, const struct cdm_policy *p,
			       uint64_t *avail)
{
	*avail = 0;
	/* preferred falls back to other memory when its device is full */
	if (p->mode == CDM_POLICY_PREFERRED) {
		*avail = UINT64_MAX;
		return 0;
	}
	for (int i = 0; i < p->ndev; i++) {
		uint64_t a;
		int ret = dev_avail_locked(fs, p->dev[i], &a);

		if (ret)
			return ret;
		*avail = a > UINT64_MAX - *avail ? UINT64_MAX : *avail + a;
	}
	return 0;
}

int cdm_policy_avail(struct cdm_fs *fs, const struct cdm_policy *p,
		     uint64_t *avail)
{
	int ret;

	pthread_mutex_lock(&fs->cap.lock);
	ret = policy_avail_locked(fs, p, avail);
	pthread_mutex_unlock(&fs->cap.lock);
	return ret;
}

int cdm_capacity_reserve(struct cdm_fs *fs, const struct cdm_policy *p,
			 uint64_t bytes, struct cdm_reservation *r)
{
	uint64_t avail, share;
	int ret;

	r->ndev = 0;
	r->bytes = 0;
	if (!bytes || p->mode == CDM_POLICY_PREFERRED || !p->ndev)
		return 0;
	pthread_mutex_lock(&fs->cap.lock);
	ret = policy_avail_locked(fs, p, &avail);
	if (!ret && bytes > avail)
		ret = -ENOSPC;
	if (!ret) {
		/* spread as the policy spreads pages: evenly */
		share = (bytes + p->ndev - 1) / p->ndev;
		for (int i = 0; i < p->ndev; i++) {
			fs->cap.dev[p->dev[i]].reserved += share;
			r->dev[r->ndev++] = p->dev[i];
		}
		r->bytes = share;
	}
	pthread_mutex_unlock(&fs->cap.lock);
	return ret;
}

void cdm_capacity_release(struct cdm_fs *fs, struct cdm_reservation *r)
{
	if (!r->ndev)
		return;
	pthread_mutex_lock(&fs->cap.lock);
	for (int i = 0; i < r->ndev; i++) {
		fs->cap.dev[r->dev[i]].reserved -= r->bytes;
		fs->cap.dev[r->dev[i]].walked_at = 0;	/* it has grown */
	}
	pthread_mutex_unlock(&fs->cap.lock);
	r->ndev = 0;
}

int cdm_capacity_reserve_inode(struct cdm_fs *fs, struct cdm_inode *inode,
			       uint64_t bytes, struct cdm_reservation *r)
{
	struct cdm_policy p;
	int ret;

	r->ndev = 0;
	if (!bytes)
		return 0;
	ret = cdm_effective_policy(fs, inode, &p);
	if (ret)
		return ret == -ENODATA ? 0 : ret;
	return cdm_capacity_reserve(fs, &p, bytes, r);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Free bytes of @dev for a new file: a simulated device's use is a walk
 * of all its files, too dear for every create, so its last walk stands for
 * a while: at least a second, and ten times what the walk cost, which
 * keeps walking under a tenth of the time.  A file created meanwhile
 * takes no memory; what is written into it is bounded elsewhere.
 */
static int dev_avail_new_file(struct cdm_fs *fs, uint16_t dev, uint64_t *avail)
{
	struct cdm_capacity_dev *c = &fs->cap.dev[dev];
	double t0;
	int ret = 0;

	pthread_mutex_lock(&fs->cap.lock);
	t0 = now();
	if (fs->devices.dev[dev].ops->usage || !c->walked_at ||
	    (fs->devsb && fs->devsb[dev].own) ||
	    t0 - c->walked_at > (c->walk_cost * 10 > 1 ? c->walk_cost * 10 : 1)) {
		ret = dev_avail_locked(fs, dev, &c->walked_avail);
		c->walked_at = now();
		c->walk_cost = c->walked_at - t0;
	}
	*avail = c->walked_avail;
	pthread_mutex_unlock(&fs->cap.lock);
	return ret;
}

void cdm_capacity_changed(struct cdm_fs *fs, uint16_t dev)
{
	if (dev == CDM_NO_DEVICE)
		return;
	pthread_mutex_lock(&fs->cap.lock);
	fs->cap.dev[dev].walked_at = 0;
	pthread_mutex_unlock(&fs->cap.lock);
}

int cdm_capacity_new_file(struct cdm_fs *fs, struct cdm_inode *parent)
{
	struct cdm_policy p;
	uint64_t avail = 0;
	int ret;

	/* the directory's policy is the one the new file gets */
	ret = cdm_effective_policy(fs, parent, &p);
	if (ret)
		return ret == -ENODATA ? 0 : ret;
	if (p.mode == CDM_POLICY_PREFERRED)
		return 0;		/* it falls back */
	for (int i = 0; i < p.ndev; i++) {
		uint64_t a;

		ret = dev_avail_new_file(fs, p.dev[i], &a);
		if (ret)
			return ret;
		avail += a;
	}
	/* not one page left: a full device, as df shows it */
	return avail < (uint64_t)sysconf(_SC_PAGESIZE) ? -ENOSPC : 0;
}

/*
 * cachestat(2) (Linux 6.5) counts every page a shmem file has in a range,
 * fallocated ones included; bookworm's headers predate it.
 */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
struct cdm_cachestat_range {
	uint64_t off, len;
};
struct cdm_cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted;
	uint64_t nr_recently_evicted;
};

/*
 * Without cachestat: SEEK_DATA.  It does not see fallocated pages that
 * nothing wrote yet (not uptodate), so it may count them again: it errs
 * toward ENOSPC, never toward overcommitting.
 */
static int unallocated_seek(int fd, off_t pos, off_t to, uint64_t *bytes)
{
	off_t data, hole;

	while (pos < to) {
		data = lseek(fd, pos, SEEK_DATA);
		if (data < 0 && errno != ENXIO)
			return -errno;
		/* ENXIO: no data from pos to the end of the file */
		if (data < 0 || data > to)
			data = to;
		*bytes += (uint64_t)(data - pos);
		if (data >= to)
			break;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		pos = hole;
	}
	return 0;
}

int cdm_capacity_unallocated(int fd, off_t from, off_t to, uint64_t *bytes)
{
	off_t base = (off_t)sysconf(_SC_PAGESIZE), pg = base, pos;
	struct cdm_cachestat_range range;
	struct cdm_cachestat cs;
	struct stat st;
	uint64_t pages;

	*bytes = 0;
	if (from < 0 || to <= from)
		return 0;
	/*
	 * shmem allocates whole pages.  Where it gives this file 2 MiB pages
	 * (a huge= store; st_blksize says so, shmem_getattr) a 4 KiB
	 * fallocate into a hole takes the 2 MiB around it: count whole
	 * 2 MiB extents.  It errs toward ENOSPC (an extent past EOF may get
	 * small pages), never toward overcommitting.
	 */
	if (!fstat(fd, &st) && st.st_blksize > pg && st.st_blksize % pg == 0)
		pg = st.st_blksize;
	pos = from / pg * pg;
	to = to > INT64_MAX - pg ? INT64_MAX / pg * pg : (to + pg - 1) / pg * pg;
	range.off = (uint64_t)pos;
	range.len = (uint64_t)(to - pos);
	if (syscall(__NR_cachestat, fd, &range, &cs, 0) == 0) {
		/* in memory, or swapped out (shmem counts those as evicted) */
		pages = cs.nr_cache + cs.nr_evicted;	/* of base size */
		*bytes = range.len - (pages * (uint64_t)base < range.len ?
				      pages * (uint64_t)base : range.len);
		return 0;
	}
	if (errno != ENOSYS)
		return -errno;
	return unallocated_seek(fd, pos, to, bytes);
}

/*
 * -o reserve: allocate the pages a truncate adds to the file now, under its
 * policy, so a full device says ENOSPC here rather than failing a page
 * fault later (SIGBUS).  The room is reserved first, so concurrent
 * truncates cannot together take more than the device has.  Writes past
 * the end through passthrough never reach the daemon: only truncate growth
 * is covered.
 */
int cdm_capacity_grow(struct cdm_fs *fs, struct cdm_inode *inode, int fd,
		      off_t from, off_t to)
{
	struct cdm_reservation r;
	char path[CDM_PROCFD_MAX];
	bool own = fd < 0;
	uint64_t need;
	int ret;

	if (fd < 0) {
		int pfd = cdm_inode_fd(&fs->table, inode);

		if (pfd < 0)
			return pfd;
		cdm_procfd(path, pfd);
		fd = open(path, O_RDWR | O_CLOEXEC);
		cdm_inode_fd_put(inode, pfd);
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
	if (own)
		close(fd);
	return ret;
}

int cdm_capacity_fallocate(struct cdm_fs *fs, struct cdm_inode *inode, int fd,
			   int mode, off_t offset, off_t length)
{
	struct cdm_reservation r = { .ndev = 0 };
	uint64_t need = 0;
	int ret = 0;

	/*
	 * Allocating modes only (punching frees); and only what the range
	 * lacks: allocating an allocated range again takes nothing.
	 */
	if (!(mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE))) {
		ret = cdm_capacity_unallocated(fd, offset, offset + length,
					       &need);
		if (!ret)
			ret = cdm_capacity_reserve_inode(fs, inode, need, &r);
	}
	if (!ret && fallocate(fd, mode, offset, length))
		ret = errno == ENOMEM ? -ENOSPC : -errno;
	cdm_capacity_release(fs, &r);
	if (!ret && mode & FALLOC_FL_PUNCH_HOLE)
		cdm_capacity_changed(fs, inode->dev);
	return ret;
}

int cdm_device_usage(struct cdm_fs *fs, uint16_t devidx, uint64_t *size,
		     uint64_t *used, uint64_t *avail)
{
	struct cdm_device *dev = &fs->devices.dev[devidx];
	uint64_t store;
	int ret;

	if (dev->ops->usage) {
		ret = dev->ops->usage(fs->opt.sysroot, dev, size, avail);
		if (ret)
			return ret;
		*used = *avail < *size ? *size - *avail : 0;
	} else if (!cdm_store_devsb_usage(fs, devidx, used, &store)) {
		/*
		 * its own tmpfs holds all it has, unlinked open files too,
		 * and closed ones until their FORGET reaches us
		 */
		uint64_t closed = cdm_inode_closed_bytes(&fs->table, devidx);

		closed = closed < *used ? closed : *used;
		*used -= closed;
		*size = dev->size;
		*avail = store + closed;
		return 0;
	} else {
		/* a simulated device holds only what we stored in it */
		ret = cdm_store_used(fs, devidx, used);
		if (ret)
			return ret;
		*used += cdm_inode_unlinked_bytes(&fs->table, devidx);
		*size = dev->size;
		*avail = *used < dev->size ? dev->size - *used : 0;
	}
	/* a region has a filesystem of its own; the others share the store */
	if (!cdm_device_own_fs(dev)) {
		uint64_t u;

		/* its own tmpfs, or the store all devices share */
		if (cdm_store_devsb_usage(fs, devidx, &u, &store))
			store = cdm_store_free(fs);
		if (*avail > store)
			*avail = store;
	}
	return 0;
}
