// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The backing store: a tmpfs directory holding <device>/<path> for every
 * file of the mount.  tmpfs because its files are shmem objects (NUMA
 * shared policy, mbind migration, regular files for passthrough), it keeps
 * names, modes, links and xattrs for us, and it outlives the daemon: a
 * restarted daemon finds every file, its data and its policy in place.
 *
 * As root the daemon mounts a tmpfs of its own at /run/cdmfs/<mountpoint>
 * (mode 0700).  Otherwise, or with -o store=DIR, it uses a directory on an
 * existing tmpfs (e.g. /dev/shm).
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cdmfs.h"
#include "cdmfs/cdmkm.h"
#include "cdmfs/log.h"

#define STORE_RUNDIR "/run/cdmfs"

/* "/mnt/cdm" -> "mnt-cdm", as systemd names mount units. */
static void escape_path(const char *path, char *out, size_t len)
{
	size_t j = 0;

	while (*path == '/')
		path++;
	for (; *path && j + 1 < len; path++)
		out[j++] = *path == '/' ? '-' : *path;
	if (!j && len > 1)
		out[j++] = '-';
	out[j] = '\0';
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static bool is_mountpoint(const char *path)
{
	char parent[PATH_MAX + 4];
	struct stat a, b;

	snprintf(parent, sizeof(parent), "%s/..", path);
	return !stat(path, &a) && !stat(parent, &b) && a.st_dev != b.st_dev;
}

/*
 * The host's backstop: our own store tmpfs holds at most what its devices
 * can (their sizes added up) and never more than 7/8 of RAM, so filling
 * devices through passthrough writes or faults, which the daemon never
 * sees, ends in ENOSPC or SIGBUS from tmpfs, not in the OOM killer.  A
 * region's files are in the module's filesystem: not counted.
 */
static uint64_t store_limit(struct cdm_fs *fs)
{
	uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) *
		       (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t limit = ram - ram / 8, sum = 0;

	for (size_t i = 0; i < fs->devices.count; i++) {
		const struct cdm_device *d = &fs->devices.dev[i];

		if (d->kind == CDM_KIND_COHERENT)
			continue;
		if (!d->size || d->size > limit - sum)
			return limit;	/* unknown, or more than we allow */
		sum += d->size;
	}
	return sum ? sum : limit;
}

/* Pick the store directory; mount a private tmpfs there when root. */
static int store_prepare(struct cdm_fs *fs)
{
	char name[NAME_MAX], mnt[PATH_MAX], path[PATH_MAX];
	char size[40], opts[80];
	int ret;

	if (fs->opt.store) {
		fs->store_path = realpath(fs->opt.store, NULL);
		if (!fs->store_path) {
			ret = -errno;
			cdm_log(LOG_ERR, "store %s: %s", fs->opt.store,
				strerror(errno));
			return ret;
		}
		return 0;
	}
	if (!realpath(fs->opt.mountpoint, mnt))
		return -errno;
	escape_path(mnt, name, sizeof(name));
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "/dev/shm/cdmfs-%u-%s",
			 (unsigned int)geteuid(), name);
		ret = mkdir_p(path, 0700);
	} else {
		/* only root may reach the store behind our back */
		ret = mkdir_p(STORE_RUNDIR, 0700);
		snprintf(path, sizeof(path), STORE_RUNDIR "/%s", name);
		if (!ret)
			ret = mkdir_p(path, 0755);
		snprintf(size, sizeof(size), "size=%llu",
			 (unsigned long long)store_limit(fs));
		snprintf(opts, sizeof(opts), "mode=0755,nr_inodes=0,%s", size);
		if (!ret && !is_mountpoint(path)) {
			if (mount("cdmfs-store", path, "tmpfs",
				  MS_NOSUID | MS_NODEV, opts))
				ret = -errno;
			else
				cdm_log(LOG_INFO, "store: mounted tmpfs at %s (%s)",
					path, opts);
		} else if (!ret) {
			cdm_log(LOG_NOTICE, "store: reusing %s: files of an earlier daemon are kept",
				path);
			/* the devices may have changed since */
			if (mount(NULL, path, NULL,
				  MS_REMOUNT | MS_NOSUID | MS_NODEV, size))
				cdm_log(LOG_WARNING, "store %s: cannot bound it (%s): %s",
					path, size, strerror(errno));
		}
		fs->store_mounted = !ret;
	}
	if (ret) {
		cdm_log(LOG_ERR, "store %s: %s", path, strerror(-ret));
		return ret;
	}
	fs->store_path = strdup(path);
	return fs->store_path ? 0 : -ENOMEM;
}

/*
 * A region of the helper module keeps its files in its own filesystem,
 * mounted on the device's directory of the store: files created there get
 * the region's pages.  A mount left by an earlier daemon is reused.
 */
static int store_mount_region(struct cdm_fs *fs, const char *name)
{
	char path[PATH_MAX], opts[64];

	snprintf(path, sizeof(path), "%s/%s", fs->store_path, name);
	if (is_mountpoint(path))
		return 0;
	snprintf(opts, sizeof(opts), "region=%s", name);
	if (mount("cdmkm", path, CDMKM_FSTYPE, MS_NOSUID | MS_NODEV, opts)) {
		int ret = -errno;

		cdm_log(LOG_ERR, "device %s: cannot mount the module's %s on %s: %s%s",
			name, CDMKM_FSTYPE, path, strerror(errno),
			errno == EPERM ? " (coherent devices need root)" : "");
		return ret;
	}
	chmod(path, 01777);
	cdm_log(LOG_INFO, "device %s: files in region %s (%s on %s)", name,
		name, CDMKM_FSTYPE, path);
	return 0;
}

static void store_unmount_regions(struct cdm_fs *fs)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < fs->devices.count; i++) {
		if (fs->devices.dev[i].kind != CDM_KIND_COHERENT)
			continue;
		snprintf(path, sizeof(path), "%s/%s", fs->store_path,
			 fs->devices.dev[i].name);
		/* detached: a mapping still open keeps the files until it goes */
		if (is_mountpoint(path) && umount2(path, MNT_DETACH))
			cdm_log(LOG_WARNING, "device %s: cannot unmount %s: %s",
				fs->devices.dev[i].name, path, strerror(errno));
	}
}

static void close_devfds(struct cdm_fs *fs)
{
	cdm_capacity_close(fs);
	for (size_t i = 0; fs->devfd && i < fs->devices.count; i++)
		if (fs->devfd[i] >= 0)
			close(fs->devfd[i]);
	free(fs->devfd);
	fs->devfd = NULL;
}

int cdm_store_open(struct cdm_fs *fs)
{
	struct statfs sfs;
	struct stat st;
	int ret;

	ret = store_prepare(fs);
	if (ret)
		return ret;
	fs->root.fd = open(fs->store_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root.fd < 0) {
		ret = -errno;
		cdm_log(LOG_ERR, "store %s: %s", fs->store_path, strerror(errno));
		goto err_unmount;
	}
	if (fstatfs(fs->root.fd, &sfs) || sfs.f_type != TMPFS_MAGIC) {
		ret = -EINVAL;
		cdm_log(LOG_ERR, "store %s: not on tmpfs: files need shmem backing for NUMA placement",
			fs->store_path);
		goto err_close;
	}
	if (fstat(fs->root.fd, &st)) {
		ret = -errno;
		goto err_close;
	}
	fs->root.src_ino = st.st_ino;
	fs->root.src_dev = st.st_dev;
	fs->root.nlookup = 2;
	fs->root.dev = CDM_NO_DEVICE;
	pthread_mutex_init(&fs->root.lock, NULL);
	fs->devfd = malloc(fs->devices.count * sizeof(*fs->devfd));
	if (!fs->devfd) {
		ret = -ENOMEM;
		goto err_close;
	}
	for (size_t i = 0; i < fs->devices.count; i++)
		fs->devfd[i] = -1;
	ret = cdm_capacity_open(fs);
	if (ret)
		goto err_close;
	for (size_t i = 0; i < fs->devices.count; i++) {
		const char *n = fs->devices.dev[i].name;

		/* sticky and world-writable, like /dev/shm; chmod may change it */
		if (mkdirat(fs->root.fd, n, 01777) == 0) {
			char p[PATH_MAX];

			snprintf(p, sizeof(p), "%s/%s", fs->store_path, n);
			chmod(p, 01777);
		} else if (errno != EEXIST) {
			ret = -errno;
			cdm_log(LOG_ERR, "store: cannot make directory for device %s: %s",
				n, strerror(errno));
			goto err_close;
		}
		if (fs->devices.dev[i].kind == CDM_KIND_COHERENT) {
			ret = store_mount_region(fs, n);
			if (ret)
				goto err_close;
		}
		fs->devfd[i] = openat(fs->root.fd, n,
				      O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fs->devfd[i] < 0) {
			ret = -errno;
			cdm_log(LOG_ERR, "store: device directory %s: %s", n,
				strerror(errno));
			goto err_close;
		}
	}
	return 0;
err_close:
	close_devfds(fs);
	store_unmount_regions(fs);
	close(fs->root.fd);
	fs->root.fd = -1;
err_unmount:
	if (fs->store_mounted && umount2(fs->store_path, MNT_DETACH) == 0)
		rmdir(fs->store_path);
	fs->store_mounted = false;
	free(fs->store_path);
	fs->store_path = NULL;
	return ret;
}

void cdm_store_close(struct cdm_fs *fs)
{
	close_devfds(fs);
	if (fs->root.fd >= 0)
		close(fs->root.fd);
	fs->root.fd = -1;
	if (!fs->opt.keep_store)
		store_unmount_regions(fs);
	if (fs->store_mounted && !fs->opt.keep_store) {
		/* like tmpfs: unmounting frees the memory */
		if (umount2(fs->store_path, MNT_DETACH))
			cdm_log(LOG_WARNING, "store %s: cannot unmount: %s",
				fs->store_path, strerror(errno));
		else
			rmdir(fs->store_path);
	}
	free(fs->store_path);
	fs->store_path = NULL;
}

/* nftw() has no user pointer; one walk at a time per thread. */
static __thread uint64_t walk_bytes;

static int add_file(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	/* each link counts its share, so hard links add up to the file once */
	if (type == FTW_F && S_ISREG(st->st_mode) && st->st_nlink)
		walk_bytes += (uint64_t)st->st_blocks * 512 / st->st_nlink;
	return 0;
}

int cdm_store_used(struct cdm_fs *fs, uint16_t devidx, uint64_t *bytes)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", fs->store_path,
		 fs->devices.dev[devidx].name);
	walk_bytes = 0;
	if (nftw(path, add_file, 16, FTW_PHYS | FTW_MOUNT))
		return errno ? -errno : -EIO;
	*bytes = walk_bytes;
	return 0;
}
