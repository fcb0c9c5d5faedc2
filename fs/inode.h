/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The inode table: one entry per backing-store inode the kernel holds a
 * lookup on (inode.c).  The bottom layer: it knows no other part of the
 * daemon; an upper layer that hangs state on an inode frees it from the
 * table's release hook.
 *
 * Lock order: table.lock, then inode->lock.
 */
#ifndef CDMFS_FS_INODE_H
#define CDMFS_FS_INODE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Device index of an inode that belongs to no device: the root. */
#define CDM_NO_DEVICE UINT16_MAX

enum cdm_datapath {
	CDM_DATAPATH_NONE,		/* never opened */
	CDM_DATAPATH_PASSTHROUGH,	/* kernel I/O on the backing file */
	CDM_DATAPATH_DAEMON,		/* I/O served by the daemon */
};

/*
 * Bytes of a file handle kept in the inode itself: tmpfs (shmem) exports
 * 12 (generation, 64-bit inode number).  A filesystem with longer handles
 * (or none) gets an fd per inode instead.
 */
#define CDM_HANDLE_BYTES 12

/*
 * One backing-store inode the kernel holds a lookup on.  Kept small: a
 * mount with 10^6 files holds 10^6 of these (104 bytes, so malloc's chunk
 * is 112; see doc/inodes.md).  It names its backing inode by file handle
 * when the table can open handles (cdm_inode_table_use_handles), else by
 * an O_PATH fd held for its life: reach it through cdm_inode_fd() only.
 */
struct cdm_inode {
	struct cdm_inode *next;		/* hash chain; protected by table lock */
	ino_t src_ino;
	uint64_t nlookup;		/* protected by table lock */
	struct cdm_migration *mig;	/* NULL until migrated; set under lock */
	pthread_mutex_t lock;
	/* st_dev: the kernel's dev_t is 32 bits (new_encode_dev) */
	uint32_t src_dev;
	int backing_id;			/* passthrough id; protected by lock */
	uint32_t nopen;			/* protected by lock */
	/*
	 * Opened O_RDWR through passthrough: it may be mapped shared
	 * writable, also after the last close; protected by lock
	 */
	bool mapped_rw;
	/*
	 * Index into fs->devices.  A rename across devices changes it (under
	 * the table lock) while other requests read it without a lock:
	 * atomic, and read once per use (a request must not mix two).
	 */
	_Atomic uint16_t dev;
	uint8_t datapath;		/* enum cdm_datapath; protected by lock */
	bool by_handle;			/* set once, before it is in the table */
	/*
	 * A directory known to have no policy of its own (creates in it ask
	 * for each file); protected by lock, see inode_own_policy()
	 */
	bool no_policy;
	union {
		struct {			/* !by_handle */
			int fd;			/* O_PATH fd of the backing inode */
			uint16_t acct_dev;	/* fd counted to; set once */
		};
		/* by_handle: f_handle, of the table's handle type and size */
		unsigned char handle[CDM_HANDLE_BYTES];
	};
};

struct cdm_migration;

/* Hash table of inodes keyed by (src_ino, src_dev). */
struct cdm_inode_table {
	pthread_mutex_t lock;
	struct cdm_inode **bucket;	/* protected by lock */
	size_t nbucket, count;		/* protected by lock */
	/*
	 * File handles (cdm_inode_table_use_handles): inodes of filesystem
	 * @handle_dev are opened by handle through @mount_fd (ours, a
	 * directory there), and hold no fd.  -1 when handles cannot be opened (no
	 * CAP_DAC_READ_SEARCH): every inode holds an fd.  Set before the
	 * session starts.
	 */
	int mount_fd;
	uint32_t handle_dev;
	int handle_type;
	/*
	 * More filesystems named by handle (a device's own tmpfs in the
	 * store): @nmore of them, a directory fd and st_dev each.
	 */
	struct cdm_handle_mount {
		int fd;
		uint32_t dev;
	} *more;
	size_t nmore;
	/*
	 * Odd while cdm_inode_rekey() changes an inode's handle: readers of
	 * handles (without a lock) read again then.
	 */
	atomic_uint rekey_seq;
	/* inodes that hold an fd (not by handle); protected by lock */
	size_t nfd;
	/* inodes removed while cached (cdm_inode_remove); under lock */
	struct cdm_kept *kept;
	/*
	 * Inodes holding an fd the table may have, 0 for no limit: the rest
	 * of RLIMIT_NOFILE is the reserve that opendir, statfs, open, the
	 * migrations and the fds opened by handle for one call draw on, so a
	 * flood of files cannot take the whole mount down
	 * (cdm_inode_table_set_budget).
	 */
	size_t budget;			/* set before the session starts */
	/*
	 * Inodes holding an fd per device (by the device they were looked up
	 * in), and the share of the budget each device keeps for itself: a
	 * flood in one cannot take the last fd from the others.  Protected by
	 * lock.
	 */
	size_t *dev_count, ndev, dev_reserve;
	/*
	 * Called as an inode is freed, for the state an upper layer keeps on
	 * it (the migrator's record, @mig): the table frees only its own.
	 * Set before the session starts; NULL for none.
	 */
	void (*release)(struct cdm_inode *inode);
};

int cdm_inode_table_init(struct cdm_inode_table *t);
/**
 * Size the fd budget of @t from our RLIMIT_NOFILE @limit: inodes beyond
 * limit - reserve are refused (cdm_inode_get: NULL, errno ENFILE), and so
 * are those of one of the @ndev devices that would eat into the small share
 * each other device keeps.  Returns the budget.
 */
size_t cdm_inode_table_set_budget(struct cdm_inode_table *t, uint64_t limit,
				  size_t ndev);
/**
 * Identify the inodes of the filesystem of directory @dirfd (the store's
 * root) by file handle from now on, if the handles of that filesystem fit
 * in an inode and we may open them (open_by_handle_at needs
 * CAP_DAC_READ_SEARCH).  Returns 0 when handles are in use (the table then
 * holds an fd of that directory until cdm_inode_table_destroy), else
 * -errno (then every inode holds an fd, within the budget).  Call before
 * any inode is in the table.
 */
int cdm_inode_table_use_handles(struct cdm_inode_table *t, int dirfd);
/**
 * Name the inodes of one more filesystem, that of directory @dirfd, by
 * handle (a device's own tmpfs mounted in the store), once
 * cdm_inode_table_use_handles() succeeded; the same kind of handles only.
 * 0 or -errno (then its inodes hold fds).
 */
int cdm_inode_table_add_handles(struct cdm_inode_table *t, int dirfd);
/**
 * Make @inode the one of backing inode (@ino, @dev) behind @fd (closed
 * here) instead of its own: a file whose data was copied to another
 * filesystem (a device's own tmpfs) keeps its FUSE inode.  Call with no
 * fd of the inode in use by others.  0 or -errno (nothing changed).
 */
int cdm_inode_rekey(struct cdm_inode_table *t, struct cdm_inode *inode,
		    int fd, ino_t ino, dev_t dev);
/**
 * An O_PATH fd of @inode's backing inode for one call: the inode's own
 * (borrowed) or one opened by its handle.  Give it back with
 * cdm_inode_fd_put().  -errno on failure: -ESTALE when the backing inode
 * is gone (unlinked and closed everywhere), -ENFILE when we are out of fds.
 */
int cdm_inode_fd(struct cdm_inode_table *t, struct cdm_inode *inode);
/** Give back what cdm_inode_fd() returned (a no-op for a borrowed fd). */
void cdm_inode_fd_put(struct cdm_inode *inode, int fd);
/**
 * unlink (@flags 0) or rmdir (AT_REMOVEDIR) @name in directory @dirfd.  An
 * inode the table names by handle that loses its last name while the
 * kernel holds it (a shell's working directory, an O_PATH fd, which sends
 * no OPEN) keeps an fd until its FORGET, so that cdm_inode_fd() still
 * reaches it, as on tmpfs, once it has no name.  0 or -errno.
 */
int cdm_inode_remove(struct cdm_inode_table *t, int dirfd, const char *name,
		     int flags);
/**
 * Log, at most once per burst (10 s), that a file descriptor could not be
 * had for @what (a name) and how many more were refused since.
 */
void cdm_fd_exhausted(struct cdm_inode_table *t, const char *what, int err);
/** Free every inode (closing its fd) and the table. */
void cdm_inode_table_destroy(struct cdm_inode_table *t);
/**
 * Find the inode for (@ino, @dev) and add @nlookup to its lookup count, or
 * insert a new one for @fd (any fd of the backing inode, O_PATH will do):
 * by its handle when the table uses handles for @dev, closing @fd, else
 * keeping @fd.  When an inode exists, @fd is closed.  Returns the inode, or
 * NULL with errno set (@fd closed): ENFILE when a new inode that holds an
 * fd would exceed the table's budget.  A directory (@mode) keeps @fd
 * while the budget allows: every create, lookup and unlink in it needs
 * one, and directories are few.
 */
struct cdm_inode *cdm_inode_get_mode(struct cdm_inode_table *t, ino_t ino,
				     dev_t dev, int fd, uint16_t devidx,
				     uint64_t nlookup, mode_t mode);
static inline struct cdm_inode *cdm_inode_get(struct cdm_inode_table *t,
					      ino_t ino, dev_t dev, int fd,
					      uint16_t devidx,
					      uint64_t nlookup)
{
	return cdm_inode_get_mode(t, ino, dev, fd, devidx, nlookup, 0);
}
/**
 * Take one more lookup on @inode, which must hold one already: a reference
 * of the daemon's own (a migration worker's), dropped with cdm_inode_put().
 */
void cdm_inode_hold(struct cdm_inode_table *t, struct cdm_inode *inode);
/**
 * Drop @n lookups; at zero the inode is removed and freed.  Returns true if
 * it was freed.
 */
bool cdm_inode_put(struct cdm_inode_table *t, struct cdm_inode *inode,
		   uint64_t n);
size_t cdm_inode_count(struct cdm_inode_table *t);
/**
 * Bytes held by regular files of device @devidx that have no name left but
 * are still open: tmpfs counts them as used until the last close, and so
 * must df.  After the close they are not counted, although our O_PATH fd
 * keeps them until the kernel's FORGET arrives (a moment later).  A file
 * that stays mapped after its last close is not seen (passthrough maps the
 * backing file; the FUSE inode goes).
 */
uint64_t cdm_inode_unlinked_bytes(struct cdm_inode_table *t, uint16_t devidx);
/**
 * Bytes of the unlinked files of device @devidx nobody has open any more
 * but whose memory the kernel frees only at their FORGET, when the table
 * drops the fd that keeps them: freed, for df, as on tmpfs at the close.
 */
uint64_t cdm_inode_closed_bytes(struct cdm_inode_table *t, uint16_t devidx);

/*
 * "/proc/self/fd/N": reaches the inode behind an O_PATH fd for the calls
 * that take a path (chmod, truncate, open, xattrs).
 */
#define CDM_PROCFD_MAX 32
void cdm_procfd(char buf[CDM_PROCFD_MAX], int fd);

/** The table's inode for (@ino, @dev), or NULL; no reference taken. */
struct cdm_inode *cdm_inode_find(struct cdm_inode_table *t, ino_t ino,
				 dev_t dev);

#endif
