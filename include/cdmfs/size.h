/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one size parser of the tree: the daemon's options, cdmkmctl, cdm-bench
 * and the VM tests' pagenodes all read "64M"-style sizes with it.
 *
 * Header-only (static inline) because pagenodes.c is also compiled by a
 * plain cc with no include path or library of ours (tests/vm/build-progs):
 * it includes this file by a relative path.  Pure: no errno, no allocation.
 */
#ifndef CDMFS_SIZE_H
#define CDMFS_SIZE_H

#include <errno.h>
#include <stdint.h>

/* Accept "0x..." (hex digits) as well as decimal, e.g. physical addresses. */
#define CDM_SIZE_HEX 0x1u

static inline int cdm_size_digit(char c, unsigned int base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/**
 * Parse @s: digits with an optional K/M/G/T suffix (powers of 1024), the
 * whole string and nothing else (no sign, space or "B").  With CDM_SIZE_HEX
 * in @flags, "0x" starts hex digits.  Returns 0 and sets *@bytes, -EINVAL
 * for a malformed string, -ERANGE when the value (after the suffix) does
 * not fit in 64 bits; *@bytes is untouched on error.
 */
static inline int cdm_size_parse(const char *s, unsigned int flags,
				 uint64_t *bytes)
{
	unsigned int base = 10, shift = 0;
	uint64_t v = 0;
	int d;

	if (!s || !bytes)
		return -EINVAL;
	if ((flags & CDM_SIZE_HEX) && s[0] == '0' &&
	    (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (cdm_size_digit(*s, base) < 0)
		return -EINVAL;
	for (; (d = cdm_size_digit(*s, base)) >= 0; s++) {
		if (v > (UINT64_MAX - (unsigned int)d) / base)
			return -ERANGE;
		v = v * base + (unsigned int)d;
	}
	switch (*s) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T':
		shift = 40;
		break;
	}
	if (shift)
		s++;
	if (*s)
		return -EINVAL;
	if (v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = v << shift;
	return 0;
}

#endif /* CDMFS_SIZE_H */
