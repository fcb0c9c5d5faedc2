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
 *
 * This header holds the daemon's state, struct cdm_fs, with the state
 * each layer keeps in it; each layer's functions are in its own header
 * (doc/design.md, "Layers").
 */
#ifndef CDMFS_FS_FS_H
#define CDMFS_FS_FS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cdmfs/backend.h"
#include "cdmfs/policy.h"
#include "inode.h"
#include "options.h"

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

/*
 * A device with a tmpfs of its own in the store (store.c): its files are
 * bounded by that tmpfs's size= whatever way data gets in.
 */
struct cdm_devsb {
	bool own;			/* false: the device shares the store's */
	uint32_t sbdev;			/* st_dev of its tmpfs */
	ino_t root_ino;			/* st_ino of its directory (that tmpfs's root) */
	int lodgers;			/* O_PATH fd of its lodgers directory */
};

/* Files renamed to another device while their data stays (lodge.c). */
struct cdm_lodge {
	/*
	 * Taken for writing while a lodger's data goes home (its FUSE inode
	 * changes backing inode); for reading by whatever opens, changes or
	 * renames files meanwhile.
	 */
	pthread_rwlock_t gate;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cdm_lodger *head;	/* protected by lock */
	pthread_t thread;
	bool running, stop;		/* protected by lock */
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
	struct cdm_devsb *devsb;	/* per device */
	bool any_devsb;			/* some device has its own tmpfs */
	struct cdm_lodge lodge;
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
	/* automatic tiering of tiered files (tiering.c); NULL before init */
	struct cdm_tiering *tiering;
};

static inline void cdm_stat_inc(struct cdm_fs *fs, enum cdm_stat s)
{
	atomic_fetch_add_explicit(&fs->stats[s], 1, memory_order_relaxed);
}

#endif
