/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Access statistics of shmem files from the kernel (doc/tiering.md): DAMON
 * "paddr" monitoring of the physical runs that back the files' resident
 * pages, through /sys/kernel/mm/damon/admin.  No page is faulted in for
 * it and every mapper's accesses count (DAMON reads the accessed bits
 * through the reverse map).  Root only, like the rest of placement.
 *
 * The monitor is one kdamond for the whole daemon, with one target whose
 * regions are the runs of every watched file.  The pure parts (runs to
 * chunks) are separate so the unit tests reach them.
 */
#ifndef CDMFS_HEAT_H
#define CDMFS_HEAT_H

#include <stddef.h>
#include <stdint.h>

/* A chunk with nothing to tell: no byte of it seen in memory. */
#define CDM_HEAT_NONE UINT32_MAX

/* Physical bytes [pa, end) back the file's bytes from @off. */
struct cdm_heat_run {
	uint64_t pa, end, off;
};

/* A DAMON region: accesses seen in its last aggregation interval. */
struct cdm_heat_region {
	uint64_t start, end;
	uint32_t nr_accesses;
};

/**
 * The runs of the resident pages of file @fd, sorted by physical address,
 * into a new array *@runs of *@n (free() it).  Maps the resident pages only
 * (mincore, MADV_POPULATE_READ), reads /proc/self/pagemap, unmaps at once.
 * -EPERM when pagemap hides frames (not root).
 */
int cdm_heat_runs(int fd, struct cdm_heat_run **runs, size_t *n);

/**
 * Heat of the @nchunks chunks of @chunk bytes from file offset @off:
 * the byte-weighted mean nr_accesses of the regions that cover each
 * chunk's resident bytes, times 100 (so 150 = 1.5 samples of the
 * aggregation saw an access), CDM_HEAT_NONE where no resident byte of
 * the chunk is in a region (a hole, or pages newer than the runs).  @runs are
 * the file's (sorted by pa), @regs DAMON's (sorted, not overlapping).
 * Pure; -ENOMEM or 0.
 */
int cdm_heat_chunks(const struct cdm_heat_run *runs, size_t nruns,
		     const struct cdm_heat_region *regs, size_t nregs,
		     uint64_t off, uint64_t chunk, size_t nchunks,
		     uint32_t *heat);

/**
 * Whether DAMON can be used under @sysroot now: 0, -EOPNOTSUPP without the
 * sysfs interface (CONFIG_DAMON_SYSFS, CONFIG_DAMON_PADDR), -EBUSY when
 * another user has kdamonds, -EACCES when not root.
 */
int cdm_heat_probe(const char *sysroot);

/**
 * Intervals of the monitor (microseconds), before it starts: DAMON
 * samples every @sample_us and aggregates over @aggr_us.
 */
void cdm_heat_set_intervals(uint32_t sample_us, uint32_t aggr_us);

/**
 * The heat (as cdm_heat_chunks) of [@off, @off + @nchunks * @chunk) of
 * shmem file @fd, from the monitor's last aggregation.  The first call for
 * a file starts watching it (and the monitor, if needed) and returns
 * -EAGAIN: the statistics need an aggregation interval first.  The file's
 * runs are rebuilt every few seconds, since pages move (our own moves,
 * the kernel's, new pages).  The backend heat op of NUMA devices.
 */
int cdm_heat_file(int fd, uint64_t off, uint64_t chunk, size_t nchunks,
		  uint32_t *heat);

/** Stop watching file @fd (e.g. its policy is no longer tiered). */
void cdm_heat_forget(int fd);

/** Stop the monitor and forget every file (at exit). */
void cdm_heat_stop(void);

#endif /* CDMFS_HEAT_H */
