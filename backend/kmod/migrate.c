// SPDX-License-Identifier: GPL-2.0
/*
 * cdmkm: moving a file's pages between its region and RAM, and residency.
 *
 * Migration of a range: take the file's pages_sem for writing (faults and
 * the page lookups of read/write wait), zap every mapping of the range (TLB
 * flushed on return), copy each page whose only reference is the file's own
 * (a page held by read/write in flight or pinned by GUP is busy and retried
 * later), publish the copy, drop the old page, release the lock; mappings
 * fault the new pages in.  At most CDMKM_BATCH pages per lock hold bound the
 * stall a writer sees.
 */
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/nodemask.h>
#include <linux/sched/signal.h>

#include "internal.h"

/* ---- migration ----------------------------------------------------------- */

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

void cdmkm_move_range(struct cdmkm_inode *ci, pgoff_t first,
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

void cdmkm_residency(struct cdmkm_inode *ci, u64 *device, u64 *lost, u64 *ram)
{
	struct page *page;
	unsigned long index;
	void *entry;

	*device = *lost = 0;
	if (ram)
		memset(ram, 0, nr_node_ids * sizeof(*ram));
	down_read(&ci->pages_sem);
	xa_for_each(&ci->pages, index, entry) {
		if (xa_is_value(entry)) {
			*lost += PAGE_SIZE;
			continue;
		}
		page = entry;
		if (page_in_region(page, ci->region))
			*device += PAGE_SIZE;
		else if (ram)
			ram[page_to_nid(page)] += PAGE_SIZE;
	}
	up_read(&ci->pages_sem);
}
