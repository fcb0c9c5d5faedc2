// SPDX-License-Identifier: GPL-2.0-or-later
/* fs/xattr.c: which of a backing inode's names listxattr shows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cdmfs/xattr.h"
#include "xattr.h"

/* as listxattr(2) returns them, on a file the daemon migrated */
static const char names[] =
	"user.cdm.policy\0" "user.cdm.pending\0" "user.foo\0"
	"trusted.overlay\0" "security.selinux\0" "user.cdm.bogus\0"
	"user.cdmx\0";

static size_t filter(char *buf, bool trusted)
{
	memcpy(buf, names, sizeof(names) - 1);
	return cdm_xattr_hide_own(buf, sizeof(names) - 1, trusted);
}

static void test_caller(void **state)
{
	static const char want[] =
		CDM_XATTR_POLICY "\0" "user.foo\0" "security.selinux\0"
		"user.cdmx";
	char buf[sizeof(names)];
	size_t n = filter(buf, false);

	/* the daemon's own names and trusted.* go; policy stays */
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, n);
}

static void test_sys_admin(void **state)
{
	static const char want[] =
		CDM_XATTR_POLICY "\0" "user.foo\0" "trusted.overlay\0"
		"security.selinux\0" "user.cdmx";
	char buf[sizeof(names)];
	size_t n = filter(buf, true);

	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, n);
}

static void test_edges(void **state)
{
	char one[] = CDM_XATTR_PENDING;
	char buf[1];

	/* a directory the daemon keeps a name on lists nothing */
	assert_int_equal(cdm_xattr_hide_own(one, sizeof(one), true), 0);
	assert_int_equal(cdm_xattr_hide_own(buf, 0, false), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caller),
		cmocka_unit_test(test_sys_admin),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
