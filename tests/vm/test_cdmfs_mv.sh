#!/bin/sh
# mv of a file to another device directory migrates its memory while a
# process keeps writing through a mapping it made before the mv: afterwards
# every page is on the new node (move_pages; the writer's own numa_maps),
# the inode is the same, the file's data goes to the new device's own
# tmpfs once the writer exited, the writer never got SIGBUS, every page holds the
# last stamp the writer put there (read back with read(2)), and the writer
# always read back its own previous stamp.  node1 -> node2, then back.  mv
# returns before the pages have moved: the test waits for
# user.cdm.migration to stop saying "running".
# Also: holes stay holes (a sparse file keeps the pages it had: with the
# default 2 MiB pages, a 4 KiB write into a hole of a file of 2 MiB or more
# took the 2 MiB around it, as on a tmpfs mounted huge=within_size), and
# pages added right after the mv go to the new node.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

SIZE_MB=64		# TCG migrates ~0.23 GB/s: keep it small
PAGES=$((SIZE_MB * 256))
cdm_mount

dd if=/dev/zero of="$MNT/node1/f" bs=1M count=$SIZE_MB status=none
check_pages "before any mv" "$MNT/node1/f" 1
ino=$(stat -c %i "$MNT/node1/f")

# stamps_all_equal FILE: every page of FILE still holds the last stamp the
# stopped writer reported (stamper.out: "stamper: seq S next K ...")
stamps_all_equal() {
	# shellcheck disable=SC2046 # split on purpose
	set -- "$1" $(cat stamper.out)
	stamper --check "$1" "$4" "$6"
}

# move FROM TO: mv $MNT/FROM/f to $MNT/TO/f under a running stamper
move() {
	from=$1 to=$2
	echo "     --- mv node$from/f -> node$to/f while a process writes through its mapping"
	s_from=$(node_meminfo "$from" Shmem)
	s_to=$(node_meminfo "$to" Shmem)
	stamper "$MNT/node$from/f" >stamper.out 2>stamper.err &
	wpid=$!
	s0=$(stamp_of "$MNT/node$from/f")
	# two full passes: the writer's mapping is populated and verifying
	check "writer is stamping (page 0 stamp > $((s0 + 1)))" wait_stamp "$MNT/node$from/f" $((s0 + 2))
	before=$(stamp_of "$MNT/node$from/f")
	kill -USR2 $wpid	# its longest_write_ms from here on
	t0=$(date +%s.%N)
	check "mv node$from/f node$to/f" mv "$MNT/node$from/f" "$MNT/node$to/f"
	t1=$(date +%s.%N)
	check "its migration ends" wait_migration "$MNT/node$to/f"
	t2=$(date +%s.%N)
	after=$(stamp_of "$MNT/node$to/f")
	echo "     user.cdm.migration: $(getfattr --only-values -n user.cdm.migration "$MNT/node$to/f")"
	echo "     mv returned in $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")s, its migration was seen done after $(awk "BEGIN { printf \"%.2f\", $t2 - $t0 }")s; the writer made $((after - before)) passes over $PAGES pages meanwhile"
	check_num "the writer kept writing during the migration (passes)" "$((after - before))" -ge 1
	check "the writer kept writing after the mv" wait_stamp "$MNT/node$to/f" $((after + 2))
	wline=$(numa_maps_of $wpid "$MNT/")
	echo "     writer's numa_maps: $wline"
	stop_writer "$MNT/node$to/f" "$to" $wpid "$wline" "after mv node$from -> node$to"
	check "same inode after mv ($ino)" test "$(stat -c %i "$MNT/node$to/f")" = "$ino"
	# each device is a tmpfs of its own: the file stayed in node$from's
	# while mapped; with the writer gone its data goes to node$to's
	check "its data went to node$to's own tmpfs once the writer exited" \
		wait_for 20 sh -c "test \$(stat -c %s '$CDM_STORE/node$to/f') = $((SIZE_MB << 20))"
	u=$(df -k --output=used "$CDM_STORE/node$to" | tail -n1 | tr -d ' ')
	check_num "which now holds its $SIZE_MB MiB (df of that tmpfs, kB)" "$u" -ge $((SIZE_MB * 1024))
	u=$(df -k --output=used "$CDM_STORE/node$from" | tail -n1 | tr -d ' ')
	check_num "and node$from's holds nothing more (kB)" "$u" -le 4096
	check "same inode after it went home ($ino)" test "$(stat -c %i "$MNT/node$to/f")" = "$ino"
	check_pages "after it went home" "$MNT/node$to/f" "$to"
	check "its content is the writer's last (every page's stamp)" \
		stamps_all_equal "$MNT/node$to/f"
	check_not "node$from/f is gone" test -e "$MNT/node$from/f"
	# Shmem per node (per-CPU deltas may lag: allow 4 MiB)
	g=$(($(node_meminfo "$to" Shmem) - s_to))
	l=$((s_from - $(node_meminfo "$from" Shmem)))
	check_num "node$to Shmem grew by ~$SIZE_MB MiB (kB)" "$g" -ge $((SIZE_MB * 1024 - 4096))
	check_num "node$from Shmem shrank by ~$SIZE_MB MiB (kB)" "$l" -ge $((SIZE_MB * 1024 - 4096))
}

move 1 2
move 2 1
rm -f "$MNT/node1/f"

echo "     --- holes and growth"
# mv faults in only resident pages: holes stay holes.  Two 4 KiB writes
# 100 MiB apart: the first, at the end, is one small page (past it there is
# no 2 MiB of file); the second, into the hole of a 100 MiB file, takes a
# 2 MiB page under huge=within_size: 513 pages (2 with 4 KiB pages).
dd if=/dev/urandom of="$MNT/node1/sparse" bs=4k count=1 seek=25600 status=none
dd if=/dev/urandom of="$MNT/node1/sparse" bs=4k count=1 seek=10 conv=notrunc status=none
held=$(($(stat -c %b "$MNT/node1/sparse") / 8))
echo "     sparse file holds $held pages before the mv (st_blocks)"
check_num "it holds at most one 2 MiB page and one 4 KiB page" "$held" -le 513
check "mv a sparse file node1 -> node2" mv "$MNT/node1/sparse" "$MNT/node2/sparse"
check "its migration ends" wait_migration "$MNT/node2/sparse"
# shellcheck disable=SC2046 # three numbers
set -- $(page_counts "$MNT/node2/sparse" 2)
check "sparse file: $1/$2 resident pages on node2, of $3 (the $held it held: holes not filled)" \
	test "$1 $2 $3" = "$held $held 25601"
# Pages added right after the mv (the migration may still run) follow the
# file to its new device.
dd if=/dev/urandom of="$MNT/node1/g" bs=1M count=4 status=none
check "mv a 4 MiB file node1 -> node2" mv "$MNT/node1/g" "$MNT/node2/g"
dd if=/dev/urandom of="$MNT/node2/g" bs=1M count=4 oflag=append conv=notrunc status=none
check "its migration ends" wait_migration "$MNT/node2/g"
check_pages "node2/g grown to 8 MiB after the mv" "$MNT/node2/g" 2
rm -f "$MNT/node2/sparse" "$MNT/node2/g"
cdm_umount
finish
