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
#include <unistd.h>

#include "cdmfs/backend.h"
#include "cdmfs/cdmkm.h"
#include "cdmfs/log.h"

static int cdmkm_ctl(void)
{
	int fd = open(CDMKM_CTL_PATH, O_RDONLY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Region number @i of the module: 0, -ENOENT past the last, or -errno. */
static int region_at(int fd, uint32_t i, struct cdmkm_region *r)
{
	memset(r, 0, sizeof(*r));
	r->index = i;
	if (ioctl(fd, CDMKM_IOC_REGION_INFO, r) < 0)
		return -errno;
	r->name[sizeof(r->name) - 1] = '\0';
	return 0;
}

int cdm_cdmkm_region(const char *name, struct cdmkm_region *out)
{
	int fd = cdmkm_ctl(), ret;

	if (fd < 0)
		return fd;
	for (uint32_t i = 0; !(ret = region_at(fd, i, out)); i++)
		if (!strcmp(out->name, name))
			break;
	close(fd);
	return ret == -ENOENT ? -ENODEV : ret;
}

static int cdmkm_probe(const char *sysroot, struct cdm_device_list *list)
{
	struct cdmkm_region r;
	int fd, ret = 0;

	if (sysroot && *sysroot && strcmp(sysroot, "/"))
		return 0;
	fd = cdmkm_ctl();
	if (fd == -ENOENT || fd == -ENXIO || fd == -ENODEV)
		return 0;	/* module not loaded: no such devices */
	if (fd < 0)
		return fd;
	for (uint32_t i = 0; !(ret = region_at(fd, i, &r)); i++) {
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
	int ret = cdm_cdmkm_region(dev->name, &r);

	if (ret)
		return ret;
	*size = r.size;
	*avail = r.state == CDMKM_ONLINE && r.used < r.size ? r.size - r.used : 0;
	return 0;
}

const struct cdm_backend_ops cdm_cdmkm_ops = {
	.name = "cdmkm",
	.probe = cdmkm_probe,
	.usage = cdmkm_usage,
};

int cdm_cdmkm_place(int fd, uint32_t mode, int nid)
{
	struct cdmkm_placement pl = { .mode = mode, .nid = nid };

	return ioctl(fd, CDMKM_IOC_SET_PLACEMENT, &pl) ? -errno : 0;
}

int cdm_cdmkm_migrate(int fd, off_t off, size_t len, bool to_device, int nid,
		      uint64_t *moved, off_t *failed)
{
	struct cdmkm_migrate m = { .offset = (uint64_t)off, .length = len,
				   .to_device = to_device, .nid = nid };

	if (ioctl(fd, CDMKM_IOC_MIGRATE, &m))
		return -errno;
	*moved = m.moved;
	*failed = (off_t)m.failed_offset;
	return m.error;
}

int cdm_cdmkm_residency(int fd, struct cdmkm_residency *res)
{
	return ioctl(fd, CDMKM_IOC_RESIDENCY, res) ? -errno : 0;
}
