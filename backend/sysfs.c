// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sysfs access through a sysroot prefix, and pure parsers for what sysfs
 * and the command line hold.
 *
 * The parsers take strings, not files, so unit tests and fuzzers reach them
 * without a machine of the right shape.  They are strict: sysfs text comes
 * from the kernel in one fixed format, and anything else means we are
 * reading the wrong file, so we fail instead of guessing.  Syntax errors
 * give -EINVAL; numbers that do not fit (or node ids >= CDM_MAX_NODES)
 * give -ERANGE, as kstrtoull() does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cdmfs/backend.h"
#include "cdmfs/size.h"

ssize_t cdm_sysfs_read(const char *sysroot, const char *path, char *buf,
		       size_t len)
{
	char full[PATH_MAX];
	size_t rootlen, n = 0;
	int fd, ret;

	if (!path || path[0] != '/' || !buf || len == 0 || len > SSIZE_MAX)
		return -EINVAL;
	if (!sysroot)
		sysroot = "";
	/* "" and "/" both mean the running system: never build "//sys". */
	rootlen = strlen(sysroot);
	while (rootlen > 0 && sysroot[rootlen - 1] == '/')
		rootlen--;
	if (rootlen >= sizeof(full))
		return -ENAMETOOLONG;
	ret = snprintf(full, sizeof(full), "%.*s%s", (int)rootlen, sysroot,
		       path);
	if (ret < 0 || (size_t)ret >= sizeof(full))
		return -ENAMETOOLONG;

	fd = open(full, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* sysfs may hand out an attribute in several reads: read to EOF. */
	while (n < len - 1) {
		ssize_t r = read(fd, buf + n, len - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto err_close;
		}
		if (r == 0)
			break;
		n += r;
	}
	if (n == len - 1) {
		/* A truncated node list or meminfo would parse as a wrong one. */
		char extra;
		ssize_t r;

		do
			r = read(fd, &extra, 1);
		while (r < 0 && errno == EINTR);
		if (r != 0) {
			ret = r < 0 ? -errno : -EOVERFLOW;
			goto err_close;
		}
	}
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return n;

err_close:
	close(fd);
	return ret;
}

/* Decimal digits at *@sp into @val, advancing *@sp; no sign, no space. */
static int parse_u64(const char **sp, uint64_t *val)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned int d = *s - '0';

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*sp = s;
	*val = v;
	return 0;
}

int cdm_parse_nodelist(const char *s, struct cdm_nodemask *mask)
{
	struct cdm_nodemask m = { { 0 } };
	int ret;

	if (!s || !mask)
		return -EINVAL;
	/* The kernel's "%*pbl" format: never empty, ranges ascending. */
	for (;;) {
		uint64_t first, last;

		ret = parse_u64(&s, &first);
		if (ret)
			return ret;
		last = first;
		if (*s == '-') {
			s++;
			ret = parse_u64(&s, &last);
			if (ret)
				return ret;
		}
		if (first >= CDM_MAX_NODES || last >= CDM_MAX_NODES)
			return -ERANGE;
		if (first > last)
			return -EINVAL;
		for (uint64_t n = first; n <= last; n++)
			cdm_nodemask_set(&m, n);
		if (*s != ',')
			break;
		s++;
	}
	/* Callers may pass the file as read, newline and all. */
	s += strspn(s, " \t\n");
	if (*s)
		return -EINVAL;
	/* Only now: a failed parse leaves the caller's mask alone. */
	*mask = m;
	return 0;
}

int cdm_parse_meminfo(const char *text, const char *key, uint64_t *bytes)
{
	const char *line, *next;
	size_t klen;
	int ret;

	if (!text || !key || !bytes)
		return -EINVAL;
	klen = strlen(key);
	if (klen == 0 || strpbrk(key, ": \t\n"))
		return -EINVAL;

	for (line = text; *line; line = next) {
		const char *eol = strchr(line, '\n');
		const char *p = line;
		uint64_t kb;

		next = eol ? eol + 1 : line + strlen(line);
		/* Node meminfo prefixes "Node <n> "; /proc/meminfo does not. */
		if (!strncmp(p, "Node ", 5)) {
			p += 5;
			if (*p < '0' || *p > '9')
				continue;
			p += strspn(p, "0123456789");
			if (*p++ != ' ')
				continue;
		}
		if (strncmp(p, key, klen) || p[klen] != ':')
			continue;
		/* "ShadowCallStack:%8lu": a wide value leaves no space. */
		p += klen + 1;
		p += strspn(p, " \t");
		ret = parse_u64(&p, &kb);
		if (ret)
			return ret;
		/* Counts such as HugePages_Total have no unit: not a size. */
		if (*p != ' ' && *p != '\t')
			return -EINVAL;
		p += strspn(p, " \t");
		if (strncmp(p, "kB", 2))
			return -EINVAL;
		p += 2;
		p += strspn(p, " \t");
		if (*p && *p != '\n')
			return -EINVAL;
		if (kb > UINT64_MAX / 1024)
			return -ERANGE;
		*bytes = kb * 1024;
		return 0;
	}
	return -ENOENT;
}

int cdm_parse_size(const char *s, uint64_t *bytes)
{
	return cdm_size_parse(s, 0, bytes);
}
