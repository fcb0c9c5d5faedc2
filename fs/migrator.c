// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Migration workers: move a file's existing pages to its newest policy in
 * the background.
 *
 * Setting a policy (placement.c) binds the file's new pages at once and
 * queues the file here; the setxattr returns.  The kernel holds the inode
 * lock around setxattr, removexattr and rename until the daemon answers,
 * so a migration done inside the request would make the next setfattr on
 * the file wait for it; done here, a newer policy reaches a running
 * migration, which notices it between batches and walks the file again
 * toward the newest (pages it already moved must move on too).
 *
 * A queued or running migration holds a lookup on its inode, so neither a
 * FORGET nor an unlink frees it under the worker; the worker works on an fd
 * of its own.  A truncate meanwhile ends the walk early (migrate.h).
 * user.cdm.migration shows the progress, then the outcome.
 *
 * The store outlives the daemon, and so must a migration it did not
 * finish: user.cdm.pending on the backing inode says one is due, from its
 * start until its outcome is recorded.  A daemon stopped (or killed) in
 * the middle leaves it, and the next one on the store finds it at start
 * (cdm_migrate_resume) and moves the rest toward the file's policy then.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cdmfs/log.h"
#include "cdmfs/xattr.h"
#include "fs.h"
#include "migrate.h"
#include "migrator.h"
#include "store.h"
#include "policystore.h"
#include "req.h"

struct cdm_migration {
	struct cdm_migration *next;	/* protected by fs->migrator.lock */
	struct cdm_inode *inode;	/* the file; set once */
	uid_t owner;			/* the file's, when queued: fairness */
	/* the rest protected by inode->lock */
	uint64_t gen;			/* bumped by each new policy */
	struct cdm_policy target;	/* the newest policy */
	/*
	 * Where the pages were when this walk began, for devices whose
	 * placement is logical (simulated: host RAM, no node to ask): the
	 * walk re-homes them page by page, and residency follows it.  A
	 * walk superseded halfway left the pages below @from_split on
	 * @from_lo (its target), the others on @from.
	 */
	struct cdm_policy from, from_lo;
	off_t from_split;
	off_t walk_at;			/* offset the running walk reached */
	char policy[CDM_POLICY_STRLEN];	/* its text */
	uint64_t done, total;		/* bytes toward target */
	bool busy;			/* queued or running: holds a lookup */
	bool queued;			/* no worker has it yet */
	bool resumed;			/* left by a previous daemon */
	/*
	 * Where the walk toward gen stands between two turns of a worker
	 * (round robin, see migrate_yield): the generation it walks, the
	 * offset it goes on from, what it moved, its first failure and when
	 * it began.  Only the worker that has @m uses them.
	 */
	uint64_t walk_gen;
	off_t walk_pos;
	uint64_t walk_moved;
	struct cdm_migrate_result walk_err;
	double walk_t0;
	/* policies a running migration gave up for a newer one */
	unsigned int superseded;
	char old[CDM_POLICY_STRLEN];	/* the last of them */
	uint64_t old_done;		/* bytes it had moved */
	char result[2 * CDM_POLICY_STRLEN + 256];	/* last outcome */
};

/* The inode table frees @inode: its record goes with it (no worker has it:
 * a worker holds a lookup on the inode it moves). */
static void release_inode(struct cdm_inode *inode)
{
	free(inode->mig);
	inode->mig = NULL;
}

void cdm_migrator_init(struct cdm_fs *fs)
{
	struct cdm_migrator *mg = &fs->migrator;

	fs->table.release = release_inode;
	pthread_mutex_init(&mg->lock, NULL);
	pthread_cond_init(&mg->cond, NULL);
	mg->head = mg->tail = NULL;
	mg->nthread = mg->nidle = 0;
	for (int i = 0; i < CDM_MIGRATE_WORKERS; i++)
		mg->serving[i] = (uid_t)-1;
	mg->stop = false;
	atomic_store(&mg->stopping, false);
}

static struct cdm_migration *migration_of(struct cdm_inode *inode)
{
	struct cdm_migration *m;

	pthread_mutex_lock(&inode->lock);
	m = inode->mig;
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (m) {
			m->inode = inode;
			inode->mig = m;
		}
	}
	pthread_mutex_unlock(&inode->lock);
	return m;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

struct migrate_ctx {
	struct cdm_fs *fs;
	struct cdm_migration *m;
	uint64_t gen;
	int fd;
	const struct cdm_backend_ops *ops;	/* of the file's device */
	struct cdm_placement pl;	/* where the policy puts the pages */
	unsigned char *vec;
	size_t pg;
	struct cdm_policy from, from_lo, to;	/* of a logical placement */
	off_t from_split;
	off_t at;			/* end of the last batch */
	uint64_t base;			/* bytes moved in earlier turns */
	double turn_end;		/* yield to a waiting file after this */
};

/*
 * Device page @i of a file lives on under logical placement @p: interleave
 * deals pages out in turn, as the kernel's interleave does by offset.
 */
static uint16_t logical_dev(const struct cdm_policy *p, uint64_t i)
{
	return p->ndev ? p->dev[i % p->ndev] : CDM_NO_DEVICE;
}

static int migrate_move(void *ctx, off_t off, size_t len, uint64_t *moved)
{
	struct migrate_ctx *c = ctx;
	uint64_t first = (uint64_t)off / c->pg;
	int r;

	c->at = off + (off_t)len;
	/* the backend of the file's device moves them, and counts */
	r = c->ops->move(c->fd, &c->pl, off, len, c->vec, moved);
	if (c->pl.logical) {
		/*
		 * Simulated devices: no page changes frame (they are all host
		 * RAM); a page moves when the device it logically lives on
		 * changes.  mincore's answer: the pages there were to move.
		 */
		for (size_t i = 0; i < (len + c->pg - 1) / c->pg; i++)
			if (c->vec[i] & 1 &&
			    logical_dev((off_t)((first + i) * c->pg) <
					c->from_split ? &c->from_lo : &c->from,
					first + i) !=
			    logical_dev(&c->to, first + i))
				*moved += c->pg;
	}
	/* a writer that waited for this batch runs before the next one */
	sched_yield();
	return r;
}

static bool migrate_superseded(void *ctx)
{
	struct migrate_ctx *c = ctx;
	struct cdm_inode *inode = c->m->inode;
	bool s;

	if (atomic_load_explicit(&c->fs->migrator.stopping,
				 memory_order_relaxed))
		return true;
	pthread_mutex_lock(&inode->lock);
	s = c->m->gen != c->gen;
	pthread_mutex_unlock(&inode->lock);
	return s;
}

static void migrate_progress(void *ctx, uint64_t done)
{
	struct migrate_ctx *c = ctx;
	struct cdm_inode *inode = c->m->inode;

	pthread_mutex_lock(&inode->lock);
	if (c->m->gen == c->gen) {	/* else the count is the newer one's */
		c->m->done = c->base + done;
		c->m->walk_at = c->at;
	}
	pthread_mutex_unlock(&inode->lock);
}

static off_t migrate_size(void *ctx)
{
	struct migrate_ctx *c = ctx;
	struct stat st;

	return fstat(c->fd, &st) ? -errno : st.st_size;
}

static int migrate_data(void *ctx, off_t off, off_t *start, off_t *end)
{
	struct migrate_ctx *c = ctx;

	return cdm_data_extent(c->fd, off, start, end);
}

/*
 * Round robin between files: a walk that had its turn (-o migrate_turn=)
 * gives its worker up when another file waits for one, and goes to the
 * back of the queue.  Two huge files (or one user's many) cannot keep
 * everyone else's migrations "(queued)" until they are done.
 */
static bool migrate_yield(void *ctx)
{
	struct migrate_ctx *c = ctx;
	struct cdm_migrator *mg = &c->fs->migrator;
	bool waiting;

	if (now() < c->turn_end)
		return false;
	pthread_mutex_lock(&mg->lock);
	waiting = mg->head && !mg->stop;
	pthread_mutex_unlock(&mg->lock);
	return waiting;
}

static const struct cdm_migrate_ops migrate_ops = {
	.move = migrate_move,
	.superseded = migrate_superseded,
	.progress = migrate_progress,
	.size = migrate_size,
	.data = migrate_data,
	.yield = migrate_yield,
};

/*
 * One turn of the walk over the file toward policy @p of generation @gen,
 * from offset @from, @base bytes moved before it.
 */
static void migrate_pass(struct cdm_fs *fs, struct cdm_migration *m,
			 uint64_t gen, const struct cdm_policy *p, int fd,
			 unsigned char *vec, size_t batch, off_t from,
			 uint64_t base, struct cdm_migrate_result *res)
{
	struct migrate_ctx c = { .fs = fs, .m = m, .gen = gen, .fd = fd,
				 .vec = vec,
				 .pg = (size_t)sysconf(_SC_PAGESIZE),
				 .to = *p, .base = base,
				 .turn_end = now() +
					     fs->opt.migrate_turn_ms / 1000.0 };
	uint16_t dev = m->inode->dev;	/* once: a rename may change it */
	struct stat st;
	int ret;

	/*
	 * Bound at setxattr already; again, because a batch of a policy this
	 * one superseded binds its range to the old one as it moves it.
	 */
	c.ops = fs->devices.dev[dev].ops;
	ret = cdm_placement_of(fs, p, dev, &c.pl);
	if (!ret && (!c.ops->bind || !c.ops->move))
		ret = -EOPNOTSUPP;
	if (!ret)
		ret = c.ops->bind(fd, &c.pl, false);
	if (!ret && fstat(fd, &st))
		ret = -errno;
	if (ret) {
		memset(res, 0, sizeof(*res));
		res->error = ret;
		return;
	}
	pthread_mutex_lock(&m->inode->lock);
	c.from = m->from;
	c.from_lo = m->from_lo;
	c.from_split = m->from_split;
	/* what is left and what went: the file may have shrunk meanwhile */
	if (m->gen == gen && !from)
		m->total = (uint64_t)st.st_blocks * 512;
	pthread_mutex_unlock(&m->inode->lock);
	cdm_migrate_run_from(from, st.st_size, batch, &migrate_ops, &c, res);
}

/* " (superseded bind:x after N bytes)": what newer policies cut short. */
static void format_superseded(const struct cdm_migration *m, char *buf,
			      size_t len)
{
	if (!m->superseded)
		buf[0] = '\0';
	else if (m->superseded == 1)
		snprintf(buf, len, " (superseded %s after %llu bytes)", m->old,
			 (unsigned long long)m->old_done);
	else
		snprintf(buf, len, " (superseded %u policies, the last %s after %llu bytes)",
			 m->superseded, m->old, (unsigned long long)m->old_done);
}

/* Record how the walk toward m->policy ended; under inode->lock. */
static void record(struct cdm_migration *m,
		   const struct cdm_migrate_result *res, double secs)
{
	char sup[CDM_POLICY_STRLEN + 96];

	format_superseded(m, sup, sizeof(sup));
	if (res->error && res->fail_end)
		snprintf(m->result, sizeof(m->result),
			 "failed bytes %lld-%lld: %s%s to %s%s",
			 (long long)res->fail_start, (long long)res->fail_end,
			 strerror(-res->error), res->error == -EIO ?
			 " (pages pinned or target full)" : "", m->policy, sup);
	else if (res->error)
		snprintf(m->result, sizeof(m->result), "failed: %s to %s%s",
			 strerror(-res->error), m->policy, sup);
	else
		snprintf(m->result, sizeof(m->result),
			 "done %llu bytes to %s in %.3f s%s",
			 (unsigned long long)res->moved, m->policy, secs, sup);
}

/* @inode's path in the store, for the log. */
static void name_of(struct cdm_fs *fs, struct cdm_inode *inode, char *buf,
		    size_t len)
{
	char path[CDM_PROCFD_MAX];
	ssize_t n = -1;
	int fd = cdm_inode_fd(&fs->table, inode);

	if (fd >= 0) {
		cdm_procfd(path, fd);
		n = readlink(path, buf, len - 1);
		cdm_inode_fd_put(inode, fd);
	}
	if (n < 0) {
		snprintf(buf, len, "inode %llu",
			 (unsigned long long)inode->src_ino);
	} else {
		buf[n] = '\0';
		cdm_store_log_path(fs, buf);
	}
}

/* Append @m to the queue and wake a worker.  Under mg->lock. */
static void queue_tail(struct cdm_migrator *mg, struct cdm_migration *m)
{
	m->next = NULL;
	if (mg->tail)
		mg->tail->next = m;
	else
		mg->head = m;
	mg->tail = m;
	pthread_cond_signal(&mg->cond);
}

/* Put @m, which a worker gave up for a turn, at the back of the queue. */
static void requeue(struct cdm_fs *fs, struct cdm_migration *m)
{
	struct cdm_migrator *mg = &fs->migrator;

	/* also when stopping: cdm_migrator_stop() drains the queue */
	pthread_mutex_lock(&mg->lock);
	queue_tail(mg, m);
	pthread_mutex_unlock(&mg->lock);
}

/*
 * Walk @m's file until it is on its newest policy, the daemon stops, or its
 * turn is over while another file waits (then it is queued again and goes
 * on from where it stopped).
 */
static void migrate(struct cdm_fs *fs, struct cdm_migration *m)
{
	struct cdm_inode *inode = m->inode;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	/* whole pages of this machine: each batch is a mapping */
	size_t batch = (fs->opt.migrate_batch + pg - 1) / pg * pg;
	struct cdm_migrate_result res = { 0 }, all;
	char path[CDM_PROCFD_MAX], text[CDM_POLICY_STRLEN], name[PATH_MAX];
	unsigned char *vec;
	struct cdm_policy p;
	uint64_t gen, base;
	off_t from;
	int fd = -1, err = 0;
	/* for the whole walk: its path clears user.cdm.pending at the end */
	int ifd = cdm_inode_fd(&fs->table, inode);

	if (ifd < 0) {
		err = ifd;
	} else {
		cdm_procfd(path, ifd);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			err = -errno;
	}
	vec = malloc(batch / pg);
	if (!vec && !err)
		err = -ENOMEM;
	pthread_mutex_lock(&inode->lock);
	m->queued = false;
	for (;;) {
		gen = m->gen;
		p = m->target;
		strcpy(text, m->policy);
		if (m->walk_gen != gen) {
			/* a walk of its own for each policy, from the start */
			m->walk_gen = gen;
			m->walk_pos = 0;
			m->walk_moved = 0;
			memset(&m->walk_err, 0, sizeof(m->walk_err));
			m->walk_t0 = now();
		}
		from = m->walk_pos;
		base = m->walk_moved;
		pthread_mutex_unlock(&inode->lock);
		if (err) {
			memset(&res, 0, sizeof(res));
			res.error = err;
		} else {
			migrate_pass(fs, m, gen, &p, fd, vec, batch, from, base,
				     &res);
		}
		pthread_mutex_lock(&inode->lock);
		m->walk_moved += res.moved;
		if (res.error && !m->walk_err.error)
			m->walk_err = res;
		if (res.superseded && atomic_load(&fs->migrator.stopping)) {
			name_of(fs, inode, name, sizeof(name));
			cdm_log(LOG_NOTICE, "%s: migration to %s stopped at exit after %llu bytes: the rest moves when a daemon starts on this store again",
				name, text, (unsigned long long)m->walk_moved);
			break;
		}
		if (m->gen != gen && !err)
			continue;	/* walk again, toward the newest */
		if (res.yielded && !err) {
			m->walk_pos = res.next;
			m->queued = true;
			pthread_mutex_unlock(&inode->lock);
			free(vec);
			close(fd);
			cdm_inode_fd_put(inode, ifd);
			requeue(fs, m);		/* keeps its lookup */
			return;
		}
		all = m->walk_err;
		all.moved = m->walk_moved;
		record(m, &all, now() - m->walk_t0);
		/* nobody may hold the inode to read user.cdm.migration */
		if (m->resumed && !all.error) {
			name_of(fs, inode, name, sizeof(name));
			cdm_log(LOG_NOTICE, "%s: resumed migration %s", name,
				m->result);
		}
		m->resumed = false;
		/* under inode->lock: a newer start sets it after this */
		if (ifd >= 0 && removexattr(path, CDM_XATTR_PENDING) &&
		    errno != ENODATA) {
			name_of(fs, inode, name, sizeof(name));
			cdm_log(LOG_WARNING, "%s: cannot clear %s: %s", name,
				CDM_XATTR_PENDING, strerror(errno));
		}
		if (all.error) {
			name_of(fs, inode, name, sizeof(name));
			cdm_log(LOG_WARNING, "%s: migration %s", name, m->result);
		}
		break;
	}
	m->busy = false;
	pthread_mutex_unlock(&inode->lock);
	/*
	 * Clearing user.cdm.pending changed the backing file's ctime, which
	 * the kernel may cache for long (attr_timeout): stat must show it.
	 */
	cdm_inval_attr(fs, inode);
	free(vec);
	if (fd >= 0)
		close(fd);
	cdm_inode_fd_put(inode, ifd);
	cdm_inode_put(&fs->table, inode, 1);	/* may free m */
}

/*
 * Take the next migration off the queue for worker @self: the first one
 * whose file's owner no other worker is serving, else the first.  Files
 * take turns (migrate_yield), and so do users: one user's hundred files
 * keep a worker busy, not every worker, while another user's file waits.
 * Under mg->lock, with the queue not empty.
 */
static struct cdm_migration *queue_take(struct cdm_migrator *mg,
					unsigned int self)
{
	struct cdm_migration *m, *prev = NULL, *pick = NULL, *pick_prev = NULL;
	bool served;

	for (m = mg->head; m && !pick; prev = m, m = m->next) {
		served = false;
		for (unsigned int i = 0; i < mg->nthread; i++)
			if (i != self && mg->serving[i] == m->owner)
				served = true;
		if (!served) {
			pick = m;
			pick_prev = prev;
		}
	}
	if (!pick)
		pick = mg->head;
	if (pick_prev)
		pick_prev->next = pick->next;
	else
		mg->head = pick->next;
	if (mg->tail == pick)
		mg->tail = pick_prev;
	pick->next = NULL;
	mg->serving[self] = pick->owner;
	return pick;
}

struct worker_arg {
	struct cdm_fs *fs;
	unsigned int self;
};

static void *worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct cdm_fs *fs = wa->fs;
	unsigned int self = wa->self;
	struct cdm_migrator *mg = &fs->migrator;

	free(wa);
	pthread_mutex_lock(&mg->lock);
	for (;;) {
		struct cdm_migration *m;

		mg->nidle++;
		while (!mg->stop && !mg->head)
			pthread_cond_wait(&mg->cond, &mg->lock);
		mg->nidle--;
		if (mg->stop)
			break;
		m = queue_take(mg, self);
		pthread_mutex_unlock(&mg->lock);
		migrate(fs, m);
		pthread_mutex_lock(&mg->lock);
		mg->serving[self] = (uid_t)-1;
	}
	pthread_mutex_unlock(&mg->lock);
	return NULL;
}

/* Queue @m for a worker, starting one if none is idle. */
static int enqueue(struct cdm_fs *fs, struct cdm_migration *m)
{
	struct cdm_migrator *mg = &fs->migrator;
	int ret = 0;

	pthread_mutex_lock(&mg->lock);
	if (mg->stop) {
		ret = -ESHUTDOWN;
		goto out;
	}
	if (!mg->nidle && mg->nthread < CDM_MIGRATE_WORKERS) {
		struct worker_arg *wa = malloc(sizeof(*wa));

		ret = -ENOMEM;
		if (wa) {
			wa->fs = fs;
			wa->self = mg->nthread;
			ret = -pthread_create(&mg->thread[mg->nthread], NULL,
					      worker, wa);
			if (ret)
				free(wa);
		}
		if (!ret)
			mg->nthread++;
		else if (mg->nthread)
			ret = 0;	/* the ones there will get to it */
		if (ret)
			goto out;
	}
	queue_tail(mg, m);
out:
	pthread_mutex_unlock(&mg->lock);
	return ret;
}

static int migrate_start(struct cdm_fs *fs, struct cdm_inode *inode,
			 const struct cdm_policy *p,
			 const struct cdm_policy *from, uint64_t total,
			 bool resumed)
{
	struct cdm_migration *m = migration_of(inode);
	char text[CDM_POLICY_STRLEN], path[CDM_PROCFD_MAX], name[PATH_MAX];
	struct stat st;
	bool start;
	int ret = 0, fd;

	if (!m)
		return -ENOMEM;
	if (cdm_policy_format(p, &fs->devices, text, sizeof(text)) < 0)
		strcpy(text, "?");
	fd = cdm_inode_fd(&fs->table, inode);
	if (fd >= 0)
		cdm_procfd(path, fd);
	/* whose turn it is among users (queue_take) */
	if (fd < 0 || fstat(fd, &st))
		st.st_uid = 0;
	pthread_mutex_lock(&inode->lock);
	/* due from now on, also for a daemon that comes after us */
	if (fd < 0 ||
	    setxattr(path, CDM_XATTR_PENDING, text, strlen(text), 0)) {
		int err = fd < 0 ? -fd : errno;

		name_of(fs, inode, name, sizeof(name));
		cdm_log(LOG_WARNING, "%s: cannot set %s (a restart will not finish this migration): %s",
			name, CDM_XATTR_PENDING, strerror(err));
	}
	if (m->busy && !strcmp(text, m->policy)) {
		/* on its way there already */
		pthread_mutex_unlock(&inode->lock);
		goto out;
	}
	if (m->busy && (!m->queued || m->walk_gen == m->gen)) {
		/* the running (or paused) walk stops at its next batch */
		m->superseded++;
		strcpy(m->old, m->policy);
		m->old_done = m->done;
		/*
		 * Below where it got, the pages are on its target; above,
		 * where they were (exact unless superseded twice: then the
		 * part of an older split above it is taken as @from).
		 */
		if (m->walk_at > 0) {
			m->from_lo = m->target;
			m->from_split = m->walk_at;
		}
	} else if (!m->busy) {
		m->from = *from;
		m->from_split = 0;
	}
	m->walk_at = 0;
	m->gen++;
	m->target = *p;
	strcpy(m->policy, text);
	m->done = 0;
	m->total = total;
	start = !m->busy;
	if (start) {
		m->busy = m->queued = true;
		m->owner = st.st_uid;
		m->superseded = 0;
		m->resumed = resumed;
	}
	pthread_mutex_unlock(&inode->lock);
	if (!start)
		goto out;
	/* the request's lookup keeps @inode until this one is taken */
	cdm_inode_hold(&fs->table, inode);
	ret = enqueue(fs, m);
	if (ret) {
		name_of(fs, inode, name, sizeof(name));
		cdm_log(LOG_ERR, "%s: migration to %s: cannot start a worker: %s",
			name, text, strerror(-ret));
		pthread_mutex_lock(&inode->lock);
		m->busy = m->queued = false;
		snprintf(m->result, sizeof(m->result),
			 "failed: no migration worker: %s to %s",
			 strerror(-ret), m->policy);
		/* the caller puts the old policy back: nothing is due */
		if (!resumed && fd >= 0)
			removexattr(path, CDM_XATTR_PENDING);
		pthread_mutex_unlock(&inode->lock);
		cdm_inode_fd_put(inode, fd);
		cdm_inode_put(&fs->table, inode, 1);
		return ret;
	}
out:
	cdm_inode_fd_put(inode, fd);
	return ret;
}

void cdm_migrator_stop(struct cdm_fs *fs)
{
	struct cdm_migrator *mg = &fs->migrator;
	struct cdm_migration *m, *next;

	pthread_mutex_lock(&mg->lock);
	mg->stop = true;
	atomic_store(&mg->stopping, true);
	pthread_cond_broadcast(&mg->cond);
	pthread_mutex_unlock(&mg->lock);
	/* no thread is started once stop is set */
	for (unsigned int i = 0; i < mg->nthread; i++)
		pthread_join(mg->thread[i], NULL);
	mg->nthread = 0;
	/* what no worker got to keeps its policy; give back the lookups */
	pthread_mutex_lock(&mg->lock);
	m = mg->head;
	mg->head = mg->tail = NULL;
	pthread_mutex_unlock(&mg->lock);
	for (; m; m = next) {
		struct cdm_inode *inode = m->inode;
		char name[PATH_MAX];

		next = m->next;
		name_of(fs, inode, name, sizeof(name));
		pthread_mutex_lock(&inode->lock);
		m->busy = m->queued = false;
		if (m->walk_gen == m->gen)	/* paused between turns */
			cdm_log(LOG_NOTICE, "%s: migration to %s stopped at exit after %llu bytes: the rest moves when a daemon starts on this store again",
				name, m->policy,
				(unsigned long long)m->walk_moved);
		else
			cdm_log(LOG_NOTICE, "%s: migration to %s not started before exit: it starts when a daemon starts on this store again",
				name, m->policy);
		pthread_mutex_unlock(&inode->lock);
		cdm_inode_put(&fs->table, inode, 1);	/* may free m */
	}
	pthread_cond_destroy(&mg->cond);
	pthread_mutex_destroy(&mg->lock);
}

int cdm_migrate_start(struct cdm_fs *fs, struct cdm_inode *inode,
		      const struct cdm_policy *p,
		      const struct cdm_policy *from, uint64_t total)
{
	return migrate_start(fs, inode, p, from, total, false);
}

/* nftw() has no user pointer; only the start-up walk uses these. */
static struct cdm_fs *resume_fs;
static uint16_t resume_dev;
static unsigned int resume_count;

/* Resume the file at @path (of device resume_dev) if it is due. */
static int resume_file(const char *path, const struct stat *st, int type,
		       struct FTW *ftw)
{
	char procfd[CDM_PROCFD_MAX], text[CDM_POLICY_STRLEN];
	struct cdm_inode *inode;
	struct cdm_policy p, from;
	ssize_t n;
	int fd, ret;

	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	cdm_procfd(procfd, fd);
	n = getxattr(procfd, CDM_XATTR_PENDING, text, sizeof(text) - 1);
	if (n < 0) {
		close(fd);
		return 0;
	}
	text[n] = '\0';
	/* takes @fd; our lookup, dropped below (the migration holds one) */
	inode = cdm_inode_get(&resume_fs->table, st->st_ino, st->st_dev, fd,
			      resume_dev, 1);
	if (!inode)
		return 0;	/* cdm_inode_get closed @fd: closing it again
				 * could close another thread's new fd */
	/*
	 * Toward the policy it has now: the pending text is what it had.
	 * Where its pages were is not recorded; for logical placement take
	 * its device directory's (where a file's pages start out).
	 */
	ret = cdm_effective_policy(resume_fs, inode, &p);
	cdm_policy_default(&from, resume_dev);
	if (!ret)
		ret = migrate_start(resume_fs, inode, &p, &from,
				    (uint64_t)st->st_blocks * 512, true);
	if (ret) {
		cdm_log(LOG_WARNING, "%s: cannot resume its migration to %s: %s",
			path, text, strerror(-ret));
	} else {
		cdm_log(LOG_NOTICE, "%s: resuming the migration to %s a previous daemon left",
			path, text);
		resume_count++;
	}
	cdm_inode_put(&resume_fs->table, inode, 1);
	return 0;
}

unsigned int cdm_migrate_resume(struct cdm_fs *fs)
{
	char path[PATH_MAX];

	resume_fs = fs;
	resume_count = 0;
	for (size_t i = 0; i < fs->devices.count; i++) {
		snprintf(path, sizeof(path), "%s/%s", fs->store_path,
			 fs->devices.dev[i].name);
		resume_dev = (uint16_t)i;
		nftw(path, resume_file, 16, FTW_PHYS | FTW_MOUNT);
	}
	if (resume_count)
		cdm_log(LOG_NOTICE, "resumed %u migration%s a previous daemon left",
			resume_count, resume_count == 1 ? "" : "s");
	return resume_count;
}

bool cdm_migration_progress(struct cdm_inode *inode, struct cdm_policy *from,
			    struct cdm_policy *to, uint64_t *done)
{
	struct cdm_migration *m;
	bool busy;

	pthread_mutex_lock(&inode->lock);
	m = inode->mig;
	busy = m && m->busy;
	if (busy) {
		*from = m->from;
		*to = m->target;
		*done = m->done;
	}
	pthread_mutex_unlock(&inode->lock);
	return busy;
}

char *cdm_migration_value(struct cdm_inode *inode)
{
	struct cdm_migration *m;
	char sup[CDM_POLICY_STRLEN + 96];
	char *s = NULL;
	int r;

	pthread_mutex_lock(&inode->lock);
	m = inode->mig;
	if (!m || (!m->busy && !m->result[0])) {
		r = asprintf(&s, "idle");
	} else if (m->busy) {
		format_superseded(m, sup, sizeof(sup));
		r = asprintf(&s, "running %llu/%llu bytes to %s%s%s",
			     (unsigned long long)m->done,
			     (unsigned long long)m->total, m->policy,
			     m->queued ? " (queued)" : "", sup);
	} else {
		r = asprintf(&s, "idle, last: %s", m->result);
	}
	pthread_mutex_unlock(&inode->lock);
	return r < 0 ? NULL : s;
}
