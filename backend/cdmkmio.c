// SPDX-License-Identifier: GPL-2.0-or-later
/* The cdmkm module's ioctls and test knobs, wrapped once (cdmkmio.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cdmfs/cdmkmio.h"

#define CDMKM_FAIL_PATH "/sys/kernel/debug/cdmkm/fail"

int cdmkm_ctl_open(int flags)
{
	int fd = open(CDMKM_CTL_PATH, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int cdmkm_region_at(int ctl, uint32_t i, struct cdmkm_region *r)
{
	memset(r, 0, sizeof(*r));
	r->index = i;
	if (ioctl(ctl, CDMKM_IOC_REGION_INFO, r) < 0)
		return -errno;
	r->name[sizeof(r->name) - 1] = '\0';
	return 0;
}

int cdmkm_region_find(const char *name, struct cdmkm_region *r)
{
	int fd = cdmkm_ctl_open(O_RDONLY), ret;

	if (fd < 0)
		return fd;
	for (uint32_t i = 0; !(ret = cdmkm_region_at(fd, i, r)); i++)
		if (!strcmp(r->name, name))
			break;
	close(fd);
	return ret == -ENOENT ? -ENODEV : ret;
}

static int region_change(unsigned long cmd, const struct cdmkm_region *in)
{
	struct cdmkm_region r = *in;
	int fd = cdmkm_ctl_open(O_RDWR), ret = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, cmd, &r) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int cdmkm_region_add(const struct cdmkm_region *r)
{
	return region_change(CDMKM_IOC_ADD_REGION, r);
}

int cdmkm_region_del(const char *name)
{
	struct cdmkm_region r = { .nid = -1 };

	if (strlen(name) >= sizeof(r.name))
		return -ENAMETOOLONG;
	strcpy(r.name, name);
	return region_change(CDMKM_IOC_DEL_REGION, &r);
}

int cdmkm_place(int fd, uint32_t mode, int nid)
{
	struct cdmkm_placement pl = { .mode = mode, .nid = nid };

	return ioctl(fd, CDMKM_IOC_SET_PLACEMENT, &pl) ? -errno : 0;
}

int cdmkm_migrate(int fd, uint64_t off, uint64_t len, bool to_device, int nid,
		  uint64_t *moved, uint64_t *failed)
{
	struct cdmkm_migrate m = { .offset = off, .length = len,
				   .to_device = to_device, .nid = nid };

	if (ioctl(fd, CDMKM_IOC_MIGRATE, &m))
		return -errno;
	*moved = m.moved;
	*failed = m.failed_offset;
	return m.error;
}

int cdmkm_usage_get(int fd, struct cdmkm_usage *u)
{
	struct cdmkm_residency res = { 0 };
	uint32_t want = 64;

	memset(u, 0, sizeof(*u));
	/* the node count can only be learnt by asking: grow and ask again */
	for (;;) {
		u->ram = calloc(want, sizeof(*u->ram));
		if (!u->ram)
			return -ENOMEM;
		res.ram = (uintptr_t)u->ram;
		res.nr_nodes = want;
		if (ioctl(fd, CDMKM_IOC_RESIDENCY, &res) < 0) {
			int err = -errno;

			cdmkm_usage_free(u);
			return err;
		}
		if (res.nr_nodes <= want)
			break;
		want = res.nr_nodes;
		free(u->ram);
	}
	u->device = res.device;
	u->lost = res.lost;
	u->nr_nodes = res.nr_nodes;
	return 0;
}

void cdmkm_usage_free(struct cdmkm_usage *u)
{
	free(u->ram);
	u->ram = NULL;
	u->nr_nodes = 0;
}

int cdmkm_fail(const char *name, const char *mode, uint64_t *moved,
	       uint64_t *lost)
{
	char buf[128], rname[CDMKM_NAME_MAX], rmode[16];
	int fd, ret = 0;
	ssize_t n;

	fd = open(CDMKM_FAIL_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%s %s\n", name, mode);
	if (n >= (ssize_t)sizeof(buf)) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	if (write(fd, buf, (size_t)n) != n) {
		ret = -errno;
		goto out;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n < 0) {
		ret = -errno;
		goto out;
	}
	buf[n] = '\0';
	if (sscanf(buf, "%31s %15s moved=%" SCNu64 " lost=%" SCNu64, rname,
		   rmode, moved, lost) != 4 || strcmp(rname, name))
		ret = -EPROTO;
out:
	close(fd);
	return ret;
}
