// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * fs/placement.c and fs/migrator.c drive a device's memory only through its
 * backend's ops: a fake backend records what they ask of it.  A new file is
 * bound; a policy the backend refuses fails with its errno and changes
 * nothing; a policy change binds the file and moves every data range it has
 * (as the kernel's SEEK_DATA tells them), in a migration worker; residency
 * is what the backend says.  The store is a directory on tmpfs (/dev/shm):
 * the daemon keeps policies in user.* xattrs there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <cmocka.h>

#include "capacity.h"
#include "fs.h"
#include "migrator.h"
#include "placement.h"
#include "policystore.h"
#include "cdmfs/xattr.h"

#define FAKE_REFUSED 2		/* the device the fake refuses to place on */
#define FAKE_ERRNO EXDEV	/* and how: not the -EINVAL of real backends */
#define MAX_CALLS 64

/* What the daemon asked of the fake; the worker thread adds to it. */
static struct {
	pthread_mutex_t lock;
	unsigned int translate, bind, move;
	unsigned int bind_not_file;	/* binds of an fd of no regular file */
	int bind_target[MAX_CALLS];
	bool bind_fresh[MAX_CALLS];
	int move_target[MAX_CALLS];
	off_t move_off[MAX_CALLS];
	size_t move_len[MAX_CALLS];
} calls = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int fake_usage(const char *sysroot, const struct cdm_device *dev,
		      uint64_t *size, uint64_t *avail)
{
	*size = *avail = 1ULL << 30;
	return 0;
}

/* Places a file on the policy's first device, kept in the backend's mode. */
static int fake_translate(const struct cdm_policy *p,
			  const struct cdm_device_list *devs, uint16_t filedev,
			  struct cdm_placement *out)
{
	pthread_mutex_lock(&calls.lock);
	calls.translate++;
	pthread_mutex_unlock(&calls.lock);
	memset(out, 0, sizeof(*out));
	if (cdm_policy_has_device(p, FAKE_REFUSED))
		return -FAKE_ERRNO;
	out->mode = p->dev[0];
	return 0;
}

static int fake_bind(int fd, const struct cdm_placement *pl, bool fresh)
{
	struct stat st;
	bool file = !fstat(fd, &st) && S_ISREG(st.st_mode);

	/* no cmocka assert here: a migration worker calls it too */
	pthread_mutex_lock(&calls.lock);
	calls.bind_not_file += !file;
	if (calls.bind < MAX_CALLS) {
		calls.bind_target[calls.bind] = pl->mode;
		calls.bind_fresh[calls.bind] = fresh;
	}
	calls.bind++;
	pthread_mutex_unlock(&calls.lock);
	return 0;
}

static int fake_move(int fd, const struct cdm_placement *pl, off_t off,
		     size_t len, unsigned char *vec, uint64_t *moved)
{
	pthread_mutex_lock(&calls.lock);
	if (calls.move < MAX_CALLS) {
		calls.move_target[calls.move] = pl->mode;
		calls.move_off[calls.move] = off;
		calls.move_len[calls.move] = len;
	}
	calls.move++;
	pthread_mutex_unlock(&calls.lock);
	*moved += len;
	return 0;
}

static int fake_residency(const struct cdm_policy *p,
			  const struct cdm_device_list *devs, uint16_t filedev,
			  int fd, struct cdm_residency *r)
{
	r->bytes[1] += 12345;
	r->drift = 7;
	r->lost = 3;
	return 0;
}

static const struct cdm_backend_ops fake_ops = {
	.name = "fake",
	.usage = fake_usage,
	.translate = fake_translate,
	.bind = fake_bind,
	.move = fake_move,
	.residency = fake_residency,
};

static struct cdm_fs fs;
static char store[] = "/dev/shm/cdmfs-unit-XXXXXX";
static struct cdm_inode *devdir;	/* device fa's directory */

static void reset_calls(void)
{
	pthread_mutex_lock(&calls.lock);
	calls.translate = calls.bind = calls.move = calls.bind_not_file = 0;
	pthread_mutex_unlock(&calls.lock);
}

/* The table's inode of @path (a lookup the caller drops). */
static struct cdm_inode *inode_of(const char *path, uint16_t dev)
{
	struct cdm_inode *inode;
	struct stat st;
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	inode = cdm_inode_get(&fs.table, st.st_ino, st.st_dev, fd, dev, 1);
	assert_non_null(inode);
	return inode;
}

static int setup(void **state)
{
	static const char *const names[] = { "fa", "fb", "fx" };
	char path[PATH_MAX];

	fs.opt.sysroot = "";
	fs.opt.migrate_batch = CDM_MIGRATE_BATCH_DEFAULT;
	fs.opt.migrate_turn_ms = CDM_MIGRATE_TURN_DEFAULT;
	fs.root.fd = -1;	/* no store root: its free space is unbounded */
	fs.store_path = store;
	for (int i = 0; i < 3; i++) {
		struct cdm_device d = { .ops = &fake_ops, .node = -1,
					.tier = -1 };

		strcpy(d.name, names[i]);
		assert_int_equal(cdm_device_list_add(&fs.devices, &d), 0);
	}
	assert_int_equal(cdm_inode_table_init(&fs.table), 0);
	fs.devfd = calloc(3, sizeof(*fs.devfd));
	assert_non_null(fs.devfd);
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", store, names[i]);
		assert_int_equal(mkdir(path, 0755), 0);
		fs.devfd[i] = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		assert_true(fs.devfd[i] >= 0);
	}
	assert_int_equal(cdm_capacity_open(&fs), 0);
	assert_int_equal(cdm_policystore_open(&fs), 0);
	cdm_migrator_init(&fs);
	snprintf(path, sizeof(path), "%s/fa", store);
	devdir = inode_of(path, 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	cdm_migrator_stop(&fs);
	cdm_inode_put(&fs.table, devdir, 1);
	cdm_policystore_close(&fs);
	cdm_capacity_close(&fs);
	for (int i = 0; i < 3; i++)
		close(fs.devfd[i]);
	free(fs.devfd);
	cdm_inode_table_destroy(&fs.table);
	cdm_device_list_free(&fs.devices);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", store);
	return system(cmd) ? -1 : 0;
}

/* Make file @name in device fa with @n data ranges at @off[i], @len[i]. */
static struct cdm_inode *make_file(const char *name, const off_t *off,
				   const size_t *len, int n)
{
	char path[PATH_MAX], buf[16384];
	struct cdm_inode *inode;
	int fd;

	snprintf(path, sizeof(path), "%s/fa/%s", store, name);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < n; i++)
		assert_int_equal(pwrite(fd, buf, len[i], off[i]),
				 (ssize_t)len[i]);
	close(fd);
	inode = inode_of(path, 0);
	return inode;
}

/* Wait until no migration of @inode is queued or running; its outcome. */
static char *migration_outcome(struct cdm_inode *inode)
{
	for (int i = 0; i < 1000; i++) {
		char *v = cdm_migration_value(inode);

		assert_non_null(v);
		if (!strncmp(v, "idle", 4))
			return v;
		free(v);
		usleep(10000);
	}
	fail_msg("the migration did not end in 10 s");
	return NULL;
}

static void test_new_file_is_bound(void **state)
{
	char path[PATH_MAX];
	int fd;

	reset_calls();
	snprintf(path, sizeof(path), "%s/fa/new", store);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(cdm_place_new(&fs, devdir, fd, true), 0);
	close(fd);
	/* bind:fa, the device's default, on the fresh file */
	assert_int_equal(calls.bind, 1);
	assert_int_equal(calls.bind_not_file, 0);
	assert_int_equal(calls.bind_target[0], 0);
	assert_true(calls.bind_fresh[0]);
	assert_int_equal(calls.move, 0);
}

static void test_refused_policy_changes_nothing(void **state)
{
	static const off_t off[] = { 0 };
	static const size_t len[] = { 4096 };
	struct cdm_inode *inode = make_file("refused", off, len, 1);
	char *v;

	reset_calls();
	assert_int_equal(cdm_set_policy(&fs, inode, 0, "bind:fx", 7),
			 -FAKE_ERRNO);
	assert_int_equal(cdm_set_policy(&fs, inode, 0, "interleave:fb,fx", 16),
			 -FAKE_ERRNO);
	assert_true(calls.translate >= 2);
	assert_int_equal(calls.bind, 0);
	assert_int_equal(calls.move, 0);
	v = cdm_policy_value(&fs, inode);
	assert_string_equal(v, "bind:fa");
	free(v);
	cdm_inode_put(&fs.table, inode, 1);
}

static void test_policy_change_moves_every_range(void **state)
{
	/* three data ranges with holes between, on whole pages */
	static const off_t off[] = { 0, 1 << 20, 4 << 20 };
	static const size_t len[] = { 8192, 4096, 12288 };
	struct cdm_inode *inode = make_file("moved", off, len, 3);
	char path[PATH_MAX], want[128];
	off_t at = 0, start, end;
	uint64_t data = 0;
	unsigned int n = 0;
	char *v;
	int fd;

	reset_calls();
	assert_int_equal(cdm_set_policy(&fs, inode, 0, "bind:fb", 7), 0);
	v = migration_outcome(inode);
	pthread_mutex_lock(&calls.lock);
	/* bound to fb: at the setxattr and again by the worker */
	assert_true(calls.bind >= 1);
	assert_int_equal(calls.bind_not_file, 0);
	for (unsigned int i = 0; i < calls.bind; i++) {
		assert_int_equal(calls.bind_target[i], 1);
		assert_false(calls.bind_fresh[i]);
	}
	/* one move per data range the kernel has, each toward fb */
	snprintf(path, sizeof(path), "%s/fa/moved", store);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	while ((start = lseek(fd, at, SEEK_DATA)) >= 0) {
		end = lseek(fd, start, SEEK_HOLE);
		assert_true(n < calls.move);
		assert_int_equal(calls.move_off[n], start);
		assert_int_equal(calls.move_len[n], (size_t)(end - start));
		assert_int_equal(calls.move_target[n], 1);
		data += (uint64_t)(end - start);
		n++;
		at = end;
	}
	close(fd);
	assert_int_equal(n, 3);
	assert_int_equal(calls.move, n);
	pthread_mutex_unlock(&calls.lock);
	/* the outcome counts what the backend said it moved */
	snprintf(want, sizeof(want), "idle, last: done %llu bytes to bind:fb",
		 (unsigned long long)data);
	assert_memory_equal(v, want, strlen(want));
	free(v);
	cdm_inode_put(&fs.table, inode, 1);
}

static void test_residency_from_the_backend(void **state)
{
	static const off_t off[] = { 0 };
	static const size_t len[] = { 4096 };
	struct cdm_inode *inode = make_file("resident", off, len, 1);
	char *v;

	/* the device's policy lists fa; fb has what the backend says */
	v = cdm_residency_value(&fs, inode, false);
	assert_non_null(v);
	assert_string_equal(v, "fa=0 fb=12345 lost=3");
	free(v);
	v = cdm_residency_value(&fs, inode, true);
	assert_non_null(v);
	assert_string_equal(v, "7");
	free(v);
	cdm_inode_put(&fs.table, inode, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_file_is_bound),
		cmocka_unit_test(test_refused_policy_changes_nothing),
		cmocka_unit_test(test_policy_change_moves_every_range),
		cmocka_unit_test(test_residency_from_the_backend),
	};

	if (!mkdtemp(store)) {
		printf("skip: no tmpfs at /dev/shm for the store: %s\n",
		       strerror(errno));
		return 77;
	}
	if (setxattr(store, "user.cdm.probe", "1", 1, 0)) {
		printf("skip: %s takes no user xattrs: %s\n", store,
		       strerror(errno));
		rmdir(store);
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
