#!/bin/sh
# user.cdm.policy moves a file's memory, checked against the kernel:
#  - setfattr bind:node2 on a 64 MiB file in node1/ while a process writes
#    through its own mapping: every page on node2 afterwards (move_pages; the
#    writer's numa_maps shows bind:2), no SIGBUS, every stamp intact; then
#    back with bind:node1.  setfattr returns at once and the test waits for
#    user.cdm.migration to stop saying "running".  Prints the migration's
#    throughput (its own "in S s", and the wall time until it was seen done)
#    and the longest gap between the writer's passes (page 0's stamp sampled
#    through a mapping).
#  - user.cdm.residency = pagenodes' count per node x page size, for a file
#    on one node and for an interleave:node1,node2 file (each node >= 40%).
#  - user.cdm.drift: 0 once placed; the bytes on node2 after migratepages(8)
#    moved a bind:node1 file there from outside; 0 again after setfattr.
#  - a directory's policy (interleave) reaches files created in it.
#  - a read(2) in a loop while pages move: the busy batch is retried.
# A policy set while a migration runs: test_cdmfs_supersede.sh.
# CDMFS_TEST_MOUNT_OPTS (exported with CDMFS_VM_ENV) adds mount options, to
# compare e.g. migrate_batch sizes:
#   CDMFS_VM_ENV=CDMFS_TEST_MOUNT_OPTS CDMFS_TEST_MOUNT_OPTS=migrate_batch=4M \
#   CDMFS=build/fs/cdmfs tests/vm/run-suite tests/vm/test_cdmfs_policy.sh
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

SIZE_MB=64		# TCG migrates ~0.1-0.2 GB/s: keep it small
PAGES=$((SIZE_MB * 256))
PG=$(getconf PAGESIZE)
cdm_mount "${CDMFS_TEST_MOUNT_OPTS:-}"

getx() { getfattr --only-values -n "$2" "$1"; }
policy_of() { getx "$1" user.cdm.policy; }

# node_of_dev DEV: the node of a device (user.cdm.devices nodes=)
devices=$(getx "$MNT" user.cdm.devices)
node_of_dev() {
	printf '%s\n' "$devices" | awk -v d="$1" '$1 == d {
		for (i = 2; i <= NF; i++) if (index($i, "nodes=") == 1) print substr($i, 7) }'
}

# residency_matches FILE: every DEV=BYTES of user.cdm.residency equals
# pagenodes' page count on DEV's node x page size, and the bytes add up to
# all resident pages (so no node holding pages is left out)
residency_matches() {
	_res=$(getx "$1" user.cdm.residency)
	_pn=$(pagenodes "$1")
	echo "residency: $_res"
	printf '%s\n' "$_pn"
	_sum=0
	for _kv in $_res; do
		_n=$(node_of_dev "${_kv%%=*}")
		_c=$(printf '%s\n' "$_pn" | awk -v n="$_n" '$1 == "node" && $2 == n { print $3 }')
		[ "${_kv#*=}" -eq $((${_c:-0} * PG)) ] || return 1
		_sum=$((_sum + ${_kv#*=}))
	done
	_r=$(printf '%s\n' "$_pn" | awk '$1 == "pages" { print $4 }')
	[ "$_sum" -eq $((_r * PG)) ]
}
check_residency() {
	# shellcheck disable=SC2046
	set -- "$1" "$2" $(pagenodes "$2" | awk '$1 == "node" { printf "node%s=%d ", $2, $3 }')
	_d=$1 _f=$2
	shift 2
	check "$_d: user.cdm.residency '$(getx "$_f" user.cdm.residency)' = pagenodes' pages x $PG ($*)" \
		residency_matches "$_f"
}

# share_ok FILE N: node N holds >= 40% of FILE's resident pages
share_ok() {
	# shellcheck disable=SC2046
	set -- "$1" "$2" $(page_counts "$1" "$2")
	check "node$2 holds >= 40% of $(basename "$1"): $3/$4 pages" \
		test $(($3 * 100)) -ge $(($4 * 40))
}

# A page-0 sampler: reads the stamp through its own mapping every 0.5 ms; on
# SIGTERM prints how many times it changed and the median and longest time
# it stood still (a pass of the writer, stalls included).  Not pread(2): a
# read holds a page reference that makes the kernel give up migrating it.
cat >sampler.py <<'PY'
import mmap, os, signal, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(fd, 4096, prot=mmap.PROT_READ)
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
prev = None
gaps = []
open("sampler.ready", "w").close()
while not stop:
    s = m[0:8]
    t = time.monotonic()
    if s != prev:
        if prev is not None:
            gaps.append(t - tprev)
        prev, tprev = s, t
    time.sleep(0.0005)
gaps.sort()
if gaps:
    print("sampler: %d changes, median gap %.1f ms, longest gap %.1f ms"
          % (len(gaps), 1e3 * gaps[len(gaps) // 2], 1e3 * gaps[-1]))
PY

# The writer's own account, from the kernel's scheduler statistics: the
# longest time it slept uninterruptibly (waiting for a page in flight), the
# total of such waits, and the longest time it was runnable but not
# running (e.g. the migration on its CPU).  TCG guests share a loaded host:
# these see less of the host's preemption than the sampler's gaps do.
echo 1 >/proc/sys/kernel/sched_schedstats 2>/dev/null
writer_sched() {
	[ "$(cat /proc/sys/kernel/sched_schedstats 2>/dev/null)" = 1 ] || return 0
	awk '$1 == "block_max" { b = $3 } $1 == "sum_block_runtime" { s = $3 }
	     $1 == "wait_max" { w = $3 }
	     END { printf "longest block %.1f ms, blocked %.1f ms in all, longest runqueue wait %.1f ms", b, s, w }' "/proc/$1/sched"
}

# The wait for the migration, started before it: a getfattr loop would
# exec a program every few ms, which in TCG takes CPU from the writer and
# the migration being measured (and the synchronous setxattr of old needed
# no wait).  Once a line arrives on FIFO, it polls user.cdm.migration every
# 10 ms until it no longer says "running", prints it, and exits 0 if it
# says done.
cat >waiter.py <<'PY'
import os, sys, time
path, fifo = sys.argv[1], sys.argv[2]
open("waiter.ready", "w").close()
with open(fifo) as p:
    p.readline()
end = time.monotonic() + 60
while True:
    v = os.getxattr(path, "user.cdm.migration").decode()
    if not v.startswith("running") or time.monotonic() > end:
        break
    time.sleep(0.01)
print(v)
sys.exit(0 if v.startswith("idle, last: done") else 1)
PY

# set_policy FROM TO: setfattr bind:nodeTO on node1/f (pages on nodeFROM)
# under a running stamper
set_policy() {
	from=$1 to=$2 f=$MNT/node1/f
	echo "     --- setfattr bind:node$to on node1/f (on node$from) while a process writes through its mapping"
	stamper "$f" >stamper.out 2>stamper.err &
	wpid=$!
	s0=$(stamp_of "$f")
	check "writer is stamping (page 0 stamp > $((s0 + 1)))" wait_stamp "$f" $((s0 + 2))
	rm -f sampler.ready waiter.ready waiter.fifo
	mkfifo waiter.fifo
	python3 waiter.py "$f" waiter.fifo >waiter.out &
	wtpid=$!
	python3 sampler.py "$f" >sampler.out &
	spid=$!
	for _ in $(seq 200); do
		[ -e sampler.ready ] && [ -e waiter.ready ] && break
		sleep 0.05
	done
	sleep 0.2	# a baseline of passes before the migration
	before=$(stamp_of "$f")
	# the writer's scheduler statistics from here on: the migration's
	echo 0 >"/proc/$wpid/sched" 2>/dev/null
	# and its longest single page write (longest_write_ms) too
	kill -USR2 $wpid
	t0=$(date +%s.%N)
	check "setfattr user.cdm.policy bind:node$to" \
		setfattr -n user.cdm.policy -v "bind:node$to" "$f"
	t1=$(date +%s.%N)
	# builtins only: no exec while the migration runs
	! kill -0 $wtpid 2>/dev/null || echo go >waiter.fifo
	wtrc=0
	wait $wtpid || wtrc=$?
	t2=$(date +%s.%N)
	check_num "the migration ends: $(cat waiter.out) (waiter's status)" "$wtrc" -eq 0
	wsched=$(writer_sched $wpid)
	after=$(stamp_of "$f")
	sleep 0.2
	kill -TERM $spid
	wait $spid
	mig=$(getx "$f" user.cdm.migration)
	wall=$(awk "BEGIN { printf \"%.3f\", $t2 - $t0 }")
	echo "     user.cdm.migration: $mig"
	echo "     setfattr returned in $(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }")s; the migration was seen done after ${wall}s (polled every 10 ms); the writer made $((after - before)) passes over $PAGES pages meanwhile"
	# "idle, last: done N bytes to P in S s"
	# shellcheck disable=SC2046
	set -- $(echo "$mig" | sed -n 's/^idle, last: done \([0-9]*\) bytes to \([^ ]*\) in \([0-9.]*\) s$/\1 \2 \3/p')
	check "migration says done $PAGES pages' bytes to bind:node$to" \
		test "$1 $2" = "$((PAGES * PG)) bind:node$to"
	[ $# -eq 3 ] &&
		echo "     throughput: $(awk "BEGIN { printf \"%.1f MiB/s by the daemon's %s s, %.1f MiB/s by the wall %s s\", $1 / 1048576 / $3, $3, $1 / 1048576 / $wall, $wall }")"
	sed 's/^/     writer pauses: /' sampler.out
	[ -z "$wsched" ] || echo "     writer, by schedstats: $wsched"
	check_num "the writer kept writing during the migration (passes)" "$((after - before))" -ge 1
	check "the writer kept writing after it" wait_stamp "$f" $((after + 2))
	wline=$(numa_maps_of $wpid "$f")
	echo "     writer's numa_maps: $wline"
	stop_writer "$f" "$to" $wpid "$wline" "after setfattr bind:node$to"
	check "user.cdm.policy reads bind:node$to" test "$(policy_of "$f")" = "bind:node$to"
	check "user.cdm.drift 0 after setfattr" test "$(getx "$f" user.cdm.drift)" = 0
}

dd if=/dev/zero of="$MNT/node1/f" bs=1M count=$SIZE_MB status=none
check_pages "node1/f before any setfattr" "$MNT/node1/f" 1
check "node1/f follows its directory: policy bind:node1" test "$(policy_of "$MNT/node1/f")" = bind:node1
check "user.cdm.migration idle before any policy" test "$(getx "$MNT/node1/f" user.cdm.migration)" = idle
check "user.cdm.drift 0 after placement" test "$(getx "$MNT/node1/f" user.cdm.drift)" = 0
check_residency "one node" "$MNT/node1/f"
set_policy 1 2
check_residency "one node, after migrating" "$MNT/node1/f"
set_policy 2 1

echo "     --- residency of an interleaved file"
: >"$MNT/node1/il"
check "setfattr interleave:node1,node2 on an empty file" \
	setfattr -n user.cdm.policy -v interleave:node1,node2 "$MNT/node1/il"
dd if=/dev/urandom of="$MNT/node1/il" bs=1M count=16 conv=notrunc status=none
pagenodes "$MNT/node1/il" | sed 's/^/     /'
share_ok "$MNT/node1/il" 1
share_ok "$MNT/node1/il" 2
check_residency "interleave" "$MNT/node1/il"
check "user.cdm.drift 0 for the interleaved file" test "$(getx "$MNT/node1/il" user.cdm.drift)" = 0
# Not asserted: interleave set on a file already resident on node1.  mbind's
# MPOL_MF_MOVE moves only pages outside the new nodes, so node1's stay.
dd if=/dev/zero of="$MNT/node1/il2" bs=1M count=8 status=none
setfattr -n user.cdm.policy -v interleave:node1,node2 "$MNT/node1/il2"
wait_migration "$MNT/node1/il2" >/dev/null
echo "     note: interleave:node1,node2 set on an 8 MiB file on node1 leaves it$(page_counts "$MNT/node1/il2" 1 | awk '{ printf " %d/%d pages on node1", $1, $3 }')"
rm -f "$MNT/node1/il" "$MNT/node1/il2"

echo "     --- drift"
dd if=/dev/zero of="$MNT/node1/d" bs=1M count=16 status=none
check "user.cdm.drift 0 for a fresh bind:node1 file" test "$(getx "$MNT/node1/d" user.cdm.drift)" = 0
if command -v migratepages >/dev/null; then
	# a process maps every page; migratepages(8) moves its pages from
	# node1 to node2 behind cdmfs' back (the shared policy stays bind:1)
	stamper "$MNT/node1/d" >stamper.out 2>&1 &
	wpid=$!
	check "a process maps node1/d" wait_stamp "$MNT/node1/d" 2
	check "migratepages $wpid 1 2" migratepages $wpid 1 2
	kill -TERM $wpid
	wait $wpid
	# shellcheck disable=SC2046
	set -- $(page_counts "$MNT/node1/d" 2)
	drift=$(getx "$MNT/node1/d" user.cdm.drift)
	check_num "migratepages moved pages to node2: $1/$3 on node2" "$1" -gt 0
	check "user.cdm.drift $drift = pages on node2 x $PG ($1 pages)" test "$drift" -eq $(($1 * PG))
	check_residency "after migratepages" "$MNT/node1/d"
	check "setfattr bind:node1 again" setfattr -n user.cdm.policy -v bind:node1 "$MNT/node1/d"
	check "the migration ends" wait_migration "$MNT/node1/d"
	check_pages "setfattr put the drifted pages back" "$MNT/node1/d" 1
	check "user.cdm.drift 0 again" test "$(getx "$MNT/node1/d" user.cdm.drift)" = 0
else
	echo "     skipped drift from outside: migratepages(8) (numactl) is not installed"
fi
rm -f "$MNT/node1/d"

echo "     --- a directory's policy reaches new files"
mkdir "$MNT/node1/shards"
check "setfattr interleave:node1,node2 on node1/shards" \
	setfattr -n user.cdm.policy -v interleave:node1,node2 "$MNT/node1/shards"
check "node1/shards reads interleave:node1,node2" \
	test "$(policy_of "$MNT/node1/shards")" = interleave:node1,node2
dd if=/dev/urandom of="$MNT/node1/shards/a" bs=1M count=16 status=none
check "node1/shards/a inherited interleave:node1,node2" \
	test "$(policy_of "$MNT/node1/shards/a")" = interleave:node1,node2
pagenodes "$MNT/node1/shards/a" | sed 's/^/     /'
share_ok "$MNT/node1/shards/a" 1
share_ok "$MNT/node1/shards/a" 2
rm -rf "$MNT/node1/shards"

echo "     --- read(2) in flight while pages move"
# a read holds a page for a moment; the migration must retry, not fail
dd if=/dev/urandom of="$MNT/node1/r" bs=1M count=16 status=none
python3 -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
end = time.monotonic() + 20
while time.monotonic() < end and not os.path.exists("reader.stop"):
    os.pread(fd, 8, 0)
' "$MNT/node1/r" &
rpid=$!
check "setfattr bind:node2 with a reader in a loop" \
	setfattr -n user.cdm.policy -v bind:node2 "$MNT/node1/r"
check "the migration ends, not failed" wait_migration "$MNT/node1/r"
touch reader.stop
wait $rpid
check_pages "node1/r after, reader and all" "$MNT/node1/r" 2
rm -f "$MNT/node1/r" reader.stop

cdm_umount
finish
