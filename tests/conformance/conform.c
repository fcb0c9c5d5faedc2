// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * conform: POSIX/Linux file semantics cases, run unchanged on a reference
 * tmpfs and on a cdmfs device directory (the differential suite).
 *
 *   conform [-e LIMITS -p DATAPATH] DIR DIR2 [CASE...]
 *
 * DIR and DIR2 are writable directories: two subdirectories of one tmpfs,
 * or two device directories of one cdmfs mount (cases that move files
 * "across devices" rename from DIR to DIR2).  Each case works in its own
 * DIR/<case> and prints one TAP line; every failed check inside it prints
 * a "#" line with the source line, what was expected and what the kernel
 * said.  Run as root, cases that need a second user fork a child that
 * drops to uid/gid 65534 (or 65533); run as another user, cases that need
 * root say so and are skipped.
 *
 * LIMITS names documented FUSE limitations ("case<TAB>datapath<TAB>why",
 * datapath "passthrough", "daemon" or "any"): on a FUSE mount whose data
 * path (-p) matches, a listed case that fails is reported "# TODO" and
 * does not fail the run.  -k names the cdmfs defects known and not fixed
 * yet, the same way, each naming its issue: such a case fails the run once
 * it passes, so the list cannot outlive the fix.  Nothing else is excused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

#define NOBODY 65534	/* the second user */
#define NOBODY2 65533	/* a third one, for sticky directories */

static const char *top1, *top2;	/* DIR, DIR2 */
static char cdir[1024];	/* DIR/<case> */
static char cdir2[1024];	/* DIR2/<case> */
static bool is_root, on_fuse;
static long pagesz;
static const char *datapath = "passthrough";	/* -p */

static int failures;		/* failed checks in the current case */
static char skip_reason[256];

static void fail(int line, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(int line, const char *fmt, ...)
{
	va_list ap;

	printf("#   conform.c:%d: ", line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

/* expr must not return -1 (or a negative value); evaluates to its value */
#define OK(expr) ({							\
	long long _v = (long long)(expr);				\
	if (_v < 0)							\
		fail(__LINE__, "%s: %s", #expr, strerror(errno));	\
	_v; })

/* expr must fail (-1 / negative) with errno e */
#define ERR(expr, e) do {						\
	errno = 0;							\
	long long _v = (long long)(expr);				\
	if (_v >= 0)							\
		fail(__LINE__, "%s: succeeded (%lld), want %s", #expr,	\
		     _v, strerror(e));					\
	else if (errno != (e))						\
		fail(__LINE__, "%s: %s, want %s", #expr,		\
		     strerror(errno), strerror(e));			\
} while (0)

#define EQ(got, want) do {						\
	long long _g = (long long)(got), _w = (long long)(want);	\
	if (_g != _w)							\
		fail(__LINE__, "%s = %lld (0%llo), want %lld (0%llo)",	\
		     #got, _g, _g, _w, _w);				\
} while (0)

#define TRUE(cond) do {							\
	if (!(cond))							\
		fail(__LINE__, "not true: %s", #cond);			\
} while (0)

#define SKIP(...) do {							\
	snprintf(skip_reason, sizeof(skip_reason), __VA_ARGS__);	\
	return;								\
} while (0)

#define NEED_ROOT() do {						\
	if (!is_root)							\
		SKIP("needs root to act as a second user "		\
		     "(the root run covers it)");			\
} while (0)

/* P("x/%d", i): a path under the case's directory (a per-thread ring of
 * buffers: the race cases call it from several threads) */
static char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *P(const char *fmt, ...)
{
	static __thread char ring[16][PATH_MAX];
	static __thread unsigned int n;
	char *b = ring[n++ % 16];
	int len = snprintf(b, PATH_MAX, "%s/", cdir);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b + len, PATH_MAX - len, fmt, ap);
	va_end(ap);
	return b;
}

/* the same under DIR2/<case> */
static char *P2(const char *name)
{
	static __thread char ring[4][PATH_MAX];
	static __thread unsigned int n;
	char *b = ring[n++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", cdir2, name);
	return b;
}

/*
 * AS_USER(uid) { ... }: run the block in a child with that uid/gid and no
 * supplementary groups; its failed checks count in the parent.  The block
 * must not return or break.
 */
static pid_t as_begin(uid_t uid)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		fail(__LINE__, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		failures = 0;
		if (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
		    setresuid(uid, uid, uid)) {
			fail(__LINE__, "cannot become uid %d: %s", (int)uid,
			     strerror(errno));
			fflush(stdout);
			_exit(1);
		}
		return 0;
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) {
		fail(__LINE__, "child as uid %d died (status 0x%x)", (int)uid,
		     status);
		return -1;
	}
	failures += WEXITSTATUS(status);
	return -1;
}

static pid_t as_end(void)
{
	fflush(stdout);
	_exit(failures > 100 ? 100 : failures);
}

#define AS_USER(uid) \
	for (pid_t _as = as_begin(uid); _as == 0; _as = as_end())

/* helpers -------------------------------------------------------------- */

/*
 * Write data to path, truncating; a new file gets exactly mode (fchmod,
 * so the umask does not interfere with what a case sets up).
 */
static int put(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	ssize_t len = strlen(data);

	if (fd >= 0 && fchmod(fd, mode)) {
		close(fd);
		return -1;
	}
	if (fd < 0 && errno == EEXIST)
		fd = open(path, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -1;
	if (write(fd, data, len) != len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/* the file's whole content (up to 4095 bytes) as a string, "" on error */
static const char *get(const char *path)
{
	static __thread char buf[4][4096];
	static __thread unsigned int n;
	char *b = buf[n++ % 4];
	int fd = open(path, O_RDONLY);
	ssize_t len;

	b[0] = 0;
	if (fd < 0)
		return "<cannot open>";
	len = read(fd, b, 4095);
	b[len < 0 ? 0 : len] = 0;
	close(fd);
	return b;
}

#define EQS(got, want) do {						\
	const char *_g = (got), *_w = (want);				\
	if (strcmp(_g, _w))						\
		fail(__LINE__, "%s = \"%s\", want \"%s\"", #got, _g, _w); \
} while (0)

static struct stat st_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st)) {
		memset(&st, 0, sizeof(st));
		st.st_nlink = (nlink_t)-1;
	}
	return st;
}

static mode_t mode_of(const char *path)
{
	return st_of(path).st_mode & 07777;
}

static struct stat fst_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st)) {
		memset(&st, 0, sizeof(st));
		st.st_nlink = (nlink_t)-1;
	}
	return st;
}

static int rm_rf_cb(const char *dir);

static int rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return 0;
	if (S_ISDIR(st.st_mode)) {
		chmod(path, 0700);
		rm_rf_cb(path);
		return rmdir(path);
	}
	return unlink(path);
}

static int rm_rf_cb(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX];

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		rm_rf(p);
	}
	return closedir(d);
}

static long long ts_ns(struct timespec t)
{
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* sleep past the kernel's timestamp granularity */
static void tick(void)
{
	struct timespec t = { 0, 25 * 1000 * 1000 };

	nanosleep(&t, NULL);
}

/* set atime and mtime to 2001 so that any update shows */
static void backdate(const char *path)
{
	struct timespec t[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

	OK(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW));
}

/* which timestamps of st changed since before ("a", "m", "c") */
static const char *changed(struct stat before, struct stat after)
{
	static __thread char s[4][4];
	static __thread unsigned int n;
	char *b = s[n++ % 4], *p = b;

	if (ts_ns(after.st_atim) != ts_ns(before.st_atim))
		*p++ = 'a';
	if (ts_ns(after.st_mtim) != ts_ns(before.st_mtim))
		*p++ = 'm';
	if (ts_ns(after.st_ctim) != ts_ns(before.st_ctim))
		*p++ = 'c';
	*p = 0;
	return b;
}

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t got_bus;

static void on_sigbus(int sig)
{
	got_bus = 1;
	siglongjmp(bus_jmp, 1);
}

/* read one byte at p; returns the byte or -1 on SIGBUS */
static int probe(volatile char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int v;

	sigaction(SIGBUS, &sa, &old);
	got_bus = 0;
	if (sigsetjmp(bus_jmp, 1) == 0)
		v = (unsigned char)*p;
	else
		v = -1;
	sigaction(SIGBUS, &old, NULL);
	return v;
}

/* write one byte at p; returns 0 or -1 on SIGBUS */
static int poke(volatile char *p, char c)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int v = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1) == 0)
		*p = c;
	else
		v = -1;
	sigaction(SIGBUS, &old, NULL);
	return v;
}

/* cases: open flags ---------------------------------------------------- */

static void case_open_trunc(void)
{
	char buf[16] = "";
	int fd;

	OK(put(P("f"), "hello\n", 0644));
	OK(put(P("f"), "hi\n", 0644));		/* the shell's "echo hi > f" */
	EQS(get(P("f")), "hi\n");
	EQ(st_of(P("f")).st_size, 3);

	/* O_TRUNC without O_CREAT, read-write */
	fd = OK(open(P("f"), O_RDWR | O_TRUNC));
	EQ(fst_of(fd).st_size, 0);
	EQ(read(fd, buf, sizeof(buf)), 0);
	close(fd);
	EQ(st_of(P("f")).st_size, 0);

	/* Linux truncates even with O_RDONLY|O_TRUNC when writable */
	OK(put(P("g"), "0123456789", 0644));
	fd = OK(open(P("g"), O_RDONLY | O_TRUNC));
	EQ(fst_of(fd).st_size, 0);
	close(fd);
	EQ(st_of(P("g")).st_size, 0);

	/* O_TRUNC of a file that is open and mapped elsewhere */
	OK(put(P("h"), "abcdefgh", 0644));
	int fd2 = OK(open(P("h"), O_RDWR));
	fd = OK(open(P("h"), O_WRONLY | O_TRUNC));
	EQ(fst_of(fd2).st_size, 0);
	EQ(pread(fd2, buf, sizeof(buf), 0), 0);
	close(fd);
	close(fd2);

	/* O_TRUNC on a read-only file without write permission */
	if (!is_root) {
		OK(put(P("ro"), "data", 0444));
		ERR(open(P("ro"), O_RDONLY | O_TRUNC), EACCES);
		EQS(get(P("ro")), "data");
	}
}

static void case_open_trunc_user(void)
{
	NEED_ROOT();
	OK(chmod(cdir, 0777));
	OK(put(P("f"), "root's data\n", 0666));
	AS_USER(NOBODY) {
		OK(put(P("f"), "x\n", 0666));
		EQS(get(P("f")), "x\n");
	}
	EQS(get(P("f")), "x\n");
	EQ(st_of(P("f")).st_uid, 0);
	OK(put(P("ro"), "keep", 0644));
	AS_USER(NOBODY) {
		ERR(open(P("ro"), O_WRONLY | O_TRUNC), EACCES);
	}
	EQS(get(P("ro")), "keep");
}

static void case_open_append(void)
{
	char buf[64] = "";
	int fd, fd2;

	OK(put(P("f"), "0123", 0644));
	fd = OK(open(P("f"), O_WRONLY | O_APPEND));
	OK(lseek(fd, 0, SEEK_SET));
	EQ(write(fd, "ab", 2), 2);
	EQ(lseek(fd, 0, SEEK_CUR), 6);
	/* Linux: pwrite on O_APPEND appends (see pwrite(2) BUGS) */
	EQ(pwrite(fd, "cd", 2, 0), 2);
	EQS(get(P("f")), "0123abcd");

	/* a second writer extends the file: the next append lands after it */
	fd2 = OK(open(P("f"), O_WRONLY));
	EQ(pwrite(fd2, "XYZ", 3, 8), 3);
	EQ(write(fd, "!", 1), 1);
	EQS(get(P("f")), "0123abcdXYZ!");
	/* ... and after a truncate by another fd */
	OK(ftruncate(fd2, 2));
	EQ(write(fd, "?", 1), 1);
	EQS(get(P("f")), "01?");
	close(fd2);
	close(fd);

	/* O_APPEND|O_CREAT on a new file, read back through O_RDWR */
	fd = OK(open(P("g"), O_RDWR | O_APPEND | O_CREAT, 0644));
	EQ(write(fd, "one", 3), 3);
	EQ(write(fd, "two", 3), 3);
	EQ(pread(fd, buf, sizeof(buf), 0), 6);
	TRUE(!memcmp(buf, "onetwo", 6));
	close(fd);
}

static void case_open_excl(void)
{
	int fd;

	fd = OK(open(P("f"), O_RDWR | O_CREAT | O_EXCL, 0600));
	close(fd);
	ERR(open(P("f"), O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	ERR(open(P("f"), O_RDONLY | O_CREAT | O_EXCL, 0600), EEXIST);
	/* a symlink, even a dangling one, is never followed */
	OK(symlink("nowhere", P("dangling")));
	ERR(open(P("dangling"), O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	ERR(access(P("nowhere"), F_OK), ENOENT);
	OK(symlink("f", P("link")));
	ERR(open(P("link"), O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	OK(mkdir(P("d"), 0755));
	ERR(open(P("d"), O_RDWR | O_CREAT | O_EXCL, 0600), EEXIST);
	ERR(mkdir(P("d"), 0755), EEXIST);
	ERR(mkdir(P("f"), 0755), EEXIST);
	ERR(mknod(P("f"), S_IFIFO | 0600, 0), EEXIST);
	ERR(symlink("x", P("f")), EEXIST);
}

static void case_open_creat_existing(void)
{
	struct stat st;
	int fd;

	OK(put(P("f"), "content", 0640));
	st = st_of(P("f"));
	/* the mode argument applies to new files only; nothing truncates */
	fd = OK(open(P("f"), O_RDWR | O_CREAT, 0777));
	EQ(fst_of(fd).st_size, 7);
	EQ(fst_of(fd).st_ino, st.st_ino);
	close(fd);
	EQ(mode_of(P("f")), 0640);
	EQS(get(P("f")), "content");
	/* O_CREAT through a symlink creates the target */
	OK(symlink("target", P("link")));
	fd = OK(open(P("link"), O_WRONLY | O_CREAT, 0600));
	close(fd);
	TRUE(S_ISREG(st_of(P("target")).st_mode));
	/* ... and opens an existing directory only without write access */
	OK(mkdir(P("d"), 0755));
	ERR(open(P("d"), O_WRONLY | O_CREAT, 0600), EISDIR);
	if (is_root) {
		/* another user's O_CREAT of an existing file keeps the owner */
		OK(chmod(cdir, 0777));
		OK(chmod(P("f"), 0666));
		AS_USER(NOBODY) {
			int fd2 = OK(open(P("f"), O_RDWR | O_CREAT, 0600));

			EQ(fst_of(fd2).st_uid, 0);
			close(fd2);
		}
		EQ(st_of(P("f")).st_uid, 0);
		EQ(mode_of(P("f")), 0666);
	}
}

static void case_open_directory(void)
{
	int fd;

	OK(put(P("f"), "x", 0644));
	OK(mkdir(P("d"), 0755));
	ERR(open(P("f"), O_RDONLY | O_DIRECTORY), ENOTDIR);
	fd = OK(open(P("d"), O_RDONLY | O_DIRECTORY));
	TRUE(S_ISDIR(fst_of(fd).st_mode));
	close(fd);
	ERR(open(P("d"), O_WRONLY), EISDIR);
	ERR(open(P("d"), O_RDWR), EISDIR);
	ERR(open(P("f/x"), O_RDONLY), ENOTDIR);
	ERR(open(P("f/"), O_RDONLY), ENOTDIR);
	ERR(open(P("missing"), O_RDONLY | O_DIRECTORY), ENOENT);
	/* Linux >= 6.4: O_CREAT|O_DIRECTORY is EINVAL, creating nothing */
	ERR(open(P("new"), O_RDWR | O_CREAT | O_DIRECTORY, 0644), EINVAL);
	ERR(access(P("new"), F_OK), ENOENT);
	/* through a symlink to a directory */
	OK(symlink("d", P("ld")));
	fd = OK(open(P("ld"), O_RDONLY | O_DIRECTORY));
	close(fd);
}

static void case_open_nofollow(void)
{
	char buf[PATH_MAX];
	int fd;

	OK(put(P("f"), "x", 0644));
	OK(mkdir(P("d"), 0755));
	OK(put(P("d/g"), "y", 0644));
	OK(symlink("f", P("lf")));
	OK(symlink("d", P("ld")));
	ERR(open(P("lf"), O_RDONLY | O_NOFOLLOW), ELOOP);
	ERR(open(P("lf"), O_RDWR | O_CREAT | O_NOFOLLOW, 0644), ELOOP);
	ERR(open(P("ld"), O_RDONLY | O_DIRECTORY | O_NOFOLLOW), ENOTDIR);
	/* only the last component is not followed */
	fd = OK(open(P("ld/g"), O_RDONLY | O_NOFOLLOW));
	close(fd);
	/* O_PATH|O_NOFOLLOW opens the link itself */
	fd = OK(open(P("lf"), O_PATH | O_NOFOLLOW));
	TRUE(S_ISLNK(fst_of(fd).st_mode));
	EQ(readlinkat(fd, "", buf, sizeof(buf)), 1);
	close(fd);
	EQ(readlink(P("lf"), buf, sizeof(buf)), 1);
	EQ(st_of(P("lf")).st_size, 1);
	/* a symlink loop */
	OK(symlink("loop2", P("loop1")));
	OK(symlink("loop1", P("loop2")));
	ERR(open(P("loop1"), O_RDONLY), ELOOP);
}

static void case_open_tmpfile(void)
{
	char proc[64], buf[16] = "";
	int fd, fd2;
	mode_t old;

	old = umask(022);
	fd = open(cdir, O_TMPFILE | O_RDWR, 0666);
	umask(old);
	if (fd < 0) {
		fail(__LINE__, "open(O_TMPFILE): %s", strerror(errno));
		return;
	}
	EQ(fst_of(fd).st_nlink, 0);
	EQ(fst_of(fd).st_mode & 07777, 0644);
	EQ(fst_of(fd).st_uid, geteuid());
	EQ(write(fd, "tmpdata", 7), 7);
	EQ(pread(fd, buf, sizeof(buf), 0), 7);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	OK(linkat(AT_FDCWD, proc, AT_FDCWD, P("named"), AT_SYMLINK_FOLLOW));
	EQ(fst_of(fd).st_nlink, 1);
	EQS(get(P("named")), "tmpdata");
	EQ(st_of(P("named")).st_ino, fst_of(fd).st_ino);
	close(fd);

	/* O_EXCL: never linkable */
	fd = OK(open(cdir, O_TMPFILE | O_EXCL | O_WRONLY, 0600));
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ERR(linkat(AT_FDCWD, proc, AT_FDCWD, P("never"), AT_SYMLINK_FOLLOW),
	    ENOENT);
	close(fd);
	/* an unlinked tmpfile is not in the directory */
	fd = OK(open(cdir, O_TMPFILE | O_RDWR, 0600));
	fd2 = OK(open(cdir, O_RDONLY | O_DIRECTORY));
	DIR *d = fdopendir(fd2);
	int n = 0;
	struct dirent *de;

	while (d && (de = readdir(d)))
		n++;
	if (d)
		closedir(d);
	EQ(n, 3);	/* ".", "..", "named" */
	/* mapping a tmpfile works */
	OK(ftruncate(fd, pagesz));
	char *m = mmap(NULL, pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED) {
		fail(__LINE__, "mmap of a tmpfile: %s", strerror(errno));
	} else {
		memcpy(m, "mapped", 6);
		EQ(pread(fd, buf, 6, 0), 6);
		TRUE(!memcmp(buf, "mapped", 6));
		munmap(m, pagesz);
	}
	close(fd);
	ERR(open(P("named"), O_TMPFILE | O_RDWR, 0600), ENOTDIR);
}

static void case_open_misc(void)
{
	char *buf;
	int fd;

	OK(put(P("f"), "0123456789", 0644));
	/* O_SYNC, O_DSYNC: ordinary writes that are durable at return */
	fd = OK(open(P("f"), O_WRONLY | O_SYNC));
	EQ(write(fd, "s", 1), 1);
	OK(fsync(fd));
	OK(fdatasync(fd));
	close(fd);
	fd = OK(open(P("f"), O_WRONLY | O_DSYNC));
	EQ(pwrite(fd, "d", 1, 1), 1);
	close(fd);
	EQS(get(P("f")), "sd23456789");
	/* O_DIRECT: aligned I/O reaches the file (tmpfs has it since 6.6) */
	buf = aligned_alloc(4096, 8192);
	if (buf) {
		fd = open(P("direct"), O_RDWR | O_CREAT | O_DIRECT, 0644);
		if (fd < 0) {
			fail(__LINE__, "open(O_DIRECT): %s", strerror(errno));
		} else {
			memset(buf, 'D', 8192);
			EQ(pwrite(fd, buf, 8192, 0), 8192);
			memset(buf, 0, 8192);
			EQ(pread(fd, buf, 4096, 4096), 4096);
			EQ(buf[4095], 'D');
			close(fd);
			EQ(st_of(P("direct")).st_size, 8192);
		}
		free(buf);
	}
	/* O_PATH: fstat, fchdir-able dirs, no I/O */
	fd = OK(open(P("f"), O_PATH));
	EQ(fst_of(fd).st_size, 10);
	char c;

	ERR(read(fd, &c, 1), EBADF);
	close(fd);
	/* O_NOATIME: the owner (or root) only */
	fd = OK(open(P("f"), O_RDONLY | O_NOATIME));
	close(fd);
	/* fsync and syncfs on a directory */
	fd = OK(open(cdir, O_RDONLY | O_DIRECTORY));
	OK(fsync(fd));
	OK(syncfs(fd));
	close(fd);
	/* write-only and read-only opens enforce their direction */
	fd = OK(open(P("f"), O_WRONLY));
	ERR(read(fd, &c, 1), EBADF);
	close(fd);
	fd = OK(open(P("f"), O_RDONLY));
	ERR(write(fd, "x", 1), EBADF);
	close(fd);
	if (is_root) {
		OK(chmod(cdir, 0777));
		OK(chmod(P("f"), 0666));
		AS_USER(NOBODY) {
			ERR(open(P("f"), O_RDONLY | O_NOATIME), EPERM);
			int fd2 = OK(open(P("f"), O_RDONLY));

			close(fd2);
		}
	}
}

static void case_locks(void)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			    .l_start = 0, .l_len = 10 };
	int fd, fd2, status;
	pid_t pid;

	OK(put(P("f"), "0123456789", 0644));
	fd = OK(open(P("f"), O_RDWR));
	fd2 = OK(open(P("f"), O_RDWR));
	/* flock: two open file descriptions conflict */
	OK(flock(fd, LOCK_EX));
	ERR(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
	ERR(flock(fd2, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	OK(flock(fd, LOCK_UN));
	OK(flock(fd2, LOCK_SH | LOCK_NB));
	OK(flock(fd, LOCK_SH | LOCK_NB));
	OK(flock(fd2, LOCK_UN));
	OK(flock(fd, LOCK_UN));
	/* POSIX record locks between processes */
	OK(fcntl(fd, F_SETLK, &fl));
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct flock t = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
				   .l_start = 5, .l_len = 1 };
		int bad = 0;

		if (fcntl(fd2, F_SETLK, &t) == 0 ||
		    (errno != EAGAIN && errno != EACCES))
			bad |= 1;
		if (fcntl(fd2, F_GETLK, &t) || t.l_type != F_WRLCK ||
		    t.l_pid != getppid())
			bad |= 2;
		t.l_start = 10;	/* beyond the locked range */
		if (fcntl(fd2, F_SETLK, &t))
			bad |= 4;
		_exit(bad);
	}
	waitpid(pid, &status, 0);
	EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	/* OFD locks conflict between two opens of one process */
	struct flock o = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
			   .l_start = 0, .l_len = 1 };

	fl.l_type = F_UNLCK;
	OK(fcntl(fd, F_SETLK, &fl));
	OK(fcntl(fd, F_OFD_SETLK, &o));
	ERR(fcntl(fd2, F_OFD_SETLK, &o), EAGAIN);
	close(fd);
	OK(fcntl(fd2, F_OFD_SETLK, &o));
	close(fd2);
}

static void case_dir_perms(void)
{
	NEED_ROOT();
	OK(chmod(cdir, 0755));
	OK(mkdir(P("priv"), 0700));
	OK(put(P("priv/f"), "x", 0644));
	OK(mkdir(P("ro"), 0755));
	OK(put(P("ro/f"), "x", 0666));
	OK(mkdir(P("wx"), 0700));
	OK(chmod(P("wx"), 0733));
	OK(put(P("wx/f"), "x", 0666));
	OK(mkdir(P("r"), 0700));
	OK(chmod(P("r"), 0744));
	OK(put(P("r/f"), "x", 0644));
	AS_USER(NOBODY) {
		struct stat st;

		ERR(stat(P("priv/f"), &st), EACCES);
		ERR(open(P("priv/f"), O_RDONLY), EACCES);
		ERR(opendir(P("priv")) ? 0 : -1, EACCES);
		/* no write permission: no new names, no removal, no rename */
		ERR(open(P("ro/new"), O_WRONLY | O_CREAT, 0644), EACCES);
		ERR(mkdir(P("ro/d"), 0755), EACCES);
		ERR(unlink(P("ro/f")), EACCES);
		ERR(rename(P("ro/f"), P("ro/g")), EACCES);
		ERR(symlink("x", P("ro/l")), EACCES);
		/* ... but writing an existing writable file is fine */
		EQ(put(P("ro/f"), "y", 0), 0);
		/* write and search without read: create yes, list no */
		int fd = OK(open(P("wx/new"), O_WRONLY | O_CREAT, 0644));

		close(fd);
		ERR(opendir(P("wx")) ? 0 : -1, EACCES);
		EQS(get(P("wx/f")), "x");
		/* read without search: names yes, the files no */
		DIR *d = opendir(P("r"));
		int names = 0;
		struct dirent *de;

		TRUE(d != NULL);
		while (d && (de = readdir(d)))
			names += !strcmp(de->d_name, "f");
		if (d)
			closedir(d);
		EQ(names, 1);
		ERR(stat(P("r/f"), &st), EACCES);
		/* access(2) answers as the kernel decides */
		ERR(access(P("ro"), W_OK), EACCES);
		OK(access(P("ro"), R_OK | X_OK));
		ERR(access(P("priv/f"), F_OK), EACCES);
	}
	EQ(st_of(P("wx/new")).st_uid, NOBODY);
}

/* cases: truncate and mmap --------------------------------------------- */

static void case_truncate_updown(void)
{
	char buf[8192];
	int fd;

	OK(put(P("f"), "0123456789", 0644));
	OK(truncate(P("f"), 4));
	EQ(st_of(P("f")).st_size, 4);
	EQS(get(P("f")), "0123");
	OK(truncate(P("f"), 8192));
	EQ(st_of(P("f")).st_size, 8192);
	fd = OK(open(P("f"), O_RDWR));
	EQ(pread(fd, buf, sizeof(buf), 0), 8192);
	TRUE(!memcmp(buf, "0123\0\0\0\0", 8));
	bool zero = true;

	for (int i = 4; i < 8192; i++)
		zero &= buf[i] == 0;
	TRUE(zero);
	/* ftruncate through the open fd; data past the cut is gone */
	EQ(pwrite(fd, "xyz", 3, 100), 3);
	OK(ftruncate(fd, 101));
	OK(ftruncate(fd, 200));
	EQ(pread(fd, buf, 3, 100), 3);
	TRUE(!memcmp(buf, "x\0\0", 3));
	EQ(fst_of(fd).st_size, 200);
	EQ(st_of(P("f")).st_size, 200);
	ERR(ftruncate(fd, -1), EINVAL);
	close(fd);
	fd = OK(open(P("f"), O_RDONLY));
	ERR(ftruncate(fd, 0), EINVAL);
	close(fd);
	ERR(truncate(P("f"), -1), EINVAL);
	OK(mkdir(P("d"), 0755));
	ERR(truncate(P("d"), 0), EISDIR);
	/* a sparse size far beyond the data */
	OK(truncate(P("f"), 1LL << 40));
	EQ(st_of(P("f")).st_size, 1LL << 40);
	OK(truncate(P("f"), 0));
	EQ(st_of(P("f")).st_size, 0);
	if (!is_root) {
		OK(put(P("ro"), "data", 0444));
		ERR(truncate(P("ro"), 0), EACCES);
	}
}

static void case_truncate_mmap(void)
{
	char buf[16];
	int fd, fd2;
	char *m;

	fd = OK(open(P("f"), O_RDWR | O_CREAT, 0644));
	OK(ftruncate(fd, 3 * pagesz));
	m = mmap(NULL, 3 * pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fail(__LINE__, "mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	/* the mapping and read()/write() see one another's bytes */
	memcpy(m + 10, "mapped", 6);
	EQ(pread(fd, buf, 6, 10), 6);
	TRUE(!memcmp(buf, "mapped", 6));
	EQ(pwrite(fd, "written", 7, 2 * pagesz + 5), 7);
	TRUE(!memcmp(m + 2 * pagesz + 5, "written", 7));
	/* through a second, independent open as well */
	fd2 = OK(open(P("f"), O_RDWR));
	EQ(pread(fd2, buf, 6, 10), 6);
	TRUE(!memcmp(buf, "mapped", 6));

	/* truncate down by path: the cut pages raise SIGBUS */
	OK(truncate(P("f"), pagesz + 100));
	EQ(probe(m + pagesz + 99), 0);
	EQ(probe(m + pagesz + 200), 0);	/* same page, past EOF: zero */
	EQ(probe(m + 2 * pagesz + 5), -1);
	EQ(poke(m + 2 * pagesz, 1), -1);
	EQ(probe(m + 10), 'm');
	/* grow again: the old bytes are gone, zeroes come back */
	OK(ftruncate(fd2, 3 * pagesz));
	EQ(probe(m + 2 * pagesz + 5), 0);
	/* zero size: the first page faults too */
	OK(ftruncate(fd, 0));
	EQ(probe(m), -1);
	/* a write() extends, the mapping sees it at once */
	EQ(pwrite(fd2, "late", 4, pagesz + 1), 4);
	EQ(probe(m + pagesz + 1), 'l');
	EQ(probe(m), 0);
	munmap(m, 3 * pagesz);
	close(fd2);
	close(fd);

	/* MAP_PRIVATE keeps its copy-on-write pages, file unchanged */
	OK(put(P("p"), "private", 0644));
	fd = OK(open(P("p"), O_RDWR));
	m = mmap(NULL, pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (m != MAP_FAILED) {
		m[0] = 'P';
		EQS(get(P("p")), "private");
		munmap(m, pagesz);
	} else {
		fail(__LINE__, "mmap MAP_PRIVATE: %s", strerror(errno));
	}
	close(fd);
}

static void case_mmap_sigbus_eof(void)
{
	int fd;
	char *m;

	OK(put(P("f"), "short", 0644));
	fd = OK(open(P("f"), O_RDWR));
	m = mmap(NULL, 4 * pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fail(__LINE__, "mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	EQ(probe(m), 's');
	EQ(probe(m + 5), 0);
	EQ(probe(m + pagesz - 1), 0);
	EQ(probe(m + pagesz), -1);
	EQ(probe(m + 3 * pagesz), -1);
	EQ(poke(m + pagesz, 'x'), -1);
	EQ(st_of(P("f")).st_size, 5);
	/* writing in the mapping does not extend the file */
	m[100] = 'x';
	EQ(fst_of(fd).st_size, 5);
	/* read-only mapping of a write-only file is refused */
	munmap(m, 4 * pagesz);
	close(fd);
	fd = OK(open(P("f"), O_WRONLY));
	ERR(mmap(NULL, pagesz, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED ?
	    -1 : 0, EACCES);
	close(fd);
	fd = OK(open(P("f"), O_RDONLY));
	ERR(mmap(NULL, pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) ==
	    MAP_FAILED ? -1 : 0, EACCES);
	/* nor can a read-only shared mapping be made writable later */
	m = mmap(NULL, pagesz, PROT_READ, MAP_SHARED, fd, 0);
	if (m != MAP_FAILED) {
		ERR(mprotect(m, pagesz, PROT_READ | PROT_WRITE), EACCES);
		munmap(m, pagesz);
	} else {
		fail(__LINE__, "mmap PROT_READ: %s", strerror(errno));
	}
	/* a private one may: copy-on-write, the file stays */
	m = mmap(NULL, pagesz, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m != MAP_FAILED) {
		OK(mprotect(m, pagesz, PROT_READ | PROT_WRITE));
		m[0] = 'P';
		munmap(m, pagesz);
	}
	close(fd);
	EQ(get(P("f"))[0], 's');
}

/* a running program's file cannot be opened for writing, and back */
static void case_exec_busy(void)
{
	static char buf[1 << 16];
	int in, out, p[2], status;
	ssize_t n;
	pid_t pid;

	in = open("/bin/cat", O_RDONLY);
	if (in < 0)
		SKIP("no /bin/cat to copy: %s", strerror(errno));
	out = OK(open(P("cat"), O_WRONLY | O_CREAT, 0755));
	while ((n = read(in, buf, sizeof(buf))) > 0)
		EQ(write(out, buf, n), n);
	close(in);
	/* open for writing: exec refuses */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "cat", "/dev/null", NULL };

		execv(P("cat"), argv);
		_exit(errno == ETXTBSY ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	close(out);
	/* running: opening for writing or truncating refuses */
	OK(pipe(p));
	pid = fork();
	if (pid == 0) {
		char *argv[] = { "cat", NULL };

		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execv(P("cat"), argv);
		_exit(127);
	}
	close(p[0]);
	/* wait until it runs: its exe link names our file */
	char exe[64], target[PATH_MAX];

	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	for (int i = 0; i < 200; i++) {
		n = readlink(exe, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = 0;
			if (strstr(target, "/cat") && !strstr(target, "/bin/"))
				break;
		}
		usleep(10000);
	}
	ERR(open(P("cat"), O_WRONLY), ETXTBSY);
	ERR(truncate(P("cat"), 0), ETXTBSY);
	close(p[1]);
	waitpid(pid, &status, 0);
	EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	/* done: writable again */
	out = OK(open(P("cat"), O_WRONLY));
	close(out);
}

/* cases: rename and links ---------------------------------------------- */

static void case_rename_file(void)
{
	struct stat a, b;
	int fd;

	OK(put(P("a"), "AAA", 0644));
	OK(put(P("b"), "BBBBB", 0644));
	a = st_of(P("a"));
	fd = OK(open(P("b"), O_RDONLY));
	OK(rename(P("a"), P("b")));
	ERR(access(P("a"), F_OK), ENOENT);
	EQS(get(P("b")), "AAA");
	EQ(st_of(P("b")).st_ino, a.st_ino);
	/* the replaced file lives on, unlinked, while open */
	b = fst_of(fd);
	EQ(b.st_nlink, 0);
	EQ(b.st_size, 5);
	close(fd);
	/* rename onto a hard link of itself: nothing happens */
	OK(link(P("b"), P("c")));
	OK(rename(P("b"), P("c")));
	EQ(st_of(P("b")).st_nlink, 2);
	EQ(st_of(P("c")).st_nlink, 2);
	/* to itself */
	OK(rename(P("c"), P("c")));
	/* rename into a subdirectory and back */
	OK(mkdir(P("d"), 0755));
	OK(rename(P("c"), P("d/c")));
	EQS(get(P("d/c")), "AAA");
	OK(rename(P("d/c"), P("c")));
	ERR(rename(P("missing"), P("x")), ENOENT);
	ERR(rename(P("c"), P("nodir/x")), ENOENT);
	/* a symlink is renamed, not its target */
	OK(symlink("c", P("l")));
	OK(rename(P("l"), P("l2")));
	TRUE(S_ISLNK(st_of(P("l2")).st_mode));
	EQS(get(P("l2")), "AAA");
}

static void case_rename_dir(void)
{
	struct stat st;

	OK(mkdir(P("a"), 0755));
	OK(put(P("a/f"), "in a", 0644));
	OK(mkdir(P("a/sub"), 0755));
	OK(mkdir(P("empty"), 0755));
	OK(mkdir(P("full"), 0755));
	OK(put(P("full/x"), "x", 0644));
	OK(put(P("file"), "f", 0644));
	st = st_of(P("a"));
	EQ(st_of(cdir).st_nlink, 2 + 3);
	/* over an empty directory: it is replaced */
	OK(rename(P("a"), P("empty")));
	EQ(st_of(P("empty")).st_ino, st.st_ino);
	EQS(get(P("empty/f")), "in a");
	EQ(st_of(cdir).st_nlink, 2 + 2);
	ERR(rename(P("empty"), P("full")), ENOTEMPTY);
	ERR(rename(P("empty"), P("file")), ENOTDIR);
	ERR(rename(P("file"), P("full")), EISDIR);
	ERR(rename(P("empty"), P("empty/sub/x")), EINVAL);
	ERR(rename(P("empty"), P("empty/x")), EINVAL);
	/* moving a directory changes both parents' link counts and ".." */
	OK(rename(P("empty/sub"), P("full/sub")));
	EQ(st_of(P("empty")).st_nlink, 2);
	EQ(st_of(P("full")).st_nlink, 3);
	EQ(st_of(P("full/sub/..")).st_ino, st_of(P("full")).st_ino);
	/* a file open inside a renamed directory stays the same file */
	int fd = OK(open(P("full/x"), O_RDWR));

	OK(rename(P("full"), P("full2")));
	EQ(pwrite(fd, "y", 1, 0), 1);
	EQS(get(P("full2/x")), "y");
	ERR(access(P("full/x"), F_OK), ENOENT);
	OK(rename(P("full2"), P("full")));
	close(fd);
	ERR(rmdir(P("full")), ENOTEMPTY);
	ERR(unlink(P("full")), EISDIR);
	ERR(rmdir(P("file")), ENOTDIR);
	ERR(rmdir(P("empty/.")), EINVAL);
}

static void case_rename_noreplace(void)
{
	OK(put(P("a"), "A", 0644));
	OK(put(P("b"), "B", 0644));
	ERR(renameat2(AT_FDCWD, P("a"), AT_FDCWD, P("b"), RENAME_NOREPLACE),
	    EEXIST);
	EQS(get(P("a")), "A");
	EQS(get(P("b")), "B");
	OK(renameat2(AT_FDCWD, P("a"), AT_FDCWD, P("c"), RENAME_NOREPLACE));
	EQS(get(P("c")), "A");
	ERR(access(P("a"), F_OK), ENOENT);
	OK(mkdir(P("d"), 0755));
	ERR(renameat2(AT_FDCWD, P("c"), AT_FDCWD, P("d"), RENAME_NOREPLACE),
	    EEXIST);
	ERR(renameat2(AT_FDCWD, P("c"), AT_FDCWD, P("b"),
		      RENAME_NOREPLACE | RENAME_EXCHANGE), EINVAL);
}

static void case_rename_exchange(void)
{
	struct stat a, d;

	OK(put(P("a"), "A", 0644));
	OK(mkdir(P("d"), 0755));
	OK(put(P("d/in"), "inside", 0644));
	OK(mkdir(P("e"), 0755));
	a = st_of(P("a"));
	d = st_of(P("d"));
	OK(renameat2(AT_FDCWD, P("a"), AT_FDCWD, P("d"), RENAME_EXCHANGE));
	EQ(st_of(P("a")).st_ino, d.st_ino);
	EQ(st_of(P("d")).st_ino, a.st_ino);
	EQS(get(P("d")), "A");
	EQS(get(P("a/in")), "inside");
	/* across directories, with the link counts following */
	OK(renameat2(AT_FDCWD, P("a"), AT_FDCWD, P("e/x"), 0));
	OK(put(P("f"), "F", 0644));
	OK(renameat2(AT_FDCWD, P("f"), AT_FDCWD, P("e/x"), RENAME_EXCHANGE));
	TRUE(S_ISDIR(st_of(P("f")).st_mode));
	EQS(get(P("e/x")), "F");
	EQS(get(P("f/in")), "inside");
	EQ(st_of(P("e")).st_nlink, 2);
	EQ(st_of(P("f/..")).st_ino, st_of(cdir).st_ino);
	ERR(renameat2(AT_FDCWD, P("f"), AT_FDCWD, P("missing"),
		      RENAME_EXCHANGE), ENOENT);
	/* both names exist afterwards, nothing lost */
	EQS(get(P("d")), "A");
}

/*
 * Across device directories only a single-link regular file moves in
 * place (by design; see doc).  On tmpfs DIR2 is another subdirectory.
 */
static void case_rename_crossdir(void)
{
	struct stat st;
	char *m;
	int fd;

	OK(put(P("f"), "travels", 0644));
	st = st_of(P("f"));
	fd = OK(open(P("f"), O_RDWR));
	m = mmap(NULL, pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	OK(rename(P("f"), P2("f")));
	ERR(access(P("f"), F_OK), ENOENT);
	EQS(get(P2("f")), "travels");
	EQ(st_of(P2("f")).st_ino, st.st_ino);
	/* open descriptors and mappings keep working on the same file */
	EQ(pwrite(fd, "T", 1, 0), 1);
	EQS(get(P2("f")), "Travels");
	if (m != MAP_FAILED) {
		m[1] = 'R';
		EQS(get(P2("f")), "TRavels");
		munmap(m, pagesz);
	} else {
		fail(__LINE__, "mmap: %s", strerror(errno));
	}
	close(fd);
	/* over an existing file there */
	OK(put(P("g"), "new", 0644));
	OK(put(P2("g"), "old", 0644));
	OK(rename(P("g"), P2("g")));
	EQS(get(P2("g")), "new");
	/* and back, with RENAME_NOREPLACE */
	OK(renameat2(AT_FDCWD, P2("f"), AT_FDCWD, P("f"), RENAME_NOREPLACE));
	EQS(get(P("f")), "TRavels");
	OK(put(P2("h"), "h", 0644));
	ERR(renameat2(AT_FDCWD, P("f"), AT_FDCWD, P2("h"), RENAME_NOREPLACE),
	    EEXIST);
	/* a symlink and an empty file move as well */
	OK(symlink("f", P("l")));
	OK(rename(P("l"), P2("l")));
	TRUE(S_ISLNK(st_of(P2("l")).st_mode));
	OK(put(P("e"), "", 0600));
	OK(rename(P("e"), P2("e")));
	EQ(mode_of(P2("e")), 0600);
}

static void case_link_count(void)
{
	struct stat st;

	OK(put(P("f"), "linked", 0644));
	st = st_of(P("f"));
	EQ(st.st_nlink, 1);
	OK(link(P("f"), P("g")));
	EQ(st_of(P("f")).st_nlink, 2);
	EQ(st_of(P("g")).st_ino, st.st_ino);
	OK(mkdir(P("d"), 0755));
	OK(link(P("f"), P("d/h")));
	EQ(st_of(P("g")).st_nlink, 3);
	OK(unlink(P("f")));
	EQ(st_of(P("g")).st_nlink, 2);
	EQS(get(P("d/h")), "linked");
	ERR(link(P("g"), P("d/h")), EEXIST);
	ERR(link(P("d"), P("d2")), EPERM);
	ERR(link(P("missing"), P("x")), ENOENT);
	/* directories: 2 + subdirectories */
	EQ(st_of(P("d")).st_nlink, 2);
	OK(mkdir(P("d/s1"), 0755));
	OK(mkdir(P("d/s2"), 0755));
	EQ(st_of(P("d")).st_nlink, 4);
	OK(rmdir(P("d/s1")));
	EQ(st_of(P("d")).st_nlink, 3);
	/* a symlink's link count is its own */
	OK(symlink("g", P("l")));
	EQ(st_of(P("l")).st_nlink, 1);
	OK(link(P("l"), P("l2")));	/* link() does not follow */
	TRUE(S_ISLNK(st_of(P("l2")).st_mode));
	EQ(st_of(P("l")).st_nlink, 2);
	/* two names open at once are one file, for I/O and for mappings */
	int fa = OK(open(P("g"), O_RDWR)), fb = OK(open(P("d/h"), O_RDWR));
	char two[8] = "";

	EQ(pwrite(fa, "A", 1, 0), 1);
	EQ(pread(fb, two, 1, 0), 1);
	EQ(two[0], 'A');
	char *ma = mmap(NULL, pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fa, 0);
	char *mb = mmap(NULL, pagesz, PROT_READ, MAP_SHARED, fb, 0);

	if (ma != MAP_FAILED && mb != MAP_FAILED) {
		ma[1] = 'B';
		EQ(mb[1], 'B');
	} else {
		fail(__LINE__, "mmap: %s", strerror(errno));
	}
	if (ma != MAP_FAILED)
		munmap(ma, pagesz);
	if (mb != MAP_FAILED)
		munmap(mb, pagesz);
	close(fa);
	close(fb);
	/* an unlinked open file cannot be linked back without O_TMPFILE */
	int fd = OK(open(P("g"), O_RDWR));
	char proc[64];

	OK(unlink(P("g")));
	OK(unlink(P("d/h")));
	EQ(fst_of(fd).st_nlink, 0);
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ERR(linkat(AT_FDCWD, proc, AT_FDCWD, P("back"), AT_SYMLINK_FOLLOW),
	    ENOENT);
	close(fd);
}

/*
 * An O_PATH fd (no OPEN reaches a FUSE daemon) of a file unlinked after:
 * fstat still answers, with no link left, as for any open file.
 */
static void case_unlink_opath(void)
{
	struct stat st;
	int fd;

	OK(put(P("p"), "data", 0644));
	fd = OK(open(P("p"), O_PATH));
	OK(unlink(P("p")));
	TRUE(!fstat(fd, &st));
	EQ(st.st_nlink, 0);
	EQ(st.st_size, 4);
	close(fd);
	/* a directory the same way (rmdir) */
	OK(mkdir(P("pd"), 0755));
	fd = OK(open(P("pd"), O_PATH | O_DIRECTORY));
	OK(rmdir(P("pd")));
	TRUE(!fstat(fd, &st));
	TRUE(S_ISDIR(st.st_mode));
	close(fd);
}

static void case_unlink_open_mapped(void)
{
	char buf[16] = "";
	struct stat st;
	int fd, fd2;
	char *m;

	OK(put(P("f"), "before", 0644));
	fd = OK(open(P("f"), O_RDWR));
	st = fst_of(fd);
	m = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	OK(unlink(P("f")));
	ERR(access(P("f"), F_OK), ENOENT);
	EQ(fst_of(fd).st_nlink, 0);
	/* I/O on the unlinked file: read, write, grow, map */
	EQ(pwrite(fd, "after!", 6, 0), 6);
	EQ(pread(fd, buf, 6, 0), 6);
	TRUE(!memcmp(buf, "after!", 6));
	OK(ftruncate(fd, 2 * pagesz));
	EQ(fst_of(fd).st_size, 2 * pagesz);
	if (m != MAP_FAILED) {
		TRUE(!memcmp(m, "after!", 6));
		m[pagesz + 1] = 'Q';
		EQ(pread(fd, buf, 1, pagesz + 1), 1);
		EQ(buf[0], 'Q');
		OK(fchmod(fd, 0600));
		EQ(fst_of(fd).st_mode & 07777, 0600);
	} else {
		fail(__LINE__, "mmap: %s", strerror(errno));
	}
	/* a new file under the name is another file */
	OK(put(P("f"), "new", 0644));
	TRUE(st_of(P("f")).st_ino != st.st_ino);
	EQS(get(P("f")), "new");
	/* a second, late mapping of the unlinked fd */
	char *m2 = mmap(NULL, pagesz, PROT_READ, MAP_SHARED, fd, pagesz);

	if (m2 != MAP_FAILED) {
		EQ(m2[1], 'Q');
		munmap(m2, pagesz);
	} else {
		fail(__LINE__, "late mmap: %s", strerror(errno));
	}
	close(fd);
	/* the mapping outlives the descriptor */
	if (m != MAP_FAILED) {
		EQ(probe(m + pagesz + 1), 'Q');
		munmap(m, 2 * pagesz);
	}
	/* unlink while another fd has it open for reading */
	fd2 = OK(open(P("f"), O_RDONLY));
	OK(unlink(P("f")));
	EQ(read(fd2, buf, 3), 3);
	TRUE(!memcmp(buf, "new", 3));
	close(fd2);
}

/* cases: ownership, modes, set-id bits -------------------------------- */

static void case_chmod_chown(void)
{
	struct stat st;
	int fd;

	OK(put(P("f"), "x", 0644));
	OK(chmod(P("f"), 0600));
	EQ(mode_of(P("f")), 0600);
	OK(chmod(P("f"), 07777));
	EQ(mode_of(P("f")), is_root ? 07777 : 07777);
	OK(chmod(P("f"), 0));
	EQ(mode_of(P("f")), 0);
	fd = OK(open(P("f"), O_RDONLY | (is_root ? 0 : O_PATH)));
	if (!is_root) {
		ERR(open(P("f"), O_RDONLY), EACCES);
	}
	close(fd);
	OK(chmod(P("f"), 0644));
	/* fchmod / fchown through a descriptor */
	fd = OK(open(P("f"), O_RDWR));
	OK(fchmod(fd, 0640));
	EQ(mode_of(P("f")), 0640);
	/* chown to oneself / own group: always allowed */
	OK(fchown(fd, geteuid(), getegid()));
	OK(chown(P("f"), -1, -1));
	close(fd);
	if (!is_root) {
		ERR(chown(P("f"), 0, -1), EPERM);
		ERR(chown(P("f"), -1, 0), EPERM);
		EQ(st_of(P("f")).st_uid, geteuid());
		/* a file of another owner: DIR's parent (the device's) */
		char up[1100];

		snprintf(up, sizeof(up), "%s/..", top1);
		if (st_of(up).st_uid != geteuid())
			ERR(chmod(up, 0777), EPERM);
		/* a non-member's setgid on chmod is dropped, not refused */
		OK(mkdir(P("d"), 0755));
		return;
	}
	OK(chown(P("f"), NOBODY, NOBODY));
	st = st_of(P("f"));
	EQ(st.st_uid, NOBODY);
	EQ(st.st_gid, NOBODY);
	OK(lchown(P("f"), 0, 0));
	OK(symlink("f", P("l")));
	OK(lchown(P("l"), NOBODY, NOBODY));
	EQ(st_of(P("l")).st_uid, NOBODY);
	EQ(st_of(P("f")).st_uid, 0);
	OK(chmod(cdir, 0777));
	/* another user cannot change a root file's mode, owner, group */
	AS_USER(NOBODY) {
		ERR(chmod(P("f"), 0777), EPERM);
		ERR(chown(P("f"), NOBODY, -1), EPERM);
		ERR(chown(P("f"), -1, NOBODY), EPERM);
		ERR(utimensat(AT_FDCWD, P("f"), NULL, 0), EACCES);
		OK(put(P("mine"), "m", 0644));
		/* the owner outside the group: setgid dropped on chmod */
		OK(chmod(P("mine"), 02755));
		OK(chown(P("mine"), -1, NOBODY));
	}
	EQ(st_of(P("mine")).st_uid, NOBODY);
	OK(chown(P("mine"), NOBODY, 0));	/* group root, owner nobody */
	AS_USER(NOBODY) {
		OK(chmod(P("mine"), 02755));
		EQ(mode_of(P("mine")), 0755);
	}
	EQ(mode_of(P("mine")), 0755);
}

static void case_create_modes(void)
{
	struct stat st;
	int fd;

	umask(0);
	fd = OK(open(P("f0"), O_WRONLY | O_CREAT, 0666));
	close(fd);
	OK(mkdir(P("d0"), 0777));
	OK(mkfifo(P("p0"), 0666));
	EQ(mode_of(P("f0")), 0666);
	EQ(mode_of(P("d0")), 0777);
	EQ(mode_of(P("p0")), 0666);
	umask(027);
	fd = OK(open(P("f1"), O_WRONLY | O_CREAT, 0666));
	close(fd);
	OK(mkdir(P("d1"), 0777));
	OK(mknod(P("p1"), S_IFIFO | 0666, 0));
	EQ(mode_of(P("f1")), 0640);
	EQ(mode_of(P("d1")), 0750);
	EQ(mode_of(P("p1")), 0640);
	/* set-id and sticky bits asked for at creation */
	umask(022);
	fd = OK(open(P("suid"), O_WRONLY | O_CREAT, 04755));
	EQ(fst_of(fd).st_mode & 07777, 04755);
	close(fd);
	EQ(mode_of(P("suid")), 04755);
	fd = OK(open(P("sgid"), O_WRONLY | O_CREAT | O_EXCL, 02755));
	close(fd);
	EQ(mode_of(P("sgid")), 02755);
	OK(mkdir(P("sticky"), 01777));
	EQ(mode_of(P("sticky")), 01755);
	OK(mknod(P("p2"), S_IFIFO | 04666, 0));
	EQ(mode_of(P("p2")), 04644);
	/* owner and group are the creator's */
	st = st_of(P("suid"));
	EQ(st.st_uid, geteuid());
	EQ(st.st_gid, getegid());
	TRUE(S_ISFIFO(st_of(P("p1")).st_mode));
	/* a socket node */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", P("sock"));
	if (strlen(P("sock")) < sizeof(sun.sun_path)) {
		OK(bind(s, (struct sockaddr *)&sun, sizeof(sun)));
		TRUE(S_ISSOCK(st_of(P("sock")).st_mode));
	}
	close(s);
	umask(022);
	if (is_root) {
		/* as another user, in a directory it may write */
		OK(chmod(cdir, 0777));
		AS_USER(NOBODY) {
			umask(0);
			int fd2 = OK(open(P("u"), O_WRONLY | O_CREAT, 06777));

			EQ(fst_of(fd2).st_uid, NOBODY);
			EQ(fst_of(fd2).st_gid, NOBODY);
			close(fd2);
			EQ(mode_of(P("u")), 06777);
			OK(mkdir(P("ud"), 0777));
			EQ(mode_of(P("ud")), 0777);
		}
		EQ(st_of(P("u")).st_uid, NOBODY);
		EQ(st_of(P("ud")).st_uid, NOBODY);
	}
}

static void case_sgid_dir(void)
{
	NEED_ROOT();
	OK(mkdir(P("g"), 0777));
	OK(chown(P("g"), 0, 4242));
	OK(chmod(P("g"), 02777));
	/* new entries take the directory's group; subdirectories its bit */
	int fd = OK(open(P("g/f"), O_WRONLY | O_CREAT, 0644));

	close(fd);
	EQ(st_of(P("g/f")).st_gid, 4242);
	OK(mkdir(P("g/sub"), 0755));
	EQ(st_of(P("g/sub")).st_gid, 4242);
	EQ(mode_of(P("g/sub")), 02755);
	AS_USER(NOBODY) {
		umask(0);
		int fd2 = OK(open(P("g/u"), O_WRONLY | O_CREAT, 02775));

		/* not a member of 4242: setgid with group-exec dropped */
		EQ(fst_of(fd2).st_gid, 4242);
		close(fd2);
		EQ(mode_of(P("g/u")), 0775);
		OK(mkdir(P("g/usub"), 0777));
		EQ(mode_of(P("g/usub")), 02777);
		EQ(st_of(P("g/usub")).st_gid, 4242);
	}
}

static void case_suid_write(void)
{
	NEED_ROOT();
	OK(chmod(cdir, 0777));
	/* root's 06777 file written by another user: both bits go */
	umask(0);
	OK(put(P("w"), "x", 06777));
	OK(put(P("a"), "x", 06777));
	OK(put(P("m"), "x", 06777));
	OK(put(P("nx"), "x", 06766));	/* setgid without group-exec */
	OK(put(P("own"), "", 0));
	OK(chown(P("own"), NOBODY, NOBODY));
	OK(chmod(P("own"), 06755));
	OK(put(P("keep"), "x", 06777));
	umask(022);
	EQ(mode_of(P("w")), 06777);
	AS_USER(NOBODY) {
		int fd = OK(open(P("w"), O_WRONLY));

		EQ(write(fd, "y", 1), 1);
		close(fd);
		fd = OK(open(P("a"), O_WRONLY | O_APPEND));
		EQ(write(fd, "y", 1), 1);
		close(fd);
		fd = OK(open(P("nx"), O_WRONLY));
		EQ(pwrite(fd, "y", 1, 0), 1);
		close(fd);
		/* the owner without CAP_FSETID loses them too */
		fd = OK(open(P("own"), O_WRONLY));
		EQ(write(fd, "y", 1), 1);
		close(fd);
	}
	EQ(mode_of(P("w")), 0777);
	EQ(mode_of(P("a")), 0777);
	/* Linux >= 6.x drops setgid without group-exec as well (tmpfs) */
	EQ(mode_of(P("nx")), 0766);
	EQ(mode_of(P("own")), 0755);
	/* root (CAP_FSETID) keeps them */
	int fd = OK(open(P("keep"), O_WRONLY));

	EQ(write(fd, "y", 1), 1);
	close(fd);
	EQ(mode_of(P("keep")), 06777);
	/* a write through a shared mapping by another user */
	AS_USER(NOBODY) {
		int fd2 = OK(open(P("m"), O_RDWR));
		char *m = mmap(NULL, pagesz, PROT_READ | PROT_WRITE,
			       MAP_SHARED, fd2, 0);

		if (m != MAP_FAILED) {
			m[0] = 'z';
			msync(m, pagesz, MS_SYNC);
			munmap(m, pagesz);
		}
		close(fd2);
	}
	/* tmpfs has no page_mkwrite: a write fault clears nothing */
	EQ(mode_of(P("m")), 06777);
}

static void case_suid_truncate(void)
{
	NEED_ROOT();
	OK(chmod(cdir, 0777));
	umask(0);
	OK(put(P("t"), "data", 06777));
	OK(put(P("ft"), "data", 06777));
	OK(put(P("ot"), "data", 06777));
	OK(put(P("nx"), "data", 06766));
	OK(put(P("root"), "data", 06777));
	umask(022);
	AS_USER(NOBODY) {
		OK(truncate(P("t"), 1));
		int fd = OK(open(P("ft"), O_WRONLY));

		OK(ftruncate(fd, 1));
		close(fd);
		fd = OK(open(P("ot"), O_WRONLY | O_TRUNC));
		close(fd);
		OK(truncate(P("nx"), 1));
	}
	EQ(mode_of(P("t")), 0777);
	EQ(mode_of(P("ft")), 0777);
	EQ(mode_of(P("ot")), 0777);
	EQ(mode_of(P("nx")), 0766);
	OK(truncate(P("root"), 1));
	EQ(mode_of(P("root")), 06777);
	EQ(st_of(P("ot")).st_size, 0);
}

static void case_suid_chown(void)
{
	NEED_ROOT();
	umask(0);
	OK(put(P("c"), "x", 06755));
	OK(put(P("cnx"), "x", 06745));
	OK(put(P("same"), "x", 06755));
	OK(mkdir(P("d"), 0755));
	OK(chmod(P("d"), 06755));
	umask(022);
	/* chown of a regular file clears set-uid, and set-gid with g+x */
	OK(chown(P("c"), NOBODY, NOBODY));
	EQ(mode_of(P("c")), 0755);
	OK(chown(P("cnx"), NOBODY, -1));
	EQ(mode_of(P("cnx")), 02745);
	/* ... even to the same owner, but not for directories */
	OK(chown(P("same"), 0, 0));
	EQ(mode_of(P("same")), 0755);
	OK(chown(P("d"), NOBODY, NOBODY));
	EQ(mode_of(P("d")), 06755);
	/* the owner changing the group to its own */
	OK(chmod(cdir, 0777));
	OK(chown(P("c"), NOBODY, 0));
	OK(chmod(P("c"), 06755));
	AS_USER(NOBODY) {
		OK(chown(P("c"), -1, NOBODY));
		EQ(mode_of(P("c")), 0755);
	}
}

static void case_sticky_dir(void)
{
	NEED_ROOT();
	OK(mkdir(P("s"), 01777));
	OK(chmod(P("s"), 01777));
	AS_USER(NOBODY) {
		OK(put(P("s/a"), "a", 0666));
		OK(put(P("s/b"), "b", 0666));
		OK(mkdir(P("s/dir"), 0777));
	}
	AS_USER(NOBODY2) {
		ERR(unlink(P("s/a")), EPERM);
		ERR(rename(P("s/a"), P("s/z")), EPERM);
		ERR(rmdir(P("s/dir")), EPERM);
		OK(put(P("s/mine"), "m", 0644));
		ERR(rename(P("s/mine"), P("s/b")), EPERM);
		/* may still write the world-writable file */
		int fd = OK(open(P("s/a"), O_WRONLY));

		close(fd);
		OK(unlink(P("s/mine")));
	}
	AS_USER(NOBODY) {
		OK(rename(P("s/a"), P("s/a2")));
		OK(unlink(P("s/a2")));
	}
	/* root and the directory's owner may */
	OK(unlink(P("s/b")));
	OK(rmdir(P("s/dir")));
	/* without the sticky bit, anyone with write access may */
	OK(chmod(P("s"), 0777));
	AS_USER(NOBODY) {
		OK(put(P("s/c"), "c", 0644));
	}
	AS_USER(NOBODY2) {
		OK(unlink(P("s/c")));
	}
}

/* cases: timestamps ---------------------------------------------------- */

#define WANT_TIMES(before, path, want) do {				\
	const char *_c = changed(before, st_of(path));			\
	if (strcmp(_c, want))						\
		fail(__LINE__, "%s: changed \"%s\", want \"%s\"",	\
		     #path, _c, want);					\
} while (0)

#define WANT_FTIMES(before, fd, want) do {				\
	const char *_c = changed(before, fst_of(fd));			\
	if (strcmp(_c, want))						\
		fail(__LINE__, "fd %s: changed \"%s\", want \"%s\"",	\
		     #fd, _c, want);					\
} while (0)

/* one timestamp check: prepare, backdate, op, compare */
static struct stat tstart(const char *path)
{
	backdate(path);
	tick();
	return st_of(path);
}

static void case_times_file(void)
{
	char buf[8];
	struct stat s;
	int fd;

	OK(put(P("f"), "0123456789", 0644));
	fd = OK(open(P("f"), O_RDWR));

	s = tstart(P("f"));
	EQ(pwrite(fd, "x", 1, 0), 1);
	WANT_TIMES(s, P("f"), "mc");
	s = tstart(P("f"));
	EQ(pread(fd, buf, 1, 0), 1);
	WANT_TIMES(s, P("f"), "a");
	s = tstart(P("f"));
	OK(ftruncate(fd, 5));
	WANT_TIMES(s, P("f"), "mc");
	s = tstart(P("f"));
	OK(truncate(P("f"), 20));
	WANT_TIMES(s, P("f"), "mc");
	/* truncate to the same size changes them as well */
	s = tstart(P("f"));
	OK(truncate(P("f"), 20));
	WANT_TIMES(s, P("f"), "mc");
	s = tstart(P("f"));
	int fd2 = OK(open(P("f"), O_WRONLY | O_TRUNC));

	close(fd2);
	WANT_TIMES(s, P("f"), "mc");
	OK(put(P("f"), "again", 0644));
	s = tstart(P("f"));
	OK(chmod(P("f"), 0600));
	WANT_TIMES(s, P("f"), "c");
	s = tstart(P("f"));
	OK(chown(P("f"), geteuid(), getegid()));
	WANT_TIMES(s, P("f"), "c");
	s = tstart(P("f"));
	OK(link(P("f"), P("g")));
	WANT_TIMES(s, P("f"), "c");
	s = tstart(P("f"));
	OK(unlink(P("g")));
	WANT_TIMES(s, P("f"), "c");
	s = tstart(P("f"));
	OK(rename(P("f"), P("h")));
	WANT_TIMES(s, P("h"), "c");
	OK(rename(P("h"), P("f")));
	s = tstart(P("f"));
	OK(setxattr(P("f"), "user.t", "v", 1, 0));
	WANT_TIMES(s, P("f"), "c");
	s = tstart(P("f"));
	OK(removexattr(P("f"), "user.t"));
	WANT_TIMES(s, P("f"), "c");
	/* utimensat sets atime/mtime and changes ctime */
	s = tstart(P("f"));
	OK(utimensat(AT_FDCWD, P("f"), NULL, 0));
	WANT_TIMES(s, P("f"), "amc");
	/* a punched hole changes the data */
	OK(put(P("f"), "again and again and again", 0644));
	s = tstart(P("f"));
	OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4));
	WANT_TIMES(s, P("f"), "mc");
	/* opening, stat, getxattr and a zero-length write change nothing */
	s = tstart(P("f"));
	fd2 = OK(open(P("f"), O_RDWR));
	EQ(write(fd2, "", 0), 0);
	close(fd2);
	getxattr(P("f"), "user.none", buf, sizeof(buf));
	WANT_TIMES(s, P("f"), "");
	/* fallocate growing the file */
	s = tstart(P("f"));
	OK(fallocate(fd, 0, 0, 8192));
	WANT_TIMES(s, P("f"), "mc");
	/* copy_file_range into it */
	OK(put(P("src"), "source", 0644));
	int sfd = OK(open(P("src"), O_RDONLY));

	s = tstart(P("f"));
	loff_t in = 0, out = 0;

	EQ(copy_file_range(sfd, &in, fd, &out, 6, 0), 6);
	WANT_TIMES(s, P("f"), "mc");
	close(sfd);
	close(fd);
}

static void case_times_mmap(void)
{
	struct stat s;
	char *m;
	int fd;

	OK(put(P("f"), "0123456789", 0644));
	fd = OK(open(P("f"), O_RDWR));
	OK(ftruncate(fd, 2 * pagesz));
	m = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fail(__LINE__, "mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	/*
	 * A write fault on an untouched page updates mtime and ctime, seen
	 * by stat at once (shmem has no page_mkwrite: do_shared_fault calls
	 * file_update_time; a page first mapped by a read stays writable).
	 */
	s = tstart(P("f"));
	m[0] = 'M';
	WANT_TIMES(s, P("f"), "mc");
	/* a read fault is no access in the atime sense (mmap() was) */
	s = tstart(P("f"));
	EQ(probe(m + pagesz + 1), 0);
	WANT_TIMES(s, P("f"), "");
	OK(msync(m, 2 * pagesz, MS_SYNC));
	EQS(get(P("f")), "M123456789");
	munmap(m, 2 * pagesz);
	close(fd);
}

/*
 * The same after the fd is closed: the mapping outlives it, and its write
 * faults still update mtime and ctime (the VMA holds the file).  No
 * request tells a FUSE daemon of such writes, nor of the munmap.
 */
static void case_times_mmap_closed(void)
{
	struct stat s;
	char *m;
	int fd;

	OK(put(P("f"), "0123456789", 0644));
	fd = OK(open(P("f"), O_RDWR));
	OK(ftruncate(fd, 2 * pagesz));
	m = mmap(NULL, 2 * pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		fail(__LINE__, "mmap: %s", strerror(errno));
		return;
	}
	s = tstart(P("f"));
	m[0] = 'M';
	WANT_TIMES(s, P("f"), "mc");
	/* again, now that stat has seen (and may cache) the file closed */
	s = tstart(P("f"));
	m[pagesz] = 'N';
	WANT_TIMES(s, P("f"), "mc");
	OK(msync(m, 2 * pagesz, MS_SYNC));
	munmap(m, 2 * pagesz);
	EQS(get(P("f")), "M123456789");
}

static void case_times_dir(void)
{
	struct stat s;
	int fd;

	OK(mkdir(P("d"), 0755));
	OK(mkdir(P("e"), 0755));
	s = tstart(P("d"));
	fd = OK(open(P("d/f"), O_WRONLY | O_CREAT, 0644));
	close(fd);
	WANT_TIMES(s, P("d"), "mc");
	s = tstart(P("d"));
	OK(mkdir(P("d/sub"), 0755));
	WANT_TIMES(s, P("d"), "mc");
	s = tstart(P("d"));
	OK(rmdir(P("d/sub")));
	WANT_TIMES(s, P("d"), "mc");
	s = tstart(P("d"));
	OK(symlink("f", P("d/l")));
	WANT_TIMES(s, P("d"), "mc");
	s = tstart(P("d"));
	OK(link(P("d/f"), P("d/f2")));
	WANT_TIMES(s, P("d"), "mc");
	s = tstart(P("d"));
	OK(unlink(P("d/f2")));
	WANT_TIMES(s, P("d"), "mc");
	s = tstart(P("d"));
	OK(mknod(P("d/p"), S_IFIFO | 0644, 0));
	WANT_TIMES(s, P("d"), "mc");
	s = tstart(P("d"));
	OK(rename(P("d/p"), P("d/p2")));
	WANT_TIMES(s, P("d"), "mc");
	/* a move touches both directories */
	struct stat se;

	s = tstart(P("d"));
	se = tstart(P("e"));
	OK(rename(P("d/p2"), P("e/p")));
	WANT_TIMES(s, P("d"), "mc");
	WANT_TIMES(se, P("e"), "mc");
	/* a moved directory's own ctime changes (its ".." did) */
	OK(mkdir(P("d/moving"), 0755));
	s = tstart(P("d/moving"));
	OK(rename(P("d/moving"), P("e/moving")));
	WANT_TIMES(s, P("e/moving"), "c");
	/* listing updates atime only */
	s = tstart(P("d"));
	DIR *dp = opendir(P("d"));

	while (dp && readdir(dp))
		;
	if (dp)
		closedir(dp);
	WANT_TIMES(s, P("d"), "a");
	/* writing a file inside changes nothing on the directory */
	s = tstart(P("d"));
	fd = OK(open(P("d/f"), O_WRONLY));
	EQ(write(fd, "x", 1), 1);
	close(fd);
	WANT_TIMES(s, P("d"), "");
}

static void case_utimens(void)
{
	struct timespec t[2] = { { 1234567890, 123456789 },
				 { 1300000000, 987654321 } };
	struct stat st;

	OK(put(P("f"), "x", 0644));
	OK(utimensat(AT_FDCWD, P("f"), t, 0));
	st = st_of(P("f"));
	EQ(st.st_atim.tv_sec, 1234567890);
	EQ(st.st_atim.tv_nsec, 123456789);
	EQ(st.st_mtim.tv_sec, 1300000000);
	EQ(st.st_mtim.tv_nsec, 987654321);
	/* UTIME_OMIT keeps one, UTIME_NOW sets the other to now */
	struct timespec t2[2] = { { 0, UTIME_OMIT }, { 0, UTIME_NOW } };

	OK(utimensat(AT_FDCWD, P("f"), t2, 0));
	st = st_of(P("f"));
	EQ(st.st_atim.tv_sec, 1234567890);
	TRUE(st.st_mtim.tv_sec > 1600000000);
	/* on a symlink itself */
	OK(symlink("f", P("l")));
	OK(utimensat(AT_FDCWD, P("l"), t, AT_SYMLINK_NOFOLLOW));
	EQ(st_of(P("l")).st_mtim.tv_sec, 1300000000);
	EQ(st_of(P("f")).st_atim.tv_sec, 1234567890);
	/* through a descriptor */
	int fd = OK(open(P("f"), O_RDONLY));

	OK(futimens(fd, t));
	EQ(st_of(P("f")).st_mtim.tv_nsec, 987654321);
	close(fd);
	if (!is_root)
		return;
	/* another user with write access may set "now", nothing else */
	OK(chmod(cdir, 0777));
	OK(chmod(P("f"), 0666));
	AS_USER(NOBODY) {
		OK(utimensat(AT_FDCWD, P("f"), NULL, 0));
		ERR(utimensat(AT_FDCWD, P("f"), t, 0), EPERM);
	}
	OK(chmod(P("f"), 0644));
	AS_USER(NOBODY) {
		ERR(utimensat(AT_FDCWD, P("f"), NULL, 0), EACCES);
	}
}

/* cases: extended attributes and ACLs --------------------------------- */

static void case_xattr_user(void)
{
	char buf[8192], big[4000];
	ssize_t n;

	OK(put(P("f"), "x", 0644));
	OK(setxattr(P("f"), "user.a", "value", 5, 0));
	EQ(getxattr(P("f"), "user.a", buf, sizeof(buf)), 5);
	TRUE(!memcmp(buf, "value", 5));
	EQ(getxattr(P("f"), "user.a", NULL, 0), 5);
	ERR(getxattr(P("f"), "user.a", buf, 2), ERANGE);
	ERR(setxattr(P("f"), "user.a", "v", 1, XATTR_CREATE), EEXIST);
	ERR(setxattr(P("f"), "user.b", "v", 1, XATTR_REPLACE), ENODATA);
	OK(setxattr(P("f"), "user.a", "v2", 2, XATTR_REPLACE));
	EQ(getxattr(P("f"), "user.a", buf, sizeof(buf)), 2);
	/* empty and large values */
	OK(setxattr(P("f"), "user.empty", "", 0, 0));
	EQ(getxattr(P("f"), "user.empty", buf, sizeof(buf)), 0);
	memset(big, 'b', sizeof(big));
	OK(setxattr(P("f"), "user.big", big, sizeof(big), 0));
	EQ(getxattr(P("f"), "user.big", buf, sizeof(buf)), sizeof(big));
	TRUE(!memcmp(buf, big, sizeof(big)));
	/* the largest value the VFS passes (XATTR_SIZE_MAX) */
	static char huge[65537];

	memset(huge, 'h', sizeof(huge));
	if (setxattr(P("f"), "user.huge", huge, 65536, 0) == 0) {
		static char back[65536];

		EQ(getxattr(P("f"), "user.huge", back, sizeof(back)), 65536);
		TRUE(!memcmp(back, huge, 65536));
		OK(removexattr(P("f"), "user.huge"));
	} else {
		EQ(errno, ENOSPC);	/* tmpfs counts xattr space */
	}
	ERR(setxattr(P("f"), "user.huge", huge, 65537, 0), E2BIG);
	/* listing holds exactly the names set */
	n = OK(listxattr(P("f"), buf, sizeof(buf)));
	int found = 0;

	for (char *p = buf; p < buf + n; p += strlen(p) + 1)
		if (!strcmp(p, "user.a") || !strcmp(p, "user.empty") ||
		    !strcmp(p, "user.big"))
			found++;
	EQ(found, 3);
	EQ(listxattr(P("f"), NULL, 0), n);
	ERR(listxattr(P("f"), buf, 1), ERANGE);
	OK(removexattr(P("f"), "user.a"));
	ERR(getxattr(P("f"), "user.a", buf, sizeof(buf)), ENODATA);
	ERR(removexattr(P("f"), "user.a"), ENODATA);
	/* on a directory; never on a symlink or a fifo */
	OK(mkdir(P("d"), 0755));
	OK(setxattr(P("d"), "user.d", "dir", 3, 0));
	EQ(getxattr(P("d"), "user.d", buf, sizeof(buf)), 3);
	OK(symlink("f", P("l")));
	ERR(lsetxattr(P("l"), "user.l", "v", 1, 0), EPERM);
	OK(mkfifo(P("p"), 0644));
	ERR(setxattr(P("p"), "user.p", "v", 1, 0), EPERM);
	/* through descriptors, and a name too long */
	int fd = OK(open(P("f"), O_RDONLY));

	OK(fsetxattr(fd, "user.fd", "1", 1, 0));
	EQ(fgetxattr(fd, "user.fd", buf, sizeof(buf)), 1);
	close(fd);
	char name[300] = "user.";

	memset(name + 5, 'n', 256);
	ERR(setxattr(P("f"), name, "v", 1, 0), ERANGE);
	ERR(setxattr(P("f"), "unknown.x", "v", 1, 0), EOPNOTSUPP);
	if (is_root) {
		/* needs write access to the file */
		OK(chmod(cdir, 0777));
		AS_USER(NOBODY) {
			ERR(setxattr(P("f"), "user.x", "v", 1, 0), EACCES);
			EQ(getxattr(P("f"), "user.big", buf, sizeof(buf)),
			   sizeof(big));
		}
	}
}

static bool has_name(const char *path, const char *name)
{
	char buf[8192];
	ssize_t n = listxattr(path, buf, sizeof(buf));

	for (char *p = buf; n > 0 && p < buf + n; p += strlen(p) + 1)
		if (!strcmp(p, name))
			return true;
	return false;
}

static void case_xattr_trusted_security(void)
{
	char buf[64];

	OK(put(P("f"), "x", 0666));
	if (!is_root) {
		ERR(setxattr(P("f"), "trusted.t", "v", 1, 0), EPERM);
		ERR(setxattr(P("f"), "security.s", "v", 1, 0), EPERM);
		return;
	}
	OK(setxattr(P("f"), "trusted.t", "tv", 2, 0));
	EQ(getxattr(P("f"), "trusted.t", buf, sizeof(buf)), 2);
	TRUE(has_name(P("f"), "trusted.t"));
	OK(setxattr(P("f"), "security.s", "sv", 2, 0));
	EQ(getxattr(P("f"), "security.s", buf, sizeof(buf)), 2);
	TRUE(has_name(P("f"), "security.s"));
	/* another user sees neither trusted.* nor may set either */
	OK(chmod(cdir, 0777));
	AS_USER(NOBODY) {
		ERR(getxattr(P("f"), "trusted.t", buf, sizeof(buf)), ENODATA);
		TRUE(!has_name(P("f"), "trusted.t"));
		TRUE(has_name(P("f"), "security.s"));
		EQ(getxattr(P("f"), "security.s", buf, sizeof(buf)), 2);
		ERR(setxattr(P("f"), "trusted.u", "v", 1, 0), EPERM);
		ERR(setxattr(P("f"), "security.u", "v", 1, 0), EPERM);
		ERR(removexattr(P("f"), "security.s"), EPERM);
	}
	/* security.capability is dropped by a write of another user */
	static const uint32_t cap[5] = { 0x02000000, 1 << 12, 0, 0, 0 };

	if (setxattr(P("f"), "security.capability", cap, 20, 0) == 0) {
		AS_USER(NOBODY) {
			int fd = OK(open(P("f"), O_WRONLY));

			EQ(write(fd, "y", 1), 1);
			close(fd);
		}
		ERR(getxattr(P("f"), "security.capability", buf,
			     sizeof(buf)), ENODATA);
		/* ... and by root's own write, truncate or chown (killpriv
		 * needs no missing CAP_FSETID) */
		OK(setxattr(P("f"), "security.capability", cap, 20, 0));
		int fd = OK(open(P("f"), O_WRONLY));

		EQ(write(fd, "z", 1), 1);
		close(fd);
		ERR(getxattr(P("f"), "security.capability", buf,
			     sizeof(buf)), ENODATA);
		OK(setxattr(P("f"), "security.capability", cap, 20, 0));
		OK(truncate(P("f"), 0));
		ERR(getxattr(P("f"), "security.capability", buf,
			     sizeof(buf)), ENODATA);
		OK(setxattr(P("f"), "security.capability", cap, 20, 0));
		OK(chown(P("f"), NOBODY, -1));
		ERR(getxattr(P("f"), "security.capability", buf,
			     sizeof(buf)), ENODATA);
	} else {
		fail(__LINE__, "setxattr(security.capability): %s",
		     strerror(errno));
	}
}

/* system.posix_acl_* values: header then sorted entries */
struct acl_ent { uint16_t tag, perm; uint32_t id; };
#define A_USER_OBJ 0x01
#define A_USER 0x02
#define A_GROUP_OBJ 0x04
#define A_MASK 0x10
#define A_OTHER 0x20
#define A_ANY 0xffffffffu

static int set_acl(const char *path, const char *name,
		   const struct acl_ent *e, int n)
{
	char buf[4 + 8 * 16];
	uint32_t ver = 2;

	memcpy(buf, &ver, 4);
	memcpy(buf + 4, e, 8 * n);
	return setxattr(path, name, buf, 4 + 8 * n, 0);
}

static void case_acl_access(void)
{
	static const struct acl_ent acl[] = {
		{ A_USER_OBJ, 6, A_ANY }, { A_USER, 4, NOBODY },
		{ A_GROUP_OBJ, 0, A_ANY }, { A_MASK, 4, A_ANY },
		{ A_OTHER, 0, A_ANY },
	};
	char buf[256];

	NEED_ROOT();
	OK(chmod(cdir, 0755));
	OK(put(P("f"), "secret", 0600));
	AS_USER(NOBODY) {
		ERR(open(P("f"), O_RDONLY), EACCES);
	}
	if (set_acl(P("f"), "system.posix_acl_access", acl, 5)) {
		if (errno == EOPNOTSUPP)
			SKIP("no POSIX ACLs here");
		fail(__LINE__, "set access ACL: %s", strerror(errno));
		return;
	}
	/* the group bits show the mask */
	EQ(mode_of(P("f")), 0640);
	EQ(getxattr(P("f"), "system.posix_acl_access", buf, sizeof(buf)),
	   4 + 5 * 8);
	AS_USER(NOBODY) {
		EQS(get(P("f")), "secret");
		ERR(open(P("f"), O_WRONLY), EACCES);
	}
	AS_USER(NOBODY2) {
		ERR(open(P("f"), O_RDONLY), EACCES);
	}
	/* chmod rewrites the mask: the named entry loses its read */
	OK(chmod(P("f"), 0600));
	AS_USER(NOBODY) {
		ERR(open(P("f"), O_RDONLY), EACCES);
	}
	OK(removexattr(P("f"), "system.posix_acl_access"));
	ERR(getxattr(P("f"), "system.posix_acl_access", buf, sizeof(buf)),
	    ENODATA);
	/* setting the ACL as its owner, outside the group: setgid goes */
	OK(chown(P("f"), NOBODY, 0));
	OK(chmod(P("f"), 02770));
	OK(chmod(cdir, 0777));
	AS_USER(NOBODY) {
		static const struct acl_ent min[] = {
			{ A_USER_OBJ, 7, A_ANY }, { A_GROUP_OBJ, 7, A_ANY },
			{ A_OTHER, 0, A_ANY },
		};

		OK(set_acl(P("f"), "system.posix_acl_access", min, 3));
		EQ(mode_of(P("f")), 0770);
	}
	EQ(mode_of(P("f")), 0770);
}

static void case_acl_default(void)
{
	static const struct acl_ent def[] = {
		{ A_USER_OBJ, 7, A_ANY }, { A_USER, 7, NOBODY2 },
		{ A_GROUP_OBJ, 5, A_ANY }, { A_MASK, 7, A_ANY },
		{ A_OTHER, 5, A_ANY },
	};
	char buf[256];
	int fd;

	OK(mkdir(P("d"), 0755));
	if (set_acl(P("d"), "system.posix_acl_default", def, 5)) {
		if (errno == EOPNOTSUPP)
			SKIP("no POSIX ACLs here");
		fail(__LINE__, "set default ACL: %s", strerror(errno));
		return;
	}
	EQ(getxattr(P("d"), "system.posix_acl_default", buf, sizeof(buf)),
	   4 + 5 * 8);
	/* the default ACL, not the umask, masks new modes */
	umask(077);
	fd = OK(open(P("d/f"), O_WRONLY | O_CREAT, 0666));
	EQ(fst_of(fd).st_mode & 07777, 0664);
	close(fd);
	OK(mkdir(P("d/sub"), 0777));
	OK(mknod(P("d/p"), S_IFIFO | 0666, 0));
	umask(022);
	EQ(mode_of(P("d/f")), 0664);
	EQ(mode_of(P("d/sub")), 0775);
	EQ(mode_of(P("d/p")), 0664);
	/* files get an access ACL; subdirectories inherit the default */
	EQ(getxattr(P("d/f"), "system.posix_acl_access", buf, sizeof(buf)),
	   4 + 5 * 8);
	ERR(getxattr(P("d/f"), "system.posix_acl_default", buf, sizeof(buf)),
	    ENODATA);
	EQ(getxattr(P("d/sub"), "system.posix_acl_default", buf,
		    sizeof(buf)), 4 + 5 * 8);
	/* no default ACL: the umask applies again */
	umask(077);
	fd = OK(open(P("plain"), O_WRONLY | O_CREAT, 0666));
	close(fd);
	umask(022);
	EQ(mode_of(P("plain")), 0600);
	/* the named user is granted access through the inherited ACL */
	if (is_root) {
		OK(chmod(cdir, 0755));
		OK(put(P("d/f"), "acl", 0));
		OK(chmod(P("d/f"), 0660));
		AS_USER(NOBODY2) {
			EQS(get(P("d/f")), "acl");
		}
		AS_USER(NOBODY) {
			ERR(open(P("d/f"), O_RDONLY), EACCES);
		}
	}
}

/* cases: space --------------------------------------------------------- */

static void case_fallocate(void)
{
	char buf[3 * 65536];
	struct stat st;
	int fd, r;

	fd = OK(open(P("f"), O_RDWR | O_CREAT, 0644));
	OK(fallocate(fd, 0, 0, 65536));
	st = fst_of(fd);
	EQ(st.st_size, 65536);
	TRUE(st.st_blocks * 512 >= 65536);
	/* keep size: blocks grow, size does not */
	OK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 65536, 65536));
	st = fst_of(fd);
	EQ(st.st_size, 65536);
	TRUE(st.st_blocks * 512 >= 2 * 65536);
	/* data, then punch a hole in the middle: zeroes, blocks freed */
	memset(buf, 'd', sizeof(buf));
	EQ(pwrite(fd, buf, sizeof(buf), 0), sizeof(buf));
	long long before = fst_of(fd).st_blocks;

	OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 65536,
		     65536));
	st = fst_of(fd);
	EQ(st.st_size, sizeof(buf));
	EQ(st.st_blocks, before - 65536 / 512);
	EQ(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	TRUE(buf[0] == 'd' && buf[65535] == 'd' && buf[65536] == 0 &&
	     buf[2 * 65536 - 1] == 0 && buf[2 * 65536] == 'd');
	ERR(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096), EOPNOTSUPP);
	/* zero range and collapse: what tmpfs does not support, neither */
	r = fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4096);
	if (r == 0) {
		EQ(pread(fd, buf, 1, 0), 1);
		EQ(buf[0], 0);
	} else {
		EQ(errno, EOPNOTSUPP);
	}
	r = fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 65536);
	if (r)
		EQ(errno, EOPNOTSUPP);
	ERR(fallocate(fd, 0, -1, 10), EINVAL);
	ERR(fallocate(fd, 0, 0, 0), EINVAL);
	/* posix_fallocate grows */
	EQ(posix_fallocate(fd, 0, 4 * 65536), 0);
	EQ(fst_of(fd).st_size, 4 * 65536);
	close(fd);
	fd = OK(open(P("f"), O_RDONLY));
	ERR(fallocate(fd, 0, 0, 4096), EBADF);
	close(fd);
}

static void case_seek_data_hole(void)
{
	const off_t mib = 1 << 20;
	int fd;

	fd = OK(open(P("f"), O_RDWR | O_CREAT, 0644));
	EQ(pwrite(fd, "data", 4, 0), 4);
	EQ(pwrite(fd, "more", 4, mib), 4);
	OK(ftruncate(fd, 2 * mib));
	EQ(lseek(fd, 0, SEEK_DATA), 0);
	EQ(lseek(fd, 0, SEEK_HOLE), pagesz);
	EQ(lseek(fd, 1, SEEK_HOLE), pagesz);
	EQ(lseek(fd, pagesz, SEEK_DATA), mib);
	EQ(lseek(fd, mib + 1, SEEK_DATA), mib + 1);
	EQ(lseek(fd, mib, SEEK_HOLE), mib + pagesz);
	/* no data after the last page: ENXIO; the end is a hole */
	ERR(lseek(fd, mib + pagesz, SEEK_DATA), ENXIO);
	EQ(lseek(fd, mib + pagesz, SEEK_HOLE), mib + pagesz);
	EQ(lseek(fd, 2 * mib - 1, SEEK_HOLE), 2 * mib - 1);
	ERR(lseek(fd, 2 * mib, SEEK_DATA), ENXIO);
	ERR(lseek(fd, 2 * mib, SEEK_HOLE), ENXIO);
	ERR(lseek(fd, -1, SEEK_DATA), ENXIO);
	/* the file position moved to the answer */
	EQ(lseek(fd, pagesz, SEEK_DATA), mib);
	EQ(lseek(fd, 0, SEEK_CUR), mib);
	/* a punched hole */
	OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		     pagesz));
	EQ(lseek(fd, 0, SEEK_DATA), mib);
	/* an empty file */
	int e = OK(open(P("e"), O_RDWR | O_CREAT, 0644));

	ERR(lseek(e, 0, SEEK_DATA), ENXIO);
	ERR(lseek(e, 0, SEEK_HOLE), ENXIO);
	close(e);
	close(fd);
}

/* a page written through a mapping is data at once */
static void case_seek_data_mmap(void)
{
	const off_t mib = 1 << 20;
	int fd;
	char *m;

	fd = OK(open(P("f"), O_RDWR | O_CREAT, 0644));
	OK(ftruncate(fd, 2 * mib));
	m = mmap(NULL, 2 * mib, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fail(__LINE__, "mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	ERR(lseek(fd, 0, SEEK_DATA), ENXIO);
	m[3 * pagesz] = 'x';
	EQ(lseek(fd, 0, SEEK_DATA), 3 * pagesz);
	EQ(lseek(fd, 3 * pagesz, SEEK_HOLE), 4 * pagesz);
	munmap(m, 2 * mib);
	close(fd);
}

static void case_copy_file_range(void)
{
	char buf[256];
	loff_t in, out;
	int s, d;

	OK(put(P("s"), "0123456789abcdef", 0644));
	s = OK(open(P("s"), O_RDONLY));
	d = OK(open(P("d"), O_RDWR | O_CREAT, 0644));
	in = 4;
	out = 2;
	EQ(copy_file_range(s, &in, d, &out, 6, 0), 6);
	EQ(in, 10);
	EQ(out, 8);
	EQ(fst_of(d).st_size, 8);
	EQ(pread(d, buf, 8, 0), 8);
	TRUE(!memcmp(buf, "\0\0" "456789", 8));
	/* the file offsets: NULL pointers use and advance them */
	OK(lseek(s, 10, SEEK_SET));
	OK(lseek(d, 0, SEEK_SET));
	EQ(copy_file_range(s, NULL, d, NULL, 100, 0), 6);
	EQ(lseek(s, 0, SEEK_CUR), 16);
	EQ(lseek(d, 0, SEEK_CUR), 6);
	EQS(get(P("d")), "abcdef89");
	/* at or past EOF: 0 */
	in = 16;
	EQ(copy_file_range(s, &in, d, NULL, 10, 0), 0);
	/* within one file, overlapping: EINVAL; not overlapping: fine */
	in = 0;
	out = 2;
	ERR(copy_file_range(d, &in, d, &out, 4, 0), EINVAL);
	in = 0;
	out = 8;
	EQ(copy_file_range(d, &in, d, &out, 4, 0), 4);
	EQS(get(P("d")), "abcdef89abcd");
	/* flags must be 0; the destination not O_APPEND, not read-only */
	in = 0;
	ERR(copy_file_range(s, &in, d, NULL, 1, 1), EINVAL);
	int a = OK(open(P("d"), O_WRONLY | O_APPEND));

	in = 0;
	ERR(copy_file_range(s, &in, a, NULL, 1, 0), EBADF);
	close(a);
	in = 0;
	out = 0;
	ERR(copy_file_range(d, &in, s, &out, 1, 0), EBADF);
	/* a large copy with a hole in the source */
	int big = OK(open(P("big"), O_RDWR | O_CREAT, 0644));
	static char blk[65536];

	memset(blk, 'z', sizeof(blk));
	EQ(pwrite(big, blk, sizeof(blk), 1 << 20), sizeof(blk));
	int c = OK(open(P("copy"), O_RDWR | O_CREAT, 0644));
	loff_t left = (1 << 20) + sizeof(blk);

	in = out = 0;
	while (left > 0) {
		ssize_t n = copy_file_range(big, &in, c, &out, left, 0);

		if (n <= 0) {
			fail(__LINE__, "copy_file_range: %zd %s", n,
			     strerror(errno));
			break;
		}
		left -= n;
	}
	EQ(fst_of(c).st_size, (1 << 20) + sizeof(blk));
	EQ(pread(c, buf, 2, (1 << 20) - 1), 2);
	TRUE(buf[0] == 0 && buf[1] == 'z');
	close(c);
	close(big);
	close(s);
	close(d);
	/* across the two directories (devices) */
	s = OK(open(P("s"), O_RDONLY));
	d = OK(open(P2("x"), O_RDWR | O_CREAT, 0644));
	EQ(copy_file_range(s, NULL, d, NULL, 16, 0), 16);
	EQS(get(P2("x")), "0123456789abcdef");
	close(s);
	close(d);
}

static void case_statfs(void)
{
	struct statfs a, b, c;
	static char blk[1 << 20];
	int fd;

	OK(statfs(cdir, &a));
	EQ(a.f_namelen, 255);
	TRUE(a.f_bsize > 0);
	TRUE(a.f_frsize > 0);
	TRUE(a.f_blocks >= a.f_bfree);
	TRUE(a.f_bfree >= a.f_bavail);
	fd = OK(open(P("f"), O_RDWR | O_CREAT, 0644));
	OK(fstatfs(fd, &c));
	EQ(c.f_blocks, a.f_blocks);
	/* writing 8 MiB shows as that much less free */
	memset(blk, 'x', sizeof(blk));
	for (int i = 0; i < 8; i++)
		EQ(write(fd, blk, sizeof(blk)), sizeof(blk));
	OK(statfs(cdir, &b));
	long long used = ((long long)a.f_bfree - (long long)b.f_bfree) *
			 (long long)b.f_frsize;

	TRUE(used >= 7 << 20 && used <= 9 << 20);
	if (used < 7 << 20 || used > 9 << 20)
		printf("#   8 MiB written, statfs says %lld bytes used\n",
		       used);
	OK(ftruncate(fd, 0));
	OK(statfs(cdir, &b));
	used = ((long long)a.f_bfree - (long long)b.f_bfree) *
	       (long long)b.f_frsize;
	TRUE(used < 1 << 20);
	close(fd);
	ERR(statfs(P("missing"), &b), ENOENT);
}

/*
 * A full device behaves as a full tmpfs: write() gets ENOSPC near the
 * free space statfs promised, a fault on a new page gets SIGBUS, and
 * statfs tells the truth about data written through write() and mmap.
 * The drivers give the reference tmpfs the device's size (256 MiB).
 */
static void case_full_device(void)
{
	static char blk[1 << 20];
	long long freeb, wrote = 0, used;
	struct statfs a, b;
	int fd, fm, fg;
	char *m;

	OK(statfs(cdir, &a));
	freeb = (long long)a.f_bavail * a.f_bsize;
	if (freeb > 1LL << 30)
		SKIP("%lld MiB free: the drivers run this on 256 MiB only",
		     freeb >> 20);
	/* statfs sees data written through a mapping */
	fm = OK(open(P("m"), O_RDWR | O_CREAT, 0644));
	OK(ftruncate(fm, 8 << 20));
	m = mmap(NULL, 8 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fm, 0);
	if (m == MAP_FAILED) {
		fail(__LINE__, "mmap: %s", strerror(errno));
		close(fm);
		return;
	}
	memset(m, 'm', 8 << 20);
	/* written back: the daemon data path hears of pages only then */
	OK(msync(m, 8 << 20, MS_SYNC));
	OK(statfs(cdir, &b));
	used = ((long long)a.f_bfree - (long long)b.f_bfree) * b.f_bsize;
	if (used < 7 << 20 || used > 9 << 20)
		fail(__LINE__, "8 MiB written through mmap, statfs says %lld bytes used",
		     used);
	munmap(m, 8 << 20);
	close(fm);
	OK(unlink(P("m")));

	/*
	 * made before the fill: cdmfs takes no new file on a full device
	 * (an empty one would be all it could hold)
	 */
	fg = OK(open(P("g"), O_RDWR | O_CREAT, 0644));
	/* fill it with write(): ENOSPC, not more than was free */
	memset(blk, 'f', sizeof(blk));
	fd = OK(open(P("f"), O_WRONLY | O_CREAT, 0644));
	for (;;) {
		ssize_t n = write(fd, blk, sizeof(blk));

		if (n < 0) {
			EQ(errno, ENOSPC);
			break;
		}
		wrote += n;
		if (wrote > freeb + (32 << 20)) {
			fail(__LINE__, "wrote %lld MiB with %lld MiB free and no ENOSPC",
			     wrote >> 20, freeb >> 20);
			break;
		}
	}
	TRUE(wrote >= freeb - (16 << 20));
	OK(statfs(cdir, &b));
	TRUE((long long)b.f_bavail * b.f_bsize < 1 << 20);
	/*
	 * a fault that needs a new page: SIGBUS.  Not through the daemon:
	 * FUSE maps its own page cache there, and the full device shows at
	 * writeback (an error syncfs would report later, to other cases)
	 */
	fm = fg;
	OK(ftruncate(fm, 4 << 20));
	m = strcmp(datapath, "daemon") ? mmap(NULL, 4 << 20,
					      PROT_READ | PROT_WRITE,
					      MAP_SHARED, fm, 0) : NULL;
	if (!m) {
		printf("#   daemon data path: no SIGBUS to expect from FUSE's page cache\n");
	} else if (m != MAP_FAILED) {
		int bus = 0;

		for (long off = 0; off < 4 << 20; off += pagesz)
			if (poke(m + off, 'g')) {
				bus = 1;
				break;
			}
		TRUE(bus);
		munmap(m, 4 << 20);
	} else {
		fail(__LINE__, "mmap: %s", strerror(errno));
	}
	close(fm);
	/* freeing gives the space back */
	OK(ftruncate(fd, 0));
	close(fd);
	OK(statfs(cdir, &b));
	TRUE((long long)b.f_bavail * b.f_bsize >= freeb - (1 << 20));
	fd = OK(open(P("after"), O_WRONLY | O_CREAT, 0644));
	EQ(write(fd, blk, sizeof(blk)), sizeof(blk));
	close(fd);
}

/* a freed file's memory is free at once, as on tmpfs */
static void case_unlink_frees_space(void)
{
	static char blk[1 << 20];
	struct statfs a, b;
	long long d;
	int fd;

	OK(statfs(cdir, &a));
	memset(blk, 'u', sizeof(blk));
	fd = OK(open(P("f"), O_WRONLY | O_CREAT, 0644));
	for (int i = 0; i < 16; i++)
		EQ(write(fd, blk, sizeof(blk)), sizeof(blk));
	OK(unlink(P("f")));
	OK(statfs(cdir, &b));
	d = ((long long)a.f_bfree - (long long)b.f_bfree) * b.f_bsize;
	if (d < 15 << 20)
		fail(__LINE__, "unlinked but open: %lld bytes used, want 16 MiB", d);
	close(fd);
	/*
	 * On FUSE the daemon hears of the last close through a RELEASE the
	 * kernel sends in the background (fs/fuse/file.c fuse_file_release():
	 * fuse_file_put(ff, fc->destroy), synchronous only on fuseblk), so
	 * a statfs right after close() may overtake it: give it a second.
	 * tmpfs frees at close(), the first statfs.
	 */
	for (int i = 0; i < 100; i++) {
		OK(statfs(cdir, &b));
		d = ((long long)a.f_bfree - (long long)b.f_bfree) * b.f_bsize;
		if (d <= 1 << 20 || !on_fuse)
			break;
		usleep(10000);
	}
	if (d > 1 << 20)
		fail(__LINE__, "closed and unlinked: still %lld bytes used", d);
	/* the same after a rename over it */
	fd = OK(open(P("g"), O_WRONLY | O_CREAT, 0644));
	for (int i = 0; i < 16; i++)
		EQ(write(fd, blk, sizeof(blk)), sizeof(blk));
	close(fd);
	OK(put(P("h"), "small", 0644));
	OK(rename(P("h"), P("g")));
	for (int i = 0; i < 100; i++) {		/* as above */
		OK(statfs(cdir, &b));
		d = ((long long)a.f_bfree - (long long)b.f_bfree) * b.f_bsize;
		if (d <= 1 << 20 || !on_fuse)
			break;
		usleep(10000);
	}
	if (d > 1 << 20)
		fail(__LINE__, "replaced by rename: still %lld bytes used", d);
}

/* a byte far out: a sparse file, data where it was written */
static void case_sparse_write(void)
{
	const off_t far = 64LL << 30;
	char c = 0;
	int fd;

	fd = OK(open(P("f"), O_RDWR | O_CREAT, 0644));
	EQ(pwrite(fd, "x", 1, far), 1);
	EQ(fst_of(fd).st_size, far + 1);
	TRUE(fst_of(fd).st_blocks <= 16);
	EQ(pread(fd, &c, 1, far), 1);
	EQ(c, 'x');
	EQ(pread(fd, &c, 1, far / 2), 1);
	EQ(c, 0);
	EQ(lseek(fd, 0, SEEK_DATA), far - far % pagesz);
	EQ(lseek(fd, 0, SEEK_END), far + 1);
	close(fd);
	EQ(st_of(P("f")).st_size, far + 1);
	/* and through a mapping of the far page */
	fd = OK(open(P("f"), O_RDWR));
	char *m = mmap(NULL, pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       far - far % pagesz);

	if (m != MAP_FAILED) {
		EQ(m[far % pagesz], 'x');
		m[0] = 'y';
		munmap(m, pagesz);
		EQ(pread(fd, &c, 1, far - far % pagesz), 1);
		EQ(c, 'y');
	} else {
		fail(__LINE__, "mmap at 64 GiB: %s", strerror(errno));
	}
	close(fd);
}

static void case_readdir_inodes(void)
{
	enum { N = 300 };
	struct dirent *de;
	int n = 0, bad = 0;
	DIR *d;

	for (int i = 0; i < N; i++) {
		if (i % 3 == 0)
			OK(mkdir(P("e%03d", i), 0755));
		else if (i % 3 == 1)
			OK(mknod(P("e%03d", i), S_IFREG | 0644, 0));
		else
			OK(symlink("x", P("e%03d", i)));
	}
	d = opendir(cdir);
	while (d && (de = readdir(d))) {
		struct stat st = st_of(P("%s", de->d_name));

		if (!strcmp(de->d_name, ".."))
			continue;
		n++;
		if (de->d_ino != st.st_ino) {
			if (bad++ < 3)
				fail(__LINE__, "%s: d_ino %llu, st_ino %llu",
				     de->d_name, (unsigned long long)de->d_ino,
				     (unsigned long long)st.st_ino);
		}
	}
	if (d)
		closedir(d);
	EQ(n, N + 1);
	EQ(bad, 0);
	/* seekdir far into the stream comes back to the same entry */
	d = opendir(cdir);
	long pos = 0;
	char name[256] = "";

	for (int i = 0; d && i < 250 && readdir(d); i++)
		;
	if (d) {
		pos = telldir(d);
		de = readdir(d);
		snprintf(name, sizeof(name), "%s", de ? de->d_name : "");
		rewinddir(d);
		readdir(d);
		seekdir(d, pos);
		de = readdir(d);
		EQS(de ? de->d_name : "", name);
		closedir(d);
	}
	/* st_dev is one for the whole directory tree */
	EQ(st_of(P("e000")).st_dev, st_of(cdir).st_dev);
	EQ(st_of(P("e001")).st_dev, st_of(cdir).st_dev);
	/* "." and ".." of a subdirectory */
	EQ(st_of(P("e000/.")).st_ino, st_of(P("e000")).st_ino);
	EQ(st_of(P("e000/..")).st_ino, st_of(cdir).st_ino);
}

static void case_symlink_owner_xattr(void)
{
	char buf[16];

	OK(put(P("f"), "x", 0644));
	OK(symlink("f", P("l")));
	EQ(st_of(P("l")).st_uid, geteuid());
	EQ(st_of(P("l")).st_gid, getegid());
	EQ(mode_of(P("l")), 0777);
	/* chmod of a symlink itself is not supported on Linux */
	ERR(fchmodat(AT_FDCWD, P("l"), 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
	if (!is_root)
		return;
	/* trusted.* lands on the link, not on its target */
	OK(lsetxattr(P("l"), "trusted.l", "L", 1, 0));
	EQ(lgetxattr(P("l"), "trusted.l", buf, sizeof(buf)), 1);
	ERR(getxattr(P("f"), "trusted.l", buf, sizeof(buf)), ENODATA);
	ERR(lgetxattr(P("f"), "trusted.l", buf, sizeof(buf)), ENODATA);
	/* a user's symlink is the user's */
	OK(chmod(cdir, 0777));
	AS_USER(NOBODY) {
		OK(symlink("f", P("ul")));
		EQ(st_of(P("ul")).st_uid, NOBODY);
		OK(mkfifo(P("up"), 0600));
		EQ(st_of(P("up")).st_uid, NOBODY);
		OK(link(P("up"), P("up2")));
	}
	EQ(st_of(P("ul")).st_uid, NOBODY);
	EQ(st_of(P("up2")).st_nlink, 2);
	/* protected_hardlinks: no link to a file one cannot write */
	OK(put(P("rootonly"), "r", 0600));
	AS_USER(NOBODY) {
		ERR(link(P("rootonly"), P("stolen")), EPERM);
	}
}

/*
 * More files than the daemon has descriptors (the drivers start cdmfs
 * with RLIMIT_NOFILE 4096): every one stays reachable, by every user.
 */
static void case_many_files(void)
{
	enum { N = 6000 };
	int bad = 0, fd;

	for (int i = 0; i < N && bad < 3; i++)
		if (mknod(P("%05d", i), S_IFREG | 0644, 0)) {
			fail(__LINE__, "mknod #%d: %s", i, strerror(errno));
			bad++;
		}
	for (int i = 0; i < N && bad < 3; i++) {
		struct stat st;

		if (lstat(P("%05d", i), &st)) {
			fail(__LINE__, "stat #%d: %s", i, strerror(errno));
			bad++;
		}
	}
	/* with all of them in the kernel's cache: open, write, a new file */
	fd = OK(open(P("00007"), O_RDWR));
	EQ(write(fd, "x", 1), 1);
	close(fd);
	OK(put(P("new"), "new", 0644));
	EQS(get(P("new")), "new");
	EQ(mkdir(P("newdir"), 0755), 0);
	int dfd = OK(open(top2, O_RDONLY | O_DIRECTORY));

	close(dfd);
}

/* renames, links and stats racing in one directory: no stray errors */
struct racer { int id; int errors; };

static void *race_thread(void *arg)
{
	struct racer *r = arg;
	char a[64], b[64];
	struct stat st;

	snprintf(a, sizeof(a), "r%d-a", r->id);
	snprintf(b, sizeof(b), "r%d-b", r->id);
	for (int i = 0; i < 400; i++) {
		int fd;

		if (rename(P("%s", a), P("%s", b)) || rename(P("%s", b), P("%s", a)))
			r->errors++;
		if (link(P("%s", a), P("%s", b)) || unlink(P("%s", a)) ||
		    rename(P("%s", b), P("%s", a)))
			r->errors++;
		fd = open(P("%s", a), O_RDWR);
		if (fd < 0 || pwrite(fd, "abcd", 4, 0) != 4)
			r->errors++;
		if (fd >= 0)
			close(fd);
		/* another thread's file: present under one of its names */
		snprintf(b, sizeof(b), "r%d-a", (r->id + 1) % 4);
		if (lstat(P("%s", b), &st) && errno != ENOENT)
			r->errors++;
		snprintf(b, sizeof(b), "r%d-b", r->id);
	}
	return NULL;
}

static void case_namespace_race(void)
{
	struct racer r[4];
	pthread_t th[4];

	for (int i = 0; i < 4; i++) {
		r[i] = (struct racer){ i, 0 };
		OK(put(P("r%d-a", i), "data", 0644));
	}
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, race_thread, &r[i]);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		EQ(r[i].errors, 0);
		EQS(get(P("r%d-a", i)), "abcd");
		EQ(st_of(P("r%d-a", i)).st_nlink, 1);
	}
	/* the directory holds exactly the four files */
	DIR *d = opendir(cdir);
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	EQ(n, 2 + 4);
}

static void case_splice_sendfile(void)
{
	static char big[256 << 10];
	int in, out, p[2];
	off_t off = 0;

	memset(big, 's', sizeof(big));
	in = OK(open(P("in"), O_RDWR | O_CREAT, 0644));
	EQ(write(in, big, sizeof(big)), sizeof(big));
	out = OK(open(P2("out"), O_RDWR | O_CREAT, 0644));
	/* file to file through sendfile */
	EQ(sendfile(out, in, &off, sizeof(big)), sizeof(big));
	EQ(off, sizeof(big));
	EQ(fst_of(out).st_size, sizeof(big));
	/* a pipe into a file and a file into a pipe */
	OK(pipe(p));
	EQ(write(p[1], "piped", 5), 5);
	loff_t o = 10;

	EQ(splice(p[0], NULL, out, &o, 5, 0), 5);
	char buf[8] = "";

	EQ(pread(out, buf, 5, 10), 5);
	TRUE(!memcmp(buf, "piped", 5));
	o = 0;
	EQ(splice(in, &o, p[1], NULL, 4, 0), 4);
	EQ(read(p[0], buf, 4), 4);
	TRUE(!memcmp(buf, "ssss", 4));
	close(p[0]);
	close(p[1]);
	close(in);
	close(out);
}

/* a punched hole and a truncation are seen by existing mappings */
static void case_punch_hole_mmap(void)
{
	char *m, buf[8];
	int fd;

	fd = OK(open(P("f"), O_RDWR | O_CREAT, 0644));
	OK(ftruncate(fd, 4 * pagesz));
	m = mmap(NULL, 4 * pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fail(__LINE__, "mmap: %s", strerror(errno));
		close(fd);
		return;
	}
	memset(m, 'p', 4 * pagesz);
	OK(msync(m, 4 * pagesz, MS_SYNC));
	OK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pagesz,
		     2 * pagesz));
	EQ(probe(m + pagesz), 0);
	EQ(probe(m + 3 * pagesz - 1), 0);
	EQ(probe(m + 3 * pagesz), 'p');
	EQ(pread(fd, buf, 1, pagesz + 7), 1);
	EQ(buf[0], 0);
	/* a second process's read() agrees */
	int fd2 = OK(open(P("f"), O_RDONLY));

	EQ(pread(fd2, buf, 1, 2 * pagesz), 1);
	EQ(buf[0], 0);
	EQ(pread(fd2, buf, 1, 0), 1);
	EQ(buf[0], 'p');
	close(fd2);
	munmap(m, 4 * pagesz);
	close(fd);
}

static void case_special_files(void)
{
	char buf[8] = "";
	int r, w;

	/* a fifo carries data between two openers */
	OK(mkfifo(P("fifo"), 0644));
	r = OK(open(P("fifo"), O_RDONLY | O_NONBLOCK));
	w = OK(open(P("fifo"), O_WRONLY));
	EQ(write(w, "fifo", 4), 4);
	EQ(read(r, buf, 4), 4);
	TRUE(!memcmp(buf, "fifo", 4));
	close(w);
	close(r);
	/* a unix socket bound there takes connections */
	int s = socket(AF_UNIX, SOCK_STREAM, 0), c = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(P("sock")) < sizeof(sun.sun_path)) {
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", P("sock"));
		OK(bind(s, (struct sockaddr *)&sun, sizeof(sun)));
		OK(listen(s, 1));
		OK(connect(c, (struct sockaddr *)&sun, sizeof(sun)));
		int a = OK(accept(s, NULL, NULL));

		EQ(write(c, "sock", 4), 4);
		EQ(read(a, buf, 4), 4);
		TRUE(!memcmp(buf, "sock", 4));
		close(a);
	}
	close(c);
	close(s);
	if (!is_root)
		return;
	/* device nodes keep their numbers (opening them is a mount matter) */
	OK(mknod(P("null"), S_IFCHR | 0666, makedev(1, 3)));
	TRUE(S_ISCHR(st_of(P("null")).st_mode));
	EQ(st_of(P("null")).st_rdev, makedev(1, 3));
	OK(mknod(P("blk"), S_IFBLK | 0600, makedev(7, 200)));
	EQ(st_of(P("blk")).st_rdev, makedev(7, 200));
	OK(rename(P("null"), P("null2")));
	EQ(st_of(P("null2")).st_rdev, makedev(1, 3));
}

/* large and vectored I/O: one call, every byte where it belongs */
static void case_big_io(void)
{
	const size_t len = 24 << 20;
	char *w = malloc(len), *r = malloc(len);
	struct iovec iov[3];
	char a[5000], b[3], c[70000], back[5000 + 3 + 70000];
	int fd;

	if (!w || !r) {
		fail(__LINE__, "malloc");
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		w[i] = (char)(i * 7 + i / 4096);
	fd = OK(open(P("f"), O_RDWR | O_CREAT, 0644));
	EQ(pwrite(fd, w, len, 1), len);		/* unaligned, one call */
	EQ(pread(fd, r, len, 1), len);
	TRUE(!memcmp(w, r, len));
	EQ(fst_of(fd).st_size, len + 1);
	/* scatter/gather across pages */
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	memset(c, 'c', sizeof(c));
	iov[0] = (struct iovec){ a, sizeof(a) };
	iov[1] = (struct iovec){ b, sizeof(b) };
	iov[2] = (struct iovec){ c, sizeof(c) };
	EQ(pwritev(fd, iov, 3, 4093), sizeof(back));
	iov[0] = (struct iovec){ back, 4000 };
	iov[1] = (struct iovec){ back + 4000, sizeof(back) - 4000 };
	EQ(preadv(fd, iov, 2, 4093), sizeof(back));
	TRUE(back[0] == 'a' && back[4999] == 'a' && back[5000] == 'b' &&
	     back[5002] == 'b' && back[5003] == 'c' &&
	     back[sizeof(back) - 1] == 'c');
	/* reading across EOF is short, at EOF zero */
	EQ(pread(fd, r, 100, len - 49), 50);
	EQ(pread(fd, r, 100, len + 1), 0);
	close(fd);
out:
	free(w);
	free(r);
}

static void case_readdir_changes(void)
{
	enum { N = 200 };
	char seen[N] = { 0 };
	bool dup = false;
	struct dirent *de;
	int dots = 0, created = 0, i;
	DIR *d;

	for (i = 0; i < N; i++)
		OK(mknod(P("f%03d", i), S_IFREG | 0644, 0));
	d = opendir(cdir);
	if (!d) {
		fail(__LINE__, "opendir: %s", strerror(errno));
		return;
	}
	/* read half, then change the directory under the open stream */
	for (i = 0; i < N / 2 && (de = readdir(d)); i++) {
		int k;

		if (de->d_name[0] == '.') {
			dots++;
			continue;
		}
		if (sscanf(de->d_name, "f%d", &k) == 1 && k >= 0 && k < N) {
			dup |= seen[k]++ > 0;
		}
	}
	/* remove files not seen yet (odd ones), add new ones */
	int removed = 0;

	for (i = 1; i < N; i += 2)
		if (!seen[i]) {
			OK(unlink(P("f%03d", i)));
			seen[i] = -1;
			removed++;
		}
	for (i = 0; i < 50; i++)
		OK(mknod(P("n%03d", i), S_IFREG | 0644, 0));
	while ((de = readdir(d))) {
		int k;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
			dots++;
		} else if (sscanf(de->d_name, "f%d", &k) == 1 && k >= 0 &&
			   k < N) {
			/* a removed one may still come (POSIX: unspecified) */
			if (seen[k] >= 0)
				dup |= seen[k]++ > 0;
		} else if (de->d_name[0] == 'n') {
			created++;
		}
	}
	TRUE(!dup);
	EQ(dots, 2);
	/* every file present throughout was listed exactly once */
	int missing = 0;

	for (i = 0; i < N; i++)
		missing += seen[i] == 0;
	EQ(missing, 0);
	TRUE(created >= 0 && created <= 50);
	/* after rewinddir, the current set exactly */
	rewinddir(d);
	int total = 0;

	while ((de = readdir(d)))
		total++;
	EQ(total, 2 + N - removed + 50);
	/* telldir/seekdir come back to the same entry */
	rewinddir(d);
	for (i = 0; i < 10; i++)
		readdir(d);
	long pos = telldir(d);
	char name[256];

	de = readdir(d);
	snprintf(name, sizeof(name), "%s", de ? de->d_name : "");
	seekdir(d, pos);
	de = readdir(d);
	EQS(de ? de->d_name : "", name);
	closedir(d);
	/* d_type is right for each kind */
	OK(mkdir(P("sub"), 0755));
	OK(symlink("x", P("sym")));
	d = opendir(cdir);
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, "sub"))
			TRUE(de->d_type == DT_DIR || de->d_type == DT_UNKNOWN);
		if (!strcmp(de->d_name, "sym"))
			TRUE(de->d_type == DT_LNK || de->d_type == DT_UNKNOWN);
		if (!strcmp(de->d_name, "f000"))
			TRUE(de->d_type == DT_REG || de->d_type == DT_UNKNOWN);
	}
	if (d)
		closedir(d);
}

static void case_name_limits(void)
{
	char n255[300], n256[300], path[PATH_MAX + 16], buf[8];
	int fd;

	memset(n255, 'a', 255);
	n255[255] = 0;
	memset(n256, 'b', 256);
	n256[256] = 0;
	fd = OK(open(P("%s", n255), O_WRONLY | O_CREAT, 0644));
	close(fd);
	EQ(st_of(P("%s", n255)).st_size, 0);
	ERR(open(P("%s", n256), O_WRONLY | O_CREAT, 0644), ENAMETOOLONG);
	ERR(open(P("%s", n256), O_RDONLY), ENAMETOOLONG);
	ERR(mkdir(P("%s", n256), 0755), ENAMETOOLONG);
	ERR(symlink("x", P("%s", n256)), ENAMETOOLONG);
	ERR(link(P("%s", n255), P("%s", n256)), ENAMETOOLONG);
	ERR(rename(P("%s", n255), P("%s", n256)), ENAMETOOLONG);
	ERR(mknod(P("%s", n256), S_IFIFO | 0644, 0), ENAMETOOLONG);
	OK(rename(P("%s", n255), P("short")));
	OK(mkdir(P("%s", n255), 0755));
	OK(rmdir(P("%s", n255)));
	/* a symlink target of 4095 bytes is fine, 4096 is not */
	static char target[PATH_MAX + 1];

	memset(target, 't', PATH_MAX);
	target[PATH_MAX - 1] = 0;
	OK(symlink(target, P("long")));
	EQ(st_of(P("long")).st_size, PATH_MAX - 1);
	target[PATH_MAX - 1] = 't';
	target[PATH_MAX] = 0;
	ERR(symlink(target, P("toolong")), ENAMETOOLONG);
	/* a path of PATH_MAX bytes (no room for the NUL) */
	int len = snprintf(path, sizeof(path), "%s/", cdir);

	memset(path + len, 'p', PATH_MAX - len);
	path[PATH_MAX] = 0;
	ERR(open(path, O_RDONLY), ENAMETOOLONG);
	/* a deep tree: each name fine, reached relative to a dirfd */
	int dfd = OK(open(cdir, O_RDONLY | O_DIRECTORY));

	for (int i = 0; i < 20 && dfd >= 0; i++) {
		int nd;

		OK(mkdirat(dfd, n255, 0755));
		nd = OK(openat(dfd, n255, O_RDONLY | O_DIRECTORY));
		close(dfd);
		dfd = nd;
	}
	if (dfd >= 0) {
		fd = OK(openat(dfd, "leaf", O_RDWR | O_CREAT, 0644));
		EQ(write(fd, "deep", 4), 4);
		EQ(pread(fd, buf, 4, 0), 4);
		close(fd);
		close(dfd);
	}
	/* "" is ENOENT, a name with only dots is no new entry */
	ERR(open("", O_RDONLY), ENOENT);
	ERR(mkdir(P("."), 0755), EEXIST);
	ERR(mkdir(P(".."), 0755), EEXIST);
}

/* cases: concurrency ---------------------------------------------------- */

struct writer { int fd; int id; int rounds; char *map; };

static void *pwrite_thread(void *arg)
{
	struct writer *w = arg;
	char buf[4096];

	memset(buf, 'A' + w->id, sizeof(buf));
	for (int r = 0; r < w->rounds; r++)
		for (int b = 0; b < 16; b++) {
			buf[0] = (char)r;
			if (pwrite(w->fd, buf, sizeof(buf),
				   ((off_t)w->id * 16 + b) * 4096) != 4096)
				return (void *)1;
		}
	return NULL;
}

static void *append_thread(void *arg)
{
	struct writer *w = arg;
	char rec[512];

	memset(rec, 'a' + w->id, sizeof(rec));
	rec[511] = '\n';
	for (int r = 0; r < w->rounds; r++)
		if (write(w->fd, rec, sizeof(rec)) != sizeof(rec))
			return (void *)1;
	return NULL;
}

/* writes half of each page through the map while pwrite fills the other */
static void *map_half_thread(void *arg)
{
	struct writer *w = arg;

	for (int r = 0; r < w->rounds; r++)
		for (int b = 0; b < 16; b++)
			memset(w->map + b * 4096 + 2048, 'M', 2048);
	return NULL;
}

static void *write_half_thread(void *arg)
{
	struct writer *w = arg;
	char buf[2048];

	memset(buf, 'W', sizeof(buf));
	for (int r = 0; r < w->rounds; r++)
		for (int b = 0; b < 16; b++)
			if (pwrite(w->fd, buf, sizeof(buf), b * 4096) !=
			    sizeof(buf))
				return (void *)1;
	return NULL;
}

static void case_concurrent_writers(void)
{
	enum { T = 4 };
	pthread_t th[T + 2];
	struct writer w[T + 2];
	static char buf[T * 16 * 4096];
	void *ret;
	int fd, fd2, i;

	/* threads on distinct regions through one fd and separate fds */
	fd = OK(open(P("f"), O_RDWR | O_CREAT, 0644));
	for (i = 0; i < T; i++) {
		w[i] = (struct writer){ i % 2 ? fd : open(P("f"), O_RDWR),
					i, 50, NULL };
		pthread_create(&th[i], NULL, pwrite_thread, &w[i]);
	}
	for (i = 0; i < T; i++) {
		pthread_join(th[i], &ret);
		TRUE(ret == NULL);
		if (i % 2 == 0)
			close(w[i].fd);
	}
	EQ(pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	int bad = 0;

	for (i = 0; i < T * 16; i++) {
		char want = 'A' + i / 16;

		bad += buf[i * 4096] != 49 || buf[i * 4096 + 1] != want ||
		       buf[i * 4096 + 4095] != want;
	}
	EQ(bad, 0);
	close(fd);

	/* appenders from two processes: every record whole, none lost */
	fd = OK(open(P("log"), O_WRONLY | O_CREAT | O_APPEND, 0644));
	fflush(stdout);
	pid_t pid = fork();

	if (pid == 0) {
		struct writer cw = { fd, 0, 200, NULL };

		_exit(append_thread(&cw) ? 1 : 0);
	}
	w[0] = (struct writer){ fd, 1, 200, NULL };
	w[1] = (struct writer){ OK(open(P("log"), O_WRONLY | O_APPEND)), 2,
				200, NULL };
	pthread_create(&th[0], NULL, append_thread, &w[0]);
	pthread_create(&th[1], NULL, append_thread, &w[1]);
	pthread_join(th[0], &ret);
	TRUE(ret == NULL);
	pthread_join(th[1], &ret);
	TRUE(ret == NULL);
	int status;

	waitpid(pid, &status, 0);
	TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(w[1].fd);
	close(fd);
	EQ(st_of(P("log")).st_size, 3 * 200 * 512);
	fd = OK(open(P("log"), O_RDONLY));
	int count[3] = { 0 }, torn = 0;
	char rec[512];

	while (read(fd, rec, sizeof(rec)) == sizeof(rec)) {
		int k = rec[0] - 'a';

		if (k < 0 || k > 2 || rec[511] != '\n' ||
		    memchr(rec, 'a' + (k + 1) % 3, 511) ||
		    memchr(rec, 'a' + (k + 2) % 3, 511))
			torn++;
		else
			count[k]++;
	}
	close(fd);
	EQ(torn, 0);
	EQ(count[0], 200);
	EQ(count[1], 200);
	EQ(count[2], 200);

	/* one page, two writers: write() on one half, a mapping the other */
	fd = OK(open(P("m"), O_RDWR | O_CREAT, 0644));
	OK(ftruncate(fd, 16 * 4096));
	fd2 = OK(open(P("m"), O_RDWR));
	char *m = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd2, 0);

	if (m == MAP_FAILED) {
		fail(__LINE__, "mmap: %s", strerror(errno));
		close(fd);
		close(fd2);
		return;
	}
	w[0] = (struct writer){ fd, 0, 200, m };
	w[1] = (struct writer){ fd, 1, 200, m };
	pthread_create(&th[0], NULL, write_half_thread, &w[0]);
	pthread_create(&th[1], NULL, map_half_thread, &w[1]);
	pthread_join(th[0], &ret);
	TRUE(ret == NULL);
	pthread_join(th[1], NULL);
	OK(msync(m, 16 * 4096, MS_SYNC));
	munmap(m, 16 * 4096);
	close(fd2);
	close(fd);
	/* read it back through a fresh open */
	fd = OK(open(P("m"), O_RDONLY));
	EQ(pread(fd, buf, 16 * 4096, 0), 16 * 4096);
	close(fd);
	bad = 0;
	for (i = 0; i < 16 * 4096; i++)
		bad += buf[i] != ((i % 4096) < 2048 ? 'W' : 'M');
	EQ(bad, 0);
	/* another process maps it and sees the same bytes */
	fd = OK(open(P("m"), O_RDONLY));
	pid = fork();
	if (pid == 0) {
		char *m2 = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

		_exit(m2 == MAP_FAILED || m2[0] != 'W' || m2[4095] != 'M');
	}
	waitpid(pid, &status, 0);
	TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
}

/* ------------------------------------------------------------------------ */

struct conf_case {
	const char *name;
	void (*fn)(void);
};

#define CASE(n) { #n, case_##n }
static const struct conf_case cases[] = {
	CASE(open_trunc),
	CASE(open_trunc_user),
	CASE(open_append),
	CASE(open_excl),
	CASE(open_creat_existing),
	CASE(open_directory),
	CASE(open_nofollow),
	CASE(open_tmpfile),
	CASE(open_misc),
	CASE(locks),
	CASE(dir_perms),
	CASE(truncate_updown),
	CASE(truncate_mmap),
	CASE(mmap_sigbus_eof),
	CASE(exec_busy),
	CASE(rename_file),
	CASE(rename_dir),
	CASE(rename_noreplace),
	CASE(rename_exchange),
	CASE(rename_crossdir),
	CASE(link_count),
	CASE(unlink_opath),
	CASE(unlink_open_mapped),
	CASE(chmod_chown),
	CASE(create_modes),
	CASE(sgid_dir),
	CASE(suid_write),
	CASE(suid_truncate),
	CASE(suid_chown),
	CASE(sticky_dir),
	CASE(times_file),
	CASE(times_mmap),
	CASE(times_mmap_closed),
	CASE(times_dir),
	CASE(utimens),
	CASE(xattr_user),
	CASE(xattr_trusted_security),
	CASE(acl_access),
	CASE(acl_default),
	CASE(fallocate),
	CASE(seek_data_hole),
	CASE(seek_data_mmap),
	CASE(copy_file_range),
	CASE(statfs),
	CASE(big_io),
	CASE(full_device),
	CASE(many_files),
	CASE(namespace_race),
	CASE(splice_sendfile),
	CASE(punch_hole_mmap),
	CASE(special_files),
	CASE(unlink_frees_space),
	CASE(sparse_write),
	CASE(readdir_inodes),
	CASE(symlink_owner_xattr),
	CASE(readdir_changes),
	CASE(name_limits),
	CASE(concurrent_writers),
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/*
 * "case<TAB>datapath<TAB>why" lines: the documented FUSE limitations (-e),
 * and the cdmfs defects known and not fixed yet (-k), each naming its issue.
 */
static char *limits_text, *defects_text;

static const char *listed_in(const char *text, const char *name)
{
	static char why[512];
	char c[128], dp[32];
	int n;

	for (const char *l = text; l && *l; ) {
		const char *end = strchrnul(l, '\n');

		if (*l != '#' &&
		    sscanf(l, "%127[^\t\n]\t%31[^\t\n]\t%n", c, dp, &n) == 2 &&
		    !strcmp(c, name) &&
		    (!strcmp(dp, "any") || !strcmp(dp, datapath))) {
			snprintf(why, sizeof(why), "%.*s",
				 (int)(end - l - n), l + n);
			return why;
		}
		l = *end ? end + 1 : end;
	}
	return NULL;
}

static void read_list(const char *path, char **text)
{
	FILE *f = fopen(path, "r");
	size_t cap = 0;

	if (!f) {
		fprintf(stderr, "conform: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (getdelim(text, &cap, 0, f) < 0) {
		free(*text);
		*text = NULL;
	}
	fclose(f);
}

#define CASE_TIMEOUT 60
static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	timed_out = 1;
}

static int run_case(const struct conf_case *c, int num)
{
	const char *why, *defect;
	int status = 0;
	pid_t pid;

	snprintf(cdir, sizeof(cdir), "%s/%s", top1, c->name);
	snprintf(cdir2, sizeof(cdir2), "%s/%s", top2, c->name);
	rm_rf(cdir);
	rm_rf(cdir2);
	if (mkdir(cdir, 0755) || mkdir(cdir2, 0755)) {
		printf("not ok %d - %s: cannot make its directories: %s\n",
		       num, c->name, strerror(errno));
		return 1;
	}
	/* each case in its own process: a crash or a leak stays there */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* its own process group: a timeout kills all it started */
		setpgid(0, 0);
		failures = 0;
		skip_reason[0] = 0;
		umask(022);
		c->fn();
		fflush(stdout);
		if (skip_reason[0]) {
			printf("ok %d - %s # SKIP %s\n", num, c->name,
			       skip_reason);
			fflush(stdout);
			_exit(failures ? 1 : 0);
		}
		_exit(failures ? 1 : 0);
	}
	setpgid(pid, pid);
	timed_out = 0;
	alarm(CASE_TIMEOUT);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			status = -1;
			break;
		}
		if (timed_out) {
			printf("#   no end after %d s: killed\n", CASE_TIMEOUT);
			kill(-pid, SIGKILL);
		}
	}
	alarm(0);
	if (status == -1 || !WIFEXITED(status)) {
		printf("#   the case died: status 0x%x\n", status);
		status = 1;
	} else {
		status = WEXITSTATUS(status);
	}
	rm_rf(cdir);
	rm_rf(cdir2);
	defect = on_fuse ? listed_in(defects_text, c->name) : NULL;
	if (status == 0 && defect) {
		/* fixed: the list must not excuse it any longer */
		printf("#   listed as a known defect, but it passes: remove it from the list\n");
		printf("not ok %d - %s\n", num, c->name);
		return 1;
	}
	if (status == 0) {
		/* a SKIP line has been printed by the child already */
		return 0;
	}
	if (defect) {
		printf("not ok %d - %s # TODO cdmfs defect, not fixed yet: %s\n",
		       num, c->name, defect);
		return 0;
	}
	why = on_fuse ? listed_in(limits_text, c->name) : NULL;
	if (why) {
		printf("not ok %d - %s # TODO FUSE limitation: %s\n", num,
		       c->name, why);
		return 0;
	}
	printf("not ok %d - %s\n", num, c->name);
	return 1;
}

int main(int argc, char **argv)
{
	struct statfs sfs;
	int opt, nfail = 0, num = 0;
	bool listed[NCASES] = { false };
	bool any = false;

	struct sigaction alrm = { .sa_handler = on_alarm };

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGALRM, &alrm, NULL);	/* no SA_RESTART: see run_case */
	while ((opt = getopt(argc, argv, "e:k:lp:")) != -1) {
		switch (opt) {
		case 'e':
			read_list(optarg, &limits_text);
			break;
		case 'k':
			read_list(optarg, &defects_text);
			break;
		case 'p':
			datapath = optarg;
			break;
		case 'l':
			for (size_t i = 0; i < NCASES; i++)
				printf("%s\n", cases[i].name);
			return 0;
		default:
			goto usage;
		}
	}
	if (argc - optind < 2)
		goto usage;
	top1 = argv[optind];
	top2 = argv[optind + 1];
	for (int a = optind + 2; a < argc; a++) {
		size_t i;

		for (i = 0; i < NCASES; i++)
			if (!strcmp(argv[a], cases[i].name))
				break;
		if (i == NCASES) {
			fprintf(stderr, "conform: no case %s (-l lists them)\n",
				argv[a]);
			return 2;
		}
		listed[i] = any = true;
	}
	if (statfs(top1, &sfs)) {
		fprintf(stderr, "conform: %s: %s\n", top1, strerror(errno));
		return 2;
	}
	on_fuse = sfs.f_type == FUSE_SUPER_MAGIC;
	is_root = geteuid() == 0;
	pagesz = sysconf(_SC_PAGESIZE);
	printf("# conform on %s (%s) and %s as uid %d\n", top1,
	       on_fuse ? "fuse" : sfs.f_type == TMPFS_MAGIC ? "tmpfs" :
	       "other", top2, (int)geteuid());
	for (size_t i = 0; i < NCASES; i++)
		num += !any || listed[i];
	printf("1..%d\n", num);
	num = 0;
	for (size_t i = 0; i < NCASES; i++) {
		if (any && !listed[i])
			continue;
		nfail += run_case(&cases[i], ++num);
	}
	printf("# %d of %d cases failed\n", nfail, num);
	return nfail ? 1 : 0;
usage:
	fprintf(stderr, "usage: conform [-e LIMITS] [-k DEFECTS] [-p DATAPATH] [-l] DIR DIR2 [CASE...]\n");
	return 2;
}
