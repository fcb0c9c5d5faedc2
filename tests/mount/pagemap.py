#!/usr/bin/env python3
"""Physical frames of a file's pages as a process mapping it sees them.

pagemap.py FILE  -> one line per page: the page frame number (PFN) from
/proc/self/pagemap of a MAP_SHARED mapping of FILE, after reading each page
(root sees real PFNs).  A page that is not present prints as "-".
"""
import mmap
import os
import struct
import sys

PAGE = mmap.PAGESIZE


def mapping_address(path, size):
    """Start of our mapping of path, from /proc/self/maps (newest last)."""
    real = os.path.realpath(path)
    found = None
    for line in open("/proc/self/maps"):
        f = line.split(maxsplit=5)
        if len(f) == 6 and f[5].strip() in (real, path):
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if hi - lo >= size:
                found = lo
    if found is None:
        sys.exit(f"pagemap.py: no mapping of {path} in /proc/self/maps")
    return found


def frames(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ)
    finally:
        os.close(fd)
    npages = (size + PAGE - 1) // PAGE
    for i in range(npages):
        m[i * PAGE]  # fault the page in
    addr = mapping_address(path, size)
    out = []
    with open("/proc/self/pagemap", "rb") as pm:
        pm.seek(addr // PAGE * 8)
        data = pm.read(npages * 8)
    for i in range(npages):
        (e,) = struct.unpack_from("<Q", data, i * 8)
        present = e >> 63 & 1
        out.append(str(e & ((1 << 55) - 1)) if present else "-")
    return out


if __name__ == "__main__":
    print("\n".join(frames(sys.argv[1])))
