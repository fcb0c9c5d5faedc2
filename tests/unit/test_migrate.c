// SPDX-License-Identifier: GPL-2.0-or-later
/* The migration planner against a fake backend: batching, supersede,
 * partial failure. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../fs/migrate.h"

#define MiB (1024 * 1024)

struct fake {
	off_t off[64];
	size_t len[64];
	int calls;
	int fail_call;		/* 1-based call that fails, 0 none */
	int supersede_after;	/* calls before a newer policy, 0 never */
	uint64_t progress;
};

static int fake_move(void *ctx, off_t off, size_t len, uint64_t *moved)
{
	struct fake *f = ctx;

	f->off[f->calls] = off;
	f->len[f->calls] = len;
	if (++f->calls == f->fail_call)
		return -EIO;
	*moved += len;
	return 0;
}

static bool fake_superseded(void *ctx)
{
	struct fake *f = ctx;

	return f->supersede_after && f->calls >= f->supersede_after;
}

static void fake_progress(void *ctx, uint64_t done)
{
	struct fake *f = ctx;

	assert_true(done >= f->progress);	/* never goes back */
	f->progress = done;
}

static const struct cdm_migrate_ops ops = {
	.move = fake_move,
	.superseded = fake_superseded,
	.progress = fake_progress,
};

static void test_batching(void **state)
{
	struct fake f = { 0 };
	struct cdm_migrate_result r;

	cdm_migrate_run(40 * MiB + 4096, 16 * MiB, &ops, &f, &r);
	assert_int_equal(f.calls, 3);
	assert_int_equal(r.batches, 3);
	assert_int_equal(f.off[0], 0);
	assert_int_equal(f.off[1], 16 * MiB);
	assert_int_equal(f.off[2], 32 * MiB);
	assert_int_equal(f.len[0], 16 * MiB);
	assert_int_equal(f.len[2], 8 * MiB + 4096);	/* the tail */
	assert_int_equal(r.moved, 40 * MiB + 4096);
	assert_int_equal(f.progress, r.moved);
	assert_int_equal(r.error, 0);
	assert_false(r.superseded);
}

static void test_empty(void **state)
{
	struct fake f = { 0 };
	struct cdm_migrate_result r;

	cdm_migrate_run(0, 16 * MiB, &ops, &f, &r);
	assert_int_equal(f.calls, 0);
	assert_int_equal(r.moved, 0);
	assert_int_equal(r.error, 0);
}

static void test_supersede(void **state)
{
	struct fake f = { .supersede_after = 2 };
	struct cdm_migrate_result r;

	cdm_migrate_run(100 * MiB, 16 * MiB, &ops, &f, &r);
	assert_true(r.superseded);
	assert_int_equal(f.calls, 2);	/* stopped between batches */
	assert_int_equal(r.moved, 32 * MiB);
	assert_int_equal(r.error, 0);

	/* superseded before it began: nothing moved */
	f = (struct fake){ .supersede_after = -1 };
	cdm_migrate_run(100 * MiB, 16 * MiB, &ops, &f, &r);
	assert_true(r.superseded);
	assert_int_equal(f.calls, 0);
}

static void test_partial_failure(void **state)
{
	struct fake f = { .fail_call = 2 };
	struct cdm_migrate_result r;

	cdm_migrate_run(64 * MiB, 16 * MiB, &ops, &f, &r);
	/* the failed range is reported, the rest still moved */
	assert_int_equal(f.calls, 4);
	assert_int_equal(r.error, -EIO);
	assert_int_equal(r.fail_start, 16 * MiB);
	assert_int_equal(r.fail_end, 32 * MiB);
	assert_int_equal(r.moved, 48 * MiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batching),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_supersede),
		cmocka_unit_test(test_partial_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
