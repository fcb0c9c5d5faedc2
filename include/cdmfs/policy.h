/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Placement policies: the values of user.cdm.policy.
 *
 *   bind:DEV                      only that device
 *   preferred:DEV                 that device, others when it is full
 *   interleave:DEV,DEV[,...]      round robin over the devices' nodes
 *   weighted-interleave:DEV,...   by the kernel's per-node weights (>= 6.9)
 *   tiered:FAST,SLOW[,budget=B]   hot 2 MiB chunks on FAST, cold on SLOW
 *                                 (fs/tiering.c); B a size (64M) or a
 *                                 share of FAST's capacity (25%)
 *   inherit                       drop the file's own policy (setting only)
 *
 * DEV is the name of a device directory at the mount root.  One trailing
 * newline is accepted; anything else malformed is -EINVAL, an unknown
 * device -ENODEV (tiered: -EINVAL, as for FAST = SLOW or a device with no
 * node of its own, which has no placement to tier).
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
	CDM_POLICY_TIERED,		/* dev[0] FAST, dev[1] SLOW */
};

struct cdm_policy {
	enum cdm_policy_mode mode;
	uint8_t ndev;
	uint16_t dev[CDM_POLICY_MAX_DEVS];	/* indexes into the device list */
	/* tiered: FAST bytes hot chunks may take; 0 and 0: all of FAST */
	uint64_t budget;
	uint8_t budget_pct;	/* tiered: or this percent of FAST's size */
};

/** Parse @len bytes at @s (not NUL-terminated) against @devs. */
int cdm_policy_parse(const char *s, size_t len,
		     const struct cdm_device_list *devs, struct cdm_policy *p);
/**
 * cdm_policy_parse(), and on error *@why (when not NULL) a static phrase
 * saying what is wrong, for the log: "FAST and SLOW are the same device".
 */
int cdm_policy_parse_why(const char *s, size_t len,
			 const struct cdm_device_list *devs,
			 struct cdm_policy *p, const char **why);
/**
 * The FAST budget of tiered policy @p in bytes, with @fast_size the size
 * of its FAST device (0 = unknown): UINT64_MAX for no limit.
 */
uint64_t cdm_policy_budget(const struct cdm_policy *p, uint64_t fast_size);
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
/** The union of the nodes of every device @p names, into @nodes. */
void cdm_policy_nodes(const struct cdm_policy *p,
		      const struct cdm_device_list *devs,
		      struct cdm_nodemask *nodes);
/** True if @p names device @dev. */
int cdm_policy_has_device(const struct cdm_policy *p, uint16_t dev);

#endif /* CDMFS_POLICY_H */
