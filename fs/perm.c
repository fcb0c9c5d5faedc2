// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Mode rules the daemon applies for its callers, as pure functions over
 * strings and modes, so the unit suite reaches them without a mount.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "perm.h"


/* linux/capability.h; not included for two constants */
#define CDM_CAP_FSETID 4
#define CDM_CAP_SYS_ADMIN 21

/* The value of "Key:" at the start of a line of @text, or NULL. */
static const char *field(const char *text, const char *key)
{
	size_t n = strlen(key);
	const char *p = text;

	while (p) {
		if (!strncmp(p, key, n))
			return p + n;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* The 4th number of a "real effective saved fs" line: the fs id. */
static int fs_id(const char *v, unsigned int *id)
{
	unsigned long x = 0;
	char *end;

	for (int i = 0; i < 4; i++) {
		errno = 0;
		x = strtoul(v, &end, 10);
		if (end == v || errno || x > UINT32_MAX)
			return -EINVAL;
		v = end;
	}
	*id = (unsigned int)x;
	return 0;
}

int cdm_caller_parse_status(const char *text, struct cdm_caller *c)
{
	const char *uid = field(text, "Uid:"), *gid = field(text, "Gid:");
	const char *cap = field(text, "CapEff:"), *groups;
	unsigned long long capeff;
	unsigned int id;
	char *end;

	memset(c, 0, sizeof(*c));
	if (!uid || !gid || !cap)
		return -EINVAL;
	if (fs_id(uid, &id))
		return -EINVAL;
	c->fsuid = id;
	if (fs_id(gid, &id))
		return -EINVAL;
	c->fsgid = id;
	errno = 0;
	capeff = strtoull(cap, &end, 16);
	if (end == cap || errno)
		return -EINVAL;
	c->fsetid = capeff & (1ULL << CDM_CAP_FSETID);
	c->sys_admin = capeff & (1ULL << CDM_CAP_SYS_ADMIN);
	groups = field(text, "Groups:");
	while (groups && c->ngroups < CDM_CALLER_GROUPS_MAX) {
		unsigned long g;

		while (*groups == ' ' || *groups == '\t')
			groups++;
		if (*groups < '0' || *groups > '9')
			break;
		errno = 0;
		g = strtoul(groups, &end, 10);
		if (errno || g > UINT32_MAX)
			return -EINVAL;
		c->groups[c->ngroups++] = (gid_t)g;
		groups = end;
	}
	return 0;
}

bool cdm_caller_in_group(const struct cdm_caller *c, gid_t gid)
{
	if (c->fsgid == gid)
		return true;
	for (size_t i = 0; i < c->ngroups; i++)
		if (c->groups[i] == gid)
			return true;
	return false;
}

unsigned int cdm_mode_after_kill(unsigned int mode, bool in_group_or_capable)
{
	if (!S_ISREG(mode))
		return mode;
	mode &= ~(unsigned int)S_ISUID;
	if (mode & S_ISGID && (mode & S_IXGRP || !in_group_or_capable))
		mode &= ~(unsigned int)S_ISGID;
	return mode;
}
