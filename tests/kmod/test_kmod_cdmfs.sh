#!/bin/sh
# cdmfs over the helper module: a region is a device directory; an
# unmodified program's mapping of /mnt/.../cdm0/FILE resolves (through FUSE
# passthrough) to frames inside the region; setfattr user.cdm.policy moves
# the file to system RAM and back while a writer keeps stamping it;
# residency is the module's per-page count; impossible policies are refused;
# mv to a NUMA device copies; a dead device is reported with the files that
# lost data, reads fail with EIO, and the kernel stays up; the module stays
# loaded while cdmfs uses it and unloads after.
# shellcheck source=tests/kmod/lib.sh
. "$CDMFS_SRC/tests/kmod/lib.sh"

CTL=${CDMKMCTL:-/run/vm/files/cdmkmctl}
xattr() { getfattr --only-values -n "user.cdm.$1" "$2"; }
# has TEXT PATTERN: grep -q for check
has() {
	echo "$1" | grep -q "$2" && return 0
	echo "'$1' has no '$2'"
	return 1
}

kmod_load
kmod_mount
D=$MNT/cdm0
check "cdmfs shows region cdm0 as a device directory" test -d "$D"
check "df on it shows the region's 256 MiB" sh -c "df -k '$D' | awk 'NR == 2 { exit \$2 != 262144 }'"
check "the module is held while cdmfs uses it" test "$(cat /sys/module/cdmkm/refcnt)" -ge 1
check_not "rmmod is refused while cdmfs is mounted" rmmod cdmkm

dd if=/dev/urandom of=ref bs=1M count=16 2>/dev/null
check "cp a 16 MiB file into cdm0/" cp ref "$D/f"
check "cmp reads it back" cmp ref "$D/f"
check "the data path is passthrough" has "$(xattr datapath "$D/f")" passthrough
check "an unmodified program's mapping: 4096/4096 frames inside the region" \
	kmod_frames_are "$D/f" "region 4096 ram 0"
echo "     frames: $(kmod_frames "$D/f")"
check "residency: cdm0=16777216" test "$(xattr residency "$D/f")" = "cdm0=16777216"
check "policy: bind:cdm0" test "$(xattr policy "$D/f")" = "bind:cdm0"
check "du counts its 16 MiB (st_blocks)" test "$(du -k "$D/f" | cut -f1)" = 16384
du -k "$D/f" "$CDM_STORE/cdm0/f" | sed 's/^/     du: /'

# ---- refused, and nothing changes ---------------------------------------
check_not "interleave across the region is refused" setfattr -n user.cdm.policy -v interleave:cdm0,node1 "$D/f"
check "... with EINVAL" sh -c "setfattr -n user.cdm.policy -v interleave:cdm0,node1 '$D/f' 2>&1 | grep -q 'Invalid argument'"
echo x >"$MNT/node1/n"
check_not "a node1 file cannot bind to the region" setfattr -n user.cdm.policy -v bind:cdm0 "$MNT/node1/n"
check "policies unchanged" test "$(xattr policy "$D/f") $(xattr policy "$MNT/node1/n")" = "bind:cdm0 bind:node1"
check "frames unchanged" kmod_frames_are "$D/f" "region 4096 ram 0"

# ---- to RAM and back under a writer -------------------------------------
PAGES=8192
dd if=/dev/zero of="$D/w" bs=1M count=32 2>/dev/null
stamper "$D/w" >stamper.out 2>stamper.err &
wpid=$!
check "the writer stamps" wait_stamp "$D/w" 3
check "setfattr bind:node2 while the writer runs" setfattr -n user.cdm.policy -v bind:node2 "$D/w"
out=$(wait_migration "$D/w")
check "the migration finished: $out" sh -c "echo '$out' | grep -q '^done\\|last: done'"
s=$(stamp_of "$D/w")
check "the writer goes on" wait_stamp "$D/w" $((s + 2))
check "8192/8192 pages left the region for RAM" kmod_frames_are "$D/w" "region 0 ram 8192"
check "move_pages: all 8192 on node2" has "$(kmod_frames "$D/w")" " node2=8192\$"
r=$(xattr residency "$D/w")
check "residency: node2=33554432 ($r)" has "$r" "node2=33554432"
check_not "residency: nothing in cdm0" has "$r" "cdm0=[1-9]"
check_num "drift 0" "$(xattr drift "$D/w")" -eq 0
check "setfattr bind:cdm0: back to the device" setfattr -n user.cdm.policy -v bind:cdm0 "$D/w"
out=$(wait_migration "$D/w")
echo "     $out"
s=$(stamp_of "$D/w")
check "the writer goes on" wait_stamp "$D/w" $((s + 2))
check "8192/8192 pages back in the region" kmod_frames_are "$D/w" "region 8192 ram 0"
check "residency: cdm0=33554432" test "$(xattr residency "$D/w")" = "cdm0=33554432"
writer_stop "$D/w" "$wpid"

# ---- mv between a region and a NUMA node copies --------------------------
check "mv cdm0/f node1/ (a copy: the region is its own filesystem)" mv "$D/f" "$MNT/node1/f"
check "the data came along" cmp ref "$MNT/node1/f"
check "pagenodes: its pages are on node1" pagenodes "$MNT/node1/f" 1
check_not "cdm0/f is gone" test -e "$D/f"

# ---- a dead device --------------------------------------------------------
dd if=/dev/urandom of="$D/d" bs=1M count=4 2>/dev/null
out=$("$CTL" fail cdm0 dead)
check "cdmkmctl fail cdm0 dead: $out" sh -c "echo '$out' | grep -q 'lost=[1-9]'"
for _ in $(seq 60); do grep -q "cdm0/d lost" "$CDM_LOG" && break; sleep 0.1; done
grep 'device cdm0' "$CDM_LOG" | sed 's/^/     daemon: /'
check "the daemon names the file that lost data" grep -q "device cdm0: cdm0/d lost 4194304 bytes" "$CDM_LOG"
check_not "reading it through cdmfs fails" cat "$D/d"
check "... with EIO" sh -c "cat '$D/d' 2>&1 >/dev/null | grep -q 'Input/output error'"
check "residency shows lost=4194304" has "$(xattr residency "$D/d")" "lost=4194304"
check "other devices keep working" cmp ref "$MNT/node1/f"

cdm_umount
kmod_unload
kmod_finish
