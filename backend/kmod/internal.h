/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cdmkm internals shared by the module's files:
 *
 *   region.c   regions: the page allocator, add/remove/info, /dev/cdmkm,
 *              module load and unload
 *   super.c    the filesystem (cdmkmfs): superblock, inodes, directories,
 *              extended attributes
 *   file.c     regular files: page lookup, fault, read/write, truncate,
 *              fallocate, the file ioctls
 *   migrate.c  moving a file's pages between the region and RAM, residency
 *   fail.c     failure injection for tests (debugfs), evacuation and loss
 *
 * Lock order (outermost first; a lock is only taken after those above it):
 *
 *   cdmkm_lock          mutex: the region list, region state, mounting
 *   inode_lock          i_rwsem of a file (truncate, fallocate) or of the
 *                       directory a file is created in
 *   mmap_lock           of a faulting process
 *   region->files_lock  mutex: the region's list of files
 *   cdmkm_inode.pages_sem  rwsem: a file's pages and placement
 *   i_mmap_rwsem, page table locks  (unmap_mapping_*, under pages_sem)
 *   region->lock        spinlock, irqsave: the allocator's bitmap; a leaf,
 *                       also taken by page_free from any context
 *
 * cdmkm_inode.xattr_lock (mutex) is taken alone.  The failure paths
 * (fail.c) take cdmkm_lock, then files_lock, then each file's pages_sem;
 * nothing takes cdmkm_lock or files_lock while holding pages_sem.
 */
#ifndef CDMKM_INTERNAL_H
#define CDMKM_INTERNAL_H

#include <linux/fs.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>

#include <cdmfs/cdmkm.h>

#define CDMKM_BATCH	512	/* pages per migration lock hold: 2 MiB */
#define CDMKM_RETRIES	20	/* busy pages: passes before giving up */
#define CDMKM_LOST	xa_mk_value(1)
#define CDMKM_XATTR_MAX	(64 << 10)	/* names and values per inode */

/* A region: one physical range of coherent device memory. */
struct cdmkm_dev {
	struct dev_pagemap pgmap;
	struct list_head node;		/* in cdmkm_regions, under cdmkm_lock */
	char name[CDMKM_NAME_MAX];
	int nid;
	struct resource *res;
	unsigned long pfn_first;
	unsigned long npages;

	spinlock_t lock;		/* the allocator below */
	unsigned long *bitmap;		/* protected by lock */
	unsigned long used;		/* protected by lock */
	unsigned long hint;		/* protected by lock */

	u32 state;			/* CDMKM_ONLINE..; under cdmkm_lock */
	atomic_t mounts;		/* live superblocks: 0 or 1 */
	struct mutex files_lock;
	struct list_head files;		/* cdmkm_inode.region_node */
	atomic64_t lost_pages;
};

struct cdmkm_inode {
	struct inode vfs_inode;
	struct cdmkm_dev *region;
	struct rw_semaphore pages_sem;	/* see the lock order above */
	struct xarray pages;		/* page index -> page or CDMKM_LOST */
	struct mutex xattr_lock;
	struct list_head xattrs;	/* cdmkm_xattr; under xattr_lock */
	size_t xattr_bytes;		/* under xattr_lock */
	u32 mode;			/* CDMKM_PLACE_*; under pages_sem */
	int nid;			/* RAM node for CDMKM_PLACE_RAM */
	struct list_head region_node;	/* under region->files_lock */
};

static inline struct cdmkm_inode *CDMKM_I(struct inode *inode)
{
	return container_of(inode, struct cdmkm_inode, vfs_inode);
}

static inline struct cdmkm_dev *to_region(struct dev_pagemap *pgmap)
{
	return container_of(pgmap, struct cdmkm_dev, pgmap);
}

static inline bool page_in_region(struct page *page, struct cdmkm_dev *r)
{
	return is_zone_device_page(page) && page->pgmap == &r->pgmap;
}

/* region.c */
extern struct mutex cdmkm_lock;
extern struct list_head cdmkm_regions;	/* under cdmkm_lock */
struct cdmkm_dev *region_find(const char *name);
struct page *region_alloc_page(struct cdmkm_dev *r);
unsigned long region_free_pages(struct cdmkm_dev *r);
struct page *ram_alloc_page(int nid);

/* super.c */
extern struct file_system_type cdmkm_fs_type;
int cdmkm_inode_cache_init(void);
void cdmkm_inode_cache_exit(void);

/* file.c */
extern const struct file_operations cdmkm_file_ops;
void cdmkm_truncate(struct inode *inode, loff_t size);
void cdmkm_drop_pages(struct cdmkm_inode *ci, pgoff_t first, pgoff_t last);

/* migrate.c */
struct cdmkm_move {
	bool to_device;
	int nid;
	u64 moved;		/* pages */
	pgoff_t failed;
	int error;
};

void cdmkm_move_range(struct cdmkm_inode *ci, pgoff_t first, pgoff_t last,
		      struct cdmkm_move *mv);
/* Bytes of @ci in the region, lost, and in RAM per node (@ram: nr_node_ids). */
void cdmkm_residency(struct cdmkm_inode *ci, u64 *device, u64 *lost, u64 *ram);

/* fail.c */
void cdmkm_fail_init(void);
void cdmkm_fail_exit(void);

#endif /* CDMKM_INTERNAL_H */
