/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Watcher of device health (health.c).
 */
#ifndef CDMFS_FS_HEALTH_H
#define CDMFS_FS_HEALTH_H

#include "fs.h"

/** Watch the regions of the helper module, if any; logs failures. */
int cdm_health_start(struct cdm_fs *fs);
void cdm_health_stop(struct cdm_fs *fs);

#endif
