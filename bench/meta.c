// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Metadata: per-operation latency of create, open+close, stat, getxattr,
 * readdir and unlink over COUNT files of one directory (loop mean, and the
 * per-call median and p90), and the time to create many.
 * Names are relative to the directory (chdir), so every contender resolves
 * the same one-component paths.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

/*
 * Each loop below times the whole loop (its mean is the figure the table has
 * always shown) and every single call, into @lat (seconds, @count of them):
 * the per-call median and p90 show what a typical call costs apart from the
 * slow tail (a cross-CPU wakeup, a daemon thread being spawned) that moves a
 * mean.  The two clock reads per call are vDSO calls, well under a
 * microsecond, and are inside the loop time too.
 */

/* Create @count empty files f0000000...; returns the seconds it took. */
static double create_files(size_t count, double *lat)
{
	double t0 = bench_now();
	char name[32];

	for (size_t i = 0; i < count; i++) {
		double t;
		int fd;

		name_of(name, sizeof(name), i);
		t = bench_now();
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			bench_die(errno, "create %s", name);
		close(fd);
		if (lat)
			lat[i] = bench_now() - t;
	}
	return bench_now() - t0;
}

static double open_close(size_t count, double *lat)
{
	double t0 = bench_now();
	char name[32];

	for (size_t i = 0; i < count; i++) {
		double t;
		int fd;

		name_of(name, sizeof(name), i);
		t = bench_now();
		fd = open(name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			bench_die(errno, "open %s", name);
		close(fd);
		lat[i] = bench_now() - t;
	}
	return bench_now() - t0;
}

static double stat_files(size_t count, double *lat)
{
	double t0 = bench_now();
	struct stat st;
	char name[32];

	for (size_t i = 0; i < count; i++) {
		double t;

		name_of(name, sizeof(name), i);
		t = bench_now();
		if (stat(name, &st))
			bench_die(errno, "stat %s", name);
		lat[i] = bench_now() - t;
	}
	return bench_now() - t0;
}

/*
 * getxattr of a name no file has: on a FUSE mount one GETXATTR round trip
 * to the daemon with next to no work there, so it prices a round trip.
 */
static double getxattr_files(size_t count, double *lat)
{
	double t0 = bench_now();
	char name[32], v[16];

	for (size_t i = 0; i < count; i++) {
		double t;
		ssize_t n;

		name_of(name, sizeof(name), i);
		t = bench_now();
		n = getxattr(name, "user.cdm-bench.absent", v, sizeof(v));
		lat[i] = bench_now() - t;
		if (n >= 0 || errno != ENODATA)
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

static double unlink_files(size_t count, double *lat)
{
	double t0 = bench_now();
	char name[32];

	for (size_t i = 0; i < count; i++) {
		double t;

		name_of(name, sizeof(name), i);
		t = bench_now();
		if (unlink(name))
			bench_die(errno, "unlink %s", name);
		lat[i] = bench_now() - t;
	}
	return bench_now() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Print "@op_us" (loop mean), "@op_med_us" and "@op_p90_us" (nearest rank)
 * of one loop that took @secs over @count calls timed into @lat.
 */
static void out_op(const char *op, double secs, double *lat, size_t count)
{
	char key[48];
	size_t p90 = (count * 9 + 9) / 10 - 1;
	double med;

	qsort(lat, count, sizeof(*lat), cmp_double);
	med = count % 2 ? lat[count / 2]
			: (lat[count / 2 - 1] + lat[count / 2]) / 2;
	snprintf(key, sizeof(key), "%s_us", op);
	bench_out_num(key, secs * 1e6 / (double)count);
	snprintf(key, sizeof(key), "%s_med_us", op);
	bench_out_num(key, med * 1e6);
	snprintf(key, sizeof(key), "%s_p90_us", op);
	bench_out_num(key, lat[p90] * 1e6);
}

/* DIR COUNT: DIR must not exist; it is left empty. */
int bench_meta(int argc, char **argv)
{
	size_t count = bench_size(argv[1]);
	double *lat, secs;

	if (!count)
		bench_die(0, "COUNT must be > 0");
	lat = calloc(count, sizeof(*lat));
	if (!lat)
		bench_die(ENOMEM, "%zu latencies", count);
	enter(argv[0]);
	secs = create_files(count, lat);
	out_op("create", secs, lat, count);
	secs = open_close(count, lat);
	out_op("open_close", secs, lat, count);
	secs = stat_files(count, lat);
	out_op("stat", secs, lat, count);
	secs = getxattr_files(count, lat);
	out_op("getxattr", secs, lat, count);
	bench_out_num("readdir_ms", list_dir(count) * 1e3);
	secs = unlink_files(count, lat);
	out_op("unlink", secs, lat, count);
	bench_out_end();
	free(lat);
	return 0;
}

/* DIR COUNT: DIR must not exist; the files are left for the caller. */
int bench_create_many(int argc, char **argv)
{
	size_t count = bench_size(argv[1]);

	enter(argv[0]);
	bench_out_num("seconds", create_files(count, NULL));
	bench_out_end();
	return 0;
}
