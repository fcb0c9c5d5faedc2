// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cdm-bench SUBCOMMAND ARGS...: the measuring half of the benchmark
 * (bench/run orchestrates).  Each subcommand does its setup untimed, times
 * only the operation it names, and prints one JSON object.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "bench.h"
/* by path: bench builds without the tree's include directory */
#include "../include/cdmfs/size.h"

static const struct {
	const char *name, *args;
	int nargs;
	int (*run)(int argc, char **argv);
} cmds[] = {
	{ "mmap-write", "FILE SIZE", 2, bench_mmap_write },
	{ "mmap-read", "FILE", 1, bench_mmap_read },
	{ "mmap-rand", "FILE COUNT", 2, bench_mmap_rand },
	{ "write", "FILE SIZE BUFSIZE", 3, bench_write },
	{ "read", "FILE BUFSIZE", 2, bench_read },
	{ "fault", "FILE SIZE PAGES", 3, bench_fault },
	{ "meta", "DIR COUNT", 2, bench_meta },
	{ "create-many", "DIR COUNT", 2, bench_create_many },
	{ "scale", "DIR COUNT PID", 3, bench_scale },
	{ "migrate-file", "FILE POLICY NODE none|writer", 4, bench_migrate_file },
	{ "migrate-raw", "SIZE FROM-NODE TO-NODE none|mapper|writer", 4, bench_migrate_raw },
	{ "residency", "FILE REPEAT", 2, bench_residency },
	{ "residency-raw", "SIZE REPEAT", 2, bench_residency_raw },
};

static int out_fields;

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_die(int err, const char *fmt, ...)
{
	va_list ap;

	fputs("cdm-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	exit(1);
}

size_t bench_size(const char *s)
{
	uint64_t v;

	if (cdm_size_parse(s, 0, &v) || v > SIZE_MAX)
		bench_die(0, "bad size '%s'", s);
	return (size_t)v;
}

void bench_warm(size_t bytes, bool huge)
{
	void *p;

	/*
	 * The allocator serves 4 KiB pages from the smallest free blocks and
	 * 2 MiB pages from whole free 2 MiB blocks, so warm what the timed
	 * part will take: measured on these VMs, a warm-up in the other page
	 * size helped little (2 MiB) or slowed 4 KiB faults by ~25%.
	 */
	if (!huge)
		bytes *= 2;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		bench_die(errno, "warm-up mmap of %zu bytes", bytes);
	madvise(p, bytes, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (madvise(p, bytes, MADV_POPULATE_WRITE))
		memset(p, 0, bytes);
	munmap(p, bytes);
}

static void out_key(const char *key)
{
	printf("%s\"%s\": ", out_fields++ ? ", " : "{", key);
}

void bench_out_num(const char *key, double v)
{
	out_key(key);
	printf("%.6g", v);
}

void bench_out_str(const char *key, const char *v)
{
	out_key(key);
	putchar('"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			printf("\\%c", *v);
		else if ((unsigned char)*v < 0x20)
			printf("\\u%04x", *v);
		else
			putchar(*v);
	}
	putchar('"');
}

void bench_out_end(void)
{
	puts(out_fields ? "}" : "{}");
}

static void usage(FILE *f)
{
	fputs("usage: cdm-bench SUBCOMMAND ARGS...  (one JSON object on stdout)\n", f);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-14s %s\n", cmds[i].name, cmds[i].args);
	fputs("SIZE takes K, M, G suffixes (binary).  Run by bench/run.\n", f);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		if (argc - 2 != cmds[i].nargs) {
			fprintf(stderr, "usage: cdm-bench %s %s\n",
				cmds[i].name, cmds[i].args);
			return 2;
		}
		return cmds[i].run(argc - 2, argv + 2);
	}
	fprintf(stderr, "cdm-bench: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
