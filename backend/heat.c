// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Access statistics of shmem files by DAMON paddr (doc/tiering.md): the C
 * form of tests/vm/heat-lib.sh.  One kdamond for the daemon, one context,
 * one target whose regions are the physical runs of every watched file;
 * a "stat" scheme that matches every region, whose tried_regions are read
 * back and mapped to file offsets through each file's runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cdmfs/backend.h"
#include "cdmfs/heat.h"
#include "cdmfs/log.h"

#define DAMON "/sys/kernel/mm/damon/admin/kdamonds"
#define CTX DAMON "/0/contexts/0"
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_PRESENT (1ULL << 63)
/* A file's runs older than this are rebuilt: its pages may have moved. */
#define RUNS_MAX_AGE_MS 4000
/*
 * A file nobody asked about for this long is forgotten: its caller lost
 * it without cdm_heat_forget() (deleted meanwhile).
 */
#define UNASKED_MS 60000

/* A watched file, by backing inode. */
struct watched {
	dev_t dev;
	ino_t ino;
	struct cdm_heat_run *runs;	/* sorted by pa */
	size_t n;
	uint64_t built_ms;		/* when runs were read */
	uint64_t asked_ms;		/* when its heat was last asked for */
};

/* The monitor; everything protected by lock. */
static struct {
	pthread_mutex_t lock;
	struct watched *file;
	size_t nfiles;
	bool running;
	bool dirty;			/* runs changed since the commit */
	struct cdm_heat_region *regs;	/* the last read, sorted */
	size_t nregs;
	uint64_t read_ms;		/* when regs were read */
	uint32_t sample_us, aggr_us;
} mon = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	/* 4 s to converge in the TCG guest, half the cost of 5/100 */
	.sample_us = 20000,
	.aggr_us = 400000,
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int cmp_run(const void *a, const void *b)
{
	const struct cdm_heat_run *x = a, *y = b;

	return x->pa < y->pa ? -1 : x->pa > y->pa;
}

int cdm_heat_runs(int fd, struct cdm_heat_run **runs, size_t *n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), npages, nr = 0;
	struct cdm_heat_run *r = NULL;
	unsigned char *vec = NULL;
	uint64_t *pm = NULL;
	struct stat st;
	char *p = MAP_FAILED;
	int pmfd = -1, ret = 0;

	*runs = NULL;
	*n = 0;
	if (fstat(fd, &st))
		return -errno;
	npages = ((size_t)st.st_size + pg - 1) / pg;
	if (!npages)
		return 0;
	p = mmap(NULL, npages * pg, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	vec = malloc(npages);
	pm = calloc(npages, sizeof(*pm));
	r = malloc(npages * sizeof(*r));
	if (!vec || !pm || !r) {
		ret = -ENOMEM;
		goto out;
	}
	if (mincore(p, npages * pg, vec)) {
		ret = -errno;
		goto out;
	}
	/* only what is resident: touching a hole would allocate it */
	for (size_t i = 0; i < npages;) {
		size_t j = i;

		if (!(vec[i] & 1)) {
			i++;
			continue;
		}
		while (j < npages && (vec[j] & 1))
			j++;
		/* truncated meanwhile: that part has no frame to watch */
		if (madvise(p + i * pg, (j - i) * pg, MADV_POPULATE_READ) &&
		    errno != EFAULT) {
			ret = -errno;
			goto out;
		}
		i = j;
	}
	pmfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pmfd < 0) {
		ret = -errno;
		goto out;
	}
	if (pread(pmfd, pm, npages * sizeof(*pm),
		  (off_t)((uintptr_t)p / pg * sizeof(*pm))) !=
	    (ssize_t)(npages * sizeof(*pm))) {
		ret = -EIO;
		goto out;
	}
	for (size_t i = 0; i < npages; i++) {
		uint64_t pa;

		if (!(pm[i] & PM_PRESENT))
			continue;
		if (!(pm[i] & PM_PFN_MASK)) {
			ret = -EPERM;	/* pagemap hides frames from non-root */
			goto out;
		}
		pa = (pm[i] & PM_PFN_MASK) * pg;
		if (nr && r[nr - 1].end == pa &&
		    r[nr - 1].off + (r[nr - 1].end - r[nr - 1].pa) == i * pg)
			r[nr - 1].end += pg;
		else
			r[nr++] = (struct cdm_heat_run){ pa, pa + pg, i * pg };
	}
	qsort(r, nr, sizeof(*r), cmp_run);
	*runs = r;
	*n = nr;
	r = NULL;
out:
	if (pmfd >= 0)
		close(pmfd);
	/* at once: our own mapping must not keep the pages looking used */
	munmap(p, npages * pg);
	free(r);
	free(pm);
	free(vec);
	return ret;
}

int cdm_heat_chunks(const struct cdm_heat_run *runs, size_t nruns,
		    const struct cdm_heat_region *regs, size_t nregs,
		    uint64_t off, uint64_t chunk, size_t nchunks,
		    uint32_t *heat)
{
	uint64_t *acc, *res, lim = off + (uint64_t)nchunks * chunk;
	size_t i = 0, j = 0;

	acc = calloc(nchunks, sizeof(*acc));
	res = calloc(nchunks, sizeof(*res));
	if (!acc || !res) {
		free(acc);
		free(res);
		return -ENOMEM;
	}
	/* both sorted by physical address: one merge */
	while (i < nruns && j < nregs) {
		const struct cdm_heat_run *r = &runs[i];
		const struct cdm_heat_region *g = &regs[j];
		uint64_t lo = r->pa > g->start ? r->pa : g->start;
		uint64_t hi = r->end < g->end ? r->end : g->end;

		if (lo < hi) {
			uint64_t o = r->off + (lo - r->pa), e = o + (hi - lo);

			if (o < off)
				o = off;
			if (e > lim)
				e = lim;
			while (o < e) {
				size_t c = (size_t)((o - off) / chunk);
				uint64_t ce = off + (c + 1) * chunk;
				uint64_t b = (e < ce ? e : ce) - o;

				acc[c] += b * g->nr_accesses;
				res[c] += b;
				o += b;
			}
		}
		if (r->end <= g->end)
			i++;
		else
			j++;
	}
	for (size_t c = 0; c < nchunks; c++)
		heat[c] = res[c] ? (uint32_t)(acc[c] * 100 / res[c]) :
				   CDM_HEAT_NONE;
	free(acc);
	free(res);
	return 0;
}

int cdm_heat_probe(const char *sysroot)
{
	char path[512], buf[32];
	ssize_t n;

	snprintf(path, sizeof(path), "%s%s", sysroot ? sysroot : "",
		 DAMON "/nr_kdamonds");
	n = cdm_sysfs_read("", path, buf, sizeof(buf));
	if (n == -ENOENT)
		return -EOPNOTSUPP;
	if (n < 0)
		return (int)n;
	if (geteuid() != 0)
		return -EACCES;
	/* someone else's kdamonds: resizing would destroy them */
	if (strcmp(buf, "0") && !mon.running)
		return -EBUSY;
	return 0;
}

void cdm_heat_set_intervals(uint32_t sample_us, uint32_t aggr_us)
{
	pthread_mutex_lock(&mon.lock);
	mon.sample_us = sample_us;
	mon.aggr_us = aggr_us;
	pthread_mutex_unlock(&mon.lock);
}

/* printf(@fmt) into the DAMON file @path: 0 or -errno */
static int put(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int put(const char *path, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	int fd, n, ret = 0;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, (size_t)n) != n)
		ret = -errno;
	close(fd);
	if (ret)
		cdm_log(LOG_DEBUG, "%s: cannot write '%s': %s", path, buf,
			strerror(-ret));
	return ret;
}

static int get_u64(const char *path, uint64_t *v)
{
	char buf[32];
	ssize_t n = cdm_sysfs_read("", path, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	*v = strtoull(buf, NULL, 10);
	return 0;
}

/* Every watched file's runs, sorted: the target's regions. */
static int all_runs(struct cdm_heat_run **out, size_t *n)
{
	size_t total = 0, k = 0;
	struct cdm_heat_run *r;

	for (size_t i = 0; i < mon.nfiles; i++)
		total += mon.file[i].n;
	r = malloc((total ? total : 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < mon.nfiles; i++) {
		memcpy(r + k, mon.file[i].runs, mon.file[i].n * sizeof(*r));
		k += mon.file[i].n;
	}
	qsort(r, total, sizeof(*r), cmp_run);
	*out = r;
	*n = total;
	return 0;
}

/* The first kdamond's single context, with its stat scheme: once. */
static int setup_context(void)
{
	static const char *const keys[] = { "sz", "age", "nr_accesses" };
	char path[256];
	int ret;

	if ((ret = put(DAMON "/nr_kdamonds", "1")) ||
	    (ret = put(DAMON "/0/contexts/nr_contexts", "1")) ||
	    (ret = put(CTX "/operations", "paddr")) ||
	    (ret = put(CTX "/monitoring_attrs/intervals/sample_us", "%u",
		       mon.sample_us)) ||
	    (ret = put(CTX "/monitoring_attrs/intervals/aggr_us", "%u",
		       mon.aggr_us)) ||
	    (ret = put(CTX "/monitoring_attrs/intervals/update_us", "%u",
		       mon.aggr_us * 10)) ||
	    (ret = put(CTX "/targets/nr_targets", "1")) ||
	    (ret = put(CTX "/schemes/nr_schemes", "1")) ||
	    (ret = put(CTX "/schemes/0/action", "stat")))
		return ret;
	/* every region matches: the scheme is only there to report them */
	for (size_t k = 0; k < 3; k++) {
		snprintf(path, sizeof(path),
			 CTX "/schemes/0/access_pattern/%s/min", keys[k]);
		if ((ret = put(path, "0")))
			return ret;
		snprintf(path, sizeof(path),
			 CTX "/schemes/0/access_pattern/%s/max", keys[k]);
		if ((ret = put(path, k ? "4294967295" : "18446744073709551615")))
			return ret;
	}
	return 0;
}

/*
 * Give the target the runs of every watched file, starting the kdamond or
 * committing to the running one (which keeps what it knows of regions
 * that stay).
 */
static int commit(void)
{
	struct cdm_heat_run *r;
	uint64_t total = 0;
	size_t n, min, max;
	char path[256];
	int ret;

	ret = all_runs(&r, &n);
	if (ret)
		return ret;
	if (!n) {
		/* nothing to watch: the kdamond costs nothing off */
		if (mon.running) {
			put(DAMON "/0/state", "off");
			put(DAMON "/nr_kdamonds", "0");
			mon.running = false;
			cdm_log(LOG_INFO, "heat: DAMON monitor off, no tiered file resident");
		}
		mon.dirty = false;
		ret = 0;
		goto out;
	}
	if (!mon.running &&
	    ((ret = cdm_heat_probe("")) || (ret = setup_context())))
		goto out;
	/*
	 * DAMON merges no region past total / min_nr_regions: one per 2 MiB
	 * chunk (up to 1000) keeps a window that moves inside a cold part
	 * visible at once, instead of after many splits.
	 */
	for (size_t i = 0; i < n; i++)
		total += r[i].end - r[i].pa;
	min = total / (2 << 20);
	min = min < 10 ? 10 : min > 1000 ? 1000 : min;
	max = n * 2 > min * 2 ? n * 2 : min * 2;
	if ((ret = put(CTX "/monitoring_attrs/nr_regions/min", "%zu", min)) ||
	    (ret = put(CTX "/monitoring_attrs/nr_regions/max", "%zu", max)) ||
	    (ret = put(CTX "/targets/0/regions/nr_regions", "%zu", n)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), CTX "/targets/0/regions/%zu/start", i);
		if ((ret = put(path, "%llu", (unsigned long long)r[i].pa)))
			goto out;
		snprintf(path, sizeof(path), CTX "/targets/0/regions/%zu/end", i);
		if ((ret = put(path, "%llu", (unsigned long long)r[i].end)))
			goto out;
	}
	ret = put(DAMON "/0/state", mon.running ? "commit" : "on");
	if (!ret && !mon.running) {
		mon.running = true;
		cdm_log(LOG_NOTICE, "heat: DAMON paddr monitor on, %zu runs, sample %u us, aggregation %u us",
			n, mon.sample_us, mon.aggr_us);
	}
	mon.dirty = false;
out:
	if (ret)
		cdm_log(LOG_DEBUG, "heat: cannot %s the DAMON monitor: %s",
			mon.running ? "update" : "start", strerror(-ret));
	free(r);
	return ret;
}

static int cmp_region(const void *a, const void *b)
{
	const struct cdm_heat_region *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Ask the kdamond for its regions now and read them into mon.regs. */
static int read_regions(void)
{
	static const char dir[] = CTX "/schemes/0/tried_regions";
	struct cdm_heat_region *regs = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	char path[sizeof(dir) + 300];
	DIR *d;
	int ret;

	/* waits for the kdamond's next scheme pass */
	ret = put(DAMON "/0/state", "update_schemes_tried_regions");
	if (ret)
		return ret;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint64_t s = 0, e = 0, a = 0;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s/start", dir, de->d_name);
		if (get_u64(path, &s))
			continue;
		snprintf(path, sizeof(path), "%s/%s/end", dir, de->d_name);
		if (get_u64(path, &e))
			continue;
		snprintf(path, sizeof(path), "%s/%s/nr_accesses", dir,
			 de->d_name);
		if (get_u64(path, &a))
			continue;
		if (n == cap) {
			struct cdm_heat_region *nr;

			cap = cap ? cap * 2 : 64;
			nr = realloc(regs, cap * sizeof(*regs));
			if (!nr) {
				ret = -ENOMEM;
				break;
			}
			regs = nr;
		}
		regs[n++] = (struct cdm_heat_region){ s, e, (uint32_t)a };
	}
	closedir(d);
	if (ret) {
		free(regs);
		return ret;
	}
	qsort(regs, n, sizeof(*regs), cmp_region);
	free(mon.regs);
	mon.regs = regs;
	mon.nregs = n;
	mon.read_ms = now_ms();
	return 0;
}

static struct watched *find(dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < mon.nfiles; i++)
		if (mon.file[i].dev == dev && mon.file[i].ino == ino)
			return &mon.file[i];
	return NULL;
}

/* (Re)read @w's runs from @fd. */
static int rebuild(struct watched *w, int fd)
{
	struct cdm_heat_run *runs;
	size_t n;
	int ret = cdm_heat_runs(fd, &runs, &n);

	if (ret)
		return ret;
	free(w->runs);
	w->runs = runs;
	w->n = n;
	w->built_ms = now_ms();
	mon.dirty = true;
	return 0;
}

int cdm_heat_file(int fd, uint64_t off, uint64_t chunk, size_t nchunks,
		  uint32_t *heat)
{
	struct watched *w;
	struct stat st;
	bool fresh = false;
	int ret;

	if (fstat(fd, &st))
		return -errno;
	pthread_mutex_lock(&mon.lock);
	for (size_t i = 0; i < mon.nfiles;)
		if (now_ms() - mon.file[i].asked_ms > UNASKED_MS) {
			free(mon.file[i].runs);
			mon.file[i] = mon.file[--mon.nfiles];
			mon.dirty = true;
		} else {
			i++;
		}
	w = find(st.st_dev, st.st_ino);
	if (!w) {
		struct watched *nf = realloc(mon.file,
					     (mon.nfiles + 1) * sizeof(*nf));

		if (!nf) {
			ret = -ENOMEM;
			goto out;
		}
		mon.file = nf;
		w = &mon.file[mon.nfiles++];
		*w = (struct watched){ .dev = st.st_dev, .ino = st.st_ino };
		fresh = true;
	}
	w->asked_ms = now_ms();
	if (fresh) {
		ret = rebuild(w, fd);
		if (!ret)
			ret = commit();
		if (!ret)
			ret = -EAGAIN;	/* no aggregation of it yet */
		goto out;
	}
	if (mon.dirty && (ret = commit()))
		goto out;
	if (!mon.running) {
		/* nothing was resident yet: look again, once a second */
		if (now_ms() - w->built_ms >= 1000 && !(ret = rebuild(w, fd)))
			ret = commit();
		if (!ret)
			ret = -EAGAIN;
		goto out;
	}
	/* one read serves every file of a decision period */
	if (now_ms() - mon.read_ms >= mon.aggr_us / 1000 &&
	    (ret = read_regions()))
		goto out;
	ret = cdm_heat_chunks(w->runs, w->n, mon.regs, mon.nregs, off, chunk,
			      nchunks, heat);
	/*
	 * Then the runs, if old: the regions read matched the old ones, and
	 * the next call finds an aggregation over the new.  Our populate
	 * marks the pages young once: one sample, under any hot threshold.
	 */
	if (!ret && now_ms() - w->built_ms > RUNS_MAX_AGE_MS &&
	    !(ret = rebuild(w, fd)))
		ret = commit();
out:
	pthread_mutex_unlock(&mon.lock);
	return ret;
}

void cdm_heat_forget(int fd)
{
	struct watched *w;
	struct stat st;

	if (fstat(fd, &st))
		return;
	pthread_mutex_lock(&mon.lock);
	w = find(st.st_dev, st.st_ino);
	if (w) {
		free(w->runs);
		*w = mon.file[--mon.nfiles];
		mon.dirty = true;
		/* now: with no file left, nobody calls again to stop it */
		if (mon.running)
			commit();
	}
	pthread_mutex_unlock(&mon.lock);
}

void cdm_heat_stop(void)
{
	pthread_mutex_lock(&mon.lock);
	if (mon.running) {
		put(DAMON "/0/state", "off");
		put(DAMON "/nr_kdamonds", "0");
		mon.running = false;
	}
	for (size_t i = 0; i < mon.nfiles; i++)
		free(mon.file[i].runs);
	free(mon.file);
	mon.file = NULL;
	mon.nfiles = 0;
	free(mon.regs);
	mon.regs = NULL;
	mon.nregs = 0;
	pthread_mutex_unlock(&mon.lock);
}
