// SPDX-License-Identifier: GPL-2.0-or-later
/* What user.cdm.stats and user.cdm.devices show, and per-device usage. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "capacity.h"
#include "fs.h"
#include "stats.h"


static const char *const stat_names[CDM_STAT_NR] = {
	[CDM_STAT_LOOKUP] = "lookup", [CDM_STAT_FORGET] = "forget",
	[CDM_STAT_GETATTR] = "getattr", [CDM_STAT_SETATTR] = "setattr",
	[CDM_STAT_READLINK] = "readlink", [CDM_STAT_MKNOD] = "mknod",
	[CDM_STAT_MKDIR] = "mkdir", [CDM_STAT_UNLINK] = "unlink",
	[CDM_STAT_RMDIR] = "rmdir", [CDM_STAT_SYMLINK] = "symlink",
	[CDM_STAT_RENAME] = "rename", [CDM_STAT_LINK] = "link",
	[CDM_STAT_OPEN] = "open", [CDM_STAT_READ] = "read",
	[CDM_STAT_WRITE] = "write", [CDM_STAT_FLUSH] = "flush",
	[CDM_STAT_RELEASE] = "release", [CDM_STAT_FSYNC] = "fsync",
	[CDM_STAT_OPENDIR] = "opendir", [CDM_STAT_READDIR] = "readdir",
	[CDM_STAT_RELEASEDIR] = "releasedir", [CDM_STAT_FSYNCDIR] = "fsyncdir",
	[CDM_STAT_STATFS] = "statfs", [CDM_STAT_SETXATTR] = "setxattr",
	[CDM_STAT_GETXATTR] = "getxattr", [CDM_STAT_LISTXATTR] = "listxattr",
	[CDM_STAT_REMOVEXATTR] = "removexattr", [CDM_STAT_ACCESS] = "access",
	[CDM_STAT_CREATE] = "create", [CDM_STAT_FALLOCATE] = "fallocate",
	[CDM_STAT_LSEEK] = "lseek",
	[CDM_STAT_COPY_FILE_RANGE] = "copy_file_range",
	[CDM_STAT_FLOCK] = "flock",
	[CDM_STAT_PASSTHROUGH_OPENS] = "passthrough_opens",
	[CDM_STAT_PASSTHROUGH_FALLBACKS] = "passthrough_fallbacks",
};

char *cdm_stats_format(struct cdm_fs *fs, bool over_uring)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	/*
	 * The transport of this very request: the kernel sends over /dev/fuse
	 * until every ring queue is registered, and when the ring could not
	 * start, so what was asked for (-o io_uring=) is not proof of use.
	 * Every other field is a counter.
	 */
	fprintf(f, "transport=%s", over_uring ? "io_uring" : "dev_fuse");
	for (int i = 0; i < CDM_STAT_NR; i++)
		fprintf(f, " %s=%llu", stat_names[i],
			(unsigned long long)atomic_load(&fs->stats[i]));
	fprintf(f, " inodes=%zu", cdm_inode_count(&fs->table));
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}


static void print_nodes(FILE *f, const struct cdm_nodemask *m)
{
	const char *sep = "";

	for (int n = 0; n < CDM_MAX_NODES; n++) {
		if (cdm_nodemask_test(m, n)) {
			fprintf(f, "%s%d", sep, n);
			sep = ",";
		}
	}
	if (!*sep)
		fputs("-", f);
}

/*
 * " health=..." for a device whose backend tells health (a helper-module
 * region), asked now (the health thread only logs changes): an operator's
 * tool shows it next to the capacity.  Nothing for other devices, which
 * have no such state.
 */
static const char *device_health(const struct cdm_device *d)
{
	enum cdm_health_state state;
	uint64_t lost;

	if (!d->ops->health)
		return "";
	if (d->ops->health(d, &state, &lost))
		return " health=unknown";
	switch (state) {
	case CDM_HEALTH_ONLINE:
		return " health=online";
	case CDM_HEALTH_OFFLINE:
		return " health=offline";
	case CDM_HEALTH_DEAD:
		return " health=dead";
	}
	return " health=unknown";
}

char *cdm_devices_format(struct cdm_fs *fs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	for (size_t i = 0; i < fs->devices.count; i++) {
		struct cdm_device *d = &fs->devices.dev[i];
		uint64_t size = d->size, used = 0, avail = 0;

		cdm_device_usage(fs, (uint16_t)i, &size, &used, &avail);
		fprintf(f, "%s kind=%s backend=%s nodes=", d->name,
			cdm_kind_name(d->kind), d->ops->name);
		print_nodes(f, &d->nodes);
		fprintf(f, " size=%llu free=%llu", (unsigned long long)size,
			(unsigned long long)avail);
		if (d->tier >= 0)
			fprintf(f, " tier=%d", d->tier);
		if (d->read_latency_ns)
			fprintf(f, " read_latency_ns=%u", d->read_latency_ns);
		if (d->write_latency_ns)
			fprintf(f, " write_latency_ns=%u", d->write_latency_ns);
		if (d->read_bandwidth_mbs)
			fprintf(f, " read_bandwidth_mbs=%u", d->read_bandwidth_mbs);
		if (d->write_bandwidth_mbs)
			fprintf(f, " write_bandwidth_mbs=%u",
				d->write_bandwidth_mbs);
		fprintf(f, " simulated=%s", d->simulated ? "yes" : "no");
		fprintf(f, "%s\n", device_health(d));
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
