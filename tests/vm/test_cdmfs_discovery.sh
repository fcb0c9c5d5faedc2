#!/bin/sh
# cdmfs finds the guest's memory devices the way the kernel describes them:
# node0 (CPUs) is "host", the CPU-less nodes 1 and 2 are devices whose
# user.cdm.devices line carries the kernel's memory tier and HMAT figures,
# and df on a device directory shows that node's memory.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

cdm_mount
check "mount root lists exactly host node1 node2" \
	test "$(ls "$MNT" | tr '\n' ' ')" = "host node1 node2 "

devices=$(getfattr --only-values -n user.cdm.devices "$MNT")
printf '%s\n' "$devices" | sed 's/^/     | /'
# dev_field DEVICE KEY: KEY's value in DEVICE's line ("" if absent)
dev_field() {
	printf '%s\n' "$devices" | awk -v d="$1" -v k="$2" '$1 == d {
		for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2)
	}'
}
check_field() {	# DEVICE KEY WANT (WANT read from the kernel)
	check "$1 $2=$3 (kernel)" test "$(dev_field "$1" "$2")" = "$3"
}
check "three device lines" test "$(printf '%s\n' "$devices" | wc -l)" = 3

# host: every node with CPUs and memory, here node0 alone
check_field host kind host
check_field host nodes 0
check_field host size "$(($(node_meminfo 0 MemTotal) * 1024))"
hmat() { cat "$node_sys/node$1/access0/initiators/$2"; }
check_field host tier "$(node_tier 0)"
check_field host read_latency_ns "$(hmat 0 read_latency)"
check_field host read_bandwidth_mbs "$(hmat 0 read_bandwidth)"
host_bw=$(hmat 0 read_bandwidth)

for n in 1 2; do
	d=node$n
	check "$d is a device, not part of host" test -n "$(dev_field $d kind)"
	# Kind from the kernel's facts: no dax device targets the node (no
	# cxl/kmem), and its HMAT read bandwidth is below the host's (no hbm).
	dax=
	for t in /sys/bus/dax/devices/*/target_node; do
		[ -r "$t" ] && [ "$(cat "$t")" = $n ] && dax=yes
	done
	check "no dax device targets node$n" test -z "$dax"
	check_num "node$n HMAT read bandwidth below host's (MB/s)" "$(hmat $n read_bandwidth)" -lt "$host_bw"
	check_field $d kind memory
	check_field $d backend numa
	check_field $d nodes $n
	check_field $d simulated no
	check_field $d size "$(($(node_meminfo $n MemTotal) * 1024))"
	check_field $d tier "$(node_tier $n)"
	check_field $d read_latency_ns "$(hmat $n read_latency)"
	check_field $d write_latency_ns "$(hmat $n write_latency)"
	check_field $d read_bandwidth_mbs "$(hmat $n read_bandwidth)"
	check_field $d write_bandwidth_mbs "$(hmat $n write_bandwidth)"

	# df: the node's MemTotal, and what can still go in within 8 MiB (it
	# moves): the node's MemFree, or less, the room left in the device's
	# own tmpfs (7/8 of the node: full is ENOSPC before the node runs
	# out and the OOM killer steps in)
	# shellcheck disable=SC2046 # two numbers
	set -- $(df -k --output=size,avail "$MNT/$d" | tail -n1)
	total=$(node_meminfo $n MemTotal)
	free=$(device_room $n $d)
	check_num "df $d size in kB = node$n MemTotal" "$1" -eq "$total"
	diff=$(($2 - free))
	check_num "df $d avail $2 kB ~ min(node$n MemFree, its tmpfs's room) $free kB (difference)" "${diff#-}" -le 8192
done
check_not "no device for node0 besides host" test -n "$(dev_field node0 kind)"

# A file on node2 counts against node2 alone: MemFree drops there
# (kernel per-node counters), not on node1.
f1=$(node_meminfo 1 MemFree)
f2=$(node_meminfo 2 MemFree)
dd if=/dev/zero of="$MNT/node2/fill" bs=1M count=64 status=none
d1=$((f1 - $(node_meminfo 1 MemFree)))
d2=$((f2 - $(node_meminfo 2 MemFree)))
check_num "64 MiB file in node2 took node2 MemFree (kB)" "$d2" -ge 61440
check_num "and left node1 MemFree alone (kB, |change| <= 4 MiB)" "${d1#-}" -le 4096
avail2=$(df -k --output=avail "$MNT/node2" | tail -n1)
want2=$(device_room 2 node2)
check_num "df node2 avail follows min(node2 MemFree, its tmpfs's room) (kB)" \
	"$((want2 - avail2 < 0 ? avail2 - want2 : want2 - avail2))" -le 8192
rm "$MNT/node2/fill"

cdm_umount
finish
