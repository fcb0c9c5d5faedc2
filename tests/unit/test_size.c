// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The one size parser (include/cdmfs/size.h) that the daemon, cdmkmctl,
 * cdm-bench and pagenodes share.  Their old private copies shifted the
 * value for its suffix without a check: "16777216T" or "17179869184G"
 * wrapped to 0 and "18446744073709551615K" to a small number.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cdmfs/size.h"

static void test_size_decimal(void **state)
{
	static const struct { const char *s; uint64_t v; } ok[] = {
		{ "0", 0 }, { "4096", 4096 }, { "4K", 4096 }, { "4k", 4096 },
		{ "64M", 64ULL << 20 }, { "2G", 2ULL << 30 },
		{ "1T", 1ULL << 40 }, { "16777215T", 16777215ULL << 40 },
		{ "18446744073709551615", UINT64_MAX },
		{ "17179869183G", 17179869183ULL << 30 },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cdm_size_parse(ok[i].s, 0, &v), 0);
		assert_true(v == ok[i].v);
	}
}

static void test_size_overflow(void **state)
{
	static const char *const big[] = {
		"16777216T", "17179869184G", "17592186044416M",
		"18014398509481984K", "18446744073709551615K",
		"18446744073709551616", "99999999999999999999999",
	};
	uint64_t v = 42;

	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		int ret = cdm_size_parse(big[i], 0, &v);

		if (ret != -ERANGE)
			fail_msg("\"%s\" gave %d", big[i], ret);
	}
	assert_int_equal(cdm_size_parse("0x10000000000000000", CDM_SIZE_HEX, &v),
			 -ERANGE);
	assert_int_equal(cdm_size_parse("0x4000000000000G", CDM_SIZE_HEX, &v),
			 -ERANGE);
	assert_true(v == 42);	/* untouched on error */
}

static void test_size_hex(void **state)
{
	uint64_t v;

	assert_int_equal(cdm_size_parse("0x50000000", CDM_SIZE_HEX, &v), 0);
	assert_true(v == 0x50000000ULL);
	assert_int_equal(cdm_size_parse("0XfF", CDM_SIZE_HEX, &v), 0);
	assert_true(v == 255);
	assert_int_equal(cdm_size_parse("0x10M", CDM_SIZE_HEX, &v), 0);
	assert_true(v == 16ULL << 20);
	assert_int_equal(cdm_size_parse("0xffffffffffffffff", CDM_SIZE_HEX, &v), 0);
	assert_true(v == UINT64_MAX);
	/* hex only when asked for */
	assert_int_equal(cdm_size_parse("0x10", 0, &v), -EINVAL);
	assert_int_equal(cdm_size_parse("0x", CDM_SIZE_HEX, &v), -EINVAL);
	assert_int_equal(cdm_size_parse("0xg", CDM_SIZE_HEX, &v), -EINVAL);
}

static void test_size_malformed(void **state)
{
	static const char *const bad[] = {
		"", " ", " 1G", "1G ", "G", "-1", "+1", "1.5G", "1GB", "1GiB",
		"1P", "1 G", "1GG", "abc", "1e9", "-0x10",
	};
	uint64_t v = 42;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = cdm_size_parse(bad[i], CDM_SIZE_HEX, &v);

		if (ret != -EINVAL)
			fail_msg("\"%s\" gave %d", bad[i], ret);
	}
	assert_true(v == 42);
	assert_int_equal(cdm_size_parse(NULL, 0, &v), -EINVAL);
	assert_int_equal(cdm_size_parse("1", 0, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_decimal),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_size_hex),
		cmocka_unit_test(test_size_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
