// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inode table: identity by (ino, dev), lookup counting, growth, moves, the
 * fd budget, and inodes named by file handle on a real tmpfs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../fs/inode.h"

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

/*
 * The fd budget: RLIMIT_NOFILE 256 keeps 32 fds in reserve; of the other
 * 224, each of 2 devices keeps 28 the other cannot take.
 */
static void test_budget(void **state)
{
	struct cdm_inode_table t;
	size_t n0 = 0, n1 = 0;
	ino_t ino = 1;

	assert_int_equal(cdm_inode_table_init(&t), 0);
	assert_int_equal(cdm_inode_table_set_budget(&t, 256, 2), 224);
	while (cdm_inode_get(&t, ino++, 1, -1, 0, 1))
		n0++;
	assert_int_equal(errno, ENFILE);
	assert_int_equal(n0, 224 - 28);
	/* a file the table holds already needs no new fd */
	assert_non_null(cdm_inode_get(&t, 1, 1, -1, 0, 1));
	while (cdm_inode_get(&t, ino++, 1, -1, 1, 1))
		n1++;
	assert_int_equal(n1, 28);
	assert_int_equal(cdm_inode_count(&t), 224);
	/* a forgotten inode gives its fd back to its device */
	assert_true(cdm_inode_put(&t, cdm_inode_find(&t, 1, 1), 2));
	assert_non_null(cdm_inode_get(&t, ino++, 1, -1, 0, 1));
	assert_null(cdm_inode_get(&t, ino++, 1, -1, 0, 1));
	/* the root (no device) is held to the budget, nothing more */
	assert_null(cdm_inode_get(&t, ino++, 1, -1, CDM_NO_DEVICE, 1));
	cdm_inode_table_destroy(&t);

	/* a limit too small for a reserve: no budget, the kernel decides */
	assert_int_equal(cdm_inode_table_init(&t), 0);
	assert_int_equal(cdm_inode_table_set_budget(&t, 48, 2), 0);
	cdm_inode_table_destroy(&t);
}

/* The lowest free fd: what it is before and after shows fds were closed. */
static int lowest_free_fd(void)
{
	int f = fd();

	close(f);
	return f;
}

/* An O_PATH fd of @name in @dir, and its stat. */
static int opath(int dir, const char *name, struct stat *st)
{
	int f = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	assert_true(f >= 0);
	assert_int_equal(fstat(f, st), 0);
	return f;
}

/*
 * By file handle on a tmpfs (/dev/shm): more inodes than the fd budget,
 * none holding an fd; hard links are one inode; an fd opened by handle is
 * the file's; a file gone from tmpfs gives ESTALE, a directory removed
 * while held does not (cdm_inode_remove).  Opening handles takes
 * CAP_DAC_READ_SEARCH: without it, skipped.
 */
static void test_handles(void **state)
{
	char dir[] = "/dev/shm/cdmfs-unit.XXXXXX", name[32];
	struct cdm_inode_table t;
	struct cdm_inode *in[300], *a;
	struct statfs sfs;
	struct stat st, st2;
	int dfd, free_fd, f, ret;

	if (!mkdtemp(dir) || statfs(dir, &sfs) || sfs.f_type != TMPFS_MAGIC) {
		print_message("no tmpfs at /dev/shm to make handles on\n");
		skip();
	}
	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	assert_int_equal(cdm_inode_table_init(&t), 0);
	assert_int_equal(cdm_inode_table_set_budget(&t, 256, 2), 224);
	ret = cdm_inode_table_use_handles(&t, dfd);
	if (ret) {
		print_message("cannot open file handles here: %s (needs CAP_DAC_READ_SEARCH)\n",
			      strerror(-ret));
		cdm_inode_table_destroy(&t);
		close(dfd);
		rmdir(dir);
		skip();
	}
	free_fd = lowest_free_fd();
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		f = openat(dfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
			   0600);
		assert_true(f >= 0);
		close(f);
		f = opath(dfd, name, &st);
		in[i] = cdm_inode_get(&t, st.st_ino, st.st_dev, f, 0, 1);
		assert_non_null(in[i]);		/* beyond the budget of 224 */
		assert_true(in[i]->by_handle);
	}
	assert_int_equal(cdm_inode_count(&t), 300);
	assert_int_equal(lowest_free_fd(), free_fd);	/* none kept */

	/* a hard link is the same inode */
	assert_int_equal(linkat(dfd, "f7", dfd, "link7", 0), 0);
	f = opath(dfd, "link7", &st);
	a = cdm_inode_get(&t, st.st_ino, st.st_dev, f, 0, 1);
	assert_ptr_equal(a, in[7]);
	assert_int_equal(a->nlookup, 2);

	/* an fd by handle is the file's, and is given back */
	f = cdm_inode_fd(&t, in[7]);
	assert_true(f >= 0);
	assert_int_equal(fstat(f, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);
	assert_int_equal(st2.st_nlink, 2);
	cdm_inode_fd_put(in[7], f);
	assert_int_equal(lowest_free_fd(), free_fd);

	/* gone from tmpfs (no fd kept it): ESTALE, not another file */
	assert_int_equal(unlinkat(dfd, "f8", 0), 0);
	assert_int_equal(cdm_inode_fd(&t, in[8]), -ESTALE);

	/* forget frees, by handle as by fd */
	assert_true(cdm_inode_put(&t, in[8], 1));
	assert_int_equal(cdm_inode_count(&t), 299);

	/* a directory removed while held stays reachable until forgotten */
	assert_int_equal(mkdirat(dfd, "dir", 0700), 0);
	f = opath(dfd, "dir", &st);
	a = cdm_inode_get(&t, st.st_ino, st.st_dev, f, 0, 1);
	assert_non_null(a);
	assert_int_equal(cdm_inode_remove(&t, dfd, "dir", AT_REMOVEDIR), 0);
	f = cdm_inode_fd(&t, a);
	assert_true(f >= 0);
	assert_int_equal(fstat(f, &st2), 0);
	assert_int_equal(st2.st_ino, st.st_ino);
	assert_int_equal(st2.st_nlink, 0);
	cdm_inode_fd_put(a, f);
	assert_true(cdm_inode_put(&t, a, 1));	/* closes the kept fd */
	assert_int_equal(lowest_free_fd(), free_fd);
	assert_int_equal(cdm_inode_remove(&t, dfd, "dir", AT_REMOVEDIR), -ENOENT);
	cdm_inode_table_destroy(&t);
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		unlinkat(dfd, name, 0);
	}
	unlinkat(dfd, "link7", 0);
	close(dfd);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_handles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
