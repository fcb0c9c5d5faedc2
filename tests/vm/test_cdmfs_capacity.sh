#!/bin/sh
# A device that is nearly full says ENOSPC instead of letting the kernel
# fail or OOM-kill: node2 (512 MiB) is filled with fallocate until ~40 MiB
# of its room stay free (room: node2's MemFree, bounded by the device's
# own tmpfs, 7/8 of the node), then fallocate 100M, setfattr bind:node2 of a 64 MiB node1
# file, mv of it into node2/ and removing the bind:node1 of a 64 MiB node2/
# file all fail with ENOSPC and change nothing (the file's pages stay on
# node1, by move_pages; its policy stays); truncate -s 1G is a hole, as on
# tmpfs, and allowed;
# a fallocate that fits still works; df on node2/ is node2's
# MemTotal and room; dd writing past the room through passthrough (which
# the daemon never sees) gets ENOSPC from the device's tmpfs, a mapping
# faulting past it SIGBUS; no process was OOM-killed.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

LEFT_MB=40
cdm_mount

getx() { getfattr --only-values -n "$2" "$1"; }
oom0=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
oomlog0=$(dmesg | grep -ci 'out of memory\|oom-kill\|invoked oom-killer')

# refused DESC COMMAND...: COMMAND runs once, fails, and says ENOSPC
refused() {
	_d=$1
	shift
	_rc=0
	_o=$("$@" 2>&1) || _rc=$?
	[ -z "$_o" ] || printf '%s\n' "$_o" | sed 's/^/     | /'
	# shellcheck disable=SC2016 # expanded by that sh
	check "$_d: ENOSPC (exit $_rc)" sh -c \
		'[ "$1" -ne 0 ] && printf "%s\n" "$2" | grep -q "No space left on device"' sh "$_rc" "$_o"
}

dd if=/dev/urandom of="$MNT/node1/f" bs=1M count=64 status=none
check_pages "node1/f, 64 MiB" "$MNT/node1/f" 1
ino=$(stat -c %i "$MNT/node1/f")

free=$(device_room 2 node2)
fill=$((free - LEFT_MB * 1024))
echo "     node2 MemTotal $(node_meminfo 2 MemTotal) kB, MemFree $(node_meminfo 2 MemFree) kB, room $free kB: fallocate ${fill} kB"
# fallocated pages are not uptodate: mincore (so pagenodes) does not see
# them; the nodes' Shmem counters do
s1=$(node_meminfo 1 Shmem) s2=$(node_meminfo 2 Shmem)
check "fallocate -l ${fill}KiB node2/fill (fits: the daemon lets it through)" \
	fallocate -l "${fill}KiB" "$MNT/node2/fill"
check_num "node2 Shmem grew by the fill (kB)" $(($(node_meminfo 2 Shmem) - s2)) -ge $((fill - 4096))
check_num "node1 Shmem did not (kB)" $(($(node_meminfo 1 Shmem) - s1)) -le 4096
free=$(device_room 2 node2)
echo "     node2 room now $free kB"
check_num "node2 has ~$LEFT_MB MiB of room (kB)" "$free" -le $(((LEFT_MB + 8) * 1024))
check_num "node2 has ~$LEFT_MB MiB of room (kB)" "$free" -ge $(((LEFT_MB - 8) * 1024))

# df: node2's MemTotal, and its room within what moves between the reads
f0=$(device_room 2 node2)
# shellcheck disable=SC2046 # two numbers
set -- $(df -k --output=size,avail "$MNT/node2" | tail -n1)
f1=$(device_room 2 node2)
echo "     df node2: size $1 kB avail $2 kB; node2 MemTotal $(node_meminfo 2 MemTotal) kB room $f0..$f1 kB"
check_num "df node2 size = node2 MemTotal (kB)" "$1" -eq "$(node_meminfo 2 MemTotal)"
lo=$((f0 < f1 ? f0 : f1)) hi=$((f0 > f1 ? f0 : f1))
check_num "df node2 avail >= node2 room - 2 MiB (kB)" "$2" -ge $((lo - 2048))
check_num "df node2 avail <= node2 room + 2 MiB (kB)" "$2" -le $((hi + 2048))

echo "     --- growth beyond node2's free memory"
f0=$(node_meminfo 2 MemFree)
refused "fallocate -l 100M node2/more" fallocate -l 100M "$MNT/node2/more"
check "node2/more stayed empty" test "$(stat -c %s "$MNT/node2/more")" = 0
check_num "node2 MemFree did not drop (kB before, after)" "$(node_meminfo 2 MemFree)" -ge $((f0 - 4096))
# a truncate makes a hole, as on tmpfs (issue 11 item 5): it takes nothing
f0=$(node_meminfo 2 MemFree)
check "truncate -s 1G node2/big (sparse: allowed)" truncate -s 1G "$MNT/node2/big"
check "node2/big holds no memory (st_blocks)" test "$(stat -c %b "$MNT/node2/big")" = 0
size=$(stat -c %s "$MNT/node2/fill")
check "truncate -s 1G node2/fill (sparse growth by ~600 MiB)" truncate -s 1G "$MNT/node2/fill"
check "node2/fill is 1 GiB" test "$(stat -c %s "$MNT/node2/fill")" = 1073741824
check_num "node2 MemFree did not drop (kB before, after)" "$(node_meminfo 2 MemFree)" -ge $((f0 - 4096))
truncate -s "$size" "$MNT/node2/fill"
s2=$(node_meminfo 2 Shmem)
check "fallocate -l 8M node2/small (fits)" fallocate -l 8M "$MNT/node2/small"
# per-CPU counter deltas may lag: allow 1 MiB
check_num "node2 Shmem grew by ~8 MiB (kB)" $(($(node_meminfo 2 Shmem) - s2)) -ge 7168
dd if=/dev/zero of="$MNT/node2/small" bs=1M count=8 conv=notrunc status=none
check_pages "node2/small, written" "$MNT/node2/small" 2
rm -f "$MNT/node2/more" "$MNT/node2/big" "$MNT/node2/small"

echo "     --- moving 64 MiB into node2 with ~$LEFT_MB MiB free"
pol=$(getx "$MNT/node1/f" user.cdm.policy)
f0=$(node_meminfo 2 MemFree)
refused "setfattr bind:node2 node1/f" setfattr -n user.cdm.policy -v bind:node2 "$MNT/node1/f"
check_pages "node1/f after the refused setfattr" "$MNT/node1/f" 1
check "its policy is unchanged ($pol)" test "$(getx "$MNT/node1/f" user.cdm.policy)" = "$pol"
check "no migration ran ($(getx "$MNT/node1/f" user.cdm.migration))" \
	test "$(getx "$MNT/node1/f" user.cdm.migration)" = idle
check "user.cdm.drift 0" test "$(getx "$MNT/node1/f" user.cdm.drift)" = 0
refused "mv node1/f node2/f" mv "$MNT/node1/f" "$MNT/node2/f"
check "node1/f is still there, same inode ($ino)" test "$(stat -c %i "$MNT/node1/f")" = "$ino"
check_not "node2/f does not exist" test -e "$MNT/node2/f"
check_pages "node1/f after the refused mv" "$MNT/node1/f" 1
check "its policy is unchanged ($pol)" test "$(getx "$MNT/node1/f" user.cdm.policy)" = "$pol"
check_num "node2 MemFree did not drop (kB before, after)" "$(node_meminfo 2 MemFree)" -ge $((f0 - 4096))

echo "     --- removing a policy moves the pages to the device: checked too"
# node2/g has its own bind:node1 and 64 MiB on node1; without it, it
# would follow node2, which has ~$LEFT_MB MiB free
rm -f "$MNT/node2/g"
: >"$MNT/node2/g"
setfattr -n user.cdm.policy -v bind:node1 "$MNT/node2/g"
dd if=/dev/urandom of="$MNT/node2/g" bs=1M count=64 conv=notrunc status=none
check_pages "node2/g, bound to node1" "$MNT/node2/g" 1
f0=$(node_meminfo 2 MemFree)
mig=$(getx "$MNT/node2/g" user.cdm.migration)
refused "setfattr -x user.cdm.policy node2/g" setfattr -x user.cdm.policy "$MNT/node2/g"
check "its policy is unchanged (bind:node1)" test "$(getx "$MNT/node2/g" user.cdm.policy)" = bind:node1
check "no migration ran (still: $mig)" \
	test "$(getx "$MNT/node2/g" user.cdm.migration)" = "$mig"
check_pages "node2/g after the refused removal" "$MNT/node2/g" 1
check_num "node2 MemFree did not drop (kB before, after)" "$(node_meminfo 2 MemFree)" -ge $((f0 - 4096))
rm -f "$MNT/node2/g"

echo "     --- passthrough writes and faults past the room: the kernel's ENOSPC and SIGBUS"
room=$(device_room 2 node2)
refused "dd of $((room / 1024 + 64)) MiB into node2 with $((room / 1024)) MiB of room" \
	dd if=/dev/zero of="$MNT/node2/dd" bs=1M count=$((room / 1024 + 64)) status=none
b=$(($(stat -c %b "$MNT/node2/dd") / 2))
check_num "node2/dd holds at most the room (kB)" "$b" -le $((room + 2048))
check_pages "node2/dd" "$MNT/node2/dd" 2
rm -f "$MNT/node2/dd"
rc=0
python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
n = int(sys.argv[2]) << 20
os.ftruncate(fd, n)
m = mmap.mmap(fd, n)
for off in range(0, n, 4096):
    m[off] = 1
' "$MNT/node2/map" $((room / 1024 + 64)) 2>/dev/null || rc=$?
check "a mapping faulting past node2's room dies of SIGBUS (exit $rc, want 135)" test "$rc" = 135
rm -f "$MNT/node2/map"

oom1=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
oomlog1=$(dmesg | grep -ci 'out of memory\|oom-kill\|invoked oom-killer')
check_num "no OOM kill (/proc/vmstat oom_kill before, after)" "$oom1" -eq "$oom0"
check_num "no OOM report in dmesg (lines before, after)" "$oomlog1" -eq "$oomlog0"
[ "$oomlog1" -eq "$oomlog0" ] ||
	dmesg | grep -i -A40 'invoked oom-killer' | sed 's/^/#   dmesg: /' | head -80
check "the daemon is alive" kill -0 "$CDM_PID"

rm -f "$MNT/node2/fill" "$MNT/node1/f"
cdm_umount
finish
