// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NUMA policy of a shmem backing file.
 *
 * mbind() on a MAP_SHARED mapping of a shmem file sets the shared policy of
 * the object for the mapped range of offsets, and every process that maps
 * or writes the file obeys it (FACTS §3).  The range is the mapping's, so we
 * map a span far beyond any file we expect (PROT_NONE, no page tables are
 * built) and bind all of it once, before the first page exists.
 */
#include <errno.h>
#include <numaif.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdmfs/backend.h"

/* Offsets [0, 16 TiB) of every file carry the policy. */
#define CDM_POLICY_SPAN (1ULL << 44)

int cdm_mbind_fd(int fd, int mode, const struct cdm_nodemask *nodes,
		 unsigned int flags)
{
	void *addr;
	int ret = 0;

	addr = mmap(NULL, CDM_POLICY_SPAN, PROT_NONE,
		    MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (addr == MAP_FAILED)
		return -errno;
	/* maxnode counts one past the last bit, as libnuma passes it */
	if (mbind(addr, CDM_POLICY_SPAN, mode, nodes ? nodes->bits : NULL,
		  nodes ? CDM_MAX_NODES + 1 : 0, flags))
		ret = -errno;
	munmap(addr, CDM_POLICY_SPAN);
	return ret;
}

/* Populate the page tables for the resident pages of [addr, addr+len) only:
 * touching a hole of a shmem file would allocate it. */
static int populate_resident(char *addr, size_t len, size_t pg,
			     unsigned char *vec)
{
	size_t pages = len / pg, i = 0;

	if (mincore(addr, len, vec))
		return -errno;
	while (i < pages) {
		size_t j;

		if (!(vec[i] & 1)) {
			i++;
			continue;
		}
		for (j = i; j < pages && vec[j] & 1; j++)
			;
		/* a page truncated meanwhile is no error: it has nothing to move */
		if (madvise(addr + i * pg, (j - i) * pg,
			    MADV_POPULATE_READ) && errno != EFAULT)
			return -errno;
		i = j;
	}
	return 0;
}

int cdm_migrate_fd(int fd, int mode, const struct cdm_nodemask *nodes,
		   size_t batch)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char *vec;
	struct stat st;
	int ret;

	/* new pages go to the new place from now on */
	ret = cdm_mbind_fd(fd, mode, nodes, 0);
	if (ret)
		return ret;
	if (fstat(fd, &st))
		return -errno;
	batch = batch ? (batch + pg - 1) / pg * pg : 64 << 20;
	vec = malloc(batch / pg);
	if (!vec)
		return -ENOMEM;
	for (off_t off = 0; off < st.st_size && !ret; off += (off_t)batch) {
		size_t len = (size_t)(st.st_size - off) < batch ?
			     (size_t)(st.st_size - off) : batch;
		char *addr;

		len = (len + pg - 1) / pg * pg;
		addr = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off);
		if (addr == MAP_FAILED) {
			ret = -errno;
			break;
		}
		ret = populate_resident(addr, len, pg, vec);
		if (!ret && mbind(addr, len, mode, nodes ? nodes->bits : NULL,
				  nodes ? CDM_MAX_NODES + 1 : 0,
				  MPOL_MF_MOVE_ALL))
			ret = -errno;
		munmap(addr, len);
	}
	free(vec);
	return ret;
}
