// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Device health: device memory is less reliable than DRAM.  A backend that
 * tells health (the helper module's) marks a failing device offline after
 * evacuating its files to RAM, or dead when the device stopped answering
 * and their pages are lost.  A thread asks once a second (only when some
 * device's backend tells health) and
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

#include "cdmfs/log.h"
#include "fs.h"
#include "health.h"

#define HEALTH_PERIOD_MS 1000

/* nftw() has no user pointer; only the health thread walks with these. */
static const struct cdm_device *walk_device;
static size_t walk_prefix;
static unsigned int walk_files;

static int report_lost(const char *path, const struct stat *st, int type,
		       struct FTW *ftw)
{
	uint64_t lost;
	int fd;

	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (walk_device->ops->lost && !walk_device->ops->lost(fd, &lost) &&
	    lost) {
		cdm_log(LOG_ERR, "device %s: %s lost %llu bytes",
			walk_device->name, path + walk_prefix,
			(unsigned long long)lost);
		walk_files++;
	}
	close(fd);
	return 0;
}

static void device_changed(struct cdm_fs *fs, const struct cdm_device *d,
			   enum cdm_health_state state, uint64_t lost)
{
	char path[PATH_MAX];

	if (state == CDM_HEALTH_OFFLINE) {
		cdm_log(LOG_ERR, "device %s: failing; its files were moved to system RAM (no new files there)",
			d->name);
		return;
	}
	if (state != CDM_HEALTH_DEAD)
		return;
	cdm_log(LOG_ERR, "device %s: failed, %llu bytes of file data lost",
		d->name, (unsigned long long)lost);
	snprintf(path, sizeof(path), "%s/%s", fs->store_path, d->name);
	walk_device = d;
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
	enum cdm_health_state state;
	struct timespec t;
	uint64_t lost;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		for (size_t i = 0; i < fs->devices.count; i++) {
			const struct cdm_device *d = &fs->devices.dev[i];

			if (!d->ops->health ||
			    d->ops->health(d, &state, &lost) ||
			    state == h->state[i])
				continue;
			h->state[i] = state;
			pthread_mutex_unlock(&h->lock);
			device_changed(fs, d, state, lost);
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
		any |= fs->devices.dev[i].ops->health != NULL;
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
