/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The values of user.cdm.stats and user.cdm.devices (stats.c).
 */
#ifndef CDMFS_FS_STATS_H
#define CDMFS_FS_STATS_H

#include <stdbool.h>

#include "fs.h"

/**
 * "transport=io_uring lookup=3 getattr=5 ... passthrough_opens=2 ...":
 * @over_uring says whether the request asking came over the ring.
 */
char *cdm_stats_format(struct cdm_fs *fs, bool over_uring);
/** One line per device for user.cdm.devices. */
char *cdm_devices_format(struct cdm_fs *fs);

#endif
