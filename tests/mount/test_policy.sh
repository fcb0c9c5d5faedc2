#!/bin/bash
# user.cdm.policy and friends on simulated devices.  This machine has one
# NUMA node, so placement here is logical only (simulated devices are host
# RAM): these checks cover the interface, inheritance, permissions,
# capacity, persistence and that no write is lost while a file migrates.
# That pages really move between nodes is proved by the vm suite.
. "$(dirname "$0")/lib.sh"
require_root_fuse
here=$(cd "$(dirname "$0")" && pwd)

cdm_mount "sim=gpu0:64M,sim=cxl0:32M"
echo "datapath: $CDMFS_DATAPATH; placement is logical (simulated devices)"
cd "$MNT" || exit 1
get() { getfattr --only-values -n "user.cdm.$1" "$2"; }

dd if=/dev/urandom of=gpu0/f bs=1M count=8 status=none
cp gpu0/f "$WORK/ref"
eq "default policy: the device's" "$(get policy gpu0/f)" "bind:gpu0"
eq "residency before" "$(get residency gpu0/f)" "gpu0=8388608"
eq "migration before" "$(get migration gpu0/f)" "idle"
check "setfattr bind:cxl0" setfattr -n user.cdm.policy -v bind:cxl0 gpu0/f
eq "policy after" "$(get policy gpu0/f)" "bind:cxl0"
check "the migration ends" wait_migration gpu0/f
eq "residency after" "$(get residency gpu0/f)" "cxl0=8388608"
check "migration reports the move" sh -c "getfattr --only-values -n user.cdm.migration gpu0/f | grep -q '^idle, last: done 8388608 bytes to bind:cxl0'"
check "data unchanged" cmp gpu0/f "$WORK/ref"
eq "stored with the backing inode" "$(getfattr --only-values -n user.cdm.policy "$STORE/gpu0/f")" "bind:cxl0"
check "listed, so cp -a carries it" sh -c "getfattr -d gpu0/f 2>/dev/null | grep -q '^user.cdm.policy='"

# bad values: the right error, and nothing changes
for v in "" "bind" "bind:" "bind:gpu0,cxl0" "tier:gpu0" "interleave:gpu0,gpu0" "bind: gpu0"; do
	expect_fail "Invalid argument" "malformed '$v' is EINVAL" setfattr -n user.cdm.policy -v "$v" gpu0/f
done
expect_fail "No such device" "unknown device is ENODEV" setfattr -n user.cdm.policy -v bind:node9 gpu0/f
expect_fail "not permitted" "no policy on the root" setfattr -n user.cdm.policy -v bind:gpu0 "$MNT"
# tiered needs two NUMA tiers: simulated devices have no placement to tier
for v in "tiered:gpu0,cxl0" "tiered:cxl0,cxl0" "tiered:gpu0,node9" "tiered:gpu0,cxl0,budget=0"; do
	expect_fail "Invalid argument" "'$v' is EINVAL" setfattr -n user.cdm.policy -v "$v" gpu0/f
done
check "the log says why a tiered policy was refused" \
	grep -q "policy 'tiered:gpu0,cxl0' refused: a tiered device must be a NUMA node" "$LOG"
check "and names FAST = SLOW" grep -q "policy 'tiered:cxl0,cxl0' refused: FAST and SLOW are the same device" "$LOG"
expect_fail "Invalid argument" "nor on a directory" setfattr -n user.cdm.policy -v tiered:gpu0,cxl0 gpu0
eq "policy unchanged after bad input" "$(get policy gpu0/f)" "bind:cxl0"
eq "residency unchanged after bad input" "$(get residency gpu0/f)" "cxl0=8388608"
for a in residency migration drift datapath; do
	expect_fail "not permitted" "user.cdm.$a is read-only" setfattr -n "user.cdm.$a" -v x gpu0/f
done

# inherit and removal fall back to the device directory
check "setfattr inherit" setfattr -n user.cdm.policy -v inherit gpu0/f
eq "back to the device's policy" "$(get policy gpu0/f)" "bind:gpu0"
wait_migration gpu0/f >/dev/null
eq "residency back" "$(get residency gpu0/f)" "gpu0=8388608"
setfattr -n user.cdm.policy -v interleave:gpu0,cxl0 gpu0/f
check "setfattr -x drops the file's own policy" setfattr -x user.cdm.policy gpu0/f
eq "policy after removal" "$(get policy gpu0/f)" "bind:gpu0"
check "the migration ends" wait_migration gpu0/f

# directories pass their policy to what is created in them
mkdir gpu0/d
check "policy on a directory" setfattr -n user.cdm.policy -v interleave:gpu0,cxl0 gpu0/d
echo x >gpu0/d/file
mkdir gpu0/d/sub && echo y >gpu0/d/sub/file
eq "new file inherits" "$(get policy gpu0/d/file)" "interleave:gpu0,cxl0"
eq "new subdirectory inherits" "$(get policy gpu0/d/sub)" "interleave:gpu0,cxl0"
eq "and passes it on" "$(get policy gpu0/d/sub/file)" "interleave:gpu0,cxl0"
check "device directory policy" setfattr -n user.cdm.policy -v bind:cxl0 gpu0
echo z >gpu0/plain
eq "a file without its own follows its device directory" "$(get policy gpu0/plain)" "bind:cxl0"
setfattr -n user.cdm.policy -v inherit gpu0

# only the owner or root changes placement
if id nobody >/dev/null 2>&1; then
	nb="setpriv --reuid=65534 --regid=65534 --clear-groups"
	chmod 0666 gpu0/f
	expect_fail "not permitted" "another user cannot move root's file" $nb setfattr -n user.cdm.policy -v bind:cxl0 "$MNT/gpu0/f"
	eq "unchanged" "$(get policy gpu0/f)" "bind:gpu0"
	$nb sh -c "echo mine >'$MNT/gpu0/nob'"
	check "the owner can" $nb setfattr -n user.cdm.policy -v bind:cxl0 "$MNT/gpu0/nob"
fi

# capacity: a bound device refuses what does not fit, nothing changes
dd if=/dev/zero of=gpu0/big bs=1M count=40 status=none
expect_fail "No space" "migrating 40 MiB to a 32 MiB device" setfattr -n user.cdm.policy -v bind:cxl0 gpu0/big
eq "policy unchanged after ENOSPC" "$(get policy gpu0/big)" "bind:gpu0"
expect_fail "No space" "fallocate beyond the device" fallocate -l 100M cxl0/fa
# a truncate makes a hole, as on tmpfs: no ENOSPC for what takes no memory
check "a sparse truncate beyond the device is allowed" truncate -s 1G cxl0/t
eq "and takes no memory (blocks)" "$(stat -c %b cxl0/t)" 0
rm -f cxl0/t
expect_fail "No space" "mv to a device without room" mv gpu0/big cxl0/big
check "the file stayed" test -f gpu0/big
free_kb=$(df --output=avail cxl0 | tail -1 | tr -d ' ')
check "df cxl0 still sane ($free_kb K free)" [ "$free_kb" -gt 0 -a "$free_kb" -le 32768 ]
rm -f gpu0/big

# no write lost while a file migrates back and forth under a writer (each
# policy supersedes the one before while it runs)
dd if=/dev/zero of=gpu0/w bs=1M count=16 status=none
python3 "$here/stamper.py" gpu0/w 3 &
wpid=$!
sleep 0.3
for p in bind:cxl0 bind:gpu0 interleave:gpu0,cxl0 bind:cxl0; do
	setfattr -n user.cdm.policy -v "$p" gpu0/w || not_ok "setfattr $p under a writer"
done
check "the last migration ends" wait_migration gpu0/w
for p in bind:gpu0 bind:cxl0; do
	setfattr -n user.cdm.policy -v "$p" gpu0/w || not_ok "setfattr $p under a writer"
	wait_migration gpu0/w >/dev/null || not_ok "migration to $p under a writer"
done
wait "$wpid"
eq "writer saw every stamp it wrote (exit status)" "$?" 0
eq "residency after the dance" "$(get residency gpu0/w)" "cxl0=16777216"

# the policy lives as long as the file: restart the daemon, store kept
cd /
cdm_umount
cdm_mount "sim=gpu0:64M,sim=cxl0:32M"
eq "policy survives a daemon restart" "$(get policy "$MNT/gpu0/w")" "bind:cxl0"
eq "directory policy too" "$(get policy "$MNT/gpu0/d")" "interleave:gpu0,cxl0"
cdm_umount
finish
