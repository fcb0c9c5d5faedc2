#!/bin/sh
# Automatic tiering (issue 16): a 256 MiB file with tiered:node1,node2 is
# mapped by a workload (heatprobe work --share-cpu, see test_heat.sh for
# why) that keeps writing stamps to a 32 MiB window which moves every
# $STEP s.  The kernel's truth (move_pages per page, heatprobe nodes) must
# show, within $LIMIT s of each move, the window on FAST (node1, >= 95 %)
# and the rest on SLOW (node2, >= 90 %); at the end every page holds its
# last stamp (no write lost while pages moved).  The workload's throughput
# with tiering is printed next to the same workload on a file bound to
# node1 (static placement, no tiering) in the same boot.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

[ -x "$CDMFS_VM_BIN/heatprobe" ] || skip "no heatprobe in CDMFS_VM_BIN=$CDMFS_VM_BIN"
[ -d /sys/kernel/mm/damon/admin/kdamonds ] ||
	skip "kernel has no DAMON sysfs interface (CONFIG_DAMON_SYSFS)"
PATH=$CDMFS_VM_BIN:$PATH
SIZE=$((256 << 20))
HLEN=$((32 << 20))
STEP=${STEP:-40}
LIMIT=${LIMIT:-30}
WINDOWS="$((96 << 20)) $((192 << 20)) $((32 << 20))"
WPID=

cdm_mount
W=$PWD
F=$MNT/node1/tiered
trap 'if [ -n "$WPID" ]; then kill "$WPID" 2>/dev/null; wait "$WPID"; fi; cdm_cleanup' EXIT

# pages of [OFF, OFF+LEN) of FILE on NODE, from the kernel
pages_on() {
	heatprobe nodes "$1" "$2" "$3" | awk -v n="$4" '$1 == "node" && $2 == n { print $3; f = 1 } END { if (!f) print 0 }'
}

# placed HOFF: the window at HOFF on node1 (>= 95 %) and the rest on
# node2 (>= 90 %), by the kernel's per-page answer; sets $report
placed() {
	win1=$(pages_on "$F" "$1" $HLEN 1)
	all2=$(pages_on "$F" 0 $SIZE 2)
	win2=$(pages_on "$F" "$1" $HLEN 2)
	rest2=$((all2 - win2))
	wp=$((HLEN / 4096)) rp=$(((SIZE - HLEN) / 4096))
	report="window $win1/$wp pages on node1, rest $rest2/$rp on node2"
	[ "$win1" -ge $((wp * 95 / 100)) ] && [ "$rest2" -ge $((rp * 90 / 100)) ]
}

# wait_line PATTERN: until the workload prints a line matching PATTERN
wait_line() {
	while ! grep -q "$1" "$W/work.out"; do
		kill -0 "$WPID" 2>/dev/null || { cat "$W/work.out"; return 1; }
		sleep 0.2
	done
}

check "an empty file" sh -c ": >'$F'"
check "setfattr tiered:node1,node2" setfattr -n user.cdm.policy -v tiered:node1,node2 "$F"
eq "its policy" "$(getfattr --only-values -n user.cdm.policy "$F")" tiered:node1,node2
check "the migration of the empty file ends" wait_migration "$F"

# shellcheck disable=SC2086 # the offsets are wanted as one list
offs=$(echo $WINDOWS | tr ' ' ',')
heatprobe work --share-cpu "$F" $SIZE $HLEN "$STEP" "$offs" >"$W/work.out" 2>&1 &
WPID=$!
check "the workload fills the 256 MiB file" wait_line ready
check_num "new pages start on FAST: pages on node1 right after the fill" \
	"$(pages_on "$F" 0 $SIZE 1)" -ge $((SIZE / 4096 * 90 / 100))

k=0
for hoff in $WINDOWS; do
	check "window $k at $((hoff >> 20)) MiB starts" wait_line "^window $k "
	read -r ts _ </proc/uptime
	ok=
	while :; do
		if placed "$hoff"; then
			ok=1
			break
		fi
		read -r t _ </proc/uptime
		awk -v a="$ts" -v b="$t" -v l="$LIMIT" 'BEGIN { exit !(b - a > l) }' && break
		sleep 1
	done
	read -r t _ </proc/uptime
	lat=$(awk -v a="$ts" -v b="$t" 'BEGIN { printf "%.1f", b - a }')
	diag "window $k: after $lat s: $report"
	check "window $k: on node1, the rest on node2, within $LIMIT s (took $lat s)" test -n "$ok"
	diag "user.cdm.heat: $(getfattr --only-values -n user.cdm.heat "$F" 2>&1)"
	k=$((k + 1))
done
check "user.cdm.heat says the window is hot on node1" sh -c \
	"getfattr --only-values -n user.cdm.heat '$F' | grep -Eq '^node1 hot=[0-9]{8}'"
wait "$WPID"
rc=$?
WPID=
sed 's/^/# /' "$W/work.out"
eq "the workload exits 0" "$rc" 0
check "no write lost: every page holds its last stamp" grep -q "^verify pages 65536 lost 0$" "$W/work.out"
on=$(awk '$1 == "work" { print $3 }' "$W/work.out")
check "tiering moved its file away" sh -c "rm '$F'"

# the same workload, static placement on FAST: no statistics, no moves
G=$MNT/node1/static
heatprobe work --share-cpu "$G" $SIZE $HLEN 15 $((96 << 20)) >"$W/static.out" 2>&1
check "static bind:node1 run: no write lost" grep -q "lost 0$" "$W/static.out"
off=$(awk '$1 == "work" { print $3 }' "$W/static.out")
diag "throughput (page writes/s): tiered $on, static bind:node1 $off, ratio $(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
rm -f "$G"
cdm_umount
finish
