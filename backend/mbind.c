// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NUMA policy, migration and residency of a shmem backing file.
 *
 * mbind() on a MAP_SHARED mapping of a shmem file sets the shared policy of
 * the object for the mapped range of offsets, and every process that maps
 * or writes the file obeys it.  The range is the mapping's, so we
 * map a span far beyond any file we expect (PROT_NONE, no page tables are
 * built) and bind all of it at once.
 *
 * Moving or asking about pages needs them in our own page tables, and
 * touching a hole of a shmem file would allocate it: mincore() finds the
 * resident pages and only those are populated (MADV_POPULATE_READ maps an
 * existing page; it allocates nothing).
 */
#include <errno.h>
#include <sched.h>
#include <numaif.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdmfs/backend.h"

/* Offsets [0, 16 TiB) of every file carry the policy. */
#define CDM_POLICY_SPAN (1ULL << 44)
/* Window of the residency scan. */
#define SCAN_WINDOW (64UL << 20)

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

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

/* Map the resident pages of [addr, addr+len) into our page tables. */
static int populate_resident(char *addr, size_t len, unsigned char *vec)
{
	size_t pg = page_size(), pages = len / pg, i = 0;

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
		/* a page truncated meanwhile is no error: nothing to move */
		if (madvise(addr + i * pg, (j - i) * pg, MADV_POPULATE_READ) &&
		    errno != EFAULT)
			return -errno;
		i = j;
	}
	return 0;
}

/*
 * The node of each resident page of [addr, addr+len) (bit 0 of @vec), as
 * move_pages() answers for pages mapped in us: fills @addrs and @status
 * (room for len / page size each) and returns how many, or -errno.
 */
static long resident_nodes(char *addr, size_t len, const unsigned char *vec,
			   void **addrs, int *status)
{
	size_t pg = page_size();
	long n = 0;

	for (size_t i = 0; i < len / pg; i++)
		if (vec[i] & 1)
			addrs[n++] = addr + i * pg;
	if (n && move_pages(0, (unsigned long)n, addrs, NULL, status, 0))
		return -errno;
	return n;
}

/*
 * MPOL_DEFAULT (devices with no node of their own, i.e. simulated): the
 * pages belong on the local node, as mbind(MPOL_DEFAULT, MOVE_ALL) would put
 * them, but that copies every page, those already there too.  Move only the
 * others.
 */
static int move_to_local(char *addr, size_t len, const unsigned char *vec,
			 uint64_t *moved)
{
	size_t pg = page_size(), k = 0;
	unsigned int cpu, local;
	void **addrs;
	int *status, *to, ret = 0;
	long nres;

	if (getcpu(&cpu, &local))
		return -errno;
	addrs = malloc(len / pg * sizeof(*addrs));
	status = malloc(len / pg * sizeof(*status));
	to = malloc(len / pg * sizeof(*to));
	if (!addrs || !status || !to) {
		ret = -ENOMEM;
		goto out;
	}
	nres = resident_nodes(addr, len, vec, addrs, status);
	if (nres < 0) {
		ret = (int)nres;
		goto out;
	}
	for (size_t i = 0; i < (size_t)nres; i++)
		if (status[i] >= 0 && (unsigned int)status[i] != local) {
			addrs[k] = addrs[i];
			to[k++] = (int)local;
		}
	if (k && move_pages(0, k, addrs, to, status, MPOL_MF_MOVE_ALL))
		ret = -errno;
	for (size_t i = 0; !ret && i < k; i++) {
		if (status[i] == (int)local)
			(*moved)++;
		else if (status[i] < 0 && status[i] != -ENOENT &&
			 status[i] != -EFAULT)
			ret = -EIO;	/* busy or no room, as mbind says */
	}
out:
	free(addrs);
	free(status);
	free(to);
	return ret;
}

/*
 * Resident pages of [addr, addr+len) (bit 0 of @vec) the kernel has on no
 * node of @nodes: the ones an mbind(MPOL_MF_MOVE_ALL) to @nodes moves (it
 * leaves pages on a node of the mask where they are).  -errno.
 */
static long count_outside(char *addr, size_t len, const unsigned char *vec,
			  const struct cdm_nodemask *nodes)
{
	size_t pg = page_size();
	long n, out = 0;
	void **addrs;
	int *status;

	addrs = malloc(len / pg * sizeof(*addrs));
	status = malloc(len / pg * sizeof(*status));
	if (!addrs || !status) {
		out = -ENOMEM;
		goto done;
	}
	n = resident_nodes(addr, len, vec, addrs, status);
	if (n < 0) {
		out = n;
		goto done;
	}
	for (long i = 0; i < n; i++)
		if (status[i] >= 0 && !cdm_nodemask_test(nodes, status[i]))
			out++;
done:
	free(addrs);
	free(status);
	return out;
}

/*
 * Map [off, off+len) of @fd (len rounded up to whole pages, written back)
 * and fault in its resident pages (bit 0 of @vec, filled here), holes
 * left alone.  0 with *@addr mapped, or -errno with nothing mapped.
 */
static int map_resident(int fd, off_t off, size_t *len, unsigned char *vec,
			char **addr)
{
	size_t pg = page_size();
	int ret;

	*len = (*len + pg - 1) / pg * pg;
	*addr = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, off);
	if (*addr == MAP_FAILED)
		return -errno;
	ret = populate_resident(*addr, *len, vec);
	if (ret)
		munmap(*addr, *len);
	return ret;
}

int cdm_move_range(int fd, off_t off, size_t len, int mode,
		   const struct cdm_nodemask *nodes, unsigned char *vec,
		   uint64_t *moved)
{
	long before = 0, after = 0;
	char *addr;
	int ret;

	*moved = 0;
	ret = map_resident(fd, off, &len, vec, &addr);
	if (ret)
		return ret;
	if (mode == MPOL_DEFAULT) {
		ret = move_to_local(addr, len, vec, moved);
		goto out;
	}
	/* moved: pages outside the target before, minus those left there */
	if (nodes) {
		before = count_outside(addr, len, vec, nodes);
		if (before < 0) {
			ret = (int)before;
			goto out;
		}
	}
	if (mbind(addr, len, mode, nodes ? nodes->bits : NULL,
		  nodes ? CDM_MAX_NODES + 1 : 0,
		  MPOL_MF_MOVE_ALL | MPOL_MF_STRICT))
		ret = -errno;
	if (nodes && before) {
		after = count_outside(addr, len, vec, nodes);
		if (after >= 0 && after <= before)
			*moved = (uint64_t)(before - after);
	}
out:
	munmap(addr, len);
	return ret;
}

/* Count the nodes of the resident pages of [off, off+len), one window. */
static int window_nodes(int fd, off_t off, size_t len, unsigned char *vec,
			void **addrs, int *status, uint64_t *pages,
			uint64_t *other)
{
	long n = 0;
	char *addr;
	int ret;

	ret = map_resident(fd, off, &len, vec, &addr);
	if (ret)
		return ret;
	n = resident_nodes(addr, len, vec, addrs, status);
	if (n < 0)
		ret = (int)n;
	for (long i = 0; !ret && i < n; i++) {
		if (status[i] >= 0 && status[i] < CDM_MAX_NODES)
			pages[status[i]]++;
		else
			(*other)++;	/* truncated meanwhile */
	}
	munmap(addr, len);
	return ret;
}

int cdm_data_extent(int fd, off_t off, off_t *start, off_t *end)
{
	off_t pg = (off_t)page_size(), d, h;

	d = lseek(fd, off, SEEK_DATA);
	if (d < 0)
		return errno == ENXIO ? -ENXIO : -errno;
	h = lseek(fd, d, SEEK_HOLE);
	if (h < 0)
		return -errno;
	/* whole pages: mappings start on one, and so do the batches */
	*start = d / pg * pg;
	*end = (h + pg - 1) / pg * pg;
	return 0;
}

int cdm_page_nodes(int fd, uint64_t *pages, uint64_t *other)
{
	size_t pg = page_size(), win = SCAN_WINDOW / pg;
	unsigned char *vec = NULL;
	void **addrs = NULL;
	int *status = NULL;
	struct stat st;
	off_t off = 0;
	int ret = 0;

	if (fstat(fd, &st))
		return -errno;
	vec = malloc(win);
	addrs = malloc(win * sizeof(*addrs));
	status = malloc(win * sizeof(*status));
	if (!vec || !addrs || !status) {
		ret = -ENOMEM;
		goto out;
	}
	/*
	 * Only the data extents: a sparse file of 64 TiB holding one page is
	 * one window, not a million (each mincore()s 16384 page slots).  The
	 * cost is then proportional to the file's memory, which its device
	 * bounds.
	 */
	while (off < st.st_size && !ret) {
		off_t start, end;

		ret = cdm_data_extent(fd, off, &start, &end);
		if (ret == -ENXIO) {
			ret = 0;
			break;		/* holes to the end */
		}
		if (ret)
			break;
		if (end > st.st_size)
			end = (st.st_size + (off_t)pg - 1) / (off_t)pg * (off_t)pg;
		for (off = start; off < end && !ret; off += (off_t)(win * pg)) {
			size_t len = (size_t)(end - off) < win * pg ?
				     (size_t)(end - off) : win * pg;

			ret = window_nodes(fd, off, len, vec, addrs, status,
					   pages, other);
		}
		off = end;
	}
out:
	free(vec);
	free(addrs);
	free(status);
	return ret;
}
