// SPDX-License-Identifier: GPL-2.0
/*
 * cdmkm: device failure.  A failing device that still answers is
 * evacuated (its pages copied to RAM, its files keep working); a dead one
 * takes its pages with it (they read as EIO, mappings get SIGBUS).
 *
 * Real hardware would report failures through its driver; tests inject
 * them through debugfs, which is not part of the module's user interface:
 *
 *	echo 'REGION evacuate|dead' > /sys/kernel/debug/cdmkm/fail
 *	cat /sys/kernel/debug/cdmkm/fail	# REGION MODE moved=BYTES lost=BYTES
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/slab.h>

#include "internal.h"

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
			u64 device, lost;

			cdmkm_residency(ci, &device, &lost, NULL);
			*left += device >> PAGE_SHIFT;
			pr_err("%s: file inode %lu: %llu KiB left on the device: %d\n",
			       r->name, ci->vfs_inode.i_ino, device >> 10,
			       mv.error);
		}
	}
	return moved;
}

enum { FAIL_EVACUATE = 1, FAIL_DEAD = 2 };

static const char * const fail_mode_name[] = {
	[FAIL_EVACUATE] = "evacuate",
	[FAIL_DEAD] = "dead",
};

/* The outcome of the last injection, for a read of the debugfs file. */
static DEFINE_MUTEX(fail_last_lock);
static char fail_last[CDMKM_NAME_MAX + 64];

static int region_fail(const char *name, int mode, u64 *moved_bytes,
		       u64 *lost_bytes)
{
	struct cdmkm_dev *r;
	unsigned long flags;
	u64 moved = 0, lost = 0;
	int ret = 0;

	mutex_lock(&cdmkm_lock);
	r = region_find(name);
	if (!r) {
		ret = -ENODEV;
		goto out;
	}
	if (r->state == CDMKM_DEAD ||
	    (mode == FAIL_EVACUATE && r->state != CDMKM_ONLINE)) {
		ret = -EINVAL;
		goto out;
	}
	spin_lock_irqsave(&r->lock, flags);
	r->state = mode == FAIL_DEAD ? CDMKM_DEAD : CDMKM_OFFLINE;
	spin_unlock_irqrestore(&r->lock, flags);

	mutex_lock(&r->files_lock);
	if (mode == FAIL_EVACUATE)
		moved = region_evacuate_files(r, &lost);
	else
		lost = region_kill_files(r);
	mutex_unlock(&r->files_lock);
	if (mode == FAIL_DEAD)
		atomic64_add(lost, &r->lost_pages);
	*moved_bytes = moved << PAGE_SHIFT;
	*lost_bytes = lost << PAGE_SHIFT;
	pr_warn("%s: device %s: %llu KiB moved to RAM, %llu KiB %s\n", r->name,
		mode == FAIL_DEAD ? "failed" : "failing, evacuated",
		*moved_bytes >> 10, *lost_bytes >> 10,
		mode == FAIL_DEAD ? "lost" : "left on the device");
out:
	mutex_unlock(&cdmkm_lock);
	return ret;
}

/* "REGION MODE\n": fail REGION; the write returns -errno if refused. */
static ssize_t fail_write(struct file *file, const char __user *ubuf,
			  size_t len, loff_t *ppos)
{
	char buf[CDMKM_NAME_MAX + 16], *p, *name, *mode;
	u64 moved = 0, lost = 0;
	int m, ret;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	p = strim(buf);
	name = strsep(&p, " \t");
	mode = p ? skip_spaces(p) : NULL;
	if (!*name || !mode)
		return -EINVAL;
	for (m = FAIL_EVACUATE; m <= FAIL_DEAD; m++)
		if (!strcmp(mode, fail_mode_name[m]))
			break;
	if (m > FAIL_DEAD)
		return -EINVAL;
	ret = region_fail(name, m, &moved, &lost);
	if (ret)
		return ret;
	mutex_lock(&fail_last_lock);
	snprintf(fail_last, sizeof(fail_last), "%s %s moved=%llu lost=%llu\n",
		 name, fail_mode_name[m], moved, lost);
	mutex_unlock(&fail_last_lock);
	return len;
}

static ssize_t fail_read(struct file *file, char __user *ubuf, size_t len,
			 loff_t *ppos)
{
	char buf[sizeof(fail_last)];

	mutex_lock(&fail_last_lock);
	memcpy(buf, fail_last, sizeof(buf));
	mutex_unlock(&fail_last_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, strlen(buf));
}

static const struct file_operations fail_fops = {
	.owner = THIS_MODULE,
	.read = fail_read,
	.write = fail_write,
	.llseek = default_llseek,
};

static struct dentry *fail_dir;

/* No debugfs, no injection: the module works the same without it. */
void cdmkm_fail_init(void)
{
	fail_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("fail", 0600, fail_dir, NULL, &fail_fops);
}

void cdmkm_fail_exit(void)
{
	debugfs_remove(fail_dir);
}
