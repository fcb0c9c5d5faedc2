#!/bin/sh
# DAMON's paddr monitoring of the frames that back a shmem file tells which
# part of the file another process keeps touching through its own
# MAP_SHARED mapping: the mechanism doc/tiering.md chooses for issue 16.
# The kernel's truth here is the accessed bits DAMON reads through the
# reverse map; the daemon takes no part.  A 32 MiB window of a 256 MiB file
# is touched; within 10 s DAMON must report >= 95% of it accessed and <= 1%
# of the rest at once (seen after 1-4 s), and again after the window moves.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

[ -x "$CDMFS_VM_BIN/heatprobe" ] || skip "no heatprobe in CDMFS_VM_BIN=$CDMFS_VM_BIN"
[ -d /sys/kernel/mm/damon/admin/kdamonds ] ||
	skip "kernel has no DAMON sysfs interface (CONFIG_DAMON_SYSFS)"
[ -e /proc/self/pagemap ] || skip "no /proc/self/pagemap"
PATH=$CDMFS_VM_BIN:$PATH
W=$(mktemp -d /tmp/heat.XXXXXX) || exit 1
F="$W"/file
SIZE=256M
HLEN=$((32 << 20))
HOFF=$((96 << 20))
SHARE=1
# shellcheck source=tests/vm/heat-lib.sh
. "$CDMFS_SRC/tests/vm/heat-lib.sh"
TPID=
trap 'damon_stop 2>/dev/null; [ -z "$TPID" ] || kill $TPID 2>/dev/null; rm -rf "$W"' EXIT

# hot_cold HOFF: classify DAMON's regions now against the window at HOFF
hot_cold() {
	damon_regions >"$W"/regions
	# shellcheck disable=SC2046 # the fields are wanted
	set -- $(heatprobe classify "$W"/runs "$1" $HLEN <"$W"/regions)
	hot_seen=$2 hot_total=$4 cold_seen=$6 cold_total=$8
	report="$*"
}

# converge HOFF: classify once a second from 1 s after the toucher started
# (ts) until the window is told from the rest or 10 s have passed
converge() {
	for at in 1 2 3 4 5 6 7 8 9 10; do
		heat_wait "$ts" $at
		hot_cold "$1"
		[ "$hot_seen" -lt $((hot_total * 95 / 100)) ] ||
			[ "$cold_seen" -gt $((cold_total / 100)) ] || break
	done
	diag "after ${at} s: $report"
}

# /tmp in the guest is tmpfs: the file is a shmem object like the store's
check "toucher writes the file and touches [96, 128) MiB" heat_toucher 120
check "runs: the frames of the file's resident pages" sh -c "heatprobe runs '$F' >'$W/runs'"
eq "runs cover all 65536 pages" \
	"$(awk '{ b += $2 - $1 } END { print b / 4096 }' "$W"/runs)" 65536
check "DAMON paddr context on the runs starts" damon_start "$W"/runs
read -r ts _ </proc/uptime
converge $HOFF
check_num "hot window seen accessed (bytes)" "$hot_seen" -ge $((hot_total * 95 / 100))
check_num "cold rest seen accessed (bytes)" "$cold_seen" -le $((cold_total / 100))

kill "$TPID"
wait "$TPID"
check "toucher moves to [192, 224) MiB" heat_toucher 120 $((192 << 20))
read -r ts _ </proc/uptime
converge $((192 << 20))
check_num "moved window seen accessed (bytes)" "$hot_seen" -ge $((hot_total * 95 / 100))
check_num "rest, old window included, seen accessed (bytes)" "$cold_seen" -le $((cold_total / 100))
kill "$TPID"
wait "$TPID"
TPID=
damon_stop
finish
