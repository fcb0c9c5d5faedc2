// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The NUMA backend: every CPU-less node with memory is one device named
 * "node<N>", and the nodes with both CPUs and memory together are the
 * device "host".  Files are placed by the
 * shared NUMA policy of their shmem backing object (mbind.c).
 *
 * Everything is read from sysfs below @sysroot, so tests probe the
 * checked-in trees of tests/fake-sysfs/<machine>.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <numaif.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdmfs/backend.h"
#include "cdmfs/heat.h"
#include "cdmfs/log.h"

#define NODE_DIR "/sys/devices/system/node"
#define TIER_DIR "/sys/devices/virtual/memory_tiering"
#define DAX_DIR "/sys/bus/dax/devices"
#define CXL_DIR "/sys/bus/cxl/devices"

/*
 * Big enough for any node list, cpulist or node meminfo: sysfs attributes
 * are at most one page, and Grace runs 64 KiB pages but never fills one.
 */
#define NUMA_BUF 8192

/* @sysroot + printf(@fmt) into @buf, with cdm_sysfs_read()'s rules. */
__attribute__((format(printf, 4, 5)))
static int numa_path(char *buf, size_t len, const char *sysroot,
		     const char *fmt, ...)
{
	size_t rootlen = sysroot ? strlen(sysroot) : 0;
	va_list ap;
	int n;

	while (rootlen > 0 && sysroot[rootlen - 1] == '/')
		rootlen--;
	if (rootlen >= len)
		return -ENAMETOOLONG;
	memcpy(buf, sysroot, rootlen);
	va_start(ap, fmt);
	n = vsnprintf(buf + rootlen, len - rootlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len - rootlen)
		return -ENAMETOOLONG;
	return 0;
}

/* cdm_sysfs_read() of a path made by printf(@fmt). */
__attribute__((format(printf, 4, 5)))
static ssize_t numa_read(const char *sysroot, char *buf, size_t len,
			 const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return cdm_sysfs_read(sysroot, path, buf, len);
}

/* Whole string @s as a decimal in [@min, @max]. */
static int numa_parse_long(const char *s, long long min, long long max,
			   long long *val)
{
	char *end;
	long long v;

	if (!((*s >= '0' && *s <= '9') || (*s == '-' && s[1] >= '0' &&
					    s[1] <= '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*val = v;
	return 0;
}

static int numa_meminfo(const char *sysroot, int node, uint64_t *total,
			uint64_t *avail)
{
	char buf[NUMA_BUF];
	ssize_t n;
	int ret;

	n = numa_read(sysroot, buf, sizeof(buf), NODE_DIR "/node%d/meminfo",
		      node);
	if (n < 0)
		return n;
	ret = cdm_parse_meminfo(buf, "MemTotal", total);
	if (!ret && avail)
		ret = cdm_parse_meminfo(buf, "MemFree", avail);
	if (ret)
		cdm_log(LOG_WARNING, "node%d: unreadable meminfo: %s", node,
			strerror(-ret));
	return ret;
}

/*
 * Nodes with CPUs.  has_cpu exists since 2.6.3x; before, a node had CPUs
 * when its cpulist was not empty.  Only the nodes in @mem matter.
 */
static int numa_cpu_nodes(const char *sysroot, const struct cdm_nodemask *mem,
			  struct cdm_nodemask *cpu)
{
	char buf[NUMA_BUF];
	ssize_t n;

	n = numa_read(sysroot, buf, sizeof(buf), NODE_DIR "/has_cpu");
	if (n >= 0)
		return cdm_parse_nodelist(buf, cpu);
	if (n != -ENOENT)
		return n;

	memset(cpu, 0, sizeof(*cpu));
	for (int node = 0; node < CDM_MAX_NODES; node++) {
		if (!cdm_nodemask_test(mem, node))
			continue;
		n = numa_read(sysroot, buf, sizeof(buf),
			      NODE_DIR "/node%d/cpulist", node);
		if (n == -ENOENT)
			continue;
		if (n < 0)
			return n;
		if (buf[strspn(buf, " \t\n")])
			cdm_nodemask_set(cpu, node);
	}
	return 0;
}

/*
 * The N of the memory_tierN whose node list holds @node, -1 if none (no
 * tiering in the kernel, or a hot-added node not yet in a tier).
 */
static int numa_tier(const char *sysroot, int node)
{
	char path[PATH_MAX], buf[NUMA_BUF];
	struct dirent *de;
	int tier = -1;
	DIR *dir;

	if (numa_path(path, sizeof(path), sysroot, TIER_DIR))
		return -1;
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((de = readdir(dir))) {
		struct cdm_nodemask m;
		long long id;

		if (strncmp(de->d_name, "memory_tier", 11) ||
		    numa_parse_long(de->d_name + 11, 0, INT_MAX, &id))
			continue;
		/* The interface was merged as "nodes", renamed in 6.1. */
		if (numa_read(sysroot, buf, sizeof(buf), TIER_DIR "/%s/nodelist",
			      de->d_name) < 0 &&
		    numa_read(sysroot, buf, sizeof(buf), TIER_DIR "/%s/nodes",
			      de->d_name) < 0)
			continue;
		if (!cdm_parse_nodelist(buf, &m) && cdm_nodemask_test(&m, node)) {
			tier = id;
			break;
		}
	}
	closedir(dir);
	return tier;
}

/* One HMAT figure of @node from its nearest initiator, 0 if unknown. */
static uint32_t numa_hmat(const char *sysroot, int node, const char *attr)
{
	char buf[32];
	long long v;

	if (numa_read(sysroot, buf, sizeof(buf),
		      NODE_DIR "/node%d/access0/initiators/%s", node, attr) < 0 ||
	    numa_parse_long(buf, 0, UINT32_MAX, &v))
		return 0;
	return v;
}

/* Tier and HMAT figures of @dev, taken from its first node. */
static void numa_fill_perf(const char *sysroot, struct cdm_device *dev)
{
	dev->tier = numa_tier(sysroot, dev->node);
	dev->read_latency_ns = numa_hmat(sysroot, dev->node, "read_latency");
	dev->write_latency_ns = numa_hmat(sysroot, dev->node, "write_latency");
	dev->read_bandwidth_mbs = numa_hmat(sysroot, dev->node,
					    "read_bandwidth");
	dev->write_bandwidth_mbs = numa_hmat(sysroot, dev->node,
					     "write_bandwidth");
}

/*
 * Is dax device @name below a CXL region?  Walk up its resolved sysfs path:
 * a directory "regionK" that CXL_DIR/regionK also resolves to is a CXL
 * region.  Matching the name alone would take nvdimm regions (also
 * "regionK", but on the nd bus) for CXL.
 */
static bool numa_dax_is_cxl(const char *sysroot, const char *name)
{
	char path[PATH_MAX], real[PATH_MAX], region[PATH_MAX];
	const char *p;

	if (numa_path(path, sizeof(path), sysroot, DAX_DIR "/%s", name) ||
	    !realpath(path, real))
		return false;
	for (p = real; (p = strstr(p, "/region")); p++) {
		const char *comp = p + 1;
		size_t clen = strcspn(comp, "/"), plen = comp - real + clen;
		const char *digits = comp + 6;

		if (clen == 6 || strspn(digits, "0123456789") != clen - 6)
			continue;
		if (numa_path(path, sizeof(path), sysroot, CXL_DIR "/%.*s",
			      (int)clen, comp) ||
		    !realpath(path, region))
			continue;
		if (strlen(region) == plen && !memcmp(region, real, plen))
			return true;
	}
	return false;
}

/*
 * CDM_KIND_CXL or CDM_KIND_KMEM if some dax device targets @node, -ENOENT
 * if none does.
 */
static int numa_dax_kind(const char *sysroot, int node)
{
	char path[PATH_MAX], buf[32];
	struct dirent *de;
	int kind = -ENOENT;
	DIR *dir;

	if (numa_path(path, sizeof(path), sysroot, DAX_DIR))
		return -ENOENT;
	dir = opendir(path);
	if (!dir)
		return -ENOENT;
	while ((de = readdir(dir))) {
		long long target;

		if (de->d_name[0] == '.')
			continue;
		/* target_node is -1 for dax devices without one. */
		if (numa_read(sysroot, buf, sizeof(buf), DAX_DIR "/%s/target_node",
			      de->d_name) < 0 ||
		    numa_parse_long(buf, -1, CDM_MAX_NODES - 1, &target) ||
		    target != node)
			continue;
		if (numa_dax_is_cxl(sysroot, de->d_name)) {
			kind = CDM_KIND_CXL;
			break;
		}
		kind = CDM_KIND_KMEM;
	}
	closedir(dir);
	return kind;
}

/*
 * Kind of CPU-less node @dev, first match wins:
 *  1. CDM_KIND_CXL: a dax device whose target_node is the node sits below a
 *     CXL region (see numa_dax_is_cxl()): kmem onlined a CXL region.
 *  2. CDM_KIND_KMEM: a dax device targets the node but no CXL region is
 *     above it (soft-reserved "hmem" memory, pmem in system-ram mode).
 *  3. CDM_KIND_HBM: no dax device, and the node's HMAT read bandwidth is
 *     above the host's (Xeon Max flat mode).  Needs both figures.
 *  4. CDM_KIND_MEMORY: anything else, e.g. GH200 GPU memory onlined by
 *     the driver, or CXL memory firmware already onlined as plain RAM
 *     (no dax device, so nothing tells it from other memory).
 * Origin goes before speed: a dax device is a fact, bandwidth a guess.
 */
static enum cdm_kind numa_kind(const char *sysroot, const struct cdm_device *dev,
			       uint32_t host_read_bandwidth)
{
	int kind = numa_dax_kind(sysroot, dev->node);

	if (kind >= 0)
		return kind;
	if (host_read_bandwidth && dev->read_bandwidth_mbs > host_read_bandwidth)
		return CDM_KIND_HBM;
	return CDM_KIND_MEMORY;
}

static void numa_device_init(struct cdm_device *dev, const char *name,
			     enum cdm_kind kind)
{
	memset(dev, 0, sizeof(*dev));
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	dev->kind = kind;
	dev->ops = &cdm_numa_ops;
	dev->node = -1;
	dev->tier = -1;
}

static int numa_probe(const char *sysroot, struct cdm_device_list *list)
{
	struct cdm_nodemask mem, cpu, devnodes = { { 0 } };
	uint64_t sizes[CDM_MAX_NODES];
	size_t start = list->count;
	char buf[NUMA_BUF];
	struct cdm_device host;
	ssize_t n;
	int ret;

	n = numa_read(sysroot, buf, sizeof(buf), NODE_DIR "/has_memory");
	if (n < 0) {
		cdm_log(LOG_ERR, "%s%s/has_memory: %s", sysroot ? sysroot : "",
			NODE_DIR, strerror(-n));
		return n;
	}
	ret = cdm_parse_nodelist(buf, &mem);
	if (ret)
		goto err_parse;
	ret = numa_cpu_nodes(sysroot, &mem, &cpu);
	if (ret)
		goto err_parse;

	/*
	 * Read every size first, so that a node unplugged under us is simply
	 * left out, and placeholder nodes with nothing onlined (GH200 has
	 * eight) never become devices even if has_memory lists them.
	 */
	for (int node = 0; node < CDM_MAX_NODES; node++) {
		if (!cdm_nodemask_test(&mem, node))
			continue;
		ret = numa_meminfo(sysroot, node, &sizes[node], NULL);
		if (ret == -ENOENT)
			continue;
		if (ret)
			return ret;
		if (sizes[node])
			cdm_nodemask_set(&devnodes, node);
	}

	numa_device_init(&host, "host", CDM_KIND_HOST);
	for (int node = 0; node < CDM_MAX_NODES; node++) {
		if (!cdm_nodemask_test(&devnodes, node) ||
		    !cdm_nodemask_test(&cpu, node))
			continue;
		if (host.node < 0)
			host.node = node;
		cdm_nodemask_set(&host.nodes, node);
		host.size += sizes[node];
	}
	if (host.node >= 0) {
		numa_fill_perf(sysroot, &host);
		ret = cdm_device_list_add(list, &host);
		if (ret)
			goto err_add;
	}

	for (int node = 0; node < CDM_MAX_NODES; node++) {
		struct cdm_device dev;
		char name[CDM_NAME_MAX];

		if (!cdm_nodemask_test(&devnodes, node) ||
		    cdm_nodemask_test(&cpu, node))
			continue;
		snprintf(name, sizeof(name), "node%d", node);
		numa_device_init(&dev, name, CDM_KIND_MEMORY);
		dev.node = node;
		cdm_nodemask_set(&dev.nodes, node);
		dev.size = sizes[node];
		numa_fill_perf(sysroot, &dev);
		dev.kind = numa_kind(sysroot, &dev, host.read_bandwidth_mbs);
		ret = cdm_device_list_add(list, &dev);
		if (ret)
			goto err_add;
	}
	return 0;

err_parse:
	cdm_log(LOG_ERR, "%s%s: cannot tell nodes apart: %s",
		sysroot ? sysroot : "", NODE_DIR, strerror(-ret));
	return ret;
err_add:
	cdm_log(LOG_ERR, "numa: cannot add device: %s", strerror(-ret));
	/* All or nothing: devices carry no resources, dropping them is enough. */
	list->count = start;
	return ret;
}

static int numa_usage(const char *sysroot, const struct cdm_device *dev,
		      uint64_t *size, uint64_t *avail)
{
	uint64_t total = 0, avail_sum = 0;
	bool any = false;

	for (int node = 0; node < CDM_MAX_NODES; node++) {
		uint64_t t, a;
		int ret;

		if (!cdm_nodemask_test(&dev->nodes, node))
			continue;
		ret = numa_meminfo(sysroot, node, &t, &a);
		if (ret)
			return ret;
		total += t;
		avail_sum += a;
		any = true;
	}
	if (!any)
		return -EINVAL;
	*size = total;
	*avail = avail_sum;
	return 0;
}

/* DAMON paddr over the file's frames (heat.c) */
static int numa_heat(int fd, uint64_t off, uint64_t chunk, size_t nchunks,
		     uint32_t *heat)
{
	if (!nchunks) {
		cdm_heat_forget(fd);
		return 0;
	}
	return cdm_heat_file(fd, off, chunk, nchunks, heat);
}

const struct cdm_backend_ops cdm_numa_ops = {
	.name = "numa",
	.probe = numa_probe,
	.usage = numa_usage,
	.translate = cdm_mpol_translate,
	.bind = cdm_mpol_bind,
	.move = cdm_mpol_move,
	.residency = cdm_mpol_residency,
	.heat = numa_heat,
};
