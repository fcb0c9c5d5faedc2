// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * cdmfs: coherent device memory as files.
 *
 *   cdmfs [-f] [-d] [-o opt,...] MOUNTPOINT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "cdmfs/log.h"
#include "capacity.h"
#include "fs.h"
#include "health.h"
#include "lodge.h"
#include "migrator.h"
#include "ops.h"
#include "options.h"
#include "policystore.h"
#include "store.h"
#include "tiering.h"

static void usage(FILE *f)
{
	fputs("usage: cdmfs [-f] [-d] [-o option[,option...]] MOUNTPOINT\n"
	      "\n"
	      "Each coherent memory device of the machine becomes a directory at\n"
	      "the mount root; files created there live in that device's memory.\n"
	      "\n"
	      "  -f                     stay in the foreground\n"
	      "  -d                     debug output (implies -f)\n"
	      "  -o sim=NAME:SIZE       add a simulated device backed by host RAM\n"
	      "  -o alias=DEV:NAME      show device DEV as NAME\n"
	      "  -o nohost              no 'host' device for system DRAM\n"
	      "  -o store=DIR           keep the files in DIR (on tmpfs)\n"
	      "  -o keep_store          keep our store tmpfs mounted at exit\n"
	      "  -o huge=never|within_size|always  2 MiB pages in our store tmpfs\n"
	      "                         (default: its default, 4 KiB pages)\n"
	      "  -o nopassthrough       serve I/O through the daemon\n"
	      "  -o io_uring=on|off|auto  FUSE over io_uring (default auto: when the\n"
	      "                         fuse module's enable_uring is Y)\n"
	      "  -o enable_uring        set that module parameter to Y first (root)\n"
	      "  -o attr_timeout=SEC    name and attribute cache time (default 86400)\n"
	      "  -o migrate_batch=SIZE  bytes a migration moves at a time (default 2M)\n"
	      "  -o migrate_turn=MS     a file's turn of a migration worker (default 100)\n"
	      "  -o tier_rate=SIZE      bytes/s tiering moves per device (default 64M)\n"
	      "  -o tier_period=MS      tiering's decision period (default 2000)\n"
	      "  -o reserve             allocate what a truncate adds, at the truncate\n"
	      "  -o suid, -o dev        honour set-uid files, device nodes (root only;\n"
	      "                         the default is nosuid,nodev)\n"
	      "  -o allow_other,ro,noexec,...  usual mount options\n"
	      "See cdmfs(8).\n", f);
}

static int discover(struct cdm_fs *fs)
{
	char err[256];
	int ret;

	/* a backend that cannot look leaves the others their devices */
	for (const struct cdm_backend_ops *const *b = cdm_backends; *b; b++) {
		if (!(*b)->probe)
			continue;	/* its devices come from the options */
		ret = (*b)->probe(fs->opt.sysroot, &fs->devices);
		if (ret)
			cdm_log(LOG_WARNING, "backend %s: discovery under '%s/': %s; continuing without its devices",
				(*b)->name, fs->opt.sysroot, strerror(-ret));
	}
	if (fs->opt.no_host) {
		struct cdm_device *host = cdm_device_find(&fs->devices, "host");

		if (host) {
			size_t i = (size_t)(host - fs->devices.dev);

			memmove(host, host + 1, (fs->devices.count - i - 1) *
						sizeof(*host));
			fs->devices.count--;
		}
	}
	for (size_t i = 0; i < fs->opt.sims.count; i++) {
		ret = cdm_device_list_add(&fs->devices, &fs->opt.sims.dev[i]);
		if (ret == -EEXIST) {
			cdm_log(LOG_ERR, "sim=%s: a device of that name exists; pick another name or -o alias",
				fs->opt.sims.dev[i].name);
			return ret;
		}
		if (ret)
			return ret;
	}
	ret = cdm_options_apply_aliases(&fs->opt, &fs->devices, err,
					sizeof(err));
	if (ret) {
		cdm_log(LOG_ERR, "%s", err);
		return ret;
	}
	if (fs->devices.count == 0) {
		cdm_log(LOG_ERR, "no memory devices found; add one with -o sim=NAME:SIZE");
		return -ENODEV;
	}
	if (fs->devices.count >= CDM_NO_DEVICE)
		return -E2BIG;
	for (size_t i = 0; i < fs->devices.count; i++) {
		struct cdm_device *d = &fs->devices.dev[i];

		cdm_log(LOG_INFO, "device %s: %s, %llu MiB%s", d->name,
			cdm_kind_name(d->kind),
			(unsigned long long)(d->size >> 20),
			d->simulated ? ", simulated (host RAM)" : "");
	}
	return 0;
}

/*
 * One open fd per file the kernel knows: allow as many as we may (the soft
 * limit up to the hard one), and keep a reserve of them out of the inode
 * table's reach, so that a flood of files gets ENFILE for new lookups while
 * ls, df and open of what is there keep working.
 */
static void raise_nofile(struct cdm_fs *fs)
{
	struct rlimit rl;
	size_t budget;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		cdm_log(LOG_WARNING, "RLIMIT_NOFILE: %s", strerror(errno));
		return;
	}
	/*
	 * The kernel caches an inode per file and each holds an fd here: a
	 * shell's ulimit must not cap the whole mount.  With CAP_SYS_RESOURCE
	 * the hard limit goes up to fs.nr_open; without, soft goes to hard.
	 */
	if (rl.rlim_max != RLIM_INFINITY) {
		unsigned long long nr_open = 0;
		FILE *f = fopen("/proc/sys/fs/nr_open", "re");

		if (f) {
			if (fscanf(f, "%llu", &nr_open) != 1)
				nr_open = 0;
			fclose(f);
		}
		if (nr_open > rl.rlim_max) {
			struct rlimit want = { nr_open, nr_open };

			if (!setrlimit(RLIMIT_NOFILE, &want))
				rl = want;
		}
	}
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit want = { rl.rlim_max, rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &want))
			cdm_log(LOG_WARNING, "cannot raise RLIMIT_NOFILE from %llu to %llu: %s",
				(unsigned long long)rl.rlim_cur,
				(unsigned long long)rl.rlim_max, strerror(errno));
		else
			rl.rlim_cur = rl.rlim_max;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return;
	budget = cdm_inode_table_set_budget(&fs->table, rl.rlim_cur,
					    fs->devices.count);
	cdm_log(budget && budget < 4096 ? LOG_NOTICE : LOG_INFO,
		"file descriptors: limit %llu, for at most %zu files the kernel caches at once%s",
		(unsigned long long)rl.rlim_cur, budget,
		budget && budget < 4096 ? " (low: raise RLIMIT_NOFILE)" : "");
}

/* Fail early, in one line, on what fuse_session_mount would report badly. */
static int check_environment(const char *mountpoint)
{
	struct stat st;
	int fd = -1;

	if (stat(mountpoint, &st)) {
		cdm_log(LOG_ERR, "mount point %s: %s", mountpoint,
			strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		cdm_log(LOG_ERR, "mount point %s: not a directory", mountpoint);
		return -ENOTDIR;
	}
	/* others mount through the setuid fusermount3, which opens it */
	if (stat("/dev/fuse", &st) || !S_ISCHR(st.st_mode) ||
	    (geteuid() == 0 &&
	     (fd = open("/dev/fuse", O_RDWR | O_CLOEXEC)) < 0)) {
		int ret = errno ? -errno : -ENODEV;

		cdm_log(LOG_ERR, "/dev/fuse: %s (load the fuse module, or give the container the device)",
			errno ? strerror(errno) : "not a character device");
		return ret;
	}
	if (geteuid() == 0)
		close(fd);
	return 0;
}

#define URING_PARAM "/sys/module/fuse/parameters/enable_uring"

/* The fuse module's enable_uring: 1 (Y), 0 (N), or -errno (no such file:
 * a kernel without FUSE over io_uring) */
static int uring_param(void)
{
	char c = 0;
	int fd = open(URING_PARAM, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = read(fd, &c, 1) == 1 ? (c == 'Y' || c == '1') : -EIO;
	close(fd);
	return ret;
}

/*
 * -o enable_uring: the module parameter is machine-wide (every FUSE mount
 * that asks for io_uring gets it), so it changes only when asked, and stays
 * set after we exit, like any sysfs setting an admin makes.
 */
static int uring_param_enable(const char *mountpoint)
{
	int fd = open(URING_PARAM, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0 || write(fd, "Y", 1) != 1)
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret) {
		cdm_log(LOG_ERR, "%s: -o enable_uring: cannot write Y to %s: %s",
			mountpoint, URING_PARAM,
			ret == -ENOENT ? "the kernel has no FUSE over io_uring" :
					 strerror(-ret));
		return ret;
	}
	cdm_log(LOG_NOTICE, "%s: set %s to Y as asked (-o enable_uring): it stays so for every FUSE mount until reboot or N",
		mountpoint, URING_PARAM);
	return 0;
}

/*
 * Decide the transport before the mount: io_uring needs libfuse >= 3.18
 * built with liburing and the fuse module's enable_uring.  "on" refuses to
 * mount without them; "auto" says why it uses /dev/fuse.  Requests still
 * come over /dev/fuse until the ring's queues are registered, or for good
 * when libfuse cannot start the ring (it logs why): user.cdm.stats shows
 * the transport of the request that reads it.
 */
static int choose_transport(struct cdm_fs *fs, bool *uring)
{
	const char *mnt = fs->opt.mountpoint, *why = NULL;
	int param;

	*uring = false;
	if (fs->opt.enable_uring) {
		int ret = uring_param_enable(mnt);

		if (ret)
			return ret;
	}
	if (fs->opt.io_uring == CDM_URING_OFF) {
		cdm_log(LOG_NOTICE, "%s: transport /dev/fuse (-o io_uring=off)", mnt);
		return 0;
	}
	param = uring_param();
	if (!HAVE_FUSE_URING)
		why = "libfuse " CDMFS_LIBFUSE_VERSION " has no FUSE over io_uring (needs >= 3.18 built with liburing)";
	else if (param < 0)
		why = "the kernel has no FUSE over io_uring (" URING_PARAM " missing; needs Linux >= 6.14)";
	else if (param == 0)
		why = "the fuse module's enable_uring is N (-o enable_uring, or echo Y > " URING_PARAM ", turns it on)";
	if (!why) {
		*uring = true;
		cdm_log(LOG_NOTICE, "%s: transport io_uring (-o io_uring=%s): libfuse %s, enable_uring Y",
			mnt, fs->opt.io_uring == CDM_URING_ON ? "on" : "auto",
			CDMFS_LIBFUSE_VERSION);
		return 0;
	}
	if (fs->opt.io_uring == CDM_URING_ON) {
		cdm_log(LOG_ERR, "%s: -o io_uring=on: %s", mnt, why);
		return -EOPNOTSUPP;
	}
	cdm_log(LOG_NOTICE, "%s: transport /dev/fuse (-o io_uring=auto): %s", mnt, why);
	return 0;
}

static char *fuse_mount_opts(struct cdm_fs *fs, bool uring)
{
	char *s;

	if (asprintf(&s, "fsname=cdmfs,subtype=cdmfs,default_permissions%s,%s,%s%s%s%s",
		     uring ? ",io_uring" : "",
		     fs->opt.suid ? "suid" : "nosuid",
		     fs->opt.dev ? "dev" : "nodev",
		     geteuid() == 0 ? ",allow_other" : "",
		     fs->opt.fuse_opts ? "," : "",
		     fs->opt.fuse_opts ? fs->opt.fuse_opts : "") < 0)
		return NULL;
	return s;
}

/*
 * libfuse's messages (its -d request trace included) through cdm_log: by
 * default they go to stderr, which fuse_daemonize() points at /dev/null,
 * so a daemon in the background lost them; cdm_log sends them to syslog
 * then, at the same levels (fuse_log's are syslog's).
 */
static void fuse_log_to_cdm(enum fuse_log_level level, const char *fmt,
			    va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	/* its lines end in a newline; cdm_log adds its own */
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	cdm_log((int)level, "%s", buf);
}

int main(int argc, char **argv)
{
	static struct cdm_fs fs;
	struct fuse_session *se;
	struct fuse_loop_config *cfg;
	char err[256], *mopts;
	bool uring;
	int ret;

	ret = cdm_options_parse(argc, argv, &fs.opt, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "cdmfs: %s (see cdmfs --help)\n", err);
		cdm_options_free(&fs.opt);
		return 2;
	}
	if (fs.opt.show_help || fs.opt.show_version) {
		if (fs.opt.show_help)
			usage(stdout);
		else
			printf("cdmfs %s\n", CDMFS_VERSION);
		cdm_options_free(&fs.opt);
		return 0;
	}
	/*
	 * The mount is nosuid,nodev unless root asks otherwise, as for a
	 * tmpfs; fusermount3 would drop suid/dev for anyone else without a
	 * word, so refuse them here instead.
	 */
	if ((fs.opt.suid || fs.opt.dev) && geteuid() != 0) {
		fprintf(stderr, "cdmfs: -o %s: only root may mount without %s (see cdmfs --help)\n",
			fs.opt.suid ? "suid" : "dev",
			fs.opt.suid ? "nosuid" : "nodev");
		cdm_options_free(&fs.opt);
		return 2;
	}
	if (fs.opt.debug)
		cdm_log_set_level(LOG_DEBUG);
	fuse_set_log_func(fuse_log_to_cdm);
	if (fs.opt.suid || fs.opt.dev)
		cdm_log(LOG_NOTICE, "%s: mounting%s%s as asked: set-uid files and device nodes there take effect",
			fs.opt.mountpoint, fs.opt.suid ? " suid" : "",
			fs.opt.dev ? " dev" : "");
	fs.root.fd = -1;
	fs.store_lock = -1;
	ret = check_environment(fs.opt.mountpoint);
	if (ret)
		goto err_opts;
	ret = choose_transport(&fs, &uring);
	if (ret)
		goto err_opts;
	/* libfuse's test knob would override the choice made above */
	unsetenv("FUSE_URING_ENABLE");
	ret = discover(&fs);
	if (ret)
		goto err_devices;
	ret = cdm_inode_table_init(&fs.table);
	if (ret)
		goto err_devices;
	raise_nofile(&fs);
	ret = cdm_capacity_open(&fs);
	if (ret)
		goto err_table;
	ret = cdm_policystore_open(&fs);
	if (ret)
		goto err_capacity;
	ret = cdm_store_open(&fs);
	if (ret)
		goto err_policystore;
	ret = cdm_lodge_open(&fs);
	if (ret)
		goto err_store;

	mopts = fuse_mount_opts(&fs, uring);
	if (!mopts) {
		ret = -ENOMEM;
		goto err_store;
	}
	{
		char *fargv[] = { argv[0], "-o", mopts,
				  fs.opt.debug ? "-d" : NULL, NULL };
		struct fuse_args args = FUSE_ARGS_INIT(fs.opt.debug ? 4 : 3,
						       fargv);

		se = fuse_session_new(&args, &cdm_oper, sizeof(cdm_oper), &fs);
		fuse_opt_free_args(&args);
	}
	free(mopts);
	fs.se = se;
	if (!se) {
		ret = -EINVAL;
		cdm_log(LOG_ERR, "%s: cannot set up the FUSE session", fs.opt.mountpoint);
		goto err_store;
	}
	if (fuse_set_signal_handlers(se)) {
		ret = -EIO;
		goto err_session;
	}
	if (fuse_session_mount(se, fs.opt.mountpoint)) {
		ret = -EIO;
		cdm_log(LOG_ERR, "%s: mount failed", fs.opt.mountpoint);
		goto err_signals;
	}
	cdm_log(LOG_INFO, "%s: mounted, store %s, transport %s",
		fs.opt.mountpoint, fs.store_path,
		uring ? "io_uring (after INIT; /dev/fuse until its queues are registered)" :
			"/dev/fuse");
	if (!fs.opt.foreground)
		cdm_log_to_syslog();
	fuse_daemonize(fs.opt.foreground);
	cdm_store_lock_owner(&fs);

	/* after fuse_daemonize: its fork keeps no threads */
	cdm_migrator_init(&fs);
	if ((ret = cdm_tiering_init(&fs)))
		cdm_log(LOG_WARNING, "no tiering: %s", strerror(-ret));
	ret = cdm_health_start(&fs);
	if (ret)
		cdm_log(LOG_WARNING, "cannot watch device health: %s", strerror(-ret));
	ret = cdm_lodge_start(&fs);
	if (ret)
		cdm_log(LOG_WARNING, "files renamed across devices stay charged to their source device: %s",
			strerror(-ret));
	/* before the first request: nothing else holds an inode yet */
	cdm_migrate_resume(&fs);
	cfg = fuse_loop_cfg_create();
	if (!cfg) {
		ret = -ENOMEM;
		goto err_unmount;
	}
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	if (ret > 0)	/* terminated by a signal */
		ret = 0;
err_unmount:
	cdm_health_stop(&fs);
	cdm_tiering_stop(&fs);
	cdm_migrator_stop(&fs);
	fuse_session_unmount(se);
err_signals:
	fuse_remove_signal_handlers(se);
err_session:
	fuse_session_destroy(se);
err_store:
	cdm_lodge_close(&fs);
	cdm_store_close(&fs);
err_policystore:
	cdm_policystore_close(&fs);
err_capacity:
	cdm_capacity_close(&fs);
err_table:
	cdm_inode_table_destroy(&fs.table);
err_devices:
	cdm_device_list_free(&fs.devices);
err_opts:
	cdm_options_free(&fs.opt);
	return ret ? 1 : 0;
}
