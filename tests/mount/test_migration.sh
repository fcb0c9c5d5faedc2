#!/bin/bash
# Migrations run in the background: setfattr user.cdm.policy and mv across
# devices return at once with user.cdm.migration saying "running", then
# "idle, last: done ..."; a policy set while one runs supersedes it and
# says so; a file unlinked or truncated under a migration, and an unmount
# in the middle of three, leave a clean daemon (the mount suite also runs
# under ASan/UBSan with leak checks at exit), and the next daemon on the
# store finishes those three.  Simulated devices: the
# placement is logical here, the vm suite checks pages node by node.
# Batches of one page (-o migrate_batch=4K) make a 64 MiB migration take
# long enough (~1 s) to be caught running.  On simulated devices no page
# changes frame: "done N bytes" counts pages whose (logical) device changed
# and residency follows the walk.
. "$(dirname "$0")/lib.sh"
require_root_fuse
here=$(cd "$(dirname "$0")" && pwd)

cdm_mount "sim=gpu0:1G,sim=cxl0:1G,migrate_batch=4K"
echo "datapath: $CDMFS_DATAPATH; placement is logical (simulated devices)"
cd "$MNT" || exit 1
get() { getfattr --only-values -n "user.cdm.$1" "$2"; }
# matches GLOB TEXT: TEXT matches the shell pattern GLOB
matches() { [[ $2 == $1 ]]; }
SIZE=67108864

dd if=/dev/urandom of=gpu0/f bs=1M count=64 status=none
cp gpu0/f "$WORK/ref"

echo "--- setfattr returns before the pages have moved"
check "setfattr bind:cxl0" setfattr -n user.cdm.policy -v bind:cxl0 gpu0/f
m1=$(get migration gpu0/f)
echo "right after setfattr: $m1"
check "user.cdm.migration says running toward bind:cxl0" \
	matches "running */$SIZE bytes to bind:cxl0*" "$m1"
eq "user.cdm.policy is the new one at once" "$(get policy gpu0/f)" "bind:cxl0"
# Simulated devices are host RAM: residency is logical, and must follow
# what the migration has moved, not the policy it was given a moment ago.
r1=$(get residency gpu0/f)
echo "residency right after setfattr: $r1"
on_gpu0=$(sed -n 's/.*gpu0=\([0-9]*\).*/\1/p' <<<"$r1")
on_cxl0=$(sed -n 's/.*cxl0=\([0-9]*\).*/\1/p' <<<"$r1")
check "residency follows the migration: most pages still on gpu0 ($r1)" \
	test "${on_gpu0:-0}" -gt $((SIZE / 2))
eq "and it counts every resident page (kernel: st_blocks)" \
	$((${on_gpu0:-0} + ${on_cxl0:-0})) $(($(stat -c %b gpu0/f) * 512))

echo "--- a newer policy supersedes the running migration"
check "setfattr bind:gpu0 while it runs" setfattr -n user.cdm.policy -v bind:gpu0 gpu0/f
m2=$(get migration gpu0/f)
echo "right after the second setfattr: $m2"
check "running toward the newest, saying what it superseded" \
	matches "running */* bytes to bind:gpu0 (superseded bind:cxl0 after * bytes)" "$m2"
check "the migration ends" wait_migration gpu0/f
m3=$(get migration gpu0/f)
check "done to the newest; the superseded one named" \
	matches "idle, last: done * bytes to bind:gpu0 in *.* s (superseded bind:cxl0 after * bytes)" "$m3"
# the pages the first walk took to cxl0 came back, and no other page moved
back=$(sed -n 's/.*done \([0-9]*\) bytes to bind:gpu0.*/\1/p' <<<"$m3")
went=$(sed -n 's/.*superseded bind:cxl0 after \([0-9]*\) bytes.*/\1/p' <<<"$m3")
eq "done counts pages moved: back from cxl0 what went there" "$back" "$went"
eq "policy" "$(get policy gpu0/f)" "bind:gpu0"
eq "residency" "$(get residency gpu0/f)" "gpu0=$SIZE"
check "data unchanged" cmp gpu0/f "$WORK/ref"
check "setfattr bind:gpu0 again" setfattr -n user.cdm.policy -v bind:gpu0 gpu0/f
check "the same policy while it runs" setfattr -n user.cdm.policy -v bind:gpu0 gpu0/f
m=$(get migration gpu0/f)
# still queued behind its turn under load: "(queued)" is no superseding
check "does not start over: nothing superseded ($m)" \
	matches "running */* bytes to bind:gpu0?( (queued))" "$m"
check "the migration ends" wait_migration gpu0/f
check "done, naming no superseded policy; pages already there do not move" \
	matches "idle, last: done 0 bytes to bind:gpu0 in *.* s" "$(get migration gpu0/f)"

echo "--- mv across devices is the same migration"
check "mv gpu0/f cxl0/f" mv gpu0/f cxl0/f
m4=$(get migration cxl0/f)
echo "right after mv: $m4"
check "running toward bind:cxl0" matches "running */* bytes to bind:cxl0*" "$m4"
check "the migration ends" wait_migration cxl0/f
eq "residency after mv" "$(get residency cxl0/f)" "cxl0=$SIZE"
check "data unchanged after mv" cmp cxl0/f "$WORK/ref"
dd if=/dev/urandom of=gpu0/m bs=1M count=16 status=none
check "mv of a file with no policy of its own" mv gpu0/m cxl0/m
r=$(get residency cxl0/m)
echo "residency right after mv: $r"
on_gpu0=$(sed -n 's/.*gpu0=\([0-9]*\).*/\1/p' <<<"$r")
check "its pages are still on gpu0 at first, not where mv put the name ($r)" \
	test "${on_gpu0:-0}" -gt 0
check "the migration ends" wait_migration cxl0/m
check "done: every page changed device ($(get migration cxl0/m))" \
	matches "idle, last: done 16777216 bytes to bind:cxl0 in *" "$(get migration cxl0/m)"
eq "residency after it" "$(get residency cxl0/m)" "cxl0=16777216"
rm -f cxl0/m

echo "--- simulated devices are the host's RAM: moving between them copies no page"
if [ "$CDMFS_DATAPATH" = passthrough ]; then
	# passthrough maps the backing object's own frames (zerocopy test)
	python3 "$here/pagemap.py" cxl0/f >"$WORK/frames.before"
	check "setfattr bind:gpu0" setfattr -n user.cdm.policy -v bind:gpu0 cxl0/f
	check "the migration ends" wait_migration cxl0/f
	check "done, all of it ($(get migration cxl0/f))" \
		matches "idle, last: done $SIZE bytes to bind:gpu0 in *" "$(get migration cxl0/f)"
	python3 "$here/pagemap.py" cxl0/f >"$WORK/frames.after"
	eq "pages with a frame before" "$(grep -cv -- - "$WORK/frames.before")" $((SIZE / 4096))
	check "every page kept its frame (no copy)" cmp -s "$WORK/frames.before" "$WORK/frames.after"
	eq "residency" "$(get residency cxl0/f)" "gpu0=$SIZE"
	check "data unchanged" cmp cxl0/f "$WORK/ref"
else
	echo "skipped frame check: the $CDMFS_DATAPATH data path maps FUSE's page cache, not the backing object's frames"
fi

echo "--- no write lost while policies supersede each other under a writer"
dd if=/dev/zero of=gpu0/w bs=1M count=16 status=none
python3 "$here/stamper.py" gpu0/w 3 &
wpid=$!
sleep 0.3
for p in bind:cxl0 interleave:gpu0,cxl0 bind:gpu0 bind:cxl0; do
	setfattr -n user.cdm.policy -v "$p" gpu0/w || not_ok "setfattr $p under a writer"
	sleep 0.2
done
check "the last migration ends" wait_migration gpu0/w
wait "$wpid"
eq "writer saw every stamp it wrote (exit status)" "$?" 0
eq "residency" "$(get residency gpu0/w)" "cxl0=16777216"
rm -f gpu0/w

echo "--- more files than workers: they take turns"
# Two workers; a walk that had its turn (0.1 s) gives its worker to a file
# that waits, so the third starts long before either of the first two ends.
for i in 1 2 3; do dd if=/dev/zero of="gpu0/q$i" bs=1M count=32 status=none; done
for i in 1 2 3; do setfattr -n user.cdm.policy -v bind:cxl0 "gpu0/q$i"; done
q3=
for ((i = 0; i < 200; i++)); do
	q1=$(get migration gpu0/q1) q2=$(get migration gpu0/q2) q3=$(get migration gpu0/q3)
	matches "running [1-9]*" "$q3" && break
	matches "running *" "$q1" && matches "running *" "$q2" || break
	sleep 0.05
done
echo "when the third had moved pages: q1: $q1; q2: $q2; q3: $q3"
check "the third moved pages while the first two still ran" \
	eval 'matches "running [1-9]*" "$q3" && matches "running *" "$q1" && matches "running *" "$q2"'
for i in 1 2 3; do
	check "q$i: the migration ends" wait_migration "gpu0/q$i"
	check "q$i: done, all of it, once ($(get migration "gpu0/q$i"))" \
		matches "idle, last: done 33554432 bytes to bind:cxl0 in *" "$(get migration "gpu0/q$i")"
	eq "q$i: residency" "$(get residency "gpu0/q$i")" "cxl0=33554432"
done
rm -f gpu0/q1 gpu0/q2 gpu0/q3

echo "--- a file truncated under its migration"
cp "$WORK/ref" gpu0/t
check "setfattr bind:cxl0" setfattr -n user.cdm.policy -v bind:cxl0 gpu0/t
check "truncate -s 16M while it runs ($(get migration gpu0/t))" truncate -s 16M gpu0/t
check "the migration ends, not failed" wait_migration gpu0/t
eq "residency: what is left" "$(get residency gpu0/t)" "cxl0=16777216"
check "data kept up to the cut" cmp -n 16777216 gpu0/t "$WORK/ref"
rm -f gpu0/t

echo "--- a file unlinked under its migration"
cp "$WORK/ref" gpu0/u
exec 3<gpu0/u
check "setfattr bind:cxl0" setfattr -n user.cdm.policy -v bind:cxl0 gpu0/u
check "rm while it runs ($(get migration gpu0/u))" rm gpu0/u
# the open fd still names the file: its migration goes on to the end
check "the unlinked file's migration ends" wait_migration "/proc/$$/fd/3"
exec 3<&-
cp "$WORK/ref" gpu0/u2
check "setfattr bind:cxl0 on another" setfattr -n user.cdm.policy -v bind:cxl0 gpu0/u2
check "rm it at once, with nothing open" rm gpu0/u2
sleep 0.5
check "the daemon is alive" kill -0 "$DAEMON_PID"
check "and answers" sh -c "df '$MNT/gpu0' >/dev/null"

echo "--- unmount while migrations run and wait"
for i in 1 2 3; do cp "$WORK/ref" "gpu0/x$i"; done
for i in 1 2 3; do setfattr -n user.cdm.policy -v bind:cxl0 "gpu0/x$i"; done
check "running when the unmount comes ($(get migration gpu0/x1))" \
	matches "running *" "$(get migration gpu0/x1)"
pend=$(getfattr --only-values -n user.cdm.pending "$STORE/gpu0/x1" 2>&1)
eq "the backing file says a migration is due (user.cdm.pending in the store)" "$pend" "bind:cxl0"
check "user.cdm.pending is not listed through the mount" \
	sh -c "! getfattr -d -m - gpu0/x1 2>/dev/null | grep -q pending"
expect_fail "No such attribute" "nor readable" getfattr -n user.cdm.pending gpu0/x1
expect_fail "Invalid argument" "nor settable" setfattr -n user.cdm.pending -v bind:gpu0 gpu0/x1
cd /
cdm_umount
grep "stopped at exit\|not started before exit" "$LOG"
check "the daemon said it stopped the migrations" grep -q "stopped at exit" "$LOG"
for i in 1 2 3; do
	eq "x$i: still due in the store" \
		"$(getfattr --only-values -n user.cdm.pending "$STORE/gpu0/x$i" 2>&1)" "bind:cxl0"
done

echo "--- the next daemon on the store finishes them"
cdm_mount "sim=gpu0:1G,sim=cxl0:1G,migrate_batch=4K"
cd "$MNT" || exit 1
grep "resum" "$LOG"
check "the new daemon says it resumed 3" grep -q "resumed 3 migrations" "$LOG"
for i in 1 2 3; do
	check "x$i: the migration ends" wait_migration "gpu0/x$i"
	# the outcome is in the log: no lookup of the kernel's may hold it
	check "x$i: the log says done, all of it" \
		grep -q "gpu0/x$i: resumed migration done $SIZE bytes to bind:cxl0 in " "$LOG"
	eq "x$i: residency" "$(get residency "gpu0/x$i")" "cxl0=$SIZE"
	check "x$i: data unchanged" cmp "gpu0/x$i" "$WORK/ref"
	check "x$i: no longer due in the store" \
		sh -c "! getfattr -n user.cdm.pending '$STORE/gpu0/x$i' 2>/dev/null"
done
cd /
cdm_umount
finish
