// SPDX-License-Identifier: GPL-2.0-or-later
/* The sysfs reader and the pure parsers of backend/sysfs.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cdmfs/backend.h"

static int popcount(const struct cdm_nodemask *m)
{
	int n = 0;

	for (size_t i = 0; i < sizeof(m->bits) / sizeof(m->bits[0]); i++)
		n += __builtin_popcountll(m->bits[i]);
	return n;
}

static void test_nodelist_valid(void **state)
{
	struct cdm_nodemask m;

	assert_int_equal(cdm_parse_nodelist("0", &m), 0);
	assert_int_equal(popcount(&m), 1);
	assert_true(cdm_nodemask_test(&m, 0));

	assert_int_equal(cdm_parse_nodelist("0-3,8,10-11", &m), 0);
	assert_int_equal(popcount(&m), 7);
	for (int n = 0; n <= 3; n++)
		assert_true(cdm_nodemask_test(&m, n));
	assert_false(cdm_nodemask_test(&m, 4));
	assert_true(cdm_nodemask_test(&m, 8));
	assert_false(cdm_nodemask_test(&m, 9));
	assert_true(cdm_nodemask_test(&m, 10));
	assert_true(cdm_nodemask_test(&m, 11));
	assert_false(cdm_nodemask_test(&m, 12));

	/* Word boundaries of the mask and the highest node. */
	assert_int_equal(cdm_parse_nodelist("63-64,1023", &m), 0);
	assert_int_equal(popcount(&m), 3);
	assert_true(cdm_nodemask_test(&m, 63));
	assert_true(cdm_nodemask_test(&m, 64));
	assert_true(cdm_nodemask_test(&m, CDM_MAX_NODES - 1));

	assert_int_equal(cdm_parse_nodelist("0-1023", &m), 0);
	assert_int_equal(popcount(&m), CDM_MAX_NODES);

	/* Single-node range, and the file read raw with its newline. */
	assert_int_equal(cdm_parse_nodelist("5-5\n", &m), 0);
	assert_int_equal(popcount(&m), 1);
	assert_true(cdm_nodemask_test(&m, 5));

	/* Overlaps are harmless. */
	assert_int_equal(cdm_parse_nodelist("2-4,3", &m), 0);
	assert_int_equal(popcount(&m), 3);
}

static void test_nodelist_malformed(void **state)
{
	static const char *const bad[] = {
		"", "\n", " ", " 0", "a", "0a", "0,", ",0", "0,,1", "0--1",
		"-1", "1-", "-", "3-1", "0-3,8-7", "+1", "0x1", "1 2", "1,2 x",
		"0:1", "0-31:4/8", "1.5", "0-1,", "4294967296",
	};
	struct cdm_nodemask m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = cdm_parse_nodelist(bad[i], &m);

		if (ret != -EINVAL && ret != -ERANGE)
			fail_msg("\"%s\" gave %d", bad[i], ret);
	}
	assert_int_equal(cdm_parse_nodelist("3-1", &m), -EINVAL);
	assert_int_equal(cdm_parse_nodelist(NULL, &m), -EINVAL);
	assert_int_equal(cdm_parse_nodelist("0", NULL), -EINVAL);
}

static void test_nodelist_range(void **state)
{
	struct cdm_nodemask m;

	assert_int_equal(cdm_parse_nodelist("1024", &m), -ERANGE);
	assert_int_equal(cdm_parse_nodelist("0-1024", &m), -ERANGE);
	assert_int_equal(cdm_parse_nodelist("0,2000-3000", &m), -ERANGE);
	assert_int_equal(cdm_parse_nodelist("99999999999999999999999", &m),
			 -ERANGE);
	assert_int_equal(cdm_parse_nodelist("18446744073709551615", &m),
			 -ERANGE);
}

static void test_nodelist_error_keeps_mask(void **state)
{
	struct cdm_nodemask m;

	assert_int_equal(cdm_parse_nodelist("7", &m), 0);
	assert_int_not_equal(cdm_parse_nodelist("1,2,junk", &m), 0);
	assert_int_equal(popcount(&m), 1);
	assert_true(cdm_nodemask_test(&m, 7));
}

/* A real node meminfo, 6.12 field widths, one value too wide for %8lu. */
static const char node_meminfo[] =
	"Node 1 MemTotal:       264196608 kB\n"
	"Node 1 MemFree:        259811328 kB\n"
	"Node 1 MemUsed:         4385280 kB\n"
	"Node 1 Active(anon):    1398101 kB\n"
	"Node 1 Active:          1922389 kB\n"
	"Node 1 ShadowCallStack:12345678 kB\n"
	"Node 1 HugePages_Total:     0\n"
	"Node 1 HugePages_Free:      0";

static void test_meminfo_valid(void **state)
{
	uint64_t b;

	assert_int_equal(cdm_parse_meminfo(node_meminfo, "MemTotal", &b), 0);
	assert_true(b == 264196608ULL * 1024);
	assert_int_equal(cdm_parse_meminfo(node_meminfo, "MemFree", &b), 0);
	assert_true(b == 259811328ULL * 1024);
	/* "Active" must not take the "Active(anon)" line before it. */
	assert_int_equal(cdm_parse_meminfo(node_meminfo, "Active", &b), 0);
	assert_true(b == 1922389ULL * 1024);
	assert_int_equal(cdm_parse_meminfo(node_meminfo, "Active(anon)", &b), 0);
	assert_true(b == 1398101ULL * 1024);
	assert_int_equal(cdm_parse_meminfo(node_meminfo, "ShadowCallStack", &b),
			 0);
	assert_true(b == 12345678ULL * 1024);

	/* /proc/meminfo has no "Node N" prefix. */
	assert_int_equal(cdm_parse_meminfo("MemTotal:       16178804 kB\n"
					   "MemFree:         9623044 kB\n",
					   "MemFree", &b), 0);
	assert_true(b == 9623044ULL * 1024);

	/* Zero, as on a memoryless placeholder node; two-digit node ids. */
	assert_int_equal(cdm_parse_meminfo("Node 17 MemTotal:        0 kB",
					   "MemTotal", &b), 0);
	assert_true(b == 0);
}

static void test_meminfo_malformed(void **state)
{
	uint64_t b = 42;

	assert_int_equal(cdm_parse_meminfo(node_meminfo, "MemAvailable", &b),
			 -ENOENT);
	assert_int_equal(cdm_parse_meminfo(node_meminfo, "Mem", &b), -ENOENT);
	assert_int_equal(cdm_parse_meminfo(node_meminfo, "MemTotal:", &b),
			 -EINVAL);
	assert_int_equal(cdm_parse_meminfo(node_meminfo, "", &b), -EINVAL);
	assert_int_equal(cdm_parse_meminfo("", "MemTotal", &b), -ENOENT);
	assert_int_equal(cdm_parse_meminfo("\n\n\n", "MemTotal", &b), -ENOENT);
	/* A count, not a size. */
	assert_int_equal(cdm_parse_meminfo(node_meminfo, "HugePages_Total", &b),
			 -EINVAL);
	assert_int_equal(cdm_parse_meminfo("Node 0 MemTotal:  kB", "MemTotal",
					   &b), -EINVAL);
	assert_int_equal(cdm_parse_meminfo("Node 0 MemTotal: -5 kB", "MemTotal",
					   &b), -EINVAL);
	assert_int_equal(cdm_parse_meminfo("Node 0 MemTotal: 12x kB", "MemTotal",
					   &b), -EINVAL);
	assert_int_equal(cdm_parse_meminfo("Node 0 MemTotal: 12 MB", "MemTotal",
					   &b), -EINVAL);
	assert_int_equal(cdm_parse_meminfo("Node 0 MemTotal: 12 kB junk",
					   "MemTotal", &b), -EINVAL);
	assert_int_equal(cdm_parse_meminfo("Node 0 MemTotal: 12", "MemTotal",
					   &b), -EINVAL);
	assert_int_equal(cdm_parse_meminfo("Node x MemTotal: 12 kB", "MemTotal",
					   &b), -ENOENT);
	/* N kB must fit in 64 bits of bytes. */
	assert_int_equal(cdm_parse_meminfo("MemTotal: 18014398509481984 kB",
					   "MemTotal", &b), -ERANGE);
	assert_int_equal(cdm_parse_meminfo("MemTotal: 99999999999999999999 kB",
					   "MemTotal", &b), -ERANGE);
	assert_true(b == 42);
	assert_int_equal(cdm_parse_meminfo("MemTotal: 18014398509481983 kB",
					   "MemTotal", &b), 0);
	assert_true(b == 18014398509481983ULL * 1024);
	assert_int_equal(cdm_parse_meminfo(NULL, "MemTotal", &b), -EINVAL);
	assert_int_equal(cdm_parse_meminfo(node_meminfo, NULL, &b), -EINVAL);
	assert_int_equal(cdm_parse_meminfo(node_meminfo, "MemTotal", NULL),
			 -EINVAL);
}

static void test_size_valid(void **state)
{
	static const struct {
		const char *s;
		uint64_t bytes;
	} ok[] = {
		{ "0", 0 },
		{ "4096", 4096 },
		{ "1k", 1024 },
		{ "1K", 1024 },
		{ "64M", 64ULL << 20 },
		{ "2g", 2ULL << 30 },
		{ "96G", 96ULL << 30 },
		{ "16T", 16ULL << 40 },
		{ "18446744073709551615", UINT64_MAX },
		{ "16777215T", 16777215ULL << 40 },
	};
	uint64_t b;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cdm_parse_size(ok[i].s, &b), 0);
		assert_true(b == ok[i].bytes);
	}
}

static void test_size_malformed(void **state)
{
	static const char *const bad[] = {
		"", " ", " 1G", "1G ", "G", "-1", "+1", "1.5G", "1GB", "1GiB",
		"1P", "0x10", "1 G", "1GG", "abc", "1e9",
	};
	uint64_t b = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = cdm_parse_size(bad[i], &b);

		if (ret != -EINVAL)
			fail_msg("\"%s\" gave %d", bad[i], ret);
	}
	assert_int_equal(cdm_parse_size("18446744073709551616", &b), -ERANGE);
	assert_int_equal(cdm_parse_size("16777216T", &b), -ERANGE);
	assert_int_equal(cdm_parse_size("18014398509481984K", &b), -ERANGE);
	assert_true(b == 42);
	assert_int_equal(cdm_parse_size(NULL, &b), -EINVAL);
	assert_int_equal(cdm_parse_size("1", NULL), -EINVAL);
}

struct tmpdir {
	char path[64];
};

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int tmpdir_setup(void **state)
{
	struct tmpdir *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	snprintf(t->path, sizeof(t->path), "/tmp/cdmfs-test-sysfs.XXXXXX");
	if (!mkdtemp(t->path)) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

static int tmpdir_teardown(void **state)
{
	struct tmpdir *t = *state;
	static const char *const names[] = { "online", "empty", "big", "fit" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", t->path, names[i]);
		unlink(path);
	}
	rmdir(t->path);
	free(t);
	return 0;
}

static void test_read_sysroot(void **state)
{
	struct tmpdir *t = *state;
	char root[PATH_MAX], path[PATH_MAX], buf[64];

	write_file(t->path, "online", "0-3\n");
	snprintf(path, sizeof(path), "%s/online", t->path);
	/* "" and "/" are the running system: the path is taken as it is. */
	assert_int_equal(cdm_sysfs_read("", path, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "0-3");
	assert_int_equal(cdm_sysfs_read("/", path, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "0-3");
	assert_int_equal(cdm_sysfs_read(NULL, path, buf, sizeof(buf)), 3);

	assert_int_equal(cdm_sysfs_read(t->path, "/online", buf, sizeof(buf)),
			 3);
	assert_string_equal(buf, "0-3");
	snprintf(root, sizeof(root), "%s/", t->path);
	assert_int_equal(cdm_sysfs_read(root, "/online", buf, sizeof(buf)), 3);
	assert_string_equal(buf, "0-3");

	assert_int_equal(cdm_sysfs_read(t->path, "/missing", buf, sizeof(buf)),
			 -ENOENT);
	assert_int_equal(cdm_sysfs_read("/nonexistent-sysroot", "/online", buf,
					sizeof(buf)), -ENOENT);
}

static void test_read_contents(void **state)
{
	struct tmpdir *t = *state;
	char buf[8];

	/* An empty cpulist is one newline: reads as "". */
	write_file(t->path, "empty", "\n");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(cdm_sysfs_read(t->path, "/empty", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");

	/* Seven bytes and the NUL fit in eight. */
	write_file(t->path, "fit", "1234567");
	assert_int_equal(cdm_sysfs_read(t->path, "/fit", buf, sizeof(buf)), 7);
	assert_string_equal(buf, "1234567");

	/* Never a silently truncated value. */
	write_file(t->path, "big", "0-3,8-11\n");
	assert_int_equal(cdm_sysfs_read(t->path, "/big", buf, sizeof(buf)),
			 -EOVERFLOW);
}

static void test_read_bad_args(void **state)
{
	struct tmpdir *t = *state;
	char buf[8], longroot[PATH_MAX + 16];

	assert_int_equal(cdm_sysfs_read(t->path, "online", buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(cdm_sysfs_read(t->path, NULL, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(cdm_sysfs_read(t->path, "/online", NULL, 8), -EINVAL);
	assert_int_equal(cdm_sysfs_read(t->path, "/online", buf, 0), -EINVAL);
	memset(longroot, 'a', sizeof(longroot) - 1);
	longroot[0] = '/';
	longroot[sizeof(longroot) - 1] = '\0';
	assert_int_equal(cdm_sysfs_read(longroot, "/online", buf, sizeof(buf)),
			 -ENAMETOOLONG);
}

static void test_read_fake_tree(void **state)
{
	char buf[4096];
	struct cdm_nodemask m;
	uint64_t b;

	assert_int_equal(cdm_sysfs_read(FAKE_SYSFS "/cxl-server",
					"/sys/devices/system/node/has_memory",
					buf, sizeof(buf)), 3);
	assert_int_equal(cdm_parse_nodelist(buf, &m), 0);
	assert_int_equal(popcount(&m), 3);

	assert_true(cdm_sysfs_read(FAKE_SYSFS "/grace-hopper",
				   "/sys/devices/system/node/node1/meminfo",
				   buf, sizeof(buf)) > 0);
	assert_int_equal(cdm_parse_meminfo(buf, "MemTotal", &b), 0);
	assert_true(b == 99614720ULL * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nodelist_valid),
		cmocka_unit_test(test_nodelist_malformed),
		cmocka_unit_test(test_nodelist_range),
		cmocka_unit_test(test_nodelist_error_keeps_mask),
		cmocka_unit_test(test_meminfo_valid),
		cmocka_unit_test(test_meminfo_malformed),
		cmocka_unit_test(test_size_valid),
		cmocka_unit_test(test_size_malformed),
		cmocka_unit_test_setup_teardown(test_read_sysroot,
						tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_contents,
						tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test_setup_teardown(test_read_bad_args,
						tmpdir_setup, tmpdir_teardown),
		cmocka_unit_test(test_read_fake_tree),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
