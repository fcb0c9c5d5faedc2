// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Simulated devices (-o sim=NAME:SIZE): host RAM under a size limit, for
 * machines without coherent device memory.  They have no nodes, so a
 * policy naming only simulated devices is the host's default policy:
 * placement is logical only.  Devices come from the options, so there is
 * nothing to probe, and their use is what cdmfs stores in them, which the
 * daemon counts itself (usage is NULL).  Their files are the store's
 * shmem files, placed like those of NUMA devices (mpol.c).
 */
#include "cdmfs/backend.h"

const struct cdm_backend_ops cdm_sim_ops = {
	.name = "sim",
	.translate = cdm_mpol_translate,
	.bind = cdm_mpol_bind,
	.move = cdm_mpol_move,
	.residency = cdm_mpol_residency,
};
