// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Inode table: the backing-store inodes the kernel holds lookups on, keyed
 * by (st_ino, st_dev) so that hard links share one FUSE inode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cdmfs.h"

static size_t hash(ino_t ino, dev_t dev, size_t n)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;

	return (h ^ (h >> 29)) & (n - 1);
}

int cdm_inode_table_init(struct cdm_inode_table *t)
{
	t->nbucket = 1024;
	t->count = 0;
	t->bucket = calloc(t->nbucket, sizeof(*t->bucket));
	if (!t->bucket)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

static void free_inode(struct cdm_inode *inode)
{
	if (inode->fd >= 0)
		close(inode->fd);
	cdm_migration_free(inode->mig);
	pthread_mutex_destroy(&inode->lock);
	free(inode);
}

void cdm_inode_table_destroy(struct cdm_inode_table *t)
{
	for (size_t i = 0; i < t->nbucket; i++) {
		struct cdm_inode *inode = t->bucket[i], *next;

		for (; inode; inode = next) {
			next = inode->next;
			free_inode(inode);
		}
	}
	free(t->bucket);
	t->bucket = NULL;
	t->count = 0;
	pthread_mutex_destroy(&t->lock);
}

/* Double the buckets when the chains average more than two entries. */
static void grow(struct cdm_inode_table *t)
{
	size_t n = t->nbucket * 2;
	struct cdm_inode **b = calloc(n, sizeof(*b));

	if (!b)
		return;		/* longer chains, still correct */
	for (size_t i = 0; i < t->nbucket; i++) {
		struct cdm_inode *inode = t->bucket[i], *next;

		for (; inode; inode = next) {
			size_t h = hash(inode->src_ino, inode->src_dev, n);

			next = inode->next;
			inode->next = b[h];
			b[h] = inode;
		}
	}
	free(t->bucket);
	t->bucket = b;
	t->nbucket = n;
}

struct cdm_inode *cdm_inode_get(struct cdm_inode_table *t, ino_t ino,
				dev_t dev, int fd, uint16_t devidx,
				uint64_t nlookup)
{
	struct cdm_inode *inode;
	size_t h;

	pthread_mutex_lock(&t->lock);
	h = hash(ino, dev, t->nbucket);
	for (inode = t->bucket[h]; inode; inode = inode->next) {
		if (inode->src_ino == ino && inode->src_dev == dev) {
			inode->nlookup += nlookup;
			pthread_mutex_unlock(&t->lock);
			close(fd);
			return inode;
		}
	}
	inode = calloc(1, sizeof(*inode));
	if (!inode) {
		pthread_mutex_unlock(&t->lock);
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	inode->src_ino = ino;
	inode->src_dev = dev;
	inode->fd = fd;
	inode->nlookup = nlookup;
	inode->dev = devidx;
	pthread_mutex_init(&inode->lock, NULL);
	inode->next = t->bucket[h];
	t->bucket[h] = inode;
	if (++t->count > 2 * t->nbucket)
		grow(t);
	pthread_mutex_unlock(&t->lock);
	return inode;
}

void cdm_inode_hold(struct cdm_inode_table *t, struct cdm_inode *inode)
{
	pthread_mutex_lock(&t->lock);
	inode->nlookup++;
	pthread_mutex_unlock(&t->lock);
}

bool cdm_inode_put(struct cdm_inode_table *t, struct cdm_inode *inode,
		   uint64_t n)
{
	struct cdm_inode **pp;

	pthread_mutex_lock(&t->lock);
	if (n < inode->nlookup) {
		inode->nlookup -= n;
		pthread_mutex_unlock(&t->lock);
		return false;
	}
	for (pp = &t->bucket[hash(inode->src_ino, inode->src_dev, t->nbucket)];
	     *pp; pp = &(*pp)->next) {
		if (*pp == inode) {
			*pp = inode->next;
			t->count--;
			break;
		}
	}
	pthread_mutex_unlock(&t->lock);
	free_inode(inode);
	return true;
}

size_t cdm_inode_count(struct cdm_inode_table *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

struct cdm_inode *cdm_inode_find(struct cdm_inode_table *t, ino_t ino,
				 dev_t dev)
{
	struct cdm_inode *inode;

	pthread_mutex_lock(&t->lock);
	for (inode = t->bucket[hash(ino, dev, t->nbucket)]; inode;
	     inode = inode->next)
		if (inode->src_ino == ino && inode->src_dev == dev)
			break;
	pthread_mutex_unlock(&t->lock);
	return inode;
}

void cdm_procfd(char buf[CDM_PROCFD_MAX], int fd)
{
	snprintf(buf, CDM_PROCFD_MAX, "/proc/self/fd/%d", fd);
}
