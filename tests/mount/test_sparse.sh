#!/bin/bash
# A sparse file with a TiB-scale size costs what its data costs: an
# unprivileged user writes one byte at 64 TiB; user.cdm.residency and
# user.cdm.drift answer within seconds (they walk the data extents, not
# 16 billion page slots), a migration of it is done at once, and two such
# files migrating do not keep another user's migration waiting.
. "$(dirname "$0")/lib.sh"
require_root_fuse
id nobody >/dev/null 2>&1 || skip "no user 'nobody' to write as"

cdm_mount "sim=gpu0:1G,sim=cxl0:1G"
cd "$MNT" || exit 1
get() { getfattr --only-values -n "user.cdm.$1" "$2"; }
matches() { [[ $2 == $1 ]]; }
nb() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
TIB64=$((64 << 40))

# one byte at 64 TiB, no truncate (conv=notrunc): a seek and a write
sparse() {
	printf x | nb dd of="$1" bs=1 seek=$TIB64 conv=notrunc status=none
}

check "nobody writes one byte at 64 TiB" sparse gpu0/s1
eq "size (kernel's stat)" "$(stat -c %s gpu0/s1)" $((TIB64 + 1))
eq "blocks: one page" "$(stat -c %b gpu0/s1)" 8

t0=$(date +%s.%N)
r=$(timeout -k 2 10 setpriv --reuid=65534 --regid=65534 --clear-groups \
	getfattr --only-values -n user.cdm.residency gpu0/s1)
rc=$?
t1=$(date +%s.%N)
echo "residency in $(awk "BEGIN { print $t1 - $t0 }") s: $r"
eq "user.cdm.residency of it returns within 10 s (status)" "$rc" 0
eq "and counts its one page" "$r" "gpu0=4096"
d=$(timeout -k 2 10 getfattr --only-values -n user.cdm.drift gpu0/s1)
eq "user.cdm.drift returns within 10 s" "$?:$d" "0:0"

echo "--- its migration is done at once"
check "nobody moves it: setfattr bind:cxl0" \
	timeout -k 2 10 setpriv --reuid=65534 --regid=65534 --clear-groups \
	setfattr -n user.cdm.policy -v bind:cxl0 gpu0/s1
check "the migration ends within 10 s" wait_migration gpu0/s1 10
check "done, its one page ($(get migration gpu0/s1))" \
	matches "idle, last: done 4096 bytes to bind:cxl0 in *" "$(get migration gpu0/s1)"
eq "residency" "$(timeout -k 2 10 getfattr --only-values -n user.cdm.residency gpu0/s1)" "cxl0=4096"
eq "the byte is there" "$(nb dd if=gpu0/s1 bs=1 skip=$TIB64 count=1 status=none)" x

echo "--- two such files migrating keep no other user's migration waiting"
check "a second sparse file" sparse gpu0/s2
check "a third" sparse gpu0/s3
dd if=/dev/urandom of=gpu0/dense bs=1M count=16 status=none
for f in s2 s3; do
	nb setfattr -n user.cdm.policy -v bind:cxl0 "gpu0/$f" || not_ok "setfattr $f"
done
check "root's file: setfattr bind:cxl0" setfattr -n user.cdm.policy -v bind:cxl0 gpu0/dense
for f in s2 s3 dense; do
	check "$f: the migration ends within 10 s" wait_migration "gpu0/$f" 10
done
eq "dense: residency" "$(get residency gpu0/dense)" "cxl0=16777216"
eq "s3: residency" "$(get residency gpu0/s3)" "cxl0=4096"
cd /
cdm_umount
finish
