// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Metadata: per-operation latency of create, open+close, stat, getxattr,
 * readdir and unlink over COUNT files of one directory (loop mean, and the
 * per-call median and p90), the time to create many, and what many files
 * cost (scale: create and stat N, the daemon's and the kernel's memory).
 * Names are relative to the directory (chdir), so every contender resolves
 * the same one-component paths.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/*
 * The kernel's memory per cached file: the FUSE inode and dentry, the
 * backing tmpfs inode and dentry, and open files (an O_PATH fd held per
 * inode is one).  The bytes of their slabs, from /proc/slabinfo (root).
 */
static const char *const scale_slabs[] = {
	"fuse_inode", "dentry", "shmem_inode_cache", "filp",
};
#define SCALE_NSLAB (sizeof(scale_slabs) / sizeof(scale_slabs[0]))

struct scale_mem {
	double slab[SCALE_NSLAB];	/* bytes of slab pages */
	double objs[SCALE_NSLAB];	/* objects in use */
	double rss;			/* daemon VmRSS, bytes */
	bool have_slab;
};

static void scale_read_slabs(struct scale_mem *m)
{
	FILE *f = fopen("/proc/slabinfo", "re");
	char line[512], name[64];
	long pg = sysconf(_SC_PAGESIZE);

	m->have_slab = f != NULL;
	for (; f && fgets(line, sizeof(line), f);) {
		unsigned long act, num, size, per, pages, aslabs, nslabs;

		if (sscanf(line, "%63s %lu %lu %lu %lu %lu : tunables %*u %*u %*u : slabdata %lu %lu",
			   name, &act, &num, &size, &per, &pages, &aslabs,
			   &nslabs) != 8)
			continue;
		for (size_t i = 0; i < SCALE_NSLAB; i++) {
			if (strcmp(name, scale_slabs[i]))
				continue;
			m->slab[i] = (double)nslabs * (double)pages * (double)pg;
			m->objs[i] = (double)act;
		}
	}
	if (f)
		fclose(f);
}

static double scale_rss(long pid)
{
	char path[64], line[256];
	double kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	if (!f)
		bench_die(errno, "%s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lf kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

static void scale_measure(struct scale_mem *m, long pid)
{
	memset(m, 0, sizeof(*m));
	scale_read_slabs(m);
	if (pid > 0)
		m->rss = scale_rss(pid);
}

static double scale_fds(long pid)
{
	char path[64];
	double n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Failures are counted, not fatal: the first of each kind is shown. */
static void scale_error(const char *op, const char *name, size_t *count)
{
	if (!(*count)++)
		fprintf(stderr, "cdm-bench: scale: %s %s: %s (first error)\n",
			op, name, strerror(errno));
}

/*
 * DIR COUNT PID: create COUNT empty files in DIR (which must not exist),
 * then stat every one; PID is the daemon serving DIR (0: none).  Memory per
 * file is what the daemon's VmRSS and the kernel's slabs grew by from
 * before the first create to after the last stat, while the kernel holds
 * them all: the files are left for the caller (unmounting frees them).
 */
int bench_scale(int argc, char **argv)
{
	size_t count = bench_size(argv[1]), cerr = 0, serr = 0;
	long pid = strtol(argv[2], NULL, 10);
	struct scale_mem before, after;
	double t0, create, st_secs;
	char name[32], key[64];
	struct stat st;

	if (!count)
		bench_die(0, "COUNT must be > 0");
	enter(argv[0]);
	scale_measure(&before, pid);
	t0 = bench_now();
	for (size_t i = 0; i < count; i++) {
		int fd;

		name_of(name, sizeof(name), i);
		fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			scale_error("create", name, &cerr);
		else
			close(fd);
	}
	create = bench_now() - t0;
	t0 = bench_now();
	for (size_t i = 0; i < count; i++) {
		name_of(name, sizeof(name), i);
		if (stat(name, &st))
			scale_error("stat", name, &serr);
	}
	st_secs = bench_now() - t0;
	scale_measure(&after, pid);
	bench_out_num("files", (double)count);
	bench_out_num("errors", (double)(cerr + serr));
	bench_out_num("create_errors", (double)cerr);
	bench_out_num("stat_errors", (double)serr);
	bench_out_num("seconds", create);
	bench_out_num("create_us", create * 1e6 / (double)count);
	bench_out_num("stat_seconds", st_secs);
	bench_out_num("stat_us", st_secs * 1e6 / (double)count);
	if (pid > 0) {
		bench_out_num("bytes_per_file",
			      (after.rss - before.rss) / (double)count);
		bench_out_num("daemon_fds", scale_fds(pid));
	}
	if (before.have_slab) {
		double total = 0;

		for (size_t i = 0; i < SCALE_NSLAB; i++) {
			double b = (after.slab[i] - before.slab[i]) / (double)count;

			snprintf(key, sizeof(key), "slab_%s_bytes_per_file",
				 scale_slabs[i]);
			bench_out_num(key, b);
			snprintf(key, sizeof(key), "slab_%s_objs_per_file",
				 scale_slabs[i]);
			bench_out_num(key, (after.objs[i] - before.objs[i]) /
					   (double)count);
			total += b;
		}
		bench_out_num("kernel_bytes_per_file", total);
	}
	bench_out_end();
	return 0;
}
