// SPDX-License-Identifier: GPL-2.0-or-later
/* The migration planner against a fake backend: batching, supersede,
 * partial failure, a truncate while it walks. */
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
	/* a truncate to truncate_to during call truncate_call (1-based) */
	int truncate_call;
	off_t truncate_to, size;
	int size_calls;
};

static int fake_move(void *ctx, off_t off, size_t len, uint64_t *moved)
{
	struct fake *f = ctx;

	f->off[f->calls] = off;
	f->len[f->calls] = len;
	if (++f->calls == f->truncate_call) {
		f->size = f->truncate_to;
		/* pages that went from under the move: the kernel says EIO */
		if (off + (off_t)len > f->size) {
			*moved += f->size > off ? (uint64_t)(f->size - off) : 0;
			return -EIO;
		}
	}
	if (f->calls == f->fail_call)
		return -EIO;
	*moved += len;
	return 0;
}

static off_t fake_size(void *ctx)
{
	struct fake *f = ctx;

	f->size_calls++;
	return f->size;
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

static const struct cdm_migrate_ops sized_ops = {
	.move = fake_move,
	.superseded = fake_superseded,
	.progress = fake_progress,
	.size = fake_size,
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

static void test_small_batches(void **state)
{
	struct fake f = { 0 };
	struct cdm_migrate_result r;

	/* 2 MiB batches over 9 MiB: four whole ones and the tail */
	cdm_migrate_run(9 * MiB, 2 * MiB, &ops, &f, &r);
	assert_int_equal(f.calls, 5);
	assert_int_equal(f.off[4], 8 * MiB);
	assert_int_equal(f.len[4], 1 * MiB);
	assert_int_equal(r.moved, 9 * MiB);
}

static void test_supersede_after_failure(void **state)
{
	struct fake f = { .fail_call = 1, .supersede_after = 2 };
	struct cdm_migrate_result r;

	/* the failure is kept, and the newer policy still stops the walk */
	cdm_migrate_run(64 * MiB, 16 * MiB, &ops, &f, &r);
	assert_true(r.superseded);
	assert_int_equal(f.calls, 2);
	assert_int_equal(r.error, -EIO);
	assert_int_equal(r.fail_start, 0);
}

static void test_truncated_before_batch(void **state)
{
	struct fake f = { .size = 20 * MiB };
	struct cdm_migrate_result r;

	/* shrank after the walk was planned: it ends at the new size */
	cdm_migrate_run(64 * MiB, 16 * MiB, &sized_ops, &f, &r);
	assert_int_equal(f.calls, 2);
	assert_int_equal(f.len[1], 4 * MiB);
	assert_int_equal(r.moved, 20 * MiB);
	assert_int_equal(r.error, 0);

	/* grew: the walk stays within what it planned */
	f = (struct fake){ .size = 100 * MiB };
	cdm_migrate_run(32 * MiB, 16 * MiB, &sized_ops, &f, &r);
	assert_int_equal(f.calls, 2);
	assert_int_equal(r.moved, 32 * MiB);
}

static void test_truncated_during_batch(void **state)
{
	struct fake f = { .size = 64 * MiB, .truncate_call = 2,
			  .truncate_to = 20 * MiB };
	struct cdm_migrate_result r;

	/*
	 * Batch 2 (16-32 MiB) loses 20-32 MiB under it and fails: no
	 * failure, the part the file still has is tried again, and the walk
	 * ends there.
	 */
	cdm_migrate_run(64 * MiB, 16 * MiB, &sized_ops, &f, &r);
	assert_int_equal(r.error, 0);
	assert_int_equal(f.calls, 3);
	assert_int_equal(r.batches, 3);
	assert_int_equal(f.off[2], 16 * MiB);
	assert_int_equal(f.len[2], 4 * MiB);
	assert_int_equal(r.moved, 20 * MiB);	/* the retry counts once */
	assert_int_equal(f.progress, r.moved);

	/* truncated to below the batch: nothing left to try */
	f = (struct fake){ .size = 64 * MiB, .truncate_call = 2,
			   .truncate_to = 8 * MiB };
	cdm_migrate_run(64 * MiB, 16 * MiB, &sized_ops, &f, &r);
	assert_int_equal(r.error, 0);
	assert_int_equal(f.calls, 2);
	assert_int_equal(r.moved, 16 * MiB);

	/* a real failure inside what is left is still reported */
	f = (struct fake){ .size = 64 * MiB, .truncate_call = 2,
			   .truncate_to = 20 * MiB, .fail_call = 3 };
	cdm_migrate_run(64 * MiB, 16 * MiB, &sized_ops, &f, &r);
	assert_int_equal(r.error, -EIO);
	assert_int_equal(r.fail_start, 16 * MiB);
	assert_int_equal(r.fail_end, 20 * MiB);
}

static void test_size_unknown(void **state)
{
	struct fake f = { .size = -EBADF };
	struct cdm_migrate_result r;

	/* an fstat that fails changes nothing: the planned walk goes on */
	cdm_migrate_run(32 * MiB, 16 * MiB, &sized_ops, &f, &r);
	assert_int_equal(f.calls, 2);
	assert_int_equal(r.moved, 32 * MiB);
	assert_true(f.size_calls >= 2);
}

/* Data extents of a sparse fake file: [ext[i][0], ext[i][1]). */
struct sparse {
	struct fake f;
	off_t ext[4][2];
	int next;
	int data_calls;
	int yield_every;	/* yield after this many batches, 0 never */
	int turn_batches;
};

static int sparse_data(void *ctx, off_t off, off_t *start, off_t *end)
{
	struct sparse *s = ctx;

	s->data_calls++;
	for (int i = 0; i < s->next; i++) {
		if (s->ext[i][1] <= off)
			continue;
		*start = off > s->ext[i][0] ? off : s->ext[i][0];
		*end = s->ext[i][1];
		return 0;
	}
	return -ENXIO;
}

static bool sparse_yield(void *ctx)
{
	struct sparse *s = ctx;

	return s->yield_every && s->f.calls % s->yield_every == 0;
}

static const struct cdm_migrate_ops sparse_ops = {
	.move = fake_move,
	.superseded = fake_superseded,
	.progress = fake_progress,
	.data = sparse_data,
};

#define TiB (1024LL * 1024 * 1024 * 1024)

/* One page at 64 TiB: one batch, one extent lookup, not 32M batches. */
static void test_sparse_huge(void **state)
{
	struct sparse s = { .ext = { { 64 * TiB, 64 * TiB + 4096 } },
			    .next = 1 };
	struct cdm_migrate_result r;

	cdm_migrate_run(64 * TiB + 4096, 2 * MiB, &sparse_ops, &s, &r);
	assert_int_equal(s.f.calls, 1);
	assert_true(s.f.off[0] == 64 * TiB);
	assert_int_equal(s.f.len[0], 4096);
	assert_int_equal(r.moved, 4096);
	assert_true(s.data_calls <= 2);
	assert_int_equal(r.error, 0);
}

/* Batches stay inside extents and skip the holes between them. */
static void test_sparse_extents(void **state)
{
	struct sparse s = { .ext = { { 0, 3 * MiB }, { 10 * MiB, 11 * MiB },
				     { 20 * MiB, 20 * MiB + 4096 } },
			    .next = 3 };
	struct cdm_migrate_result r;

	cdm_migrate_run(30 * MiB, 2 * MiB, &sparse_ops, &s, &r);
	assert_int_equal(s.f.calls, 4);
	assert_true(s.f.off[0] == 0 && s.f.len[0] == 2 * MiB);
	assert_true(s.f.off[1] == 2 * MiB && s.f.len[1] == MiB);
	assert_true(s.f.off[2] == 10 * MiB && s.f.len[2] == MiB);
	assert_true(s.f.off[3] == 20 * MiB && s.f.len[3] == 4096);
	assert_int_equal(r.moved, 4 * MiB + 4096);
}

/* A file that is all hole moves nothing and costs one lookup. */
static void test_sparse_empty(void **state)
{
	struct sparse s = { .next = 0 };
	struct cdm_migrate_result r;

	cdm_migrate_run(64 * TiB, 2 * MiB, &sparse_ops, &s, &r);
	assert_int_equal(s.f.calls, 0);
	assert_int_equal(s.data_calls, 1);
	assert_int_equal(r.moved, 0);
}

/* Yield between batches, resume where it stopped: every byte once. */
static void test_yield_resume(void **state)
{
	struct sparse s = { .ext = { { 0, 10 * MiB } }, .next = 1,
			    .yield_every = 2 };
	struct cdm_migrate_ops o = sparse_ops;
	struct cdm_migrate_result r;
	uint64_t moved = 0;
	off_t from = 0;
	int turns = 0;

	o.yield = sparse_yield;
	do {
		s.f.progress = 0;
		cdm_migrate_run_from(from, 10 * MiB, 2 * MiB, &o, &s, &r);
		moved += r.moved;
		from = r.next;
		turns++;
		/* never an empty turn */
		assert_true(r.batches >= 1);
	} while (r.yielded && turns < 10);
	assert_int_equal(turns, 3);	/* 2 + 2 + 1 batches */
	assert_int_equal(s.f.calls, 5);
	for (int i = 0; i < 5; i++)
		assert_true(s.f.off[i] == (off_t)i * 2 * MiB);
	assert_int_equal(moved, 10 * MiB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batching),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_supersede),
		cmocka_unit_test(test_partial_failure),
		cmocka_unit_test(test_small_batches),
		cmocka_unit_test(test_supersede_after_failure),
		cmocka_unit_test(test_truncated_before_batch),
		cmocka_unit_test(test_truncated_during_batch),
		cmocka_unit_test(test_size_unknown),
		cmocka_unit_test(test_sparse_huge),
		cmocka_unit_test(test_sparse_extents),
		cmocka_unit_test(test_sparse_empty),
		cmocka_unit_test(test_yield_resume),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
