// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * stamper: a process that keeps writing through its own MAP_SHARED mapping
 * of a file while something else (cdmfs migrating the pages, the daemon
 * dying) happens to the file, and a checker for what it left behind.
 *
 *   stamper FILE
 *	Map all of FILE (opened before anything else happens to it) and stamp
 *	every page in passes: page i gets { seq, i } at its start and seq at
 *	its end, seq growing by one per pass.  Before stamping, each page is
 *	read back and must hold the previous pass's stamp (the first pass only
 *	records what it finds).  Passes start at 1 + the seq found in page 0,
 *	so stamps in a file only grow.  SIGUSR1: drop the mapping's page table
 *	entries (MADV_DONTNEED) before the next pass, so its reads fault the
 *	pages in again.  SIGTERM or SIGINT: stop after the current page once at
 *	least one full pass is done, print
 *	    stamper: seq S next K pages N passes P misreads M drops D longest_write_ms W
 *	(pages < K hold S, the others S - 1) and exit 0, or 1 if M > 0.  W is
 *	the longest time one page's read-back and stamp took (a page in flight
 *	waits for its migration batch; preemption counts too), since the start
 *	or the last SIGUSR2.  A SIGBUS prints "stamper: SIGBUS ..." and exits
 *	3.  Page 0's stamp is the progress counter others can read.
 *
 *   stamper --check FILE S K
 *	Read FILE with pread(2) (not through a mapping) and check that every
 *	page holds what the stamper said it left: { S, i } ... S for pages
 *	below K, { S - 1, i } ... S - 1 for the rest.  Prints "N/N pages hold
 *	their last stamp" and exits 0, or lists the first mismatches and
 *	exits 1.  Exit 2 on usage or system errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested, drop_requested, reset_requested;
static size_t page_size;

static void on_stop(int sig)
{
	stop_requested = 1;
}

static void on_drop(int sig)
{
	drop_requested = 1;
}

static void on_reset(int sig)
{
	reset_requested = 1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	char msg[96];
	int n = snprintf(msg, sizeof(msg), "stamper: SIGBUS at %p (si_code %d)\n",
			 si->si_addr, si->si_code);

	if (n > 0)
		(void)!write(STDOUT_FILENO, msg, (size_t)n);
	_exit(3);
}

static void stamp_page(char *page, uint64_t seq, uint64_t index)
{
	volatile uint64_t *head = (volatile uint64_t *)page;
	volatile uint64_t *tail = (volatile uint64_t *)(page + page_size - 8);

	head[0] = seq;
	head[1] = index;
	*tail = seq;
}

static int run(const char *path)
{
	struct sigaction sa;
	uint64_t start, seq, misreads = 0, passes = 0, drops = 0;
	double prev, longest = 0;
	size_t pages, i, next = 0;
	struct stat st;
	char *map;
	int fd;

	fd = open(path, O_RDWR);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "stamper: %s: %s\n", path, strerror(errno));
		return 2;
	}
	pages = (size_t)st.st_size / page_size;
	if (!pages) {
		fprintf(stderr, "stamper: %s: smaller than a page\n", path);
		return 2;
	}
	map = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	if (map == MAP_FAILED) {
		fprintf(stderr, "stamper: %s: mmap: %s\n", path, strerror(errno));
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGBUS, &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_drop;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_reset;
	sigaction(SIGUSR2, &sa, NULL);

	start = *(volatile uint64_t *)map + 1;
	prev = now_ms();
	for (seq = start;; seq++) {
		if (drop_requested) {
			drop_requested = 0;
			if (madvise(map, pages * page_size, MADV_DONTNEED) == 0)
				drops++;
		}
		for (i = 0; i < pages; i++) {
			char *page = map + i * page_size;
			const volatile uint64_t *head = (const volatile uint64_t *)page;
			const volatile uint64_t *tail =
				(const volatile uint64_t *)(page + page_size - 8);

			if (seq > start &&
			    (head[0] != seq - 1 || head[1] != i || *tail != seq - 1)) {
				if (misreads < 5)
					fprintf(stderr, "stamper: pass %" PRIu64 " page %zu holds {%" PRIu64 ", %" PRIu64 "} .. %" PRIu64 "\n",
						seq, i, head[0], head[1], *tail);
				misreads++;
			}
			stamp_page(page, seq, i);
			if (reset_requested) {
				reset_requested = 0;
				longest = 0;
				prev = now_ms();
			} else {
				double t = now_ms();

				if (t - prev > longest)
					longest = t - prev;
				prev = t;
			}
			if (stop_requested && seq > start) {
				next = i + 1;
				goto out;
			}
		}
		passes++;
	}
out:
	printf("stamper: seq %" PRIu64 " next %zu pages %zu passes %" PRIu64
	       " misreads %" PRIu64 " drops %" PRIu64 " longest_write_ms %.1f\n",
	       seq, next, pages, passes, misreads, drops, longest);
	munmap(map, pages * page_size);
	close(fd);
	return misreads ? 1 : 0;
}

static int check(const char *path, uint64_t seq, size_t next)
{
	size_t pages, i, good = 0, bad = 0;
	struct stat st;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "stamper: %s: %s\n", path, strerror(errno));
		return 2;
	}
	pages = (size_t)st.st_size / page_size;
	buf = malloc(page_size);
	if (!buf)
		return 2;
	for (i = 0; i < pages; i++) {
		uint64_t want = i < next ? seq : seq - 1, head[2], tail;

		if (pread(fd, buf, page_size, (off_t)(i * page_size)) != (ssize_t)page_size) {
			fprintf(stderr, "stamper: %s: short read at page %zu\n", path, i);
			return 2;
		}
		memcpy(head, buf, sizeof(head));
		memcpy(&tail, buf + page_size - 8, sizeof(tail));
		if (head[0] == want && head[1] == i && tail == want) {
			good++;
			continue;
		}
		if (bad++ < 5)
			printf("page %zu holds {%" PRIu64 ", %" PRIu64 "} .. %" PRIu64
			       ", want {%" PRIu64 ", %zu} .. %" PRIu64 "\n",
			       i, head[0], head[1], tail, want, i, want);
	}
	printf("%zu/%zu pages hold their last stamp\n", good, pages);
	free(buf);
	close(fd);
	return bad || !pages ? 1 : 0;
}

int main(int argc, char **argv)
{
	char *end;

	page_size = (size_t)sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2)
		return run(argv[1]);
	if (argc == 5 && !strcmp(argv[1], "--check")) {
		unsigned long long seq = strtoull(argv[3], &end, 10);
		unsigned long long next;

		if (*end || seq == 0)
			goto usage;
		next = strtoull(argv[4], &end, 10);
		if (*end)
			goto usage;
		return check(argv[2], seq, (size_t)next);
	}
usage:
	fprintf(stderr, "usage: stamper FILE | stamper --check FILE SEQ NEXT\n");
	return 2;
}
