#!/bin/bash
# The measurement behind doc/tiering.md (issue 16, item 2): does DAMON's
# paddr monitoring of the frames that back a shmem file tell a hot 32 MiB
# window from the cold rest of a 256 MiB file that another process touches
# through its own MAP_SHARED mapping; how fast, how precise, at what cost to
# the toucher; and smaps Referenced after clear_refs as the alternative.
# Run in the guest as root:  tests/vm/run-guest tests/vm/heat-measure.sh
# Environment: SAMPLE_US AGGR_US (DAMON intervals, default 5000 100000),
# RUNS (cost runs per side, default 3), SECS (one cost run, default 4),
# SHARE (--share-cpu for the toucher: see heatprobe.c; default empty).
set -u
PATH=$CDMFS_VM_BIN:$PATH
RUNS=${RUNS:-3}
SECS=${SECS:-4}
F=/dev/shm/heat
SIZE=256M
HOFF=$((96 << 20))
HLEN=$((32 << 20))
W=$(mktemp -d)
# shellcheck source=tests/vm/heat-lib.sh
. "$CDMFS_SRC/tests/vm/heat-lib.sh"

[ -d $D ] || { echo "no DAMON sysfs"; exit 77; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# kernel $(uname -r); DAMON sample ${SAMPLE_US}us aggr ${AGGR_US}us share-cpu '${SHARE:-}'"
rm -f $F
# 1. precision and speed: snapshots of DAMON's regions while the toucher runs
heat_toucher 60
heatprobe runs $F >$W/runs || exit 2
echo "# runs: $(wc -l <$W/runs) physical runs back the file's" \
	"$(awk '{ b += $2 - $1 } END { print b / 4096 }' $W/runs) resident pages"
read -r ts _ </proc/uptime
damon_start $W/runs
kd=$(cat $D/0/pid)
cpu0=$(awk '{ print $14 + $15 }' /proc/$kd/stat)
# snapshots HOFF T...: classify DAMON's regions T s after $ts
snapshots() {
	local hoff=$1 at
	shift
	for at; do
		heat_wait "$ts" "$at"
		damon_regions >$W/regions.$at
		echo "t=${at}s $(heatprobe classify $W/runs "$hoff" $HLEN <$W/regions.$at)" \
			"hot_regions $(awk '$3 > 0' $W/regions.$at | wc -l)"
	done
}
snapshots $HOFF 1 2 4 8 16
echo "# regions at 16 s with accesses (start end nr_accesses, MiB):"
awk '$3 > 0 { printf "#   %x-%x %.2f MiB acc %d\n", $1, $2, ($2 - $1) / 1048576, $3 }' \
	$W/regions.16 | head -20
read -r te _ </proc/uptime
cpu1=$(awk '{ print $14 + $15 }' /proc/$kd/stat)
echo "kdamond cpu: $(awk -v c=$((cpu1 - cpu0)) -v a=$ts -v b=$te -v hz="$(getconf CLK_TCK)" \
	'BEGIN { printf "%.1f%%", 100 * c / hz / (b - a) }') of one CPU"
kill $TPID
wait $TPID
grep pages_per_s $W/touch.out
# the window moves from 96 MiB to 192 MiB: how fast DAMON follows
echo "# window moves to 192 MiB"
heat_toucher 60 $((192 << 20))
read -r ts _ </proc/uptime
snapshots $((192 << 20)) 1 2 4 8
kill $TPID
wait $TPID
damon_stop

# 2. the alternative: smaps Referenced of the toucher's mapping after clear_refs
heat_toucher 30
echo 1 >/proc/$TPID/clear_refs
sleep 1
awk 'index($0, "/dev/shm/heat") { m = 1 } m && /^Referenced:/ { print "# smaps after clear_refs+1s: Referenced", $2, $3, "of 262144 kB"; exit }' \
	/proc/$TPID/smaps
kill $TPID
wait $TPID

# 3. cost: the toucher's throughput, DAMON off vs on, alternating
for r in $(seq "$RUNS"); do
	heat_toucher "$SECS"
	wait $TPID
	awk '/pages_per_s/ { print $3 }' $W/touch.out >>$W/off
	heatprobe runs $F >$W/runs
	damon_start $W/runs
	heat_toucher "$SECS"
	wait $TPID
	awk '/pages_per_s/ { print $3 }' $W/touch.out >>$W/on
	damon_stop
done
echo "cost: pages/s off $(median <$W/off) on $(median <$W/on)" \
	"(off: $(tr '\n' ' ' <$W/off)on: $(tr '\n' ' ' <$W/on))"
rm -f $F
rm -rf "$W"
