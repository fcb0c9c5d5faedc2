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
	/* a helper-module region: node its memory belongs to, or -1 */
	int region_node;
};

struct cdm_policy;

/**
 * How a file of one device follows a policy: what the backend of the
 * file's device made of it in translate, for its own bind, move and
 * residency.  Only @logical is for the daemon; the rest is the backend's.
 */
struct cdm_placement {
	/*
	 * The pages have no node that tells their device (simulated devices
	 * are all host RAM): the daemon counts them by the policy instead.
	 */
	bool logical;
	/* the backend's own from here on */
	int mode;			/* mempolicy: MPOL_* for the shmem */
	struct cdm_nodemask nodes;	/* mempolicy: its nodes */
	uint32_t place;			/* helper module: its placement */
	int nid;			/* helper module: node for RAM, or -1 */
};

/** Where a file's pages are, as a backend's residency op tells it. */
struct cdm_residency {
	uint64_t *bytes;	/* per device index: bytes there (added to) */
	uint64_t resident;	/* bytes in memory, when @logical */
	uint64_t drift;		/* bytes not where the policy puts them */
	uint64_t lost;		/* bytes a failed device took with it */
	bool logical;		/* no node to tell: spread by the policy */
};

/** A device's state, as its backend's health op tells it. */
enum cdm_health_state {
	CDM_HEALTH_ONLINE,	/* serving */
	CDM_HEALTH_OFFLINE,	/* failing: its files were moved to RAM */
	CDM_HEALTH_DEAD,	/* failed: its files' pages are lost */
};

/**
 * One memory provider.  Optional members may be NULL; callers treat a NULL
 * member as -EOPNOTSUPP.  The daemon (fs/) asks a device's backend, never
 * its kind, what it can do.
 */
struct cdm_backend_ops {
	const char *name;
	/**
	 * Files of its devices live in a filesystem of the backend's own,
	 * which attach mounts on the device's directory of the store: their
	 * space is not the store's, and a rename into or out of such a device
	 * cannot move a file in place (mv copies on EXDEV).
	 */
	bool own_fs;
	/**
	 * Append the devices this backend finds under @sysroot ("" or "/" for
	 * the running system) to @list.
	 */
	int (*probe)(const char *sysroot, struct cdm_device_list *list);
	/** Capacity and free bytes of @dev right now. */
	int (*usage)(const char *sysroot, const struct cdm_device *dev,
		     uint64_t *size, uint64_t *avail);
	/**
	 * Make directory @path of the store ready for @dev's files, e.g.
	 * mount the backend's filesystem there (a mount left by an earlier
	 * daemon is reused).  NULL: the store's tmpfs holds them.
	 */
	int (*attach)(const struct cdm_device *dev, const char *path);
	/** Undo attach at exit; files still mapped live on until unmapped. */
	void (*detach)(const struct cdm_device *dev, const char *path);
	/**
	 * Translate policy @p (not inherit) for a file of device @filedev of
	 * @devs into @out; -EINVAL for a policy such a file cannot follow.
	 */
	int (*translate)(const struct cdm_policy *p,
			 const struct cdm_device_list *devs, uint16_t filedev,
			 struct cdm_placement *out);
	/**
	 * Bind the future pages of backing file @fd to @pl.  @fresh: the file
	 * is new, it has no page and no binding yet.
	 */
	int (*bind)(int fd, const struct cdm_placement *pl, bool fresh);
	/**
	 * Move the pages backing file @fd has in [@off, @off + @len) to @pl,
	 * touching no hole; @vec is scratch of @len / page size bytes, bit 0 of
	 * each set when that page was there.  *@moved: bytes that changed
	 * place (a @pl->logical placement adds none: the caller counts).
	 * -EIO when some pages could not move.
	 */
	int (*move)(int fd, const struct cdm_placement *pl, off_t off,
		    size_t len, unsigned char *vec, uint64_t *moved);
	/**
	 * Where the pages of backing file @fd of device @filedev are, with
	 * @p the policy it follows (possibly one translate refuses now).
	 */
	int (*residency)(const struct cdm_policy *p,
			 const struct cdm_device_list *devs, uint16_t filedev,
			 int fd, struct cdm_residency *r);
	/** State of @dev right now, and bytes lost when dead.  Optional. */
	int (*health)(const struct cdm_device *dev,
		      enum cdm_health_state *state, uint64_t *lost);
	/** Bytes of backing file @fd a failed device took.  Optional. */
	int (*lost)(int fd, uint64_t *bytes);
	/**
	 * Access statistics from the kernel (or the device) for tiering:
	 * the heat of the @nchunks chunks of @chunk bytes from @off of
	 * backing file @fd into @heat, 100 per sample of an aggregation
	 * interval that saw an access (include/cdmfs/heat.h).  The first
	 * call starts watching the file and may be -EAGAIN (no statistics
	 * yet); @nchunks 0 stops watching it.  Optional: NULL for devices
	 * with no placement to tier (sim); the helper module's per-region
	 * statistics (an ioctl) are not written yet.
	 */
	int (*heat)(int fd, uint64_t off, uint64_t chunk, size_t nchunks,
		    uint32_t *heat);
};

/** Growable array of devices; names are unique. */
struct cdm_device_list {
	struct cdm_device *dev;
	size_t count, cap;
};

extern const struct cdm_backend_ops cdm_numa_ops;
extern const struct cdm_backend_ops cdm_sim_ops;
extern const struct cdm_backend_ops cdm_cdmkm_ops;
/** Every backend, NULL-terminated, in the order their devices are listed. */
extern const struct cdm_backend_ops *const cdm_backends[];

/* mpol.c: placement by NUMA mempolicy of shmem files (numa and sim) */
int cdm_mpol_translate(const struct cdm_policy *p,
		       const struct cdm_device_list *devs, uint16_t filedev,
		       struct cdm_placement *out);
int cdm_mpol_bind(int fd, const struct cdm_placement *pl, bool fresh);
int cdm_mpol_move(int fd, const struct cdm_placement *pl, off_t off,
		  size_t len, unsigned char *vec, uint64_t *moved);
int cdm_mpol_residency(const struct cdm_policy *p,
		       const struct cdm_device_list *devs, uint16_t filedev,
		       int fd, struct cdm_residency *r);

/* device.c */
int cdm_device_list_add(struct cdm_device_list *list,
			const struct cdm_device *dev);
void cdm_device_list_free(struct cdm_device_list *list);
struct cdm_device *cdm_device_find(const struct cdm_device_list *list,
				   const char *name);
const char *cdm_kind_name(enum cdm_kind kind);
/** Valid device name: [A-Za-z0-9_.-]{1,31}, not "." or "..". */
bool cdm_device_name_valid(const char *name);
/** Index in @list of the device whose nodes include @node, or -1. */
int cdm_device_of_node(const struct cdm_device_list *list, int node);
/** True if @path is the root of a mount (its parent is on another). */
bool cdm_is_mountpoint(const char *path);

/**
 * True if device @d keeps its files in a filesystem of its backend's own
 * (see cdm_backend_ops.own_fs): not the store's space, no rename in place.
 */
static inline bool cdm_device_own_fs(const struct cdm_device *d)
{
	return d->ops->own_fs;
}

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
