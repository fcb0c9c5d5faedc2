// SPDX-License-Identifier: GPL-2.0-or-later
/* Option parsing: every option, and bad input rejected with a message. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../fs/options.h"

#define ARGV(...) ((char *[]){ "cdmfs", __VA_ARGS__, NULL })

/* argc counts the arguments after argv[0] */
static int parse(char **argv, int argc, struct cdm_options *o, char *err)
{
	return cdm_options_parse(argc + 1, argv, o, err, 256);
}

/* argv strings must be writable: the parser splits -o lists in place */
static char *w(const char *s)
{
	static char buf[8][256];
	static int i;

	i = (i + 1) % 8;
	strcpy(buf[i], s);
	return buf[i];
}

static void test_basic(void **state)
{
	struct cdm_options o;
	char err[256] = "";
	char **v = ARGV("-f", "-o", w("sim=gpu0:1G,sim=cxl0:4G"), "/mnt/cdm");

	assert_int_equal(parse(v, 4, &o, err), 0);
	assert_string_equal(o.mountpoint, "/mnt/cdm");
	assert_true(o.foreground);
	assert_int_equal(o.sims.count, 2);
	assert_string_equal(o.sims.dev[0].name, "gpu0");
	assert_int_equal(o.sims.dev[0].size, 1ULL << 30);
	assert_true(o.sims.dev[0].simulated);
	assert_int_equal(o.sims.dev[0].kind, CDM_KIND_SIM);
	assert_string_equal(o.sims.dev[1].name, "cxl0");
	assert_int_equal(o.sims.dev[1].size, 4ULL << 30);
	assert_null(o.fuse_opts);
	assert_true(o.attr_timeout == CDM_ATTR_TIMEOUT_DEFAULT);
	assert_int_equal(o.migrate_batch, CDM_MIGRATE_BATCH_DEFAULT);
	assert_false(o.reserve);
	cdm_options_free(&o);
}

static void test_migrate_batch_reserve(void **state)
{
	static const struct { const char *v; uint64_t want; } ok[] = {
		{ "4K", 4096 }, { "2M", 2 << 20 }, { "4m", 4 << 20 },
		{ "1G", 1 << 30 }, { "65536", 65536 },
	};
	struct cdm_options o;
	char err[256] = "", opt[64];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(opt, sizeof(opt), "migrate_batch=%s", ok[i].v);
		assert_int_equal(parse(ARGV("-o", w(opt), "/m"), 3, &o, err), 0);
		assert_int_equal(o.migrate_batch, ok[i].want);
		cdm_options_free(&o);
	}
	assert_int_equal(parse(ARGV("-o", w("reserve,sim=a:1G"), "/m"), 3, &o,
			       err), 0);
	assert_true(o.reserve);
	assert_int_equal(o.migrate_batch, CDM_MIGRATE_BATCH_DEFAULT);
	cdm_options_free(&o);
	/* the last one given wins, as for every option */
	assert_int_equal(parse(ARGV("-o", w("migrate_batch=8M"), "-o",
				    w("migrate_batch=1M"), "/m"), 5, &o, err), 0);
	assert_int_equal(o.migrate_batch, 1 << 20);
	assert_int_equal(o.migrate_turn_ms, CDM_MIGRATE_TURN_DEFAULT);
	cdm_options_free(&o);
	assert_int_equal(parse(ARGV("-o", w("migrate_turn=5"), "/m"), 3, &o,
			       err), 0);
	assert_int_equal(o.migrate_turn_ms, 5);
	cdm_options_free(&o);
	/* bad values are refused, naming the option */
	for (size_t i = 0; i < 5; i++) {
		static const char *const bad[] = { "0", "-1", "60001", "5ms", "" };

		snprintf(opt, sizeof(opt), "migrate_turn=%s", bad[i]);
		err[0] = '\0';
		assert_int_not_equal(parse(ARGV("-o", w(opt), "/m"), 3, &o, err), 0);
		assert_non_null(strstr(err, "migrate_turn="));
	}
	/* tiering: bytes per second per device, the decision period */
	assert_int_equal(parse(ARGV("-o", w("tier_rate=16M,tier_period=500"),
				    "/m"), 3, &o, err), 0);
	assert_true(o.tier_rate == 16 << 20);
	assert_int_equal(o.tier_period_ms, 500);
	cdm_options_free(&o);
	assert_int_equal(parse(ARGV("/m"), 1, &o, err), 0);
	assert_true(o.tier_rate == CDM_TIER_RATE_DEFAULT);
	assert_int_equal(o.tier_period_ms, CDM_TIER_PERIOD_DEFAULT);
	cdm_options_free(&o);
	for (size_t i = 0; i < 4; i++) {
		static const char *const bad[] = { "tier_rate=0", "tier_rate=1x",
						   "tier_period=99", "tier_period=" };

		err[0] = '\0';
		assert_int_not_equal(parse(ARGV("-o", w(bad[i]), "/m"), 3, &o, err), 0);
		assert_non_null(strstr(err, "tier_"));
	}
}

static void test_mount_style(void **state)
{
	struct cdm_options o;
	char err[256] = "";
	char **v = ARGV("none", "/mnt/cdm", "-o",
			w("rw,nofail,noauto,_netdev,x-systemd.automount,noatime,allow_other,sim=a:64M,nopassthrough,keep_store,attr_timeout=2.5"));

	assert_int_equal(parse(v, 4, &o, err), 0);
	assert_string_equal(o.mountpoint, "/mnt/cdm");
	assert_string_equal(o.fuse_opts, "rw,noatime,allow_other");
	assert_true(o.nopassthrough);
	assert_true(o.keep_store);
	assert_true(o.attr_timeout == 2.5);
	cdm_options_free(&o);
}

/* suid/dev are no pass-through options: main() decides, last one wins */
static void test_suid_dev(void **state)
{
	struct cdm_options o;
	char err[256] = "";
	char **v = ARGV("-o", w("suid,nodev,rw,dev,nosuid"), "/mnt/cdm");

	assert_int_equal(parse(v, 3, &o, err), 0);
	assert_false(o.suid);
	assert_true(o.dev);
	assert_string_equal(o.fuse_opts, "rw");
	cdm_options_free(&o);
	v = ARGV("-o", w("suid"), "/mnt/cdm");
	assert_int_equal(parse(v, 3, &o, err), 0);
	assert_true(o.suid);
	assert_false(o.dev);
	assert_null(o.fuse_opts);
	cdm_options_free(&o);
}

static void test_alias(void **state)
{
	struct cdm_options o;
	struct cdm_device_list l = { 0 };
	struct cdm_device d = { .name = "node2", .tier = -1 };
	char err[256] = "";
	char **v = ARGV("-o", w("alias=node2:cxl0"), "/m");

	assert_int_equal(parse(v, 3, &o, err), 0);
	assert_int_equal(cdm_device_list_add(&l, &d), 0);
	assert_int_equal(cdm_options_apply_aliases(&o, &l, err, 256), 0);
	assert_string_equal(l.dev[0].name, "cxl0");
	cdm_options_free(&o);

	/* an alias for a device that does not exist names it */
	v = ARGV("-o", w("alias=node9:x"), "/m");
	assert_int_equal(parse(v, 3, &o, err), 0);
	assert_int_equal(cdm_options_apply_aliases(&o, &l, err, 256), -EINVAL);
	assert_non_null(strstr(err, "node9"));
	cdm_options_free(&o);
	cdm_device_list_free(&l);
}

static void expect_error(const char *opt, const char *needle)
{
	struct cdm_options o;
	char err[256] = "";
	char **v = ARGV("-o", w(opt), "/mnt/cdm");

	assert_int_equal(parse(v, 3, &o, err), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("option '%s': error '%s' lacks '%s'", opt, err, needle);
	cdm_options_free(&o);
}

static void test_bad_options(void **state)
{
	expect_error("bogus", "unknown option 'bogus'");
	expect_error("bogus=1", "unknown option 'bogus=1'");
	expect_error("sim=gpu0", "sim=NAME:SIZE");
	expect_error("sim=:1G", "sim=NAME:SIZE");
	expect_error("sim=gpu0:", "size");
	expect_error("sim=gpu0:1Q", "size");
	expect_error("sim=gpu0:-5G", "size");
	expect_error("sim=gpu0:0", "size");
	expect_error("sim=gpu0:99999999999T", "size");
	expect_error("sim=../x:1G", "device name");
	expect_error("sim=a/b:1G", "device name");
	expect_error("sim=averyveryveryverylongdevicenameover31:1G", "sim=");
	expect_error("sim=a:1G,sim=a:2G", "given twice");
	expect_error("alias=node2", "alias=DEVICE:NEWNAME");
	expect_error("alias=node2:..", "alias=DEVICE:NEWNAME");
	expect_error("attr_timeout=abc", "attr_timeout");
	expect_error("attr_timeout=-1", "attr_timeout");
	expect_error("store=", "store=");
	expect_error("migrate_batch=", "migrate_batch");
	expect_error("migrate_batch=0", "migrate_batch");
	expect_error("migrate_batch=2K", "4K to 1G");
	expect_error("migrate_batch=6000", "whole 4K pages");
	expect_error("migrate_batch=2G", "4K to 1G");
	expect_error("migrate_batch=2X", "migrate_batch");
	expect_error("migrate_batch=-4K", "migrate_batch");
	expect_error("reserve=1", "unknown option 'reserve=1'");
}

static void test_io_uring(void **state)
{
	static const struct { const char *opt; enum cdm_uring want; } ok[] = {
		{ "sim=a:1G", CDM_URING_AUTO }, { "io_uring=auto", CDM_URING_AUTO },
		{ "io_uring=on", CDM_URING_ON }, { "io_uring", CDM_URING_ON },
		{ "io_uring=off", CDM_URING_OFF },
		{ "io_uring=on,io_uring=off", CDM_URING_OFF },
	};
	struct cdm_options o;
	char err[256] = "";

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(parse(ARGV("-o", w(ok[i].opt), "/m"), 3, &o,
				       err), 0);
		assert_int_equal(o.io_uring, ok[i].want);
		assert_false(o.enable_uring);
		assert_null(o.fuse_opts);	/* ours, not libfuse's */
		cdm_options_free(&o);
	}
	assert_int_equal(parse(ARGV("-o", w("enable_uring"), "/m"), 3, &o, err), 0);
	assert_true(o.enable_uring);
	assert_int_equal(o.io_uring, CDM_URING_AUTO);
	cdm_options_free(&o);
	assert_int_equal(parse(ARGV("-o", w("io_uring=yes"), "/m"), 3, &o, err),
			 -EINVAL);
	assert_non_null(strstr(err, "on, off or auto"));
	cdm_options_free(&o);
}

/* the default huge= from the kernel's shmem_enabled (6.18's format) */
static void test_huge_pick(void **state)
{
	(void)state;
	assert_string_equal(cdm_huge_pick("always within_size advise [never] deny force\n"),
			    "within_size");
	assert_string_equal(cdm_huge_pick("always within_size advise never deny [force]\n"),
			    "within_size");
	assert_null(cdm_huge_pick("always within_size advise never [deny] force\n"));
	assert_null(cdm_huge_pick(NULL));	/* no THP in the kernel */
}

static void test_bad_args(void **state)
{
	struct cdm_options o;
	char err[256];

	assert_int_equal(parse(ARGV("-x", "/m"), 2, &o, err), -EINVAL);
	assert_non_null(strstr(err, "-x"));
	cdm_options_free(&o);
	assert_int_equal(parse(ARGV("-f"), 1, &o, err), -EINVAL);
	assert_non_null(strstr(err, "no mount point"));
	cdm_options_free(&o);
	assert_int_equal(parse(ARGV("/a", "/b"), 2, &o, err), -EINVAL);
	assert_non_null(strstr(err, "/b"));
	cdm_options_free(&o);
	assert_int_equal(parse(ARGV("/a", "-o"), 2, &o, err), -EINVAL);
	cdm_options_free(&o);
	assert_int_equal(parse(ARGV("--help"), 1, &o, err), 0);
	assert_true(o.show_help);
	cdm_options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_mount_style),
		cmocka_unit_test(test_alias),
		cmocka_unit_test(test_suid_dev),
		cmocka_unit_test(test_migrate_batch_reserve),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_io_uring),
		cmocka_unit_test(test_huge_pick),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
