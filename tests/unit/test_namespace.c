// SPDX-License-Identifier: GPL-2.0-or-later
/* The root namespace rules of fs/namespace.c, on a mount of two devices. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "namespace.h"

static struct cdm_device devs[2] = { { .name = "host" }, { .name = "gpu0" } };
static struct cdm_fs fs = {
	.devices = { .dev = devs, .count = 2, .cap = 2 },
	.root = { .dev = CDM_NO_DEVICE },
};
/* the device directories, and a file in each */
static struct cdm_inode host = { .dev = 0 }, gpu = { .dev = 1 };
static struct cdm_inode hfile = { .dev = 0 }, gfile = { .dev = 1 };

static void test_device_index(void **state)
{
	assert_int_equal(cdm_ns_device_index(&fs, "host"), 0);
	assert_int_equal(cdm_ns_device_index(&fs, "gpu0"), 1);
	assert_int_equal(cdm_ns_device_index(&fs, "gpu1"), -ENOENT);
	assert_int_equal(cdm_ns_device_index(&fs, ""), -ENOENT);
	assert_true(cdm_ns_is_root(&fs, &fs.root));
	assert_false(cdm_ns_is_root(&fs, &host));
}

static void test_create(void **state)
{
	/* the root takes no new inode; device directories and below do */
	assert_int_equal(cdm_ns_may_create(&fs, &fs.root), -EPERM);
	assert_int_equal(cdm_ns_may_create(&fs, &host), 0);
	assert_int_equal(cdm_ns_may_create(&fs, &gpu), 0);
}

static void test_link(void **state)
{
	assert_int_equal(cdm_ns_may_link(&fs, &hfile, &host), 0);
	/* one file's memory is on one device */
	assert_int_equal(cdm_ns_may_link(&fs, &hfile, &gpu), -EXDEV);
	assert_int_equal(cdm_ns_may_link(&fs, &gfile, &host), -EXDEV);
	/* the root before the device: EPERM, not EXDEV */
	assert_int_equal(cdm_ns_may_link(&fs, &hfile, &fs.root), -EPERM);
}

static void test_remove(void **state)
{
	assert_int_equal(cdm_ns_may_unlink(&fs, &fs.root), -EPERM);
	assert_int_equal(cdm_ns_may_unlink(&fs, &host), 0);
	/* device directories are fixed; nothing else is there to remove */
	assert_int_equal(cdm_ns_may_rmdir(&fs, &fs.root, "gpu0"), -EBUSY);
	assert_int_equal(cdm_ns_may_rmdir(&fs, &fs.root, "host"), -EBUSY);
	assert_int_equal(cdm_ns_may_rmdir(&fs, &fs.root, "stale"), -ENOENT);
	assert_int_equal(cdm_ns_may_rmdir(&fs, &gpu, "gpu0"), 0);
}

static void test_rename(void **state)
{
	assert_int_equal(cdm_ns_may_rename(&fs, &fs.root, &host), -EPERM);
	assert_int_equal(cdm_ns_may_rename(&fs, &host, &fs.root), -EPERM);
	assert_int_equal(cdm_ns_may_rename(&fs, &fs.root, &fs.root), -EPERM);
	/* across devices is allowed here: rename.c decides what moves */
	assert_int_equal(cdm_ns_may_rename(&fs, &host, &gpu), 0);
	assert_int_equal(cdm_ns_may_rename(&fs, &gpu, &gpu), 0);
}

static void test_hidden(void **state)
{
	/* the root lists its devices, "." and ".." only */
	assert_false(cdm_ns_hidden(&fs, true, "."));
	assert_false(cdm_ns_hidden(&fs, true, ".."));
	assert_false(cdm_ns_hidden(&fs, true, "host"));
	assert_false(cdm_ns_hidden(&fs, true, "gpu0"));
	assert_true(cdm_ns_hidden(&fs, true, "gpu1"));
	assert_true(cdm_ns_hidden(&fs, true, ".cdmfs.lock"));
	/* below it, everything shows */
	assert_false(cdm_ns_hidden(&fs, false, "gpu1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_index),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_hidden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
