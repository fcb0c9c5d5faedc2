// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Rename within a device, and across devices as migration (rename.h): the
 * rules of what may move in place, the room on the target, the file a move
 * replaces kept aside until the pages moved, and the undo.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdmfs/log.h"
#include "capacity.h"
#include "fs.h"
#include "lodge.h"
#include "placement.h"
#include "rename.h"

/*
 * A regular file renamed into another device's directory moves its memory
 * there: same inode, open mappings keep working, the pages migrate (in the
 * background, as for setfattr).  Its own policy (if any) goes: it now
 * follows its new device.
 */
static int move_to_device(struct cdm_fs *fs, const struct stat *st,
			  uint16_t devidx)
{
	struct cdm_inode *inode;

	/* the kernel holds a lookup on the inode it renames */
	inode = cdm_inode_find(&fs->table, st->st_ino, st->st_dev);
	if (!inode)
		return 0;
	return cdm_move_to_device(fs, inode, devidx, S_ISREG(st->st_mode));
}

int cdm_rename_entry(struct cdm_fs *fs, struct cdm_inode *parent,
		     const char *name, struct cdm_inode *newparent,
		     const char *newname, unsigned int flags)
{
	bool cross = parent->dev != newparent->dev, exchanged = false;
	struct cdm_lodger *lodger, *victim_lodger = NULL;
	struct stat st, victim;
	int ret = 0, pfd = -1, npfd = -1;

	pfd = cdm_inode_fd(&fs->table, parent);
	if (pfd < 0) {
		ret = pfd;
		goto out;
	}
	npfd = cdm_inode_fd(&fs->table, newparent);
	if (npfd < 0) {
		ret = npfd;
		goto out;
	}
	cdm_lodge_enter(fs);
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		ret = -errno;
		goto out;
	}
	/*
	 * Devices with a tmpfs each: a file crossing them, or one that did
	 * and is still open, is a lodger (lodge.h).
	 */
	lodger = cdm_lodge_of(fs, &st);
	if (lodger || (cross && cdm_lodge_crosses(fs, parent, newparent))) {
		if (cross && !lodger && S_ISREG(st.st_mode))
			ret = cdm_check_space(fs, newparent,
					      (uint64_t)st.st_blocks * 512);
		if (!ret)
			ret = cdm_lodge_rename(fs, lodger, parent, pfd, name,
					       &st, newparent, npfd, newname,
					       flags);
		if (!ret && cross) {
			cdm_capacity_changed(fs, parent->dev);
			cdm_capacity_changed(fs, newparent->dev);
		}
		goto out;
	}
	/* a lodger's marker this replaces: the lodger goes too */
	if (!(flags & (RENAME_NOREPLACE | RENAME_EXCHANGE)))
		victim_lodger = cdm_lodge_at(fs, npfd, newname);
	/*
	 * Across devices only single-link regular files (and inodes without
	 * memory) move in place, and not into or out of a device whose
	 * files live in its backend's own filesystem; mv(1) copies anything
	 * else on EXDEV.
	 */
	if (cross && (S_ISDIR(st.st_mode) || flags & RENAME_EXCHANGE ||
		      (S_ISREG(st.st_mode) && st.st_nlink > 1) ||
		      cdm_device_own_fs(&fs->devices.dev[parent->dev]) ||
		      cdm_device_own_fs(&fs->devices.dev[newparent->dev]))) {
		ret = -EXDEV;
		goto out;
	}
	if (cross && S_ISREG(st.st_mode)) {
		/* what newparent's new files follow */
		ret = cdm_check_space(fs, newparent,
				      (uint64_t)st.st_blocks * 512);
		if (ret)
			goto out;
		/*
		 * A file this replaces is swapped out of the way, not
		 * dropped, until the move is sure: a failed move puts both
		 * names back.
		 */
		if (!(flags & RENAME_NOREPLACE) &&
		    !fstatat(npfd, newname, &victim,
			     AT_SYMLINK_NOFOLLOW)) {
			if (S_ISDIR(victim.st_mode)) {
				ret = -EISDIR;
				goto out;
			}
			exchanged = true;
		}
	}
	if (renameat2(pfd, name, npfd, newname,
		      exchanged ? RENAME_EXCHANGE : flags)) {
		ret = -errno;
		goto out;
	}
	if (victim_lodger)
		cdm_lodge_drop(fs, victim_lodger);
	if (!cross)
		goto out;
	cdm_capacity_changed(fs, parent->dev);
	cdm_capacity_changed(fs, newparent->dev);
	ret = move_to_device(fs, &st, newparent->dev);
	if (ret) {
		cdm_log(LOG_WARNING, "%s/%s: cannot move its pages: %s; the name goes back to %s",
			fs->devices.dev[newparent->dev].name, newname,
			strerror(-ret), fs->devices.dev[parent->dev].name);
		if (renameat2(npfd, newname, pfd, name,
			      exchanged ? RENAME_EXCHANGE : RENAME_NOREPLACE))
			cdm_log(LOG_ERR, "%s/%s: cannot rename it back: %s",
				fs->devices.dev[newparent->dev].name, newname,
				strerror(errno));
	} else if (exchanged && unlinkat(pfd, name, 0)) {
		cdm_log(LOG_ERR, "%s/%s: cannot remove the file it replaced: %s",
			fs->devices.dev[parent->dev].name, name,
			strerror(errno));
	}
out:
	if (pfd >= 0 && npfd >= 0)
		cdm_lodge_leave(fs);
	cdm_inode_fd_put(newparent, npfd);
	cdm_inode_fd_put(parent, pfd);
	return ret;
}
