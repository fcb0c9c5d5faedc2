#!/bin/bash
# -o reserve: growing a file with truncate/ftruncate allocates the new range
# in the backing object at once (st_blocks of the backing file and of the
# cdmfs file, du), so the device's free memory drops at the truncate and a
# truncate that does not fit says ENOSPC; shrinking frees; without the
# option a truncate stays sparse.  Writes past the end through passthrough
# are not seen by the daemon and are not reserved (not tested: nothing to
# see).  The vm suite checks the pages land on the device's node.
. "$(dirname "$0")/lib.sh"
require_root_fuse

cdm_mount "sim=gpu0:64M,sim=cxl0:64M,reserve"
echo "datapath: $CDMFS_DATAPATH"
cd "$MNT" || exit 1
blocks() { stat -c %b "$1"; }		# 512-byte blocks allocated
avail_kb() { df -k --output=avail "$1" | tail -n1 | tr -d ' '; }

a0=$(avail_kb gpu0)
check "truncate -s 40M gpu0/r" truncate -s 40M gpu0/r
eq "the backing file has the 40 MiB allocated (blocks)" "$(blocks "$STORE/gpu0/r")" 81920
eq "st_blocks through cdmfs say so too" "$(blocks gpu0/r)" 81920
eq "du of the backing file (KiB)" "$(du -k "$STORE/gpu0/r" | cut -f1)" 40960
eq "size" "$(stat -c %s gpu0/r)" 41943040
a1=$(avail_kb gpu0)
check "df gpu0 avail dropped by 40 MiB ($a0 -> $a1 KiB)" [ $((a0 - a1)) -eq 40960 ]
check "the file reads as zeros" cmp -n 41943040 gpu0/r /dev/zero

python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.ftruncate(fd, 48 << 20)
' gpu0/r
eq "ftruncate growth to 48 MiB allocated too (blocks)" "$(blocks "$STORE/gpu0/r")" 98304
expect_fail "No space" "truncate -s 40M of another file: only 16 MiB left" truncate -s 40M gpu0/r2
eq "which stayed empty" "$(stat -c %s gpu0/r2 2>/dev/null || echo 0)" 0
expect_fail "No space" "ftruncate growth beyond the device" python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
os.ftruncate(fd, 100 << 20)
' gpu0/r
eq "size unchanged after ENOSPC" "$(stat -c %s gpu0/r)" 50331648
check "truncate -s 8M (shrink)" truncate -s 8M gpu0/r
eq "shrinking frees (blocks)" "$(blocks "$STORE/gpu0/r")" 16384
check "truncate -s 40M of the other file fits now" truncate -s 40M gpu0/r2
eq "and is allocated (blocks)" "$(blocks "$STORE/gpu0/r2")" 81920
dd if=/dev/urandom of=gpu0/r2 bs=1M count=1 seek=4 conv=notrunc status=none
eq "writes into reserved space allocate nothing more (blocks)" "$(blocks "$STORE/gpu0/r2")" 81920
rm -f gpu0/r gpu0/r2
cd /
cdm_umount

cdm_mount "sim=gpu0:64M,sim=cxl0:64M"
check "without reserve: truncate -s 40M" truncate -s 40M "$MNT/gpu0/s"
eq "stays sparse (blocks)" "$(blocks "$STORE/gpu0/s")" 0
check "and a second 40 MiB truncate is let through" truncate -s 40M "$MNT/gpu0/s2"
cdm_umount
finish
