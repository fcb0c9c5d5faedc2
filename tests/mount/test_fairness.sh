#!/bin/bash
# Migrations take turns by user, not only by file: while one user moves six
# big files, another user's one file gets a worker at the next turn and
# keeps it, so it is done while most of the first user's files still wait.
# (Per-file turns alone let six files take five turns out of six.)  Turns
# of 2 ms (-o migrate_turn=2) make every move take many, however fast
# this machine moves pages.  The
# order comes from each file's user.cdm.migration; where the pages are is
# checked from user.cdm.residency at the end.
. "$(dirname "$0")/lib.sh"
require_root_fuse
id nobody >/dev/null 2>&1 || skip "no user 'nobody' to migrate as"

N=6
cdm_mount "sim=gpu0:3G,sim=cxl0:3G,migrate_turn=2"
cd "$MNT" || exit 1
nb() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
state() { getfattr --only-values -n user.cdm.migration "$1"; }

# 384 MiB each
for i in $(seq $N); do
	nb dd if=/dev/zero of=gpu0/n$i bs=1M count=384 status=none ||
		not_ok "nobody writes gpu0/n$i"
done
dd if=/dev/zero of=gpu0/r bs=1M count=384 status=none

# one setfattr for all six (an exec each would let them run before root's
# is queued)
files=$(for i in $(seq $N); do echo gpu0/n$i; done)
# shellcheck disable=SC2086 # one word per file
check "nobody: setfattr bind:cxl0 on $N files" nb setfattr -n user.cdm.policy -v bind:cxl0 $files
check "root's file, queued behind nobody's $N: setfattr bind:cxl0" \
	setfattr -n user.cdm.policy -v bind:cxl0 gpu0/r
check "root's migration ends" wait_migration gpu0/r 120
waiting=0
for i in $(seq $N); do
	s=$(state gpu0/n$i)
	echo "# n$i: $s"
	case $s in idle*) ;; *) waiting=$((waiting + 1)) ;; esac
done
check_num "nobody's files not done yet when root's was" "$waiting" -ge $((N - 1))
for i in $(seq $N); do
	wait_migration gpu0/n$i 120 >/dev/null || not_ok "n$i: migration"
done
eq "root's file: residency" "$(getfattr --only-values -n user.cdm.residency gpu0/r)" "cxl0=402653184"
eq "nobody's last file: residency" "$(getfattr --only-values -n user.cdm.residency gpu0/n$N)" "cxl0=402653184"
cd /
cdm_umount
finish
