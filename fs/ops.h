/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The FUSE operations table (ops.c): the top of the daemon, under main. */
#ifndef CDMFS_FS_OPS_H
#define CDMFS_FS_OPS_H

#include "req.h"

extern const struct fuse_lowlevel_ops cdm_oper;

#endif
