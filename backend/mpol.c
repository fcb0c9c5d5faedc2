// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Placement by NUMA mempolicy, for the backends whose files are shmem
 * files of the store (numa, sim): translate a policy into MPOL_* and the
 * union of its devices' nodes, bind with mbind(), move and count pages
 * with the kernel's page migration (mbind.c).  A policy on devices with no
 * nodes (simulated) is MPOL_DEFAULT: the placement is logical only.
 */
#include <errno.h>
#include <numaif.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdmfs/backend.h"
#include "cdmfs/policy.h"

/* Retries of a batch whose pages were busy; 1+2+4+8+16 ms at most. */
#define MOVE_RETRIES 5

int cdm_mpol_translate(const struct cdm_policy *p,
		       const struct cdm_device_list *devs, uint16_t filedev,
		       struct cdm_placement *out)
{
	(void)filedev;
	memset(out, 0, sizeof(*out));
	/* pages of a device with a filesystem of its own: mv copies */
	for (int i = 0; i < p->ndev; i++)
		if (cdm_device_own_fs(&devs->dev[p->dev[i]]))
			return -EINVAL;
	cdm_policy_mempolicy(p, devs, &out->mode, &out->nodes);
	out->logical = out->mode == MPOL_DEFAULT;
	return 0;
}

/*
 * A @fresh file (no page, no binding yet) needs no mbind for MPOL_DEFAULT:
 * a new tmpfs inode has no shared policy (the store is mounted without
 * mpol=), which is what mbind(MPOL_DEFAULT) leaves; that spares the map
 * and unmap of the whole policy span for each file of a simulated device.
 */
int cdm_mpol_bind(int fd, const struct cdm_placement *pl, bool fresh)
{
	if (fresh && pl->mode == MPOL_DEFAULT)
		return 0;
	return cdm_mbind_fd(fd, pl->mode, &pl->nodes, 0);
}

int cdm_mpol_move(int fd, const struct cdm_placement *pl, off_t off,
		  size_t len, unsigned char *vec, uint64_t *moved)
{
	uint64_t pages = 0;
	int r;

	/*
	 * A read() in flight holds a page for a moment and the kernel gives
	 * up on it (EIO): try the batch again before calling it stuck.
	 */
	for (int tries = 0;; tries++) {
		uint64_t n = 0;

		r = cdm_move_range(fd, off, len, pl->mode, &pl->nodes, vec, &n);
		pages += n;
		if (r != -EIO || tries == MOVE_RETRIES)
			break;
		usleep(1000 << tries);
	}
	/* the kernel's count: pages that changed node */
	if (!pl->logical)
		*moved += pages * (uint64_t)sysconf(_SC_PAGESIZE);
	return r;
}

/*
 * Bytes per device from the kernel's per-page answer.  Pages of a file
 * placed on simulated devices only have no device to tell: the caller
 * spreads r->resident over the policy's devices.
 */
int cdm_mpol_residency(const struct cdm_policy *p,
		       const struct cdm_device_list *devs, uint16_t filedev,
		       int fd, struct cdm_residency *r)
{
	uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t *pages, other = 0, total = 0;
	struct cdm_nodemask nodes;
	int ret, mode;

	(void)filedev;
	pages = calloc(CDM_MAX_NODES, sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	ret = cdm_page_nodes(fd, pages, &other);
	cdm_policy_mempolicy(p, devs, &mode, &nodes);
	/* tiered: binds FAST but SLOW is as much its place */
	if (p->mode == CDM_POLICY_TIERED)
		cdm_policy_nodes(p, devs, &nodes);
	r->drift = 0;
	for (int n = 0; !ret && n < CDM_MAX_NODES; n++) {
		int d;

		if (!pages[n])
			continue;
		total += pages[n];
		if (mode == MPOL_DEFAULT)
			continue;
		d = cdm_device_of_node(devs, n);
		if (d >= 0)
			r->bytes[d] += pages[n] * pg;
		if (!cdm_nodemask_test(&nodes, n))
			r->drift += pages[n] * pg;
	}
	r->logical = mode == MPOL_DEFAULT;
	r->resident = total * pg;
	free(pages);
	return ret;
}
