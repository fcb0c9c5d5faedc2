/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The migration planner: walks a file in bounded batches, stops when a
 * newer policy supersedes it, goes on past a batch that fails and reports
 * the first failed range, and ends early where a truncate cut the file
 * short.  It visits only the data extents the file has (a sparse file of
 * 64 TiB with one page costs one batch, not 32 million), and it can hand
 * its worker to another file between batches and resume later from where
 * it stopped.  Pure: the moving is done by the caller's ops, so unit tests
 * drive it with a fake backend.
 */
#ifndef CDMFS_FS_MIGRATE_H
#define CDMFS_FS_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cdm_migrate_ops {
	/** Move [off, off+len); add the bytes moved to *moved. 0 or -errno. */
	int (*move)(void *ctx, off_t off, size_t len, uint64_t *moved);
	/** True once a newer policy has taken over: stop between batches. */
	bool (*superseded)(void *ctx);
	/** Bytes moved so far, after each batch. May be NULL. */
	void (*progress)(void *ctx, uint64_t done);
	/**
	 * The file's size now, or -errno.  May be NULL.  Asked before each
	 * batch (a file truncated meanwhile ends there; one that grew is not
	 * walked further: its new pages follow the new policy already) and
	 * after a batch that failed: a range the file no longer has is no
	 * failure, so only the part it still has is tried again.
	 */
	off_t (*size)(void *ctx);
	/**
	 * The first data extent at or after @off: 0 and [*start, *end), or
	 * -ENXIO when there is none up to the end of the file; any other
	 * -errno: not known, walk [@off, size) as data.  Offsets are whole
	 * pages.  May be NULL (all data).  SEEK_DATA/SEEK_HOLE on the file.
	 */
	int (*data)(void *ctx, off_t off, off_t *start, off_t *end);
	/**
	 * True when others wait for a worker and this walk had its turn:
	 * cdm_migrate_run_from() returns between two batches with
	 * res->yielded and res->next, to be called again from there.  May be
	 * NULL (never).
	 */
	bool (*yield)(void *ctx);
};

struct cdm_migrate_result {
	uint64_t moved;			/* bytes */
	unsigned int batches;		/* move() calls made */
	bool superseded;
	bool yielded;			/* gave the worker up: resume at next */
	off_t next;
	int error;			/* first failure, 0 if none */
	off_t fail_start, fail_end;	/* its range */
};

/** Migrate [0, @size) in batches of @batch bytes (> 0). */
void cdm_migrate_run(off_t size, size_t batch,
		     const struct cdm_migrate_ops *ops, void *ctx,
		     struct cdm_migrate_result *res);
/** The same from offset @start (whole pages), e.g. after a yield. */
void cdm_migrate_run_from(off_t start, off_t size, size_t batch,
			  const struct cdm_migrate_ops *ops, void *ctx,
			  struct cdm_migrate_result *res);

#endif
