// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Automatic tiering (issue 16, doc/tiering.md).  A file whose policy is
 * tiered:FAST,SLOW starts on FAST (its binding is preferred FAST).  One
 * thread, every -o tier_period, asks the backend of each watched file's
 * device for the heat of its 2 MiB chunks (numa: DAMON paddr over the
 * pages' frames, backend/heat.c), decides with hysteresis which chunks go
 * where (cdm_tier_decide) and moves them with the backend's move op on
 * that chunk's range: it binds the range of the shmem object's shared
 * policy and migrates its pages with MPOL_MF_MOVE_ALL, one 2 MiB batch at
 * a time, as a migration does (no write lost: the kernel migrates a page
 * under its lock; a writer waits one batch at most).  At most
 * -o tier_rate bytes per second per device are moved.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cdmfs/heat.h"
#include "cdmfs/log.h"
#include "migrator.h"
#include "policystore.h"
#include "tiering.h"

/* A watched file. */
struct tier_file {
	struct tier_file *next;
	struct cdm_inode *inode;	/* a reference of ours */
	struct cdm_tier_chunk *c;	/* the thread's; read under lock */
	size_t n;
	uint16_t fast, slow;		/* devices, from its policy */
	bool reset;			/* policy set again: all on FAST */
	bool told;			/* logged why it has no statistics */
	bool stats;			/* statistics seen once */
	bool gone;			/* not tiered any more: the thread drops it */
	uint64_t promoted, demoted;	/* bytes */
};

struct cdm_tiering {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* protected by lock */
	struct tier_file *files;	/* new ones at the head */
	bool started, stop;
	pthread_t thread;
};

size_t cdm_tier_decide(struct cdm_tier_chunk *c, size_t n,
		       const uint32_t *heat,
		       const struct cdm_tier_limits *lim, int8_t *move)
{
	size_t nfast = 0, moves = 0, up = lim->up, down = lim->down;

	for (size_t i = 0; i < n; i++) {
		move[i] = 0;
		if (c[i].rest)
			c[i].rest--;
		if (c[i].on == CDM_TIER_ON_FAST)
			nfast++;
		if (heat[i] == CDM_HEAT_NONE)
			continue;	/* nothing seen: what we knew stands */
		c[i].heat = heat[i];
		if (heat[i] > lim->hot) {
			c[i].hot += c[i].hot < UINT8_MAX;
			c[i].cold = 0;
		} else if (heat[i] < lim->cold) {
			c[i].cold += c[i].cold < UINT8_MAX;
			c[i].hot = 0;
		} else {
			/* between the two: it stays where it is */
			c[i].hot = c[i].cold = 0;
		}
	}
	/* cold chunks leave FAST */
	for (size_t i = 0; i < n && down; i++)
		if (c[i].on == CDM_TIER_ON_FAST && !c[i].rest &&
		    c[i].cold >= CDM_TIER_COLD_PERIODS) {
			move[i] = -1;
			down--;
			nfast--;
			moves++;
		}
	for (;;) {
		size_t best = n, victim = n;

		/* the hottest hot chunk on SLOW */
		for (size_t i = 0; i < n; i++)
			if (c[i].on == CDM_TIER_ON_SLOW && !move[i] &&
			    !c[i].rest && c[i].hot >= CDM_TIER_HOT_PERIODS &&
			    (best == n || c[i].heat > c[best].heat))
				best = i;
		/* the coldest on FAST: room for it, or over the budget */
		for (size_t i = 0; i < n; i++)
			if (c[i].on == CDM_TIER_ON_FAST && !move[i] &&
			    !c[i].rest &&
			    (victim == n || c[i].heat < c[victim].heat))
				victim = i;
		if (nfast > lim->budget && victim < n && down) {
			move[victim] = -1;
			down--;
			nfast--;
			moves++;
			continue;
		}
		if (best == n || !up)
			break;
		if (nfast >= lim->budget) {
			/* swap only for a colder chunk that is not hot */
			if (victim == n || !down ||
			    c[victim].hot >= CDM_TIER_HOT_PERIODS ||
			    c[victim].heat >= c[best].heat)
				break;
			move[victim] = -1;
			down--;
			nfast--;
			moves++;
		}
		move[best] = 1;
		up--;
		nfast++;
		moves++;
	}
	for (size_t i = 0; i < n; i++)
		if (move[i])
			/* this period's decrement comes first next time */
			c[i].rest = CDM_TIER_REST + 1;
	return moves;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Grow or shrink @f's chunks to @n; new ones are on FAST (the binding). */
static int resize_locked(struct tier_file *f, size_t n)
{
	struct cdm_tier_chunk *c;

	if (n == f->n)
		return 0;
	c = realloc(f->c, (n ? n : 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	for (size_t i = f->n; i < n; i++)
		c[i] = (struct cdm_tier_chunk){ .heat = CDM_HEAT_NONE,
						.on = CDM_TIER_ON_FAST };
	f->c = c;
	f->n = n;
	return 0;
}

/* Move chunk @i of the file open as @fd, of device @dev, to @to. */
static int move_chunk(struct cdm_fs *fs, int fd, uint16_t dev, size_t i,
		      uint16_t to, unsigned char *vec)
{
	const struct cdm_backend_ops *ops = fs->devices.dev[dev].ops;
	struct cdm_placement pl;
	struct cdm_policy p;
	uint64_t moved = 0;
	int ret;

	if (!ops->move)
		return -EOPNOTSUPP;
	/* bind the chunk's range to the one device and move its pages */
	cdm_policy_default(&p, to);
	ret = cdm_placement_of(fs, &p, dev, &pl);
	if (!ret)
		ret = ops->move(fd, &pl, (off_t)(i * CDM_TIER_CHUNK),
				CDM_TIER_CHUNK, vec, &moved);
	return ret;
}

/*
 * One period of one file: statistics, decisions, moves.  @budget: bytes
 * each device may still take this period.  1: stop watching the file.
 */
static int tier_file(struct cdm_fs *fs, struct cdm_tiering *t,
		     struct tier_file *f, uint64_t *budget, unsigned char *vec)
{
	uint16_t dev = f->inode->dev;	/* once: a rename may change it */
	const struct cdm_backend_ops *ops = fs->devices.dev[dev].ops;
	struct cdm_tier_limits lim;
	char path[CDM_PROCFD_MAX];
	struct cdm_policy p, from, to;
	uint32_t *heat = NULL, samples;
	int8_t *move = NULL;
	uint64_t done;
	struct stat st;
	int ifd, fd, ret;
	size_t n;

	ret = cdm_effective_policy(fs, f->inode, &p);
	if (ret || p.mode != CDM_POLICY_TIERED)
		return 1;		/* not tiered any more */
	if (!ops->heat) {
		cdm_log(LOG_NOTICE, "inode %llu: device %s gives no access statistics: the tiered file stays where it is",
			(unsigned long long)f->inode->src_ino,
			fs->devices.dev[dev].name);
		return 1;
	}
	/* the policy's own migration first: it puts every page on FAST */
	if (cdm_migration_progress(f->inode, &from, &to, &done))
		return 0;
	ifd = cdm_inode_fd(&fs->table, f->inode);
	if (ifd < 0)
		return ifd == -ESTALE ? 1 : 0;
	cdm_procfd(path, ifd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cdm_inode_fd_put(f->inode, ifd);
	if (fd < 0)
		return errno == ENOENT || errno == ESTALE ? 1 : 0;
	if (fstat(fd, &st) || !st.st_nlink) {
		close(fd);
		return 1;		/* unlinked: nothing to place */
	}
	n = (size_t)(((uint64_t)st.st_size + CDM_TIER_CHUNK - 1) /
		     CDM_TIER_CHUNK);
	heat = malloc((n ? n : 1) * sizeof(*heat));
	move = malloc(n ? n : 1);
	if (!heat || !move)
		goto out;
	pthread_mutex_lock(&t->lock);
	if (f->reset) {
		f->n = 0;	/* the policy's binding put all of it on FAST */
		f->reset = false;
	}
	f->fast = p.dev[0];
	f->slow = p.dev[1];
	ret = resize_locked(f, n);
	pthread_mutex_unlock(&t->lock);
	if (ret || !n)
		goto out;
	ret = ops->heat(fd, 0, CDM_TIER_CHUNK, n, heat);
	if (ret == -EAGAIN)
		goto out;
	if (ret) {
		if (!f->told)
			cdm_log(LOG_WARNING, "inode %llu: no access statistics for the tiered file: %s; it stays where it is",
				(unsigned long long)f->inode->src_ino,
				ret == -EOPNOTSUPP ? "the kernel has no DAMON paddr sysfs interface" :
				ret == -EBUSY ? "DAMON is in use by another user" :
				strerror(-ret));
		f->told = true;
		goto out;
	}
	if (!f->stats)
		cdm_log(LOG_NOTICE, "inode %llu: tiering %s,%s from access statistics",
			(unsigned long long)f->inode->src_ino,
			fs->devices.dev[f->fast].name,
			fs->devices.dev[f->slow].name);
	f->told = false;
	/*
	 * Heat is 100 per sample of an aggregation that saw an access: hot
	 * above a quarter of the samples, cold below 2 (our own runs rebuild
	 * and moves mark pages young once: 1 sample).
	 */
	samples = 20;
	lim.hot = samples * 100 / 4;
	lim.cold = 200;
	done = cdm_policy_budget(&p, fs->devices.dev[f->fast].size);
	lim.budget = done / CDM_TIER_CHUNK > SIZE_MAX ? SIZE_MAX :
		     (size_t)(done / CDM_TIER_CHUNK);
	lim.up = (size_t)(budget[f->fast] / CDM_TIER_CHUNK);
	lim.down = (size_t)(budget[f->slow] / CDM_TIER_CHUNK);
	pthread_mutex_lock(&t->lock);
	f->stats = true;
	cdm_tier_decide(f->c, n, heat, &lim, move);
	pthread_mutex_unlock(&t->lock);
	/* demotions first: they make the room promotions take */
	for (int dir = -1; dir <= 1; dir += 2)
		for (size_t i = 0; i < n; i++) {
			uint16_t tgt = dir > 0 ? f->fast : f->slow;

			if (move[i] != dir)
				continue;
			budget[tgt] -= budget[tgt] < CDM_TIER_CHUNK ?
				       budget[tgt] : CDM_TIER_CHUNK;
			ret = move_chunk(fs, fd, dev, i, tgt, vec);
			if (ret && ret != -EIO) {
				cdm_log(LOG_WARNING, "inode %llu: cannot move chunk %zu to %s: %s",
					(unsigned long long)f->inode->src_ino,
					i, fs->devices.dev[tgt].name,
					strerror(-ret));
				continue;
			}
			/* -EIO: some pages busy; the range is bound there */
			pthread_mutex_lock(&t->lock);
			if (i < f->n)
				f->c[i].on = dir > 0 ? CDM_TIER_ON_FAST :
						       CDM_TIER_ON_SLOW;
			if (dir > 0)
				f->promoted += CDM_TIER_CHUNK;
			else
				f->demoted += CDM_TIER_CHUNK;
			pthread_mutex_unlock(&t->lock);
		}
out:
	free(heat);
	free(move);
	close(fd);
	return 0;
}

/* Stop watching @f: the backend forgets it, our reference goes. */
static void drop(struct cdm_fs *fs, struct tier_file *f)
{
	uint16_t dev = f->inode->dev;
	const struct cdm_backend_ops *ops = fs->devices.dev[dev].ops;
	int ifd = cdm_inode_fd(&fs->table, f->inode);

	if (ifd >= 0 && ops->heat)
		ops->heat(ifd, 0, CDM_TIER_CHUNK, 0, NULL);
	if (ifd >= 0)
		cdm_inode_fd_put(f->inode, ifd);
	cdm_inode_put(&fs->table, f->inode, 1);
	free(f->c);
	free(f);
}

static void *tier_thread(void *arg)
{
	struct cdm_fs *fs = arg;
	struct cdm_tiering *t = fs->tiering;
	uint64_t *budget, next = now_ms();
	unsigned char *vec;

	budget = calloc(fs->devices.count, sizeof(*budget));
	vec = malloc(CDM_TIER_CHUNK / 4096);
	if (!budget || !vec) {
		cdm_log(LOG_ERR, "tiering: out of memory, no tiering");
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		struct tier_file *head, **pp;
		struct timespec ts;

		next += fs->opt.tier_period_ms;
		ts.tv_sec = (time_t)(next / 1000);
		ts.tv_nsec = (long)(next % 1000) * 1000000;
		while (!t->stop && pthread_cond_timedwait(&t->cond, &t->lock,
							  &ts) != ETIMEDOUT)
			;
		if (t->stop)
			break;
		if (now_ms() > next + fs->opt.tier_period_ms)
			next = now_ms();	/* a late period is not repeated */
		/* this period's moves, per device */
		for (size_t d = 0; d < fs->devices.count; d++)
			budget[d] = fs->opt.tier_rate * fs->opt.tier_period_ms /
				    1000;
		/* only the thread unlinks: what follows head stays */
		head = t->files;
		pthread_mutex_unlock(&t->lock);
		for (struct tier_file *f = head; f; f = f->next)
			if (tier_file(fs, t, f, budget, vec) == 1) {
				pthread_mutex_lock(&t->lock);
				f->gone = true;
				pthread_mutex_unlock(&t->lock);
			}
		pthread_mutex_lock(&t->lock);
		for (pp = &t->files; *pp;) {
			struct tier_file *f = *pp;

			if (!f->gone) {
				pp = &f->next;
				continue;
			}
			*pp = f->next;
			pthread_mutex_unlock(&t->lock);
			drop(fs, f);
			pthread_mutex_lock(&t->lock);
		}
	}
	pthread_mutex_unlock(&t->lock);
out:
	free(budget);
	free(vec);
	return NULL;
}

int cdm_tiering_init(struct cdm_fs *fs)
{
	struct cdm_tiering *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	fs->tiering = t;
	return 0;
}

void cdm_tiering_stop(struct cdm_fs *fs)
{
	struct cdm_tiering *t = fs->tiering;
	bool started;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	started = t->started;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	if (started)
		pthread_join(t->thread, NULL);
	while (t->files) {
		struct tier_file *f = t->files;

		t->files = f->next;
		drop(fs, f);
	}
	cdm_heat_stop();
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
	fs->tiering = NULL;
}

bool cdm_tier_watching(struct cdm_fs *fs, struct cdm_inode *inode)
{
	struct cdm_tiering *t = fs->tiering;
	bool found = false;

	if (!t)
		return false;
	pthread_mutex_lock(&t->lock);
	for (struct tier_file *f = t->files; f && !found; f = f->next)
		found = f->inode == inode && !f->gone;
	pthread_mutex_unlock(&t->lock);
	return found;
}

void cdm_tier_watch(struct cdm_fs *fs, struct cdm_inode *inode)
{
	struct cdm_tiering *t = fs->tiering;
	struct tier_file *f;
	int ret;

	if (!t)
		return;			/* unit tests of placement */
	pthread_mutex_lock(&t->lock);
	if (t->stop)
		goto out;
	for (f = t->files; f; f = f->next)
		if (f->inode == inode && !f->gone) {
			f->reset = true;
			goto out;
		}
	f = calloc(1, sizeof(*f));
	if (!f) {
		cdm_log(LOG_ERR, "inode %llu: out of memory: not tiered",
			(unsigned long long)inode->src_ino);
		goto out;
	}
	cdm_inode_hold(&fs->table, inode);
	f->inode = inode;
	f->next = t->files;
	t->files = f;
	if (!t->started) {
		ret = pthread_create(&t->thread, NULL, tier_thread, fs);
		if (ret)
			cdm_log(LOG_ERR, "tiering: cannot start its thread: %s",
				strerror(ret));
		t->started = !ret;
	}
out:
	pthread_mutex_unlock(&t->lock);
}

char *cdm_heat_value(struct cdm_fs *fs, struct cdm_inode *inode)
{
	struct cdm_tiering *t = fs->tiering;
	uint64_t b[2][3] = { { 0 } };	/* [on][hot, warm, cold] */
	struct tier_file *f = NULL;
	char *buf = NULL;
	struct stat st;
	int ifd, r = -1;

	ifd = cdm_inode_fd(&fs->table, inode);
	if (ifd < 0 || fstatat(ifd, "", &st, AT_EMPTY_PATH)) {
		if (ifd >= 0)
			cdm_inode_fd_put(inode, ifd);
		return NULL;
	}
	cdm_inode_fd_put(inode, ifd);
	if (t) {
		pthread_mutex_lock(&t->lock);
		for (f = t->files; f && f->inode != inode; f = f->next)
			;
	}
	if (!f || !f->stats) {
		if (t)
			pthread_mutex_unlock(&t->lock);
		errno = ENODATA;
		return NULL;
	}
	for (size_t i = 0; i < f->n; i++) {
		const struct cdm_tier_chunk *c = &f->c[i];
		uint64_t off = i * CDM_TIER_CHUNK, len = CDM_TIER_CHUNK;
		int cls = c->hot >= CDM_TIER_HOT_PERIODS ? 0 :
			  c->cold >= CDM_TIER_COLD_PERIODS ? 2 : 1;

		if (c->heat == CDM_HEAT_NONE || off >= (uint64_t)st.st_size)
			continue;	/* never seen in memory */
		if ((uint64_t)st.st_size - off < len)
			len = (uint64_t)st.st_size - off;
		b[c->on][cls] += len;
	}
	r = asprintf(&buf, "%s hot=%llu warm=%llu cold=%llu; %s hot=%llu warm=%llu cold=%llu; promoted=%llu demoted=%llu",
		     fs->devices.dev[f->fast].name,
		     (unsigned long long)b[0][0], (unsigned long long)b[0][1],
		     (unsigned long long)b[0][2],
		     fs->devices.dev[f->slow].name,
		     (unsigned long long)b[1][0], (unsigned long long)b[1][1],
		     (unsigned long long)b[1][2],
		     (unsigned long long)f->promoted,
		     (unsigned long long)f->demoted);
	pthread_mutex_unlock(&t->lock);
	return r < 0 ? NULL : buf;
}
