// SPDX-License-Identifier: GPL-2.0
/*
 * cdmkm: cdmfs helper module for coherent device memory.
 *
 * A region is a physical range of device memory the CPU reaches coherently.
 * The module hands it to memremap_pages() as MEMORY_DEVICE_COHERENT, so it
 * gets struct pages that the page allocator never hands out, and serves
 * regular files whose pages come from it through a small filesystem,
 * cdmkmfs, one superblock per region.  cdmfs mounts that filesystem as the
 * backing store of the region's device directory and passes the files
 * through FUSE, so an application's mapping of a cdmfs file maps the device
 * pages themselves.
 *
 * Files keep their pages in an xarray, not in the page cache (shmem and the
 * page cache do not take ZONE_DEVICE pages): faults insert them with
 * vm_insert_page() into VM_MIXEDMAP mappings; read/write copy through the
 * direct map.  A page is a region page, a RAM page, or a LOST marker left by
 * a failed device.
 *
 * Migration of a range: take the file's pages_sem for writing (faults and
 * the page lookups of read/write wait), zap every mapping of the range (TLB
 * flushed on return), copy each page whose only reference is the file's own
 * (a page held by read/write in flight or pinned by GUP is busy and retried
 * later), publish the copy, drop the old page, release the lock; mappings
 * fault the new pages in.  At most CDMKM_BATCH pages per lock hold bound the
 * stall a writer sees.
 *
 * Lock order: inode_lock (i_rwsem) -> pages_sem -> i_mmap_rwsem -> PTL
 *             cdmkm_lock -> region->lock (spinlock, also taken by page_free)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/uio.h>
#include <linux/xarray.h>
#include <linux/xattr.h>

#include <cdmfs/cdmkm.h>

#define CDMKM_BATCH	512	/* pages per migration lock hold: 2 MiB */
#define CDMKM_RETRIES	20	/* busy pages: passes before giving up */
#define CDMKM_LOST	xa_mk_value(1)
#define CDMKM_XATTR_MAX	(64 << 10)	/* names and values per inode */

/* The kernel's simple_xattr helpers are not exported to modules. */
struct cdmkm_xattr {
	struct list_head node;
	size_t size;
	char *name;
	char value[];
};

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

static DEFINE_MUTEX(cdmkm_lock);
static LIST_HEAD(cdmkm_regions);	/* protected by cdmkm_lock */
static struct kmem_cache *cdmkm_inode_cache;

static char *regions;
module_param(regions, charp, 0444);
MODULE_PARM_DESC(regions,
		 "regions at load: NAME:START:SIZE[:NID][,...] (START, SIZE 2 MiB aligned)");

static inline struct cdmkm_inode *CDMKM_I(struct inode *inode)
{
	return container_of(inode, struct cdmkm_inode, vfs_inode);
}

static inline struct cdmkm_dev *to_region(struct dev_pagemap *pgmap)
{
	return container_of(pgmap, struct cdmkm_dev, pgmap);
}

static bool page_in_region(struct page *page, struct cdmkm_dev *r)
{
	return is_zone_device_page(page) && page->pgmap == &r->pgmap;
}

/* ---- the region allocator ---------------------------------------------- */

static struct page *region_alloc_page(struct cdmkm_dev *r)
{
	unsigned long flags, bit;
	struct page *page;

	spin_lock_irqsave(&r->lock, flags);
	if (READ_ONCE(r->state) != CDMKM_ONLINE) {
		spin_unlock_irqrestore(&r->lock, flags);
		return NULL;
	}
	bit = find_next_zero_bit(r->bitmap, r->npages, r->hint);
	if (bit >= r->npages)
		bit = find_first_zero_bit(r->bitmap, r->npages);
	if (bit >= r->npages) {
		spin_unlock_irqrestore(&r->lock, flags);
		return NULL;
	}
	__set_bit(bit, r->bitmap);
	r->used++;
	r->hint = bit + 1;
	spin_unlock_irqrestore(&r->lock, flags);

	page = pfn_to_page(r->pfn_first + bit);
	/* refcount 1 and a pgmap reference; it comes back locked */
	zone_device_page_init(page);
	unlock_page(page);
	clear_highpage(page);
	return page;
}

static void cdmkm_page_free(struct page *page)
{
	struct cdmkm_dev *r = to_region(page->pgmap);
	unsigned long flags;

	spin_lock_irqsave(&r->lock, flags);
	__clear_bit(page_to_pfn(page) - r->pfn_first, r->bitmap);
	r->used--;
	spin_unlock_irqrestore(&r->lock, flags);
}

static const struct dev_pagemap_ops cdmkm_pagemap_ops = {
	.page_free = cdmkm_page_free,
};

static unsigned long region_free_pages(struct cdmkm_dev *r)
{
	unsigned long flags, free;

	spin_lock_irqsave(&r->lock, flags);
	free = r->state == CDMKM_ONLINE ? r->npages - r->used : 0;
	spin_unlock_irqrestore(&r->lock, flags);
	return free;
}

static struct page *ram_alloc_page(int nid)
{
	gfp_t gfp = GFP_HIGHUSER | __GFP_ZERO | __GFP_RETRY_MAYFAIL |
		    __GFP_NOWARN;

	/* RETRY_MAYFAIL: a full node gives ENOSPC, never the OOM killer */
	if (nid >= 0)
		return alloc_pages_node(nid, gfp | __GFP_THISNODE, 0);
	return alloc_page(gfp);
}

/* A new page for @ci following its placement; ERR_PTR on failure. */
static struct page *cdmkm_new_page(struct cdmkm_inode *ci)
{
	struct page *page = NULL;

	if (ci->mode != CDMKM_PLACE_RAM) {
		page = region_alloc_page(ci->region);
		if (page)
			return page;
		if (ci->mode == CDMKM_PLACE_DEVICE)
			return ERR_PTR(READ_ONCE(ci->region->state) == CDMKM_DEAD ?
				       -EIO : -ENOSPC);
	}
	page = ram_alloc_page(ci->mode == CDMKM_PLACE_RAM ? ci->nid : -1);
	return page ? page : ERR_PTR(-ENOSPC);
}

/*
 * The page at @index, allocated if absent and @alloc; NULL for a hole.
 * Caller holds pages_sem (read or write); the page stays valid until then.
 */
static struct page *cdmkm_get_page(struct cdmkm_inode *ci, pgoff_t index,
				   bool alloc)
{
	struct page *page, *old;
	void *entry;

	entry = xa_load(&ci->pages, index);
	if (xa_is_value(entry))
		return ERR_PTR(-EIO);
	if (entry || !alloc)
		return entry;
	page = cdmkm_new_page(ci);
	if (IS_ERR(page))
		return page;
	old = xa_cmpxchg(&ci->pages, index, NULL, page, GFP_KERNEL);
	if (!old) {
		inode_add_bytes(&ci->vfs_inode, PAGE_SIZE);	/* st_blocks, du */
		return page;
	}
	put_page(page);
	if (xa_is_err(old))
		return ERR_PTR(xa_err(old));
	return xa_is_value(old) ? ERR_PTR(-EIO) : old;
}

/* Drop the pages in [first, last]; caller holds pages_sem for writing. */
static void cdmkm_drop_pages(struct cdmkm_inode *ci, pgoff_t first,
			     pgoff_t last)
{
	XA_STATE(xas, &ci->pages, first);
	void *entry;

	xas_lock(&xas);
	xas_for_each(&xas, entry, last) {
		xas_store(&xas, NULL);
		if (!xa_is_value(entry)) {
			inode_sub_bytes(&ci->vfs_inode, PAGE_SIZE);
			put_page(entry);
		}
		if (need_resched()) {
			xas_pause(&xas);
			xas_unlock(&xas);
			cond_resched();
			xas_lock(&xas);
		}
	}
	xas_unlock(&xas);
}

/* ---- migration ----------------------------------------------------------- */

struct cdmkm_move {
	bool to_device;
	int nid;
	u64 moved;		/* pages */
	pgoff_t failed;
	int error;
};

static bool page_at_target(struct cdmkm_inode *ci, struct page *page,
			   const struct cdmkm_move *mv)
{
	if (mv->to_device)
		return page_in_region(page, ci->region);
	return !is_zone_device_page(page) &&
	       (mv->nid < 0 || page_to_nid(page) == mv->nid);
}

/*
 * Move the pages of [first, last] (at most CDMKM_BATCH) once.  Returns the
 * number of busy pages left; sets mv->error and stops on a hard failure.
 * Caller holds pages_sem for writing.
 */
static unsigned long cdmkm_move_batch(struct cdmkm_inode *ci, pgoff_t first,
				      pgoff_t last, struct cdmkm_move *mv,
				      pgoff_t *first_busy)
{
	struct address_space *mapping = ci->vfs_inode.i_mapping;
	unsigned long busy = 0;
	struct page *page, *new;
	pgoff_t index;
	void *entry;

	unmap_mapping_pages(mapping, first, last - first + 1, true);
	xa_for_each_range(&ci->pages, index, entry, first, last) {
		if (xa_is_value(entry))
			continue;
		page = entry;
		if (page_at_target(ci, page, mv))
			continue;
		/* ours only: no mapping, no read/write in flight, no pin */
		if (page_ref_count(page) != 1) {
			if (!busy++)
				*first_busy = index;
			continue;
		}
		new = mv->to_device ? region_alloc_page(ci->region) :
				      ram_alloc_page(mv->nid);
		if (!new) {
			mv->error = -ENOSPC;
			mv->failed = index;
			break;
		}
		if (copy_mc_highpage(new, page)) {
			/* machine check reading device memory: data gone */
			put_page(new);
			mv->error = -EIO;
			mv->failed = index;
			break;
		}
		xa_store(&ci->pages, index, new, GFP_KERNEL);
		put_page(page);
		mv->moved++;
	}
	return busy;
}

static void cdmkm_move_range(struct cdmkm_inode *ci, pgoff_t first,
			     pgoff_t last, struct cdmkm_move *mv)
{
	pgoff_t start = first, end, busy_at = 0;
	unsigned long busy;
	int pass;

	/* batches start at present pages, so holes cost nothing */
	while (!mv->error && xa_find(&ci->pages, &start, last, XA_PRESENT)) {
		end = start + CDMKM_BATCH - 1;
		if (end < start || end > last)
			end = last;
		for (pass = 0; pass < CDMKM_RETRIES; pass++) {
			down_write(&ci->pages_sem);
			busy = cdmkm_move_batch(ci, start, end, mv, &busy_at);
			up_write(&ci->pages_sem);
			if (!busy || mv->error)
				break;
			/* let the read/write or fault holding it finish */
			usleep_range(500, 1000);
		}
		if (busy && !mv->error) {
			mv->error = -EBUSY;
			mv->failed = busy_at;
		}
		if (fatal_signal_pending(current) && !mv->error) {
			mv->error = -EINTR;
			mv->failed = end;
		}
		if (end == last)
			break;
		start = end + 1;
		cond_resched();
	}
}

/* ---- file operations ----------------------------------------------------- */

static vm_fault_t cdmkm_fault(struct vm_fault *vmf)
{
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct cdmkm_inode *ci = CDMKM_I(inode);
	struct page *page;
	vm_fault_t ret;

	down_read(&ci->pages_sem);
	if (vmf->pgoff >= DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	page = cdmkm_get_page(ci, vmf->pgoff, true);
	if (IS_ERR(page)) {
		ret = PTR_ERR(page) == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
		goto out;
	}
	ret = vmf_insert_page(vmf->vma, vmf->address, page);
out:
	up_read(&ci->pages_sem);
	return ret;
}

static const struct vm_operations_struct cdmkm_vm_ops = {
	.fault = cdmkm_fault,
};

static int cdmkm_mmap(struct file *file, struct vm_area_struct *vma)
{
	file_accessed(file);
	/* pages are inserted by the fault handler, never from a page cache */
	vm_flags_set(vma, VM_MIXEDMAP);
	vma->vm_ops = &cdmkm_vm_ops;
	return 0;
}

static ssize_t cdmkm_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct inode *inode = file_inode(iocb->ki_filp);
	struct cdmkm_inode *ci = CDMKM_I(inode);
	loff_t pos = iocb->ki_pos;
	ssize_t done = 0;
	int err = 0;

	while (iov_iter_count(to)) {
		loff_t size = i_size_read(inode);
		size_t off = offset_in_page(pos), n, copied;
		struct page *page;

		if (pos >= size)
			break;
		n = min3((size_t)PAGE_SIZE - off, (size_t)(size - pos),
			 iov_iter_count(to));
		down_read(&ci->pages_sem);
		page = cdmkm_get_page(ci, pos >> PAGE_SHIFT, false);
		if (!IS_ERR_OR_NULL(page))
			get_page(page);
		up_read(&ci->pages_sem);
		if (IS_ERR(page)) {
			err = PTR_ERR(page);
			break;
		}
		if (page) {
			copied = copy_page_to_iter(page, off, n, to);
			put_page(page);
		} else {
			copied = iov_iter_zero(n, to);
		}
		done += copied;
		pos += copied;
		if (copied < n) {
			err = -EFAULT;
			break;
		}
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
	iocb->ki_pos = pos;
	file_accessed(iocb->ki_filp);
	return done ? done : err;
}

static ssize_t cdmkm_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct cdmkm_inode *ci = CDMKM_I(inode);
	ssize_t done = 0, ret;
	loff_t pos;

	inode_lock(inode);
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out;
	ret = file_remove_privs(file);
	if (ret)
		goto out;
	ret = file_update_time(file);
	if (ret)
		goto out;
	pos = iocb->ki_pos;
	while (iov_iter_count(from)) {
		size_t off = offset_in_page(pos), n, copied;
		struct page *page;

		n = min_t(size_t, PAGE_SIZE - off, iov_iter_count(from));
		down_read(&ci->pages_sem);
		page = cdmkm_get_page(ci, pos >> PAGE_SHIFT, true);
		if (!IS_ERR(page))
			get_page(page);
		up_read(&ci->pages_sem);
		if (IS_ERR(page)) {
			ret = PTR_ERR(page);
			break;
		}
		/* our reference keeps a migration from copying it meanwhile */
		copied = copy_page_from_iter(page, off, n, from);
		put_page(page);
		done += copied;
		pos += copied;
		if (pos > i_size_read(inode))
			i_size_write(inode, pos);
		if (copied < n) {
			ret = -EFAULT;
			break;
		}
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	iocb->ki_pos = pos;
out:
	inode_unlock(inode);
	return done ? done : ret;
}

/* Zero [from, to) of page @index if present; pages_sem held for writing. */
static void cdmkm_zero_partial(struct cdmkm_inode *ci, pgoff_t index,
			       size_t from, size_t to)
{
	void *entry = xa_load(&ci->pages, index);

	if (entry && !xa_is_value(entry) && from < to)
		memzero_page(entry, from, to - from);
}

/* Caller holds inode_lock. */
static void cdmkm_truncate(struct inode *inode, loff_t size)
{
	struct cdmkm_inode *ci = CDMKM_I(inode);
	loff_t old = i_size_read(inode);

	down_write(&ci->pages_sem);
	i_size_write(inode, size);
	if (size < old) {
		pgoff_t first = DIV_ROUND_UP(size, PAGE_SIZE);

		unmap_mapping_range(inode->i_mapping, (loff_t)first << PAGE_SHIFT,
				    0, 1);
		cdmkm_drop_pages(ci, first, ULONG_MAX);
		/* a later extension must read zeros past the old end */
		if (offset_in_page(size))
			cdmkm_zero_partial(ci, size >> PAGE_SHIFT,
					   offset_in_page(size), PAGE_SIZE);
	}
	up_write(&ci->pages_sem);
}

static long cdmkm_punch(struct inode *inode, loff_t off, loff_t len)
{
	struct cdmkm_inode *ci = CDMKM_I(inode);
	loff_t end = off + len;
	pgoff_t first = DIV_ROUND_UP(off, PAGE_SIZE);
	pgoff_t stop = end >> PAGE_SHIFT;	/* first page not fully inside */

	down_write(&ci->pages_sem);
	if (first < stop) {
		unmap_mapping_pages(inode->i_mapping, first, stop - first, true);
		cdmkm_drop_pages(ci, first, stop - 1);
	}
	if (offset_in_page(off)) {
		size_t to = (off >> PAGE_SHIFT) == (end >> PAGE_SHIFT) ?
			    offset_in_page(end) : PAGE_SIZE;

		cdmkm_zero_partial(ci, off >> PAGE_SHIFT, offset_in_page(off), to);
	}
	if (offset_in_page(end) && (end >> PAGE_SHIFT) != (off >> PAGE_SHIFT))
		cdmkm_zero_partial(ci, end >> PAGE_SHIFT, 0, offset_in_page(end));
	up_write(&ci->pages_sem);
	return 0;
}

static long cdmkm_fallocate(struct file *file, int mode, loff_t off, loff_t len)
{
	struct inode *inode = file_inode(file);
	struct cdmkm_inode *ci = CDMKM_I(inode);
	pgoff_t index, first, last;
	unsigned long holes = 0;
	struct page *page;
	long ret = 0;

	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))
		return -EOPNOTSUPP;
	inode_lock(inode);
	if (mode & FALLOC_FL_PUNCH_HOLE) {
		ret = cdmkm_punch(inode, off, len);
		goto out;
	}
	ret = inode_newsize_ok(inode, off + len);
	if (ret)
		goto out;
	first = off >> PAGE_SHIFT;
	last = (off + len - 1) >> PAGE_SHIFT;

	/* refuse up front rather than leave a half-allocated range */
	down_read(&ci->pages_sem);
	for (index = first; index <= last; index++)
		if (!xa_load(&ci->pages, index))
			holes++;
	if (ci->mode == CDMKM_PLACE_DEVICE &&
	    holes > region_free_pages(ci->region))
		ret = -ENOSPC;
	for (index = first; !ret && index <= last; index++) {
		page = cdmkm_get_page(ci, index, true);
		if (IS_ERR(page))
			ret = PTR_ERR(page);
		if (fatal_signal_pending(current))
			ret = -EINTR;
	}
	up_read(&ci->pages_sem);
	if (ret)
		goto out;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && off + len > i_size_read(inode))
		i_size_write(inode, off + len);
	inode_set_ctime_current(inode);
out:
	inode_unlock(inode);
	return ret;
}

static void cdmkm_residency(struct cdmkm_inode *ci, struct cdmkm_residency *res)
{
	struct page *page;
	unsigned long index;
	void *entry;

	memset(res, 0, sizeof(*res));
	down_read(&ci->pages_sem);
	xa_for_each(&ci->pages, index, entry) {
		if (xa_is_value(entry)) {
			res->lost += PAGE_SIZE;
			continue;
		}
		page = entry;
		if (page_in_region(page, ci->region))
			res->device += PAGE_SIZE;
		else if (page_to_nid(page) < CDMKM_MAX_NODES)
			res->ram[page_to_nid(page)] += PAGE_SIZE;
	}
	up_read(&ci->pages_sem);
}

static long cdmkm_file_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct inode *inode = file_inode(file);
	struct cdmkm_inode *ci = CDMKM_I(inode);
	void __user *uarg = (void __user *)arg;
	struct cdmkm_placement pl;
	struct cdmkm_residency *res;
	struct cdmkm_migrate m;
	struct cdmkm_move mv = { };
	long ret;

	switch (cmd) {
	case CDMKM_IOC_GET_PLACEMENT:
		down_read(&ci->pages_sem);
		pl.mode = ci->mode;
		pl.nid = ci->nid;
		up_read(&ci->pages_sem);
		return copy_to_user(uarg, &pl, sizeof(pl)) ? -EFAULT : 0;
	case CDMKM_IOC_RESIDENCY:
		res = kmalloc(sizeof(*res), GFP_KERNEL);
		if (!res)
			return -ENOMEM;
		cdmkm_residency(ci, res);
		ret = copy_to_user(uarg, res, sizeof(*res)) ? -EFAULT : 0;
		kfree(res);
		return ret;
	}

	if (!inode_owner_or_capable(file_mnt_idmap(file), inode))
		return -EPERM;
	switch (cmd) {
	case CDMKM_IOC_SET_PLACEMENT:
		if (copy_from_user(&pl, uarg, sizeof(pl)))
			return -EFAULT;
		if (pl.mode > CDMKM_PLACE_RAM)
			return -EINVAL;
		if (pl.mode == CDMKM_PLACE_RAM && pl.nid >= 0 &&
		    (pl.nid >= MAX_NUMNODES || !node_state(pl.nid, N_MEMORY)))
			return -ENODEV;
		down_write(&ci->pages_sem);
		ci->mode = pl.mode;
		ci->nid = pl.mode == CDMKM_PLACE_RAM ? pl.nid : -1;
		up_write(&ci->pages_sem);
		return 0;
	case CDMKM_IOC_MIGRATE:
		if (copy_from_user(&m, uarg, sizeof(m)))
			return -EFAULT;
		if (m.to_device > 1 || !m.length || m.offset + m.length < m.offset)
			return -EINVAL;
		if (!m.to_device && m.nid >= 0 &&
		    (m.nid >= MAX_NUMNODES || !node_state(m.nid, N_MEMORY)))
			return -ENODEV;
		mv.to_device = m.to_device;
		mv.nid = m.to_device ? -1 : m.nid;
		cdmkm_move_range(ci, m.offset >> PAGE_SHIFT,
				 (m.offset + m.length - 1) >> PAGE_SHIFT, &mv);
		m.moved = mv.moved << PAGE_SHIFT;
		m.error = mv.error;
		m.failed_offset = mv.error ? (u64)mv.failed << PAGE_SHIFT : 0;
		return copy_to_user(uarg, &m, sizeof(m)) ? -EFAULT : 0;
	}
	return -ENOTTY;
}

static const struct file_operations cdmkm_file_ops = {
	.owner = THIS_MODULE,
	.llseek = generic_file_llseek,
	.read_iter = cdmkm_read_iter,
	.write_iter = cdmkm_write_iter,
	.mmap = cdmkm_mmap,
	.open = generic_file_open,
	.fsync = noop_fsync,
	.splice_read = copy_splice_read,
	.splice_write = iter_file_splice_write,
	.fallocate = cdmkm_fallocate,
	.unlocked_ioctl = cdmkm_file_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* ---- inodes ------------------------------------------------------------ */

static int cdmkm_setattr(struct mnt_idmap *idmap, struct dentry *dentry,
			 struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int ret;

	ret = setattr_prepare(idmap, dentry, attr);
	if (ret)
		return ret;
	if ((attr->ia_valid & ATTR_SIZE) && S_ISREG(inode->i_mode) &&
	    attr->ia_size != i_size_read(inode)) {
		ret = inode_newsize_ok(inode, attr->ia_size);
		if (ret)
			return ret;
		cdmkm_truncate(inode, attr->ia_size);
		if (!(attr->ia_valid & (ATTR_MTIME | ATTR_CTIME)))
			attr->ia_valid |= ATTR_MTIME | ATTR_CTIME;
	}
	setattr_copy(idmap, inode, attr);
	return 0;
}

static struct cdmkm_xattr *cdmkm_xattr_find(struct cdmkm_inode *ci,
					     const char *name)
{
	struct cdmkm_xattr *x;

	lockdep_assert_held(&ci->xattr_lock);
	list_for_each_entry(x, &ci->xattrs, node)
		if (!strcmp(x->name, name))
			return x;
	return NULL;
}

static void cdmkm_xattr_free(struct cdmkm_xattr *x)
{
	kfree(x->name);
	kfree(x);
}

static size_t cdmkm_xattr_cost(const char *name, size_t size)
{
	return strlen(name) + 1 + size;
}

/* simple_getattr() would count page cache pages, which these files have none of */
static int cdmkm_getattr(struct mnt_idmap *idmap, const struct path *path,
			 struct kstat *stat, u32 request_mask,
			 unsigned int query_flags)
{
	generic_fillattr(idmap, request_mask, d_inode(path->dentry), stat);
	return 0;
}

static int cdmkm_xattr_get(const struct xattr_handler *handler,
			   struct dentry *dentry, struct inode *inode,
			   const char *name, void *buffer, size_t size)
{
	struct cdmkm_inode *ci = CDMKM_I(inode);
	struct cdmkm_xattr *x;
	int ret = -ENODATA;

	name = xattr_full_name(handler, name);
	mutex_lock(&ci->xattr_lock);
	x = cdmkm_xattr_find(ci, name);
	if (x) {
		ret = x->size;
		if (size && x->size > size)
			ret = -ERANGE;
		else if (size)
			memcpy(buffer, x->value, x->size);
	}
	mutex_unlock(&ci->xattr_lock);
	return ret;
}

static int cdmkm_xattr_set(const struct xattr_handler *handler,
			   struct mnt_idmap *idmap, struct dentry *dentry,
			   struct inode *inode, const char *name,
			   const void *value, size_t size, int flags)
{
	struct cdmkm_inode *ci = CDMKM_I(inode);
	struct cdmkm_xattr *old, *new = NULL;
	size_t bytes;
	int ret = 0;

	name = xattr_full_name(handler, name);
	if (value) {
		new = kmalloc(struct_size(new, value, size), GFP_KERNEL_ACCOUNT);
		if (!new)
			return -ENOMEM;
		new->name = kstrdup(name, GFP_KERNEL_ACCOUNT);
		if (!new->name) {
			kfree(new);
			return -ENOMEM;
		}
		new->size = size;
		memcpy(new->value, value, size);
	}
	mutex_lock(&ci->xattr_lock);
	old = cdmkm_xattr_find(ci, name);
	if (old && (flags & XATTR_CREATE))
		ret = -EEXIST;
	else if (!old && ((flags & XATTR_REPLACE) || !value))
		ret = -ENODATA;
	if (ret)
		goto out;
	bytes = ci->xattr_bytes - (old ? cdmkm_xattr_cost(old->name, old->size) : 0) +
		(new ? cdmkm_xattr_cost(name, size) : 0);
	if (bytes > CDMKM_XATTR_MAX) {
		ret = -ENOSPC;
		goto out;
	}
	ci->xattr_bytes = bytes;
	if (old)
		list_del(&old->node);
	if (new)
		list_add_tail(&new->node, &ci->xattrs);
	new = old;	/* freed below */
	inode_set_ctime_current(inode);
out:
	mutex_unlock(&ci->xattr_lock);
	if (new)
		cdmkm_xattr_free(new);
	return ret;
}

static const struct xattr_handler cdmkm_user_xattr = {
	.prefix = XATTR_USER_PREFIX,
	.get = cdmkm_xattr_get,
	.set = cdmkm_xattr_set,
};

static const struct xattr_handler cdmkm_trusted_xattr = {
	.prefix = XATTR_TRUSTED_PREFIX,
	.get = cdmkm_xattr_get,
	.set = cdmkm_xattr_set,
};

static const struct xattr_handler cdmkm_security_xattr = {
	.prefix = XATTR_SECURITY_PREFIX,
	.get = cdmkm_xattr_get,
	.set = cdmkm_xattr_set,
};

static const struct xattr_handler * const cdmkm_xattr_handlers[] = {
	&cdmkm_user_xattr,
	&cdmkm_trusted_xattr,
	&cdmkm_security_xattr,
	NULL
};

static ssize_t cdmkm_listxattr(struct dentry *dentry, char *buffer, size_t size)
{
	struct cdmkm_inode *ci = CDMKM_I(d_inode(dentry));
	bool trusted = capable(CAP_SYS_ADMIN);
	struct cdmkm_xattr *x;
	ssize_t total = 0, len;

	mutex_lock(&ci->xattr_lock);
	list_for_each_entry(x, &ci->xattrs, node) {
		if (!trusted && !strncmp(x->name, XATTR_TRUSTED_PREFIX,
					 XATTR_TRUSTED_PREFIX_LEN))
			continue;
		len = strlen(x->name) + 1;
		if (size) {
			if (total + len > size) {
				total = -ERANGE;
				break;
			}
			memcpy(buffer + total, x->name, len);
		}
		total += len;
	}
	mutex_unlock(&ci->xattr_lock);
	return total;
}

static void cdmkm_xattrs_free(struct cdmkm_inode *ci)
{
	struct cdmkm_xattr *x, *next;

	list_for_each_entry_safe(x, next, &ci->xattrs, node)
		cdmkm_xattr_free(x);
	INIT_LIST_HEAD(&ci->xattrs);
	ci->xattr_bytes = 0;
}

static const struct inode_operations cdmkm_file_iops = {
	.setattr = cdmkm_setattr,
	.getattr = cdmkm_getattr,
	.listxattr = cdmkm_listxattr,
};

static const struct inode_operations cdmkm_symlink_iops = {
	.get_link = simple_get_link,
	.setattr = cdmkm_setattr,
	.listxattr = cdmkm_listxattr,
};

static const struct inode_operations cdmkm_special_iops = {
	.setattr = cdmkm_setattr,
	.listxattr = cdmkm_listxattr,
};

static const struct inode_operations cdmkm_dir_iops;

static struct inode *cdmkm_get_inode(struct super_block *sb,
				     const struct inode *dir, umode_t mode,
				     dev_t dev)
{
	struct inode *inode = new_inode(sb);
	struct cdmkm_inode *ci;

	if (!inode)
		return NULL;
	ci = CDMKM_I(inode);
	inode->i_ino = get_next_ino();
	inode_init_owner(&nop_mnt_idmap, inode, dir, mode);
	simple_inode_init_ts(inode);
	inode->i_mapping->a_ops = &empty_aops;
	switch (mode & S_IFMT) {
	case S_IFREG:
		inode->i_op = &cdmkm_file_iops;
		inode->i_fop = &cdmkm_file_ops;
		mutex_lock(&ci->region->files_lock);
		list_add(&ci->region_node, &ci->region->files);
		mutex_unlock(&ci->region->files_lock);
		break;
	case S_IFDIR:
		inode->i_op = &cdmkm_dir_iops;
		inode->i_fop = &simple_dir_operations;
		inc_nlink(inode);
		break;
	case S_IFLNK:
		inode->i_op = &cdmkm_symlink_iops;
		break;
	default:
		inode->i_op = &cdmkm_special_iops;
		init_special_inode(inode, mode, dev);
		break;
	}
	return inode;
}

static int cdmkm_mknod(struct mnt_idmap *idmap, struct inode *dir,
		       struct dentry *dentry, umode_t mode, dev_t dev)
{
	struct inode *inode = cdmkm_get_inode(dir->i_sb, dir, mode, dev);

	if (!inode)
		return -ENOSPC;
	d_instantiate(dentry, inode);
	dget(dentry);	/* pinned in the dcache, like ramfs */
	inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
	return 0;
}

static int cdmkm_create(struct mnt_idmap *idmap, struct inode *dir,
			struct dentry *dentry, umode_t mode, bool excl)
{
	return cdmkm_mknod(idmap, dir, dentry, mode | S_IFREG, 0);
}

static int cdmkm_mkdir(struct mnt_idmap *idmap, struct inode *dir,
		       struct dentry *dentry, umode_t mode)
{
	int ret = cdmkm_mknod(idmap, dir, dentry, mode | S_IFDIR, 0);

	if (!ret)
		inc_nlink(dir);
	return ret;
}

static int cdmkm_symlink(struct mnt_idmap *idmap, struct inode *dir,
			 struct dentry *dentry, const char *target)
{
	struct inode *inode;
	size_t len = strlen(target);

	if (len >= PAGE_SIZE)
		return -ENAMETOOLONG;
	inode = cdmkm_get_inode(dir->i_sb, dir, S_IFLNK | 0777, 0);
	if (!inode)
		return -ENOSPC;
	inode->i_link = kmemdup(target, len + 1, GFP_KERNEL);
	if (!inode->i_link) {
		iput(inode);
		return -ENOMEM;
	}
	inode->i_size = len;
	d_instantiate(dentry, inode);
	dget(dentry);
	inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
	return 0;
}

static int cdmkm_tmpfile(struct mnt_idmap *idmap, struct inode *dir,
			 struct file *file, umode_t mode)
{
	struct inode *inode = cdmkm_get_inode(dir->i_sb, dir, mode, 0);

	if (!inode)
		return -ENOSPC;
	d_tmpfile(file, inode);
	return finish_open_simple(file, 0);
}

static const struct inode_operations cdmkm_dir_iops = {
	.create = cdmkm_create,
	.lookup = simple_lookup,
	.link = simple_link,
	.unlink = simple_unlink,
	.symlink = cdmkm_symlink,
	.mkdir = cdmkm_mkdir,
	.rmdir = simple_rmdir,
	.mknod = cdmkm_mknod,
	.rename = simple_rename,
	.tmpfile = cdmkm_tmpfile,
	.setattr = cdmkm_setattr,
	.getattr = simple_getattr,
	.listxattr = cdmkm_listxattr,
};

static struct inode *cdmkm_alloc_inode(struct super_block *sb)
{
	struct cdmkm_inode *ci;

	ci = alloc_inode_sb(sb, cdmkm_inode_cache, GFP_KERNEL);
	if (!ci)
		return NULL;
	ci->region = sb->s_fs_info;
	init_rwsem(&ci->pages_sem);
	xa_init(&ci->pages);
	mutex_init(&ci->xattr_lock);
	INIT_LIST_HEAD(&ci->xattrs);
	ci->xattr_bytes = 0;
	ci->mode = CDMKM_PLACE_DEVICE;
	ci->nid = -1;
	INIT_LIST_HEAD(&ci->region_node);
	return &ci->vfs_inode;
}

static void cdmkm_evict_inode(struct inode *inode)
{
	struct cdmkm_inode *ci = CDMKM_I(inode);

	truncate_inode_pages_final(&inode->i_data);
	if (S_ISREG(inode->i_mode)) {
		mutex_lock(&ci->region->files_lock);
		list_del_init(&ci->region_node);
		mutex_unlock(&ci->region->files_lock);
		down_write(&ci->pages_sem);
		cdmkm_drop_pages(ci, 0, ULONG_MAX);
		up_write(&ci->pages_sem);
	}
	cdmkm_xattrs_free(ci);
	clear_inode(inode);
}

static void cdmkm_free_inode(struct inode *inode)
{
	if (S_ISLNK(inode->i_mode))
		kfree(inode->i_link);
	kmem_cache_free(cdmkm_inode_cache, CDMKM_I(inode));
}

static int cdmkm_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct cdmkm_dev *r = dentry->d_sb->s_fs_info;

	buf->f_type = CDMKM_SUPER_MAGIC;
	buf->f_bsize = PAGE_SIZE;
	buf->f_blocks = r->npages;
	buf->f_bfree = buf->f_bavail = region_free_pages(r);
	buf->f_namelen = NAME_MAX;
	return 0;
}

static int cdmkm_show_options(struct seq_file *m, struct dentry *root)
{
	struct cdmkm_dev *r = root->d_sb->s_fs_info;

	seq_printf(m, ",region=%s", r->name);
	return 0;
}

static const struct super_operations cdmkm_sops = {
	.alloc_inode = cdmkm_alloc_inode,
	.free_inode = cdmkm_free_inode,
	.evict_inode = cdmkm_evict_inode,
	.drop_inode = generic_delete_inode,
	.statfs = cdmkm_statfs,
	.show_options = cdmkm_show_options,
};

/* ---- the filesystem type -------------------------------------------------- */

enum { Opt_region };

static const struct fs_parameter_spec cdmkm_fs_params[] = {
	fsparam_string("region", Opt_region),
	{}
};

static struct cdmkm_dev *region_find(const char *name)
{
	struct cdmkm_dev *r;

	lockdep_assert_held(&cdmkm_lock);
	list_for_each_entry(r, &cdmkm_regions, node)
		if (!strcmp(r->name, name))
			return r;
	return NULL;
}

static int cdmkm_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct fs_parse_result result;
	int opt;

	opt = fs_parse(fc, cdmkm_fs_params, param, &result);
	if (opt < 0)
		return opt;
	/* looked up in get_tree, under cdmkm_lock: regions can go away */
	kfree(fc->fs_private);
	fc->fs_private = param->string;
	param->string = NULL;
	return 0;
}

static int cdmkm_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct cdmkm_dev *r = sb->s_fs_info;
	struct inode *root;

	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_magic = CDMKM_SUPER_MAGIC;
	sb->s_op = &cdmkm_sops;
	sb->s_xattr = cdmkm_xattr_handlers;
	sb->s_d_op = &simple_dentry_operations;
	sb->s_time_gran = 1;
	root = cdmkm_get_inode(sb, NULL, S_IFDIR | 0755, 0);
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;
	/* under cdmkm_lock, taken by cdmkm_get_tree() */
	atomic_inc(&r->mounts);
	return 0;
}

static int cdmkm_get_tree(struct fs_context *fc)
{
	struct cdmkm_dev *r;
	int ret;

	if (!fc->fs_private)
		return invalfc(fc, "missing region=NAME");
	/* held across fill_super, so a region is never deleted mid-mount */
	mutex_lock(&cdmkm_lock);
	r = region_find(fc->fs_private);
	if (r)
		ret = get_tree_keyed(fc, cdmkm_fill_super, r);
	else
		ret = invalfc(fc, "no region named %s", (char *)fc->fs_private);
	mutex_unlock(&cdmkm_lock);
	return ret;
}

static void cdmkm_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations cdmkm_context_ops = {
	.free = cdmkm_free_fc,
	.parse_param = cdmkm_parse_param,
	.get_tree = cdmkm_get_tree,
};

static int cdmkm_init_fs_context(struct fs_context *fc)
{
	fc->ops = &cdmkm_context_ops;
	return 0;
}

static void cdmkm_kill_sb(struct super_block *sb)
{
	struct cdmkm_dev *r = sb->s_fs_info;
	bool counted = sb->s_root != NULL;

	kill_litter_super(sb);
	/* every page of every file is back in the region now */
	if (r && counted)
		atomic_dec(&r->mounts);
}

static struct file_system_type cdmkm_fs_type = {
	.owner = THIS_MODULE,
	.name = CDMKM_FSTYPE,
	.init_fs_context = cdmkm_init_fs_context,
	.parameters = cdmkm_fs_params,
	.kill_sb = cdmkm_kill_sb,
};

/* ---- regions ------------------------------------------------------------- */

static bool region_name_ok(const char *name)
{
	size_t len = strnlen(name, CDMKM_NAME_MAX);
	const char *p;

	if (!len || len >= CDMKM_NAME_MAX || name[0] == '.')
		return false;
	for (p = name; *p; p++)
		if (!isalnum(*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

/* -EBUSY with a reason if [start, start + size) is not ours to take. */
static int region_range_free(u64 start, u64 size)
{
	unsigned long pfn, last = PHYS_PFN(start + size - 1);
	struct dev_pagemap *pgmap;
	struct cdmkm_dev *r;

	list_for_each_entry(r, &cdmkm_regions, node) {
		if (start < r->pgmap.range.end && r->pgmap.range.start < start + size) {
			pr_err("range %#llx+%#llx overlaps region %s\n", start, size, r->name);
			return -EBUSY;
		}
	}
	/* memremap_pages() would WARN on these; refuse them quietly first */
	if (region_intersects(start, size, IORESOURCE_SYSTEM_RAM,
			      IORES_DESC_NONE) != REGION_DISJOINT) {
		pr_err("range %#llx+%#llx is System RAM (reserve it, e.g. memmap=)\n",
		       start, size);
		return -EBUSY;
	}
	for (pfn = PHYS_PFN(start); pfn <= last; pfn += PAGES_PER_SECTION) {
		pgmap = get_dev_pagemap(pfn, NULL);
		if (pgmap) {
			put_dev_pagemap(pgmap);
			pr_err("range %#llx+%#llx already has device pages (a dax device?)\n",
			       start, size);
			return -EBUSY;
		}
	}
	return 0;
}

static int region_add(const char *name, u64 start, u64 size, int nid)
{
	struct cdmkm_dev *r;
	void *addr;
	int ret;

	lockdep_assert_held(&cdmkm_lock);
	if (!region_name_ok(name)) {
		pr_err("bad region name '%.*s'\n", CDMKM_NAME_MAX, name);
		return -EINVAL;
	}
	if (!size || !IS_ALIGNED(start, SZ_2M) || !IS_ALIGNED(size, SZ_2M) ||
	    start + size < start ||
	    start + size > BIT_ULL(MAX_PHYSMEM_BITS)) {
		pr_err("%s: start %#llx size %#llx: need 2 MiB alignment\n",
		       name, start, size);
		return -EINVAL;
	}
	if (nid >= 0 && (nid >= MAX_NUMNODES || !node_possible(nid))) {
		pr_err("%s: no NUMA node %d\n", name, nid);
		return -EINVAL;
	}
	if (region_find(name))
		return -EEXIST;
	ret = region_range_free(start, size);
	if (ret)
		return ret;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	strscpy(r->name, name, sizeof(r->name));
	spin_lock_init(&r->lock);
	mutex_init(&r->files_lock);
	INIT_LIST_HEAD(&r->files);
	atomic_set(&r->mounts, 0);
	atomic64_set(&r->lost_pages, 0);
	r->npages = size >> PAGE_SHIFT;
	r->pfn_first = PHYS_PFN(start);
	r->bitmap = bitmap_zalloc(r->npages, GFP_KERNEL);
	if (!r->bitmap) {
		ret = -ENOMEM;
		goto err_free;
	}
	r->res = request_mem_region(start, size, r->name);
	if (!r->res) {
		pr_err("%s: range %#llx+%#llx is claimed by another driver\n",
		       name, start, size);
		ret = -EBUSY;
		goto err_bitmap;
	}
	r->pgmap.type = MEMORY_DEVICE_COHERENT;
	r->pgmap.range.start = start;
	r->pgmap.range.end = start + size - 1;
	r->pgmap.nr_range = 1;
	r->pgmap.ops = &cdmkm_pagemap_ops;
	r->pgmap.owner = r;
	addr = memremap_pages(&r->pgmap, nid);
	if (IS_ERR(addr)) {
		ret = PTR_ERR(addr);
		pr_err("%s: memremap_pages: %d\n", name, ret);
		goto err_res;
	}
	r->nid = page_to_nid(pfn_to_page(r->pfn_first));
	r->state = CDMKM_ONLINE;
	list_add_tail(&r->node, &cdmkm_regions);
	pr_info("%s: %llu MiB of coherent device memory at %#llx, node %d\n",
		name, size >> 20, start, r->nid);
	return 0;

err_res:
	release_mem_region(start, size);
err_bitmap:
	bitmap_free(r->bitmap);
err_free:
	kfree(r);
	return ret;
}

static int region_del(struct cdmkm_dev *r)
{
	unsigned long flags, used;

	lockdep_assert_held(&cdmkm_lock);
	spin_lock_irqsave(&r->lock, flags);
	used = r->used;
	spin_unlock_irqrestore(&r->lock, flags);
	if (atomic_read(&r->mounts) || used)
		return -EBUSY;
	list_del(&r->node);
	memunmap_pages(&r->pgmap);
	release_mem_region(r->pgmap.range.start, range_len(&r->pgmap.range));
	pr_info("%s: released\n", r->name);
	bitmap_free(r->bitmap);
	kfree(r);
	return 0;
}

/* Mark the region's pages in every file lost; their mappings go away. */
static u64 region_kill_files(struct cdmkm_dev *r)
{
	struct cdmkm_inode *ci;
	unsigned long index;
	u64 lost = 0;
	void *entry;

	lockdep_assert_held(&r->files_lock);
	list_for_each_entry(ci, &r->files, region_node) {
		down_write(&ci->pages_sem);
		unmap_mapping_range(ci->vfs_inode.i_mapping, 0, 0, 1);
		xa_for_each(&ci->pages, index, entry) {
			if (xa_is_value(entry) || !page_in_region(entry, r))
				continue;
			xa_store(&ci->pages, index, CDMKM_LOST, GFP_KERNEL);
			inode_sub_bytes(&ci->vfs_inode, PAGE_SIZE);
			put_page(entry);
			lost++;
		}
		up_write(&ci->pages_sem);
	}
	return lost;
}

/* Move every file's region pages to RAM; they keep working from there. */
static u64 region_evacuate_files(struct cdmkm_dev *r, u64 *left)
{
	struct cdmkm_move mv;
	struct cdmkm_inode *ci;
	u64 moved = 0;

	lockdep_assert_held(&r->files_lock);
	list_for_each_entry(ci, &r->files, region_node) {
		down_write(&ci->pages_sem);
		if (ci->mode != CDMKM_PLACE_RAM) {
			ci->mode = CDMKM_PLACE_RAM;
			ci->nid = -1;
		}
		up_write(&ci->pages_sem);
		memset(&mv, 0, sizeof(mv));
		mv.nid = -1;
		cdmkm_move_range(ci, 0, ULONG_MAX, &mv);
		moved += mv.moved;
		if (mv.error) {
			struct cdmkm_residency res;

			cdmkm_residency(ci, &res);
			*left += res.device >> PAGE_SHIFT;
			pr_err("%s: file inode %lu: %llu KiB left on the device: %d\n",
			       r->name, ci->vfs_inode.i_ino, res.device >> 10,
			       mv.error);
		}
	}
	return moved;
}

static int region_fail(struct cdmkm_fail *f)
{
	struct cdmkm_dev *r;
	unsigned long flags;
	u64 moved = 0, lost = 0;
	int ret = 0;

	mutex_lock(&cdmkm_lock);
	r = region_find(f->name);
	if (!r) {
		ret = -ENODEV;
		goto out;
	}
	if ((f->mode != CDMKM_FAIL_EVACUATE && f->mode != CDMKM_FAIL_DEAD) ||
	    r->state == CDMKM_DEAD ||
	    (f->mode == CDMKM_FAIL_EVACUATE && r->state != CDMKM_ONLINE)) {
		ret = -EINVAL;
		goto out;
	}
	spin_lock_irqsave(&r->lock, flags);
	r->state = f->mode == CDMKM_FAIL_DEAD ? CDMKM_DEAD : CDMKM_OFFLINE;
	spin_unlock_irqrestore(&r->lock, flags);

	mutex_lock(&r->files_lock);
	if (f->mode == CDMKM_FAIL_EVACUATE)
		moved = region_evacuate_files(r, &lost);
	else
		lost = region_kill_files(r);
	mutex_unlock(&r->files_lock);
	if (f->mode == CDMKM_FAIL_DEAD)
		atomic64_add(lost, &r->lost_pages);
	f->moved = moved << PAGE_SHIFT;
	f->lost = lost << PAGE_SHIFT;
	pr_warn("%s: device %s: %llu KiB moved to RAM, %llu KiB %s\n", r->name,
		f->mode == CDMKM_FAIL_DEAD ? "failed" : "failing, evacuated",
		f->moved >> 10, f->lost >> 10,
		f->mode == CDMKM_FAIL_DEAD ? "lost" : "left on the device");
out:
	mutex_unlock(&cdmkm_lock);
	return ret;
}

static int region_info(struct cdmkm_region *out)
{
	struct cdmkm_dev *r;
	struct cdmkm_inode *ci;
	unsigned long flags;
	u32 i = 0;

	mutex_lock(&cdmkm_lock);
	list_for_each_entry(r, &cdmkm_regions, node) {
		if (i++ != out->index)
			continue;
		memcpy(out->name, r->name, sizeof(out->name));
		out->start = r->pgmap.range.start;
		out->size = range_len(&r->pgmap.range);
		out->nid = r->nid;
		spin_lock_irqsave(&r->lock, flags);
		out->used = (u64)r->used << PAGE_SHIFT;
		spin_unlock_irqrestore(&r->lock, flags);
		out->lost = (u64)atomic64_read(&r->lost_pages) << PAGE_SHIFT;
		out->state = r->state;
		out->mounts = atomic_read(&r->mounts);
		out->files = 0;
		mutex_lock(&r->files_lock);
		list_for_each_entry(ci, &r->files, region_node)
			out->files++;
		mutex_unlock(&r->files_lock);
		out->pad = 0;
		mutex_unlock(&cdmkm_lock);
		return 0;
	}
	mutex_unlock(&cdmkm_lock);
	return -ENOENT;
}

/* ---- the control device ---------------------------------------------------- */

static long cdmkm_ctl_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct cdmkm_region reg;
	struct cdmkm_dev *r;
	struct cdmkm_fail fail;
	int ret;

	switch (cmd) {
	case CDMKM_IOC_REGION_INFO:
		if (copy_from_user(&reg, uarg, sizeof(reg)))
			return -EFAULT;
		ret = region_info(&reg);
		if (!ret && copy_to_user(uarg, &reg, sizeof(reg)))
			ret = -EFAULT;
		return ret;
	case CDMKM_IOC_ADD_REGION:
	case CDMKM_IOC_DEL_REGION:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (copy_from_user(&reg, uarg, sizeof(reg)))
			return -EFAULT;
		reg.name[CDMKM_NAME_MAX - 1] = '\0';
		mutex_lock(&cdmkm_lock);
		if (cmd == CDMKM_IOC_ADD_REGION) {
			ret = region_add(reg.name, reg.start, reg.size, reg.nid);
		} else {
			r = region_find(reg.name);
			ret = r ? region_del(r) : -ENODEV;
		}
		mutex_unlock(&cdmkm_lock);
		return ret;
	case CDMKM_IOC_FAIL:
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (copy_from_user(&fail, uarg, sizeof(fail)))
			return -EFAULT;
		fail.name[CDMKM_NAME_MAX - 1] = '\0';
		ret = region_fail(&fail);
		if (!ret && copy_to_user(uarg, &fail, sizeof(fail)))
			ret = -EFAULT;
		return ret;
	}
	return -ENOTTY;
}

static const struct file_operations cdmkm_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = cdmkm_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice cdmkm_ctl = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "cdmkm",
	.fops = &cdmkm_ctl_fops,
	.mode = 0600,
};

/* ---- module load and unload ------------------------------------------------ */

/* regions=NAME:START:SIZE[:NID][,...]; START and SIZE take K, M, G. */
static int __init cdmkm_parse_regions(char *spec)
{
	char *one, *name, *start, *size, *nid, *end;
	int node, ret;

	while ((one = strsep(&spec, ","))) {
		if (!*one)
			continue;
		name = strsep(&one, ":");
		start = strsep(&one, ":");
		size = strsep(&one, ":");
		nid = strsep(&one, ":");
		if (!start || !size || one) {
			pr_err("regions: '%s': want NAME:START:SIZE[:NID]\n", name);
			return -EINVAL;
		}
		node = NUMA_NO_NODE;
		if (nid && kstrtoint(nid, 0, &node)) {
			pr_err("regions: %s: bad node '%s'\n", name, nid);
			return -EINVAL;
		}
		mutex_lock(&cdmkm_lock);
		ret = region_add(name, memparse(start, &end), memparse(size, &end),
				 node);
		mutex_unlock(&cdmkm_lock);
		if (ret)
			return ret;
	}
	return 0;
}

static void cdmkm_del_all(void)
{
	struct cdmkm_dev *r, *next;

	mutex_lock(&cdmkm_lock);
	/* no mounts: each superblock holds a module reference */
	list_for_each_entry_safe(r, next, &cdmkm_regions, node)
		if (region_del(r))
			pr_err("%s: still busy at unload\n", r->name);
	mutex_unlock(&cdmkm_lock);
}

static void cdmkm_inode_init_once(void *p)
{
	struct cdmkm_inode *ci = p;

	inode_init_once(&ci->vfs_inode);
}

static int __init cdmkm_init(void)
{
	char *spec = NULL;
	int ret;

	cdmkm_inode_cache = kmem_cache_create("cdmkm_inode",
					      sizeof(struct cdmkm_inode), 0,
					      SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					      cdmkm_inode_init_once);
	if (!cdmkm_inode_cache)
		return -ENOMEM;
	if (regions) {
		spec = kstrdup(regions, GFP_KERNEL);
		ret = spec ? cdmkm_parse_regions(spec) : -ENOMEM;
		kfree(spec);
		if (ret)
			goto err_regions;
	}
	ret = register_filesystem(&cdmkm_fs_type);
	if (ret)
		goto err_regions;
	ret = misc_register(&cdmkm_ctl);
	if (ret)
		goto err_fs;
	return 0;

err_fs:
	unregister_filesystem(&cdmkm_fs_type);
err_regions:
	cdmkm_del_all();
	kmem_cache_destroy(cdmkm_inode_cache);
	return ret;
}

static void __exit cdmkm_exit(void)
{
	misc_deregister(&cdmkm_ctl);
	unregister_filesystem(&cdmkm_fs_type);
	cdmkm_del_all();
	rcu_barrier();	/* inodes are freed after a grace period */
	kmem_cache_destroy(cdmkm_inode_cache);
}

module_init(cdmkm_init);
module_exit(cdmkm_exit);
MODULE_DESCRIPTION("cdmfs helper: files in coherent device memory (ZONE_DEVICE)");
MODULE_AUTHOR("cdmfs developers");
MODULE_LICENSE("GPL");
