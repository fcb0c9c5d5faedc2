// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Simulated devices (-o sim=NAME:SIZE): host RAM under a size limit, for
 * machines without coherent device memory.  Placement is logical only: the
 * pages follow the host's default policy.  Devices come from the options,
 * so there is nothing to probe, and their use is what cdmfs stores in
 * them, which the daemon counts itself (usage is NULL).
 */
#include <numaif.h>

#include "cdmfs/backend.h"

static int sim_place(const struct cdm_device *dev, int fd)
{
	return 0;
}

/* Back to the host's default policy; the pages stay where they are. */
static int sim_migrate(const struct cdm_device *dev, int fd)
{
	return cdm_mbind_fd(fd, MPOL_DEFAULT, NULL, 0);
}

const struct cdm_backend_ops cdm_sim_ops = {
	.name = "sim",
	.place = sim_place,
	.migrate = sim_migrate,
};
