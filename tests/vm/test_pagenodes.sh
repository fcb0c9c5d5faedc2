#!/bin/sh
# pagenodes reports where a file's pages are, from move_pages(2): shown on
# tmpfs files bound with mbind before the first touch (no numactl), checked
# against the per-node Shmem counters, and shown to leave holes alone and to
# say no when pages are elsewhere.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

pn=$CDMFS_VM_BIN/pagenodes
[ -x "$pn" ] || skip "no pagenodes in CDMFS_VM_BIN=$CDMFS_VM_BIN"
cd "$(mktemp -d /tmp/pagenodes.XXXXXX)" || exit 1

shmem2_before=$(node_meminfo 2 Shmem)
check "create 16 MiB file bound to node2" "$pn" --create 16M --bind 2 f2 2
"$pn" f2 | sed 's/^/     /'
check "all 4096 pages resident on node2" sh -c "'$pn' f2 2 | grep -qx 'node 2 4096'"
check "shared policy reads bind 2" sh -c "'$pn' f2 | grep -qx 'policy bind 2'"
shmem2_after=$(node_meminfo 2 Shmem)
# Per-CPU vmstat deltas may lag a little: allow 1 MiB.
check_num "node2 Shmem grew by ~16 MiB in kB" "$((shmem2_after - shmem2_before))" -ge 15360
check_not "reports failure when asked for node1" "$pn" f2 1

check "create 4 MiB file bound to node1" "$pn" --create 4M --bind 1 f1 1
check "file bound to node0 lands on node0" "$pn" --create 1M --bind 0 f0 0

# A shared policy covers the mbind range of file offsets only: pages that
# write(2) adds past it follow the default policy (node0 for this CPU), so
# cdmfs has to cover growth itself.  Holes inside the range obey it.
check "create 4 MiB on node1, then punch a hole" sh -c \
	"'$pn' --create 4M --bind 1 g1 1 && fallocate -p -o 1M -l 1M g1 && '$pn' g1 | grep -qx 'pages 1024 resident 768'"
check "write() refilling the hole lands on node1" sh -c \
	"dd if=/dev/zero of=g1 bs=64k count=16 seek=16 conv=notrunc status=none && '$pn' g1 1"
check "write() past the bound range lands on node0" sh -c \
	"dd if=/dev/zero of=g1 bs=64k count=16 seek=64 conv=notrunc status=none && '$pn' g1 | grep -qx 'node 0 256'"

# A sparse file: one page written at offset 400 KiB, the rest holes.
dd if=/dev/zero of=sparse bs=4k count=1 seek=100 status=none
"$pn" sparse >/dev/null
"$pn" sparse >/dev/null
check "holes stay holes (1 of 101 pages resident)" sh -c "'$pn' sparse | grep -qx 'pages 101 resident 1'"
check "du agrees: 4 KiB allocated" test "$(du -k sparse | cut -f1)" = 4

check_not "an empty file is no proof of placement" sh -c ": >empty && '$pn' empty 0"
rm -f f0 f1 f2 g1 sparse empty
finish
