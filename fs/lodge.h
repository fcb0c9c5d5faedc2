/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lodgers (lodge.c): regular files renamed to another device whose data
 * stays in the source device's own tmpfs until nobody has them open.
 *
 * Each device with a tmpfs of its own (store.c) is bounded by that tmpfs's
 * size=, and rename(2) cannot cross two tmpfs.  A file renamed across
 * devices must stay the same open file for those who have it open or
 * mapped (their mappings are of its backing inode), so it moves into the
 * source tmpfs's lodgers/ directory and its new name is a marker: an empty
 * mode-0 file in the target directory.  Lookups of the marker give the
 * lodger's inode; its pages migrate to the target device at once.  When
 * no one has it open (a write lease can be had), a thread copies it into
 * the marker's inode, which becomes its backing inode (same FUSE inode),
 * and the lodger goes: the target tmpfs is charged from then on.
 */
#ifndef CDMFS_FS_LODGE_H
#define CDMFS_FS_LODGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fs.h"

struct cdm_lodger;

/** Find the lodgers an earlier daemon left.  0 or -errno. */
int cdm_lodge_open(struct cdm_fs *fs);
/** Start the thread that sends lodgers home (after fuse_daemonize). */
int cdm_lodge_start(struct cdm_fs *fs);
/** Stop the thread, forget the lodgers (they stay in the store). */
void cdm_lodge_close(struct cdm_fs *fs);
/** Gate of lodge.h's comment: around opens, changes, renames, unlinks. */
void cdm_lodge_enter(struct cdm_fs *fs);
void cdm_lodge_leave(struct cdm_fs *fs);
/**
 * @st (lstat of a name, through O_PATH fd *@fd) is a marker: replace *@fd
 * and @st by the lodger's.  Returns 1 when it did, 0 when @st is no
 * marker, -errno.
 */
int cdm_lodge_resolve(struct cdm_fs *fs, int *fd, struct stat *st);
/**
 * Set @st->st_ino, of a backing inode, to the one users see: unique
 * across the devices' tmpfs, and the first one of a file that moved to
 * another device's (as rename keeps it on tmpfs).
 */
void cdm_lodge_attr(struct cdm_fs *fs, struct stat *st);
/** The st_ino users see for directory entry @ino of filesystem @dev. */
ino_t cdm_lodge_dirent_ino(struct cdm_fs *fs, ino_t ino, dev_t dev);
/** @st (lstat before an unlink) lost its name: forget its alias. */
void cdm_lodge_unlinked(struct cdm_fs *fs, const struct stat *st);
/**
 * The lodger whose marker is @name in directory @dirfd, or NULL.  Valid
 * while the caller is inside the gate.
 */
struct cdm_lodger *cdm_lodge_at(struct cdm_fs *fs, int dirfd,
				const char *name);
/** The lodger whose marker is the inode of @st (an lstat), or NULL. */
struct cdm_lodger *cdm_lodge_of(struct cdm_fs *fs, const struct stat *st);
/** Its marker's name went (unlinked, replaced): so does the lodger. */
void cdm_lodge_drop(struct cdm_fs *fs, struct cdm_lodger *l);
/**
 * Rename @name (lstat @st) in @parent (fd @pfd) to @newname in @newparent
 * (fd @npfd) when a lodger is involved: @l is the lodger whose marker
 * @name is, or NULL for a regular file of one device's tmpfs going to
 * another's.  0 or -errno (nothing changed).
 */
int cdm_lodge_rename(struct cdm_fs *fs, struct cdm_lodger *l,
		     struct cdm_inode *parent, int pfd, const char *name,
		     const struct stat *st, struct cdm_inode *newparent,
		     int npfd, const char *newname, unsigned int flags);
/** Do the directories @pfd and @npfd lie in two devices' own tmpfs? */
bool cdm_lodge_crosses(struct cdm_fs *fs, struct cdm_inode *parent,
		       struct cdm_inode *newparent);

#endif
