// SPDX-License-Identifier: GPL-2.0-or-later
/* fs/store.c: the store name of a mount point, injective and never cut. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "store.h"

static void check(const char *path, const char *want)
{
	char out[NAME_MAX + 1];

	assert_int_equal(cdm_store_escape_path(path, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_escape(void **state)
{
	check("/mnt/cdm", "mnt-cdm");
	check("/", "-");
	check("//", "-");
	check("/mnt/cdm/", "mnt-cdm");
	/* '-' is escaped, so "/a-b" and "/a/b" get two stores */
	check("/a-b", "a\\x2db");
	check("/a/b", "a-b");
	/* a leading '.' is escaped, one inside is not */
	check("/.hidden/x.y", "\\x2ehidden-x.y");
	check("/a b:c_d", "a\\x20b:c_d");
	check("/caf\xc3\xa9", "caf\\xc3\\xa9");
}

static void test_too_long(void **state)
{
	char path[NAME_MAX + 2], out[NAME_MAX + 1];

	/* exactly one directory entry long: fits */
	path[0] = '/';
	memset(path + 1, 'a', NAME_MAX);
	path[NAME_MAX + 1] = '\0';
	assert_int_equal(cdm_store_escape_path(path, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), NAME_MAX);
	/* an escape that would not fit whole is an error, never cut */
	path[NAME_MAX - 1] = '-';
	assert_int_equal(cdm_store_escape_path(path, out, sizeof(out)),
			 -ENAMETOOLONG);
	assert_int_equal(cdm_store_escape_path("/ab", out, 3), 0);
	assert_int_equal(cdm_store_escape_path("/abc", out, 3), -ENAMETOOLONG);
	assert_int_equal(cdm_store_escape_path("/", out, 1), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
