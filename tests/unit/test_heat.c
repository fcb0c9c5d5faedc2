// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DAMON's regions (physical) mapped back to chunks of a file through its
 * runs (backend/heat.c): weights, partial overlaps, holes, the window.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "cdmfs/heat.h"

#define K 1024ULL
#define M (1024 * K)

static void test_chunks(void **state)
{
	/*
	 * File offsets [0, 4M) back physical [100M, 104M), [4M, 6M) back
	 * [50M, 52M); [6M, 8M) is a hole.  Sorted by pa.
	 */
	const struct cdm_heat_run runs[] = {
		{ 50 * M, 52 * M, 4 * M },
		{ 100 * M, 104 * M, 0 },
	};
	/* DAMON: 51-52M hot (20), 100-101M 10, 101-104M 0 */
	const struct cdm_heat_region regs[] = {
		{ 40 * M, 51 * M, 0 },
		{ 51 * M, 52 * M, 20 },
		{ 52 * M, 100 * M, 7 },	/* frames of other files */
		{ 100 * M, 101 * M, 10 },
		{ 101 * M, 200 * M, 0 },
	};
	uint32_t h[4];

	assert_int_equal(cdm_heat_chunks(runs, 2, regs, 5, 0, 2 * M, 4, h), 0);
	assert_int_equal(h[0], 500);	/* half at 10, half at 0: 5.00 */
	assert_int_equal(h[1], 0);
	assert_int_equal(h[2], 1000);	/* 4-5M at 0, 5-6M at 20 */
	assert_true(h[3] == CDM_HEAT_NONE);	/* a hole says nothing */

	/* a window from 4M: chunks of 1M */
	assert_int_equal(cdm_heat_chunks(runs, 2, regs, 5, 4 * M, M, 2, h), 0);
	assert_int_equal(h[0], 0);
	assert_int_equal(h[1], 2000);

	/* no region at all: nothing known */
	assert_int_equal(cdm_heat_chunks(runs, 2, regs, 0, 0, 2 * M, 4, h), 0);
	for (int i = 0; i < 4; i++)
		assert_true(h[i] == CDM_HEAT_NONE);
}

/* Without root, pagemap hides frames: the runs say so, never zeros. */
static void test_runs_need_root(void **state)
{
	struct cdm_heat_run *runs;
	size_t n;
	char *p;
	int fd = memfd_create("heat", 0);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 64 * K), 0);
	p = mmap(NULL, 64 * K, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	p[0] = 1;			/* page 0 resident; 1-15 holes */
	p[8 * 4096] = 1;		/* and page 8 */
	munmap(p, 64 * K);
	if (geteuid() != 0) {
		assert_int_equal(cdm_heat_runs(fd, &runs, &n), -EPERM);
	} else {
		assert_int_equal(cdm_heat_runs(fd, &runs, &n), 0);
		/* two pages, never contiguous in the file: two runs */
		assert_int_equal(n, 2);
		assert_int_equal(runs[0].end - runs[0].pa, 4096);
		assert_true(runs[0].off == 0 || runs[0].off == 8 * 4096);
		free(runs);
	}
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunks),
		cmocka_unit_test(test_runs_need_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
