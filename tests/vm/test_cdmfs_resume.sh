#!/bin/sh
# A daemon killed in the middle of a migration: the next daemon on the same
# store finishes it, while a process keeps writing through its mapping the
# whole time.  setfattr bind:node2 on a 64 MiB node1 file (small batches,
# so the migration is still running when the daemon dies); once it has
# moved something, SIGKILL.  Checked against the kernel: the pages are
# split between node1 and node2 (move_pages on the backing file), the
# backing inode says the migration is due (user.cdm.pending).  A new
# daemon mounts the store again, says it resumes the migration, and then
# every page is on node2, user.cdm.pending is gone, the writer got no
# SIGBUS, always read back its own previous stamp, and every page holds its
# last stamp (read(2)).
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

SIZE_MB=64
PAGES=$((SIZE_MB * 256))
# 4 KiB pages (-o huge=never): this counts the bytes the daemon moves
# against the pages the kernel shows.  With the default 2 MiB store,
# khugepaged collapses the mapped file's 4 KiB pages into huge ones in the
# background, allocated by the file's policy: pages move without the daemon
# (measured: 2976 of 15360 pages), and a page table it retracts makes
# move_pages say -ENOENT for 512 pages mid-check.
OPTS=migrate_batch=64K,huge=never	# 1024 batches: long enough to be caught running
cdm_mount "$OPTS"

getx() { getfattr --only-values -n "$2" "$1"; }

f=$MNT/node1/f
backing=$CDM_STORE/node1/f
dd if=/dev/zero of="$f" bs=1M count=$SIZE_MB status=none
check_pages "node1/f before" "$f" 1
stamper "$f" >stamper.out 2>stamper.err &
wpid=$!
check "writer is stamping (page 0 stamp >= 2)" wait_stamp "$f" 2

check "setfattr bind:node2" setfattr -n user.cdm.policy -v bind:node2 "$f"
# until it has moved something (or stopped running)
i=0
while [ $i -lt 2000 ]; do
	m=$(getx "$f" user.cdm.migration)
	case $m in
	"running 0/"*) i=$((i + 1)) ;;
	*) break ;;
	esac
done
dpid=$CDM_PID
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null
CDM_PID=
echo "     daemon (pid $dpid) killed with SIGKILL; user.cdm.migration said: $m"
check "it was running, past its first batch" sh -c "echo '$m' | grep -q '^running [1-9][0-9]*/'"
# page_counts: "ON-NODE RESIDENT TOTAL"
# shellcheck disable=SC2046 # split on purpose
set -- $(page_counts "$backing" 1) $(page_counts "$backing" 2)
echo "     backing file right after the kill: node1 $1/$2 pages, node2 $4/$5"
left=$1
check_num "some pages still on node1" "$1" -gt 0
check_num "some already on node2" "$4" -gt 0
check "the backing inode says the migration is due: user.cdm.pending bind:node2" \
	test "$(getx "$backing" user.cdm.pending)" = bind:node2
s=$(stamp_of "$backing")
check "the writer keeps writing meanwhile" wait_stamp "$backing" $((s + 2))

umount -l "$MNT"
cdm_mount "$OPTS"
check "the new daemon resumes it" grep -q "node1/f: resuming the migration to bind:node2" "$CDM_LOG"
grep "resum" "$CDM_LOG" | sed 's/^/     | /'
check "the migration ends" wait_migration "$f"
# "done" counts pages the kernel moved: those the first daemon left on node1
check "the log says done, the pages left on node1 ($left)" \
	grep -q "node1/f: resumed migration done $((left * 4096)) bytes to bind:node2" "$CDM_LOG"
check "user.cdm.pending is gone from the backing inode" \
	negate getfattr -n user.cdm.pending "$backing"
after=$(stamp_of "$f")
check "the writer kept writing after it" wait_stamp "$f" $((after + 2))
# its mapping is of the first mount's file (detached since): by name only
wline=$(grep -F "node1/f" "/proc/$wpid/numa_maps" | head -n1)
echo "     writer's numa_maps: $wline"
stop_writer "$f" 2 $wpid "$wline" "after the resumed migration"
check "user.cdm.policy reads bind:node2" test "$(getx "$f" user.cdm.policy)" = bind:node2
check "user.cdm.drift 0" test "$(getx "$f" user.cdm.drift)" = 0
rm -f "$f"
cdm_umount
finish
