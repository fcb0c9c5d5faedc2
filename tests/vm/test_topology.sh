#!/bin/sh
# The guest's NUMA topology as the kernel sees it, from /sys: three nodes,
# two of them memory-only, HMAT performance for each and memory tiers derived
# from it.  Later vm tests rely on this shape (see run-guest for the QEMU side).
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

for n in 0 1 2; do
	check "node$n exists" test -d "$node_sys/node$n"
done
online=$(cat "$node_sys/online")
has_memory=$(cat "$node_sys/has_memory")
has_cpu=$(cat "$node_sys/has_cpu")
echo "     online=$online has_memory=$has_memory has_cpu=$has_cpu"
check "exactly nodes 0-2 online" test "$online" = 0-2
check "node0 has CPUs 0-1" test "$(cat "$node_sys/node0/cpulist")" = 0-1
for n in 1 2; do
	check "node$n has memory (has_memory)" in_list $n "$has_memory"
	check_num "node$n MemTotal > 400 MiB in kB" "$(node_meminfo $n MemTotal)" -gt 409600
	check "node$n has no CPUs (has_cpu)" negate in_list $n "$has_cpu"
	check "node$n cpulist is empty" test -z "$(cat "$node_sys/node$n/cpulist")"
done

# HMAT: access class 0 of each target names its best initiator, node0.
hmat() { cat "$node_sys/node$1/access0/initiators/$2" 2>/dev/null || echo 0; }
for n in 0 1 2; do
	check "node$n access0 initiator is node0" test -e "$node_sys/node$n/access0/initiators/node0"
	for f in read_latency write_latency read_bandwidth write_bandwidth; do
		check_num "node$n $f present" "$(hmat $n $f)" -gt 0
	done
done
echo "     latency ns: node0=$(hmat 0 read_latency) node1=$(hmat 1 read_latency) node2=$(hmat 2 read_latency)"
echo "     bandwidth MB/s: node0=$(hmat 0 read_bandwidth) node1=$(hmat 1 read_bandwidth) node2=$(hmat 2 read_bandwidth)"
check_num "node1 read latency above node0's" "$(hmat 1 read_latency)" -gt "$(hmat 0 read_latency)"
check_num "node2 read latency above node1's" "$(hmat 2 read_latency)" -gt "$(hmat 1 read_latency)"
check_num "node2 write latency above node1's" "$(hmat 2 write_latency)" -gt "$(hmat 1 write_latency)"
check_num "node1 read bandwidth below node0's" "$(hmat 1 read_bandwidth)" -lt "$(hmat 0 read_bandwidth)"
check_num "node2 read bandwidth below node1's" "$(hmat 2 read_bandwidth)" -lt "$(hmat 1 read_bandwidth)"
check_num "node2 write bandwidth below node1's" "$(hmat 2 write_bandwidth)" -lt "$(hmat 1 write_bandwidth)"

check "memory tiers exist" test -d /sys/devices/virtual/memory_tiering
t0=$(node_tier 0)
t1=$(node_tier 1)
t2=$(node_tier 2)
echo "     tiers: node0=memory_tier${t0:-?} node1=memory_tier${t1:-?} node2=memory_tier${t2:-?}"
check "every node is in a tier" test -n "$t0" -a -n "$t1" -a -n "$t2"
check "node1 in a different tier than node0" test "${t1:-x}" != "${t0:-x}"
check "node2 in a different tier than node0" test "${t2:-x}" != "${t0:-x}"
check_num "node0's tier ranks above (lower id than) node1's" "${t0:-0}" -lt "${t1:-0}"
check_num "node0's tier ranks above (lower id than) node2's" "${t0:-0}" -lt "${t2:-0}"

check "SLIT distances as configured" test \
	"$(cat "$node_sys/node0/distance" "$node_sys/node1/distance" "$node_sys/node2/distance" | tr '\n' ' ')" \
	= "10 20 28 20 10 24 28 24 10 "
check "automatic NUMA balancing off (run-guest default)" test "$(cat /proc/sys/kernel/numa_balancing)" = 0

finish
