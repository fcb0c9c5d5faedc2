#!/usr/bin/env python3
"""stamper.py FILE SECONDS: write increasing stamps into every page of FILE
through one MAP_SHARED mapping for SECONDS, then check that every page
holds the last stamp written to it, through the mapping and through a
fresh read().  Exit 0 when nothing was lost."""
import mmap
import os
import struct
import sys
import time

path, secs = sys.argv[1], float(sys.argv[2])
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 0)
pages = len(m) // mmap.PAGESIZE
last = [0] * pages
seq = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    seq += 1
    for p in range(pages):
        struct.pack_into("<Q", m, p * mmap.PAGESIZE, seq)
        last[p] = seq
bad = [p for p in range(pages)
       if struct.unpack_from("<Q", m, p * mmap.PAGESIZE)[0] != last[p]]
data = os.pread(fd, len(m), 0)
bad += [p for p in range(pages)
        if struct.unpack_from("<Q", data, p * mmap.PAGESIZE)[0] != last[p]]
print(f"stamper: {seq} rounds over {pages} pages, {len(bad)} stale pages")
sys.exit(1 if bad else 0)
