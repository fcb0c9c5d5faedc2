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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cdmfs/log.h"
#include "fs.h"
#include "options.h"
#include "store.h"

#define STORE_RUNDIR "/run/cdmfs"
/* where the devices' own tmpfs are mounted, in the store */
#define STORE_DEVS ".devs"

/* huge= of the store we mount (NULL: none), for the devices' too */
static const char *store_huge;

/*
 * "/mnt/cdm" -> "mnt-cdm", "/mnt/a-b" -> "mnt-a\x2db", as systemd-escape
 * --path names mount units: '/' becomes '-', and '-' (with anything
 * outside [A-Za-z0-9:_.], and a leading '.') becomes \xNN, so that two
 * mount points never share a store name ("/a-b" and "/a/b" used to).  A
 * name too long for one directory entry is an error, never truncated (a
 * cut name is no longer injective).  @path is canonical (realpath).
 */
int cdm_store_escape_path(const char *path, char *out, size_t len)
{
	size_t j = 0;

	while (*path == '/')
		path++;
	if (!*path)
		return snprintf(out, len, "-") < (int)len ? 0 : -ENAMETOOLONG;
	for (const char *p = path; *p; p++) {
		unsigned char c = (unsigned char)*p;
		int n;

		if (c == '/' && p[1] == '\0')
			break;		/* a trailing slash names nothing */
		if (c == '/')
			n = snprintf(out + j, len - j, "-");
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == ':' || c == '_' ||
			 (c == '.' && p != path))
			n = snprintf(out + j, len - j, "%c", c);
		else
			n = snprintf(out + j, len - j, "\\x%02x", c);
		if (n < 0 || (size_t)n >= len - j)
			return -ENAMETOOLONG;
		j += (size_t)n;
	}
	return 0;
}

/*
 * The name a daemon before injective escaping gave the store of @path
 * ('/' -> '-', nothing else escaped); "" when it is the same as today's.
 */
static void legacy_name(const char *path, const char *name, char *out,
			size_t len)
{
	size_t j = 0;

	while (*path == '/')
		path++;
	for (; *path && j + 1 < len; path++)
		out[j++] = *path == '/' ? '-' : *path;
	if (!j && len > 1)
		out[j++] = '-';
	out[j] = '\0';
	if (!strcmp(out, name))
		out[0] = '\0';
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

		if (cdm_device_own_fs(d))
			continue;
		if (!d->size || d->size > limit - sum)
			return limit;	/* unknown, or more than we allow */
		sum += d->size;
	}
	return sum ? sum : limit;
}

/*
 * The store of a non-root daemon is a directory in /dev/shm, where every
 * user may create names: one made or symlinked there by someone else
 * before us would hand them our files.  Create it without following a
 * link; if it exists, it must be a real directory of ours with mode 0700,
 * else refuse (the sticky bit of /dev/shm keeps others from replacing it
 * afterwards).
 */
static int private_dir(const char *path)
{
	struct stat st, fst;
	int fd, ret;

	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	/* lstat: judged by what is there, readable to us or not */
	if (lstat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		cdm_log(LOG_ERR, "store %s: a %s, not a directory: someone else made it in its place; refusing it",
			path, S_ISLNK(st.st_mode) ? "symlink" : "file");
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		cdm_log(LOG_ERR, "store %s: owned by uid %u, not by us (uid %u): refusing it; remove it or use -o store=DIR",
			path, (unsigned int)st.st_uid, (unsigned int)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0700) {
		cdm_log(LOG_ERR, "store %s: mode %04o, not 0700: others could reach our files; refusing it (chmod 0700 it if it is yours)",
			path, (unsigned int)(st.st_mode & 07777));
		return -EPERM;
	}
	/* the one we judged: not swapped for another since */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = fstat(fd, &fst) ? -errno : 0;
	close(fd);
	if (!ret && (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)) {
		cdm_log(LOG_ERR, "store %s: replaced while we checked it; refusing it",
			path);
		ret = -EPERM;
	}
	return ret;
}

/*
 * One daemon per store: two sharing one see each other's files appear and
 * vanish, and the second to exit unmounts the store under the first.  An
 * flock on a file in the store, held for the daemon's life (the kernel
 * drops it when the daemon dies, however it dies; fuse_daemonize's child
 * inherits it).  The file holds the holder's pid for the error message.
 */
#define STORE_LOCK ".cdmfs.lock"

static int store_lock(struct cdm_fs *fs, const char *path)
{
	char lock[PATH_MAX], pid[32];
	ssize_t n;
	int fd, ret;

	if ((size_t)snprintf(lock, sizeof(lock), "%s/" STORE_LOCK, path) >=
	    sizeof(lock))
		return -ENAMETOOLONG;
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		cdm_log(LOG_ERR, "store %s: cannot open its lock file %s: %s",
			path, lock, strerror(errno));
		return ret;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		ret = -errno;
		if (errno == EWOULDBLOCK) {
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			cdm_log(LOG_ERR, "store %s: in use by another cdmfs daemon (pid %s): one store serves one mount; unmount that one first or pick another -o store=DIR",
				path, pid[0] ? pid : "?");
			ret = -EBUSY;
		} else {
			cdm_log(LOG_ERR, "store %s: cannot lock %s: %s", path,
				lock, strerror(errno));
		}
		close(fd);
		return ret;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n)
		cdm_log(LOG_WARNING, "store %s: cannot write our pid to %s: %s",
			path, lock, strerror(errno));
	fs->store_lock = fd;
	return 0;
}

/* After fuse_daemonize(): the pid in the lock file is the daemon's. */
void cdm_store_lock_owner(struct cdm_fs *fs)
{
	char pid[32];
	int n;

	if (fs->store_lock < 0)
		return;
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fs->store_lock, 0) ||
	    pwrite(fs->store_lock, pid, (size_t)n, 0) != n)
		cdm_log(LOG_WARNING, "store %s: cannot write our pid to its lock file: %s",
			fs->store_path, strerror(errno));
}

/* Tell the admin where an older daemon's store of this mount point is. */
static void note_legacy(const char *dir, const char *mnt, const char *name,
			const char *fmt_prefix)
{
	char old[NAME_MAX + 1], path[PATH_MAX];
	struct stat st;

	legacy_name(mnt, name, old, sizeof(old));
	if (!old[0])
		return;
	snprintf(path, sizeof(path), "%s/%s%s", dir, fmt_prefix, old);
	if (!lstat(path, &st) && S_ISDIR(st.st_mode))
		cdm_log(LOG_WARNING, "store: %s is the store an older cdmfs named for %s (names were not unique then, so it is not adopted): mount with -o store=%s to use its files",
			path, mnt, path);
}

/*
 * Pick the store directory, mount a private tmpfs there when root, and
 * lock it.  Only a store we mounted and locked is ours to unmount.
 */
static int store_prepare(struct cdm_fs *fs)
{
	char name[NAME_MAX + 1], mnt[PATH_MAX], path[PATH_MAX], prefix[32];
	struct statfs sfs;
	bool mounted = false;
	char size[64], opts[112];
	const char *huge;
	int ret, rundir = -1;

	if (fs->opt.store) {
		cdm_log(fs->opt.huge ? LOG_NOTICE : LOG_INFO,
			"store %s: %s%s%sthe pages are the size its tmpfs's own huge= gives",
			fs->opt.store, fs->opt.huge ? "huge=" : "",
			fs->opt.huge ? fs->opt.huge : "",
			fs->opt.huge ? " does not apply: " : "");
		fs->store_path = realpath(fs->opt.store, NULL);
		if (!fs->store_path) {
			ret = -errno;
			cdm_log(LOG_ERR, "store %s: %s", fs->opt.store,
				strerror(errno));
			return ret;
		}
		/* no lock file of ours on a filesystem we will refuse */
		if (statfs(fs->store_path, &sfs) || sfs.f_type != TMPFS_MAGIC)
			return 0;	/* cdm_store_open says why */
		ret = store_lock(fs, fs->store_path);
		if (ret) {
			free(fs->store_path);
			fs->store_path = NULL;
		}
		return ret;
	}
	if (!realpath(fs->opt.mountpoint, mnt))
		return -errno;
	ret = cdm_store_escape_path(mnt, name, sizeof(name));
	if (geteuid() != 0) {
		snprintf(prefix, sizeof(prefix), "cdmfs-%u-",
			 (unsigned int)geteuid());
		if (!ret && strlen(prefix) + strlen(name) > NAME_MAX)
			ret = -ENAMETOOLONG;
		if (ret)
			goto err;
		snprintf(path, sizeof(path), "/dev/shm/%s%s", prefix, name);
		ret = private_dir(path);
		if (ret)
			return ret;	/* logged */
		ret = store_lock(fs, path);
		if (ret)
			return ret;
		note_legacy("/dev/shm", mnt, name, prefix);
		if (fs->opt.huge)
			cdm_log(LOG_NOTICE, "store %s: huge=%s does not apply: without root the daemon mounts no tmpfs of its own, and /dev/shm's own huge= gives the page size",
				path, fs->opt.huge);
	} else {
		if (ret)
			goto err;
		/* only root may reach the store behind our back */
		ret = mkdir_p(STORE_RUNDIR, 0700);
		snprintf(path, sizeof(path), STORE_RUNDIR "/%s", name);
		if (!ret)
			ret = mkdir_p(path, 0755);
		/*
		 * Root daemons take turns between "is it mounted" and the
		 * store lock: two starting at once must not both mount.
		 */
		if (!ret) {
			rundir = open(STORE_RUNDIR, O_RDONLY | O_DIRECTORY |
						    O_CLOEXEC);
			if (rundir < 0 || flock(rundir, LOCK_EX))
				ret = -errno;
		}
		/* 2 MiB pages by default: options.c, cdm_huge_pick() */
		huge = fs->opt.huge ? fs->opt.huge : cdm_huge_default();
		store_huge = huge;
		snprintf(size, sizeof(size), "size=%llu%s%s",
			 (unsigned long long)store_limit(fs),
			 huge ? ",huge=" : "", huge ? huge : "");
		snprintf(opts, sizeof(opts), "mode=0755,nr_inodes=0,%s", size);
		if (!ret && !cdm_is_mountpoint(path)) {
			if (mount("cdmfs-store", path, "tmpfs",
				  MS_NOSUID | MS_NODEV, opts))
				ret = -errno;
			else
				mounted = true;
		}
		if (!ret) {
			ret = store_lock(fs, path);
			if (ret && mounted && umount2(path, MNT_DETACH))
				cdm_log(LOG_WARNING, "store %s: cannot unmount: %s",
					path, strerror(errno));
			if (ret) {
				if (rundir >= 0)
					close(rundir);
				return ret;	/* logged */
			}
		}
		if (rundir >= 0)
			close(rundir);
		if (!ret && mounted) {
			cdm_log(LOG_INFO, "store: mounted tmpfs at %s (%s)",
				path, opts);
		} else if (!ret) {
			cdm_log(LOG_NOTICE, "store: reusing %s: files of an earlier daemon are kept",
				path);
			/* ours now (locked); the devices may have changed since */
			if (mount(NULL, path, NULL,
				  MS_REMOUNT | MS_NOSUID | MS_NODEV, size))
				cdm_log(LOG_WARNING, "store %s: cannot bound it (%s): %s",
					path, size, strerror(errno));
		}
		if (!ret && mounted)
			note_legacy(STORE_RUNDIR, mnt, name, "");
		/* locked: ours to unmount at exit, also one an earlier daemon left */
		fs->store_mounted = !ret;
	}
err:
	if (ret) {
		cdm_log(LOG_ERR, "store for %s: %s", mnt, strerror(-ret));
		return ret;
	}
	fs->store_path = strdup(path);
	return fs->store_path ? 0 : -ENOMEM;
}

static void store_unlock(struct cdm_fs *fs)
{
	if (fs->store_lock >= 0)
		close(fs->store_lock);
	fs->store_lock = -1;
}

/* Undo each device's attach (its backend's filesystem on its directory). */
static void store_detach_devices(struct cdm_fs *fs)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < fs->devices.count; i++) {
		const struct cdm_device *d = &fs->devices.dev[i];

		if (!d->ops->detach)
			continue;
		snprintf(path, sizeof(path), "%s/%s", fs->store_path, d->name);
		d->ops->detach(d, path);
	}
}

static void close_devfds(struct cdm_fs *fs)
{
	for (size_t i = 0; fs->devfd && i < fs->devices.count; i++)
		if (fs->devfd[i] >= 0)
			close(fs->devfd[i]);
	free(fs->devfd);
	fs->devfd = NULL;
}

/*
 * The device directories are in the inode table from the start, held by
 * the daemon: their lookups then never need an fd, so "ls" of a device
 * works even when a flood of files in another has used the fd budget up.
 */
static int hold_device_dir(struct cdm_fs *fs, uint16_t i)
{
	struct stat st;
	int fd;

	if (fstat(fs->devfd[i], &st))
		return -errno;
	fd = fcntl(fs->devfd[i], F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (!cdm_inode_get(&fs->table, st.st_ino, st.st_dev, fd, i, 1))
		return -errno;		/* @fd closed */
	return 0;
}

/*
 * Name the store's inodes by file handle: then they hold no fd, and the
 * number of files the kernel may cache is not bounded by RLIMIT_NOFILE.
 * Opening a handle takes CAP_DAC_READ_SEARCH; without it (a daemon run by
 * a user) each inode holds an O_PATH fd, within the budget, as before.
 */
static void use_handles(struct cdm_fs *fs)
{
	int ret = cdm_inode_table_use_handles(&fs->table, fs->root.fd);

	if (!ret)
		cdm_log(LOG_INFO, "store %s: files named by file handle: no fd per file",
			fs->store_path);
	else
		cdm_log(LOG_NOTICE, "store %s: cannot open file handles (%s%s): one fd per file the kernel caches",
			fs->store_path, strerror(-ret),
			ret == -EPERM ? ": needs CAP_DAC_READ_SEARCH" : "");
}

/*
 * What device @i's own tmpfs may hold.  A simulated device: its size.  A
 * node: 7/8 of its memory, so that a full device is ENOSPC before the
 * node is so short that the page allocator calls the OOM killer.  The
 * host: that, less what the simulated devices (host RAM too) may take,
 * and never less than an eighth of it.  At most 7/8 of RAM each.
 */
static uint64_t devsb_limit(const struct cdm_fs *fs, size_t i)
{
	uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) *
		       (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t budget = ram - ram / 8, sims = 0, lim;
	const struct cdm_device *d = &fs->devices.dev[i];

	if (d->simulated)
		return d->size && d->size < budget ? d->size : budget;
	lim = d->size ? d->size - d->size / 8 : budget;
	if (lim > budget)
		lim = budget;
	if (d->kind != CDM_KIND_HOST)
		return lim;
	for (size_t j = 0; j < fs->devices.count; j++)
		if (fs->devices.dev[j].simulated)
			sims += devsb_limit(fs, j);
	return sims + lim / 8 < lim ? lim - sims : lim / 8;
}

/* Does directory @path hold anything? */
static bool dir_has_entries(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	bool any = false;

	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

/*
 * Give device @i a tmpfs of its own, bounded by size=: passthrough writes
 * and faults never reach the daemon, so only the kernel can hold a device
 * to its size (doc/capacity.md).  It is mounted at <store>/.devs/<device>
 * and holds files/, bind-mounted on <store>/<device> (what the daemon and
 * the tests see), and lodgers/, the files renamed to another device while
 * open (lodge.c).  A store an earlier daemon left keeps its mounts (their
 * size follows the devices); a device directory it filled without one
 * keeps its files and shares the store.
 */
static int devsb_setup(struct cdm_fs *fs, size_t i)
{
	const char *n = fs->devices.dev[i].name;
	char sb[PATH_MAX], sub[PATH_MAX + 16], dir[PATH_MAX], opts[160];
	struct cdm_devsb *ds = &fs->devsb[i];
	struct stat st;
	int ret;

	snprintf(dir, sizeof(dir), "%s/%s", fs->store_path, n);
	if ((size_t)snprintf(sb, sizeof(sb), "%s/" STORE_DEVS "/%s",
			     fs->store_path, n) >= sizeof(sb))
		return -ENAMETOOLONG;
	if (!cdm_is_mountpoint(dir) && dir_has_entries(dir)) {
		cdm_log(LOG_NOTICE, "store: device %s keeps the files an earlier daemon left in %s: it shares the store's tmpfs, and passthrough writes are not held to its size (remove the store to change that)",
			n, dir);
		return 0;
	}
	snprintf(sub, sizeof(sub), "%s/" STORE_DEVS, fs->store_path);
	if (mkdir(sub, 0700) && errno != EEXIST)
		return -errno;
	if (mkdir(sb, 0700) && errno != EEXIST)
		return -errno;
	snprintf(opts, sizeof(opts), "mode=0755,nr_inodes=0,inode32,size=%llu%s%s",
		 (unsigned long long)devsb_limit(fs, i),
		 store_huge ? ",huge=" : "", store_huge ? store_huge : "");
	if (!cdm_is_mountpoint(sb)) {
		if (mount("cdmfs-dev", sb, "tmpfs", MS_NOSUID | MS_NODEV, opts)) {
			ret = -errno;
			cdm_log(LOG_ERR, "store: device %s: cannot mount its tmpfs at %s (%s): %s",
				n, sb, opts, strerror(errno));
			return ret;
		}
		cdm_log(LOG_INFO, "store: device %s: tmpfs of its own at %s (%s)",
			n, sb, opts);
	} else if (mount(NULL, sb, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV,
			 strstr(opts, "size="))) {
		cdm_log(LOG_WARNING, "store: device %s: cannot resize %s (%s): %s",
			n, sb, strstr(opts, "size="), strerror(errno));
	}
	/* sticky and world-writable, like /dev/shm; chmod may change it */
	snprintf(sub, sizeof(sub), "%s/files", sb);
	if (!mkdir(sub, 01777))
		chmod(sub, 01777);
	else if (errno != EEXIST)
		return -errno;
	snprintf(sub, sizeof(sub), "%s/lodgers", sb);
	if (mkdir(sub, 0700) && errno != EEXIST)
		return -errno;
	ds->lodgers = open(sub, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (ds->lodgers < 0)
		return -errno;
	snprintf(sub, sizeof(sub), "%s/files", sb);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	if (!cdm_is_mountpoint(dir) && mount(sub, dir, NULL, MS_BIND, NULL)) {
		ret = -errno;
		cdm_log(LOG_ERR, "store: device %s: cannot bind %s on %s: %s",
			n, sub, dir, strerror(errno));
		return ret;
	}
	if (stat(dir, &st))
		return -errno;
	ds->own = true;
	ds->sbdev = (uint32_t)st.st_dev;
	ds->root_ino = st.st_ino;
	fs->any_devsb = true;
	return 0;
}

static void close_devsb(struct cdm_fs *fs)
{
	for (size_t i = 0; fs->devsb && i < fs->devices.count; i++)
		if (fs->devsb[i].lodgers >= 0)
			close(fs->devsb[i].lodgers);
	free(fs->devsb);
	fs->devsb = NULL;
	fs->any_devsb = false;
}

void cdm_store_log_path(const struct cdm_fs *fs, char *buf)
{
	size_t n = fs->store_path ? strlen(fs->store_path) : 0;
	char *dev, *rest;

	/* <store>/.devs/<device>/files/<path> -> <store>/<device>/<path> */
	if (!n || strncmp(buf, fs->store_path, n) ||
	    strncmp(buf + n, "/" STORE_DEVS "/", sizeof(STORE_DEVS) + 1))
		return;
	dev = buf + n + sizeof(STORE_DEVS) + 1;
	rest = strchr(dev, '/');
	if (!rest || strncmp(rest, "/files", 6) || (rest[6] && rest[6] != '/'))
		return;
	memmove(buf + n + 1, dev, (size_t)(rest - dev));
	memmove(buf + n + 1 + (rest - dev), rest + 6, strlen(rest + 6) + 1);
}

ino_t cdm_store_ino(const struct cdm_fs *fs, ino_t ino, dev_t dev)
{
	if (!fs->any_devsb || ino >> 32)
		return ino;
	for (size_t i = 0; i < fs->devices.count; i++)
		if (fs->devsb[i].own && fs->devsb[i].sbdev == (uint32_t)dev)
			return (ino_t)(i + 1) << 32 | ino;
	return ino;
}

int cdm_store_devsb_usage(struct cdm_fs *fs, uint16_t devidx,
			  uint64_t *used, uint64_t *avail)
{
	struct statvfs sv;

	if (!fs->devsb || !fs->devsb[devidx].own)
		return -ENODEV;
	if (fstatvfs(fs->devfd[devidx], &sv))
		return -errno;
	*used = (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
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
	fs->root.src_dev = (uint32_t)st.st_dev;
	use_handles(fs);
	fs->root.nlookup = 2;
	fs->root.dev = CDM_NO_DEVICE;
	pthread_mutex_init(&fs->root.lock, NULL);
	fs->devfd = malloc(fs->devices.count * sizeof(*fs->devfd));
	if (!fs->devfd) {
		ret = -ENOMEM;
		goto err_close;
	}
	fs->devsb = calloc(fs->devices.count, sizeof(*fs->devsb));
	if (!fs->devsb) {
		ret = -ENOMEM;
		goto err_close;
	}
	for (size_t i = 0; i < fs->devices.count; i++)
		fs->devfd[i] = fs->devsb[i].lodgers = -1;
	for (size_t i = 0; i < fs->devices.count; i++) {
		const char *n = fs->devices.dev[i].name;

		/* our own store, as root: each device gets a tmpfs of its own */
		if (fs->store_mounted && !fs->devices.dev[i].ops->attach) {
			ret = devsb_setup(fs, i);
			if (ret) {
				cdm_log(LOG_ERR, "store: device %s: %s", n,
					strerror(-ret));
				goto err_close;
			}
		}

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
		/* e.g. a region's files go into the module's filesystem */
		if (fs->devices.dev[i].ops->attach) {
			char p[PATH_MAX];

			snprintf(p, sizeof(p), "%s/%s", fs->store_path, n);
			ret = fs->devices.dev[i].ops->attach(&fs->devices.dev[i],
							     p);
			if (ret)
				goto err_close;
		}
		/*
		 * A device with a tmpfs of its own is reached through that
		 * tmpfs's mount, not the bind mount on <store>/<device>: a
		 * rename between files/ and lodgers/ must stay in one mount.
		 */
		if (fs->devsb[i].own) {
			char p[PATH_MAX];

			snprintf(p, sizeof(p), STORE_DEVS "/%s/files", n);
			fs->devfd[i] = openat(fs->root.fd, p, O_PATH | O_DIRECTORY |
					      O_NOFOLLOW | O_CLOEXEC);
		} else {
			fs->devfd[i] = openat(fs->root.fd, n, O_PATH | O_DIRECTORY |
					      O_NOFOLLOW | O_CLOEXEC);
		}
		if (fs->devfd[i] < 0) {
			ret = -errno;
			cdm_log(LOG_ERR, "store: device directory %s: %s", n,
				strerror(errno));
			goto err_close;
		}
		if (fs->devsb[i].own) {
			int err = cdm_inode_table_add_handles(&fs->table,
							      fs->devfd[i]);

			if (err && err != -EOPNOTSUPP)
				cdm_log(LOG_NOTICE, "store: device %s: its files cannot be named by handle (%s): one fd per file",
					n, strerror(-err));
		}
		ret = hold_device_dir(fs, (uint16_t)i);
		if (ret)
			goto err_close;
	}
	return 0;
err_close:
	close_devfds(fs);
	close_devsb(fs);
	store_detach_devices(fs);
	close(fs->root.fd);
	fs->root.fd = -1;
err_unmount:
	if (fs->store_mounted && umount2(fs->store_path, MNT_DETACH) == 0)
		rmdir(fs->store_path);
	fs->store_mounted = false;
	store_unlock(fs);
	free(fs->store_path);
	fs->store_path = NULL;
	return ret;
}

void cdm_store_close(struct cdm_fs *fs)
{
	close_devfds(fs);
	close_devsb(fs);
	if (fs->root.fd >= 0)
		close(fs->root.fd);
	fs->root.fd = -1;
	if (!fs->opt.keep_store)
		store_detach_devices(fs);
	if (fs->store_mounted && !fs->opt.keep_store) {
		/* like tmpfs: unmounting frees the memory */
		if (umount2(fs->store_path, MNT_DETACH))
			cdm_log(LOG_WARNING, "store %s: cannot unmount: %s",
				fs->store_path, strerror(errno));
		else
			rmdir(fs->store_path);
	}
	/* last: the next daemon may take the store once it is unmounted */
	store_unlock(fs);
	free(fs->store_path);
	fs->store_path = NULL;
}

/*
 * Add up the bytes of the regular files under directory @dfd (closed
 * here).  O_NOATIME: df and the capacity checks must not change the
 * directories' atime, which users see (tmpfs would not touch it either).
 */
static int add_dir(int dfd, uint64_t *bytes)
{
	struct dirent *de;
	struct stat st;
	DIR *d = fdopendir(dfd);
	int ret = 0;

	if (!d) {
		ret = -errno;
		close(dfd);
		return ret;
	}
	while (!ret && (errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW)) {
			if (errno != ENOENT)	/* gone meanwhile: fine */
				ret = -errno;
			continue;
		}
		/* each link counts its share: links add up to the file once */
		if (S_ISREG(st.st_mode) && st.st_nlink)
			*bytes += (uint64_t)st.st_blocks * 512 / st.st_nlink;
		if (S_ISDIR(st.st_mode)) {
			int fd = openat(dirfd(d), de->d_name,
					O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					O_NOATIME | O_CLOEXEC);

			if (fd >= 0)
				ret = add_dir(fd, bytes);
			else if (errno != ENOENT)
				ret = -errno;
		}
	}
	if (!ret && errno)
		ret = -errno;
	closedir(d);
	return ret;
}

int cdm_store_used(struct cdm_fs *fs, uint16_t devidx, uint64_t *bytes)
{
	int fd;

	fd = openat(fs->devfd[devidx], ".", O_RDONLY | O_DIRECTORY |
		    O_NOATIME | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*bytes = 0;
	return add_dir(fd, bytes);
}
