// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fs/capacity.c: reservation arithmetic on devices of a fake backend, and
 * what a range lacks, measured on a real shmem file (memfd).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "capacity.h"
#include "fs.h"

#define MIB (1024 * 1024ULL)

static uint64_t fake_avail[2] = { MIB, MIB };

static int fake_usage(const char *sysroot, const struct cdm_device *dev,
		      uint64_t *size, uint64_t *avail)
{
	*size = 4 * MIB;
	*avail = fake_avail[dev->node];
	return 0;
}

static const struct cdm_backend_ops fake_ops = {
	.name = "fake",
	.usage = fake_usage,
};

static struct cdm_device devs[2] = {
	{ .name = "a", .ops = &fake_ops, .node = 0 },
	{ .name = "b", .ops = &fake_ops, .node = 1 },
};
static struct cdm_fs fs = {
	.devices = { .dev = devs, .count = 2, .cap = 2 },
	/* no store: nothing bounds the devices but themselves */
	.root = { .dev = CDM_NO_DEVICE, .fd = -1 },
};
static const struct cdm_policy both = {
	.mode = CDM_POLICY_INTERLEAVE, .ndev = 2, .dev = { 0, 1 },
};
static const struct cdm_policy only_b = {
	.mode = CDM_POLICY_BIND, .ndev = 1, .dev = { 1 },
};

static int setup(void **state)
{
	fake_avail[0] = fake_avail[1] = MIB;
	return cdm_capacity_open(&fs);
}

static int teardown(void **state)
{
	cdm_capacity_close(&fs);
	return 0;
}

static void test_reserve(void **state)
{
	struct cdm_reservation r1, r2;
	uint64_t avail;

	/* spread evenly, rounded up per device */
	assert_int_equal(cdm_capacity_reserve(&fs, &both, 3 * MIB / 2 + 1, &r1), 0);
	assert_int_equal(r1.ndev, 2);
	assert_int_equal(r1.bytes, 3 * MIB / 4 + 1);
	assert_int_equal(cdm_policy_avail(&fs, &both, &avail), 0);
	assert_int_equal(avail, 2 * (MIB / 4 - 1));
	/* what others reserved is not there for the next one */
	assert_int_equal(cdm_capacity_reserve(&fs, &only_b, MIB / 4, &r2),
			 -ENOSPC);
	assert_int_equal(r2.ndev, 0);
	assert_int_equal(cdm_capacity_reserve(&fs, &only_b, MIB / 4 - 1, &r2), 0);
	assert_int_equal(cdm_policy_avail(&fs, &only_b, &avail), 0);
	assert_int_equal(avail, 0);
	cdm_capacity_release(&fs, &r2);
	assert_int_equal(r2.ndev, 0);
	cdm_capacity_release(&fs, &r2);		/* twice is harmless */
	cdm_capacity_release(&fs, &r1);
	/* all given back: the whole of both devices */
	assert_int_equal(cdm_policy_avail(&fs, &both, &avail), 0);
	assert_int_equal(avail, 2 * MIB);
	assert_int_equal(cdm_capacity_reserve(&fs, &both, 2 * MIB + 1, &r1),
			 -ENOSPC);
	assert_int_equal(cdm_capacity_reserve(&fs, &both, 2 * MIB, &r1), 0);
	cdm_capacity_release(&fs, &r1);
}

static void test_reserve_nothing(void **state)
{
	struct cdm_policy pref = { .mode = CDM_POLICY_PREFERRED, .ndev = 1 };
	struct cdm_reservation r;
	uint64_t avail;

	/* preferred falls back to other memory: never full, nothing held */
	assert_int_equal(cdm_capacity_reserve(&fs, &pref, 64 * MIB, &r), 0);
	assert_int_equal(r.ndev, 0);
	assert_int_equal(cdm_policy_avail(&fs, &pref, &avail), 0);
	assert_true(avail == UINT64_MAX);
	assert_int_equal(cdm_capacity_reserve(&fs, &both, 0, &r), 0);
	assert_int_equal(r.ndev, 0);
	/* a device that filled up since says so */
	fake_avail[1] = 0;
	assert_int_equal(cdm_capacity_reserve(&fs, &only_b, 1, &r), -ENOSPC);
}

static void test_unallocated(void **state)
{
	off_t pg = sysconf(_SC_PAGESIZE);
	uint64_t need;
	int fd = memfd_create("cdm-capacity", MFD_CLOEXEC);

	if (fd < 0)
		skip();
	assert_int_equal(ftruncate(fd, 16 * pg), 0);
	assert_int_equal(cdm_capacity_unallocated(fd, 0, 16 * pg, &need), 0);
	assert_int_equal(need, 16 * pg);
	assert_int_equal(fallocate(fd, 0, 2 * pg, 2 * pg), 0);
	assert_int_equal(pwrite(fd, "x", 1, 8 * pg + 5), 1);
	/* only what the range lacks counts */
	assert_int_equal(cdm_capacity_unallocated(fd, 0, 16 * pg, &need), 0);
	assert_int_equal(need, 13 * pg);
	assert_int_equal(cdm_capacity_unallocated(fd, 2 * pg, 4 * pg, &need), 0);
	assert_int_equal(need, 0);
	/* whole pages: a byte of a page lacking is the page */
	assert_int_equal(cdm_capacity_unallocated(fd, 2 * pg + 1, 3 * pg + 5, &need), 0);
	assert_int_equal(need, 0);
	assert_int_equal(cdm_capacity_unallocated(fd, 1, 10, &need), 0);
	assert_int_equal(need, pg);
	assert_int_equal(cdm_capacity_unallocated(fd, 3 * pg, 9 * pg - 1, &need), 0);
	assert_int_equal(need, 4 * pg);
	/* past the end of the file is lacking too (truncate growth) */
	assert_int_equal(cdm_capacity_unallocated(fd, 16 * pg, 20 * pg, &need), 0);
	assert_int_equal(need, 4 * pg);
	/* empty and reversed ranges lack nothing */
	assert_int_equal(cdm_capacity_unallocated(fd, 5 * pg, 5 * pg, &need), 0);
	assert_int_equal(need, 0);
	assert_int_equal(cdm_capacity_unallocated(fd, 5 * pg, pg, &need), 0);
	assert_int_equal(need, 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserve_nothing, setup,
						teardown),
		cmocka_unit_test(test_unallocated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
