// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * user.cdm.policy grammar: every form, canonical output, bad input; and
 * how each backend's translate op places a file of its device.
 */
#include <errno.h>
#include <numaif.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cdmfs/cdmkm.h"
#include "cdmfs/policy.h"

static struct cdm_device_list devs;

static int setup(void **state)
{
	static const char *const names[] = { "host", "node1", "node2", "gpu0" };

	for (int i = 0; i < 4; i++) {
		struct cdm_device d = { .tier = -1, .node = i < 3 ? i : -1 };

		strcpy(d.name, names[i]);
		if (i < 3)
			cdm_nodemask_set(&d.nodes, i);
		d.simulated = i == 3;
		d.kind = i == 0 ? CDM_KIND_HOST : i < 3 ? CDM_KIND_CXL : CDM_KIND_SIM;
		d.ops = i < 3 ? &cdm_numa_ops : &cdm_sim_ops;
		assert_int_equal(cdm_device_list_add(&devs, &d), 0);
	}
	/* two regions of the helper module: devices 4 and 5 */
	for (int i = 0; i < 2; i++) {
		struct cdm_device d = { .tier = -1, .node = -1,
					.kind = CDM_KIND_COHERENT,
					.ops = &cdm_cdmkm_ops };

		snprintf(d.name, sizeof(d.name), "cdm%d", i);
		assert_int_equal(cdm_device_list_add(&devs, &d), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	cdm_device_list_free(&devs);
	return 0;
}

static int parse(const char *s, struct cdm_policy *p)
{
	return cdm_policy_parse(s, strlen(s), &devs, p);
}

static void roundtrip(const char *in, const char *canon)
{
	struct cdm_policy p;
	char buf[CDM_POLICY_STRLEN];

	assert_int_equal(parse(in, &p), 0);
	assert_true(cdm_policy_format(&p, &devs, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, canon);
}

static void test_forms(void **state)
{
	struct cdm_policy p;

	roundtrip("bind:node1", "bind:node1");
	roundtrip("bind:node1\n", "bind:node1");	/* setfattr -v from a file */
	roundtrip("preferred:node2", "preferred:node2");
	roundtrip("interleave:node1,node2", "interleave:node1,node2");
	roundtrip("weighted-interleave:host,node2", "weighted-interleave:host,node2");
	roundtrip("inherit", "inherit");
	assert_int_equal(parse("interleave:node2,host,node1", &p), 0);
	assert_int_equal(p.mode, CDM_POLICY_INTERLEAVE);
	assert_int_equal(p.ndev, 3);
	assert_int_equal(p.dev[0], 2);
	assert_int_equal(p.dev[1], 0);
	/* not NUL-terminated: the length rules */
	assert_int_equal(cdm_policy_parse("bind:node1XYZ", 10, &devs, &p), 0);
	assert_int_equal(p.dev[0], 1);
}

static void test_bad(void **state)
{
	static const char *const bad[] = {
		"", "bind", "bind:", ":node1", "bind:node1,", "bind:,node1",
		"bind:node1,node2", "preferred:node1,node2", "Bind:node1",
		"bind :node1", "bind: node1", "bind:node1 ", "bind:node1\n\n",
		"interleave:node1,node1", "interleave:node1,,node2", "inherit:x",
		"inheritx", "migrate:node1", "bind:node1\nbind:node2",
	};
	struct cdm_policy p = { .mode = CDM_POLICY_PREFERRED, .ndev = 1 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &p) != -EINVAL)
			fail_msg("'%s' was not rejected with EINVAL", bad[i]);
		/* nothing changed */
		assert_int_equal(p.mode, CDM_POLICY_PREFERRED);
	}
	assert_int_equal(cdm_policy_parse("bind:no\0de1", 11, &devs, &p), -EINVAL);
	assert_int_equal(parse("bind:node9", &p), -ENODEV);
	assert_int_equal(parse("interleave:node1,nodeX", &p), -ENODEV);
	assert_int_equal(parse("bind:averyveryveryverylongdevicenameover31", &p), -EINVAL);
}

static void test_tiered(void **state)
{
	static const char *const bad[] = {
		"tiered:node1", "tiered:node1,node1", "tiered:node1,node9",
		"tiered:node9,node1", "tiered:node1,gpu0", "tiered:gpu0,node1",
		"tiered:node1,node2,host", "tiered:node1,node2,budget=",
		"tiered:node1,node2,budget=0", "tiered:node1,node2,budget=0%",
		"tiered:node1,node2,budget=101%", "tiered:node1,node2,budget=%",
		"tiered:node1,node2,budget=5K%", "tiered:node1,node2,budget=-1",
		"tiered:node1,node2,budget=1M,budget=2M", "tiered:node1,node2,",
		"tiered:node1,node2,budget=1M,", "tiered:node1,node2,Budget=1M",
		"tiered:node1,cdm0",
	};
	struct cdm_nodemask m;
	struct cdm_policy p;
	const char *why;
	int mode;

	roundtrip("tiered:node1,node2", "tiered:node1,node2");
	roundtrip("tiered:node2,host", "tiered:node2,host");
	roundtrip("tiered:node1,node2,budget=64M", "tiered:node1,node2,budget=64M");
	roundtrip("tiered:node1,node2,budget=1048576", "tiered:node1,node2,budget=1M");
	roundtrip("tiered:node1,node2,budget=1000", "tiered:node1,node2,budget=1000");
	roundtrip("tiered:node1,node2,budget=25%\n", "tiered:node1,node2,budget=25%");
	roundtrip("tiered:node1,node2,budget=100%", "tiered:node1,node2,budget=100%");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p.mode = CDM_POLICY_BIND;
		/* tiered is refused as a whole: EINVAL, even for no such device */
		if (cdm_policy_parse_why(bad[i], strlen(bad[i]), &devs, &p,
					 &why) != -EINVAL)
			fail_msg("'%s' was not rejected with EINVAL", bad[i]);
		assert_non_null(why);
		assert_int_equal(p.mode, CDM_POLICY_BIND);
	}
	assert_int_equal(cdm_policy_parse_why("tiered:node2,node2", 18, &devs,
					      &p, &why), -EINVAL);
	assert_string_equal(why, "FAST and SLOW are the same device");
	assert_int_equal(cdm_policy_parse_why("tiered:node2,gpu0", 17, &devs,
					      &p, &why), -EINVAL);
	assert_non_null(strstr(why, "no placement"));
	assert_int_equal(cdm_policy_parse_why("tiered:node2,nodeX", 18, &devs,
					      &p, &why), -EINVAL);
	assert_string_equal(why, "no such device");

	/* new pages start on FAST and fall back: preferred FAST */
	assert_int_equal(parse("tiered:node2,node1", &p), 0);
	assert_int_equal(p.mode, CDM_POLICY_TIERED);
	assert_int_equal(p.dev[0], 2);
	assert_int_equal(p.dev[1], 1);
	cdm_policy_mempolicy(&p, &devs, &mode, &m);
	assert_int_equal(mode, MPOL_PREFERRED);
	assert_true(cdm_nodemask_test(&m, 2));
	assert_false(cdm_nodemask_test(&m, 1));
	cdm_policy_nodes(&p, &devs, &m);
	assert_true(cdm_nodemask_test(&m, 1) && cdm_nodemask_test(&m, 2));
	assert_false(cdm_nodemask_test(&m, 0));

	/* the budget: bytes, a share of FAST, or all of it */
	assert_true(cdm_policy_budget(&p, 1 << 30) == UINT64_MAX);
	assert_int_equal(parse("tiered:node2,node1,budget=64M", &p), 0);
	assert_true(cdm_policy_budget(&p, 1 << 30) == 64 << 20);
	assert_int_equal(parse("tiered:node2,node1,budget=25%", &p), 0);
	assert_true(cdm_policy_budget(&p, 1 << 30) == 256 << 20);
	assert_true(cdm_policy_budget(&p, 0) == UINT64_MAX);
}

static void test_too_many(void **state)
{
	char s[1024] = "interleave:host";
	struct cdm_policy p;

	/* 17 entries: over CDM_POLICY_MAX_DEVS even before duplicates */
	for (int i = 0; i < CDM_POLICY_MAX_DEVS; i++)
		strcat(s, ",node1");
	assert_int_equal(parse(s, &p), -EINVAL);
}

static void test_mempolicy(void **state)
{
	struct cdm_nodemask m;
	struct cdm_policy p;
	int mode;

	assert_int_equal(parse("bind:node2", &p), 0);
	cdm_policy_mempolicy(&p, &devs, &mode, &m);
	assert_int_equal(mode, MPOL_BIND);
	assert_true(cdm_nodemask_test(&m, 2));
	assert_false(cdm_nodemask_test(&m, 1));
	assert_int_equal(parse("interleave:node1,node2", &p), 0);
	cdm_policy_mempolicy(&p, &devs, &mode, &m);
	assert_int_equal(mode, MPOL_INTERLEAVE);
	assert_true(cdm_nodemask_test(&m, 1) && cdm_nodemask_test(&m, 2));
	assert_int_equal(parse("preferred:node1", &p), 0);
	cdm_policy_mempolicy(&p, &devs, &mode, &m);
	assert_int_equal(mode, MPOL_PREFERRED);
	/* a simulated device has no nodes: logical placement only */
	assert_int_equal(parse("bind:gpu0", &p), 0);
	cdm_policy_mempolicy(&p, &devs, &mode, &m);
	assert_int_equal(mode, MPOL_DEFAULT);
	cdm_policy_default(&p, 1);
	assert_int_equal(p.mode, CDM_POLICY_BIND);
	assert_true(cdm_policy_has_device(&p, 1));
	assert_false(cdm_policy_has_device(&p, 2));
}

/*
 * A policy for a file of device @filedev, as that device's backend
 * translates it: 0 and @out, or -errno.
 */
static int place(const char *s, uint16_t filedev, struct cdm_placement *out)
{
	struct cdm_policy p;

	assert_int_equal(parse(s, &p), 0);
	return devs.dev[filedev].ops->translate(&p, &devs, filedev, out);
}

static void test_placement(void **state)
{
	struct cdm_placement pl;

	/* a file of node1: NUMA policy, no region */
	assert_int_equal(place("bind:node2", 1, &pl), 0);
	assert_false(pl.logical);
	assert_int_equal(pl.mode, MPOL_BIND);
	assert_true(cdm_nodemask_test(&pl.nodes, 2));
	assert_int_equal(place("bind:cdm0", 1, &pl), -EINVAL);
	assert_int_equal(place("interleave:node1,cdm0", 1, &pl), -EINVAL);
	/* a file of a simulated device: host RAM, placed logically */
	assert_int_equal(place("bind:gpu0", 3, &pl), 0);
	assert_true(pl.logical);
	assert_int_equal(pl.mode, MPOL_DEFAULT);
	assert_int_equal(place("preferred:node1", 3, &pl), 0);
	assert_false(pl.logical);
	assert_int_equal(place("bind:cdm0", 3, &pl), -EINVAL);

	/* a file of region cdm0 (device 4) */
	assert_int_equal(place("bind:cdm0", 4, &pl), 0);
	assert_false(pl.logical);
	assert_int_equal(pl.place, CDMKM_PLACE_DEVICE);
	assert_int_equal(place("preferred:cdm0", 4, &pl), 0);
	assert_int_equal(pl.place, CDMKM_PLACE_PREFERRED);
	assert_int_equal(place("bind:node2", 4, &pl), 0);
	assert_int_equal(pl.place, CDMKM_PLACE_RAM);
	assert_int_equal(pl.nid, 2);
	assert_int_equal(place("preferred:node1", 4, &pl), 0);
	assert_int_equal(pl.place, CDMKM_PLACE_RAM);
	assert_int_equal(pl.nid, 1);
	/* the host (any CPU node) and simulated devices: RAM anywhere */
	assert_int_equal(place("bind:host", 4, &pl), 0);
	assert_int_equal(pl.place, CDMKM_PLACE_RAM);
	assert_int_equal(pl.nid, -1);
	assert_int_equal(place("bind:gpu0", 4, &pl), 0);
	assert_int_equal(pl.nid, -1);

	/* tiered: preferred FAST for a file of a node; never a region's */
	assert_int_equal(place("tiered:node2,node1", 1, &pl), 0);
	assert_int_equal(pl.mode, MPOL_PREFERRED);
	assert_true(cdm_nodemask_test(&pl.nodes, 2));
	assert_false(cdm_nodemask_test(&pl.nodes, 1));
	assert_int_equal(place("tiered:node2,node1", 4, &pl), -EINVAL);

	/* what the module cannot do */
	assert_int_equal(place("bind:cdm1", 4, &pl), -EINVAL);
	assert_int_equal(place("interleave:cdm0,node1", 4, &pl), -EINVAL);
	assert_int_equal(place("interleave:node1,node2", 4, &pl), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_tiered),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_mempolicy),
		cmocka_unit_test(test_placement),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
