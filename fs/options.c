// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Command line and mount option parsing: a pure function over argv, so the
 * unit suite reaches every option without a mount.
 *
 *   cdmfs [-f] [-d] [-o opt[,opt...]]... MOUNTPOINT
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdmfs/log.h"
#include "options.h"

#define THP_SHMEM "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

/*
 * Generic mount options handed to libfuse as they are (mount(8) flags).
 * suid and dev are not: the mount is nosuid,nodev unless asked, and
 * main() decides who may ask.
 */
static const char *const fuse_passthru[] = {
	"ro", "rw", "noexec", "exec",
	"async", "sync", "dirsync", "noatime", "atime", "nodiratime",
	"diratime", "relatime", "norelatime", "strictatime", "nostrictatime",
	"lazytime", "nolazytime", "allow_other", "allow_root", NULL,
};

/* Options for mount(8) and fstab only; the daemon has nothing to do. */
static const char *const ignored[] = {
	"defaults", "auto", "noauto", "user", "nouser", "users", "owner",
	"nofail", "_netdev", NULL,
};

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int append_fuse_opt(struct cdm_options *o, const char *s)
{
	size_t old = o->fuse_opts ? strlen(o->fuse_opts) : 0;
	char *p = realloc(o->fuse_opts, old + strlen(s) + 2);

	if (!p)
		return -ENOMEM;
	if (old)
		p[old++] = ',';
	strcpy(p + old, s);
	o->fuse_opts = p;
	return 0;
}

/* "NAME:SIZE" -> a simulated device. */
static int parse_sim(struct cdm_options *o, const char *v, char *err,
		     size_t errlen)
{
	struct cdm_device d = { .kind = CDM_KIND_SIM, .ops = &cdm_sim_ops,
				.node = -1, .tier = -1, .simulated = true };
	const char *colon = strchr(v, ':');
	size_t n = colon ? (size_t)(colon - v) : 0;
	int ret;

	if (!colon || n == 0 || n >= sizeof(d.name))
		return fail(err, errlen,
			    "sim=%s: expected sim=NAME:SIZE, e.g. sim=gpu0:1G", v);
	memcpy(d.name, v, n);
	d.name[n] = '\0';
	if (!cdm_device_name_valid(d.name))
		return fail(err, errlen,
			    "sim=%s: device name '%s' must be 1-31 of [A-Za-z0-9_.-]",
			    v, d.name);
	if (cdm_parse_size(colon + 1, &d.size) || d.size < 4096)
		return fail(err, errlen,
			    "sim=%s: size '%s' is not a size of at least 4K (e.g. 512M, 4G)",
			    v, colon + 1);
	ret = cdm_device_list_add(&o->sims, &d);
	if (ret == -EEXIST)
		return fail(err, errlen, "sim=%s: device '%s' given twice", v,
			    d.name);
	return ret;
}

static int parse_alias(struct cdm_options *o, const char *v, char *err,
		       size_t errlen)
{
	const char *colon = strchr(v, ':');
	char **a;

	if (!colon || colon == v || !cdm_device_name_valid(colon + 1))
		return fail(err, errlen,
			    "alias=%s: expected alias=DEVICE:NEWNAME, e.g. alias=node2:cxl0", v);
	a = realloc(o->aliases, (o->naliases + 2) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	o->aliases = a;
	a[o->naliases] = strdup(v);
	if (!a[o->naliases])
		return -ENOMEM;
	a[++o->naliases] = NULL;
	return 0;
}

static int parse_one(struct cdm_options *o, char *opt, char *err,
		     size_t errlen)
{
	char *eq = strchr(opt, '=');
	const char *v = eq ? eq + 1 : NULL;

	if (eq)
		*eq = '\0';
	if (!*opt)
		return 0;
	if (!v && in_list(ignored, opt))
		return 0;
	if (!v && in_list(fuse_passthru, opt))
		return append_fuse_opt(o, opt);
	/* the last of each pair wins, as with mount(8) */
	if (!v && (!strcmp(opt, "suid") || !strcmp(opt, "nosuid"))) {
		o->suid = opt[0] == 's';
		return 0;
	}
	if (!v && (!strcmp(opt, "dev") || !strcmp(opt, "nodev"))) {
		o->dev = opt[0] == 'd';
		return 0;
	}
	if (!strncmp(opt, "x-", 2) || !strcmp(opt, "comment"))
		return 0;	/* systemd and fstab annotations */
	if (!v) {
		if (!strcmp(opt, "nopassthrough"))
			o->nopassthrough = true;
		else if (!strcmp(opt, "keep_store"))
			o->keep_store = true;
		else if (!strcmp(opt, "nohost"))
			o->no_host = true;
		else if (!strcmp(opt, "reserve"))
			o->reserve = true;
		else if (!strcmp(opt, "debug"))
			o->debug = true;
		else if (!strcmp(opt, "enable_uring"))
			o->enable_uring = true;
		else if (!strcmp(opt, "io_uring"))
			o->io_uring = CDM_URING_ON;	/* libfuse's spelling */
		else if (!strcmp(opt, "default_permissions"))
			;	/* always on */
		else
			return fail(err, errlen, "unknown option '%s'", opt);
		return 0;
	}
	if (!strcmp(opt, "sim"))
		return parse_sim(o, v, err, errlen);
	if (!strcmp(opt, "alias"))
		return parse_alias(o, v, err, errlen);
	if (!strcmp(opt, "store") || !strcmp(opt, "sysroot")) {
		if (!*v)
			return fail(err, errlen, "%s= needs a directory", opt);
		*(!strcmp(opt, "store") ? &o->store : &o->sysroot) = v;
		return 0;
	}
	if (!strcmp(opt, "huge")) {
		if (strcmp(v, "never") && strcmp(v, "within_size") &&
		    strcmp(v, "always"))
			return fail(err, errlen,
				    "huge=%s: expected never, within_size or always", v);
		o->huge = v;
		return 0;
	}
	if (!strcmp(opt, "migrate_batch")) {
		/* whole pages; a batch is one mapping of the file */
		if (cdm_parse_size(v, &o->migrate_batch) ||
		    o->migrate_batch < 4096 || o->migrate_batch > (1ULL << 30) ||
		    o->migrate_batch % 4096)
			return fail(err, errlen,
				    "migrate_batch=%s: expected a size from 4K to 1G in whole 4K pages (e.g. 2M)", v);
		return 0;
	}
	if (!strcmp(opt, "tier_rate")) {
		if (cdm_parse_size(v, &o->tier_rate) || o->tier_rate < 4096)
			return fail(err, errlen,
				    "tier_rate=%s: expected bytes per second per device, at least 4K (e.g. 64M)", v);
		return 0;
	}
	if (!strcmp(opt, "tier_period")) {
		char *end;
		unsigned long ms;

		errno = 0;
		ms = strtoul(v, &end, 10);
		if (errno || end == v || *end || *v == '-' || ms < 100 ||
		    ms > 600000)
			return fail(err, errlen,
				    "tier_period=%s: expected milliseconds from 100 to 600000", v);
		o->tier_period_ms = (unsigned int)ms;
		return 0;
	}
	if (!strcmp(opt, "migrate_turn")) {
		char *end;
		unsigned long ms;

		errno = 0;
		ms = strtoul(v, &end, 10);
		if (errno || end == v || *end || *v == '-' || ms < 1 || ms > 60000)
			return fail(err, errlen,
				    "migrate_turn=%s: expected milliseconds from 1 to 60000", v);
		o->migrate_turn_ms = (unsigned int)ms;
		return 0;
	}
	if (!strcmp(opt, "io_uring")) {
		if (!strcmp(v, "auto"))
			o->io_uring = CDM_URING_AUTO;
		else if (!strcmp(v, "on"))
			o->io_uring = CDM_URING_ON;
		else if (!strcmp(v, "off"))
			o->io_uring = CDM_URING_OFF;
		else
			return fail(err, errlen,
				    "io_uring=%s: expected on, off or auto", v);
		return 0;
	}
	if (!strcmp(opt, "attr_timeout")) {
		char *end;

		o->attr_timeout = strtod(v, &end);
		if (end == v || *end || !(o->attr_timeout >= 0) ||
		    o->attr_timeout > 86400)
			return fail(err, errlen,
				    "attr_timeout=%s: expected seconds, 0 to 86400", v);
		return 0;
	}
	return fail(err, errlen, "unknown option '%s=%s'", opt, v);
}

/* Split a comma-separated -o argument in place and parse each option. */
static int parse_opts(struct cdm_options *o, char *s, char *err,
		      size_t errlen)
{
	char *save = NULL, *opt;
	int ret;

	for (opt = strtok_r(s, ",", &save); opt;
	     opt = strtok_r(NULL, ",", &save)) {
		ret = parse_one(o, opt, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

int cdm_options_parse(int argc, char **argv, struct cdm_options *o,
		      char *err, size_t errlen)
{
	int ret;

	memset(o, 0, sizeof(*o));
	o->sysroot = "";
	o->attr_timeout = CDM_ATTR_TIMEOUT_DEFAULT;
	o->migrate_batch = CDM_MIGRATE_BATCH_DEFAULT;
	o->migrate_turn_ms = CDM_MIGRATE_TURN_DEFAULT;
	o->tier_rate = CDM_TIER_RATE_DEFAULT;
	o->tier_period_ms = CDM_TIER_PERIOD_DEFAULT;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			o->show_help = true;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			o->show_version = true;
		} else if (!strcmp(a, "-f")) {
			o->foreground = true;
		} else if (!strcmp(a, "-d")) {
			o->foreground = o->debug = true;
		} else if (!strcmp(a, "-o") || !strncmp(a, "-o", 2)) {
			char *v = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);

			if (!v)
				return fail(err, errlen, "-o needs an argument");
			ret = parse_opts(o, v, err, errlen);
			if (ret)
				return ret;
		} else if (a[0] == '-') {
			return fail(err, errlen, "unknown option '%s'", a);
		} else if (!o->mountpoint) {
			o->mountpoint = a;
		} else if (!strcmp(o->mountpoint, "none") ||
			   !strcmp(o->mountpoint, "cdmfs")) {
			/* mount(8) style: "cdmfs none /mnt/cdm" */
			o->mountpoint = a;
		} else {
			return fail(err, errlen, "unexpected argument '%s'", a);
		}
	}
	if (!o->mountpoint && !o->show_help && !o->show_version)
		return fail(err, errlen, "no mount point given");
	return 0;
}

void cdm_options_free(struct cdm_options *o)
{
	free(o->fuse_opts);
	for (size_t i = 0; i < o->naliases; i++)
		free(o->aliases[i]);
	free(o->aliases);
	cdm_device_list_free(&o->sims);
	o->fuse_opts = NULL;
	o->aliases = NULL;
	o->naliases = 0;
}

int cdm_options_apply_aliases(const struct cdm_options *o,
			      struct cdm_device_list *list,
			      char *err, size_t errlen)
{
	for (size_t i = 0; i < o->naliases; i++) {
		const char *a = o->aliases[i], *colon = strchr(a, ':');
		char old[CDM_NAME_MAX];
		struct cdm_device *d;
		size_t n = (size_t)(colon - a);

		if (n >= sizeof(old))
			return fail(err, errlen, "alias=%s: no device '%.*s'", a,
				    (int)n, a);
		memcpy(old, a, n);
		old[n] = '\0';
		d = cdm_device_find(list, old);
		if (!d)
			return fail(err, errlen, "alias=%s: no device '%s'", a, old);
		if (cdm_device_find(list, colon + 1))
			return fail(err, errlen,
				    "alias=%s: a device '%s' exists already", a,
				    colon + 1);
		strcpy(d->name, colon + 1);
	}
	return 0;
}

/*
 * Device memory is used for big mappings, where 4 KiB faults cost (famfs
 * #65), so 2 MiB pages by default.  within_size, not always: pages past
 * EOF stay small, so a file costs no more than a tmpfs huge=within_size
 * would make it cost (a 4 KiB write into a hole of a file of 2 MiB or
 * more takes the 2 MiB around it).  The global shmem_enabled setting
 * ("never" on most distributions) is for memfd and SysV shm; a tmpfs
 * mount's huge= overrides it, except "deny" (no mount gets huge pages)
 * and "force" (every mount does).
 */
const char *cdm_huge_pick(const char *shmem_enabled)
{
	if (!shmem_enabled || strstr(shmem_enabled, "[deny]"))
		return NULL;
	return "within_size";
}

const char *cdm_huge_default(void)
{
	char buf[128] = "";
	const char *huge;
	FILE *f = fopen(THP_SHMEM, "re");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	huge = cdm_huge_pick(f ? buf : NULL);
	if (!huge)
		cdm_log(LOG_NOTICE, "store: 4 KiB pages: %s", f ?
			THP_SHMEM " is deny (no tmpfs gets huge pages)" :
			"this kernel has no transparent huge pages for tmpfs (" THP_SHMEM ")");
	return huge;
}
