// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Placement: which device a file's memory is on, moving it, and telling
 * where its pages really are.
 *
 * A file or directory's own policy is stored with its backing inode, as the
 * xattr user.cdm.policy of the store, so it lives as long as the file and
 * survives a daemon restart.  New files and directories copy their parent's
 * own policy (inherit at creation, like default ACLs).  Without one, a file
 * follows its device directory's policy, and without that, bind:<device>.
 *
 * Lock order: mig->lock (held for a whole migration), then inode->lock.
 */
#include <errno.h>
#include <numaif.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cdmfs.h"
#include "cdmfs/log.h"
#include "cdmfs/xattr.h"
#include "migrate.h"

/* Bytes moved per mbind() call: a writer waits for at most one batch. */
#define CDM_MIGRATE_BATCH (16UL << 20)
/* Retries of a batch whose pages were busy; 1+2+4+8+16 ms at most. */
#define CDM_MIGRATE_RETRIES 5

struct cdm_migration {
	pthread_mutex_t lock;		/* held by the running migration */
	/* the rest protected by inode->lock */
	uint64_t gen;			/* bumped by each new policy */
	uint64_t done, total;		/* bytes */
	bool running;
	char policy[CDM_POLICY_STRLEN];
	char result[CDM_POLICY_STRLEN + 256];	/* last outcome */
};

/* The inode's own policy: 1 and @p, 0 if none, or -errno. */
static int own_policy(struct cdm_fs *fs, int fd, struct cdm_policy *p)
{
	char path[CDM_PROCFD_MAX], buf[CDM_POLICY_STRLEN];
	ssize_t n;

	cdm_procfd(path, fd);
	n = getxattr(path, CDM_XATTR_POLICY, buf, sizeof(buf));
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
	/* a device that vanished since: fall back to the defaults */
	if (cdm_policy_parse(buf, (size_t)n, &fs->devices, p) ||
	    p->mode == CDM_POLICY_INHERIT)
		return 0;
	return 1;
}

int cdm_effective_policy(struct cdm_fs *fs, struct cdm_inode *inode,
			 struct cdm_policy *p)
{
	int ret;

	if (inode->dev == CDM_NO_DEVICE)
		return -ENODATA;
	ret = own_policy(fs, inode->fd, p);
	if (ret)
		return ret < 0 ? ret : 0;
	ret = own_policy(fs, fs->devfd[inode->dev], p);
	if (ret)
		return ret < 0 ? ret : 0;
	cdm_policy_default(p, inode->dev);
	return 0;
}

static int apply(struct cdm_fs *fs, const struct cdm_policy *p, int fd)
{
	struct cdm_nodemask nodes;
	int mode;

	cdm_policy_mempolicy(p, &fs->devices, &mode, &nodes);
	return cdm_mbind_fd(fd, mode, &nodes, 0);
}

int cdm_place_new(struct cdm_fs *fs, struct cdm_inode *parent, int fd,
		  bool regular)
{
	struct cdm_policy p;
	char path[CDM_PROCFD_MAX], buf[CDM_POLICY_STRLEN];
	int ret;

	ret = own_policy(fs, parent->fd, &p);
	if (ret < 0)
		return ret;
	if (ret) {
		int n = cdm_policy_format(&p, &fs->devices, buf, sizeof(buf));

		cdm_procfd(path, fd);
		if (n < 0 || setxattr(path, CDM_XATTR_POLICY, buf, (size_t)n, 0))
			return n < 0 ? n : -errno;
	}
	if (!regular)
		return 0;
	if (!ret) {
		/* the parent is a device dir or follows one */
		struct cdm_inode child = { .fd = fd, .dev = parent->dev };

		ret = cdm_effective_policy(fs, &child, &p);
		if (ret < 0)
			return ret;
	}
	return apply(fs, &p, fd);
}

/* Bytes a policy may still allocate; UINT64_MAX when it falls back. */
int cdm_policy_avail(struct cdm_fs *fs, const struct cdm_policy *p,
		     uint64_t *avail)
{
	*avail = 0;
	if (p->mode == CDM_POLICY_PREFERRED) {
		*avail = UINT64_MAX;
		return 0;
	}
	for (int i = 0; i < p->ndev; i++) {
		uint64_t size, a;
		int ret = cdm_device_usage(fs, p->dev[i], &size, &a);

		if (ret)
			return ret;
		*avail += a;
	}
	return 0;
}

int cdm_check_space(struct cdm_fs *fs, struct cdm_inode *inode,
		    uint64_t bytes)
{
	struct cdm_policy p;
	uint64_t avail;
	int ret;

	if (!bytes)
		return 0;
	ret = cdm_effective_policy(fs, inode, &p);
	if (!ret)
		ret = cdm_policy_avail(fs, &p, &avail);
	if (ret)
		return ret == -ENODATA ? 0 : ret;
	return bytes > avail ? -ENOSPC : 0;
}

static struct cdm_migration *migration_of(struct cdm_inode *inode)
{
	struct cdm_migration *m;

	pthread_mutex_lock(&inode->lock);
	m = inode->mig;
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (m) {
			pthread_mutex_init(&m->lock, NULL);
			inode->mig = m;
		}
	}
	pthread_mutex_unlock(&inode->lock);
	return m;
}

void cdm_migration_free(struct cdm_migration *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct migrate_ctx {
	struct cdm_inode *inode;
	struct cdm_migration *m;
	uint64_t gen;
	int fd, mode;
	struct cdm_nodemask nodes;
	unsigned char *vec;
	size_t pg;
};

static int migrate_move(void *ctx, off_t off, size_t len, uint64_t *moved)
{
	struct migrate_ctx *c = ctx;
	int r;

	/*
	 * A read() in flight holds a page for a moment and the kernel gives
	 * up on it (EIO): try the batch again before calling it stuck.
	 */
	for (int tries = 0;; tries++) {
		r = cdm_move_range(c->fd, off, len, c->mode, &c->nodes, c->vec);
		if (r != -EIO || tries == CDM_MIGRATE_RETRIES)
			break;
		usleep(1000 << tries);
	}

	/* mincore's answer: the pages that were there to move */
	for (size_t i = 0; i < (len + c->pg - 1) / c->pg; i++)
		*moved += (c->vec[i] & 1) * c->pg;
	return r;
}

static bool migrate_superseded(void *ctx)
{
	struct migrate_ctx *c = ctx;
	bool s;

	pthread_mutex_lock(&c->inode->lock);
	s = c->m->gen != c->gen;
	pthread_mutex_unlock(&c->inode->lock);
	return s;
}

static void migrate_progress(void *ctx, uint64_t done)
{
	struct migrate_ctx *c = ctx;

	pthread_mutex_lock(&c->inode->lock);
	c->m->done = done;
	pthread_mutex_unlock(&c->inode->lock);
}

static const struct cdm_migrate_ops migrate_ops = {
	.move = migrate_move,
	.superseded = migrate_superseded,
	.progress = migrate_progress,
};

/* Move every resident page of @fd under @p; see migrate.h. */
static int migrate(struct cdm_fs *fs, struct cdm_inode *inode,
		   struct cdm_migration *m, uint64_t gen, int fd,
		   const struct cdm_policy *p)
{
	struct migrate_ctx c = { .inode = inode, .m = m, .gen = gen, .fd = fd,
				 .pg = (size_t)sysconf(_SC_PAGESIZE) };
	struct cdm_migrate_result res;
	double t0 = now();
	struct stat st;
	int ret;

	cdm_policy_mempolicy(p, &fs->devices, &c.mode, &c.nodes);
	/* new pages go to the new place from now on */
	ret = cdm_mbind_fd(fd, c.mode, &c.nodes, 0);
	if (ret)
		return ret;
	if (fstat(fd, &st))
		return -errno;
	c.vec = malloc(CDM_MIGRATE_BATCH / c.pg);
	if (!c.vec)
		return -ENOMEM;
	pthread_mutex_lock(&inode->lock);
	m->total = (uint64_t)st.st_blocks * 512;
	pthread_mutex_unlock(&inode->lock);
	cdm_migrate_run(st.st_size, CDM_MIGRATE_BATCH, &migrate_ops, &c, &res);
	free(c.vec);
	pthread_mutex_lock(&inode->lock);
	if (m->gen == gen && res.error)
		snprintf(m->result, sizeof(m->result),
			 "failed bytes %lld-%lld: %s%s to %s",
			 (long long)res.fail_start, (long long)res.fail_end,
			 strerror(-res.error), res.error == -EIO ?
			 " (pages pinned or target full)" : "", m->policy);
	else if (m->gen == gen)
		snprintf(m->result, sizeof(m->result),
			 "done %llu bytes to %s in %.3f s",
			 (unsigned long long)res.moved, m->policy, now() - t0);
	pthread_mutex_unlock(&inode->lock);
	if (res.error)
		cdm_log(LOG_WARNING, "migration to %s: bytes %lld-%lld: %s",
			m->policy, (long long)res.fail_start,
			(long long)res.fail_end, strerror(-res.error));
	return res.error;
}

int cdm_set_policy(struct cdm_fs *fs, struct cdm_inode *inode, uid_t uid,
		   const char *value, size_t size)
{
	char path[CDM_PROCFD_MAX], text[CDM_POLICY_STRLEN];
	struct cdm_migration *m;
	struct cdm_policy p;
	struct stat st;
	uint64_t gen;
	int ret, fd, n;

	if (inode->dev == CDM_NO_DEVICE)
		return -EPERM;		/* the root has no memory of its own */
	ret = cdm_policy_parse(value, size, &fs->devices, &p);
	if (ret)
		return ret;
	if (fstatat(inode->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (uid != 0 && uid != st.st_uid)
		return -EPERM;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return -EINVAL;
	cdm_procfd(path, inode->fd);
	if (S_ISDIR(st.st_mode)) {
		if (p.mode == CDM_POLICY_INHERIT) {
			if (removexattr(path, CDM_XATTR_POLICY) && errno != ENODATA)
				return -errno;
			return 0;
		}
		n = cdm_policy_format(&p, &fs->devices, text, sizeof(text));
		if (n < 0)
			return n;
		return setxattr(path, CDM_XATTR_POLICY, text, (size_t)n, 0) ?
			       -errno : 0;
	}

	/* a regular file: its pages move; check the target has room */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (p.mode == CDM_POLICY_INHERIT) {
		if (removexattr(path, CDM_XATTR_POLICY) && errno != ENODATA) {
			ret = -errno;
			goto out;
		}
		ret = cdm_effective_policy(fs, inode, &p);
		if (ret)
			goto out;
	} else {
		uint64_t avail;

		ret = cdm_policy_avail(fs, &p, &avail);
		if (!ret && (uint64_t)st.st_blocks * 512 > avail)
			ret = -ENOSPC;
		n = cdm_policy_format(&p, &fs->devices, text, sizeof(text));
		if (!ret && n < 0)
			ret = n;
		if (!ret && setxattr(path, CDM_XATTR_POLICY, text, (size_t)n, 0))
			ret = -errno;
		if (ret)
			goto out;
	}
	m = migration_of(inode);
	if (!m) {
		ret = -ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&inode->lock);
	gen = ++m->gen;
	pthread_mutex_unlock(&inode->lock);
	/* an older migration sees the new generation and yields */
	pthread_mutex_lock(&m->lock);
	pthread_mutex_lock(&inode->lock);
	if (m->gen == gen) {
		m->running = true;
		m->done = m->total = 0;
		cdm_policy_format(&p, &fs->devices, m->policy, sizeof(m->policy));
	}
	pthread_mutex_unlock(&inode->lock);
	if (m->gen == gen)
		ret = migrate(fs, inode, m, gen, fd, &p);
	pthread_mutex_lock(&inode->lock);
	if (m->gen == gen)
		m->running = false;
	pthread_mutex_unlock(&inode->lock);
	pthread_mutex_unlock(&m->lock);
out:
	close(fd);
	return ret;
}

char *cdm_policy_value(struct cdm_fs *fs, struct cdm_inode *inode)
{
	char text[CDM_POLICY_STRLEN];
	struct cdm_policy p;
	int ret;

	ret = cdm_effective_policy(fs, inode, &p);
	if (!ret && cdm_policy_format(&p, &fs->devices, text, sizeof(text)) < 0)
		ret = -ENAMETOOLONG;
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return strdup(text);
}

char *cdm_migration_value(struct cdm_inode *inode)
{
	struct cdm_migration *m;
	char *s = NULL;
	int r;

	pthread_mutex_lock(&inode->lock);
	m = inode->mig;
	if (!m)
		r = asprintf(&s, "idle");
	else if (m->running)
		r = asprintf(&s, "running %llu/%llu bytes to %s",
			     (unsigned long long)m->done,
			     (unsigned long long)m->total, m->policy);
	else
		r = asprintf(&s, "idle, last: %s", m->result);
	pthread_mutex_unlock(&inode->lock);
	return r < 0 ? NULL : s;
}

/* Device of node @n, or -1. */
static int device_of_node(struct cdm_fs *fs, int n)
{
	for (size_t i = 0; i < fs->devices.count; i++)
		if (cdm_nodemask_test(&fs->devices.dev[i].nodes, n))
			return (int)i;
	return -1;
}

/*
 * Bytes per device from the kernel's per-page answer.  Pages of a file
 * placed on simulated devices only are counted on those devices (the
 * placement is logical: they are host RAM), split evenly.
 */
static int residency(struct cdm_fs *fs, struct cdm_inode *inode,
		     uint64_t *bytes, uint64_t *drift)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t *pages, other = 0, total = 0;
	struct cdm_nodemask nodes;
	struct cdm_policy p;
	char path[CDM_PROCFD_MAX];
	int fd, ret, mode;

	ret = cdm_effective_policy(fs, inode, &p);
	if (ret)
		return ret;
	cdm_procfd(path, inode->fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	pages = calloc(CDM_MAX_NODES, sizeof(*pages));
	if (!pages) {
		close(fd);
		return -ENOMEM;
	}
	ret = cdm_page_nodes(fd, pages, &other);
	close(fd);
	cdm_policy_mempolicy(&p, &fs->devices, &mode, &nodes);
	*drift = 0;
	for (int n = 0; !ret && n < CDM_MAX_NODES; n++) {
		int d;

		if (!pages[n])
			continue;
		total += pages[n];
		if (mode == MPOL_DEFAULT)
			continue;
		d = device_of_node(fs, n);
		if (d >= 0)
			bytes[d] += pages[n] * pg;
		if (!cdm_nodemask_test(&nodes, n))
			*drift += pages[n] * pg;
	}
	if (!ret && mode == MPOL_DEFAULT)
		for (int i = 0; i < p.ndev; i++)
			bytes[p.dev[i]] += total * pg / p.ndev;
	free(pages);
	return ret;
}

char *cdm_residency_value(struct cdm_fs *fs, struct cdm_inode *inode,
			  bool want_drift)
{
	uint64_t *bytes, drift = 0;
	struct cdm_policy p;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	bytes = calloc(fs->devices.count, sizeof(*bytes));
	if (!bytes)
		return NULL;
	ret = residency(fs, inode, bytes, &drift);
	if (!ret)
		ret = cdm_effective_policy(fs, inode, &p);
	f = ret ? NULL : open_memstream(&buf, &len);
	if (!f) {
		free(bytes);
		errno = ret ? -ret : ENOMEM;
		return NULL;
	}
	if (want_drift) {
		fprintf(f, "%llu", (unsigned long long)drift);
	} else {
		const char *sep = "";

		/* the policy's devices always, others where pages are */
		for (size_t i = 0; i < fs->devices.count; i++) {
			if (!bytes[i] && !cdm_policy_has_device(&p, (uint16_t)i))
				continue;
			fprintf(f, "%s%s=%llu", sep, fs->devices.dev[i].name,
				(unsigned long long)bytes[i]);
			sep = " ";
		}
	}
	free(bytes);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
