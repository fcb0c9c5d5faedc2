// SPDX-License-Identifier: GPL-2.0-or-later
/* user.cdm.policy values: pure parsing and formatting, and the mempolicy. */
#include <errno.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>

#include "cdmfs/policy.h"

#ifndef MPOL_WEIGHTED_INTERLEAVE
#define MPOL_WEIGHTED_INTERLEAVE 6	/* Linux 6.9; older headers lack it */
#endif

static const struct {
	const char *name;
	enum cdm_policy_mode mode;
	int maxdev;
} modes[] = {
	{ "bind", CDM_POLICY_BIND, 1 },
	{ "preferred", CDM_POLICY_PREFERRED, 1 },
	{ "interleave", CDM_POLICY_INTERLEAVE, CDM_POLICY_MAX_DEVS },
	{ "weighted-interleave", CDM_POLICY_WEIGHTED_INTERLEAVE,
	  CDM_POLICY_MAX_DEVS },
};

static int find_device(const struct cdm_device_list *devs, const char *name)
{
	struct cdm_device *d = cdm_device_find(devs, name);

	return d ? (int)(d - devs->dev) : -ENODEV;
}

int cdm_policy_parse(const char *s, size_t len,
		     const struct cdm_device_list *devs, struct cdm_policy *p)
{
	struct cdm_policy np = { 0 };
	const char *colon, *end;
	size_t m;

	if (len && s[len - 1] == '\n')
		len--;
	if (len == 7 && !memcmp(s, "inherit", 7)) {
		*p = np;
		return 0;
	}
	colon = memchr(s, ':', len);
	if (!colon)
		return -EINVAL;
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		if (strlen(modes[m].name) == (size_t)(colon - s) &&
		    !memcmp(modes[m].name, s, (size_t)(colon - s)))
			break;
	if (m == sizeof(modes) / sizeof(modes[0]))
		return -EINVAL;
	np.mode = modes[m].mode;
	end = s + len;
	for (const char *d = colon + 1;; ) {
		const char *comma = memchr(d, ',', (size_t)(end - d));
		const char *e = comma ? comma : end;
		char name[CDM_NAME_MAX];
		int idx;

		if (e == d || (size_t)(e - d) >= CDM_NAME_MAX ||
		    memchr(d, '\0', (size_t)(e - d)))
			return -EINVAL;
		memcpy(name, d, (size_t)(e - d));
		name[e - d] = '\0';
		/* not a name at all is malformed; a valid unknown one, ENODEV */
		if (!cdm_device_name_valid(name) || np.ndev == modes[m].maxdev)
			return -EINVAL;
		idx = find_device(devs, name);
		if (idx < 0)
			return idx;
		for (int i = 0; i < np.ndev; i++)
			if (np.dev[i] == idx)
				return -EINVAL;	/* named twice */
		np.dev[np.ndev++] = (uint16_t)idx;
		if (!comma)
			break;
		d = comma + 1;
	}
	*p = np;
	return 0;
}

int cdm_policy_format(const struct cdm_policy *p,
		      const struct cdm_device_list *devs, char *buf,
		      size_t len)
{
	size_t n = 0;
	int r;

	if (p->mode == CDM_POLICY_INHERIT) {
		r = snprintf(buf, len, "inherit");
		return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : r;
	}
	for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		if (modes[m].mode != p->mode)
			continue;
		r = snprintf(buf, len, "%s:", modes[m].name);
		if (r < 0 || (size_t)r >= len)
			return -ENAMETOOLONG;
		n = (size_t)r;
	}
	for (int i = 0; i < p->ndev; i++) {
		r = snprintf(buf + n, len - n, "%s%s", i ? "," : "",
			     devs->dev[p->dev[i]].name);
		if (r < 0 || (size_t)r >= len - n)
			return -ENAMETOOLONG;
		n += (size_t)r;
	}
	return (int)n;
}

void cdm_policy_default(struct cdm_policy *p, uint16_t dev)
{
	memset(p, 0, sizeof(*p));
	p->mode = CDM_POLICY_BIND;
	p->ndev = 1;
	p->dev[0] = dev;
}

void cdm_policy_mempolicy(const struct cdm_policy *p,
			  const struct cdm_device_list *devs, int *mode,
			  struct cdm_nodemask *nodes)
{
	bool any = false;

	memset(nodes, 0, sizeof(*nodes));
	for (int i = 0; i < p->ndev; i++) {
		const struct cdm_device *d = &devs->dev[p->dev[i]];

		for (size_t w = 0; w < CDM_MAX_NODES / 64; w++) {
			nodes->bits[w] |= d->nodes.bits[w];
			any |= d->nodes.bits[w] != 0;
		}
	}
	if (!any) {
		*mode = MPOL_DEFAULT;
		return;
	}
	switch (p->mode) {
	case CDM_POLICY_PREFERRED:
		*mode = MPOL_PREFERRED;
		break;
	case CDM_POLICY_INTERLEAVE:
		*mode = MPOL_INTERLEAVE;
		break;
	case CDM_POLICY_WEIGHTED_INTERLEAVE:
		*mode = MPOL_WEIGHTED_INTERLEAVE;
		break;
	default:
		*mode = MPOL_BIND;
		break;
	}
}

int cdm_policy_has_device(const struct cdm_policy *p, uint16_t dev)
{
	for (int i = 0; i < p->ndev; i++)
		if (p->dev[i] == dev)
			return 1;
	return 0;
}
