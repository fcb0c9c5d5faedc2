/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Migration workers (migrator.c): the background moves of files' pages.
 */
#ifndef CDMFS_FS_MIGRATOR_H
#define CDMFS_FS_MIGRATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "fs.h"

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

#endif
