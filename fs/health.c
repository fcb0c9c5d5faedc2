// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Device health: device memory is less reliable than DRAM.  The helper
 * module marks a failing region offline after evacuating its files to RAM,
 * or dead when the device stopped answering and their pages are lost.  A
 * thread asks the module once a second (only when there are regions) and
 * logs each change once, naming every file that lost data, so an operator
 * learns which files to restore.  user.cdm.residency of such a file shows
 * lost=BYTES; reading the lost part fails with EIO and touching it through
 * a mapping with SIGBUS (the module's doing), never the host.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cdmfs.h"
#include "cdmfs/cdmkmio.h"
#include "cdmfs/log.h"

#define HEALTH_PERIOD_MS 1000

/* nftw() has no user pointer; only the health thread walks with these. */
static const char *walk_device;
static size_t walk_prefix;
static unsigned int walk_files;

static int report_lost(const char *path, const struct stat *st, int type,
		       struct FTW *ftw)
{
	struct cdmkm_usage res;
	int fd;

	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (!cdmkm_usage_get(fd, &res)) {
		if (res.lost) {
			cdm_log(LOG_ERR, "device %s: %s lost %llu bytes",
				walk_device, path + walk_prefix,
				(unsigned long long)res.lost);
			walk_files++;
		}
		cdmkm_usage_free(&res);
	}
	close(fd);
	return 0;
}

static void region_changed(struct cdm_fs *fs, const struct cdm_device *d,
			   const struct cdmkm_region *r)
{
	char path[PATH_MAX];

	if (r->state == CDMKM_OFFLINE) {
		cdm_log(LOG_ERR, "device %s: failing; its files were moved to system RAM (no new files there)",
			d->name);
		return;
	}
	if (r->state != CDMKM_DEAD)
		return;
	cdm_log(LOG_ERR, "device %s: failed, %llu bytes of file data lost",
		d->name, (unsigned long long)r->lost);
	snprintf(path, sizeof(path), "%s/%s", fs->store_path, d->name);
	walk_device = d->name;
	walk_prefix = strlen(fs->store_path) + 1;
	walk_files = 0;
	nftw(path, report_lost, 16, FTW_PHYS | FTW_MOUNT);
	cdm_log(LOG_ERR, "device %s: %u files lost data; reads of it fail with EIO",
		d->name, walk_files);
}

static void *health_thread(void *arg)
{
	struct cdm_fs *fs = arg;
	struct cdm_health *h = &fs->health;
	struct cdmkm_region r;
	struct timespec t;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		for (size_t i = 0; i < fs->devices.count; i++) {
			const struct cdm_device *d = &fs->devices.dev[i];

			if (d->kind != CDM_KIND_COHERENT ||
			    cdmkm_region_find(d->name, &r) ||
			    r.state == h->state[i])
				continue;
			h->state[i] = r.state;
			pthread_mutex_unlock(&h->lock);
			region_changed(fs, d, &r);
			pthread_mutex_lock(&h->lock);
		}
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += HEALTH_PERIOD_MS * 1000000L;
		t.tv_sec += t.tv_nsec / 1000000000L;
		t.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&h->cond, &h->lock, &t);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int cdm_health_start(struct cdm_fs *fs)
{
	struct cdm_health *h = &fs->health;
	bool any = false;
	int ret;

	for (size_t i = 0; i < fs->devices.count; i++)
		any |= fs->devices.dev[i].kind == CDM_KIND_COHERENT;
	if (!any)
		return 0;
	h->state = calloc(fs->devices.count, sizeof(*h->state));
	if (!h->state)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->stop = false;
	ret = -pthread_create(&h->thread, NULL, health_thread, fs);
	if (ret) {
		free(h->state);
		h->state = NULL;
		return ret;
	}
	h->running = true;
	return 0;
}

void cdm_health_stop(struct cdm_fs *fs)
{
	struct cdm_health *h = &fs->health;

	if (!h->running)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	h->running = false;
	free(h->state);
	h->state = NULL;
}
