#!/bin/sh
# Automatic tiering (issue 16): a 256 MiB file with tiered:node1,node2 is
# mapped by a workload (heatprobe work --share-cpu, see test_heat.sh for
# why) that keeps writing stamps to a 32 MiB window which moves every
# $STEP s.  The kernel's truth (move_pages per page, heatprobe nodes) must
# show the window on FAST (node1, >= 95 %) and the rest on SLOW (node2,
# >= 90 %) within $LIMIT s of each move ($LIMIT0 s for the first window:
# all 224 MiB of the rest start on FAST and must be seen cold first); at
# the end every page holds its last stamp (no write lost while pages
# moved).  Decision period 1 s (-o tier_period=1000): hot after 2 s,
# cold after 3 s, 64 MiB moved per second per device.  The workload's throughput
# with tiering is printed next to the same workload on a file bound to
# node1 (static placement, no tiering) in the same boot.  First, in a
# mount of its own: a new file of a tiered directory starts on FAST.
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
LIMIT0=${LIMIT0:-55}
WINDOWS="$((96 << 20)) $((192 << 20)) $((32 << 20))"
WPID=
# shellcheck source=tests/vm/tier-lib.sh
. "$CDMFS_SRC/tests/vm/tier-lib.sh"

# new pages of a tiered file start on FAST: a file created in a tiered
# directory, in a mount whose tiering may move nothing (4 KiB a second is
# less than a chunk a period), so nothing races the check; first, while
# node1 is fresh
cdm_mount tier_rate=4K
check "mkdir, setfattr tiered:node1,node2 on it" sh -c \
	"mkdir '$MNT/node1/td' && setfattr -n user.cdm.policy -v tiered:node1,node2 '$MNT/node1/td'"
dd if=/dev/zero of="$MNT/node1/td/new" bs=1M count=16 status=none
eq "a new file in it inherits the policy" \
	"$(getfattr --only-values -n user.cdm.policy "$MNT/node1/td/new")" tiered:node1,node2
# preferred: a 2 MiB page node1 cannot give comes from elsewhere
check_num "its pages start on FAST: pages of 4096 on node1" \
	"$(pages_on "$MNT/node1/td/new" 0 $((16 << 20)) 1)" -ge 3686
eq "its shared policy" "$(pagenodes "$MNT/node1/td/new" | grep '^policy')" "policy preferred 1"
cdm_umount

cdm_mount tier_period=1000
W=$PWD
F=$MNT/node1/tiered
trap 'if [ -n "$WPID" ]; then kill "$WPID" 2>/dev/null; wait "$WPID"; fi; cdm_cleanup' EXIT

check "an empty file" sh -c ": >'$F'"
check "setfattr tiered:node1,node2" setfattr -n user.cdm.policy -v tiered:node1,node2 "$F"
eq "its policy" "$(getfattr --only-values -n user.cdm.policy "$F")" tiered:node1,node2
check "the migration of the empty file ends" wait_migration "$F"

# shellcheck disable=SC2086 # the offsets are wanted as one list
offs=$(echo $WINDOWS | tr ' ' ',' | sed "s/,/:$((LIMIT0 + 5)),/")
heatprobe work --share-cpu "$F" $SIZE $HLEN "$STEP" "$offs" >"$W/work.out" 2>&1 &
WPID=$!
check "the workload fills the 256 MiB file" wait_line ready

k=0
for hoff in $WINDOWS; do
	check "window $k at $((hoff >> 20)) MiB starts" wait_line "^window $k "
	lim=$LIMIT
	[ $k -gt 0 ] || lim=$LIMIT0
	settle "$hoff" "$lim"
	diag "window $k: after $lat s: $report"
	check "window $k: on node1, the rest on node2, within $lim s (took $lat s)" test -n "$ok"
	diag "user.cdm.heat: $(getfattr --only-values -n user.cdm.heat "$F" 2>&1)"
	k=$((k + 1))
done
# a chunk just promoted starts its streak again: hot after two periods
# above the threshold (the placement check above may pass before that)
check "user.cdm.heat says the window is hot on node1 (within 15 s)" \
	wait_for 15 sh -c \
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
