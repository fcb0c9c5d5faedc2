#!/bin/sh
# -o reserve: truncate -s 64M of a node2 file allocates its pages on node2
# at the truncate (node2's Shmem grows by 64 MiB, node1's does not), before
# anything touches them; writing every page through a mapping then takes no
# new memory on node2 and leaves every page there (move_pages); truncate -s
# 1G on node2 says ENOSPC without an OOM kill; shrinking frees.  Without
# -o reserve the same truncate allocates nothing.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

SIZE_MB=64
PAGES=$((SIZE_MB * 256))
cdm_mount reserve

oom0=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
s1=$(node_meminfo 1 Shmem) s2=$(node_meminfo 2 Shmem)
check "truncate -s ${SIZE_MB}M node2/r" truncate -s ${SIZE_MB}M "$MNT/node2/r"
# per-CPU counter deltas may lag: allow 4 MiB
check_num "node2's Shmem grew by ~$SIZE_MB MiB at the truncate (kB)" \
	$(($(node_meminfo 2 Shmem) - s2)) -ge $((SIZE_MB * 1024 - 4096))
check_num "node1's did not (kB)" $(($(node_meminfo 1 Shmem) - s1)) -le 4096
check "st_blocks say $SIZE_MB MiB allocated" \
	test "$(stat -c %b "$MNT/node2/r")" -eq $((SIZE_MB * 2048))

s2=$(node_meminfo 2 Shmem)
stamper "$MNT/node2/r" >stamper.out 2>stamper.err &
wpid=$!
check "a writer stamps every page through its mapping" wait_stamp "$MNT/node2/r" 2
kill -TERM $wpid
wait $wpid
check_num "which took no new memory on node2 (kB)" \
	$(($(node_meminfo 2 Shmem) - s2)) -le 4096
check_pages "node2/r, written" "$MNT/node2/r" 2

f0=$(node_meminfo 2 MemFree)
rc=0
out=$(truncate -s 1G "$MNT/node2/big" 2>&1) || rc=$?
echo "     truncate -s 1G node2/big: exit $rc: $out"
check "truncate -s 1G beyond node2's free memory: ENOSPC" \
	sh -c "[ $rc -ne 0 ] && echo '$out' | grep -q 'No space left on device'"
check "node2/big stayed empty" test "$(stat -c %s "$MNT/node2/big")" = 0
check_num "node2's MemFree did not drop (kB before, after)" \
	"$(node_meminfo 2 MemFree)" -ge $((f0 - 4096))

s2=$(node_meminfo 2 Shmem)
check "truncate -s 0 node2/r" truncate -s 0 "$MNT/node2/r"
check_num "node2's Shmem shrank by ~$SIZE_MB MiB (kB)" \
	$((s2 - $(node_meminfo 2 Shmem))) -ge $((SIZE_MB * 1024 - 4096))
oom1=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
check_num "no OOM kill (/proc/vmstat oom_kill before, after)" "$oom1" -eq "$oom0"
rm -f "$MNT/node2/r" "$MNT/node2/big"
cdm_umount

echo "     --- without -o reserve"
cdm_mount
s2=$(node_meminfo 2 Shmem)
check "truncate -s ${SIZE_MB}M node2/s" truncate -s ${SIZE_MB}M "$MNT/node2/s"
check_num "node2's Shmem did not grow (kB)" $(($(node_meminfo 2 Shmem) - s2)) -le 4096
check "st_blocks 0" test "$(stat -c %b "$MNT/node2/s")" -eq 0
rm -f "$MNT/node2/s"
cdm_umount
finish
