/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Placement policies: the values of user.cdm.policy.
 *
 *   bind:DEV                      only that device
 *   preferred:DEV                 that device, others when it is full
 *   interleave:DEV,DEV[,...]      round robin over the devices' nodes
 *   weighted-interleave:DEV,...   by the kernel's per-node weights (>= 6.9)
 *   inherit                       drop the file's own policy (setting only)
 *
 * DEV is the name of a device directory at the mount root.  One trailing
 * newline is accepted; anything else malformed is -EINVAL, an unknown
 * device -ENODEV.
 */
#ifndef CDMFS_POLICY_H
#define CDMFS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdmfs/backend.h"

#define CDM_POLICY_MAX_DEVS 16
/* Longest formatted policy, NUL included. */
#define CDM_POLICY_STRLEN (24 + CDM_POLICY_MAX_DEVS * CDM_NAME_MAX)

enum cdm_policy_mode {
	CDM_POLICY_INHERIT,
	CDM_POLICY_BIND,
	CDM_POLICY_PREFERRED,
	CDM_POLICY_INTERLEAVE,
	CDM_POLICY_WEIGHTED_INTERLEAVE,
};

struct cdm_policy {
	enum cdm_policy_mode mode;
	uint8_t ndev;
	uint16_t dev[CDM_POLICY_MAX_DEVS];	/* indexes into the device list */
};

/** Parse @len bytes at @s (not NUL-terminated) against @devs. */
int cdm_policy_parse(const char *s, size_t len,
		     const struct cdm_device_list *devs, struct cdm_policy *p);
/** Canonical text of @p into @buf; returns its length or -ENAMETOOLONG. */
int cdm_policy_format(const struct cdm_policy *p,
		      const struct cdm_device_list *devs, char *buf,
		      size_t len);
/** bind:DEV for device @dev: what a file follows without a policy. */
void cdm_policy_default(struct cdm_policy *p, uint16_t dev);
/**
 * The kernel mempolicy for @p: MPOL_* in @mode and the union of the
 * devices' nodes in @nodes.  Simulated devices have no nodes; a policy on
 * simulated devices only is MPOL_DEFAULT (placement is logical only).
 */
void cdm_policy_mempolicy(const struct cdm_policy *p,
			  const struct cdm_device_list *devs, int *mode,
			  struct cdm_nodemask *nodes);
/** True if @p names device @dev. */
int cdm_policy_has_device(const struct cdm_policy *p, uint16_t dev);

#endif /* CDMFS_POLICY_H */
