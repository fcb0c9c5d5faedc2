// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The helper-module backend: every region of the cdmkm module (coherent
 * device memory registered as ZONE_DEVICE pages, backend/kmod/) is one
 * device named after the region.  Such memory is no NUMA node, so mbind()
 * cannot place it: the store mounts the module's filesystem (cdmkmfs) on
 * the device's directory, files created there get the region's pages, and
 * placement, migration and residency go through ioctls on the file.
 *
 * Regions are asked of /dev/cdmkm; a fake sysfs tree (-o sysroot=) has no
 * module, so probing one finds nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdmfs/backend.h"
#include "cdmfs/cdmkmio.h"
#include "cdmfs/log.h"
#include "cdmfs/policy.h"

static int cdmkm_probe(const char *sysroot, struct cdm_device_list *list)
{
	struct cdmkm_region r;
	int fd, ret = 0;

	if (sysroot && *sysroot && strcmp(sysroot, "/"))
		return 0;
	fd = cdmkm_ctl_open(O_RDONLY);
	if (fd == -ENOENT || fd == -ENXIO || fd == -ENODEV)
		return 0;	/* module not loaded: no such devices */
	if (fd < 0)
		return fd;
	for (uint32_t i = 0; !(ret = cdmkm_region_at(fd, i, &r)); i++) {
		struct cdm_device d = { .kind = CDM_KIND_COHERENT,
					.ops = &cdm_cdmkm_ops, .node = -1,
					.tier = -1 };

		snprintf(d.name, sizeof(d.name), "%s", r.name);
		d.size = r.size;
		d.region_node = r.nid;
		ret = cdm_device_list_add(list, &d);
		if (ret == -EEXIST) {
			cdm_log(LOG_ERR, "cdmkm region %s: a device of that name exists; skipped (rename the region)",
				r.name);
			ret = 0;
		}
		if (ret)
			break;
	}
	close(fd);
	return ret == -ENOENT ? 0 : ret;
}

static int cdmkm_usage(const char *sysroot, const struct cdm_device *dev,
		       uint64_t *size, uint64_t *avail)
{
	struct cdmkm_region r;
	int ret = cdmkm_region_find(dev->name, &r);

	if (ret)
		return ret;
	*size = r.size;
	*avail = r.state == CDMKM_ONLINE && r.used < r.size ? r.size - r.used : 0;
	return 0;
}

/*
 * The store's directory of the region's device gets the module's
 * filesystem: files created there get the region's pages.
 */
static int cdmkm_attach(const struct cdm_device *dev, const char *path)
{
	char opts[64];

	if (cdm_is_mountpoint(path))
		return 0;	/* left by an earlier daemon */
	snprintf(opts, sizeof(opts), "region=%s", dev->name);
	if (mount("cdmkm", path, CDMKM_FSTYPE, MS_NOSUID | MS_NODEV, opts)) {
		int ret = -errno;

		cdm_log(LOG_ERR, "device %s: cannot mount the module's %s on %s: %s%s",
			dev->name, CDMKM_FSTYPE, path, strerror(errno),
			errno == EPERM ? " (coherent devices need root)" : "");
		return ret;
	}
	chmod(path, 01777);
	cdm_log(LOG_INFO, "device %s: files in region %s (%s on %s)", dev->name,
		dev->name, CDMKM_FSTYPE, path);
	return 0;
}

static void cdmkm_detach(const struct cdm_device *dev, const char *path)
{
	/* detached: a mapping still open keeps the files until it goes */
	if (cdm_is_mountpoint(path) && umount2(path, MNT_DETACH))
		cdm_log(LOG_WARNING, "device %s: cannot unmount %s: %s",
			dev->name, path, strerror(errno));
}

/*
 * A file in a region can have its pages in that region (bind, preferred)
 * or in system RAM (bind or preferred naming other devices); -EINVAL for
 * another region, a region mixed with other devices, or interleave.
 */
static int cdmkm_translate(const struct cdm_policy *p,
			   const struct cdm_device_list *devs, uint16_t filedev,
			   struct cdm_placement *out)
{
	bool names_region = false, names_other = false;
	const struct cdm_device *first;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < p->ndev; i++) {
		if (devs->dev[p->dev[i]].ops != &cdm_cdmkm_ops)
			names_other = true;
		else if (p->dev[i] == filedev)
			names_region = true;
		else
			return -EINVAL;	/* pages of another region: mv copies */
	}
	out->nid = -1;
	if (p->mode != CDM_POLICY_BIND && p->mode != CDM_POLICY_PREFERRED)
		return -EINVAL;	/* the module does not interleave */
	if (names_region && (p->ndev > 1 || names_other))
		return -EINVAL;
	if (names_region) {
		out->place = p->mode == CDM_POLICY_BIND ? CDMKM_PLACE_DEVICE :
							  CDMKM_PLACE_PREFERRED;
		return 0;
	}
	/* system RAM: on the node of a single NUMA device, else anywhere */
	out->place = CDMKM_PLACE_RAM;
	first = &devs->dev[p->dev[0]];
	if (p->ndev == 1 && first->kind != CDM_KIND_HOST && first->node >= 0)
		out->nid = first->node;
	return 0;
}

static int cdmkm_bind(int fd, const struct cdm_placement *pl, bool fresh)
{
	(void)fresh;
	return cdmkm_place(fd, pl->place, pl->nid);
}

/*
 * The module moves what is present (it batches again inside, 2 MiB per
 * lock hold).  A preferred region that is full leaves the rest in RAM, as
 * its allocations would.
 */
static int cdmkm_move(int fd, const struct cdm_placement *pl, off_t off,
		      size_t len, unsigned char *vec, uint64_t *moved)
{
	uint64_t bytes = 0, failed;
	int r;

	(void)vec;
	r = cdmkm_migrate(fd, (uint64_t)off, len, pl->place != CDMKM_PLACE_RAM,
			  pl->nid, &bytes, &failed);
	*moved += bytes;
	if (r == -ENOSPC && pl->place == CDMKM_PLACE_PREFERRED)
		r = 0;
	return r;
}

/*
 * The module counts a file's pages (device pages are no NUMA node's:
 * move_pages() says -ENOENT for them).  Drift: pages that are not where
 * the policy puts them (preferred may spill to RAM); lost: pages a dead
 * device took with it.
 */
static int cdmkm_residency(const struct cdm_policy *p,
			   const struct cdm_device_list *devs, uint16_t filedev,
			   int fd, struct cdm_residency *r)
{
	struct cdmkm_usage res;
	struct cdm_placement pl;
	int ret;

	ret = cdmkm_usage_get(fd, &res);
	if (ret)
		return ret;
	if (cdmkm_translate(p, devs, filedev, &pl))
		memset(&pl, 0, sizeof(pl));	/* stored before it was refused */
	r->bytes[filedev] += res.device;
	r->lost = res.lost;
	r->drift = 0;
	r->logical = false;
	if (pl.place == CDMKM_PLACE_RAM)
		r->drift += res.device;
	for (uint32_t n = 0; n < res.nr_nodes; n++) {
		int d;

		if (!res.ram[n])
			continue;
		d = cdm_device_of_node(devs, (int)n);
		if (d >= 0)
			r->bytes[d] += res.ram[n];
		if (pl.place == CDMKM_PLACE_DEVICE ||
		    (pl.place == CDMKM_PLACE_RAM && pl.nid >= 0 && pl.nid != (int)n))
			r->drift += res.ram[n];
	}
	cdmkm_usage_free(&res);
	return 0;
}

static int cdmkm_health(const struct cdm_device *dev,
			enum cdm_health_state *state, uint64_t *lost)
{
	struct cdmkm_region r;
	int ret = cdmkm_region_find(dev->name, &r);

	if (ret)
		return ret;
	switch (r.state) {
	case CDMKM_ONLINE:
		*state = CDM_HEALTH_ONLINE;
		break;
	case CDMKM_OFFLINE:
		*state = CDM_HEALTH_OFFLINE;
		break;
	case CDMKM_DEAD:
		*state = CDM_HEALTH_DEAD;
		break;
	default:
		return -EPROTO;
	}
	*lost = r.lost;
	return 0;
}

static int cdmkm_lost(int fd, uint64_t *bytes)
{
	struct cdmkm_usage res;
	int ret = cdmkm_usage_get(fd, &res);

	if (ret)
		return ret;
	*bytes = res.lost;
	cdmkm_usage_free(&res);
	return 0;
}

const struct cdm_backend_ops cdm_cdmkm_ops = {
	.name = "cdmkm",
	.own_fs = true,
	.probe = cdmkm_probe,
	.usage = cdmkm_usage,
	.attach = cdmkm_attach,
	.detach = cdmkm_detach,
	.translate = cdmkm_translate,
	.bind = cdmkm_bind,
	.move = cdmkm_move,
	.residency = cdmkm_residency,
	.health = cdmkm_health,
	.lost = cdmkm_lost,
};
