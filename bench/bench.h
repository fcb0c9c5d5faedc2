/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * cdm-bench: one measurement per invocation, printed as one JSON object on
 * stdout.  bench/run starts it once per contender and run, so every figure
 * comes from a fresh process and contenders interleave run by run.
 */
#ifndef CDM_BENCH_H
#define CDM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_PAGE 4096UL
#define BENCH_HUGE (2UL << 20)

/* Monotonic time in seconds. */
double bench_now(void);
/* Print "cdm-bench: MESSAGE" (with strerror(errno) if @err) and exit 1. */
void bench_die(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* "1G", "256M", "4k", "4096" -> bytes; exits on a malformed value. */
size_t bench_size(const char *s);
/*
 * Touch and free anonymous memory for @bytes of new pages, in 2 MiB pages
 * if @huge, so the timed part that follows gets RAM the hypervisor has
 * backed (these VMs hand freed RAM back to the host).
 */
void bench_warm(size_t bytes, bool huge);

/* The JSON object on stdout: bench_out_num("gbps", 1.5) ... bench_out_end(). */
void bench_out_num(const char *key, double v);
void bench_out_str(const char *key, const char *v);
void bench_out_end(void);

/* Subcommands: argv[0] is the first argument after the subcommand's name. */
int bench_mmap_write(int argc, char **argv);
int bench_mmap_read(int argc, char **argv);
int bench_mmap_rand(int argc, char **argv);
int bench_write(int argc, char **argv);
int bench_read(int argc, char **argv);
int bench_fault(int argc, char **argv);
int bench_meta(int argc, char **argv);
int bench_create_many(int argc, char **argv);
int bench_scale(int argc, char **argv);
int bench_migrate_file(int argc, char **argv);
int bench_migrate_raw(int argc, char **argv);
int bench_residency(int argc, char **argv);
int bench_residency_raw(int argc, char **argv);

#endif /* CDM_BENCH_H */
