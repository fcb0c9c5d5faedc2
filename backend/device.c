// SPDX-License-Identifier: GPL-2.0-or-later
/* The device list every backend appends to, and the registry of backends. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cdmfs/backend.h"

bool cdm_device_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= CDM_NAME_MAX || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int cdm_device_list_add(struct cdm_device_list *list,
			const struct cdm_device *dev)
{
	if (!cdm_device_name_valid(dev->name))
		return -EINVAL;
	if (cdm_device_find(list, dev->name))
		return -EEXIST;
	if (list->count == list->cap) {
		size_t cap = list->cap ? list->cap * 2 : 8;
		struct cdm_device *d = realloc(list->dev, cap * sizeof(*d));

		if (!d)
			return -ENOMEM;
		list->dev = d;
		list->cap = cap;
	}
	list->dev[list->count++] = *dev;
	return 0;
}

void cdm_device_list_free(struct cdm_device_list *list)
{
	free(list->dev);
	list->dev = NULL;
	list->count = list->cap = 0;
}

struct cdm_device *cdm_device_find(const struct cdm_device_list *list,
				   const char *name)
{
	for (size_t i = 0; i < list->count; i++)
		if (!strcmp(list->dev[i].name, name))
			return &list->dev[i];
	return NULL;
}

const char *cdm_kind_name(enum cdm_kind kind)
{
	switch (kind) {
	case CDM_KIND_HOST:
		return "host";
	case CDM_KIND_CXL:
		return "cxl";
	case CDM_KIND_KMEM:
		return "kmem";
	case CDM_KIND_HBM:
		return "hbm";
	case CDM_KIND_MEMORY:
		return "memory";
	case CDM_KIND_SIM:
		return "sim";
	case CDM_KIND_COHERENT:
		return "coherent";
	}
	return "unknown";
}

int cdm_device_of_node(const struct cdm_device_list *list, int node)
{
	for (size_t i = 0; i < list->count; i++)
		if (cdm_nodemask_test(&list->dev[i].nodes, node))
			return (int)i;
	return -1;
}

bool cdm_is_mountpoint(const char *path)
{
	char parent[PATH_MAX + 4];
	struct stat a, b;

	snprintf(parent, sizeof(parent), "%s/..", path);
	return !stat(path, &a) && !stat(parent, &b) && a.st_dev != b.st_dev;
}

const struct cdm_backend_ops *const cdm_backends[] = {
	&cdm_numa_ops,
	&cdm_cdmkm_ops,
	&cdm_sim_ops,
	NULL,
};
