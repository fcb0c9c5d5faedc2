// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The data path of regular files: the backing fd an open gets, FUSE
 * passthrough (one backing id per inode, shared by its opens) or the
 * daemon-served fallback, and O_TRUNC inside OPEN/CREATE.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cdmfs/log.h"
#include "caller.h"
#include "datapath.h"
#include "fs.h"
#include "req.h"

/*
 * The kernel's FUSE_DEV_IOC_BACKING_CLOSE (uapi linux/fuse.h, >= 6.9):
 * what fuse_passthrough_close() does, for when no request is at hand.
 */
#define CDM_FUSE_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

/* Drop passthrough backing @id without a request (the reply failed). */
static void close_backing(struct cdm_fs *fs, int id)
{
	if (fs->se &&
	    ioctl(fuse_session_fd(fs->se), CDM_FUSE_DEV_IOC_BACKING_CLOSE, &id) < 0)
		cdm_log(LOG_WARNING, "passthrough backing %d: cannot close: %s", id,
			strerror(errno));
}

/*
 * Open the backing file for I/O.  Passthrough shares one backing file per
 * inode across all opens, so it is always opened read-write; the kernel
 * checked the caller's access on the cdmfs file already.  O_APPEND stays
 * off: the kernel computes append offsets (and pwrite would ignore them).
 */
int cdm_open_backing(struct cdm_fs *fs, struct cdm_inode *inode, int flags)
{
	char path[CDM_PROCFD_MAX];
	int fd, pfd = cdm_inode_fd(&fs->table, inode);

	if (pfd < 0)
		return pfd;
	cdm_procfd(path, pfd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		fd = open(path, (flags & O_ACCMODE) | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	cdm_inode_fd_put(inode, pfd);
	return fd;
}

/*
 * Attach the backing file to the kernel's open file, or fall back.
 * Returns true when this open lets the file be mapped shared writable
 * through passthrough for the first time: attributes the kernel cached
 * are to be dropped then (see attr_timeout() in ops.c).
 */
bool cdm_setup_datapath(fuse_req_t req, struct cdm_inode *inode,
			   struct fuse_file_info *fi, int fd)
{
	struct cdm_fs *fs = cdm_fs_of(req);
	bool mappable = false;

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
		/*
		 * No FLUSH at close, a synchronous round trip for nothing:
		 * the data is in the backing file (mmap too maps it, the FUSE
		 * page cache stays empty), cdm_flush has nothing to do, and
		 * POSIX locks are the kernel's (no FUSE_CAP_POSIX_LOCKS).
		 * Through the daemon, FLUSH is kept: the kernel writes pages
		 * dirtied through mmap back before it, so the store has them.
		 */
		fi->noflush = 1;
		inode->datapath = CDM_DATAPATH_PASSTHROUGH;
		cdm_stat_inc(fs, CDM_STAT_PASSTHROUGH_OPENS);
	} else {
		inode->datapath = CDM_DATAPATH_DAEMON;
		cdm_stat_inc(fs, CDM_STAT_PASSTHROUGH_FALLBACKS);
	}
	inode->nopen++;
	if ((fi->flags & O_ACCMODE) == O_RDWR && inode->backing_id &&
	    !inode->mapped_rw)
		mappable = inode->mapped_rw = true;
	pthread_mutex_unlock(&inode->lock);
	return mappable;
}

/*
 * Undo cdm_setup_datapath() and close the backing fd, without a reply: for
 * cdm_release, and for an open whose reply the kernel did not take (then
 * @req is already freed and NULL here).
 */
void cdm_release_file(fuse_req_t req, struct cdm_fs *fs,
			 struct cdm_inode *inode, struct fuse_file_info *fi)
{
	pthread_mutex_lock(&inode->lock);
	if (--inode->nopen == 0 && inode->backing_id) {
		if (req)
			fuse_passthrough_close(req, inode->backing_id);
		else
			close_backing(fs, inode->backing_id);
		inode->backing_id = 0;
	}
	pthread_mutex_unlock(&inode->lock);
	close(fi->fh);
}

/*
 * O_TRUNC of an existing file arrives inside OPEN/CREATE (libfuse turns on
 * atomic O_TRUNC, so the kernel sends no SETATTR): truncate @fd here, and
 * clear set-uid/set-gid as the kernel's FUSE_OPEN_KILL_SUIDGID would ask
 * (it comes for callers without CAP_FSETID; libfuse 3.17 does not pass it
 * on).  Returns 1 if the mode changed: the kernel's cached one is stale
 * then (an open reply carries no attributes).
 */
int cdm_open_truncate(fuse_req_t req, int fd)
{
	struct cdm_inode file = { .fd = fd };

	if (ftruncate(fd, 0))
		return -errno;
	return cdm_kill_priv(req, &file, false, 0);
}

int cdm_open_file(fuse_req_t req, struct cdm_inode *inode,
		  struct fuse_file_info *fi)
{
	int fd, ret = 0;

	fd = cdm_open_backing(cdm_fs_of(req), inode, fi->flags);
	if (fd < 0)
		return fd;
	if (fi->flags & O_TRUNC) {
		ret = cdm_open_truncate(req, fd);
		if (ret < 0) {
			close(fd);
			return ret;
		}
	}
	/* the mode changed (ret > 0), or stat must see mapped writes now */
	return cdm_setup_datapath(req, inode, fi, fd) || ret > 0;
}
