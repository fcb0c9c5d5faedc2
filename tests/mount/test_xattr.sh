#!/bin/bash
# The xattr interface: computed user.cdm.* attributes are right, read-only
# and unlisted; every other attribute is stored like tmpfs stores it.
. "$(dirname "$0")/lib.sh"
require_root_fuse

cdm_mount "sim=gpu0:64M,alias=host:dram"
echo "datapath: $CDMFS_DATAPATH"
devs=$(getfattr --only-values -n user.cdm.devices "$MNT")
printf '%s\n' "$devs"
check "devices: gpu0 is simulated, 64 MiB" sh -c "printf '%s\n' '$devs' | grep -q '^gpu0 kind=sim .*size=67108864 .*simulated=yes'"
check "devices: the host (aliased dram) is real" sh -c "printf '%s\n' '$devs' | grep -q '^dram kind=host backend=numa nodes=0.*simulated=no'"
node0_total=$(( $(awk '/MemTotal/ {print $4}' /sys/devices/system/node/node0/meminfo) * 1024 ))
check "devices: host size is node0's MemTotal" sh -c "printf '%s\n' '$devs' | grep -q 'size=$node0_total '"
check "alias renames the directory" test -d "$MNT/dram"

echo data >"$MNT/gpu0/f"
eq "datapath of a file" "$(getfattr --only-values -n user.cdm.datapath "$MNT/gpu0/f")" "$CDMFS_DATAPATH"
expect_fail "No such attribute" "no datapath on a directory" getfattr -n user.cdm.datapath "$MNT/gpu0"

stats=$(getfattr --only-values -n user.cdm.stats "$MNT")
echo "stats: $stats"
for k in read write lookup create getattr passthrough_opens passthrough_fallbacks; do
	check "stats has $k" sh -c "printf '%s' '$stats' | tr ' ' '\n' | grep -q '^$k=[0-9][0-9]*$'"
done

expect_fail "not permitted" "user.cdm.stats is read-only" setfattr -n user.cdm.stats -v 1 "$MNT"
expect_fail "not permitted" "user.cdm.datapath is read-only" setfattr -n user.cdm.datapath -v daemon "$MNT/gpu0/f"
expect_fail "not permitted" "user.cdm.datapath cannot be removed" setfattr -x user.cdm.datapath "$MNT/gpu0/f"
expect_fail "Invalid argument" "unknown user.cdm.* attribute" setfattr -n user.cdm.bogus -v 1 "$MNT/gpu0/f"
eq "cdm attributes are not listed" "$(getfattr -d -m - "$MNT/gpu0/f" | grep -c user.cdm)" 0

check "setfattr user.* on a file" setfattr -n user.app -v hello "$MNT/gpu0/f"
eq "getfattr user.*" "$(getfattr --only-values -n user.app "$MNT/gpu0/f")" hello
eq "stored on the backing file" "$(getfattr --only-values -n user.app "$STORE/gpu0/f")" hello
check "listed" sh -c "getfattr -d '$MNT/gpu0/f' | grep -q '^user.app='"
check "setfattr user.* on a directory" setfattr -n user.dir -v 1 "$MNT/gpu0"
check "XATTR_CREATE on an existing name fails" sh -c "! python3 -c 'import os; os.setxattr(\"$MNT/gpu0/f\", \"user.app\", b\"x\", os.XATTR_CREATE)' 2>/dev/null"
check "remove user.*" setfattr -x user.app "$MNT/gpu0/f"
expect_fail "No such attribute" "removed attribute is gone" getfattr -n user.app "$MNT/gpu0/f"
check "trusted.* as root" setfattr -n trusted.t -v 1 "$MNT/gpu0/f"
eq "trusted.* read back" "$(getfattr --only-values -n trusted.t "$MNT/gpu0/f")" 1
check "security.* as root" setfattr -n security.s -v 1 "$MNT/gpu0/f"
if id nobody >/dev/null 2>&1; then
	chmod 0666 "$MNT/gpu0/f"
	expect_fail "not permitted" "nobody cannot set trusted.*" setpriv --reuid=65534 --regid=65534 --clear-groups setfattr -n trusted.x -v 1 "$MNT/gpu0/f"
	expect_fail "denied\|not permitted" "nobody cannot set user.* on root's 0644 file" sh -c "chmod 0644 '$MNT/gpu0/f'; setpriv --reuid=65534 --regid=65534 --clear-groups setfattr -n user.x -v 1 '$MNT/gpu0/f'"
fi
check "cp -a keeps user.* and not the computed ones" sh -c "setfattr -n user.keep -v 1 '$MNT/gpu0/f' && cp -a '$MNT/gpu0/f' '$MNT/dram/g' && [ \"\$(getfattr --only-values -n user.keep '$MNT/dram/g')\" = 1 ]"
cdm_umount
finish
