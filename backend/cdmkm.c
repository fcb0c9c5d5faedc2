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
#include "cdmfs/cdmkmio.h"
#include "cdmfs/log.h"

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

const struct cdm_backend_ops cdm_cdmkm_ops = {
	.name = "cdmkm",
	.probe = cdmkm_probe,
	.usage = cdmkm_usage,
};
