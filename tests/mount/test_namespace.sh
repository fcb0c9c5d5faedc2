#!/bin/bash
# tmpfs semantics through cdmfs with unmodified tools: create, read, write,
# truncate, fallocate, unlink, rename within and across devices, mkdir,
# rmdir, readdir, chmod, chown, utimens, symlink, readlink, link, fsync,
# statfs per device, the root's rules, and another user via allow_other.
. "$(dirname "$0")/lib.sh"
require_root_fuse

cdm_mount "sim=gpu0:64M,sim=cxl0:32M"
cd "$MNT" || exit 1
echo "datapath: $CDMFS_DATAPATH"

eq "root lists the device directories only" "$(ls "$MNT" | sort | tr '\n' ' ')" "cxl0 gpu0 host "
mkdir "$STORE/stray" 2>/dev/null
eq "a store directory that is no device stays hidden" "$(ls "$MNT" | grep -c stray)" 0
check "device dirs are sticky and world-writable" sh -c "[ \"\$(stat -c %a gpu0)\" = 1777 ]"

dd if=/dev/urandom of="$WORK/ref" bs=1k count=3000 status=none
check "cp into a device" cp "$WORK/ref" gpu0/a
check "cmp after cp" cmp "$WORK/ref" gpu0/a
check "dd conv=fsync" dd if="$WORK/ref" of=gpu0/b bs=64k conv=fsync status=none
check "cat round trip" sh -c "cat gpu0/b | cmp - '$WORK/ref'"
printf 'hello' >gpu0/app
printf ' world' >>gpu0/app
eq "append with >>" "$(cat gpu0/app)" "hello world"
check "truncate -s grows" truncate -s 1M gpu0/b
eq "size after truncate" "$(stat -c %s gpu0/b)" 1048576
check "truncate -s shrinks" truncate -s 100 gpu0/b
check "data before the cut kept" sh -c "head -c 100 '$WORK/ref' | cmp - gpu0/b"
check "fallocate" fallocate -l 4M gpu0/fa
eq "fallocated blocks" "$(( $(stat -c %b gpu0/fa) * 512 ))" 4194304
check "fallocate --punch-hole" fallocate -p -o 0 -l 1M gpu0/fa
eq "blocks after punch" "$(( $(stat -c %b gpu0/fa) * 512 ))" 3145728

check "mkdir" mkdir -p gpu0/d/e/f
check "readdir of nested dirs" sh -c "[ \"\$(ls gpu0/d/e)\" = f ]"
for i in $(seq 300); do : >"gpu0/d/many.$i"; done
eq "readdir of 300 entries" "$(ls gpu0/d | grep -c '^many')" 300
check "rm -r" rm -r gpu0/d
check "rmdir of an empty dir" sh -c "mkdir gpu0/x && rmdir gpu0/x"
expect_fail "not empty" "rmdir of a non-empty dir" sh -c "mkdir -p gpu0/y/z && rmdir gpu0/y"

check "rename within a device" mv gpu0/a gpu0/a2
check "renamed content" cmp gpu0/a2 "$WORK/ref"
ino=$(stat -c %i gpu0/a2)
check "mv across devices" mv gpu0/a2 cxl0/a3
eq "same inode after mv across devices" "$(stat -c %i cxl0/a3)" "$ino"
check "content after mv across devices" cmp cxl0/a3 "$WORK/ref"
check "mv of a directory across devices (copied by mv)" sh -c "mkdir -p gpu0/dd && echo x >gpu0/dd/f && mv gpu0/dd cxl0/ && [ \"\$(cat cxl0/dd/f)\" = x ]"

check "chmod" chmod 0640 gpu0/app
eq "mode" "$(stat -c %a gpu0/app)" 640
check "chown" chown 65534:65534 gpu0/app
eq "owner" "$(stat -c %u:%g gpu0/app)" "65534:65534"
check "touch -d (utimens)" touch -d "2001-02-03 04:05:06 UTC" gpu0/app
eq "mtime" "$(stat -c %Y gpu0/app)" 981173106
check "ln -s" ln -s app2 gpu0/sym
eq "readlink" "$(readlink gpu0/sym)" app2
check "ln (hard link)" ln gpu0/b gpu0/b.link
eq "link count" "$(stat -c %h gpu0/b)" 2
expect_fail "cross-device" "hard link across devices is refused" ln gpu0/b cxl0/b.link
check "unlink" rm gpu0/b.link
eq "link count after unlink" "$(stat -c %h gpu0/b)" 1
check "mknod fifo" mkfifo gpu0/fifo
check "fifo type" test -p gpu0/fifo

# the root holds the device directories only
expect_fail "not permitted" "no file at the root" touch "$MNT/file"
expect_fail "not permitted" "no directory at the root" mkdir "$MNT/dir"
expect_fail "busy" "device dirs cannot be removed" rmdir "$MNT/gpu0"
expect_fail "not permitted" "device dirs cannot be renamed" mv "$MNT/gpu0" "$MNT/gpu1"
expect_fail "No such file" "unknown device" ls "$MNT/nodev"

# df per device directory
eq "df gpu0 size (1K blocks)" "$(df --output=size gpu0 | tail -1 | tr -d ' ')" 65536
eq "df cxl0 size (1K blocks)" "$(df --output=size cxl0 | tail -1 | tr -d ' ')" 32768
dd if=/dev/zero of=cxl0/fill bs=1M count=8 status=none
used=$(df --output=used cxl0 | tail -1 | tr -d ' ')
check "df cxl0 counts what is stored there ($used K)" [ "$used" -ge 8192 -a "$used" -lt 16384 ]
host_kb=$(df --output=size host | tail -1 | tr -d ' ')
node_kb=$(awk '/MemTotal/ {s += $4} END {print s}' /sys/devices/system/node/node*/meminfo)
eq "df host is the DRAM nodes' MemTotal" "$host_kb" "$node_kb"

# another user, through allow_other and default_permissions
if id nobody >/dev/null 2>&1; then
	check "nobody creates in a device dir" setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo hi >'$MNT/gpu0/nob' && cat '$MNT/gpu0/nob' >/dev/null"
	eq "owner of nobody's file" "$(stat -c %u:%g gpu0/nob)" "65534:65534"
	eq "owner in the store too" "$(stat -c %u:%g "$STORE/gpu0/nob")" "65534:65534"
	chmod 0600 gpu0/a3 2>/dev/null; chmod 0600 cxl0/a3
	expect_fail "denied" "nobody cannot read root's 0600 file" setpriv --reuid=65534 --regid=65534 --clear-groups cat "$MNT/cxl0/a3"
	expect_fail "not permitted" "sticky dir: nobody cannot remove root's file" setpriv --reuid=65534 --regid=65534 --clear-groups rm -f "$MNT/gpu0/fa"
else
	echo "note: no 'nobody' user; other-user checks not run"
fi

cd /
cdm_umount
finish
