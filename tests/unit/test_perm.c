// SPDX-License-Identifier: GPL-2.0-or-later
/* The mode rules of fs/perm.c: /proc/PID/status parsing and the kill. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "../../fs/perm.h"

static const char status_nobody[] =
	"Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\n"
	"Uid:\t65534\t65534\t65534\t1000\nGid:\t65534\t65534\t65534\t100\n"
	"FDSize:\t64\nGroups:\t4 24 27 \nCapInh:\t0000000000000000\n"
	"CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n";
static const char status_root[] =
	"Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n"
	"CapEff:\t000001ffffffffff\n";

static void test_parse(void **state)
{
	struct cdm_caller c;

	assert_int_equal(cdm_caller_parse_status(status_nobody, &c), 0);
	/* the fs ids are the fourth column: what the kernel checks */
	assert_int_equal(c.fsuid, 1000);
	assert_int_equal(c.fsgid, 100);
	assert_false(c.fsetid);
	assert_false(c.sys_admin);
	assert_int_equal(c.ngroups, 3);
	assert_true(cdm_caller_in_group(&c, 100));
	assert_true(cdm_caller_in_group(&c, 27));
	assert_false(cdm_caller_in_group(&c, 65534));
	assert_int_equal(cdm_caller_parse_status(status_root, &c), 0);
	assert_int_equal(c.fsuid, 0);
	assert_true(c.fsetid);
	assert_true(c.sys_admin);
	assert_int_equal(c.ngroups, 0);
	assert_int_equal(cdm_caller_parse_status("Uid:\t0\t0\t0\t0\n", &c),
			 -EINVAL);
	assert_int_equal(cdm_caller_parse_status("Uid:\t0\t0\nGid:\t0\t0\t0\t0\nCapEff:\t0\n", &c),
			 -EINVAL);
}

static void test_kill(void **state)
{
	/* set-uid always; set-gid with group-exec, or for an outsider */
	assert_int_equal(cdm_mode_after_kill(S_IFREG | 06777, true), S_IFREG | 0777);
	assert_int_equal(cdm_mode_after_kill(S_IFREG | 06755, false), S_IFREG | 0755);
	assert_int_equal(cdm_mode_after_kill(S_IFREG | 02644, true), S_IFREG | 02644);
	assert_int_equal(cdm_mode_after_kill(S_IFREG | 02644, false), S_IFREG | 0644);
	assert_int_equal(cdm_mode_after_kill(S_IFREG | 04600, true), S_IFREG | 0600);
	/* only regular files */
	assert_int_equal(cdm_mode_after_kill(S_IFDIR | 02775, false), S_IFDIR | 02775);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_kill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
