// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Data path: mmap and read()/write() throughput, random 4 KiB access through
 * a mapping, and first-touch page faults.  Files are on the contender's
 * mount; sizes come from bench/run.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* Keeps the compiler from dropping reads whose result is otherwise unused. */
static volatile uint64_t sink;

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0)
		bench_die(errno, "%s", path);
	return fd;
}

static size_t size_of(int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st))
		bench_die(errno, "%s", path);
	return (size_t)st.st_size;
}

/*
 * Map @fd at a 2 MiB aligned address, so that a store with huge pages can
 * PMD-map them whatever address the kernel would pick for a file of this
 * mount (6.18 aligns large FUSE mappings too; older kernels only tmpfs's).
 */
static char *map_aligned(int fd, size_t size, int prot)
{
	char *area, *p;
	uintptr_t a;

	area = mmap(NULL, size + BENCH_HUGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (area == MAP_FAILED)
		bench_die(errno, "mmap reserve %zu bytes", size);
	a = ((uintptr_t)area + BENCH_HUGE - 1) & ~(BENCH_HUGE - 1);
	p = mmap((void *)a, size, prot, MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED)
		bench_die(errno, "mmap %zu bytes", size);
	if ((uintptr_t)area < a)
		munmap(area, a - (uintptr_t)area);
	munmap(p + size, (uintptr_t)area + size + BENCH_HUGE - a - size);
	return p;
}

/*
 * Read the whole file once, untimed, through an open of its own.  The first
 * read of freshly written pages also moves them to the active LRU list, and
 * whether write() left them there differs between stores (perf: tmpfs's
 * first read spends ~30% in that, cdmfs's almost nothing); the timed pass
 * then compares reading.  A daemon-served file drops its page cache at the
 * next open (cdmfs sets no keep_cache), so its timed pass still goes
 * through the daemon.
 */
static void read_through(const char *path)
{
	static char buf[1 << 20];
	int fd = open_or_die(path, O_RDONLY);
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		bench_die(errno, "read %s", path);
	close(fd);
}

static double gbps(size_t bytes, double secs)
{
	return (double)bytes / secs / 1e9;
}

/* FILE SIZE: a fresh file written through a shared mapping (fault-bound). */
int bench_mmap_write(int argc, char **argv)
{
	size_t size = bench_size(argv[1]);
	int fd = open_or_die(argv[0], O_RDWR | O_CREAT | O_TRUNC);
	double t0, t1;
	char *p;

	if (ftruncate(fd, (off_t)size))
		bench_die(errno, "ftruncate %s", argv[0]);
	p = map_aligned(fd, size, PROT_READ | PROT_WRITE);
	bench_warm(size, false);
	t0 = bench_now();
	memset(p, 0x5a, size);
	/* a daemon-served mapping is a page cache copy: count its writeback */
	if (msync(p, size, MS_SYNC))
		bench_die(errno, "msync %s", argv[0]);
	t1 = bench_now();
	bench_out_num("gbps", gbps(size, t1 - t0));
	bench_out_num("seconds", t1 - t0);
	bench_out_end();
	return 0;
}

/* FILE: read every word through a fresh shared mapping (a read pass first). */
int bench_mmap_read(int argc, char **argv)
{
	const uint64_t *w;
	uint64_t sum = 0;
	double t0, t1;
	size_t size;
	int fd;

	read_through(argv[0]);
	fd = open_or_die(argv[0], O_RDONLY);
	size = size_of(fd, argv[0]);
	w = (const uint64_t *)map_aligned(fd, size, PROT_READ);
	t0 = bench_now();
	for (size_t i = 0; i < size / sizeof(*w); i++)
		sum += w[i];
	t1 = bench_now();
	sink = sum;
	bench_out_num("gbps", gbps(size, t1 - t0));
	bench_out_end();
	return 0;
}

/* FILE COUNT: COUNT reads of a random 4 KiB page through a fresh mapping. */
int bench_mmap_rand(int argc, char **argv)
{
	int fd = open_or_die(argv[0], O_RDONLY);
	size_t size = size_of(fd, argv[0]), count = bench_size(argv[1]);
	size_t npages = size / BENCH_PAGE;
	uint64_t x = 0x9e3779b97f4a7c15ULL, sum = 0;
	static char buf[BENCH_PAGE];
	double t0, t1;
	char *p;

	if (!npages)
		bench_die(0, "%s: smaller than a page", argv[0]);
	p = map_aligned(fd, size, PROT_READ);
	t0 = bench_now();
	for (size_t i = 0; i < count; i++) {
		/* xorshift64: the same page sequence for every contender */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf, p + (x % npages) * BENCH_PAGE, BENCH_PAGE);
		sum += (uint64_t)buf[x & (BENCH_PAGE - 1)];
	}
	t1 = bench_now();
	sink = sum;
	bench_out_num("ops_s", (double)count / (t1 - t0));
	bench_out_num("gbps", gbps(count * BENCH_PAGE, t1 - t0));
	bench_out_end();
	return 0;
}

/* FILE SIZE BUFSIZE: write() a fresh file BUFSIZE bytes at a time. */
int bench_write(int argc, char **argv)
{
	size_t size = bench_size(argv[1]), bs = bench_size(argv[2]);
	int fd = open_or_die(argv[0], O_WRONLY | O_CREAT | O_TRUNC);
	char *buf = malloc(bs);
	double t0, t1;

	if (!buf || !bs)
		bench_die(ENOMEM, "buffer of %zu bytes", bs);
	memset(buf, 0x5a, bs);
	bench_warm(size, false);
	t0 = bench_now();
	for (size_t done = 0; done < size;) {
		ssize_t n = write(fd, buf, size - done < bs ? size - done : bs);

		if (n <= 0)
			bench_die(n ? errno : EIO, "write %s", argv[0]);
		done += (size_t)n;
	}
	t1 = bench_now();
	close(fd);
	bench_out_num("gbps", gbps(size, t1 - t0));
	bench_out_end();
	return 0;
}

/* FILE BUFSIZE: read() the whole file BUFSIZE bytes at a time (2nd pass). */
int bench_read(int argc, char **argv)
{
	size_t bs = bench_size(argv[1]), total = 0;
	char *buf = malloc(bs);
	double t0, t1;
	ssize_t n;
	int fd;

	if (!buf || !bs)
		bench_die(ENOMEM, "buffer of %zu bytes", bs);
	read_through(argv[0]);
	fd = open_or_die(argv[0], O_RDONLY);
	t0 = bench_now();
	while ((n = read(fd, buf, bs)) > 0)
		total += (size_t)n;
	t1 = bench_now();
	if (n < 0)
		bench_die(errno, "read %s", argv[0]);
	sink = (uint64_t)buf[0];
	bench_out_num("gbps", gbps(total, t1 - t0));
	bench_out_end();
	return 0;
}

/* Bytes of [p, p+size) mapped by PMDs, from /proc/self/smaps. */
static size_t pmd_mapped(const char *p)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	size_t kb = 0, v;
	bool ours = false;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		/* a mapping's header: "START-END perms offset dev inode path" */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			ours = start == (unsigned long)p;
		else if (ours && (sscanf(line, "ShmemPmdMapped: %zu kB", &v) == 1 ||
				  sscanf(line, "FilePmdMapped: %zu kB", &v) == 1 ||
				  sscanf(line, "AnonHugePages: %zu kB", &v) == 1))
			kb += v;
	}
	fclose(f);
	return kb << 10;
}

/*
 * FILE SIZE PAGES: first touch of every 4 KiB page of a fresh file through
 * a 2 MiB aligned mapping.  Faults are counted by the kernel (minflt): one
 * per page with 4 KiB pages, one per 2 MiB where the store gives huge pages.
 * PAGES (4K or 2M) is the page size the store is expected to give, for the
 * warm-up; pmd_bytes says what it gave.
 */
int bench_fault(int argc, char **argv)
{
	size_t size = bench_size(argv[1]), pages = bench_size(argv[2]);
	int fd = open_or_die(argv[0], O_RDWR | O_CREAT | O_TRUNC);
	struct rusage r0, r1;
	double t0, t1;
	long faults;
	char *p;

	if (ftruncate(fd, (off_t)size))
		bench_die(errno, "ftruncate %s", argv[0]);
	p = map_aligned(fd, size, PROT_READ | PROT_WRITE);
	bench_warm(size, pages == BENCH_HUGE);
	getrusage(RUSAGE_SELF, &r0);
	t0 = bench_now();
	for (size_t off = 0; off < size; off += BENCH_PAGE)
		p[off] = 1;
	t1 = bench_now();
	getrusage(RUSAGE_SELF, &r1);
	faults = r1.ru_minflt - r0.ru_minflt;
	bench_out_num("faults_s", (double)faults / (t1 - t0));
	bench_out_num("faults", (double)faults);
	bench_out_num("gbps", gbps(size, t1 - t0));
	bench_out_num("pmd_bytes", (double)pmd_mapped(p));
	bench_out_end();
	return 0;
}
