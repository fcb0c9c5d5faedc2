#!/bin/bash
# Zero copy: an unmodified program's mapping of a cdmfs file uses the very
# page frames of the backing shmem object (from /proc/PID/pagemap), and
# heavy mmap, read() and write() traffic sends no READ or WRITE request to
# the daemon (user.cdm.stats).  With -o nopassthrough both must flip, which
# shows that the checks can fail.
. "$(dirname "$0")/lib.sh"
require_root_fuse
here=$(dirname "$0")

stat_of() { getfattr --only-values -n user.cdm.stats "$MNT" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

cdm_mount
f=$MNT/host/zc
dd if=/dev/urandom of="$f" bs=1M count=8 status=none
datapath=$(getfattr --only-values -n user.cdm.datapath "$f")
echo "datapath: $datapath"
eq "user.cdm.datapath" "$datapath" "$CDMFS_DATAPATH"

python3 "$here/pagemap.py" "$f" >"$WORK/app.pfn"
python3 "$here/pagemap.py" "$STORE/host/zc" >"$WORK/backing.pfn"
total=$(wc -l <"$WORK/app.pfn")
same=$(paste -d' ' "$WORK/app.pfn" "$WORK/backing.pfn" | awk '$1 != "-" && $1 != "0" && $1 == $2' | wc -l)
echo "zero-copy: $same/$total pages of the app's mapping are the backing object's frames"
eq "pages counted" "$total" 2048
if [ "$CDMFS_DATAPATH" = passthrough ]; then
	check "app frames == backing frames ($same/$total)" [ "$same" = "$total" -a "$total" -gt 0 ]
else
	eq "daemon path: app frames are page-cache copies" "$same" 0
fi

# the app's mapping carries the backing object's NUMA policy
policy=$(python3 -c '
import mmap, sys
f = open(sys.argv[1], "r+b"); m = mmap.mmap(f.fileno(), 0); m[0] = m[0]
for l in open("/proc/self/numa_maps"):
    if sys.argv[1] in l: print(l.split()[1])
' "$f")
echo "app numa_maps policy: $policy"
if [ "$CDMFS_DATAPATH" = passthrough ]; then
	case $policy in bind:*) ok "app mapping shows the device binding ($policy)";;
		*) not_ok "app mapping policy '$policy', expected bind:N";; esac
fi

# killpriv_v2 -> SB_NOSEC: small writes do not ask for security.capability
x0=$(stat_of getxattr)
dd if=/dev/zero of="$MNT/host/tiny" bs=4k count=4096 conv=notrunc status=none
x1=$(stat_of getxattr)
echo "GETXATTR requests during 4096 4 KiB writes: $((x1 - x0))"
check "small writes cost no getxattr round trip each" [ "$((x1 - x0))" -lt 16 ]

r0=$(stat_of read); w0=$(stat_of write)
dd if=/dev/zero of="$MNT/host/big" bs=1M count=64 status=none
dd if="$MNT/host/big" of=/dev/null bs=1M status=none
dd if=/dev/zero of="$MNT/host/small" bs=4k count=4096 status=none
cat "$MNT/host/small" >/dev/null
python3 - "$MNT/host/big" <<'PY'
import mmap, sys
f = open(sys.argv[1], "r+b")
m = mmap.mmap(f.fileno(), 0)
for off in range(0, len(m), 4096):
    m[off] = 0x5a
s = sum(m[off] for off in range(0, len(m), 4096))
assert s == 0x5a * (len(m) // 4096), s
PY
check "mmap writes visible through read()" sh -c "[ \"\$(head -c1 '$MNT/host/big' | od -An -tx1 | tr -d ' ')\" = 5a ]"
r1=$(stat_of read); w1=$(stat_of write)
echo "daemon READ requests: $((r1 - r0)), WRITE requests: $((w1 - w0)) during 64 MiB write+read, 16 MiB 4k writes+read, 64 MiB mmap"
if [ "$CDMFS_DATAPATH" = passthrough ]; then
	eq "no READ request reached the daemon" "$((r1 - r0))" 0
	eq "no WRITE request reached the daemon" "$((w1 - w0))" 0
else
	check "daemon served READ requests" [ "$((r1 - r0))" -gt 0 ]
	check "daemon served WRITE requests" [ "$((w1 - w0))" -gt 0 ]
fi
cdm_umount
finish
