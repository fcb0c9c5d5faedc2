// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * heatprobe: the pieces of the access-statistics experiment of issue 16
 * (doc/tiering.md) that a shell cannot do: a process that keeps touching a
 * hot window of a shmem file through its own MAP_SHARED mapping, the
 * physical runs that back a file (what DAMON's paddr operations monitor),
 * and the mapping of DAMON's regions back to file offsets.
 *
 *   heatprobe touch [--share-cpu] FILE SIZE HOTOFF HOTLEN SECONDS
 *	Open FILE (O_CREAT) and map SIZE bytes of it MAP_SHARED; if it was
 *	shorter, make it SIZE bytes and write every page once (an existing
 *	file is left untouched, so moving the window leaves the rest cold);
 *	print "ready", then for SECONDS write one byte per page of
 *	[HOTOFF, HOTOFF + HOTLEN) in passes and print
 *	    touch pages_per_s N passes P
 *	(sizes take K/M/G suffixes).  SIGTERM stops early, still printing.
 *	--share-cpu: pin the toucher to its CPU together with a child that
 *	loops on sched_yield(), so the toucher is switched out every time
 *	slice.  Why: QEMU TCG's software TLB grows to hold the whole window and
 *	is flushed only when CR3 is written, and an x86 CPU sets a PTE's
 *	accessed bit only when it fills a TLB entry; without switches a hot
 *	window can stay invisible to anything that reads accessed bits.  Real
 *	CPUs (1.5-2K entry second-level TLBs) cannot hold 8192 pages, so this
 *	models them; it costs the toucher little CPU.
 *
 *   heatprobe work [--share-cpu] FILE SIZE HOTLEN SECONDS OFF[:SECS][,...]
 *	The workload of tests/vm/test_tiering.sh: open FILE (O_CREAT), make it
 *	SIZE bytes, map it MAP_SHARED and write a stamp (a 64-bit counter,
 *	unique per write) at the start of every page; print "ready"; then for
 *	each OFF in turn print "window K OFF" and for SECONDS (or that
 *	window's SECS, or until SIGUSR1) keep writing new stamps to
 *	[OFF, OFF + HOTLEN).  At the end print
 *	    work pages_per_s N writes W
 *	    verify pages P lost L
 *	where lost counts pages whose stamp, read back with pread(2), is not
 *	the last one written (a write lost while a page moved).  Exit 1 if L.
 *
 *   heatprobe nodes FILE OFF LEN
 *	The NUMA node of each resident page of FILE, as move_pages(2) says:
 *	"node N COUNT" per node for the pages in [OFF, OFF + LEN), "rest N
 *	COUNT" for the others, "other COUNT" for pages it gave no node.
 *	Holes are not touched.
 *
 *   heatprobe runs FILE
 *	As root: map FILE MAP_SHARED read-only, find its resident pages with
 *	mincore(2), fault in only those (MADV_POPULATE_READ: holes stay holes),
 *	read their frames from /proc/self/pagemap and print one line per run
 *	of pages contiguous both in the file and in physical memory, sorted by
 *	physical address:
 *	    PADDR_START PADDR_END FILE_OFFSET
 *	The mapping is dropped before exit, so the daemon's own access ends
 *	here and is not what DAMON later sees.
 *
 *   heatprobe classify RUNSFILE HOTOFF HOTLEN < REGIONS
 *	REGIONS: lines "START END NR_ACCESSES" (physical, DAMON tried_regions).
 *	Intersect each with the runs and print the bytes of the file found
 *	accessed (NR_ACCESSES > 0) inside and outside the hot window:
 *	    hot_seen B hot_total B cold_seen B cold_total B regions N
 *	    in_file_regions M
 *
 * Exit: 0, or 2 on usage or system errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* sched_getcpu, CPU_SET */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* by path: build-progs compiles this file alone with a plain cc */
#include "../../include/cdmfs/size.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define PM_PRESENT (1ULL << 63)
#define PM_PFN_MASK ((1ULL << 55) - 1)

static volatile sig_atomic_t stop, next;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_usr1(int sig)
{
	(void)sig;
	next = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "heatprobe: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t size_arg(const char *s)
{
	uint64_t v;

	if (cdm_size_parse(s, 0, &v) < 0) {
		fprintf(stderr, "heatprobe: bad size %s\n", s);
		exit(2);
	}
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* pin us to the CPU we run on and fork a sched_yield() loop there */
static pid_t share_cpu(void)
{
	cpu_set_t set;
	pid_t pid;

	CPU_ZERO(&set);
	CPU_SET(sched_getcpu(), &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		die("sched_setaffinity");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		for (;;)
			sched_yield();
	}
	return pid;
}

static int do_touch(const char *path, uint64_t size, uint64_t hoff,
		    uint64_t hlen, double secs, int share)
{
	pid_t yielder = 0;
	long pg = sysconf(_SC_PAGESIZE);
	struct sigaction sa = { .sa_handler = on_term };
	unsigned long passes = 0;
	struct stat st;
	double t0, t;
	char *p;
	int fd;

	if (hoff + hlen > size) {
		fprintf(stderr, "heatprobe: hot window outside the file\n");
		return 2;
	}
	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		die(path);
	if (fstat(fd, &st) < 0)
		die(path);
	if ((uint64_t)st.st_size < size && ftruncate(fd, size) < 0)
		die("ftruncate");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	for (uint64_t o = st.st_size; o < size; o += pg)
		p[o] = 1;
	sigaction(SIGTERM, &sa, NULL);
	if (share)
		yielder = share_cpu();
	printf("ready\n");
	fflush(stdout);
	t0 = now();
	do {
		for (uint64_t o = hoff; o < hoff + hlen; o += pg)
			p[o]++;
		passes++;
		t = now();
	} while (!stop && t - t0 < secs);
	printf("touch pages_per_s %.0f passes %lu\n",
	       passes * (double)(hlen / pg) / (t - t0), passes);
	if (yielder) {
		kill(yielder, SIGKILL);
		waitpid(yielder, NULL, 0);
	}
	munmap(p, size);
	close(fd);
	return 0;
}

struct run {
	uint64_t pa, end, off;
};

static int cmp_run(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	return x->pa < y->pa ? -1 : x->pa > y->pa;
}

/*
 * Map FILE MAP_SHARED read-only and fault in its resident pages only
 * (mincore, MADV_POPULATE_READ: holes stay holes).  *@npages 0: empty.
 */
static char *map_resident(const char *path, uint64_t *npages,
			  unsigned char **vecp, int *fdp)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *vec;
	struct stat st;
	char *p;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	*fdp = fd;
	*npages = (st.st_size + pg - 1) / pg;
	if (!*npages)
		return NULL;
	p = mmap(NULL, *npages * pg, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	vec = malloc(*npages);
	if (!vec)
		die("malloc");
	if (mincore(p, *npages * pg, vec) < 0)
		die("mincore");
	for (uint64_t i = 0; i < *npages;) {
		uint64_t j = i;

		if (!(vec[i] & 1)) {
			i++;
			continue;
		}
		while (j < *npages && (vec[j] & 1))
			j++;
		if (madvise(p + i * pg, (j - i) * pg, MADV_POPULATE_READ) < 0)
			die("MADV_POPULATE_READ");
		i = j;
	}
	*vecp = vec;
	return p;
}

static int do_runs(const char *path)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t npages, nruns = 0;
	unsigned char *vec;
	struct run *runs;
	uint64_t *pm;
	char *p;
	int fd, pmfd;

	p = map_resident(path, &npages, &vec, &fd);
	if (!npages)
		return 0;
	pm = calloc(npages, sizeof(*pm));
	runs = calloc(npages, sizeof(*runs));
	if (!pm || !runs)
		die("malloc");
	pmfd = open("/proc/self/pagemap", O_RDONLY);
	if (pmfd < 0)
		die("/proc/self/pagemap");
	if (pread(pmfd, pm, npages * sizeof(*pm),
		  (uintptr_t)p / pg * sizeof(*pm)) != (ssize_t)(npages * sizeof(*pm)))
		die("pagemap");
	close(pmfd);
	munmap(p, npages * pg);
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t pa;

		if (!(pm[i] & PM_PRESENT))
			continue;
		if (!(pm[i] & PM_PFN_MASK)) {
			fprintf(stderr, "heatprobe: pagemap hides frames (not root?)\n");
			return 2;
		}
		pa = (pm[i] & PM_PFN_MASK) * pg;
		if (nruns && runs[nruns - 1].end == pa &&
		    runs[nruns - 1].off + (runs[nruns - 1].end - runs[nruns - 1].pa) == i * pg)
			runs[nruns - 1].end += pg;
		else
			runs[nruns++] = (struct run){ pa, pa + pg, i * pg };
	}
	qsort(runs, nruns, sizeof(*runs), cmp_run);
	for (uint64_t i = 0; i < nruns; i++)
		printf("%" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
		       runs[i].pa, runs[i].end, runs[i].off);
	free(runs);
	free(pm);
	free(vec);
	close(fd);
	return 0;
}

static int do_nodes(const char *path, uint64_t off, uint64_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned long in[64] = { 0 }, out[64] = { 0 }, other = 0, n = 0;
	uint64_t npages, first = off / pg, last = (off + len + pg - 1) / pg;
	unsigned char *vec;
	uint64_t *idx;
	void **addrs;
	int *status;
	char *p;
	int fd;

	p = map_resident(path, &npages, &vec, &fd);
	if (!npages)
		return 0;
	addrs = malloc(npages * sizeof(*addrs));
	status = malloc(npages * sizeof(*status));
	idx = malloc(npages * sizeof(*idx));
	if (!addrs || !status || !idx)
		die("malloc");
	for (uint64_t i = 0; i < npages; i++)
		if (vec[i] & 1) {
			idx[n] = i;
			addrs[n++] = p + i * pg;
		}
	/* nodes NULL: where each page is */
	if (n && syscall(SYS_move_pages, 0, n, addrs, NULL, status, 0) < 0)
		die("move_pages");
	for (unsigned long i = 0; i < n; i++) {
		if (status[i] < 0 || status[i] >= 64)
			other++;
		else if (idx[i] >= first && idx[i] < last)
			in[status[i]]++;
		else
			out[status[i]]++;
	}
	for (int i = 0; i < 64; i++) {
		if (in[i])
			printf("node %d %lu\n", i, in[i]);
		if (out[i])
			printf("rest %d %lu\n", i, out[i]);
	}
	if (other)
		printf("other %lu\n", other);
	return 0;
}

static int do_work(const char *path, uint64_t size, uint64_t hlen,
		   double secs, const char *offs, int share)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t npages = size / pg, seq = 0, lost = 0, *want;
	struct sigaction sa = { .sa_handler = on_term };
	struct sigaction su = { .sa_handler = on_usr1 };
	pid_t yielder = 0;
	double t0, t, busy = 0;
	int fd, k = 0;
	char *p;

	fd = open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		die(path);
	if (ftruncate(fd, size) < 0)
		die("ftruncate");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	want = calloc(npages, sizeof(*want));
	if (p == MAP_FAILED || !want)
		die("mmap");
	for (uint64_t i = 0; i < npages; i++)
		*(volatile uint64_t *)(p + i * pg) = want[i] = ++seq;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &su, NULL);
	if (share)
		yielder = share_cpu();
	printf("ready\n");
	fflush(stdout);
	for (const char *o = offs; *o && !stop; k++) {
		char buf[32];
		size_t l = strcspn(o, ",");
		uint64_t hoff, first, last;
		double wsecs;

		if (l >= sizeof(buf)) {
			fprintf(stderr, "heatprobe: bad offset list\n");
			return 2;
		}
		memcpy(buf, o, l);
		buf[l] = '\0';
		o += l + (o[l] == ',');
		/* OFF:SECS: this window's own time */
		wsecs = strchr(buf, ':') ? atof(strchr(buf, ':') + 1) : secs;
		buf[strcspn(buf, ":")] = '\0';
		hoff = size_arg(buf);
		if (hoff + hlen > size) {
			fprintf(stderr, "heatprobe: window outside the file\n");
			return 2;
		}
		first = hoff / pg;
		last = (hoff + hlen) / pg;
		printf("window %d %" PRIu64 "\n", k, hoff);
		fflush(stdout);
		t0 = now();
		next = 0;
		do {
			for (uint64_t i = first; i < last; i++)
				*(volatile uint64_t *)(p + i * pg) = want[i] = ++seq;
			t = now();
		} while (!stop && !next && t - t0 < wsecs);
		busy += t - t0;
	}
	if (yielder) {
		kill(yielder, SIGKILL);
		waitpid(yielder, NULL, 0);
	}
	munmap(p, size);
	/* read back through the file, not the mapping */
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t v = 0;

		if (pread(fd, &v, sizeof(v), (off_t)(i * pg)) != sizeof(v))
			die("pread");
		lost += v != want[i];
	}
	printf("work pages_per_s %.0f writes %" PRIu64 "\n",
	       busy > 0 ? (seq - npages) / busy : 0, seq - npages);
	printf("verify pages %" PRIu64 " lost %" PRIu64 "\n", npages, lost);
	free(want);
	close(fd);
	return lost ? 1 : 0;
}

static uint64_t overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
	uint64_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;

	return hi > lo ? hi - lo : 0;
}

static int do_classify(const char *runsfile, uint64_t hoff, uint64_t hlen)
{
	uint64_t hot_seen = 0, hot_total = 0, cold_seen = 0, cold_total = 0;
	unsigned long nregions = 0, infile = 0;
	size_t nruns = 0, cap = 0;
	struct run *runs = NULL, r;
	uint64_t s, e, acc;
	FILE *f;

	f = fopen(runsfile, "r");
	if (!f)
		die(runsfile);
	while (fscanf(f, "%" SCNu64 " %" SCNu64 " %" SCNu64, &r.pa, &r.end, &r.off) == 3) {
		if (nruns == cap) {
			cap = cap ? 2 * cap : 1024;
			runs = realloc(runs, cap * sizeof(*runs));
			if (!runs)
				die("realloc");
		}
		runs[nruns++] = r;
		hot_total += overlap(r.off, r.off + r.end - r.pa, hoff, hoff + hlen);
		cold_total += r.end - r.pa -
			overlap(r.off, r.off + r.end - r.pa, hoff, hoff + hlen);
	}
	fclose(f);
	while (scanf("%" SCNu64 " %" SCNu64 " %" SCNu64, &s, &e, &acc) == 3) {
		int in = 0;

		nregions++;
		for (size_t i = 0; i < nruns; i++) {
			uint64_t lo = s > runs[i].pa ? s : runs[i].pa;
			uint64_t hi = e < runs[i].end ? e : runs[i].end;
			uint64_t o0, o1, hot;

			if (hi <= lo)
				continue;
			in = 1;
			if (!acc)
				continue;
			/* the part [lo, hi) of run i holds file bytes [o0, o1) */
			o0 = runs[i].off + (lo - runs[i].pa);
			o1 = o0 + (hi - lo);
			hot = overlap(o0, o1, hoff, hoff + hlen);
			hot_seen += hot;
			cold_seen += (o1 - o0) - hot;
		}
		infile += in;
	}
	printf("hot_seen %" PRIu64 " hot_total %" PRIu64 " cold_seen %" PRIu64
	       " cold_total %" PRIu64 " regions %lu in_file_regions %lu\n",
	       hot_seen, hot_total, cold_seen, cold_total, nregions, infile);
	free(runs);
	return 0;
}

int main(int argc, char **argv)
{
	int share = argc > 2 && !strcmp(argv[2], "--share-cpu");

	if (argc == 7 + share && !strcmp(argv[1], "touch"))
		return do_touch(argv[2 + share], size_arg(argv[3 + share]),
				size_arg(argv[4 + share]), size_arg(argv[5 + share]),
				atof(argv[6 + share]), share);
	if (argc == 7 + share && !strcmp(argv[1], "work"))
		return do_work(argv[2 + share], size_arg(argv[3 + share]),
			       size_arg(argv[4 + share]), atof(argv[5 + share]),
			       argv[6 + share], share);
	if (argc == 5 && !strcmp(argv[1], "nodes"))
		return do_nodes(argv[2], size_arg(argv[3]), size_arg(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "runs"))
		return do_runs(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "classify"))
		return do_classify(argv[2], size_arg(argv[3]), size_arg(argv[4]));
	fprintf(stderr, "usage: heatprobe touch [--share-cpu] FILE SIZE HOTOFF HOTLEN SECONDS\n"
			"       heatprobe work [--share-cpu] FILE SIZE HOTLEN SECONDS OFF[:SECS][,...]\n"
			"       heatprobe nodes FILE OFF LEN\n"
			"       heatprobe runs FILE\n"
			"       heatprobe classify RUNSFILE HOTOFF HOTLEN < REGIONS\n");
	return 2;
}
