#!/bin/sh
# A policy set while a migration runs supersedes it, under a writer:
# setfattr bind:node2 on a 64 MiB node1 file that a process keeps stamping
# through its own mapping returns at once; once user.cdm.migration says it
# is running and has moved a batch (read just before), setfattr
# bind:node1 (up to three attempts, should the first migration end first).  Checked against the kernel: node2's Shmem had grown (the
# first migration was under way); afterwards every page is on node1
# (move_pages; the writer's numa_maps shows bind:1 with every page on N1),
# node2's Shmem is back, the writer got no SIGBUS, always read back its own
# previous stamp, and every page holds its last stamp (read(2)).  The
# daemon's word (printed, and checked for its form): "running ... to
# bind:node1 (superseded bind:node2 after N bytes)", then "done".
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

SIZE_MB=64		# TCG migrates ~0.1-0.2 GB/s: keep it small
PAGES=$((SIZE_MB * 256))
# 4 KiB pages (-o huge=never): this counts the bytes the daemon moves
# against the pages the kernel shows.  With the default 2 MiB store,
# khugepaged collapses the mapped file's 4 KiB pages into huge ones in the
# background, allocated by the file's policy: pages move without the daemon
# (measured: 2976 of 15360 pages), and a page table it retracts makes
# move_pages say -ENOENT for 512 pages mid-check.
cdm_mount huge=never

getx() { getfattr --only-values -n "$2" "$1"; }
# like GLOB TEXT: TEXT matches the shell pattern GLOB
like() {
	# shellcheck disable=SC2254 # a pattern on purpose
	case $2 in $1) return 0 ;; esac
	echo "'$2' does not match '$1'"
	return 1
}

f=$MNT/node1/f
dd if=/dev/zero of="$f" bs=1M count=$SIZE_MB status=none
check_pages "node1/f before" "$f" 1
stamper "$f" >stamper.out 2>stamper.err &
wpid=$!
check "writer is stamping (page 0 stamp >= 2)" wait_stamp "$f" 2

# shmem_kb N: node N's Shmem in kB, by shell builtins alone (no exec: the
# window between the two setfattr is short)
shmem_kb() {
	while read -r _n _i _k _v _u; do
		[ "$_k" = Shmem: ] && echo "$_v" && return
	done <"$node_sys/node$1/meminfo"
}

# The first migration must still run when the second setfattr comes; in
# TCG it may end first (it takes well under a second): then let it end,
# say so, and try again, three times at most.
attempt=0
while [ $attempt -lt 3 ]; do
	attempt=$((attempt + 1))
	[ "$(getx "$f" user.cdm.policy)" = bind:node1 ] ||
		setfattr -n user.cdm.policy -v bind:node1 "$f"
	wait_migration "$f" >/dev/null
	shm2=$(shmem_kb 2)
	t0=$(date +%s.%N)
	setfattr -n user.cdm.policy -v bind:node2 "$f"
	# until it has moved a batch (or stopped running)
	i=0
	while [ $i -lt 1000 ]; do
		m1=$(getx "$f" user.cdm.migration)
		case $m1 in
		"running 0/"*) i=$((i + 1)) ;;
		*) break ;;
		esac
	done
	mid2=$(shmem_kb 2)
	setfattr -n user.cdm.policy -v bind:node1 "$f"
	m2=$(getx "$f" user.cdm.migration)
	t1=$(date +%s.%N)
	echo "     attempt $attempt: user.cdm.migration before the second setfattr: $m1"
	echo "     right after it ($(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s after the first): $m2"
	case $m2 in *"(superseded bind:node2 after"*) break ;; esac
	echo "     the first migration ended before the second setfattr; again"
done
check "it said running toward bind:node2 when bind:node1 was set" \
	like "running */* bytes to bind:node2" "$m1"
check_num "node2's Shmem had grown by then: the first migration was under way (kB)" \
	$((mid2 - shm2)) -ge 1024
check "now running toward bind:node1, bind:node2 superseded" \
	like "running */* bytes to bind:node1 (superseded bind:node2 after * bytes)" "$m2"
check "the migration ends" wait_migration "$f"
m3=$(getx "$f" user.cdm.migration)
echo "     then: $m3"
check "done to bind:node1, bind:node2 named as superseded" \
	like "idle, last: done * bytes to bind:node1 in * s (superseded bind:node2 after * bytes)" "$m3"
# "done" counts the pages the kernel moved: back from node2 what went there
# (the batch in flight when it was superseded may add to it), none of the
# pages that never left node1
back=$(echo "$m3" | sed -n 's/.*done \([0-9]*\) bytes to bind:node1.*/\1/p')
went=$(echo "$m3" | sed -n 's/.*superseded bind:node2 after \([0-9]*\) bytes.*/\1/p')
check_num "bytes moved back ($back) at least what went to node2 ($went)" "${back:-0}" -ge "${went:-1}"
check_num "and fewer than the whole file: pages still on node1 did not move" \
	"${back:-0}" -lt $((PAGES * 4096))
after=$(stamp_of "$f")
check "the writer kept writing after it" wait_stamp "$f" $((after + 2))
wline=$(numa_maps_of $wpid "$f")
echo "     writer's numa_maps: $wline"
stop_writer "$f" 1 $wpid "$wline" "after bind:node2 was superseded by bind:node1"
# per-CPU counter deltas may lag: allow 4 MiB
check_num "node2's Shmem is back (kB over where it started)" \
	$(($(node_meminfo 2 Shmem) - shm2)) -le 4096
check "user.cdm.policy reads bind:node1" test "$(getx "$f" user.cdm.policy)" = bind:node1
check "user.cdm.drift 0" test "$(getx "$f" user.cdm.drift)" = 0
rm -f "$f"
cdm_umount
finish
