// SPDX-License-Identifier: GPL-2.0
/*
 * cdmkm: regular files.  Files keep their pages in an xarray, not in the
 * page cache (shmem and the page cache do not take ZONE_DEVICE pages):
 * faults insert them with vm_insert_page() into VM_MIXEDMAP mappings;
 * read/write copy through the direct map.  A page is a region page, a RAM
 * page, or a LOST marker left by a failed device.
 */
#include <linux/fs.h>
#include <linux/falloc.h>
#include <linux/highmem.h>
#include <linux/nodemask.h>
#include <linux/pagemap.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "internal.h"

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
void cdmkm_drop_pages(struct cdmkm_inode *ci, pgoff_t first,
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
void cdmkm_truncate(struct inode *inode, loff_t size)
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

static long cdmkm_file_ioctl(struct file *file, unsigned int cmd,
			     unsigned long arg)
{
	struct inode *inode = file_inode(file);
	struct cdmkm_inode *ci = CDMKM_I(inode);
	void __user *uarg = (void __user *)arg;
	struct cdmkm_placement pl;
	struct cdmkm_residency res;
	u64 *ram;
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
		if (copy_from_user(&res, uarg, sizeof(res)))
			return -EFAULT;
		if (res.pad)
			return -EINVAL;
		ram = kcalloc(nr_node_ids, sizeof(*ram), GFP_KERNEL);
		if (!ram)
			return -ENOMEM;
		cdmkm_residency(ci, &res.device, &res.lost, ram);
		/* as many nodes as the caller has room for; it learns how many */
		ret = 0;
		if (res.ram && copy_to_user(u64_to_user_ptr(res.ram), ram,
					    min_t(u32, res.nr_nodes, nr_node_ids) *
					    sizeof(*ram)))
			ret = -EFAULT;
		kfree(ram);
		res.nr_nodes = nr_node_ids;
		if (!ret && copy_to_user(uarg, &res, sizeof(res)))
			ret = -EFAULT;
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

const struct file_operations cdmkm_file_ops = {
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

