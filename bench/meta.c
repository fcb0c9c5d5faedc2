// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Metadata: per-operation latency of create, open+close, stat, getxattr,
 * readdir and unlink over COUNT files of one directory, and the time to
 * create many.
 * Names are relative to the directory (chdir), so every contender resolves
 * the same one-component paths.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "bench.h"

static void enter(const char *dir)
{
	if (mkdir(dir, 0755))
		bench_die(errno, "mkdir %s", dir);
	if (chdir(dir))
		bench_die(errno, "chdir %s", dir);
}

static void name_of(char *buf, size_t len, size_t i)
{
	snprintf(buf, len, "f%07zu", i);
}

/* Create @count empty files f0000000...; returns the seconds it took. */
static double create_files(size_t count)
{
	double t0 = bench_now();
	char name[32];

	for (size_t i = 0; i < count; i++) {
		int fd;

		name_of(name, sizeof(name), i);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			bench_die(errno, "create %s", name);
		close(fd);
	}
	return bench_now() - t0;
}

static double open_close(size_t count)
{
	double t0 = bench_now();
	char name[32];

	for (size_t i = 0; i < count; i++) {
		int fd;

		name_of(name, sizeof(name), i);
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			bench_die(errno, "open %s", name);
		close(fd);
	}
	return bench_now() - t0;
}

static double stat_files(size_t count)
{
	double t0 = bench_now();
	struct stat st;
	char name[32];

	for (size_t i = 0; i < count; i++) {
		name_of(name, sizeof(name), i);
		if (stat(name, &st))
			bench_die(errno, "stat %s", name);
	}
	return bench_now() - t0;
}

/*
 * getxattr of a name no file has: on a FUSE mount one GETXATTR round trip
 * to the daemon with next to no work there, so it prices a round trip.
 */
static double getxattr_files(size_t count)
{
	double t0 = bench_now();
	char name[32], v[16];

	for (size_t i = 0; i < count; i++) {
		name_of(name, sizeof(name), i);
		if (getxattr(name, "user.cdm-bench.absent", v, sizeof(v)) >= 0 ||
		    errno != ENODATA)
			bench_die(errno, "getxattr %s: want ENODATA", name);
	}
	return bench_now() - t0;
}

/* One full listing of the directory; dies unless it has @count files. */
static double list_dir(size_t count)
{
	double t0 = bench_now();
	size_t n = 0;
	DIR *d = opendir(".");

	if (!d)
		bench_die(errno, "opendir");
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	if (n != count)
		bench_die(0, "readdir saw %zu files, want %zu", n, count);
	return bench_now() - t0;
}

static double unlink_files(size_t count)
{
	double t0 = bench_now();
	char name[32];

	for (size_t i = 0; i < count; i++) {
		name_of(name, sizeof(name), i);
		if (unlink(name))
			bench_die(errno, "unlink %s", name);
	}
	return bench_now() - t0;
}

/* DIR COUNT: DIR must not exist; it is left empty. */
int bench_meta(int argc, char **argv)
{
	size_t count = bench_size(argv[1]);
	double us = 1e6 / (double)count;

	if (!count)
		bench_die(0, "COUNT must be > 0");
	enter(argv[0]);
	bench_out_num("create_us", create_files(count) * us);
	bench_out_num("open_close_us", open_close(count) * us);
	bench_out_num("stat_us", stat_files(count) * us);
	bench_out_num("getxattr_us", getxattr_files(count) * us);
	bench_out_num("readdir_ms", list_dir(count) * 1e3);
	bench_out_num("unlink_us", unlink_files(count) * us);
	bench_out_end();
	return 0;
}

/* DIR COUNT: DIR must not exist; the files are left for the caller. */
int bench_create_many(int argc, char **argv)
{
	size_t count = bench_size(argv[1]);

	enter(argv[0]);
	bench_out_num("seconds", create_files(count));
	bench_out_end();
	return 0;
}
