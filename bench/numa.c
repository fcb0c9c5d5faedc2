// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Migration and residency: cdmfs (setfattr user.cdm.policy on a mapped
 * file, getfattr user.cdm.residency) against the raw kernel calls on an
 * equal memfd (mbind MPOL_MF_MOVE_ALL, move_pages).  The node of every page
 * is checked with move_pages after a move, so a figure is never a move that
 * did not happen.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <numaif.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MASK_BITS 1024

struct region {
	char *p;
	size_t size, npages;
	void **pages;
	int *status;
};

static void region_init(struct region *r, char *p, size_t size, int advice)
{
	r->p = p;
	r->size = size;
	r->npages = size / BENCH_PAGE;
	r->pages = malloc(r->npages * sizeof(*r->pages));
	r->status = malloc(r->npages * sizeof(*r->status));
	if (!r->pages || !r->status)
		bench_die(ENOMEM, "page arrays");
	for (size_t i = 0; i < r->npages; i++)
		r->pages[i] = p + i * BENCH_PAGE;
	if (madvise(p, size, advice))
		bench_die(errno, "MADV_POPULATE");
}

/* Ask the kernel for the node of every page; returns the count on @node. */
static size_t pages_on(struct region *r, int node)
{
	size_t n = 0;

	if (move_pages(0, r->npages, r->pages, NULL, r->status, 0))
		bench_die(errno, "move_pages (query)");
	for (size_t i = 0; i < r->npages; i++)
		n += r->status[i] == node;
	return n;
}

static void need_all_on(struct region *r, int node, const char *when)
{
	size_t n = pages_on(r, node);

	if (n != r->npages)
		bench_die(0, "%s: %zu/%zu pages on node%d", when, n, r->npages,
			  node);
}

static int node_arg(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*end || n < 0 || n >= MASK_BITS)
		bench_die(0, "bad node '%s'", s);
	return (int)n;
}

static void bind_to(struct region *r, int node, unsigned int flags)
{
	unsigned long mask[MASK_BITS / (8 * sizeof(unsigned long))] = { 0 };

	mask[node / (8 * sizeof(long))] |= 1UL << (node % (8 * sizeof(long)));
	if (mbind(r->p, r->size, MPOL_BIND, mask, MASK_BITS + 1, flags))
		bench_die(errno, "mbind node%d", node);
}

static char *map_memfd(size_t size)
{
	int fd = memfd_create("cdm-bench", MFD_CLOEXEC);
	char *p;

	if (fd < 0 || ftruncate(fd, (off_t)size))
		bench_die(errno, "memfd of %zu bytes", size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		bench_die(errno, "mmap memfd");
	close(fd);
	return p;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * A second process that writes one word of every page of a shared mapping,
 * page after page, pass after pass, and times each write: the longest is
 * what an application writing its file sees of a migration (a write to a
 * page in flight waits for the kernel's batch holding it; any preemption
 * counts too).  Its figures live in memory shared with the parent, which
 * moves the phase on.  Waiting for a 0.5 s window before the move gives the
 * machine's own noise floor (the scheduler, a TCG host's preemption).
 */
enum { WRITER_BEFORE, WRITER_DURING, WRITER_STOP };

struct writer {
	volatile int phase, ready;
	pid_t pid;
	double max_ms[2];		/* per phase */
	uint64_t writes[2], over_1ms[2], over_5ms[2], over_20ms[2];
};

static struct writer *writer_start(char *p, size_t size)
{
	struct writer *w = mmap(NULL, sizeof(*w), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	size_t npages = size / BENCH_PAGE;
	pid_t pid;

	if (w == MAP_FAILED)
		bench_die(errno, "mmap writer stats");
	/* not w->pid = fork(): the child's 0 would land in shared memory */
	pid = fork();
	if (pid < 0)
		bench_die(errno, "fork");
	if (!pid) {
		double prev;

		/* a parent that dies must not leave it spinning */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() == 1 ||
		    madvise(p, size, MADV_POPULATE_WRITE))
			_exit(1);
		w->ready = 1;
		prev = bench_now();
		for (;;) {
			for (size_t i = 0; i < npages; i++) {
				int ph = w->phase;
				double t, ms;

				((volatile uint64_t *)(p + i * BENCH_PAGE))[1]++;
				t = bench_now();
				ms = (t - prev) * 1e3;
				prev = t;
				if (ph == WRITER_STOP)
					_exit(0);
				w->writes[ph]++;
				if (ms > w->max_ms[ph])
					w->max_ms[ph] = ms;
				w->over_1ms[ph] += ms > 1;
				w->over_5ms[ph] += ms > 5;
				w->over_20ms[ph] += ms > 20;
			}
		}
	}
	w->pid = pid;
	while (!w->ready) {
		if (waitpid(w->pid, NULL, WNOHANG) == w->pid)
			bench_die(0, "writer could not map its pages");
		sleep_ms(1);
	}
	sleep_ms(500);		/* the noise floor */
	w->phase = WRITER_DURING;
	return w;
}

static void writer_stop(struct writer *w)
{
	int status;

	w->phase = WRITER_STOP;
	if (waitpid(w->pid, &status, 0) != w->pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		bench_die(0, "writer failed (status %#x)", status);
	if (!w->writes[WRITER_DURING])
		bench_die(0, "writer made no write during the move");
	bench_out_num("writer_max_ms", w->max_ms[WRITER_DURING]);
	bench_out_num("writer_writes", (double)w->writes[WRITER_DURING]);
	bench_out_num("writer_over_1ms", (double)w->over_1ms[WRITER_DURING]);
	bench_out_num("writer_over_5ms", (double)w->over_5ms[WRITER_DURING]);
	bench_out_num("writer_over_20ms", (double)w->over_20ms[WRITER_DURING]);
	bench_out_num("writer_base_max_ms", w->max_ms[WRITER_BEFORE]);
	bench_out_num("writer_base_writes", (double)w->writes[WRITER_BEFORE]);
	munmap(w, sizeof(*w));
}

/* "none" or "writer" */
static bool want_writer(const char *s)
{
	if (strcmp(s, "none") && strcmp(s, "writer"))
		bench_die(0, "'%s': want none or writer", s);
	return !strcmp(s, "writer");
}

/*
 * FILE POLICY NODE WITH: map FILE (every page resident), setfattr
 * user.cdm.policy=POLICY and time until user.cdm.migration has a result,
 * whether setxattr waits for the move or returns while it runs.  WITH
 * "writer": a second process writes the file's pages meanwhile (above).
 */
int bench_migrate_file(int argc, char **argv)
{
	int node = node_arg(argv[2]), fd = open(argv[0], O_RDWR | O_CLOEXEC);
	struct writer *w = NULL;
	char state[512] = "";
	double t0, t1, tset;
	struct region r;
	struct stat st;
	ssize_t n;
	char *p;

	if (fd < 0 || fstat(fd, &st))
		bench_die(errno, "%s", argv[0]);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED)
		bench_die(errno, "mmap %s", argv[0]);
	region_init(&r, p, (size_t)st.st_size, MADV_POPULATE_READ);
	if (want_writer(argv[3]))
		w = writer_start(p, r.size);
	t0 = bench_now();
	if (setxattr(argv[0], "user.cdm.policy", argv[1], strlen(argv[1]), 0))
		bench_die(errno, "setxattr user.cdm.policy=%s", argv[1]);
	tset = bench_now();
	for (;;) {
		n = getxattr(argv[0], "user.cdm.migration", state,
			     sizeof(state) - 1);
		if (n < 0)
			bench_die(errno, "getxattr user.cdm.migration");
		state[n] = '\0';
		/* "running D/T ..." until "idle, last: <outcome>" */
		if (strncmp(state, "running", 7) && strstr(state, "last:"))
			break;
		if (bench_now() - t0 > 600)
			bench_die(0, "migration still '%s' after 600 s", state);
		sleep_ms(10);	/* each poll is a round trip to the daemon */
	}
	t1 = bench_now();
	if (w)
		writer_stop(w);
	need_all_on(&r, node, "after setfattr");
	bench_out_num("gbps", (double)r.size / (t1 - t0) / 1e9);
	bench_out_num("seconds", t1 - t0);
	bench_out_num("setxattr_seconds", tset - t0);
	bench_out_num("bytes", (double)r.size);
	bench_out_str("migration", state);
	bench_out_end();
	return 0;
}

/*
 * A child that maps every page of the parent's shared mapping @p too (fork
 * copies no page tables of a shared file mapping: it faults them in) and
 * then waits to be killed.  Returns its pid once its pages are mapped.
 */
static pid_t second_mapper(char *p, size_t size)
{
	int fds[2];
	char c = 0;
	pid_t pid;

	if (pipe(fds))
		bench_die(errno, "pipe");
	pid = fork();
	if (pid < 0)
		bench_die(errno, "fork");
	if (!pid) {
		if (madvise(p, size, MADV_POPULATE_READ))
			_exit(1);
		if (write(fds[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	if (read(fds[0], &c, 1) != 1)
		bench_die(0, "second mapper failed");
	close(fds[0]);
	return pid;
}

/*
 * SIZE FROM TO WITH: a memfd bound to FROM and written, moved to TO by one
 * mbind; WITH "mapper": a second process maps every page meanwhile, as an
 * application does while cdmfs's daemon moves its file; "writer": it writes
 * them (above); "none": nobody else.
 */
int bench_migrate_raw(int argc, char **argv)
{
	size_t size = bench_size(argv[0]);
	int from = node_arg(argv[1]), to = node_arg(argv[2]);
	struct writer *w = NULL;
	pid_t child = 0;
	struct region r;
	double t0, t1;
	char *p = map_memfd(size);

	r.p = p;
	r.size = size;
	bind_to(&r, from, 0);
	region_init(&r, p, size, MADV_POPULATE_WRITE);
	need_all_on(&r, from, "before mbind");
	if (!strcmp(argv[3], "mapper"))
		child = second_mapper(p, size);
	else if (want_writer(argv[3]))
		w = writer_start(p, size);
	t0 = bench_now();
	bind_to(&r, to, MPOL_MF_MOVE_ALL | MPOL_MF_STRICT);
	t1 = bench_now();
	if (child) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (w)
		writer_stop(w);
	need_all_on(&r, to, "after mbind");
	bench_out_num("gbps", (double)size / (t1 - t0) / 1e9);
	bench_out_num("seconds", t1 - t0);
	bench_out_num("bytes", (double)size);
	bench_out_end();
	return 0;
}

/* FILE REPEAT: getxattr user.cdm.residency REPEAT times. */
int bench_residency(int argc, char **argv)
{
	size_t repeat = bench_size(argv[1]);
	char value[4096];
	struct stat st;
	double t0, t1;
	ssize_t n = 0;

	if (stat(argv[0], &st))
		bench_die(errno, "%s", argv[0]);
	if (!repeat || !st.st_size)
		bench_die(0, "REPEAT and the file's size must be > 0");
	t0 = bench_now();
	for (size_t i = 0; i < repeat; i++) {
		n = getxattr(argv[0], "user.cdm.residency", value,
			     sizeof(value) - 1);
		if (n < 0)
			bench_die(errno, "getxattr user.cdm.residency");
	}
	t1 = bench_now();
	value[n] = '\0';
	bench_out_num("ms_per_gib", (t1 - t0) / (double)repeat * 1e3 *
				    (double)(1UL << 30) / (double)st.st_size);
	bench_out_str("value", value);
	bench_out_end();
	return 0;
}

/* SIZE REPEAT: move_pages(nodes=NULL) over a written memfd of SIZE. */
int bench_residency_raw(int argc, char **argv)
{
	size_t size = bench_size(argv[0]), repeat = bench_size(argv[1]);
	struct region r;
	double t0, t1;

	if (!repeat || !size)
		bench_die(0, "SIZE and REPEAT must be > 0");
	region_init(&r, map_memfd(size), size, MADV_POPULATE_WRITE);
	t0 = bench_now();
	for (size_t i = 0; i < repeat; i++)
		pages_on(&r, 0);
	t1 = bench_now();
	bench_out_num("ms_per_gib", (t1 - t0) / (double)repeat * 1e3 *
				    (double)(1UL << 30) / (double)size);
	bench_out_end();
	return 0;
}
