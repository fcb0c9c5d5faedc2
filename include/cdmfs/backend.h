/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cdmfs memory providers.
 *
 * A device is one coherent memory a user can put files in: a CPU-less NUMA
 * node (CXL expander onlined by kmem, HBM in flat mode, GPU memory), the
 * host's DRAM, or a simulated device backed by host RAM.  Each device is one
 * directory at the mount root.  A backend discovers devices and places the
 * backing object of a new file on one.
 *
 * All functions return 0 or a negative errno unless said otherwise.
 */
#ifndef CDMFS_BACKEND_H
#define CDMFS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CDM_NAME_MAX 32		/* device name, including the NUL */
#define CDM_MAX_NODES 1024	/* highest NUMA node id + 1 we handle */

enum cdm_kind {
	CDM_KIND_HOST,		/* system DRAM: the nodes that have CPUs */
	CDM_KIND_CXL,		/* CPU-less node onlined from a CXL region */
	CDM_KIND_KMEM,		/* CPU-less node onlined by kmem from other dax */
	CDM_KIND_HBM,		/* CPU-less node faster than DRAM (HMAT) */
	CDM_KIND_MEMORY,	/* any other CPU-less node (e.g. GPU memory) */
	CDM_KIND_SIM,		/* simulated: host RAM with a size limit */
	CDM_KIND_COHERENT,	/* ZONE_DEVICE region of the cdmkm module */
};

/** Node mask; bit n set = NUMA node n. */
struct cdm_nodemask {
	uint64_t bits[CDM_MAX_NODES / 64];
};

struct cdm_backend_ops;
struct cdm_device_list;

struct cdm_device {
	char name[CDM_NAME_MAX];
	enum cdm_kind kind;
	const struct cdm_backend_ops *ops;
	/* First node of @nodes, -1 when the device has none (simulated). */
	int node;
	/* Nodes whose memory the device is; host may span several. */
	struct cdm_nodemask nodes;
	uint64_t size;			/* bytes; 0 = unknown */
	int tier;			/* memory_tierN id, -1 unknown */
	/* HMAT access0 figures from the nearest initiator; 0 = unknown */
	uint32_t read_latency_ns, write_latency_ns;
	uint32_t read_bandwidth_mbs, write_bandwidth_mbs;
	bool simulated;
	/* CDM_KIND_COHERENT: node the region's memory belongs to, or -1 */
	int region_node;
};

/**
 * One memory provider.  Optional members may be NULL; callers treat a NULL
 * member as -EOPNOTSUPP.
 */
struct cdm_backend_ops {
	const char *name;
	/**
	 * Append the devices this backend finds under @sysroot ("" or "/" for
	 * the running system) to @list.
	 */
	int (*probe)(const char *sysroot, struct cdm_device_list *list);
	/** Capacity and free bytes of @dev right now. */
	int (*usage)(const char *sysroot, const struct cdm_device *dev,
		     uint64_t *size, uint64_t *avail);
};

/** Growable array of devices; names are unique. */
struct cdm_device_list {
	struct cdm_device *dev;
	size_t count, cap;
};

extern const struct cdm_backend_ops cdm_numa_ops;
extern const struct cdm_backend_ops cdm_sim_ops;
extern const struct cdm_backend_ops cdm_cdmkm_ops;

/* device.c */
int cdm_device_list_add(struct cdm_device_list *list,
			const struct cdm_device *dev);
void cdm_device_list_free(struct cdm_device_list *list);
struct cdm_device *cdm_device_find(const struct cdm_device_list *list,
				   const char *name);
const char *cdm_kind_name(enum cdm_kind kind);
/** Valid device name: [A-Za-z0-9_.-]{1,31}, not "." or "..". */
bool cdm_device_name_valid(const char *name);

static inline void cdm_nodemask_set(struct cdm_nodemask *m, int node)
{
	m->bits[node / 64] |= 1ULL << (node % 64);
}

static inline bool cdm_nodemask_test(const struct cdm_nodemask *m, int node)
{
	return node >= 0 && node < CDM_MAX_NODES &&
	       (m->bits[node / 64] >> (node % 64)) & 1;
}

/* mbind.c */
/**
 * Set the shared NUMA policy of shmem file @fd for every offset it can ever
 * have (mode MPOL_BIND/PREFERRED/INTERLEAVE/..., @nodes), by mbind() on a
 * temporary MAP_SHARED mapping.  @flags: 0, or MPOL_MF_MOVE_ALL|MPOL_MF_STRICT
 * to also move pages already present in the caller's page tables.
 */
int cdm_mbind_fd(int fd, int mode, const struct cdm_nodemask *nodes,
		 unsigned int flags);

/**
 * Move the pages that shmem file @fd has in [@off, @off + @len) to @nodes
 * under policy @mode, touching no hole.  @vec is scratch of @len / page
 * size bytes; bit 0 of each says whether that page was there.  MPOL_DEFAULT
 * moves pages to the caller's node, only those not there already.  -EIO when some pages could not
 * move (pinned, target full).  *@moved: pages the kernel moved (it had
 * them outside @nodes before and inside after), not the pages there were.
 */
int cdm_move_range(int fd, off_t off, size_t len, int mode,
		   const struct cdm_nodemask *nodes, unsigned char *vec,
		   uint64_t *moved);
/**
 * Count the pages shmem file @fd has in memory per NUMA node (the kernel's
 * move_pages() answer), in @pages[CDM_MAX_NODES], without allocating
 * holes.  @other counts pages the kernel gave no node for.
 */
int cdm_page_nodes(int fd, uint64_t *pages, uint64_t *other);
/**
 * The first data extent of @fd at or after @off (SEEK_DATA, SEEK_HOLE),
 * widened to whole pages: 0 and [*@start, *@end); -ENXIO when only holes
 * follow; other -errno on error.
 */
int cdm_data_extent(int fd, off_t off, off_t *start, off_t *end);

/* sysfs.c: sysfs access through a sysroot prefix, and pure parsers. */

/**
 * Read file @path (absolute, e.g. "/sys/devices/system/node/online") below
 * @sysroot into @buf, NUL-terminated, trailing newline removed.  Returns
 * the length or a negative errno.
 */
ssize_t cdm_sysfs_read(const char *sysroot, const char *path, char *buf,
		       size_t len);
/** Parse a kernel node/cpu list ("0-3,8,10-11") into @mask. */
int cdm_parse_nodelist(const char *s, struct cdm_nodemask *mask);
/**
 * Find "@key:  N kB" in a node meminfo text ("Node 1 MemTotal: 1024 kB")
 * and store N * 1024 in @bytes.
 */
int cdm_parse_meminfo(const char *text, const char *key, uint64_t *bytes);
/** Parse a size: decimal with an optional K/M/G/T suffix (powers of 1024). */
int cdm_parse_size(const char *s, uint64_t *bytes);

#endif /* CDMFS_BACKEND_H */
