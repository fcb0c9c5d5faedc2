// SPDX-License-Identifier: GPL-2.0-or-later
/* user.cdm.policy values: pure parsing and formatting, and the mempolicy. */
#include <errno.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>

#include "cdmfs/policy.h"
#include "cdmfs/size.h"

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
	{ "tiered", CDM_POLICY_TIERED, 2 },
};

static int find_device(const struct cdm_device_list *devs, const char *name)
{
	struct cdm_device *d = cdm_device_find(devs, name);

	return d ? (int)(d - devs->dev) : -ENODEV;
}

/* "budget=SIZE" or "budget=PCT%" of a tiered policy, @len bytes at @s */
static int parse_budget(const char *s, size_t len, struct cdm_policy *p)
{
	char v[32];
	uint64_t b;

	if (len <= 7 || memcmp(s, "budget=", 7) || len - 7 >= sizeof(v) ||
	    memchr(s, '\0', len))
		return -EINVAL;
	memcpy(v, s + 7, len - 7);
	v[len - 7] = '\0';
	if (v[len - 8] == '%') {
		v[len - 8] = '\0';
		if (cdm_size_parse(v, 0, &b) || v[len - 9] < '0' ||
		    v[len - 9] > '9' || b < 1 || b > 100)
			return -EINVAL;
		p->budget_pct = (uint8_t)b;
		return 0;
	}
	if (cdm_size_parse(v, 0, &b) || !b)
		return -EINVAL;
	p->budget = b;
	return 0;
}

/* Why tiered policy @p cannot be, or NULL: it needs two real tiers. */
static const char *tiered_invalid(const struct cdm_policy *p,
				  const struct cdm_device_list *devs)
{
	if (p->ndev != 2)
		return "tiered needs FAST,SLOW";
	for (int i = 0; i < 2; i++) {
		const struct cdm_device *d = &devs->dev[p->dev[i]];

		if (d->simulated || d->node < 0)
			return "a tiered device must be a NUMA node (this one has no placement to tier)";
	}
	return NULL;
}

#define WHY(s) (why ? (void)(*why = (s)) : (void)0)

int cdm_policy_parse_why(const char *s, size_t len,
			 const struct cdm_device_list *devs,
			 struct cdm_policy *p, const char **why)
{
	struct cdm_policy np = { 0 };
	const char *colon, *end, *bad;
	size_t m;
	bool tiered;

	WHY("malformed policy");
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
	if (m == sizeof(modes) / sizeof(modes[0])) {
		WHY("unknown policy mode");
		return -EINVAL;
	}
	np.mode = modes[m].mode;
	tiered = np.mode == CDM_POLICY_TIERED;
	end = s + len;
	for (const char *d = colon + 1;; ) {
		const char *comma = memchr(d, ',', (size_t)(end - d));
		const char *e = comma ? comma : end;
		char name[CDM_NAME_MAX];
		int idx;

		/* tiered: an optional last item after the two devices */
		if (tiered && np.ndev == 2) {
			if (comma || parse_budget(d, (size_t)(e - d), &np)) {
				WHY("tiered takes FAST,SLOW then only budget=SIZE or budget=PCT% (1-100)");
				return -EINVAL;
			}
			break;
		}
		if (e == d || (size_t)(e - d) >= CDM_NAME_MAX ||
		    memchr(d, '\0', (size_t)(e - d)))
			return -EINVAL;
		memcpy(name, d, (size_t)(e - d));
		name[e - d] = '\0';
		/* not a name at all is malformed; a valid unknown one, ENODEV */
		if (!cdm_device_name_valid(name)) {
			WHY("not a device name");
			return -EINVAL;
		}
		if (np.ndev == modes[m].maxdev) {
			WHY("too many devices for this mode");
			return -EINVAL;
		}
		idx = find_device(devs, name);
		if (idx < 0) {
			WHY("no such device");
			/* a tiered policy is refused as a whole: EINVAL */
			return tiered ? -EINVAL : idx;
		}
		for (int i = 0; i < np.ndev; i++)
			if (np.dev[i] == idx) {
				WHY(tiered ? "FAST and SLOW are the same device" :
					     "a device named twice");
				return -EINVAL;
			}
		np.dev[np.ndev++] = (uint16_t)idx;
		if (!comma)
			break;
		d = comma + 1;
	}
	if (tiered && (bad = tiered_invalid(&np, devs))) {
		WHY(bad);
		return -EINVAL;
	}
	*p = np;
	return 0;
}

int cdm_policy_parse(const char *s, size_t len,
		     const struct cdm_device_list *devs, struct cdm_policy *p)
{
	return cdm_policy_parse_why(s, len, devs, p, NULL);
}

uint64_t cdm_policy_budget(const struct cdm_policy *p, uint64_t fast_size)
{
	if (p->budget)
		return p->budget;
	if (p->budget_pct && fast_size)
		return fast_size / 100 * p->budget_pct +
		       fast_size % 100 * p->budget_pct / 100;
	return UINT64_MAX;
}

/* @b as the shortest exact "64M"-style size */
static int format_size(char *buf, size_t len, uint64_t b)
{
	static const char suffix[] = "KMGT";
	int s = -1;

	while (s < 3 && b && !(b & 1023)) {
		b >>= 10;
		s++;
	}
	if (s < 0)
		return snprintf(buf, len, "%llu", (unsigned long long)b);
	return snprintf(buf, len, "%llu%c", (unsigned long long)b, suffix[s]);
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
	if (p->mode == CDM_POLICY_TIERED && (p->budget || p->budget_pct)) {
		r = snprintf(buf + n, len - n, ",budget=");
		if (r < 0 || (size_t)r >= len - n)
			return -ENAMETOOLONG;
		n += (size_t)r;
		if (p->budget)
			r = format_size(buf + n, len - n, p->budget);
		else
			r = snprintf(buf + n, len - n, "%u%%", p->budget_pct);
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
	/* tiered: new pages start on FAST, the first device */
	int ndev = p->mode == CDM_POLICY_TIERED ? 1 : p->ndev;
	bool any = false;

	memset(nodes, 0, sizeof(*nodes));
	for (int i = 0; i < ndev; i++) {
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
	case CDM_POLICY_TIERED:
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

void cdm_policy_nodes(const struct cdm_policy *p,
		      const struct cdm_device_list *devs,
		      struct cdm_nodemask *nodes)
{
	memset(nodes, 0, sizeof(*nodes));
	for (int i = 0; i < p->ndev; i++)
		for (size_t w = 0; w < CDM_MAX_NODES / 64; w++)
			nodes->bits[w] |= devs->dev[p->dev[i]].nodes.bits[w];
}

int cdm_policy_has_device(const struct cdm_policy *p, uint16_t dev)
{
	for (int i = 0; i < p->ndev; i++)
		if (p->dev[i] == dev)
			return 1;
	return 0;
}
