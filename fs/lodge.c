// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Lodgers: files renamed across devices that have a tmpfs each (lodge.h).
 *
 * Layout, per device D with a tmpfs of its own (store.c):
 *   <store>/.devs/D/files/...        D's directory tree (bind-mounted on <store>/D)
 *   <store>/.devs/D/lodgers/<ino>    files renamed from D to elsewhere, still open
 * and in the target directory, the marker: an empty regular file of mode
 * 0 with one link, whose name is the file's new name.  The lodger's
 * user.cdm.lodge xattr names the target device and the marker's file
 * handle, so a restarted daemon finds them again (lodgers are never
 * listed: they are outside every device's tree).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cdmfs/log.h"
#include "cdmfs/xattr.h"
#include "capacity.h"
#include "lodge.h"
#include "migrator.h"
#include "namespace.h"
#include "placement.h"
#include "store.h"

#define LODGE_XATTR CDM_XATTR_PREFIX "lodge"
/* the st_ino a file that went home keeps showing (its first one) */
#define INO_XATTR CDM_XATTR_PREFIX "ino"
/* in <store>/.devs/<device>: some file there has INO_XATTR */
#define ALIASES_FLAG "../aliases"
#define ALIAS_BUCKETS 256
/*
 * How often the thread looks again at lodgers someone has open (no event
 * tells of a last munmap); with none it sleeps until a rename wakes it.
 */
#define LODGE_PERIOD_MS 100

struct cdm_lodger {
	struct cdm_lodger *next;
	ino_t ino;			/* the backing inode, in @from's lodgers/ */
	uint32_t dev;
	uint16_t from, to;		/* devices: whose tmpfs, whose name */
	ino_t marker_ino;		/* the marker, in @to's tmpfs */
	ino_t vino;			/* the st_ino users see */
	int fh_type;
	unsigned char fh[CDM_HANDLE_BYTES];
	char name[24];			/* in lodgers/: @ino in decimal */
	bool told;			/* "cannot go home" logged */
};

/*
 * A file that went home to another device's tmpfs has a new inode there,
 * but users keep seeing its first st_ino (rename keeps it on tmpfs): the
 * backing inode -> the st_ino shown.  Kept in INO_XATTR for a restarted
 * daemon (regular files; a symlink or fifo that moved shows its new one
 * after a restart).
 */
struct cdm_alias {
	struct cdm_alias *next;
	ino_t ino;
	uint32_t dev;
	ino_t vino;
};

static struct cdm_alias *aliases[ALIAS_BUCKETS];	/* under lodge.lock */

static size_t alias_hash(ino_t ino, uint32_t dev)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) ^ dev) % ALIAS_BUCKETS;
}

/* Under lodge.lock: the alias of (@ino, @dev), or NULL. */
static struct cdm_alias *alias_find(ino_t ino, uint32_t dev)
{
	for (struct cdm_alias *a = aliases[alias_hash(ino, dev)]; a; a = a->next)
		if (a->ino == ino && a->dev == dev)
			return a;
	return NULL;
}

/* Under lodge.lock. */
static void alias_set(ino_t ino, uint32_t dev, ino_t vino)
{
	struct cdm_alias *a = alias_find(ino, dev);
	size_t h = alias_hash(ino, dev);

	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return;		/* st_ino changes: nothing breaks */
		a->ino = ino;
		a->dev = dev;
		a->next = aliases[h];
		aliases[h] = a;
	}
	a->vino = vino;
}

/* Under lodge.lock. */
static void alias_del(ino_t ino, uint32_t dev)
{
	size_t h = alias_hash(ino, dev);

	for (struct cdm_alias **pp = &aliases[h]; *pp; pp = &(*pp)->next) {
		if ((*pp)->ino == ino && (*pp)->dev == dev) {
			struct cdm_alias *a = *pp;

			*pp = a->next;
			free(a);
			return;
		}
	}
}

/* The st_ino users see for backing (@ino, @dev).  Under lodge.lock. */
static ino_t visible_ino(struct cdm_fs *fs, ino_t ino, dev_t dev)
{
	struct cdm_alias *a = alias_find(ino, (uint32_t)dev);

	return a ? a->vino : cdm_store_ino(fs, ino, dev);
}

union lodge_fh {
	struct file_handle fh;
	char buf[sizeof(struct file_handle) + CDM_HANDLE_BYTES];
};

static bool marker_like(const struct stat *st)
{
	return S_ISREG(st->st_mode) && !(st->st_mode & 07777) &&
	       !st->st_size && st->st_nlink == 1;
}

void cdm_lodge_enter(struct cdm_fs *fs)
{
	pthread_rwlock_rdlock(&fs->lodge.gate);
}

void cdm_lodge_leave(struct cdm_fs *fs)
{
	pthread_rwlock_unlock(&fs->lodge.gate);
}

bool cdm_lodge_crosses(struct cdm_fs *fs, struct cdm_inode *parent,
		       struct cdm_inode *newparent)
{
	uint16_t a = parent->dev, b = newparent->dev;

	return fs->any_devsb && a != b && a != CDM_NO_DEVICE &&
	       b != CDM_NO_DEVICE && fs->devsb[a].own && fs->devsb[b].own;
}

/* Under lodge.lock. */
static struct cdm_lodger *by_marker(struct cdm_fs *fs, ino_t ino, dev_t dev)
{
	for (struct cdm_lodger *l = fs->lodge.head; l; l = l->next)
		if (l->marker_ino == ino && fs->devsb[l->to].sbdev == (uint32_t)dev)
			return l;
	return NULL;
}

/* Under lodge.lock. */
static struct cdm_lodger *by_backing(struct cdm_fs *fs, ino_t ino, dev_t dev)
{
	for (struct cdm_lodger *l = fs->lodge.head; l; l = l->next)
		if (l->ino == ino && l->dev == (uint32_t)dev)
			return l;
	return NULL;
}

void cdm_lodge_attr(struct cdm_fs *fs, struct stat *st)
{
	struct cdm_lodger *l;

	if (!fs->any_devsb)
		return;
	pthread_mutex_lock(&fs->lodge.lock);
	l = fs->lodge.head ? by_backing(fs, st->st_ino, st->st_dev) : NULL;
	st->st_ino = l ? l->vino : visible_ino(fs, st->st_ino, st->st_dev);
	pthread_mutex_unlock(&fs->lodge.lock);
}

ino_t cdm_lodge_dirent_ino(struct cdm_fs *fs, ino_t ino, dev_t dev)
{
	struct cdm_lodger *l;

	if (!fs->any_devsb)
		return ino;
	pthread_mutex_lock(&fs->lodge.lock);
	l = fs->lodge.head ? by_marker(fs, ino, dev) : NULL;
	ino = l ? l->vino : visible_ino(fs, ino, dev);
	pthread_mutex_unlock(&fs->lodge.lock);
	return ino;
}

void cdm_lodge_unlinked(struct cdm_fs *fs, const struct stat *st)
{
	if (!fs->any_devsb || S_ISDIR(st->st_mode) || st->st_nlink > 1)
		return;
	pthread_mutex_lock(&fs->lodge.lock);
	alias_del(st->st_ino, (uint32_t)st->st_dev);
	pthread_mutex_unlock(&fs->lodge.lock);
}

struct cdm_lodger *cdm_lodge_of(struct cdm_fs *fs, const struct stat *st)
{
	struct cdm_lodger *l;

	if (!fs->any_devsb || !marker_like(st))
		return NULL;
	pthread_mutex_lock(&fs->lodge.lock);
	l = by_marker(fs, st->st_ino, st->st_dev);
	pthread_mutex_unlock(&fs->lodge.lock);
	return l;
}

struct cdm_lodger *cdm_lodge_at(struct cdm_fs *fs, int dirfd,
				const char *name)
{
	struct stat st;

	if (!fs->any_devsb || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return NULL;
	return cdm_lodge_of(fs, &st);
}

int cdm_lodge_resolve(struct cdm_fs *fs, int *fd, struct stat *st)
{
	struct cdm_lodger *l;
	int lfd;

	if (!fs->any_devsb || !marker_like(st))
		return 0;
	pthread_mutex_lock(&fs->lodge.lock);
	l = by_marker(fs, st->st_ino, st->st_dev);
	lfd = l ? openat(fs->devsb[l->from].lodgers, l->name,
			 O_PATH | O_NOFOLLOW | O_CLOEXEC) : -2;
	if (lfd == -1)
		lfd = -errno;
	pthread_mutex_unlock(&fs->lodge.lock);
	if (lfd == -2)
		return 0;
	if (lfd < 0)
		return lfd;
	if (fstat(lfd, st)) {
		int ret = -errno;

		close(lfd);
		return ret;
	}
	close(*fd);
	*fd = lfd;
	return 1;
}

/* Take @l off the list.  Under lodge.lock. */
static void take_off(struct cdm_fs *fs, struct cdm_lodger *l)
{
	for (struct cdm_lodger **pp = &fs->lodge.head; *pp; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	}
}

/* Take @l off the list and free it.  Under lodge.lock. */
static void unlist(struct cdm_fs *fs, struct cdm_lodger *l)
{
	take_off(fs, l);
	free(l);
}

void cdm_lodge_drop(struct cdm_fs *fs, struct cdm_lodger *l)
{
	uint16_t from = l->from;
	char name[sizeof(l->name)];
	int ret;

	pthread_mutex_lock(&fs->lodge.lock);
	memcpy(name, l->name, sizeof(name));
	unlist(fs, l);
	pthread_mutex_unlock(&fs->lodge.lock);
	/* open or mapped, it lives on (and the kernel's inode reaches it) */
	ret = cdm_inode_remove(&fs->table, fs->devsb[from].lodgers, name, 0);
	if (ret)
		cdm_log(LOG_WARNING, "%s: cannot remove lodger %s: %s",
			fs->devices.dev[from].name, name, strerror(-ret));
	cdm_capacity_changed(fs, from);
}

/* The lodger's record of its marker, for a restarted daemon. */
static int write_record(struct cdm_fs *fs, const struct cdm_lodger *l)
{
	char val[CDM_NAME_MAX + 16 + 2 * CDM_HANDLE_BYTES], path[PATH_MAX];
	int n = snprintf(val, sizeof(val), "%s:%d:",
			 fs->devices.dev[l->to].name, l->fh_type);

	for (int i = 0; i < CDM_HANDLE_BYTES; i++)
		n += snprintf(val + n, sizeof(val) - (size_t)n, "%02x", l->fh[i]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s",
		 fs->devsb[l->from].lodgers, l->name);
	return setxattr(path, LODGE_XATTR, val, (size_t)n, 0) ? -errno : 0;
}

/*
 * A new marker in directory @dirfd: an unnamed mode-0 file (O_TMPFILE),
 * its fd, inode number and handle into @l.  Named by link_marker().
 */
static int new_marker(int dirfd, struct cdm_lodger *l)
{
	union lodge_fh h;
	struct stat st;
	int fd, mount_id, ret;

	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	h.fh.handle_bytes = CDM_HANDLE_BYTES;
	if (fchmod(fd, 0) || fstat(fd, &st) ||
	    name_to_handle_at(fd, "", &h.fh, &mount_id, AT_EMPTY_PATH)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	l->marker_ino = st.st_ino;
	l->fh_type = h.fh.handle_type;
	memcpy(l->fh, h.fh.f_handle, CDM_HANDLE_BYTES);
	return fd;
}

/*
 * Give marker @mfd the name @newname in @npfd, replacing what is there
 * unless RENAME_NOREPLACE (a lodger's marker there is dropped: @victim).
 */
static int link_marker(struct cdm_fs *fs, int mfd, int npfd,
		       const char *newname, unsigned int flags)
{
	char path[64], tmp[64];
	struct cdm_lodger *victim;
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	if (!linkat(AT_FDCWD, path, npfd, newname, AT_SYMLINK_FOLLOW))
		return 0;
	if (errno != EEXIST || flags & RENAME_NOREPLACE)
		return -errno;
	if (!fstatat(npfd, newname, &st, AT_SYMLINK_NOFOLLOW) &&
	    S_ISDIR(st.st_mode))
		return -EISDIR;
	victim = cdm_lodge_at(fs, npfd, newname);
	snprintf(tmp, sizeof(tmp), ".cdmfs-lodge.%d.%ld", mfd,
		 (long)getpid());
	if (linkat(AT_FDCWD, path, npfd, tmp, AT_SYMLINK_FOLLOW))
		return -errno;
	if (renameat(npfd, tmp, npfd, newname)) {
		int ret = -errno;

		unlinkat(npfd, tmp, 0);
		return ret;
	}
	if (victim)
		cdm_lodge_drop(fs, victim);
	return 0;
}

/* Remove the lodger record xattr of @name in @dirfd (back in a tree). */
static void forget_record(int dirfd, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	removexattr(path, LODGE_XATTR);
}

/* The kernel holds the inode it renames: the daemon's, or NULL. */
static struct cdm_inode *inode_of(struct cdm_fs *fs, const struct stat *st)
{
	return cdm_inode_find(&fs->table, st->st_ino, st->st_dev);
}

/*
 * Remember in directory @dirfd of device @dev's tmpfs that some file there
 * has an alias (cdm_lodge_open reads them only where this flag is).
 */
static void flag_aliases(struct cdm_fs *fs, uint16_t dev)
{
	int fd = openat(fs->devsb[dev].lodgers, ALIASES_FLAG,
			O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd >= 0)
		close(fd);
}

/*
 * A symlink, fifo, socket or device node crossing to another device's
 * tmpfs: made again there (it has no data, and no open file to keep),
 * with its owner, mode, times and first st_ino, then the old one goes.
 */
static int recreate(struct cdm_fs *fs, int pfd, const char *name,
		    const struct stat *st, int npfd, const char *newname,
		    unsigned int flags)
{
	struct timespec tv[2] = { st->st_atim, st->st_mtim };
	char tmp[64], target[PATH_MAX];
	struct stat nst;
	ino_t vino;
	ssize_t n;
	int ret = 0;

	snprintf(tmp, sizeof(tmp), ".cdmfs-move.%ju.%ld",
		 (uintmax_t)st->st_ino, (long)getpid());
	if (S_ISLNK(st->st_mode)) {
		n = readlinkat(pfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return -errno;
		target[n] = '\0';
		if (symlinkat(target, npfd, tmp))
			return -errno;
	} else if (mknodat(npfd, tmp, st->st_mode, st->st_rdev)) {
		return -errno;
	}
	if (fchownat(npfd, tmp, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) ||
	    (!S_ISLNK(st->st_mode) &&
	     fchmodat(npfd, tmp, st->st_mode & 07777, 0)) ||
	    utimensat(npfd, tmp, tv, AT_SYMLINK_NOFOLLOW) ||
	    fstatat(npfd, tmp, &nst, AT_SYMLINK_NOFOLLOW) ||
	    renameat2(npfd, tmp, npfd, newname, flags & RENAME_NOREPLACE))
		ret = -errno;
	if (ret) {
		unlinkat(npfd, tmp, 0);
		return ret;
	}
	if (unlinkat(pfd, name, 0))
		cdm_log(LOG_WARNING, "%s: cannot remove the old name after its move: %s",
			name, strerror(errno));
	pthread_mutex_lock(&fs->lodge.lock);
	vino = visible_ino(fs, st->st_ino, st->st_dev);
	alias_del(st->st_ino, (uint32_t)st->st_dev);
	alias_set(nst.st_ino, (uint32_t)nst.st_dev, vino);
	pthread_mutex_unlock(&fs->lodge.lock);
	return 0;
}

/* A file of @parent's device goes to @newparent's: lodge it. */
static int lodge(struct cdm_fs *fs, struct cdm_inode *parent, int pfd,
		 const char *name, const struct stat *st,
		 struct cdm_inode *newparent, int npfd, const char *newname,
		 unsigned int flags)
{
	uint16_t from = parent->dev, to = newparent->dev;
	struct cdm_inode *inode;
	struct cdm_lodger *l;
	int mfd, ret;

	if (S_ISDIR(st->st_mode) || (S_ISREG(st->st_mode) && st->st_nlink > 1))
		return -EXDEV;		/* mv(1) copies it */
	if (!S_ISREG(st->st_mode))
		return recreate(fs, pfd, name, st, npfd, newname, flags);
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	pthread_mutex_lock(&fs->lodge.lock);
	l->vino = visible_ino(fs, st->st_ino, st->st_dev);
	pthread_mutex_unlock(&fs->lodge.lock);
	l->ino = st->st_ino;
	l->dev = (uint32_t)st->st_dev;
	l->from = from;
	l->to = to;
	snprintf(l->name, sizeof(l->name), "%" PRIuMAX, (uintmax_t)st->st_ino);
	mfd = new_marker(npfd, l);
	if (mfd < 0) {
		free(l);
		return mfd;
	}
	if (renameat2(pfd, name, fs->devsb[from].lodgers, l->name,
		      RENAME_NOREPLACE)) {
		ret = -errno;
		goto err_close;
	}
	ret = write_record(fs, l);
	if (ret)
		goto err_back;
	pthread_mutex_lock(&fs->lodge.lock);
	l->next = fs->lodge.head;
	fs->lodge.head = l;
	pthread_mutex_unlock(&fs->lodge.lock);
	/* its pages go to the new device now; its bytes when it goes home */
	inode = inode_of(fs, st);
	if (inode) {
		ret = cdm_move_to_device(fs, inode, to, true);
		if (ret)
			goto err_unlist;
	}
	ret = link_marker(fs, mfd, npfd, newname, flags);
	if (ret)
		goto err_move;
	close(mfd);
	pthread_cond_signal(&fs->lodge.cond);
	return 0;
err_move:
	if (inode)
		cdm_move_to_device(fs, inode, from, true);
err_unlist:
	pthread_mutex_lock(&fs->lodge.lock);
	take_off(fs, l);
	pthread_mutex_unlock(&fs->lodge.lock);
err_back:
	if (renameat2(fs->devsb[from].lodgers, l->name, pfd, name,
		      RENAME_NOREPLACE))
		cdm_log(LOG_ERR, "%s/%s: cannot rename it back from lodger %s: %s",
			fs->devices.dev[from].name, name, l->name,
			strerror(errno));
	else
		forget_record(pfd, name);
err_close:
	close(mfd);
	free(l);
	return ret;
}

/* The name of lodged file @l (its marker @name) goes to @newparent. */
static int move_lodged(struct cdm_fs *fs, struct cdm_lodger *l, int pfd,
		       const char *name, struct cdm_inode *newparent,
		       int npfd, const char *newname, unsigned int flags)
{
	uint16_t to = newparent->dev, from = l->from;
	struct cdm_lodger *victim = NULL, moved;
	struct cdm_inode *inode;
	int mfd, ret = 0;

	if (to == CDM_NO_DEVICE || !fs->devsb[to].own)
		return -EXDEV;
	inode = cdm_inode_find(&fs->table, l->ino, l->dev);
	if (!(flags & RENAME_NOREPLACE))
		victim = cdm_lodge_at(fs, npfd, newname);
	if (victim == l)
		return 0;		/* onto itself */
	if (to == l->to) {
		/* within its new device: the marker takes the new name */
		if (renameat2(pfd, name, npfd, newname, flags))
			return -errno;
	} else if (to == from) {
		/* back to the device that holds it: the lodger takes the name */
		if (renameat2(fs->devsb[from].lodgers, l->name, npfd, newname,
			      flags))
			return -errno;
		forget_record(npfd, newname);
		if (unlinkat(pfd, name, 0))
			cdm_log(LOG_WARNING, "%s/%s: cannot remove marker: %s",
				fs->devices.dev[l->to].name, name,
				strerror(errno));
		pthread_mutex_lock(&fs->lodge.lock);
		unlist(fs, l);
		pthread_mutex_unlock(&fs->lodge.lock);
		if (inode)
			ret = cdm_move_to_device(fs, inode, from, true);
	} else {
		/* to a third device: a marker there */
		moved = *l;
		mfd = new_marker(npfd, &moved);
		if (mfd < 0)
			return mfd;
		ret = link_marker(fs, mfd, npfd, newname, flags);
		close(mfd);
		if (ret)
			return ret;
		victim = NULL;		/* link_marker dropped it */
		if (unlinkat(pfd, name, 0))
			cdm_log(LOG_WARNING, "%s/%s: cannot remove marker: %s",
				fs->devices.dev[l->to].name, name,
				strerror(errno));
		pthread_mutex_lock(&fs->lodge.lock);
		l->to = to;
		l->marker_ino = moved.marker_ino;
		l->fh_type = moved.fh_type;
		memcpy(l->fh, moved.fh, sizeof(l->fh));
		pthread_mutex_unlock(&fs->lodge.lock);
		ret = write_record(fs, l);
		if (ret)
			cdm_log(LOG_WARNING, "%s: lodger %s: cannot record its marker: %s",
				fs->devices.dev[from].name, l->name,
				strerror(-ret));
		if (inode)
			ret = cdm_move_to_device(fs, inode, to, true);
	}
	if (victim)
		cdm_lodge_drop(fs, victim);
	if (ret)
		cdm_log(LOG_WARNING, "%s/%s: renamed, but its pages cannot move: %s",
			fs->devices.dev[to].name, newname, strerror(-ret));
	return 0;
}

int cdm_lodge_rename(struct cdm_fs *fs, struct cdm_lodger *l,
		     struct cdm_inode *parent, int pfd, const char *name,
		     const struct stat *st, struct cdm_inode *newparent,
		     int npfd, const char *newname, unsigned int flags)
{
	if (flags & RENAME_EXCHANGE)
		return -EXDEV;
	if (l)
		return move_lodged(fs, l, pfd, name, newparent, npfd, newname,
				   flags);
	return lodge(fs, parent, pfd, name, st, newparent, npfd, newname,
		     flags);
}

/* Copy the xattrs of @src to @dst, but the daemon's own records. */
static int copy_xattrs(int src, int dst)
{
	char *list = NULL, *val = NULL;
	ssize_t n, v;
	int ret = 0;

	n = flistxattr(src, NULL, 0);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	list = malloc((size_t)n);
	val = malloc(65536);
	if (!list || !val) {
		ret = -ENOMEM;
		goto out;
	}
	n = flistxattr(src, list, (size_t)n);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	for (char *p = list; p < list + n; p += strlen(p) + 1) {
		if (!strcmp(p, LODGE_XATTR) || !strcmp(p, INO_XATTR) ||
		    !strcmp(p, CDM_XATTR_PENDING))
			continue;
		v = fgetxattr(src, p, val, 65536);
		if (v < 0 || fsetxattr(dst, p, val, (size_t)v, 0)) {
			ret = -errno;
			break;
		}
	}
out:
	free(list);
	free(val);
	return ret;
}

/* Copy the data extents of @src (of @size bytes) into @dst. */
static int copy_data(int src, int dst, off_t size)
{
	static const size_t chunk = 2 << 20;
	char *buf = NULL;
	off_t pos = 0, end;
	int ret = 0;

	while (pos < size) {
		pos = lseek(src, pos, SEEK_DATA);
		if (pos < 0)
			break;		/* ENXIO: holes to the end */
		end = lseek(src, pos, SEEK_HOLE);
		if (end < 0)
			return -errno;
		while (pos < end) {
			size_t len = (size_t)(end - pos) < chunk ?
				     (size_t)(end - pos) : chunk;
			ssize_t r;

			if (!buf && !(buf = malloc(chunk)))
				return -ENOMEM;
			r = pread(src, buf, len, pos);
			if (r <= 0) {
				ret = r < 0 ? -errno : -EIO;
				goto out;
			}
			if (pwrite(dst, buf, (size_t)r, pos) != r) {
				ret = -errno ? -errno : -EIO;
				goto out;
			}
			pos += r;
		}
	}
	if (pos < 0 && errno != ENXIO)
		ret = -errno;
out:
	free(buf);
	return ret;
}

/*
 * Copy lodger @lfd into marker @mfd: placement first (the pages are
 * allocated where the file's policy on @to says), then xattrs, data,
 * size, owner, mode, times.  @mfd is left empty again on failure.
 */
static int copy_home(struct cdm_fs *fs, int lfd, int mfd, uint16_t to,
		     const struct stat *st)
{
	struct cdm_inode tmp = { .fd = mfd, .dev = to };
	struct timespec tv[2] = { st->st_atim, st->st_mtim };
	int ret;

	ret = copy_xattrs(lfd, mfd);
	if (!ret) {
		pthread_mutex_init(&tmp.lock, NULL);
		ret = cdm_place_file(fs, &tmp, mfd);
		pthread_mutex_destroy(&tmp.lock);
	}
	if (!ret)
		ret = copy_data(lfd, mfd, st->st_size);
	if (!ret && ftruncate(mfd, st->st_size))
		ret = -errno;
	if (!ret && (fchown(mfd, st->st_uid, st->st_gid) ||
		     fchmod(mfd, st->st_mode & 07777) || futimens(mfd, tv)))
		ret = -errno;
	if (ret && ftruncate(mfd, 0))
		cdm_log(LOG_WARNING, "marker %ju: cannot empty it again: %s",
			(uintmax_t)st->st_ino, strerror(errno));
	return ret;
}

/*
 * Bring lodger @l home if nobody has it open: returns 1 when it went, 0
 * when it is busy, -errno.  With the gate held for writing.
 */
static int go_home(struct cdm_fs *fs, struct cdm_lodger *l)
{
	struct cdm_policy pfrom, pto;
	struct cdm_inode *inode;
	union lodge_fh h;
	struct stat st, mst;
	uint64_t done;
	char path[64];
	int lfd, mfd = -1, mnt, pathfd, ret;
	bool busy = false;

	inode = cdm_inode_find(&fs->table, l->ino, l->dev);
	if (inode) {
		pthread_mutex_lock(&inode->lock);
		busy = inode->nopen > 0;
		pthread_mutex_unlock(&inode->lock);
		busy = busy || cdm_migration_progress(inode, &pfrom, &pto,
						      &done);
	}
	if (busy)
		return 0;
	lfd = openat(fs->devsb[l->from].lodgers, l->name,
		     O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (lfd < 0)
		return -errno;
	/* a write lease: nobody else has it open or mapped */
	if (fcntl(lfd, F_SETLEASE, F_WRLCK)) {
		ret = errno == EAGAIN || errno == EBUSY ? 0 : -errno;
		goto out;
	}
	mnt = openat(fs->devfd[l->to], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mnt < 0) {
		ret = -errno;
		goto out;
	}
	h.fh.handle_bytes = CDM_HANDLE_BYTES;
	h.fh.handle_type = l->fh_type;
	memcpy(h.fh.f_handle, l->fh, CDM_HANDLE_BYTES);
	mfd = open_by_handle_at(mnt, &h.fh, O_RDWR | O_CLOEXEC);
	close(mnt);
	if (mfd < 0) {
		ret = -errno;
		goto out;
	}
	if (fstat(lfd, &st) || fstat(mfd, &mst)) {
		ret = -errno;
		goto out;
	}
	if (!marker_like(&mst)) {
		ret = -ESTALE;	/* not ours to fill */
		goto out;
	}
	ret = copy_home(fs, lfd, mfd, l->to, &st);
	if (!ret && fsetxattr(mfd, INO_XATTR, &l->vino, sizeof(l->vino), 0))
		ret = -errno;
	if (ret)
		goto out;
	flag_aliases(fs, l->to);
	if (inode) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
		pathfd = open(path, O_PATH | O_CLOEXEC);
		ret = pathfd < 0 ? -errno :
		      cdm_inode_rekey(&fs->table, inode, pathfd, mst.st_ino,
				      mst.st_dev);
		if (ret) {
			if (ftruncate(mfd, 0) || fchmod(mfd, 0))
				cdm_log(LOG_WARNING, "marker %ju: cannot empty it again: %s",
					(uintmax_t)mst.st_ino, strerror(errno));
			goto out;
		}
	}
	if (unlinkat(fs->devsb[l->from].lodgers, l->name, 0))
		cdm_log(LOG_WARNING, "%s: cannot remove lodger %s: %s",
			fs->devices.dev[l->from].name, l->name,
			strerror(errno));
	cdm_capacity_changed(fs, l->from);
	cdm_capacity_changed(fs, l->to);
	cdm_log(LOG_DEBUG, "lodger %s went home from %s to %s (%jd bytes)",
		l->name, fs->devices.dev[l->from].name,
		fs->devices.dev[l->to].name, (intmax_t)st.st_size);
	pthread_mutex_lock(&fs->lodge.lock);
	alias_del(st.st_ino, (uint32_t)st.st_dev);
	alias_set(mst.st_ino, (uint32_t)mst.st_dev, l->vino);
	unlist(fs, l);
	pthread_mutex_unlock(&fs->lodge.lock);
	ret = 1;
out:
	if (mfd >= 0)
		close(mfd);
	close(lfd);		/* and the lease with it */
	return ret;
}

/* The @i-th lodger, or NULL.  Under lodge.lock. */
static struct cdm_lodger *nth(struct cdm_fs *fs, size_t i)
{
	struct cdm_lodger *l = fs->lodge.head;

	while (l && i--)
		l = l->next;
	return l;
}

static void *lodge_thread(void *arg)
{
	struct cdm_fs *fs = arg;
	struct cdm_lodge *lg = &fs->lodge;

	pthread_mutex_lock(&lg->lock);
	while (!lg->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += LODGE_PERIOD_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		if (lg->head)
			pthread_cond_timedwait(&lg->cond, &lg->lock, &ts);
		else
			pthread_cond_wait(&lg->cond, &lg->lock);
		for (size_t i = 0; !lg->stop; ) {
			struct cdm_lodger *l;
			int ret;

			pthread_mutex_unlock(&lg->lock);
			pthread_rwlock_wrlock(&lg->gate);
			pthread_mutex_lock(&lg->lock);
			l = nth(fs, i);
			pthread_mutex_unlock(&lg->lock);
			ret = l ? go_home(fs, l) : 0;
			if (ret < 0 && !l->told) {
				l->told = true;
				cdm_log(LOG_WARNING, "%s: lodger %s (now in %s) cannot go home yet: %s; it stays charged to %s",
					fs->devices.dev[l->from].name, l->name,
					fs->devices.dev[l->to].name,
					strerror(-ret),
					fs->devices.dev[l->from].name);
			}
			pthread_rwlock_unlock(&lg->gate);
			pthread_mutex_lock(&lg->lock);
			if (!l)
				break;
			if (ret <= 0)
				i++;	/* else the next one is the i-th now */
		}
	}
	pthread_mutex_unlock(&lg->lock);
	return NULL;
}

/*
 * A lodger an earlier daemon left in device @from's lodgers/: @name.  Its
 * marker is found by handle; a lodger whose marker is gone (or record is
 * unreadable) has no name anywhere and is removed.
 */
static void found(struct cdm_fs *fs, uint16_t from, const char *name)
{
	char val[CDM_NAME_MAX + 16 + 2 * CDM_HANDLE_BYTES + 1], path[PATH_MAX];
	char dev[CDM_NAME_MAX];
	struct cdm_lodger *l = calloc(1, sizeof(*l));
	struct stat st, mst;
	const char *hex;
	union lodge_fh h;
	int fd = -1, mnt, type = 0, to = -1;
	ssize_t n;

	if (!l)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s",
		 fs->devsb[from].lodgers, name);
	n = getxattr(path, LODGE_XATTR, val, sizeof(val) - 1);
	val[n > 0 ? n : 0] = '\0';
	hex = strrchr(val, ':');
	if (n > 0 && hex && sscanf(val, "%31[^:]:%d:", dev, &type) == 2 &&
	    strlen(hex + 1) == 2 * CDM_HANDLE_BYTES)
		to = cdm_ns_device_index(fs, dev);
	if (to >= 0 && fs->devsb[to].own && !lstat(path, &st)) {
		for (int i = 0; i < CDM_HANDLE_BYTES; i++)
			sscanf(hex + 1 + 2 * i, "%2hhx", &l->fh[i]);
		mnt = openat(fs->devfd[to], ".", O_RDONLY | O_DIRECTORY |
			     O_CLOEXEC);
		h.fh.handle_bytes = CDM_HANDLE_BYTES;
		h.fh.handle_type = type;
		memcpy(h.fh.f_handle, l->fh, CDM_HANDLE_BYTES);
		fd = mnt < 0 ? -1 : open_by_handle_at(mnt, &h.fh,
						      O_PATH | O_CLOEXEC);
		if (mnt >= 0)
			close(mnt);
	}
	if (fd >= 0 && !fstat(fd, &mst) && marker_like(&mst)) {
		l->ino = st.st_ino;
		l->dev = (uint32_t)st.st_dev;
		l->from = from;
		l->to = (uint16_t)to;
		l->marker_ino = mst.st_ino;
		l->fh_type = type;
		if (getxattr(path, INO_XATTR, &l->vino, sizeof(l->vino)) !=
		    sizeof(l->vino))
			l->vino = cdm_store_ino(fs, st.st_ino, st.st_dev);
		snprintf(l->name, sizeof(l->name), "%s", name);
		l->next = fs->lodge.head;
		fs->lodge.head = l;
		cdm_log(LOG_INFO, "%s: lodger %s of an earlier daemon, named in %s: it goes home when nobody has it open",
			fs->devices.dev[from].name, name, dev);
		l = NULL;
	} else {
		cdm_log(LOG_NOTICE, "%s: lodger %s has no name left anywhere: removed",
			fs->devices.dev[from].name, name);
		unlinkat(fs->devsb[from].lodgers, name, 0);
	}
	if (fd >= 0)
		close(fd);
	free(l);
}

/* Read the aliases of the files under directory @dfd (closed here). */
static void load_aliases(int dfd, int depth)
{
	DIR *d = fdopendir(dfd);
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	ino_t vino;

	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_type == DT_DIR && depth < 256) {
			int fd = openat(dirfd(d), de->d_name, O_RDONLY |
					O_DIRECTORY | O_NOFOLLOW | O_NOATIME |
					O_CLOEXEC);

			if (fd >= 0)
				load_aliases(fd, depth + 1);
			continue;
		}
		if (de->d_type != DT_REG)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd(d),
			 de->d_name);
		if (lgetxattr(path, INO_XATTR, &vino, sizeof(vino)) ==
		    sizeof(vino) &&
		    !fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW))
			alias_set(st.st_ino, (uint32_t)st.st_dev, vino);
	}
	closedir(d);
}

int cdm_lodge_open(struct cdm_fs *fs)
{
	struct cdm_lodge *lg = &fs->lodge;
	pthread_rwlockattr_t ra;
	pthread_condattr_t ca;

	/* readers nest (a create's lookup); the thread waits its turn */
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_READER_NP);
	pthread_rwlock_init(&lg->gate, &ra);
	pthread_rwlockattr_destroy(&ra);
	pthread_mutex_init(&lg->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&lg->cond, &ca);
	pthread_condattr_destroy(&ca);
	lg->head = NULL;
	lg->stop = lg->running = false;
	if (!fs->any_devsb)
		return 0;
	for (size_t i = 0; i < fs->devices.count; i++) {
		struct dirent *de;
		DIR *d;
		int fd;

		if (!fs->devsb[i].own)
			continue;
		/* files that went home here keep their first st_ino */
		if (!faccessat(fs->devsb[i].lodgers, ALIASES_FLAG, F_OK, 0)) {
			fd = openat(fs->devfd[i], ".", O_RDONLY | O_DIRECTORY |
				    O_CLOEXEC);
			if (fd >= 0)
				load_aliases(fd, 0);
		}
		fd = openat(fs->devsb[i].lodgers, ".", O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC);
		d = fd < 0 ? NULL : fdopendir(fd);
		if (!d) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				found(fs, (uint16_t)i, de->d_name);
		closedir(d);
	}
	return 0;
}

int cdm_lodge_start(struct cdm_fs *fs)
{
	struct cdm_lodge *lg = &fs->lodge;
	int ret;

	if (!fs->any_devsb)
		return 0;
	ret = pthread_create(&lg->thread, NULL, lodge_thread, fs);
	if (ret) {
		cdm_log(LOG_ERR, "lodgers: cannot start their thread: %s",
			strerror(ret));
		return -ret;
	}
	lg->running = true;
	return 0;
}

void cdm_lodge_close(struct cdm_fs *fs)
{
	struct cdm_lodge *lg = &fs->lodge;

	if (lg->running) {
		pthread_mutex_lock(&lg->lock);
		lg->stop = true;
		pthread_cond_signal(&lg->cond);
		pthread_mutex_unlock(&lg->lock);
		pthread_join(lg->thread, NULL);
		lg->running = false;
	}
	while (lg->head) {
		struct cdm_lodger *l = lg->head;

		lg->head = l->next;
		free(l);
	}
	for (size_t i = 0; i < ALIAS_BUCKETS; i++) {
		while (aliases[i]) {
			struct cdm_alias *a = aliases[i];

			aliases[i] = a->next;
			free(a);
		}
	}
	pthread_cond_destroy(&lg->cond);
	pthread_mutex_destroy(&lg->lock);
	pthread_rwlock_destroy(&lg->gate);
}
