// SPDX-License-Identifier: GPL-2.0-or-later
/* Inode table: identity by (ino, dev), lookup counting, growth, moves. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../fs/cdmfs.h"

/* the table frees migration state it never got here */
void cdm_migration_free(struct cdm_migration *m);
void cdm_migration_free(struct cdm_migration *m)
{
	assert_null(m);
}

static int fd(void)
{
	int f = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(f >= 0);
	return f;
}

static void test_identity(void **state)
{
	struct cdm_inode_table t;
	struct cdm_inode *a, *b, *c;

	assert_int_equal(cdm_inode_table_init(&t), 0);
	a = cdm_inode_get(&t, 10, 1, fd(), 0, 1);
	b = cdm_inode_get(&t, 10, 1, fd(), 0, 1);	/* a hard link */
	c = cdm_inode_get(&t, 10, 2, fd(), 0, 1);	/* other st_dev */
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_int_equal(a->nlookup, 2);
	assert_int_equal(cdm_inode_count(&t), 2);
	assert_false(cdm_inode_put(&t, a, 1));
	assert_true(cdm_inode_put(&t, a, 1));
	assert_int_equal(cdm_inode_count(&t), 1);
	/* forget may drop more than one lookup at once */
	c = cdm_inode_get(&t, 10, 2, fd(), 0, 5);
	assert_int_equal(c->nlookup, 6);
	assert_true(cdm_inode_put(&t, c, 6));
	assert_int_equal(cdm_inode_count(&t), 0);
	cdm_inode_table_destroy(&t);
}

static void test_growth(void **state)
{
	struct cdm_inode_table t;
	const int n = 10000;

	assert_int_equal(cdm_inode_table_init(&t), 0);
	for (int i = 0; i < n; i++)
		assert_non_null(cdm_inode_get(&t, (ino_t)i, 7, -1, 0, 1));
	assert_int_equal(cdm_inode_count(&t), n);
	assert_true(t.nbucket >= n / 2);
	/* every inode is still found after the table grew */
	for (int i = 0; i < n; i++) {
		struct cdm_inode *in = cdm_inode_get(&t, (ino_t)i, 7, -1, 0, 1);

		assert_int_equal(in->src_ino, i);
		assert_int_equal(in->nlookup, 2);
	}
	assert_int_equal(cdm_inode_count(&t), n);
	cdm_inode_table_destroy(&t);	/* frees the rest: ASan checks */
}

static void test_find(void **state)
{
	struct cdm_inode_table t;
	struct cdm_inode *a;

	assert_int_equal(cdm_inode_table_init(&t), 0);
	a = cdm_inode_get(&t, 3, 1, -1, 0, 1);
	assert_ptr_equal(cdm_inode_find(&t, 3, 1), a);
	assert_null(cdm_inode_find(&t, 99, 1));	/* unknown: no insert */
	assert_int_equal(a->nlookup, 1);
	assert_int_equal(cdm_inode_count(&t), 1);
	cdm_inode_table_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
