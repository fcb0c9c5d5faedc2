#!/usr/bin/env python3
"""Where the pages of a file really are, as a process mapping it sees them.

frames.py FILE START END [write]
Map FILE MAP_SHARED, read (or with "write", rewrite in place) one byte of
every page, then look each page's frame up in /proc/self/pagemap (root sees
real frame numbers) and print one line:
    region N ram M absent K total T [nodeX=C ...]
N pages have frames in the physical range [START, END] (the device region),
M elsewhere (system RAM), those on node X counting C (move_pages(2) with no
target: the kernel's node of each page; region pages have none).  Exit 0;
2 on errors.
"""
import ctypes
import mmap
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "mount"))
from pagemap import mapping_address  # noqa: E402

SYS_move_pages = 279    # x86_64


def nodes_of(addrs):
    """The kernel's node of each page at addrs (move_pages, nodes=NULL)."""
    n = len(addrs)
    if not n:
        return []
    pages = (ctypes.c_void_p * n)(*addrs)
    status = (ctypes.c_int * n)()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    if libc.syscall(ctypes.c_long(SYS_move_pages), ctypes.c_long(0),
                    ctypes.c_ulong(n), pages, None, status,
                    ctypes.c_int(0)) < 0:
        sys.exit("frames.py: move_pages: " + os.strerror(ctypes.get_errno()))
    return list(status)


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: frames.py FILE START END [write]")
    path, lo, hi = sys.argv[1], int(sys.argv[2], 0), int(sys.argv[3], 0)
    write = len(sys.argv) == 5 and sys.argv[4] == "write"
    page = mmap.PAGESIZE
    fd = os.open(path, os.O_RDWR)
    size = os.fstat(fd).st_size
    npages = (size + page - 1) // page
    if npages == 0:
        print("region 0 ram 0 absent 0 total 0")
        return
    m = mmap.mmap(fd, size, mmap.MAP_SHARED)
    for i in range(npages):
        b = m[i * page]
        if write:
            m[i * page] = b
    addr = mapping_address(path, size)
    region = ram = absent = 0
    in_ram = []
    with open("/proc/self/pagemap", "rb") as pm:
        pm.seek((addr // page) * 8)
        data = pm.read(npages * 8)
    for i in range(npages):
        (v,) = struct.unpack_from("Q", data, i * 8)
        pfn = v & ((1 << 55) - 1)
        if not v >> 63 or pfn == 0:
            absent += 1
        elif lo <= pfn * page <= hi:
            region += 1
        else:
            ram += 1
            in_ram.append(addr + i * page)
    count = {}
    for n in nodes_of(in_ram):
        count[n] = count.get(n, 0) + 1
    nodes = "".join(" node%d=%d" % (n, c) for n, c in sorted(count.items()))
    print("region %d ram %d absent %d total %d%s"
          % (region, ram, absent, npages, nodes))
    m.close()
    os.close(fd)


if __name__ == "__main__":
    main()
