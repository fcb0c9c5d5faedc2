// SPDX-License-Identifier: GPL-2.0
/*
 * cdmkm: cdmfs helper module for coherent device memory.  This file: regions.
 *
 * A region is a physical range of device memory the CPU reaches coherently.
 * The module hands it to memremap_pages() as MEMORY_DEVICE_COHERENT, so it
 * gets struct pages that the page allocator never hands out; a bitmap
 * allocates them to files (super.c, file.c).  Regions come from the module
 * parameter at load or from /dev/cdmkm at run time.  See internal.h for the
 * map of the module's files and the lock order.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/slab.h>

#include "internal.h"

DEFINE_MUTEX(cdmkm_lock);
LIST_HEAD(cdmkm_regions);

static char *regions;
module_param(regions, charp, 0444);
MODULE_PARM_DESC(regions,
		 "regions at load: NAME:START:SIZE[:NID][,...] (START, SIZE 2 MiB aligned)");

/* ---- the region allocator ---------------------------------------------- */

struct page *region_alloc_page(struct cdmkm_dev *r)
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

unsigned long region_free_pages(struct cdmkm_dev *r)
{
	unsigned long flags, free;

	spin_lock_irqsave(&r->lock, flags);
	free = r->state == CDMKM_ONLINE ? r->npages - r->used : 0;
	spin_unlock_irqrestore(&r->lock, flags);
	return free;
}

struct page *ram_alloc_page(int nid)
{
	gfp_t gfp = GFP_HIGHUSER | __GFP_ZERO | __GFP_RETRY_MAYFAIL |
		    __GFP_NOWARN;

	/* RETRY_MAYFAIL: a full node gives ENOSPC, never the OOM killer */
	if (nid >= 0)
		return alloc_pages_node(nid, gfp | __GFP_THISNODE, 0);
	return alloc_page(gfp);
}

struct cdmkm_dev *region_find(const char *name)
{
	struct cdmkm_dev *r;

	lockdep_assert_held(&cdmkm_lock);
	list_for_each_entry(r, &cdmkm_regions, node)
		if (!strcmp(r->name, name))
			return r;
	return NULL;
}

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

static int __init cdmkm_init(void)
{
	char *spec = NULL;
	int ret;

	ret = cdmkm_inode_cache_init();
	if (ret)
		return ret;
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
	cdmkm_fail_init();
	return 0;

err_fs:
	unregister_filesystem(&cdmkm_fs_type);
err_regions:
	cdmkm_del_all();
	cdmkm_inode_cache_exit();
	return ret;
}

static void __exit cdmkm_exit(void)
{
	cdmkm_fail_exit();
	misc_deregister(&cdmkm_ctl);
	unregister_filesystem(&cdmkm_fs_type);
	cdmkm_del_all();
	cdmkm_inode_cache_exit();
}

module_init(cdmkm_init);
module_exit(cdmkm_exit);
MODULE_DESCRIPTION("cdmfs helper: files in coherent device memory (ZONE_DEVICE)");
MODULE_AUTHOR("cdmfs developers");
MODULE_LICENSE("GPL");

