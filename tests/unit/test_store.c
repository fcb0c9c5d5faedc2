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

static void log_path(const char *in, const char *want)
{
	struct cdm_fs fs = { .store_path = "/run/cdmfs/mnt" };
	char buf[256];

	strcpy(buf, in);
	cdm_store_log_path(&fs, buf);
	assert_string_equal(buf, want);
}

/* A device's own tmpfs mount path is logged as the device directory's. */
static void test_log_path(void **state)
{
	(void)state;
	log_path("/run/cdmfs/mnt/.devs/node1/files/dir/f",
		 "/run/cdmfs/mnt/node1/dir/f");
	log_path("/run/cdmfs/mnt/.devs/node1/files", "/run/cdmfs/mnt/node1");
	/* lodgers, other stores, look-alikes: as they are */
	log_path("/run/cdmfs/mnt/.devs/node1/lodgers/12",
		 "/run/cdmfs/mnt/.devs/node1/lodgers/12");
	log_path("/run/cdmfs/mnt/.devs/node1/filesx/f",
		 "/run/cdmfs/mnt/.devs/node1/filesx/f");
	log_path("/run/cdmfs/other/.devs/node1/files/f",
		 "/run/cdmfs/other/.devs/node1/files/f");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_log_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
