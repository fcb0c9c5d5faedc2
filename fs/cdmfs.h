/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cdmfs daemon internals.
 *
 * The namespace a user sees is a directory tree on a tmpfs private to the
 * daemon (the "store"): <store>/<device>/<path>.  Each regular file in it is
 * a shmem object whose NUMA policy binds it to its device; opens hand the
 * backing file to the kernel (FUSE passthrough), so data never crosses the
 * daemon.
 *
 * Lock order: fs->table.lock, then inode->lock.  fs->migrator.lock is
 * taken with neither held, fs->cap.lock with none held and nothing taken
 * under it.
 */
#ifndef CDMFS_FS_H
#define CDMFS_FS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cdmfs/backend.h"
#include "cdmfs/policy.h"

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

/*
 * "/proc/self/fd/N": reaches the inode behind an O_PATH fd for the calls
 * that take a path (chmod, truncate, open, xattrs).
 */
#define CDM_PROCFD_MAX 32
void cdm_procfd(char buf[CDM_PROCFD_MAX], int fd);

/* FUSE operations counted for user.cdm.stats. */
enum cdm_stat {
	CDM_STAT_LOOKUP, CDM_STAT_FORGET, CDM_STAT_GETATTR, CDM_STAT_SETATTR,
	CDM_STAT_READLINK, CDM_STAT_MKNOD, CDM_STAT_MKDIR, CDM_STAT_UNLINK,
	CDM_STAT_RMDIR, CDM_STAT_SYMLINK, CDM_STAT_RENAME, CDM_STAT_LINK,
	CDM_STAT_OPEN, CDM_STAT_READ, CDM_STAT_WRITE, CDM_STAT_FLUSH,
	CDM_STAT_RELEASE, CDM_STAT_FSYNC, CDM_STAT_OPENDIR, CDM_STAT_READDIR,
	CDM_STAT_RELEASEDIR, CDM_STAT_FSYNCDIR, CDM_STAT_STATFS,
	CDM_STAT_SETXATTR, CDM_STAT_GETXATTR, CDM_STAT_LISTXATTR,
	CDM_STAT_REMOVEXATTR, CDM_STAT_ACCESS, CDM_STAT_CREATE,
	CDM_STAT_FALLOCATE, CDM_STAT_LSEEK, CDM_STAT_COPY_FILE_RANGE,
	CDM_STAT_FLOCK,
	/* not FUSE operations */
	CDM_STAT_PASSTHROUGH_OPENS, CDM_STAT_PASSTHROUGH_FALLBACKS,
	CDM_STAT_NR
};

/*
 * Bytes moved per batch of a migration unless -o migrate_batch= says
 * otherwise: a process touching a page in flight waits for that batch at
 * most.  2 MiB is the kernel's own migration batch (512 pages).
 */
#define CDM_MIGRATE_BATCH_DEFAULT (2ULL << 20)
/*
 * Milliseconds a migration keeps its worker while other files wait for
 * one, unless -o migrate_turn= says otherwise.
 */
#define CDM_MIGRATE_TURN_DEFAULT 100

/*
 * Seconds the kernel may cache names and attributes unless
 * -o attr_timeout= says otherwise.  The daemon is the only writer of its
 * store and drops what it changes itself (cdm_inval_attr), so the cache
 * can be long: a stat then costs no round trip.  The maximum the option
 * takes; passthrough_hp's cache=always uses the same.
 */
#define CDM_ATTR_TIMEOUT_DEFAULT 86400.0

/* -o io_uring=: which FUSE transport the daemon asks for (main.c) */
enum cdm_uring {
	CDM_URING_AUTO,	/* io_uring when the kernel and libfuse offer it */
	CDM_URING_ON,	/* io_uring, or refuse to mount */
	CDM_URING_OFF,	/* /dev/fuse only */
};

struct cdm_options {
	const char *mountpoint;
	const char *store;		/* NULL: a tmpfs of our own */
	/* huge= of our own store tmpfs; NULL: within_size where supported */
	const char *huge;
	const char *sysroot;		/* "" = the running system */
	char *fuse_opts;		/* mount options for libfuse, malloc'd */
	struct cdm_device_list sims;	/* from -o sim=NAME:SIZE */
	char **aliases;			/* "OLD:NEW" pairs, NULL-terminated */
	size_t naliases;
	double attr_timeout;
	uint64_t migrate_batch;		/* bytes, whole 4K pages */
	unsigned int migrate_turn_ms;	/* a file's turn of a worker */
	/* allocate what a truncate adds, so faults never find a device full */
	bool reserve;
	bool foreground, debug, nopassthrough, keep_store, no_host;
	/* -o suid / -o dev: drop the default nosuid / nodev (root only) */
	bool suid, dev;
	enum cdm_uring io_uring;
	/* -o enable_uring: set the fuse module's enable_uring (root) */
	bool enable_uring;
	bool show_help, show_version;
};

/** Parse argv into @o.  On error returns -EINVAL with a message in @err. */
int cdm_options_parse(int argc, char **argv, struct cdm_options *o,
		      char *err, size_t errlen);
void cdm_options_free(struct cdm_options *o);
/**
 * huge= for the store tmpfs the daemon mounts when -o huge= is not given:
 * "within_size" (2 MiB pages) when @shmem_enabled, the contents of
 * /sys/kernel/mm/transparent_hugepage/shmem_enabled, says tmpfs mounts may
 * have them; NULL (4 KiB pages) when it is NULL (no THP in this kernel) or
 * the kernel denies them to every mount.  Pure, for the unit suite.
 */
const char *cdm_huge_pick(const char *shmem_enabled);
/** cdm_huge_pick() of this kernel, logging why when it gives NULL. */
const char *cdm_huge_default(void);
/** Rename discovered devices per "-o alias=OLD:NEW". */
int cdm_options_apply_aliases(const struct cdm_options *o,
			      struct cdm_device_list *list,
			      char *err, size_t errlen);

/*
 * Migration workers: a file whose policy changed is queued here and a
 * worker moves its pages in the background (migrator.c).  Started on first
 * use, stopped between batches by cdm_migrator_stop().  Two: a small file
 * need not wait behind a big one, and more would share the same memory
 * bandwidth.
 */
#define CDM_MIGRATE_WORKERS 2

struct cdm_migrator {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* the rest protected by lock */
	struct cdm_migration *head, *tail;	/* waiting for a worker */
	pthread_t thread[CDM_MIGRATE_WORKERS];
	unsigned int nthread, nidle;
	/* owners of the files the workers have now (-1: none), for fairness */
	uid_t serving[CDM_MIGRATE_WORKERS];
	bool stop;
	/* read without the lock between batches */
	atomic_bool stopping;
};

/* Watcher of the devices whose backend tells their health (health.c). */
struct cdm_health {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;			/* protected by lock */
	bool running;
	enum cdm_health_state *state;	/* per device, online at first; under lock */
};

struct fuse_session;

/*
 * Bytes being allocated by daemon requests that checked the room for them
 * (capacity.c): a check counts what others reserved, so two requests never
 * both take the last free bytes.
 */
struct cdm_capacity_dev {
	uint64_t reserved;		/* bytes being allocated */
	/* what the last walk of a simulated device found, and when */
	uint64_t walked_avail;
	double walked_at, walk_cost;	/* seconds, CLOCK_MONOTONIC */
};

struct cdm_capacity {
	pthread_mutex_t lock;
	struct cdm_capacity_dev *dev;	/* per device; protected by lock */
};

/* What one request reserved: @bytes on each of @dev[0..@ndev). */
struct cdm_reservation {
	uint16_t dev[CDM_POLICY_MAX_DEVS];
	uint8_t ndev;
	uint64_t bytes;
};

struct cdm_fs {
	struct cdm_options opt;
	/* bumped by each policy the daemon writes (policystore.c) */
	_Atomic uint64_t policy_gen;
	struct cdm_device_list devices;
	struct cdm_inode_table table;
	struct cdm_inode root;
	char *store_path;		/* backing store directory */
	int *devfd;			/* O_PATH fd of each device directory */
	bool store_mounted;		/* we mounted it: unmount at exit */
	int store_lock;			/* flock'd lock file of the store, or -1 */
	/* Passthrough negotiated and not yet refused by the kernel. */
	atomic_bool passthrough;
	atomic_uint_fast64_t stats[CDM_STAT_NR];
	struct cdm_migrator migrator;
	struct cdm_health health;
	/* set before the first request; for calls made without a request */
	struct fuse_session *se;
	struct cdm_capacity cap;
	/* each device directory's own policy, cached (policystore.c) */
	pthread_mutex_t devpol_lock;
	struct cdm_devpolicy *devpol;	/* protected by devpol_lock */
};

extern const struct fuse_lowlevel_ops cdm_oper;

/* health.c */
/** Watch the regions of the helper module, if any; logs failures. */
int cdm_health_start(struct cdm_fs *fs);
void cdm_health_stop(struct cdm_fs *fs);

/* store.c */
/**
 * Pick, prepare and lock the store (a second daemon on the same store gets
 * -EBUSY), make the device directories.  Errors are logged.
 */
int cdm_store_open(struct cdm_fs *fs);
void cdm_store_close(struct cdm_fs *fs);
/** Write our pid (again, after fuse_daemonize) into the store's lock file. */
void cdm_store_lock_owner(struct cdm_fs *fs);
/** Bytes of memory used by the files of device @devidx (walks its tree). */
int cdm_store_used(struct cdm_fs *fs, uint16_t devidx, uint64_t *bytes);

/* policystore.c */
struct cdm_devpolicy;
/** Set up and tear down the cache of the device directories' policies. */
int cdm_policystore_open(struct cdm_fs *fs);
void cdm_policystore_close(struct cdm_fs *fs);
/** After the daemon wrote or removed @inode's policy xattr. */
void cdm_policy_written(struct cdm_fs *fs, struct cdm_inode *inode);
/** Drop the cached policy of device @dev's directory (it may have changed). */
void cdm_forget_device_policy(struct cdm_fs *fs, uint16_t dev);
/**
 * The policy the files that follow device @dev's directory get: 1 and the
 * directory's own, 0 and bind:<device>, or -errno.
 */
int cdm_device_policy(struct cdm_fs *fs, uint16_t dev, struct cdm_policy *p);
/**
 * The policy @inode follows, in @p: 1 when it is @inode's own (for a device
 * directory, the directory's), which a file created in @inode copies; 0
 * when @inode follows its device's; -ENODATA for the root, other -errno.
 */
int cdm_own_policy(struct cdm_fs *fs, struct cdm_inode *inode,
		   struct cdm_policy *p);
/** The policy @inode follows; -ENODATA for the root. */
int cdm_effective_policy(struct cdm_fs *fs, struct cdm_inode *inode,
			 struct cdm_policy *p);
/**
 * How a file of device @dev follows policy @p (not inherit), by @dev's
 * backend: 0 and @pl, or -errno (-EINVAL: such a file cannot follow @p).
 */
int cdm_placement_of(struct cdm_fs *fs, const struct cdm_policy *p,
		     uint16_t dev, struct cdm_placement *pl);

/* placement.c */
/**
 * Give new inode @fd (created in @parent) the parent's own policy, and for
 * a @regular file bind its memory accordingly, before any page exists.
 */
int cdm_place_new(struct cdm_fs *fs, struct cdm_inode *parent, int fd,
		  bool regular);
/** -ENOSPC if @inode's policy cannot take @bytes more. */
int cdm_check_space(struct cdm_fs *fs, struct cdm_inode *inode,
		    uint64_t bytes);
/**
 * setxattr user.cdm.policy by @uid: parse, check, store, and for a regular
 * file bind its new pages and start moving its existing ones in the
 * background (returns once the migration is queued; it supersedes one
 * that is running).
 */
int cdm_set_policy(struct cdm_fs *fs, struct cdm_inode *inode, uid_t uid,
		   const char *value, size_t size);
/**
 * A rename moved @inode into device @devidx's directory: it belongs to that
 * device from now on, and a @regular file drops its own policy and moves
 * its pages there (as setting "inherit", from where they were).
 */
int cdm_move_to_device(struct cdm_fs *fs, struct cdm_inode *inode,
		       uint16_t devidx, bool regular);
/* Values of the read-only xattrs, malloc'd; NULL with errno. */
char *cdm_policy_value(struct cdm_fs *fs, struct cdm_inode *inode);
char *cdm_residency_value(struct cdm_fs *fs, struct cdm_inode *inode,
			  bool want_drift);
/** The table's inode for (@ino, @dev), or NULL; no reference taken. */
struct cdm_inode *cdm_inode_find(struct cdm_inode_table *t, ino_t ino,
				 dev_t dev);

/* migrator.c */
/**
 * Set up the workers' queue (no thread yet), and own the migration record
 * of each inode of @fs's table: it is freed with the inode.
 */
void cdm_migrator_init(struct cdm_fs *fs);
/**
 * Stop the workers between batches and wait for them; queued migrations
 * are dropped (the files keep their new policy; pages not moved yet stay
 * where they are, and the next daemon on the store moves them: see
 * cdm_migrate_resume()).  Call before the inode table goes.
 */
void cdm_migrator_stop(struct cdm_fs *fs);
/**
 * Move the resident pages of regular file @inode to policy @p in the
 * background; @p is bound already (new pages go there), @from is the
 * policy the pages followed until now.  @total: bytes resident now, for
 * the progress shown until a worker has looked.  A
 * migration of @inode that is queued or running continues toward @p
 * instead (between batches).  0, or -errno when no worker can be had.
 */
int cdm_migrate_start(struct cdm_fs *fs, struct cdm_inode *inode,
		      const struct cdm_policy *p,
		      const struct cdm_policy *from, uint64_t total);
/**
 * While a migration of @inode is queued or running: true, with the policy
 * its pages had (@from), the one they go to (@to) and the bytes moved so
 * far (@done).  For residency of logically placed (simulated) devices.
 */
bool cdm_migration_progress(struct cdm_inode *inode, struct cdm_policy *from,
			    struct cdm_policy *to, uint64_t *done);
/**
 * Start again the migrations a previous daemon on this store left due
 * (user.cdm.pending): walks every device directory, one getxattr per
 * file.  Returns how many were started.
 */
unsigned int cdm_migrate_resume(struct cdm_fs *fs);
/** user.cdm.migration of @inode, malloc'd; NULL with errno. */
char *cdm_migration_value(struct cdm_inode *inode);

/* capacity.c */
int cdm_capacity_open(struct cdm_fs *fs);
void cdm_capacity_close(struct cdm_fs *fs);
/** Free bytes of the store's filesystem; UINT64_MAX when unbounded. */
uint64_t cdm_store_free(struct cdm_fs *fs);
/**
 * Bytes policy @p may still allocate, less what other requests reserved;
 * UINT64_MAX for preferred (it falls back).
 */
int cdm_policy_avail(struct cdm_fs *fs, const struct cdm_policy *p,
		     uint64_t *avail);
/**
 * Reserve @bytes on the devices of @p: -ENOSPC if they do not fit.  On 0,
 * release @r with cdm_capacity_release() once the allocation is done (or
 * failed).  Nothing is reserved for preferred.
 */
int cdm_capacity_reserve(struct cdm_fs *fs, const struct cdm_policy *p,
			 uint64_t bytes, struct cdm_reservation *r);
/** The same for the policy @inode follows (nothing for the root). */
int cdm_capacity_reserve_inode(struct cdm_fs *fs, struct cdm_inode *inode,
			       uint64_t bytes, struct cdm_reservation *r);
void cdm_capacity_release(struct cdm_fs *fs, struct cdm_reservation *r);
/**
 * -ENOSPC if a regular file created in @parent would land on a full
 * device.  A simulated device's last walk stands for a second or more.
 */
int cdm_capacity_new_file(struct cdm_fs *fs, struct cdm_inode *parent);
/** Memory of device @dev was freed or taken: walk it again next time. */
void cdm_capacity_changed(struct cdm_fs *fs, uint16_t dev);
/** Bytes of [@from, @to) that shmem file @fd has no pages for (whole pages). */
int cdm_capacity_unallocated(int fd, off_t from, off_t to, uint64_t *bytes);

/* stats.c */
static inline void cdm_stat_inc(struct cdm_fs *fs, enum cdm_stat s)
{
	atomic_fetch_add_explicit(&fs->stats[s], 1, memory_order_relaxed);
}
/**
 * "transport=io_uring lookup=3 getattr=5 ... passthrough_opens=2 ...":
 * @over_uring says whether the request asking came over the ring.
 */
char *cdm_stats_format(struct cdm_fs *fs, bool over_uring);
/** One line per device for user.cdm.devices. */
char *cdm_devices_format(struct cdm_fs *fs);
/**
 * Capacity, bytes in use and bytes free of device @devidx now.  Free is
 * also bounded by the store's own free space (the host backstop), so
 * @used + @avail may be less than @size; a simulated device can hold more
 * than its size (@used > @size) when passthrough writes overfilled it.
 */
int cdm_device_usage(struct cdm_fs *fs, uint16_t devidx, uint64_t *size,
		     uint64_t *used, uint64_t *avail);

#endif /* CDMFS_FS_H */
