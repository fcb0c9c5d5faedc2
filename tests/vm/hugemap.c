// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hugemap: an application's mapping of a file, as smaps sees it, for the
 * 2 MiB page tests.
 *
 *   hugemap FILE SIZE_MB HOLD
 *	Size FILE to SIZE_MB (ftruncate, before any page exists: what
 *	huge=within_size needs), map it MAP_SHARED at a 2 MiB aligned
 *	address, write every page, print "pmd_kb N rss_kb N" of that mapping
 *	from /proc/self/smaps (FilePmdMapped + ShmemPmdMapped), then while
 *	the file HOLD exists keep the mapping; once HOLD is gone read every
 *	page, print the same line again and exit.
 * Exit: 0, or 2 on a system error.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PMD (2UL << 20)

static void report(uintptr_t addr)
{
	char line[256];
	unsigned long long pmd = 0, rss = 0, kb;
	bool inside = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f) {
		perror("/proc/self/smaps");
		exit(2);
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			inside = lo == addr;
		else if (inside && (sscanf(line, "FilePmdMapped: %llu", &kb) == 1 ||
				    sscanf(line, "ShmemPmdMapped: %llu", &kb) == 1))
			pmd += kb;
		else if (inside && sscanf(line, "Rss: %llu", &kb) == 1)
			rss = kb;
	}
	fclose(f);
	printf("pmd_kb %llu rss_kb %llu\n", pmd, rss);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	size_t size;
	uintptr_t addr;
	volatile char *p;
	char *base;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: hugemap FILE SIZE_MB HOLD\n");
		return 2;
	}
	size = strtoul(argv[2], NULL, 10) << 20;
	fd = open(argv[1], O_RDWR | O_CREAT, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		perror(argv[1]);
		return 2;
	}
	base = mmap(NULL, size + PMD, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	addr = ((uintptr_t)base + PMD - 1) & ~(PMD - 1);
	p = mmap((void *)addr, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap FILE");
		return 2;
	}
	for (size_t i = 0; i < size; i += 4096)
		p[i] = (char)(i >> 12);
	report(addr);
	while (access(argv[3], F_OK) == 0)
		usleep(100000);
	for (size_t i = 0; i < size; i += 4096)
		if (p[i] != (char)(i >> 12)) {
			fprintf(stderr, "page %zu changed\n", i >> 12);
			return 2;
		}
	report(addr);
	return 0;
}
