// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inode table: the backing-store inodes the kernel holds lookups on, keyed
 * by (st_ino, st_dev) so that hard links share one FUSE inode.  Inodes of
 * the store are named by file handle and hold no fd (doc/inodes.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdmfs/log.h"
#include "inode.h"

/*
 * Fds kept out of the inode budget: opendir, statfs's tree walk (nftw keeps
 * up to 16), a backing fd per open file, the migration workers.  An eighth
 * of the limit, at least 32 and at most 1024.
 */
#define CDM_FD_RESERVE_MIN 32
#define CDM_FD_RESERVE_MAX 1024
/* One log line per burst of refusals. */
#define CDM_FD_LOG_INTERVAL 10

/*
 * A million files the kernel caches are a million of these: 104 bytes
 * make a 112-byte malloc chunk, the bucket array adds 4-8 per inode.
 */
_Static_assert(sizeof(struct cdm_inode) <= 104,
	       "struct cdm_inode grew past a 112-byte malloc chunk");

/*
 * A removed inode's fd, kept until the kernel forgets it: its handle no
 * longer opens (tmpfs freed the inode but for this fd).  Kept apart from
 * the inode, whose handle is read without a lock.  Few at a time: FORGET
 * follows an unlink or rmdir unless something (a working directory, an
 * O_PATH fd) holds the inode.
 */
struct cdm_kept {
	struct cdm_kept *next;
	struct cdm_inode *inode;
	int fd;
};

/* struct file_handle with room for the handles an inode keeps */
union cdm_fh {
	struct file_handle fh;
	char buf[sizeof(struct file_handle) + CDM_HANDLE_BYTES];
};

static size_t hash(ino_t ino, uint32_t dev, size_t n)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;

	return (h ^ (h >> 29)) & (n - 1);
}

int cdm_inode_table_init(struct cdm_inode_table *t)
{
	t->nbucket = 1024;
	t->count = 0;
	t->nfd = 0;
	t->kept = NULL;
	t->mount_fd = -1;
	t->handle_dev = 0;
	t->handle_type = 0;
	t->more = NULL;
	t->nmore = 0;
	atomic_init(&t->rekey_seq, 0);
	t->budget = 0;
	t->dev_count = NULL;
	t->ndev = t->dev_reserve = 0;
	t->release = NULL;
	t->bucket = calloc(t->nbucket, sizeof(*t->bucket));
	if (!t->bucket)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

size_t cdm_inode_table_set_budget(struct cdm_inode_table *t, uint64_t limit,
				  size_t ndev)
{
	uint64_t reserve = limit / 8;
	size_t *count = ndev ? calloc(ndev, sizeof(*count)) : NULL;

	if (reserve < CDM_FD_RESERVE_MIN)
		reserve = CDM_FD_RESERVE_MIN;
	if (reserve > CDM_FD_RESERVE_MAX)
		reserve = CDM_FD_RESERVE_MAX;
	pthread_mutex_lock(&t->lock);
	/* a limit that leaves no room: let the kernel's EMFILE decide */
	t->budget = limit > 2 * reserve ? (size_t)(limit - reserve) : 0;
	free(t->dev_count);
	t->dev_count = count;
	t->ndev = count ? ndev : 0;
	/* a quarter of the budget, shared out, at most 64 each */
	t->dev_reserve = t->ndev ? t->budget / (4 * t->ndev) : 0;
	if (t->dev_reserve > 64)
		t->dev_reserve = 64;
	pthread_mutex_unlock(&t->lock);
	return t->budget;
}

/* Would a new inode of device @dev exceed the budget?  Under t->lock. */
static bool over_budget(struct cdm_inode_table *t, uint16_t dev)
{
	size_t kept = 0;

	if (!t->budget)
		return false;
	/* what the other devices have not used of their share */
	for (size_t i = 0; dev < t->ndev && i < t->ndev; i++)
		if (i != dev && t->dev_count[i] < t->dev_reserve)
			kept += t->dev_reserve - t->dev_count[i];
	return t->nfd + kept >= t->budget;
}

/* The handle of the inode behind @fd; -errno (-EOVERFLOW: too long). */
static int handle_of(int fd, union cdm_fh *h)
{
	int mount_id;

	h->fh.handle_bytes = CDM_HANDLE_BYTES;
	if (name_to_handle_at(fd, "", &h->fh, &mount_id, AT_EMPTY_PATH))
		return -errno;
	return 0;
}

int cdm_inode_table_use_handles(struct cdm_inode_table *t, int dirfd)
{
	union cdm_fh h;
	struct stat st;
	int fd, mount_fd, ret;

	/* open_by_handle_at takes no O_PATH fd for the mount */
	mount_fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mount_fd < 0)
		return -errno;
	ret = fstat(mount_fd, &st) ? -errno : handle_of(mount_fd, &h);
	if (ret)
		goto err_close;
	/* the privilege it takes: see whether we have it */
	fd = open_by_handle_at(mount_fd, &h.fh, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto err_close;
	}
	close(fd);
	t->mount_fd = mount_fd;
	t->handle_dev = (uint32_t)st.st_dev;
	t->handle_type = h.fh.handle_type;
	return 0;
err_close:
	close(mount_fd);
	return ret;
}

int cdm_inode_table_add_handles(struct cdm_inode_table *t, int dirfd)
{
	struct cdm_handle_mount *more;
	union cdm_fh h;
	struct stat st;
	int fd, ret;

	if (t->mount_fd < 0)
		return -EOPNOTSUPP;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = fstat(fd, &st) ? -errno : handle_of(fd, &h);
	if (!ret && (h.fh.handle_type != t->handle_type ||
		     h.fh.handle_bytes != CDM_HANDLE_BYTES))
		ret = -EOPNOTSUPP;
	if (!ret && (uint32_t)st.st_dev == t->handle_dev)
		ret = -EEXIST;
	more = ret ? NULL : realloc(t->more, (t->nmore + 1) * sizeof(*more));
	if (!ret && !more)
		ret = -ENOMEM;
	if (ret) {
		close(fd);
		return ret;
	}
	more[t->nmore].fd = fd;
	more[t->nmore].dev = (uint32_t)st.st_dev;
	t->more = more;
	t->nmore++;
	return 0;
}

/* The directory fd to open handles of filesystem @dev by, or -1. */
static int handle_mount(const struct cdm_inode_table *t, uint32_t dev)
{
	if (t->mount_fd >= 0 && dev == t->handle_dev)
		return t->mount_fd;
	for (size_t i = 0; i < t->nmore; i++)
		if (t->more[i].dev == dev)
			return t->more[i].fd;
	return -1;
}

/* A copy of @inode's kept fd (closed by cdm_inode_fd_put), or -ESTALE. */
static int kept_fd(struct cdm_inode_table *t, struct cdm_inode *inode)
{
	int fd = -ESTALE;

	pthread_mutex_lock(&t->lock);
	for (struct cdm_kept *k = t->kept; k; k = k->next) {
		if (k->inode == inode) {
			fd = fcntl(k->fd, F_DUPFD_CLOEXEC, 0);
			fd = fd < 0 ? (errno == EMFILE ? -ENFILE : -errno) : fd;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return fd;
}

/* Close and drop the fd kept for @inode, if any.  Under t->lock. */
static void unkeep(struct cdm_inode_table *t, struct cdm_inode *inode)
{
	for (struct cdm_kept **pp = &t->kept; *pp; pp = &(*pp)->next) {
		struct cdm_kept *k = *pp;

		if (k->inode == inode) {
			*pp = k->next;
			close(k->fd);
			free(k);
			return;
		}
	}
}

/* cdm_inode_fd(), also with t->lock held (@locked: no kept fds then). */
static int inode_fd(struct cdm_inode_table *t, struct cdm_inode *inode,
		    bool locked)
{
	union cdm_fh h;
	unsigned int seq;
	uint32_t dev;
	int fd;

	if (!inode->by_handle)
		return inode->fd;
	h.fh.handle_bytes = CDM_HANDLE_BYTES;
	h.fh.handle_type = t->handle_type;
	do {
		seq = atomic_load_explicit(&t->rekey_seq, memory_order_acquire);
		memcpy(h.fh.f_handle, inode->handle, CDM_HANDLE_BYTES);
		dev = inode->src_dev;
		atomic_thread_fence(memory_order_acquire);
	} while ((seq & 1) ||
		 seq != atomic_load_explicit(&t->rekey_seq, memory_order_relaxed));
	fd = open_by_handle_at(handle_mount(t, dev), &h.fh, O_PATH | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (errno == ESTALE && !locked)
		return kept_fd(t, inode);
	/* ours to lack, not the caller's (see lookup_fd_error in ops.c) */
	return errno == EMFILE ? -ENFILE : -errno;
}

int cdm_inode_fd(struct cdm_inode_table *t, struct cdm_inode *inode)
{
	return inode_fd(t, inode, false);
}

void cdm_inode_fd_put(struct cdm_inode *inode, int fd)
{
	if (inode->by_handle && fd >= 0)
		close(fd);
}

void cdm_fd_exhausted(struct cdm_inode_table *t, const char *what, int err)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static time_t last;
	static unsigned long refused;
	struct timespec ts;
	unsigned long n;
	size_t count;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&lock);
	refused++;
	if (last && ts.tv_sec - last < CDM_FD_LOG_INTERVAL) {
		pthread_mutex_unlock(&lock);
		return;
	}
	last = ts.tv_sec;
	n = refused;
	refused = 0;
	pthread_mutex_unlock(&lock);
	count = cdm_inode_count(t);
	cdm_log(LOG_WARNING, "out of file descriptors (%s): %s refused with ENFILE (%lu refused since the last report; %zu files held, budget %zu): the daemon holds one fd per file the kernel caches; raise its RLIMIT_NOFILE (e.g. LimitNOFILE=)",
		strerror(err), what, n, count, t->budget);
}

static void free_inode(struct cdm_inode_table *t, struct cdm_inode *inode)
{
	if (!inode->by_handle && inode->fd >= 0)
		close(inode->fd);
	if (t->release)
		t->release(inode);
	pthread_mutex_destroy(&inode->lock);
	free(inode);
}

void cdm_inode_table_destroy(struct cdm_inode_table *t)
{
	for (size_t i = 0; i < t->nbucket; i++) {
		struct cdm_inode *inode = t->bucket[i], *next;

		for (; inode; inode = next) {
			next = inode->next;
			free_inode(t, inode);
		}
	}
	while (t->kept)
		unkeep(t, t->kept->inode);
	free(t->bucket);
	t->bucket = NULL;
	t->count = 0;
	if (t->mount_fd >= 0)
		close(t->mount_fd);
	t->mount_fd = -1;
	for (size_t i = 0; i < t->nmore; i++)
		close(t->more[i].fd);
	free(t->more);
	t->more = NULL;
	t->nmore = 0;
	free(t->dev_count);
	t->dev_count = NULL;
	t->ndev = 0;
	pthread_mutex_destroy(&t->lock);
}

/* Double the buckets when the chains average more than two entries. */
static void grow(struct cdm_inode_table *t)
{
	size_t n = t->nbucket * 2;
	struct cdm_inode **b = calloc(n, sizeof(*b));

	if (!b)
		return;		/* longer chains, still correct */
	for (size_t i = 0; i < t->nbucket; i++) {
		struct cdm_inode *inode = t->bucket[i], *next;

		for (; inode; inode = next) {
			size_t h = hash(inode->src_ino, inode->src_dev, n);

			next = inode->next;
			inode->next = b[h];
			b[h] = inode;
		}
	}
	free(t->bucket);
	t->bucket = b;
	t->nbucket = n;
}

/* Is @inode the one for (@ino, @dev) and, by handle, @h?  Under t->lock. */
static bool same(const struct cdm_inode *inode, ino_t ino, uint32_t dev,
		 const union cdm_fh *h)
{
	/*
	 * A number of an inode freed behind a lookup the kernel still holds
	 * may come back on a new one: its handle (generation) differs.
	 */
	return inode->src_ino == ino && inode->src_dev == dev &&
	       (!h || !inode->by_handle ||
		!memcmp(inode->handle, h->fh.f_handle, CDM_HANDLE_BYTES));
}

struct cdm_inode *cdm_inode_get_mode(struct cdm_inode_table *t, ino_t ino,
				     dev_t dev, int fd, uint16_t devidx,
				     uint64_t nlookup, mode_t mode)
{
	struct cdm_inode *inode;
	union cdm_fh fh;
	bool by_handle;
	size_t h;

	/*
	 * Outside the lock (a syscall); on any failure (another filesystem
	 * mounted in the store, a longer handle) the inode keeps @fd.
	 */
	by_handle = handle_mount(t, (uint32_t)dev) >= 0 &&
		    fd >= 0 && !handle_of(fd, &fh) &&
		    fh.fh.handle_type == t->handle_type &&
		    fh.fh.handle_bytes == CDM_HANDLE_BYTES;
	pthread_mutex_lock(&t->lock);
	h = hash(ino, (uint32_t)dev, t->nbucket);
	for (inode = t->bucket[h]; inode; inode = inode->next) {
		if (same(inode, ino, (uint32_t)dev, by_handle ? &fh : NULL)) {
			inode->nlookup += nlookup;
			pthread_mutex_unlock(&t->lock);
			close(fd);
			return inode;
		}
	}
	if (by_handle && S_ISDIR(mode) && !over_budget(t, devidx))
		by_handle = false;	/* a directory keeps its fd */
	if (!by_handle && over_budget(t, devidx)) {
		pthread_mutex_unlock(&t->lock);
		close(fd);
		errno = ENFILE;
		return NULL;
	}
	inode = calloc(1, sizeof(*inode));
	if (!inode) {
		pthread_mutex_unlock(&t->lock);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	inode->src_ino = ino;
	inode->src_dev = (uint32_t)dev;
	inode->nlookup = nlookup;
	inode->dev = devidx;
	inode->by_handle = by_handle;
	if (by_handle) {
		memcpy(inode->handle, fh.fh.f_handle, CDM_HANDLE_BYTES);
		close(fd);
	} else {
		inode->fd = fd;
		inode->acct_dev = devidx;
		t->nfd++;
		if (devidx < t->ndev)
			t->dev_count[devidx]++;
	}
	pthread_mutex_init(&inode->lock, NULL);
	inode->next = t->bucket[h];
	t->bucket[h] = inode;
	if (++t->count > 2 * t->nbucket)
		grow(t);
	pthread_mutex_unlock(&t->lock);
	return inode;
}

void cdm_inode_hold(struct cdm_inode_table *t, struct cdm_inode *inode)
{
	pthread_mutex_lock(&t->lock);
	inode->nlookup++;
	pthread_mutex_unlock(&t->lock);
}

bool cdm_inode_put(struct cdm_inode_table *t, struct cdm_inode *inode,
		   uint64_t n)
{
	struct cdm_inode **pp;

	pthread_mutex_lock(&t->lock);
	if (n < inode->nlookup) {
		inode->nlookup -= n;
		pthread_mutex_unlock(&t->lock);
		return false;
	}
	for (pp = &t->bucket[hash(inode->src_ino, inode->src_dev, t->nbucket)];
	     *pp; pp = &(*pp)->next) {
		if (*pp == inode) {
			*pp = inode->next;
			t->count--;
			if (inode->by_handle) {
				if (t->kept)
					unkeep(t, inode);
				break;
			}
			t->nfd--;
			if (inode->acct_dev < t->ndev)
				t->dev_count[inode->acct_dev]--;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	free_inode(t, inode);
	return true;
}

/* Open through us now?  Lock order: the table's lock, then the inode's. */
static bool is_open(struct cdm_inode *inode)
{
	bool open;

	pthread_mutex_lock(&inode->lock);
	open = inode->nopen > 0;
	pthread_mutex_unlock(&inode->lock);
	return open;
}

/* Bytes of unlinked regular file @inode, 0 if it has a name; t->lock held. */
static uint64_t unlinked_bytes(struct cdm_inode_table *t,
			       struct cdm_inode *inode)
{
	struct stat st;
	int fd = inode_fd(t, inode, true);	/* an open file: not removed */
	bool gone;

	if (fd < 0)
		return 0;
	gone = !fstat(fd, &st) && S_ISREG(st.st_mode) && !st.st_nlink;
	cdm_inode_fd_put(inode, fd);
	return gone ? (uint64_t)st.st_blocks * 512 : 0;
}

uint64_t cdm_inode_unlinked_bytes(struct cdm_inode_table *t, uint16_t devidx)
{
	uint64_t bytes = 0;

	pthread_mutex_lock(&t->lock);
	for (size_t b = 0; b < t->nbucket; b++)
		for (struct cdm_inode *i = t->bucket[b]; i; i = i->next)
			if (i->dev == devidx && is_open(i))
				bytes += unlinked_bytes(t, i);
	pthread_mutex_unlock(&t->lock);
	return bytes;
}

uint64_t cdm_inode_closed_bytes(struct cdm_inode_table *t, uint16_t devidx)
{
	uint64_t bytes = 0;
	struct stat st;

	pthread_mutex_lock(&t->lock);
	for (struct cdm_kept *k = t->kept; k; k = k->next)
		if (k->inode->dev == devidx && !is_open(k->inode) &&
		    !fstat(k->fd, &st) && S_ISREG(st.st_mode) && !st.st_nlink)
			bytes += (uint64_t)st.st_blocks * 512;
	pthread_mutex_unlock(&t->lock);
	return bytes;
}

size_t cdm_inode_count(struct cdm_inode_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

struct cdm_inode *cdm_inode_find(struct cdm_inode_table *t, ino_t ino,
				 dev_t dev)
{
	struct cdm_inode *inode;

	pthread_mutex_lock(&t->lock);
	for (inode = t->bucket[hash(ino, (uint32_t)dev, t->nbucket)]; inode;
	     inode = inode->next)
		if (same(inode, ino, (uint32_t)dev, NULL))
			break;
	pthread_mutex_unlock(&t->lock);
	return inode;
}

int cdm_inode_remove(struct cdm_inode_table *t, int dirfd, const char *name,
		     int flags)
{
	struct cdm_inode *inode = NULL;
	struct cdm_kept *k;
	struct stat st;
	int fd = -1, ret;

	/*
	 * The kernel holds the inode it removes (and FORGETs it after the
	 * reply, unless a working directory or an O_PATH fd holds it on):
	 * the inode is in the table now.  The O_PATH fd taken before the
	 * removal of its last name is then the only thing that keeps the
	 * tmpfs inode.
	 */
	if (t->mount_fd >= 0) {
		fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC |
			    (flags & AT_REMOVEDIR ? O_DIRECTORY : 0));
		if (fd >= 0 && !fstat(fd, &st) &&
		    (S_ISDIR(st.st_mode) || st.st_nlink == 1))
			inode = cdm_inode_find(t, st.st_ino, st.st_dev);
	}
	ret = unlinkat(dirfd, name, flags) ? -errno : 0;
	k = !ret && inode && inode->by_handle ? malloc(sizeof(*k)) : NULL;
	if (!k) {
		if (fd >= 0)
			close(fd);
		return ret;
	}
	k->inode = inode;
	k->fd = fd;
	pthread_mutex_lock(&t->lock);
	k->next = t->kept;
	t->kept = k;
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void cdm_procfd(char buf[CDM_PROCFD_MAX], int fd)
{
	snprintf(buf, CDM_PROCFD_MAX, "/proc/self/fd/%d", fd);
}

int cdm_inode_rekey(struct cdm_inode_table *t, struct cdm_inode *inode,
		    int fd, ino_t ino, dev_t dev)
{
	struct cdm_inode **pp;
	union cdm_fh fh;
	unsigned int seq;
	int old = -1;

	if (inode->by_handle &&
	    (handle_mount(t, (uint32_t)dev) < 0 || handle_of(fd, &fh) ||
	     fh.fh.handle_type != t->handle_type ||
	     fh.fh.handle_bytes != CDM_HANDLE_BYTES)) {
		close(fd);
		return -EOPNOTSUPP;	/* a handle inode stays one */
	}
	pthread_mutex_lock(&t->lock);
	for (pp = &t->bucket[hash(inode->src_ino, inode->src_dev, t->nbucket)];
	     *pp; pp = &(*pp)->next) {
		if (*pp == inode) {
			*pp = inode->next;
			break;
		}
	}
	seq = atomic_load_explicit(&t->rekey_seq, memory_order_relaxed);
	atomic_store_explicit(&t->rekey_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	if (inode->by_handle) {
		if (t->kept)
			unkeep(t, inode);
		memcpy(inode->handle, fh.fh.f_handle, CDM_HANDLE_BYTES);
	} else {
		old = inode->fd;
		inode->fd = fd;
		fd = -1;
	}
	inode->src_ino = ino;
	inode->src_dev = (uint32_t)dev;
	atomic_store_explicit(&t->rekey_seq, seq + 2, memory_order_release);
	pp = &t->bucket[hash(ino, (uint32_t)dev, t->nbucket)];
	inode->next = *pp;
	*pp = inode;
	pthread_mutex_unlock(&t->lock);
	if (fd >= 0)
		close(fd);
	if (old >= 0)
		close(old);
	return 0;
}
