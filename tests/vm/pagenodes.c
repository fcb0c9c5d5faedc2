// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pagenodes: which NUMA node holds each resident page of a file, as the
 * kernel sees it (move_pages(2) with nodes=NULL), for tests that must not
 * take the daemon's word for placement.
 *
 *   pagenodes FILE [NODE]
 *	Map FILE MAP_SHARED, find its resident pages with mincore(2), fault in
 *	only those (read), and print per-node page counts.  With NODE, exit 1
 *	unless there is at least one resident page and every one is on NODE.
 *
 *   pagenodes --create SIZE --bind NODE FILE [NODE]
 *	First create FILE (must not exist) with SIZE bytes (K/M/G suffixes),
 *	set an MPOL_BIND policy to NODE on a MAP_SHARED mapping before any page
 *	exists (on tmpfs/memfd this is the file's shared policy),
 *	write every page, unmap; then report as above.
 *
 * Output, one item per line:
 *	file FILE
 *	pages TOTAL resident RESIDENT
 *	policy MODE [NODES]		the shared policy at offset 0
 *	node N COUNT			for each node holding pages
 *	unmapped COUNT			resident by mincore, but move_pages
 *					found no page (raced with truncation)
 *	OK ... | FAIL ...		only with an expected NODE
 * Exit: 0 ok, 1 placement differs from NODE, 2 usage or system error.
 *
 * Holes stay holes: on shmem a read fault on a hole would allocate a page,
 * so only ranges mincore reports resident are populated.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/mempolicy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* by path: build-progs compiles this file alone with a plain cc */
#include "../../include/cdmfs/size.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define MAX_NODES 1024
#define BATCH 4096

static long page_size;

static int parse_size(const char *s, size_t *out)
{
	uint64_t v;
	int ret = cdm_size_parse(s, CDM_SIZE_HEX, &v);

	if (ret)
		return ret;
	if (v == 0 || v > SIZE_MAX)
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

static int parse_node(const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v >= MAX_NODES)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int create_bound(const char *path, size_t size, int node)
{
	unsigned long mask[MAX_NODES / (8 * sizeof(unsigned long))] = { 0 };
	char *p;
	size_t off;
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		goto err_close;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto err_close;
	}
	mask[node / (8 * sizeof(unsigned long))] |= 1UL << (node % (8 * sizeof(unsigned long)));
	if (syscall(SYS_mbind, p, size, MPOL_BIND, mask, MAX_NODES + 1, 0) < 0) {
		ret = -errno;
		fprintf(stderr, "pagenodes: %s: mbind to node %d: %s\n", path, node, strerror(errno));
		goto err_unmap;
	}
	for (off = 0; off < size; off += (size_t)page_size)
		p[off] = (char)(off / (size_t)page_size) | 1;
err_unmap:
	munmap(p, size);
err_close:
	close(fd);
	return ret;
}

static void print_policy(char *addr)
{
	static const char *const modes[] = {
		[MPOL_DEFAULT] = "default", [MPOL_PREFERRED] = "preferred",
		[MPOL_BIND] = "bind", [MPOL_INTERLEAVE] = "interleave",
		[MPOL_LOCAL] = "local", [5] = "preferred-many",
		[6] = "weighted-interleave",
	};
	unsigned long mask[MAX_NODES / (8 * sizeof(unsigned long))] = { 0 };
	const size_t bits = 8 * sizeof(unsigned long);
	int mode, n, first = 1;

	if (syscall(SYS_get_mempolicy, &mode, mask, MAX_NODES, addr, MPOL_F_ADDR) < 0) {
		printf("policy unknown (%s)\n", strerror(errno));
		return;
	}
	mode &= ~(MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES);
	if (mode >= 0 && (size_t)mode < sizeof(modes) / sizeof(modes[0]) && modes[mode])
		printf("policy %s", modes[mode]);
	else
		printf("policy mode%d", mode);
	for (n = 0; n < MAX_NODES; n++) {
		if (mask[n / bits] & (1UL << (n % bits))) {
			printf("%s%d", first ? " " : ",", n);
			first = 0;
		}
	}
	printf("\n");
}

/*
 * Map resident pages into our page tables so move_pages can see them.  They
 * already exist, so these read faults allocate nothing; only contiguous runs
 * of resident pages are populated, never the holes between them.
 */
static void populate(void **pages, size_t n)
{
	size_t i, start = 0;

	for (i = 1; i <= n; i++) {
		if (i < n && (char *)pages[i] == (char *)pages[i - 1] + page_size)
			continue;
		size_t len = (size_t)((char *)pages[i - 1] - (char *)pages[start]) + (size_t)page_size;

		if (madvise(pages[start], len, MADV_POPULATE_READ) < 0) {
			/* Kernels before 5.14: fault them one by one. */
			for (size_t j = start; j < i; j++)
				(void)*(volatile char *)pages[j];
		}
		start = i;
	}
}

/*
 * Ask again for pages move_pages found no page table entry for: while
 * khugepaged collapses 512 small pages of a shmem file into a huge one
 * (2 MiB pages are the store's default), their entries are gone for a
 * moment and the new huge page is not mapped yet.  The page cache still
 * has the data; fault it in again and ask, for up to a second.
 */
static int recheck(void **pages, size_t n, int *status)
{
	for (int tries = 0; tries < 50; tries++) {
		size_t m = 0;

		for (size_t j = 0; j < n; j++)
			if (status[j] == -ENOENT || status[j] == -EFAULT)
				m++;
		if (!m)
			return 0;
		usleep(20000);
		for (size_t j = 0; j < n; j++) {
			int st;

			if (status[j] != -ENOENT && status[j] != -EFAULT)
				continue;
			populate(&pages[j], 1);
			if (syscall(SYS_move_pages, 0, 1UL, &pages[j], NULL, &st, 0) < 0)
				return -errno;
			status[j] = st;
		}
	}
	return 0;
}

static int count_batch(void **pages, size_t n, int *status,
		       unsigned long *counts, unsigned long *unmapped)
{
	int ret;

	populate(pages, n);
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0) < 0)
		return -errno;
	ret = recheck(pages, n, status);
	if (ret)
		return ret;
	for (size_t j = 0; j < n; j++) {
		if (status[j] >= 0 && status[j] < MAX_NODES)
			counts[status[j]]++;
		else
			(*unmapped)++;
	}
	return 0;
}

/* Counts go into counts[node], -ENOENT and other errors into *unmapped. */
static int count_nodes(char *addr, size_t len, unsigned long *counts,
		       unsigned long *resident, unsigned long *unmapped)
{
	size_t npages = (len + (size_t)page_size - 1) / (size_t)page_size;
	unsigned char *vec;
	void **pages;
	int *status;
	size_t i, n = 0;
	int ret = 0;

	vec = malloc(npages);
	pages = malloc(BATCH * sizeof(*pages));
	status = malloc(BATCH * sizeof(*status));
	if (!vec || !pages || !status) {
		ret = -ENOMEM;
		goto out;
	}
	if (mincore(addr, len, vec) < 0) {
		ret = -errno;
		goto out;
	}
	for (i = 0; i < npages; i++) {
		if (vec[i] & 1)
			pages[n++] = addr + i * (size_t)page_size;
		if (n == BATCH || (i == npages - 1 && n)) {
			ret = count_batch(pages, n, status, counts, unmapped);
			if (ret < 0)
				goto out;
			*resident += n;
			n = 0;
		}
	}
out:
	free(status);
	free(pages);
	free(vec);
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: pagenodes [--create SIZE --bind NODE] FILE [NODE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "create", required_argument, NULL, 'c' },
		{ "bind", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static unsigned long counts[MAX_NODES];
	unsigned long resident = 0, unmapped = 0, elsewhere = 0;
	size_t create_size = 0;
	int bind_node = -1, want = -1, opt, fd, ret, n;
	const char *path;
	struct stat st;
	char *p;

	page_size = sysconf(_SC_PAGESIZE);
	while ((opt = getopt_long(argc, argv, "c:b:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (parse_size(optarg, &create_size) < 0)
				usage();
			break;
		case 'b':
			if (parse_node(optarg, &bind_node) < 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind >= argc || argc - optind > 2 || (!create_size != (bind_node < 0)))
		usage();
	path = argv[optind];
	if (argc - optind == 2 && parse_node(argv[optind + 1], &want) < 0)
		usage();

	if (create_size) {
		ret = create_bound(path, create_size, bind_node);
		if (ret < 0) {
			fprintf(stderr, "pagenodes: %s: cannot create bound to node %d: %s\n",
				path, bind_node, strerror(-ret));
			return 2;
		}
	}

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "pagenodes: %s: %s\n", path, strerror(errno));
		return 2;
	}
	printf("file %s\n", path);
	if (st.st_size == 0) {
		printf("pages 0 resident 0\n");
	} else {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			fprintf(stderr, "pagenodes: %s: mmap: %s\n", path, strerror(errno));
			return 2;
		}
		ret = count_nodes(p, (size_t)st.st_size, counts, &resident, &unmapped);
		if (ret < 0) {
			fprintf(stderr, "pagenodes: %s: %s\n", path, strerror(-ret));
			return 2;
		}
		printf("pages %llu resident %lu\n",
		       ((unsigned long long)st.st_size + (unsigned long long)page_size - 1) /
		       (unsigned long long)page_size, resident);
		print_policy(p);
		munmap(p, (size_t)st.st_size);
	}
	close(fd);

	for (n = 0; n < MAX_NODES; n++) {
		if (!counts[n])
			continue;
		printf("node %d %lu\n", n, counts[n]);
		if (n != want)
			elsewhere += counts[n];
	}
	if (unmapped)
		printf("unmapped %lu\n", unmapped);
	if (want < 0)
		return 0;
	if (resident == 0) {
		printf("FAIL %s has no resident pages to check against node %d\n", path, want);
		return 1;
	}
	if (elsewhere || unmapped) {
		printf("FAIL %lu of %lu resident pages of %s are not on node %d\n",
		       elsewhere + unmapped, resident, path, want);
		return 1;
	}
	printf("OK all %lu resident pages of %s on node %d\n", resident, path, want);
	return 0;
}
