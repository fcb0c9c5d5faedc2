// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cdmfsctl: an operator's view of cdmfs mounts, through the user.cdm.*
 * extended attributes only (no second protocol: what a script can do with
 * getfattr/setfattr, this does for a whole tree, with --json for scripts).
 *
 *   cdmfsctl [--json] devices [MNT...]
 *   cdmfsctl [--json] status [MNT...]
 *   cdmfsctl [--json] ls [-R] PATH...
 *   cdmfsctl [--json] migrate [--wait] (--policy P | --to DEV) PATH...
 *   cdmfsctl [--json] metrics [MNT...]
 *
 * Without MNT, every cdmfs mount of /proc/self/mounts.  Exit status: 0,
 * 1 when something failed (migrate: a file did not get where it was sent),
 * 2 for bad arguments (nothing was changed), 130 when interrupted.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cdmfs/policy.h"
#include "cdmfs/xattr.h"

#define EXIT_USAGE 2
#define EXIT_INTR 130

static const char *prog = "cdmfsctl";
static bool json;
static volatile sig_atomic_t interrupted;

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [--json] devices [MNT...]\n"
		"       %s [--json] status [MNT...]\n"
		"       %s [--json] ls [-R] PATH...\n"
		"       %s [--json] migrate [--wait] (--policy POLICY | --to DEV) PATH...\n"
		"       %s [--json] metrics [MNT...]\n",
		prog, prog, prog, prog, prog);
	exit(EXIT_USAGE);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(1);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(1);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(1);
	}
	return p;
}

/*
 * Value of attribute @name of @path (not following a final symlink),
 * malloc'd and NUL-terminated, or NULL with errno.  Computed values can
 * change size between the two calls: retry on ERANGE.
 */
static char *get_attr(const char *path, const char *name)
{
	for (int tries = 0; tries < 8; tries++) {
		ssize_t n = lgetxattr(path, name, NULL, 0), m;
		char *buf;

		if (n < 0)
			return NULL;
		buf = xmalloc((size_t)n + 64);
		m = lgetxattr(path, name, buf, (size_t)n + 63);
		if (m >= 0) {
			buf[m] = '\0';
			/* values never end in a newline except the device list */
			return buf;
		}
		free(buf);
		if (errno != ERANGE)
			return NULL;
	}
	errno = ERANGE;
	return NULL;
}

/* True if @path carries its own user.cdm.policy (listed only when own). */
static bool has_own_policy(const char *path)
{
	ssize_t n = llistxattr(path, NULL, 0);
	char *buf;
	bool own = false;

	if (n <= 0)
		return false;
	buf = xmalloc((size_t)n + 1);
	n = llistxattr(path, buf, (size_t)n);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
		if (!strcmp(buf + i, CDM_XATTR_POLICY))
			own = true;
	free(buf);
	return own;
}

/* ---- JSON output: one writer, commas and nesting tracked here ---- */

static int jdepth;
static bool jfirst[64] = { true };

static void jstring(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void jkey(const char *key)
{
	if (!jfirst[jdepth])
		putchar(',');
	jfirst[jdepth] = false;
	if (key) {
		jstring(key);
		putchar(':');
	}
}

static void jopen(const char *key, char c)
{
	jkey(key);
	putchar(c);
	jfirst[++jdepth] = true;
}

static void jclose(char c)
{
	putchar(c);
	if (--jdepth == 0)
		putchar('\n');
}

static void jstr(const char *key, const char *v)
{
	jkey(key);
	if (v)
		jstring(v);
	else
		fputs("null", stdout);
}

static void ju64(const char *key, uint64_t v)
{
	jkey(key);
	printf("%" PRIu64, v);
}

static void jint(const char *key, long long v)
{
	jkey(key);
	printf("%lld", v);
}

static void jdbl(const char *key, double v)
{
	jkey(key);
	if (isfinite(v))
		printf("%.3f", v);
	else
		fputs("null", stdout);
}

static void jbool(const char *key, bool v)
{
	jkey(key);
	fputs(v ? "true" : "false", stdout);
}

/* ---- mounts and devices ---- */

struct device {
	char *name, *kind, *backend, *nodes, *health;
	uint64_t size, free, used;
	int tier;			/* -1: unknown */
	uint64_t rlat, wlat, rbw, wbw;	/* 0: unknown */
	bool simulated;
};

struct mount {
	char *root;
	struct device *dev;
	size_t ndev;
};

static bool on_cdmfs_root(const char *path)
{
	return lgetxattr(path, CDM_XATTR_DEVICES, NULL, 0) >= 0;
}

/*
 * The root of the cdmfs mount holding @path (absolute, resolved), into
 * @root; -errno.  The root is the one directory that answers
 * user.cdm.devices.
 */
static int find_root(const char *path, char *root)
{
	char *p = xstrdup(path);
	int ret = -ENOTSUP;

	for (;;) {
		char *slash;

		if (on_cdmfs_root(p)) {
			strcpy(root, p);
			ret = 0;
			break;
		}
		slash = strrchr(p, '/');
		if (!slash || slash == p)
			break;
		*slash = '\0';
	}
	free(p);
	return ret;
}

static uint64_t field_u64(const char *tok, const char *key, bool *found)
{
	size_t n = strlen(key);

	if (strncmp(tok, key, n) || tok[n] != '=')
		return 0;
	*found = true;
	return strtoull(tok + n + 1, NULL, 10);
}

static char *field_str(const char *tok, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(tok, key, n) || tok[n] != '=')
		return NULL;
	return xstrdup(tok + n + 1);
}

/* Parse one line of user.cdm.devices into @d. */
static void parse_device(char *line, struct device *d)
{
	char *save = NULL, *tok;
	bool f;

	memset(d, 0, sizeof(*d));
	d->tier = -1;
	tok = strtok_r(line, " ", &save);
	d->name = xstrdup(tok ? tok : "?");
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *s;

		f = false;
		if ((s = field_str(tok, "kind")))
			d->kind = s;
		else if ((s = field_str(tok, "backend")))
			d->backend = s;
		else if ((s = field_str(tok, "nodes")))
			d->nodes = s;
		else if ((s = field_str(tok, "health")))
			d->health = s;
		else if ((s = field_str(tok, "simulated"))) {
			d->simulated = !strcmp(s, "yes");
			free(s);
		} else {
			uint64_t v;

			if ((v = field_u64(tok, "size", &f)), f)
				d->size = v;
			else if ((v = field_u64(tok, "free", &f)), f)
				d->free = v;
			else if ((v = field_u64(tok, "tier", &f)), f)
				d->tier = (int)v;
			else if ((v = field_u64(tok, "read_latency_ns", &f)), f)
				d->rlat = v;
			else if ((v = field_u64(tok, "write_latency_ns", &f)), f)
				d->wlat = v;
			else if ((v = field_u64(tok, "read_bandwidth_mbs", &f)), f)
				d->rbw = v;
			else if ((v = field_u64(tok, "write_bandwidth_mbs", &f)), f)
				d->wbw = v;
		}
	}
	if (!d->kind)
		d->kind = xstrdup("?");
	if (!d->backend)
		d->backend = xstrdup("?");
	if (!d->nodes)
		d->nodes = xstrdup("-");
}

static void mount_free(struct mount *m)
{
	for (size_t i = 0; i < m->ndev; i++) {
		free(m->dev[i].name);
		free(m->dev[i].kind);
		free(m->dev[i].backend);
		free(m->dev[i].nodes);
		free(m->dev[i].health);
	}
	free(m->dev);
	free(m->root);
}

/* Read the device list of the mount at @root; -errno. */
static int mount_load(const char *root, struct mount *m)
{
	char *v = get_attr(root, CDM_XATTR_DEVICES), *save = NULL, *line;

	memset(m, 0, sizeof(*m));
	if (!v)
		return -errno;
	m->root = xstrdup(root);
	for (line = strtok_r(v, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		m->dev = xrealloc(m->dev, (m->ndev + 1) * sizeof(*m->dev));
		parse_device(line, &m->dev[m->ndev++]);
	}
	free(v);
	return 0;
}

static struct device *mount_device(struct mount *m, const char *name)
{
	for (size_t i = 0; i < m->ndev; i++)
		if (!strcmp(m->dev[i].name, name))
			return &m->dev[i];
	return NULL;
}

/* Name of the device directory @path (under m->root) is in, or NULL. */
static const char *device_of(struct mount *m, const char *path, char *buf,
			     size_t len)
{
	size_t n = strlen(m->root);
	const char *rest, *slash;

	if (strncmp(path, m->root, n))
		return NULL;
	rest = path + n;
	while (*rest == '/')
		rest++;
	slash = strchr(rest, '/');
	n = slash ? (size_t)(slash - rest) : strlen(rest);
	if (!n || n >= len)
		return NULL;
	memcpy(buf, rest, n);
	buf[n] = '\0';
	return mount_device(m, buf) ? buf : NULL;
}

/*
 * Resolve the mounts named on the command line, or every cdmfs mount;
 * returns how many, or -1 after naming the bad argument.
 */
static int mounts_of_args(int argc, char **argv, struct mount **out)
{
	struct mount *ms = NULL;
	int n = 0;

	if (argc == 0) {
		FILE *f = fopen("/proc/self/mounts", "re");
		char *line = NULL;
		size_t cap = 0;

		if (!f) {
			fprintf(stderr, "%s: /proc/self/mounts: %s\n", prog,
				strerror(errno));
			return -1;
		}
		while (getline(&line, &cap, f) > 0) {
			char src[PATH_MAX], dir[PATH_MAX], type[64];

			if (sscanf(line, "%4095s %4095s %63s", src, dir, type) != 3 ||
			    strcmp(type, "fuse.cdmfs"))
				continue;
			/* octal escapes of spaces etc. in mount points */
			for (char *r = dir, *w = dir;; r++, w++) {
				if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3') {
					*w = (char)((r[1] - '0') * 64 +
						    (r[2] - '0') * 8 + (r[3] - '0'));
					r += 3;
				} else {
					*w = *r;
				}
				if (!*r)
					break;
			}
			ms = xrealloc(ms, (size_t)(n + 1) * sizeof(*ms));
			if (mount_load(dir, &ms[n])) {
				fprintf(stderr, "%s: %s: cannot read %s: %s\n",
					prog, dir, CDM_XATTR_DEVICES,
					strerror(errno));
				continue;
			}
			n++;
		}
		free(line);
		fclose(f);
		if (!n) {
			fprintf(stderr, "%s: no cdmfs mount\n", prog);
			free(ms);
			return -1;
		}
		*out = ms;
		return n;
	}
	ms = xmalloc((size_t)argc * sizeof(*ms));
	for (int i = 0; i < argc; i++) {
		char real[PATH_MAX];

		if (!realpath(argv[i], real)) {
			fprintf(stderr, "%s: %s: %s\n", prog, argv[i],
				strerror(errno));
			goto err;
		}
		if (!on_cdmfs_root(real)) {
			fprintf(stderr, "%s: %s: not the root of a cdmfs mount (no %s)\n",
				prog, argv[i], CDM_XATTR_DEVICES);
			goto err;
		}
		if (mount_load(real, &ms[n])) {
			fprintf(stderr, "%s: %s: cannot read %s: %s\n", prog,
				argv[i], CDM_XATTR_DEVICES, strerror(errno));
			goto err;
		}
		n++;
	}
	*out = ms;
	return n;
err:
	while (n--)
		mount_free(&ms[n]);
	free(ms);
	return -1;
}

static void mounts_free(struct mount *ms, int n)
{
	for (int i = 0; i < n; i++)
		mount_free(&ms[i]);
	free(ms);
}

/* ---- walking a tree (nftw has no user pointer) ---- */

static uint64_t walk_bytes;

static int add_blocks(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F && S_ISREG(st->st_mode) && st->st_nlink)
		walk_bytes += (uint64_t)st->st_blocks * 512 / st->st_nlink;
	return 0;
}

/* Bytes the files under device directory @dev of @m hold (st_blocks). */
static uint64_t device_used(struct mount *m, const char *dev)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", m->root, dev);
	walk_bytes = 0;
	nftw(path, add_blocks, 32, FTW_PHYS | FTW_MOUNT);
	return walk_bytes;
}

struct pathlist {
	char **p;
	size_t n;
};

static void pathlist_add(struct pathlist *l, const char *p)
{
	l->p = xrealloc(l->p, (l->n + 1) * sizeof(*l->p));
	l->p[l->n++] = xstrdup(p);
}

static void pathlist_free(struct pathlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->p[i]);
	free(l->p);
	l->p = NULL;
	l->n = 0;
}

static struct pathlist *walk_list;
static bool walk_dirs;

static int add_path(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)ftw;
	if ((type == FTW_F && S_ISREG(st->st_mode)) ||
	    (walk_dirs && (type == FTW_D || type == FTW_DP)))
		pathlist_add(walk_list, path);
	return 0;
}

/* Regular files (and directories if @dirs) under @dir into @l, sorted. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_tree(const char *dir, bool dirs, struct pathlist *l)
{
	size_t first = l->n;

	walk_list = l;
	walk_dirs = dirs;
	nftw(dir, add_path, 32, FTW_PHYS | FTW_MOUNT);
	qsort(l->p + first, l->n - first, sizeof(*l->p), cmp_str);
}

/* ---- formatting ---- */

static const char *human(uint64_t v, char *buf, size_t len)
{
	static const char unit[] = "BKMGTP";
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%" PRIu64, v);
	else
		snprintf(buf, len, "%.*f%c", d < 10 ? 1 : 0, d, unit[u]);
	return buf;
}

/* ---- devices ---- */

static int cmd_devices(int argc, char **argv)
{
	struct mount *ms;
	int n = mounts_of_args(argc, argv, &ms);

	if (n < 0)
		return EXIT_USAGE;
	if (json)
		jopen(NULL, '[');
	for (int i = 0; i < n; i++) {
		struct mount *m = &ms[i];

		if (!json)
			printf("%s%s\n%-10s %-8s %-7s %9s %9s %9s %4s %9s %9s %-9s %s\n",
			       i ? "\n" : "", m->root, "DEVICE", "KIND", "NODES",
			       "SIZE", "FREE", "CDMFS", "TIER", "LAT_NS", "BW_MBS",
			       "SIMULATED", "HEALTH");
		for (size_t j = 0; j < m->ndev; j++) {
			struct device *d = &m->dev[j];
			char a[16], b[16], c[16], t[16], l[24], w[24];

			d->used = device_used(m, d->name);
			if (json) {
				jopen(NULL, '{');
				jstr("mount", m->root);
				jstr("name", d->name);
				jstr("kind", d->kind);
				jstr("backend", d->backend);
				jstr("nodes", d->nodes);
				ju64("size", d->size);
				ju64("free", d->free);
				ju64("used_by_files", d->used);
				if (d->tier >= 0)
					jint("tier", d->tier);
				else
					jstr("tier", NULL);
#define JOPT(k, v) do { if (v) ju64(k, v); else jstr(k, NULL); } while (0)
				JOPT("read_latency_ns", d->rlat);
				JOPT("write_latency_ns", d->wlat);
				JOPT("read_bandwidth_mbs", d->rbw);
				JOPT("write_bandwidth_mbs", d->wbw);
#undef JOPT
				jbool("simulated", d->simulated);
				jstr("health", d->health);
				jclose('}');
				continue;
			}
			snprintf(t, sizeof(t), "%d", d->tier);
			snprintf(l, sizeof(l), "%" PRIu64 "/%" PRIu64, d->rlat, d->wlat);
			snprintf(w, sizeof(w), "%" PRIu64 "/%" PRIu64, d->rbw, d->wbw);
			printf("%-10s %-8s %-7s %9s %9s %9s %4s %9s %9s %-9s %s\n",
			       d->name, d->kind, d->nodes, human(d->size, a, sizeof(a)),
			       human(d->free, b, sizeof(b)),
			       human(d->used, c, sizeof(c)),
			       d->tier >= 0 ? t : "-", d->rlat || d->wlat ? l : "-",
			       d->rbw || d->wbw ? w : "-",
			       d->simulated ? "yes" : "no",
			       d->health ? d->health : "-");
		}
	}
	if (json)
		jclose(']');
	mounts_free(ms, n);
	return 0;
}

/* ---- migrations of files ---- */

enum mig_state { MIG_IDLE, MIG_RUNNING, MIG_QUEUED, MIG_DONE, MIG_FAILED };

struct mig {
	enum mig_state state;
	uint64_t done, total;		/* running: bytes */
	char policy[CDM_POLICY_STRLEN];	/* running: toward; else last */
	char *text;			/* the attribute as read */
};

static const char *const mig_names[] = {
	[MIG_IDLE] = "idle", [MIG_RUNNING] = "running",
	[MIG_QUEUED] = "queued", [MIG_DONE] = "done", [MIG_FAILED] = "failed",
};

/* Parse user.cdm.migration (README: idle | running D/T bytes to P ... |
 * idle, last: done N bytes to P ... | idle, last: failed ... to P ...). */
static int read_mig(const char *path, struct mig *m)
{
	char *v = get_attr(path, CDM_XATTR_MIGRATION);
	unsigned long long d, t;
	const char *to;

	memset(m, 0, sizeof(*m));
	if (!v)
		return -errno;
	m->text = v;
	if (sscanf(v, "running %llu/%llu bytes to %127s", &d, &t,
		   m->policy) == 3) {
		m->state = strstr(v, " (queued)") ? MIG_QUEUED : MIG_RUNNING;
		m->done = d;
		m->total = t;
	} else if (!strncmp(v, "idle, last: done ", 17)) {
		m->state = MIG_DONE;
		if (sscanf(v, "idle, last: done %llu bytes to %127s", &d,
			   m->policy) == 2)
			m->done = d;
	} else if (!strncmp(v, "idle, last: failed", 18)) {
		m->state = MIG_FAILED;
		/* the policy follows the last " to " before any "(superseded" */
		const char *lim = strstr(v, " (superseded"), *p = v;

		to = NULL;
		while ((p = strstr(p, " to ")) && (!lim || p < lim)) {
			to = p;
			p += 4;
		}
		if (to)
			sscanf(to + 4, "%127s", m->policy);
	} else {
		m->state = MIG_IDLE;
	}
	return 0;
}

/* Resident bytes per device: "DEV=BYTES ..." into @bytes (per m->dev). */
static int read_residency(const char *path, struct mount *m, uint64_t *bytes,
			  uint64_t *lost, char **text)
{
	char *v = get_attr(path, CDM_XATTR_RESIDENCY), *save = NULL, *tok;
	char *copy;

	*lost = 0;
	memset(bytes, 0, m->ndev * sizeof(*bytes));
	if (!v)
		return -errno;
	copy = xstrdup(v);
	for (tok = strtok_r(copy, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		char *eq = strchr(tok, '=');
		struct device *d;

		if (!eq)
			continue;
		*eq = '\0';
		if (!strcmp(tok, "lost"))
			*lost = strtoull(eq + 1, NULL, 10);
		else if ((d = mount_device(m, tok)))
			bytes[d - m->dev] = strtoull(eq + 1, NULL, 10);
	}
	free(copy);
	if (text)
		*text = v;
	else
		free(v);
	return 0;
}

static int read_u64_attr(const char *path, const char *name, uint64_t *v)
{
	char *s = get_attr(path, name);

	if (!s)
		return -errno;
	*v = strtoull(s, NULL, 10);
	free(s);
	return 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* ---- status ---- */

struct running {
	char *path;
	struct mig m;
	double rate;		/* bytes/s over the sampling interval */
};

static int cmd_status(int argc, char **argv)
{
	struct mount *ms;
	int n = mounts_of_args(argc, argv, &ms), ret = 0;

	if (n < 0)
		return EXIT_USAGE;
	if (json)
		jopen(NULL, '[');
	for (int i = 0; i < n; i++) {
		struct mount *m = &ms[i];
		char *stats = get_attr(m->root, CDM_XATTR_STATS);
		char *dp = get_attr(m->root, CDM_XATTR_DATAPATH);
		char *transport = NULL, *save = NULL, *tok;
		struct pathlist files = { 0 };
		struct running *run = NULL;
		size_t nrun = 0, nkeys = 0;
		char **keys = NULL;
		double t0, t1;

		if (!stats) {
			fprintf(stderr, "%s: %s: cannot read %s: %s\n", prog,
				m->root, CDM_XATTR_STATS, strerror(errno));
			ret = 1;
			free(dp);
			continue;
		}
		/* every file's migration: the xattrs have no mount-wide list */
		walk_tree(m->root, false, &files);
		t0 = now();
		for (size_t j = 0; j < files.n; j++) {
			struct mig mg;

			if (read_mig(files.p[j], &mg))
				continue;	/* gone meanwhile */
			if (mg.state != MIG_RUNNING && mg.state != MIG_QUEUED) {
				free(mg.text);
				continue;
			}
			run = xrealloc(run, (nrun + 1) * sizeof(*run));
			run[nrun].path = files.p[j];
			run[nrun].m = mg;
			run[nrun].rate = NAN;
			nrun++;
		}
		if (nrun) {
			/* a rate needs two samples */
			usleep(500000);
			t1 = now();
			for (size_t j = 0; j < nrun; j++) {
				struct mig mg;

				if (read_mig(run[j].path, &mg))
					continue;
				if ((mg.state == MIG_RUNNING || mg.state == MIG_QUEUED) &&
				    !strcmp(mg.policy, run[j].m.policy) &&
				    mg.done >= run[j].m.done)
					run[j].rate = (double)(mg.done - run[j].m.done) /
						      (t1 - t0);
				else if (mg.state == MIG_DONE)
					run[j].rate = (double)(run[j].m.total - run[j].m.done) /
						      (t1 - t0);
				free(mg.text);
			}
		}
		/* "op=count ..." (and transport=NAME where the daemon has it) */
		for (tok = strtok_r(stats, " \n", &save); tok;
		     tok = strtok_r(NULL, " \n", &save)) {
			char *eq = strchr(tok, '=');

			if (!eq)
				continue;
			*eq = '\0';
			if (!strcmp(tok, "transport")) {
				transport = eq + 1;
				continue;
			}
			keys = xrealloc(keys, (nkeys + 1) * sizeof(*keys));
			keys[nkeys++] = tok;
		}
		if (json) {
			jopen(NULL, '{');
			jstr("mount", m->root);
			jstr("transport", transport);
			jstr("datapath", dp);
			jopen("counters", '{');
		} else {
			printf("%s%s\n  transport: %s\n  data path: %s\n  counters:",
			       i ? "\n" : "", m->root,
			       transport ? transport : "- (not reported by this daemon)",
			       dp ? dp : "- (not reported by this daemon)");
		}
		for (size_t k = 0; k < nkeys; k++) {
			const char *v = keys[k] + strlen(keys[k]) + 1;

			if (json) {
				jkey(keys[k]);
				printf("%" PRIu64, (uint64_t)strtoull(v, NULL, 10));
			} else {
				printf("%s%s=%s", k % 6 ? " " : "\n    ", keys[k], v);
			}
		}
		free(keys);
		if (json) {
			jclose('}');
			jopen("migrations", '[');
		} else {
			printf("\n  migrations: %zu running or queued\n", nrun);
		}
		for (size_t j = 0; j < nrun; j++) {
			struct running *r = &run[j];
			const char *rel = r->path + strlen(m->root);

			if (json) {
				jopen(NULL, '{');
				jstr("path", r->path);
				jstr("state", mig_names[r->m.state]);
				ju64("done", r->m.done);
				ju64("total", r->m.total);
				jstr("policy", r->m.policy);
				jdbl("rate_bytes_per_s", r->rate);
				jclose('}');
			} else {
				char a[16], b[16], c[16];

				printf("    %-7s %s/%s to %s %s%s%s %s\n",
				       mig_names[r->m.state],
				       human(r->m.done, a, sizeof(a)),
				       human(r->m.total, b, sizeof(b)), r->m.policy,
				       isfinite(r->rate) ? human((uint64_t)r->rate, c, sizeof(c)) : "-",
				       "/s", "", *rel ? rel : "/");
			}
			free(r->m.text);
		}
		if (json) {
			jclose(']');
			jclose('}');
		}
		free(run);
		pathlist_free(&files);
		free(stats);
		free(dp);
	}
	if (json)
		jclose(']');
	mounts_free(ms, n);
	return ret;
}

/* ---- ls ---- */

struct row {
	char *path;		/* as shown */
	char *abs;		/* resolved */
	bool dir;
	uint64_t size, alloc;
	char *policy;
	char *from;		/* "own", "DEV/" (device directory) or "default" */
	uint64_t *bytes;	/* per device, regular files */
	uint64_t lost, drift;
	char *residency, *migration;
	char *error;
};

/* Where @abs's policy comes from: own, its device directory's, default. */
static char *policy_source(struct mount *m, const char *abs)
{
	char devname[CDM_NAME_MAX + 8], dir[PATH_MAX], *s;

	if (has_own_policy(abs))
		return xstrdup("own");
	if (!device_of(m, abs, devname, sizeof(devname)))
		return xstrdup("default");
	snprintf(dir, sizeof(dir), "%s/%s", m->root, devname);
	if (strcmp(dir, abs) && has_own_policy(dir)) {
		if (asprintf(&s, "%s/", devname) < 0)
			return xstrdup("?");
		return s;
	}
	return xstrdup("default");
}

static void row_fill(struct mount *m, const char *shown, struct row *r)
{
	char abs[PATH_MAX];
	struct stat st;
	char *mig;

	memset(r, 0, sizeof(*r));
	r->path = xstrdup(shown);
	r->bytes = xmalloc(m->ndev * sizeof(*r->bytes));
	if (lstat(shown, &st) || !realpath(shown, abs)) {
		r->error = xstrdup(strerror(errno));
		return;
	}
	r->abs = xstrdup(abs);
	r->dir = S_ISDIR(st.st_mode);
	r->size = (uint64_t)st.st_size;
	r->alloc = (uint64_t)st.st_blocks * 512;
	if (!strcmp(abs, m->root)) {
		r->policy = xstrdup("-");
		r->from = xstrdup("-");
		return;
	}
	r->policy = get_attr(abs, CDM_XATTR_POLICY);
	if (!r->policy) {
		r->error = xstrdup(strerror(errno));
		return;
	}
	r->from = policy_source(m, abs);
	if (r->dir)
		return;
	if (read_residency(abs, m, r->bytes, &r->lost, &r->residency) ||
	    read_u64_attr(abs, CDM_XATTR_DRIFT, &r->drift)) {
		r->error = xstrdup(strerror(errno));
		return;
	}
	mig = get_attr(abs, CDM_XATTR_MIGRATION);
	r->migration = mig ? mig : xstrdup("?");
}

static void row_free(struct row *r)
{
	free(r->path);
	free(r->abs);
	free(r->policy);
	free(r->from);
	free(r->bytes);
	free(r->residency);
	free(r->migration);
	free(r->error);
}

static int ls_one(const char *arg, bool recursive)
{
	char abs[PATH_MAX], root[PATH_MAX];
	struct pathlist l = { 0 };
	struct mount m;
	struct stat st;
	struct row *rows;
	bool *col;
	int ret = 0, pw = 32;

	if (lstat(arg, &st) || !realpath(arg, abs)) {
		fprintf(stderr, "%s: %s: %s\n", prog, arg, strerror(errno));
		return 1;
	}
	if (find_root(abs, root)) {
		fprintf(stderr, "%s: %s: not on a cdmfs mount\n", prog, arg);
		return 1;
	}
	if (mount_load(root, &m)) {
		fprintf(stderr, "%s: %s: cannot read %s: %s\n", prog, root,
			CDM_XATTR_DEVICES, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		pathlist_add(&l, arg);
	} else if (recursive) {
		walk_tree(arg, true, &l);
		/* the argument itself first, as walked; its own line stays */
	} else {
		DIR *d = opendir(arg);
		struct dirent *de;
		char p[PATH_MAX];

		if (!d) {
			fprintf(stderr, "%s: %s: %s\n", prog, arg, strerror(errno));
			mount_free(&m);
			return 1;
		}
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			snprintf(p, sizeof(p), "%s%s%s", arg,
				 arg[strlen(arg) - 1] == '/' ? "" : "/", de->d_name);
			pathlist_add(&l, p);
		}
		closedir(d);
		qsort(l.p, l.n, sizeof(*l.p), cmp_str);
	}
	rows = xmalloc((l.n + 1) * sizeof(*rows));
	col = xmalloc(m.ndev * sizeof(*col));
	for (size_t i = 0; i < l.n; i++) {
		struct stat s;

		/* a symlink or a device node has no placement */
		if (lstat(l.p[i], &s) || !(S_ISREG(s.st_mode) || S_ISDIR(s.st_mode)))
			continue;
		row_fill(&m, l.p[i], &rows[i]);
		for (size_t j = 0; j < m.ndev; j++)
			col[j] |= rows[i].bytes[j] != 0;
	}
	/* the PATH column as wide as the longest path, so columns line up */
	for (size_t i = 0; i < l.n; i++)
		if (rows[i].path && !rows[i].error) {
			size_t n = strlen(rows[i].path);

			if (n > (size_t)pw)
				pw = n > 200 ? 200 : (int)n;
		}
	if (!json) {
		printf("%-*s %9s %-24s %-8s", pw, "PATH", "SIZE", "POLICY", "FROM");
		for (size_t j = 0; j < m.ndev; j++)
			if (col[j])
				printf(" %9s", m.dev[j].name);
		printf(" %9s\n", "DRIFT");
	}
	for (size_t i = 0; i < l.n; i++) {
		struct row *r = &rows[i];
		char a[16];

		if (!r->path)
			continue;
		if (r->error) {
			fprintf(stderr, "%s: %s: %s\n", prog, r->path, r->error);
			ret = 1;
			row_free(r);
			continue;
		}
		if (json) {
			jopen(NULL, '{');
			jstr("path", r->abs);
			jstr("type", r->dir ? "directory" : "file");
			ju64("size", r->size);
			ju64("allocated", r->alloc);
			jstr("policy", r->policy);
			jstr("policy_from", r->from);
			if (!r->dir) {
				jopen("residency", '{');
				for (size_t j = 0; j < m.ndev; j++)
					if (r->bytes[j])
						ju64(m.dev[j].name, r->bytes[j]);
				jclose('}');
				ju64("lost", r->lost);
				ju64("drift", r->drift);
				jstr("migration", r->migration);
			}
			jclose('}');
		} else {
			printf("%-*s %9s %-24s %-8s", pw, r->path,
			       r->dir ? "-" : human(r->size, a, sizeof(a)),
			       r->policy, r->from);
			for (size_t j = 0; j < m.ndev; j++)
				if (col[j])
					printf(" %9s", r->dir ? "-" :
					       human(r->bytes[j], a, sizeof(a)));
			printf(" %9s%s\n", r->dir ? "-" : human(r->drift, a, sizeof(a)),
			       r->lost ? " LOST DATA" : "");
		}
		row_free(r);
	}
	free(rows);
	free(col);
	pathlist_free(&l);
	mount_free(&m);
	return ret;
}

static int cmd_ls(int argc, char **argv)
{
	bool recursive = false;
	int ret = 0, i = 0;

	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "-R") || !strcmp(argv[i], "--recursive"))
			recursive = true;
		else if (!strcmp(argv[i], "--"))
			{ i++; break; }
		else {
			fprintf(stderr, "%s: ls: unknown option %s\n", prog, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		fprintf(stderr, "%s: ls: no PATH given\n", prog);
		return EXIT_USAGE;
	}
	if (json)
		jopen(NULL, '[');
	for (; i < argc; i++)
		ret |= ls_one(argv[i], recursive);
	if (json)
		jclose(']');
	return ret;
}

/* ---- migrate ---- */

struct target {
	char *path;		/* as given or walked */
	bool dir;
	uint64_t estimate;	/* bytes resident at the start (st_blocks) */
	int set_err;		/* -errno of setxattr, 1 if not tried */
	char want[CDM_POLICY_STRLEN];	/* policy in force after the set */
	struct mig m;		/* last seen */
	bool finished;
	uint64_t drift;
	const char *verdict;	/* NULL: got there */
};

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/*
 * Check @policy against the mount at @root the way the daemon will
 * (cdm_policy_parse over the mount's device names); its canonical text
 * into @canon.  0 or -errno.
 */
static int check_policy(struct mount *m, const char *policy, char *canon,
			size_t len)
{
	struct cdm_device_list list = { 0 };
	struct cdm_policy p;
	int ret = 0;

	for (size_t i = 0; i < m->ndev && !ret; i++) {
		struct cdm_device d = { .node = -1, .tier = -1 };

		snprintf(d.name, sizeof(d.name), "%s", m->dev[i].name);
		ret = cdm_device_list_add(&list, &d);
	}
	if (!ret)
		ret = cdm_policy_parse(policy, strlen(policy), &list, &p);
	if (!ret && p.mode == CDM_POLICY_INHERIT)
		snprintf(canon, len, "inherit");
	else if (!ret && cdm_policy_format(&p, &list, canon, len) < 0)
		ret = -ENAMETOOLONG;
	cdm_device_list_free(&list);
	return ret;
}

static void progress(struct target *t, size_t n, double t0, bool final)
{
	uint64_t done = 0, total = 0;
	size_t files = 0, nfiles = 0;
	double el = now() - t0, rate, frac;
	char a[16], b[16], c[16], eta[32] = "-";
	int width = 30, fill;

	for (size_t i = 0; i < n; i++) {
		uint64_t tot;

		if (t[i].dir || t[i].set_err)
			continue;
		nfiles++;
		tot = t[i].m.total > t[i].estimate ? t[i].m.total : t[i].estimate;
		total += tot;
		if (t[i].finished) {
			done += tot;
			files++;
		} else if (t[i].m.state == MIG_RUNNING || t[i].m.state == MIG_QUEUED) {
			done += t[i].m.done < tot ? t[i].m.done : tot;
		}
	}
	rate = el > 0 ? (double)done / el : 0;
	frac = total ? (double)done / (double)total : (files == nfiles ? 1 : 0);
	if (rate > 0 && !final) {
		double s = (double)(total - done) / rate;

		if (s < 60)
			snprintf(eta, sizeof(eta), "%.0fs", ceil(s));
		else
			snprintf(eta, sizeof(eta), "%d:%02d", (int)s / 60, (int)s % 60);
	} else if (final) {
		snprintf(eta, sizeof(eta), "%.1fs", el);
	}
	fill = (int)(frac * width + 0.5);
	fprintf(stderr, "\r[%.*s%*s] %3d%% %s/%s %s/s %s %s %zu/%zu files\033[K%s",
		fill, "##############################", width - fill, "",
		(int)(frac * 100 + 0.5), human(done, a, sizeof(a)),
		human(total, b, sizeof(b)), human((uint64_t)rate, c, sizeof(c)),
		final ? "in" : "ETA", eta, files, nfiles, final ? "\n" : "");
}

/* After the migration of @t ended: did its pages get where it was sent? */
static void verdict(struct target *t)
{
	if (t->set_err) {
		t->verdict = "policy not set";
		return;
	}
	if (t->dir)
		return;
	if (read_mig(t->path, &t->m)) {
		t->verdict = "cannot read user.cdm.migration";
		return;
	}
	if (t->m.state == MIG_FAILED) {
		t->verdict = "migration failed";
	} else if (t->m.state == MIG_RUNNING || t->m.state == MIG_QUEUED) {
		t->verdict = "still running";
	} else if (t->m.state == MIG_DONE && strcmp(t->m.policy, t->want)) {
		t->verdict = "a newer policy took over";
	} else if (read_u64_attr(t->path, CDM_XATTR_DRIFT, &t->drift)) {
		t->verdict = "cannot read user.cdm.drift";
	} else if (t->drift) {
		t->verdict = "pages outside the policy's devices";
	}
}

static int cmd_migrate(int argc, char **argv)
{
	const char *policy = NULL, *to = NULL;
	char *pol = NULL, canon[CDM_POLICY_STRLEN];
	struct target *t = NULL;
	size_t nt = 0;
	bool wait = false, tty, bad = false;
	int i, ret = 0;
	double t0;

	for (i = 0; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "--wait") || !strcmp(a, "-w")) {
			wait = true;
		} else if (!strcmp(a, "--policy") || !strcmp(a, "--to")) {
			if (i + 1 == argc) {
				fprintf(stderr, "%s: migrate: %s needs a value\n", prog, a);
				return EXIT_USAGE;
			}
			*(a[2] == 'p' ? &policy : &to) = argv[++i];
		} else if (!strncmp(a, "--policy=", 9)) {
			policy = a + 9;
		} else if (!strncmp(a, "--to=", 5)) {
			to = a + 5;
		} else {
			fprintf(stderr, "%s: migrate: unknown option %s\n", prog, a);
			return EXIT_USAGE;
		}
	}
	if (!policy == !to) {
		fprintf(stderr, "%s: migrate: give one of --policy POLICY or --to DEV\n", prog);
		return EXIT_USAGE;
	}
	if (i == argc) {
		fprintf(stderr, "%s: migrate: no PATH given\n", prog);
		return EXIT_USAGE;
	}
	if (to) {
		if (!*to || strchr(to, ':') || strchr(to, ',')) {
			fprintf(stderr, "%s: migrate: --to %s: not a device name\n", prog, to);
			return EXIT_USAGE;
		}
		if (asprintf(&pol, "bind:%s", to) < 0)
			return 1;
	} else {
		pol = xstrdup(policy);
	}

	/* everything is checked before anything is changed */
	for (; i < argc; i++) {
		char abs[PATH_MAX], root[PATH_MAX], devname[CDM_NAME_MAX + 8];
		struct pathlist l = { 0 };
		struct mount m;
		struct stat st;
		int r;

		if (lstat(argv[i], &st) || !realpath(argv[i], abs)) {
			fprintf(stderr, "%s: %s: %s\n", prog, argv[i], strerror(errno));
			bad = true;
			continue;
		}
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "%s: %s: not a regular file or directory\n",
				prog, argv[i]);
			bad = true;
			continue;
		}
		if (find_root(abs, root)) {
			fprintf(stderr, "%s: %s: not on a cdmfs mount\n", prog, argv[i]);
			bad = true;
			continue;
		}
		if (mount_load(root, &m)) {
			fprintf(stderr, "%s: %s: cannot read %s: %s\n", prog, root,
				CDM_XATTR_DEVICES, strerror(errno));
			bad = true;
			continue;
		}
		if (!device_of(&m, abs, devname, sizeof(devname))) {
			fprintf(stderr, "%s: %s: the mount root has no placement; name files or device directories\n",
				prog, argv[i]);
			bad = true;
			mount_free(&m);
			continue;
		}
		r = check_policy(&m, pol, canon, sizeof(canon));
		if (r) {
			fprintf(stderr, "%s: %s: policy '%s': %s\n", prog, argv[i], pol,
				r == -ENODEV ? "no such device on this mount" :
				r == -EINVAL ? "malformed (bind:DEV, preferred:DEV, interleave:DEV,DEV..., weighted-interleave:DEV,DEV..., inherit)" :
				strerror(-r));
			bad = true;
			mount_free(&m);
			continue;
		}
		mount_free(&m);
		if (S_ISDIR(st.st_mode))
			walk_tree(argv[i], true, &l);
		else
			pathlist_add(&l, argv[i]);
		for (size_t j = 0; j < l.n; j++) {
			struct stat s;
			struct target *x;

			if (lstat(l.p[j], &s)) {
				fprintf(stderr, "%s: %s: %s\n", prog, l.p[j], strerror(errno));
				bad = true;
				continue;
			}
			/* the daemon lets only the owner or root change placement */
			if (geteuid() && s.st_uid != geteuid()) {
				fprintf(stderr, "%s: %s: %s (only its owner or root changes its placement)\n",
					prog, l.p[j], strerror(EPERM));
				bad = true;
				continue;
			}
			t = xrealloc(t, (nt + 1) * sizeof(*t));
			x = &t[nt++];
			memset(x, 0, sizeof(*x));
			x->path = xstrdup(l.p[j]);
			x->dir = S_ISDIR(s.st_mode);
			x->estimate = (uint64_t)s.st_blocks * 512;
			x->set_err = 1;
		}
		pathlist_free(&l);
	}
	if (bad) {
		fprintf(stderr, "%s: migrate: nothing changed\n", prog);
		ret = EXIT_USAGE;
		goto out;
	}

	/* Ctrl-C: stop setting and waiting; the daemon finishes what it began */
	signal(SIGINT, on_sigint);
	/*
	 * Files first, directories after (so new files follow too): a file
	 * without a policy of its own follows its device directory's, and its
	 * own migration is what moves its pages.
	 */
	for (size_t k = 0; k < 2 * nt && !interrupted; k++) {
		struct target *x = &t[k % nt];
		char *now_pol;

		if (x->dir != (k >= nt))
			continue;

		x->set_err = lsetxattr(x->path, CDM_XATTR_POLICY, pol,
				       strlen(pol), 0) ? -errno : 0;
		if (x->set_err) {
			fprintf(stderr, "%s: %s: cannot set policy %s: %s%s\n", prog,
				x->path, pol, strerror(-x->set_err),
				x->set_err == -ENOSPC ?
				" (its pages do not fit the target devices)" : "");
			continue;
		}
		now_pol = get_attr(x->path, CDM_XATTR_POLICY);
		snprintf(x->want, sizeof(x->want), "%s", now_pol ? now_pol : canon);
		free(now_pol);
		if (!wait && !json && !x->dir)
			printf("%s: migrating to %s\n", x->path, x->want);
	}
	t0 = now();
	tty = isatty(STDERR_FILENO) && !json;
	while (wait && !interrupted) {
		size_t left = 0;

		for (size_t j = 0; j < nt; j++) {
			struct target *x = &t[j];

			if (x->dir || x->set_err || x->finished)
				continue;
			free(x->m.text);
			if (read_mig(x->path, &x->m) && errno == ENOENT) {
				x->finished = true;	/* unlinked meanwhile */
				continue;
			}
			if (x->m.state == MIG_RUNNING || x->m.state == MIG_QUEUED) {
				left++;
				continue;
			}
			x->finished = true;
			if (!tty && !json)
				printf("%s: %s\n", x->path,
				       x->m.text ? x->m.text : "gone");
		}
		if (tty)
			progress(t, nt, t0, !left);
		if (!left)
			break;
		usleep(tty ? 100000 : 200000);
	}
	if (interrupted) {
		size_t running = 0;

		for (size_t j = 0; j < nt; j++)
			running += !t[j].dir && !t[j].set_err && !t[j].finished;
		if (tty)
			fputc('\n', stderr);
		fprintf(stderr, "%s: interrupted: %zu files not waited for; their migrations continue in the daemon (cdmfsctl status shows them)\n",
			prog, running);
	}
	for (size_t j = 0; j < nt; j++) {
		struct target *x = &t[j];

		free(x->m.text);
		x->m.text = NULL;
		if (x->set_err)
			x->verdict = x->set_err == 1 ? "not started (interrupted)" :
				"policy not set";
		else if (wait && !interrupted)
			verdict(x);
		if (x->verdict) {
			ret = 1;
			if (!json && x->set_err == 0)
				fprintf(stderr, "%s: %s: not where it was sent: %s (%s%s%" PRIu64 " bytes of drift)\n",
					prog, x->path, x->verdict,
					x->m.text ? x->m.text : "",
					x->m.text ? "; " : "", x->drift);
		}
	}
	if (interrupted)
		ret = EXIT_INTR;
	if (json) {
		jopen(NULL, '{');
		jstr("policy", pol);
		jbool("waited", wait && !interrupted);
		jbool("interrupted", interrupted);
		jbool("ok", ret == 0);
		jopen("files", '[');
		for (size_t j = 0; j < nt; j++) {
			struct target *x = &t[j];

			jopen(NULL, '{');
			jstr("path", x->path);
			jstr("type", x->dir ? "directory" : "file");
			jstr("error", x->set_err == 0 ? NULL : x->set_err == 1 ?
			     "not started" : strerror(-x->set_err));
			jstr("policy", x->set_err ? NULL : x->want);
			if (!x->dir && wait && !interrupted && !x->set_err) {
				jstr("state", mig_names[x->m.state]);
				jstr("migration", x->m.text);
				ju64("drift", x->drift);
			}
			jbool("ok", !x->verdict);
			jclose('}');
		}
		jclose(']');
		jclose('}');
	} else if (wait && !interrupted) {
		size_t ok = 0, files = 0;

		for (size_t j = 0; j < nt; j++) {
			files += !t[j].dir;
			ok += !t[j].dir && !t[j].verdict;
		}
		printf("%zu of %zu files on %s\n", ok, files, pol);
	}
out:
	for (size_t j = 0; j < nt; j++) {
		free(t[j].path);
		free(t[j].m.text);
	}
	free(t);
	free(pol);
	return ret;
}

/* ---- metrics: Prometheus text exposition (textfile collector) ---- */

struct mstate {
	struct mount *m;
	char *stats;		/* NUL-separated "key\0value" tokens */
	char **keys;
	size_t nkeys;
	uint64_t running, queued, remaining;
};

static void label(const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			printf("\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", stdout);
		else
			putchar(*v);
	}
}

static void mhead(const char *name, const char *type, const char *help)
{
	if (!json)
		printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample; labels are NULL-terminated name, value pairs. */
static void sample(const char *name, double v, ...)
{
	va_list ap;
	const char *k, *sep = "";

	va_start(ap, v);
	if (json) {
		jopen(NULL, '{');
		jstr("name", name);
		jopen("labels", '{');
		while ((k = va_arg(ap, const char *)))
			jstr(k, va_arg(ap, const char *));
		jclose('}');
		jdbl("value", v);
		jclose('}');
	} else {
		printf("%s{", name);
		while ((k = va_arg(ap, const char *))) {
			printf("%s%s=\"", sep, k);
			label(va_arg(ap, const char *));
			putchar('"');
			sep = ",";
		}
		printf("} %.17g\n", v);
	}
	va_end(ap);
}

static const char *stat_value(struct mstate *s, const char *key)
{
	for (size_t k = 0; k < s->nkeys; k++)
		if (!strcmp(s->keys[k], key))
			return s->keys[k] + strlen(key) + 1;
	return NULL;
}

static bool is_op(const char *key)
{
	return strcmp(key, "inodes") && strncmp(key, "passthrough_", 12) &&
	       strcmp(key, "transport");
}

static int cmd_metrics(int argc, char **argv)
{
	struct mount *ms;
	struct mstate *st;
	int n = mounts_of_args(argc, argv, &ms), ret = 0;

	if (n < 0)
		return EXIT_USAGE;
	st = xmalloc((size_t)n * sizeof(*st));
	for (int i = 0; i < n; i++) {
		struct mstate *s = &st[i];
		struct pathlist files = { 0 };
		char *save = NULL, *tok;

		s->m = &ms[i];
		for (size_t j = 0; j < ms[i].ndev; j++)
			ms[i].dev[j].used = device_used(&ms[i], ms[i].dev[j].name);
		s->stats = get_attr(ms[i].root, CDM_XATTR_STATS);
		if (!s->stats) {
			fprintf(stderr, "%s: %s: cannot read %s: %s\n", prog,
				ms[i].root, CDM_XATTR_STATS, strerror(errno));
			ret = 1;
		}
		for (tok = s->stats ? strtok_r(s->stats, " \n", &save) : NULL; tok;
		     tok = strtok_r(NULL, " \n", &save)) {
			char *eq = strchr(tok, '=');

			if (!eq)
				continue;
			*eq = '\0';
			s->keys = xrealloc(s->keys, (s->nkeys + 1) * sizeof(*s->keys));
			s->keys[s->nkeys++] = tok;
		}
		walk_tree(ms[i].root, false, &files);
		for (size_t j = 0; j < files.n; j++) {
			struct mig mg;

			if (read_mig(files.p[j], &mg))
				continue;
			if (mg.state == MIG_RUNNING)
				s->running++;
			if (mg.state == MIG_QUEUED)
				s->queued++;
			if (mg.state == MIG_RUNNING || mg.state == MIG_QUEUED)
				s->remaining += mg.total > mg.done ? mg.total - mg.done : 0;
			free(mg.text);
		}
		pathlist_free(&files);
	}
	if (json)
		jopen(NULL, '[');
#define EACH_DEV for (int i = 0; i < n; i++) for (size_t j = 0; j < ms[i].ndev; j++)
#define DEVL(d) "mount", ms[i].root, "device", (d)->name
	mhead("cdmfs_device_info", "gauge", "A cdmfs device directory; its description in labels.");
	EACH_DEV {
		struct device *d = &ms[i].dev[j];

		sample("cdmfs_device_info", 1, DEVL(d), "kind", d->kind,
		       "backend", d->backend, "nodes", d->nodes, "simulated",
		       d->simulated ? "yes" : "no", (char *)NULL);
	}
	mhead("cdmfs_device_size_bytes", "gauge", "Capacity of the device.");
	EACH_DEV sample("cdmfs_device_size_bytes", (double)ms[i].dev[j].size,
			DEVL(&ms[i].dev[j]), (char *)NULL);
	mhead("cdmfs_device_free_bytes", "gauge", "Free memory of the device for new cdmfs pages.");
	EACH_DEV sample("cdmfs_device_free_bytes", (double)ms[i].dev[j].free,
			DEVL(&ms[i].dev[j]), (char *)NULL);
	mhead("cdmfs_device_used_bytes", "gauge", "Bytes allocated by the files in the device's directory.");
	EACH_DEV sample("cdmfs_device_used_bytes", (double)ms[i].dev[j].used,
			DEVL(&ms[i].dev[j]), (char *)NULL);
	mhead("cdmfs_device_tier", "gauge", "The kernel's memory tier of the device (where known).");
	EACH_DEV if (ms[i].dev[j].tier >= 0)
		sample("cdmfs_device_tier", ms[i].dev[j].tier,
		       DEVL(&ms[i].dev[j]), (char *)NULL);
	mhead("cdmfs_device_read_latency_seconds", "gauge", "HMAT read latency from the nearest initiator (where known).");
	EACH_DEV if (ms[i].dev[j].rlat)
		sample("cdmfs_device_read_latency_seconds", (double)ms[i].dev[j].rlat / 1e9,
		       DEVL(&ms[i].dev[j]), (char *)NULL);
	mhead("cdmfs_device_read_bandwidth_bytes", "gauge", "HMAT read bandwidth in bytes/s (where known).");
	EACH_DEV if (ms[i].dev[j].rbw)
		sample("cdmfs_device_read_bandwidth_bytes", (double)ms[i].dev[j].rbw * 1048576,
		       DEVL(&ms[i].dev[j]), (char *)NULL);
	mhead("cdmfs_device_healthy", "gauge", "1 while a helper-module region is online, 0 once offline or dead.");
	EACH_DEV if (ms[i].dev[j].health)
		sample("cdmfs_device_healthy", !strcmp(ms[i].dev[j].health, "online"),
		       DEVL(&ms[i].dev[j]), "health", ms[i].dev[j].health, (char *)NULL);
	mhead("cdmfs_requests_total", "counter", "FUSE requests the daemon served, by operation.");
	for (int i = 0; i < n; i++)
		for (size_t k = 0; k < st[i].nkeys; k++)
			if (is_op(st[i].keys[k]))
				sample("cdmfs_requests_total",
				       strtod(stat_value(&st[i], st[i].keys[k]), NULL),
				       "mount", ms[i].root, "op", st[i].keys[k], (char *)NULL);
	/* the other counters of user.cdm.stats, one metric each */
	static const struct { const char *key, *metric, *type, *help; } other[] = {
		{ "passthrough_opens", "cdmfs_passthrough_opens_total", "counter",
		  "Opens served with FUSE passthrough." },
		{ "passthrough_fallbacks", "cdmfs_passthrough_fallbacks_total", "counter",
		  "Opens that fell back to daemon-served I/O." },
		{ "inodes", "cdmfs_inodes", "gauge",
		  "Inodes the kernel holds of the mount." },
	};
	for (size_t o = 0; o < sizeof(other) / sizeof(other[0]); o++) {
		mhead(other[o].metric, other[o].type, other[o].help);
		for (int i = 0; i < n; i++)
			if (stat_value(&st[i], other[o].key))
				sample(other[o].metric,
				       strtod(stat_value(&st[i], other[o].key), NULL),
				       "mount", ms[i].root, (char *)NULL);
	}
	mhead("cdmfs_migrations", "gauge", "Files whose migration runs or waits for a worker.");
	for (int i = 0; i < n; i++) {
		sample("cdmfs_migrations", (double)st[i].running, "mount",
		       ms[i].root, "state", "running", (char *)NULL);
		sample("cdmfs_migrations", (double)st[i].queued, "mount",
		       ms[i].root, "state", "queued", (char *)NULL);
	}
	mhead("cdmfs_migration_remaining_bytes", "gauge", "Bytes the running and queued migrations have still to walk.");
	for (int i = 0; i < n; i++)
		sample("cdmfs_migration_remaining_bytes", (double)st[i].remaining,
		       "mount", ms[i].root, (char *)NULL);
#undef EACH_DEV
#undef DEVL
	if (json)
		jclose(']');
	for (int i = 0; i < n; i++) {
		free(st[i].stats);
		free(st[i].keys);
	}
	free(st);
	mounts_free(ms, n);
	return ret;
}

int main(int argc, char **argv)
{
	int i = 1;
	const char *cmd;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			usage();
		else {
			fprintf(stderr, "%s: unknown option %s\n", prog, argv[i]);
			usage();
		}
	}
	if (i == argc)
		usage();
	cmd = argv[i++];
	/* --json is accepted after the command too */
	for (int j = i; j < argc; j++) {
		if (!strcmp(argv[j], "--json")) {
			json = true;
			memmove(&argv[j], &argv[j + 1], (size_t)(argc - j) * sizeof(*argv));
			argc--;
			j--;
		}
	}
	if (!strcmp(cmd, "devices"))
		return cmd_devices(argc - i, argv + i);
	if (!strcmp(cmd, "status"))
		return cmd_status(argc - i, argv + i);
	if (!strcmp(cmd, "ls"))
		return cmd_ls(argc - i, argv + i);
	if (!strcmp(cmd, "migrate"))
		return cmd_migrate(argc - i, argv + i);
	if (!strcmp(cmd, "metrics"))
		return cmd_metrics(argc - i, argv + i);
	fprintf(stderr, "%s: unknown command %s\n", prog, cmd);
	usage();
	return EXIT_USAGE;
}
