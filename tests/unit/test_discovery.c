// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NUMA discovery against the checked-in sysfs trees of tests/fake-sysfs,
 * and against small trees built here for what no real machine of ours
 * shows (old kernels, broken files, kmem from non-CXL dax).
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cdmfs/backend.h"

#define KB 1024ULL

struct expect {
	const char *name;
	enum cdm_kind kind;
	const char *nodes;
	uint64_t size;
	int tier;
	uint32_t rlat, wlat, rbw, wbw;
};

static void probe_ok(const char *sysroot, struct cdm_device_list *list)
{
	int ret = cdm_numa_ops.probe(sysroot, list);

	if (ret)
		fail_msg("probe %s: %s", sysroot, strerror(-ret));
}

static void check_device(const struct cdm_device *d, const struct expect *e)
{
	struct cdm_nodemask want;
	int first = -1;

	assert_string_equal(d->name, e->name);
	if (d->kind != e->kind)
		fail_msg("%s: kind %s, want %s", d->name, cdm_kind_name(d->kind),
			 cdm_kind_name(e->kind));
	assert_int_equal(cdm_parse_nodelist(e->nodes, &want), 0);
	assert_memory_equal(&d->nodes, &want, sizeof(want));
	for (int n = 0; n < CDM_MAX_NODES && first < 0; n++)
		if (cdm_nodemask_test(&want, n))
			first = n;
	assert_int_equal(d->node, first);
	assert_true(d->size == e->size);
	assert_int_equal(d->tier, e->tier);
	assert_int_equal(d->read_latency_ns, e->rlat);
	assert_int_equal(d->write_latency_ns, e->wlat);
	assert_int_equal(d->read_bandwidth_mbs, e->rbw);
	assert_int_equal(d->write_bandwidth_mbs, e->wbw);
	assert_ptr_equal(d->ops, &cdm_numa_ops);
	assert_false(d->simulated);
}

static void check_machine(const char *sysroot, const struct expect *e,
			  size_t count)
{
	struct cdm_device_list list = { 0 };

	probe_ok(sysroot, &list);
	assert_int_equal(list.count, count);
	for (size_t i = 0; i < count; i++)
		check_device(&list.dev[i], &e[i]);
	cdm_device_list_free(&list);
}

static void test_laptop(void **state)
{
	static const struct expect e[] = {
		{ "host", CDM_KIND_HOST, "0", 16178804 * KB, 4, 0, 0, 0, 0 },
	};

	check_machine(FAKE_SYSFS "/laptop", e, 1);
}

static void test_cxl_server(void **state)
{
	static const struct expect e[] = {
		{ "host", CDM_KIND_HOST, "0-1", (263534776 + 264196608) * KB, 4,
		  110, 110, 262144, 262144 },
		{ "node2", CDM_KIND_CXL, "2", 134217728 * KB, 35,
		  220, 220, 66560, 66560 },
	};

	check_machine(FAKE_SYSFS "/cxl-server", e, 2);
}

static void test_grace_hopper(void **state)
{
	/* Nodes 2-9 are online without memory: not devices. */
	static const struct expect e[] = {
		{ "host", CDM_KIND_HOST, "0", 503083584 * KB, 4, 0, 0, 0, 0 },
		{ "node1", CDM_KIND_MEMORY, "1", 99614720 * KB, 4, 0, 0, 0, 0 },
	};

	check_machine(FAKE_SYSFS "/grace-hopper", e, 2);
}

static void test_xeon_max_flat(void **state)
{
	static const struct expect e[] = {
		{ "host", CDM_KIND_HOST, "0-1", (263599164 + 264187904) * KB, 4,
		  120, 120, 153600, 153600 },
		{ "node2", CDM_KIND_HBM, "2", 64ULL << 30, 1,
		  140, 140, 409600, 409600 },
		{ "node3", CDM_KIND_HBM, "3", 64ULL << 30, 1,
		  140, 140, 409600, 409600 },
	};

	check_machine(FAKE_SYSFS "/xeon-max-flat", e, 3);
}

static void test_usage(void **state)
{
	const char *root = FAKE_SYSFS "/cxl-server";
	struct cdm_device_list list = { 0 };
	struct cdm_device none = { .name = "none", .node = -1 };
	uint64_t size = 1, avail = 1;

	probe_ok(root, &list);
	assert_int_equal(cdm_numa_ops.usage(root, cdm_device_find(&list, "host"),
					    &size, &avail), 0);
	assert_true(size == (263534776 + 264196608) * KB);
	assert_true(avail == (251234112 + 259811328) * KB);
	assert_int_equal(cdm_numa_ops.usage(root, cdm_device_find(&list, "node2"),
					    &size, &avail), 0);
	assert_true(size == 134217728 * KB);
	assert_true(avail == 134052864 * KB);

	/* A device of no node, or a tree gone away: an error, no output. */
	size = avail = 1;
	assert_int_equal(cdm_numa_ops.usage(root, &none, &size, &avail),
			 -EINVAL);
	assert_int_equal(cdm_numa_ops.usage("/nonexistent",
					    cdm_device_find(&list, "node2"),
					    &size, &avail), -ENOENT);
	assert_true(size == 1 && avail == 1);
	cdm_device_list_free(&list);
}

static void test_missing_tree(void **state)
{
	struct cdm_device_list list = { 0 };

	assert_int_equal(cdm_numa_ops.probe("/nonexistent-sysroot", &list),
			 -ENOENT);
	assert_int_equal(list.count, 0);
	/* A machine directory with no /sys in it. */
	assert_int_equal(cdm_numa_ops.probe(FAKE_SYSFS, &list), -ENOENT);
	assert_int_equal(list.count, 0);
	cdm_device_list_free(&list);
}

static void test_append_and_rollback(void **state)
{
	struct cdm_device_list list = { 0 };
	struct cdm_device sim = { .name = "sim0", .kind = CDM_KIND_SIM,
				  .node = -1, .tier = -1, .simulated = true };

	assert_int_equal(cdm_device_list_add(&list, &sim), 0);
	probe_ok(FAKE_SYSFS "/xeon-max-flat", &list);
	assert_int_equal(list.count, 4);
	assert_string_equal(list.dev[0].name, "sim0");
	assert_string_equal(list.dev[1].name, "host");
	assert_string_equal(list.dev[2].name, "node2");
	assert_string_equal(list.dev[3].name, "node3");
	/* Names clash on a second probe: all or nothing. */
	assert_int_equal(cdm_numa_ops.probe(FAKE_SYSFS "/xeon-max-flat", &list),
			 -EEXIST);
	assert_int_equal(list.count, 4);
	cdm_device_list_free(&list);
}

static void test_ops(void **state)
{
	assert_string_equal(cdm_numa_ops.name, "numa");
	assert_non_null(cdm_numa_ops.probe);
	assert_non_null(cdm_numa_ops.usage);
}

/* Trees built at run time, below a private directory. */

static void put(const char *root, const char *path, const char *text)
{
	char full[PATH_MAX];
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", root, path);
	for (char *p = full + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(full, 0755) && errno != EEXIST)
			fail_msg("mkdir %s: %s", full, strerror(errno));
		*p = '/';
	}
	if (!text)
		return;
	f = fopen(full, "w");
	if (!f)
		fail_msg("%s: %s", full, strerror(errno));
	fprintf(f, "%s\n", text);
	assert_int_equal(fclose(f), 0);
}

static void link_to(const char *root, const char *path, const char *target)
{
	char full[PATH_MAX];

	put(root, path, NULL);
	snprintf(full, sizeof(full), "%s%s", root, path);
	if (symlink(target, full))
		fail_msg("symlink %s: %s", full, strerror(errno));
}

static void put_meminfo(const char *root, int node, unsigned long total_kb,
			unsigned long free_kb)
{
	char path[128], text[256];

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo",
		 node);
	snprintf(text, sizeof(text),
		 "Node %d MemTotal:       %8lu kB\n"
		 "Node %d MemFree:        %8lu kB\n"
		 "Node %d MemUsed:        %8lu kB",
		 node, total_kb, node, free_kb, node, total_kb - free_kb);
	put(root, path, text);
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path);
}

static int tree_setup(void **state)
{
	char *root = strdup("/tmp/cdmfs-test-discovery.XXXXXX");

	if (!root || !mkdtemp(root)) {
		free(root);
		return -1;
	}
	*state = root;
	return 0;
}

static int tree_teardown(void **state)
{
	char *root = *state;

	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
	return 0;
}

#define NODE "/sys/devices/system/node"

/*
 * An old kernel: no has_cpu (CPUs from each cpulist), tiers listed in
 * "nodes", HMAT partly garbage.  Node 1 is kmem from soft-reserved memory
 * (hmem), node 2 kmem from an nvdimm region named like a CXL region that
 * exists but is another one, node 3 in has_memory but gone (unplugged).
 */
static void test_old_kernel_kmem(void **state)
{
	const char *root = *state;
	struct cdm_device_list list = { 0 };
	uint64_t size, avail;

	put(root, NODE "/has_memory", "0-3");
	put(root, NODE "/node0/cpulist", "0-3");
	put(root, NODE "/node1/cpulist", "");
	put(root, NODE "/node2/cpulist", "");
	put_meminfo(root, 0, 8388608, 4194304);
	put_meminfo(root, 1, 4194304, 4194000);
	put_meminfo(root, 2, 2097152, 2097152);
	put(root, NODE "/node0/access0/initiators/read_latency", "80");
	put(root, NODE "/node0/access0/initiators/write_latency", "junk");
	put(root, NODE "/node0/access0/initiators/read_bandwidth", "-5");
	put(root, NODE "/node0/access0/initiators/write_bandwidth",
	    "99999999999");
	put(root, "/sys/devices/virtual/memory_tiering/memory_tier4/nodes",
	    "0");
	put(root, "/sys/devices/virtual/memory_tiering/memory_tier22/nodes",
	    "1-2");
	put(root, "/sys/devices/virtual/memory_tiering/memory_tierX/nodes",
	    "0-3");
	put(root, "/sys/devices/platform/hmem.0/dax1.0/target_node", "1");
	link_to(root, "/sys/bus/dax/devices/dax1.0",
		"../../../devices/platform/hmem.0/dax1.0");
	put(root, "/sys/devices/LNXSYSTM:00/ACPI0012:00/ndbus0/region0/"
		  "dax0.0/dax0.0/target_node", "2");
	link_to(root, "/sys/bus/dax/devices/dax0.0",
		"../../../devices/LNXSYSTM:00/ACPI0012:00/ndbus0/region0/"
		"dax0.0/dax0.0");
	put(root, "/sys/devices/platform/ACPI0017:00/root0/decoder0.0/"
		  "region0/dax_region0/dax9.0/target_node", "-1");
	link_to(root, "/sys/bus/dax/devices/dax9.0",
		"../../../devices/platform/ACPI0017:00/root0/decoder0.0/"
		"region0/dax_region0/dax9.0");
	link_to(root, "/sys/bus/cxl/devices/region0",
		"../../../devices/platform/ACPI0017:00/root0/decoder0.0/"
		"region0");

	probe_ok(root, &list);
	assert_int_equal(list.count, 3);
	assert_string_equal(list.dev[0].name, "host");
	assert_int_equal(list.dev[0].tier, 4);
	assert_int_equal(list.dev[0].read_latency_ns, 80);
	assert_int_equal(list.dev[0].write_latency_ns, 0);
	assert_int_equal(list.dev[0].read_bandwidth_mbs, 0);
	assert_int_equal(list.dev[0].write_bandwidth_mbs, 0);
	assert_string_equal(list.dev[1].name, "node1");
	assert_int_equal(list.dev[1].kind, CDM_KIND_KMEM);
	assert_int_equal(list.dev[1].tier, 22);
	assert_string_equal(list.dev[2].name, "node2");
	assert_int_equal(list.dev[2].kind, CDM_KIND_KMEM);
	assert_true(list.dev[2].size == 2097152 * KB);

	assert_int_equal(cdm_numa_ops.usage(root, &list.dev[1], &size, &avail),
			 0);
	assert_true(size == 4194304 * KB && avail == 4194000 * KB);
	cdm_device_list_free(&list);
}

/*
 * The CXL rule follows the bus link, not the number: dax3.0 sits below
 * region7 while the unrelated region3 also exists.  No CPU node with
 * memory at all: no host device.
 */
static void test_cxl_by_link(void **state)
{
	const char *root = *state;
	struct cdm_device_list list = { 0 };

	put(root, NODE "/has_memory", "1");
	put(root, NODE "/has_cpu", "0");
	put_meminfo(root, 1, 1048576, 1048576);
	put(root, "/sys/devices/platform/ACPI0017:00/root0/decoder0.1/"
		  "region7/dax_region7/dax3.0/target_node", "1");
	put(root, "/sys/devices/platform/ACPI0017:00/root0/decoder0.0/"
		  "region3/size", "0x10000000");
	link_to(root, "/sys/bus/dax/devices/dax3.0",
		"../../../devices/platform/ACPI0017:00/root0/decoder0.1/"
		"region7/dax_region7/dax3.0");
	link_to(root, "/sys/bus/cxl/devices/region3",
		"../../../devices/platform/ACPI0017:00/root0/decoder0.0/"
		"region3");
	link_to(root, "/sys/bus/cxl/devices/region7",
		"../../../devices/platform/ACPI0017:00/root0/decoder0.1/"
		"region7");

	probe_ok(root, &list);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.dev[0].name, "node1");
	assert_int_equal(list.dev[0].kind, CDM_KIND_CXL);
	assert_int_equal(list.dev[0].tier, -1);
	cdm_device_list_free(&list);
}

static void test_malformed_tree(void **state)
{
	const char *root = *state;
	struct cdm_device_list list = { 0 };

	put(root, NODE "/has_memory", "0-2,junk");
	assert_int_equal(cdm_numa_ops.probe(root, &list), -EINVAL);
	assert_int_equal(list.count, 0);

	put(root, NODE "/has_memory", "0");
	put(root, NODE "/has_cpu", "5-1");
	assert_int_equal(cdm_numa_ops.probe(root, &list), -EINVAL);

	put(root, NODE "/has_cpu", "0");
	put(root, NODE "/node0/meminfo", "Node 0 MemTotal: lots kB");
	assert_int_equal(cdm_numa_ops.probe(root, &list), -EINVAL);
	assert_int_equal(list.count, 0);
	cdm_device_list_free(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_laptop),
		cmocka_unit_test(test_cxl_server),
		cmocka_unit_test(test_grace_hopper),
		cmocka_unit_test(test_xeon_max_flat),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_missing_tree),
		cmocka_unit_test(test_append_and_rollback),
		cmocka_unit_test(test_ops),
		cmocka_unit_test_setup_teardown(test_old_kernel_kmem,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_cxl_by_link,
						tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_malformed_tree,
						tree_setup, tree_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
