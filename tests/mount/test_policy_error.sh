#!/bin/bash
# A policy change that fails changes nothing.  Binding a file maps 16 TiB
# of it PROT_NONE for one mbind(); with the daemon's address space limited
# (prlimit --as on the running daemon) that mapping fails with ENOMEM after
# the policy passed every check.  setfattr must then fail and the file keep
# its old policy, in the store too, with no migration due.
. "$(dirname "$0")/lib.sh"
require_root_fuse
command -v prlimit >/dev/null || skip "no prlimit (util-linux) to limit the daemon's address space"

cdm_mount "sim=gpu0:1G,sim=cxl0:1G"
cd "$MNT" || exit 1
get() { getfattr --only-values -n "user.cdm.$1" "$2"; }
stored() { getfattr --only-values -n "user.cdm.$1" "$STORE/gpu0/$2" 2>&1; }

dd if=/dev/urandom of=gpu0/f bs=1M count=4 status=none
dd if=/dev/urandom of=gpu0/g bs=1M count=4 status=none
check "g gets a policy of its own" setfattr -n user.cdm.policy -v bind:gpu0 gpu0/g
check "the migration ends" wait_migration gpu0/g

vsz=$(awk '/^VmSize:/ { print $2 }' "/proc/$DAEMON_PID/status")
as=$((vsz * 1024 + (256 << 20)))
check "limit the daemon's address space (soft) to what it maps now + 256 MiB" \
	prlimit --pid "$DAEMON_PID" --as="$as:"
expect_fail "Cannot allocate memory" "setfattr bind:cxl0 on f fails: the bind cannot map" \
	setfattr -n user.cdm.policy -v bind:cxl0 gpu0/f
eq "f: user.cdm.policy is still its directory's" "$(get policy gpu0/f)" "bind:gpu0"
check "f: the store has no policy of its own for it" \
	sh -c "! getfattr -n user.cdm.policy '$STORE/gpu0/f' >/dev/null 2>&1"
check "f: no migration is due" \
	sh -c "! getfattr -n user.cdm.pending '$STORE/gpu0/f' >/dev/null 2>&1"
eq "f: user.cdm.migration" "$(get migration gpu0/f)" idle
expect_fail "Cannot allocate memory" "setfattr bind:cxl0 on g fails" \
	setfattr -n user.cdm.policy -v bind:cxl0 gpu0/g
eq "g: its own policy stands" "$(stored policy g)" "bind:gpu0"
eq "g: user.cdm.policy" "$(get policy gpu0/g)" "bind:gpu0"
expect_fail "Cannot allocate memory" "removing g's policy fails too" \
	setfattr -x user.cdm.policy gpu0/g
eq "g: its own policy stands after that" "$(stored policy g)" "bind:gpu0"
eq "residency of g: where it was" "$(get residency gpu0/g)" "gpu0=4194304"

check "lift the limit" prlimit --pid "$DAEMON_PID" --as=unlimited:
check "setfattr bind:cxl0 on f works now" setfattr -n user.cdm.policy -v bind:cxl0 gpu0/f
check "the migration ends" wait_migration gpu0/f
eq "f: residency" "$(get residency gpu0/f)" "cxl0=4194304"
cd /
cdm_umount
finish
