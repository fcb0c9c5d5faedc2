/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Automatic tiering of files with a tiered:FAST,SLOW policy (tiering.c,
 * doc/tiering.md): a thread that, every decision period, asks the file's
 * backend for the heat of each 2 MiB chunk and moves chunks between FAST
 * and SLOW with hysteresis, a FAST budget and a rate limit per device.
 */
#ifndef CDMFS_FS_TIERING_H
#define CDMFS_FS_TIERING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs.h"

/* The unit of statistics and moves: a huge page, the kernel's batch. */
#define CDM_TIER_CHUNK (2ULL << 20)
/* Periods in a row above the hot threshold before a chunk is hot. */
#define CDM_TIER_HOT_PERIODS 2
/* Periods in a row below the cold threshold before a chunk is cold. */
#define CDM_TIER_COLD_PERIODS 3
/* Periods a chunk just moved is left alone. */
#define CDM_TIER_REST 2

enum cdm_tier_on { CDM_TIER_ON_FAST, CDM_TIER_ON_SLOW };

/* What tiering knows of one chunk of a file. */
struct cdm_tier_chunk {
	uint32_t heat;		/* last period's; CDM_HEAT_NONE: unknown */
	uint8_t hot, cold;	/* periods in a row above / below */
	uint8_t rest;		/* periods left before it may move again */
	uint8_t on;		/* enum cdm_tier_on: where it was put */
};

struct cdm_tier_limits {
	uint32_t hot, cold;	/* heat above @hot is hot, below @cold cold */
	size_t budget;		/* chunks FAST may hold */
	size_t up, down;	/* promotions, demotions allowed now */
};

/**
 * One period's decisions for the @n chunks @c of a file, with @heat the
 * period's statistics (CDM_HEAT_NONE: keep what is known).  Updates the
 * streaks and fills @move: +1 promote to FAST, -1 demote to SLOW, 0 stay;
 * a chunk to move gets its rest, its @on is the caller's to change once
 * the move is done.  Cold FAST chunks go first, then what exceeds the
 * budget, then the hottest hot SLOW chunks, each displacing the coldest
 * FAST chunk that is not hot when FAST's budget is full.  Returns the
 * number of moves.  Pure.
 */
size_t cdm_tier_decide(struct cdm_tier_chunk *c, size_t n,
		       const uint32_t *heat,
		       const struct cdm_tier_limits *lim, int8_t *move);

/** Set up the state (the thread starts with the first tiered file). */
int cdm_tiering_init(struct cdm_fs *fs);
/** Stop the thread, forget every file.  Before the inode table goes. */
void cdm_tiering_stop(struct cdm_fs *fs);
/** Is @inode one tiering watches? */
bool cdm_tier_watching(struct cdm_fs *fs, struct cdm_inode *inode);
/**
 * Regular file @inode follows a tiered policy from now on (set, or
 * created in a tiered directory): watch it, all of it on FAST as the
 * policy's binding puts it.  Takes a reference of its own on @inode.
 */
void cdm_tier_watch(struct cdm_fs *fs, struct cdm_inode *inode);
/**
 * user.cdm.heat of @inode, malloc'd: "FAST hot=B warm=B cold=B; SLOW
 * hot=B warm=B cold=B; promoted=B demoted=B", or NULL with errno ENODATA
 * for a file tiering does not watch.
 */
char *cdm_heat_value(struct cdm_fs *fs, struct cdm_inode *inode);

#endif
