/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Mount options (options.c): parsed once, before the session; read-only after.
 */
#ifndef CDMFS_FS_OPTIONS_H
#define CDMFS_FS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "cdmfs/backend.h"

/*
 * Bytes moved per batch of a migration unless -o migrate_batch= says
 * otherwise: a process touching a page in flight waits for that batch at
 * most.  2 MiB is the kernel's own migration batch (512 pages).
 */
#define CDM_MIGRATE_BATCH_DEFAULT (2ULL << 20)
/*
 * Milliseconds a migration keeps its worker while other files wait for
 * one, unless -o migrate_turn= says otherwise.
 */
#define CDM_MIGRATE_TURN_DEFAULT 100

/*
 * Tiering (fs/tiering.c): bytes per second the moves of tiered files may
 * take per device, and the decision period, unless -o tier_rate= and
 * -o tier_period= say otherwise.  A flapping workload then costs bounded
 * bandwidth; 2 s is 5 DAMON aggregations of 400 ms.
 */
#define CDM_TIER_RATE_DEFAULT (64ULL << 20)
#define CDM_TIER_PERIOD_DEFAULT 2000

/*
 * Seconds the kernel may cache names and attributes unless
 * -o attr_timeout= says otherwise.  The daemon is the only writer of its
 * store and drops what it changes itself (cdm_inval_attr), so the cache
 * can be long: a stat then costs no round trip.  The maximum the option
 * takes; passthrough_hp's cache=always uses the same.
 */
#define CDM_ATTR_TIMEOUT_DEFAULT 86400.0

/* -o io_uring=: which FUSE transport the daemon asks for (main.c) */
enum cdm_uring {
	CDM_URING_AUTO,	/* io_uring when the kernel and libfuse offer it */
	CDM_URING_ON,	/* io_uring, or refuse to mount */
	CDM_URING_OFF,	/* /dev/fuse only */
};

struct cdm_options {
	const char *mountpoint;
	const char *store;		/* NULL: a tmpfs of our own */
	/* huge= of our own store tmpfs; NULL: within_size where supported */
	const char *huge;
	const char *sysroot;		/* "" = the running system */
	char *fuse_opts;		/* mount options for libfuse, malloc'd */
	struct cdm_device_list sims;	/* from -o sim=NAME:SIZE */
	char **aliases;			/* "OLD:NEW" pairs, NULL-terminated */
	size_t naliases;
	double attr_timeout;
	uint64_t migrate_batch;		/* bytes, whole 4K pages */
	unsigned int migrate_turn_ms;	/* a file's turn of a worker */
	uint64_t tier_rate;		/* bytes/s moved per device by tiering */
	unsigned int tier_period_ms;	/* tiering's decision period */
	/* allocate what a truncate adds, so faults never find a device full */
	bool reserve;
	bool foreground, debug, nopassthrough, keep_store, no_host;
	/* -o suid / -o dev: drop the default nosuid / nodev (root only) */
	bool suid, dev;
	enum cdm_uring io_uring;
	/* -o enable_uring: set the fuse module's enable_uring (root) */
	bool enable_uring;
	bool show_help, show_version;
};

/** Parse argv into @o.  On error returns -EINVAL with a message in @err. */
int cdm_options_parse(int argc, char **argv, struct cdm_options *o,
		      char *err, size_t errlen);
void cdm_options_free(struct cdm_options *o);
/**
 * huge= for the store tmpfs the daemon mounts when -o huge= is not given:
 * "within_size" (2 MiB pages) when @shmem_enabled, the contents of
 * /sys/kernel/mm/transparent_hugepage/shmem_enabled, says tmpfs mounts may
 * have them; NULL (4 KiB pages) when it is NULL (no THP in this kernel) or
 * the kernel denies them to every mount.  Pure, for the unit suite.
 */
const char *cdm_huge_pick(const char *shmem_enabled);
/** cdm_huge_pick() of this kernel, logging why when it gives NULL. */
const char *cdm_huge_default(void);
/** Rename discovered devices per "-o alias=OLD:NEW". */
int cdm_options_apply_aliases(const struct cdm_options *o,
			      struct cdm_device_list *list,
			      char *err, size_t errlen);

#endif
