/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cdmkmio: the one user-space wrapper of the cdmkm module's interface
 * (include/cdmfs/cdmkm.h), shared by the daemon's backend and cdmkmctl.
 * Functions return 0 or -errno unless they say otherwise.
 */
#ifndef CDMFS_CDMKMIO_H
#define CDMFS_CDMKMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "cdmfs/cdmkm.h"

/** Open /dev/cdmkm (O_CLOEXEC added): an fd or -errno. */
int cdmkm_ctl_open(int flags);
/** Region number @i, through control fd @ctl: -ENOENT past the last. */
int cdmkm_region_at(int ctl, uint32_t i, struct cdmkm_region *r);
/** The region named @name: -ENODEV if there is none. */
int cdmkm_region_find(const char *name, struct cdmkm_region *r);
/** Add region @r (name, start, size, nid) or delete the one named @name. */
int cdmkm_region_add(const struct cdmkm_region *r);
int cdmkm_region_del(const char *name);

/** Where the future pages of cdmkmfs file @fd go (CDMKM_PLACE_*). */
int cdmkm_place(int fd, uint32_t mode, int nid);
/**
 * Move the present pages of cdmkmfs file @fd in [@off, @off + @len) to the
 * region (@to_device) or to RAM on node @nid (-1: any).  Returns 0, or the
 * -errno of the first page left behind, at @failed; @moved counts bytes.
 */
int cdmkm_migrate(int fd, uint64_t off, uint64_t len, bool to_device, int nid,
		  uint64_t *moved, uint64_t *failed);

/** Where a file's pages are: bytes in the region, lost, in RAM per node. */
struct cdmkm_usage {
	uint64_t device;
	uint64_t lost;
	uint32_t nr_nodes;	/* entries of ram: every node id the kernel has */
	uint64_t *ram;
};
/** Fill @u for cdmkmfs file @fd; free u->ram with cdmkm_usage_free(). */
int cdmkm_usage_get(int fd, struct cdmkm_usage *u);
void cdmkm_usage_free(struct cdmkm_usage *u);

/**
 * Inject a failure of region @name for tests (debugfs, root): @mode is
 * "evacuate" or "dead"; @moved and @lost get the bytes evacuated and lost.
 */
int cdmkm_fail(const char *name, const char *mode, uint64_t *moved,
	       uint64_t *lost);

#endif /* CDMFS_CDMKMIO_H */
