/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * cdmkm: the cdmfs helper module's user interface.
 *
 * The module registers physical ranges of coherent device memory ("regions")
 * as ZONE_DEVICE pages (MEMORY_DEVICE_COHERENT) and serves regular files whose
 * pages come from a region, through a small filesystem, "cdmkmfs", mounted
 * once per region:
 *
 *	mount -t cdmkmfs -o region=cdm0 none /some/dir
 *
 * Regions are added at load time (module parameter
 * regions=NAME:START:SIZE[:NID][,...]) or at run time with CDMKM_IOC_ADD_REGION
 * on /dev/cdmkm.  Files take placement, migration and residency ioctls on
 * their own file descriptors.  All sizes and offsets are in bytes.
 */
#ifndef _UAPI_CDMFS_CDMKM_H
#define _UAPI_CDMFS_CDMKM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define CDMKM_CTL_PATH		"/dev/cdmkm"
#define CDMKM_FSTYPE		"cdmkmfs"
#define CDMKM_SUPER_MAGIC	0x63646d6b	/* "cdmk" */
#define CDMKM_NAME_MAX		32	/* with the terminating NUL */

/* Region states (struct cdmkm_region.state). */
enum {
	CDMKM_ONLINE = 0,	/* serving allocations */
	CDMKM_OFFLINE = 1,	/* evacuated after a failure: no allocations */
	CDMKM_DEAD = 2,		/* failed without answering: data lost */
};

/*
 * CDMKM_IOC_ADD_REGION (in: name, start, size, nid) and
 * CDMKM_IOC_REGION_INFO (in: index; out: everything; -ENOENT past the last).
 * start and size must be multiples of 2 MiB; nid -1 takes the node the
 * range belongs to.
 */
struct cdmkm_region {
	char name[CDMKM_NAME_MAX];
	__u64 start;
	__u64 size;
	__s32 nid;
	__u32 index;
	__u64 used;		/* bytes of the region holding file data */
	__u64 lost;		/* bytes of file data lost by a failure */
	__u32 state;		/* CDMKM_ONLINE, ... */
	__u32 mounts;		/* live cdmkmfs superblocks (0 or 1) */
	__u32 files;		/* files of this region */
	__u32 pad;
};

/* CDMKM_IOC_DEL_REGION: by name; -EBUSY while mounted or pages are in use. */

/*
 * Failures: a region whose device fails is evacuated to RAM (CDMKM_OFFLINE)
 * or loses its pages (CDMKM_DEAD).  Tests inject failures through debugfs
 * (see backend/kmod/fail.c); that is no part of this interface.
 */

/* Placement of a file's future pages (file ioctls). */
enum {
	CDMKM_PLACE_DEVICE = 0,		/* the region only; ENOSPC when full */
	CDMKM_PLACE_PREFERRED = 1,	/* the region, else RAM */
	CDMKM_PLACE_RAM = 2,		/* system RAM on node nid (-1: any) */
};

struct cdmkm_placement {
	__u32 mode;
	__s32 nid;
};

/*
 * CDMKM_IOC_MIGRATE: move the pages of [offset, offset + length) that are
 * present to the region (to_device = 1) or to RAM on node nid (to_device =
 * 0, nid -1: any node), a few MiB at a time; mappings fault the new pages
 * in.  Holes stay holes.  Returns 0 with the outcome in the out fields, or
 * -errno for a bad request.
 */
struct cdmkm_migrate {
	__u64 offset;
	__u64 length;
	__u32 to_device;
	__s32 nid;
	__u64 moved;		/* out: bytes moved */
	__u64 failed_offset;	/* out: first page left behind, if error */
	__s32 error;		/* out: 0 or -errno for that page */
	__u32 pad;
};

/*
 * CDMKM_IOC_RESIDENCY: where the file's present pages are, whole file.
 * RAM pages are counted per node into the caller's array of nr_nodes
 * entries at ram (0: none); on return nr_nodes is the number of node ids
 * the kernel has (nr_node_ids): a caller whose array was shorter asks again.
 */
struct cdmkm_residency {
	__u64 device;		/* out: bytes in the region */
	__u64 lost;		/* out: bytes lost to a failure */
	__u64 ram;		/* in: user address of __u64[nr_nodes], or 0 */
	__u32 nr_nodes;		/* in: entries at ram; out: nr_node_ids */
	__u32 pad;		/* must be 0 */
};

#define CDMKM_IOC_MAGIC		0xcd
#define CDMKM_IOC_ADD_REGION	_IOW(CDMKM_IOC_MAGIC, 0x01, struct cdmkm_region)
#define CDMKM_IOC_DEL_REGION	_IOW(CDMKM_IOC_MAGIC, 0x02, struct cdmkm_region)
#define CDMKM_IOC_REGION_INFO	_IOWR(CDMKM_IOC_MAGIC, 0x03, struct cdmkm_region)
#define CDMKM_IOC_SET_PLACEMENT	_IOW(CDMKM_IOC_MAGIC, 0x10, struct cdmkm_placement)
#define CDMKM_IOC_GET_PLACEMENT	_IOR(CDMKM_IOC_MAGIC, 0x11, struct cdmkm_placement)
#define CDMKM_IOC_MIGRATE	_IOWR(CDMKM_IOC_MAGIC, 0x12, struct cdmkm_migrate)
#define CDMKM_IOC_RESIDENCY	_IOWR(CDMKM_IOC_MAGIC, 0x14, struct cdmkm_residency)

#endif /* _UAPI_CDMFS_CDMKM_H */
