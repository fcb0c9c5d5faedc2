#!/bin/bash
# A device's capacity (doc/capacity.md), asked of the kernel (st_blocks of
# the backing files, statfs of the store, /proc/vmstat), on simulated
# devices:
# - growth tmpfs allows is allowed: a sparse truncate far beyond the
#   device, an LMDB-style ftruncate to the map size (no ENOSPC);
# - fallocate counts only what the range lacks;
# - a full device takes no new file (ENOSPC), an existing one still opens;
# - df tells the truth: a device overfilled through an unbounded store
#   (-o store=) shows all it holds;
# - mv across devices over an existing file replaces it (same inode);
# - -o reserve: 16 concurrent ftruncates never together take more than the
#   device has (the check and the allocation were not atomic);
# - the daemon's own store is bounded (the host's backstop): dd of 1 GiB
#   into a 64M device gets ENOSPC, a mapping faulting past it SIGBUS, and
#   nobody is OOM-killed.
. "$(dirname "$0")/lib.sh"
require_root_fuse

blocks() { stat -c %b "$1"; }		# 512-byte blocks allocated
used_kb() { df -k --output=used "$1" | tail -n1 | tr -d ' '; }
avail_kb() { df -k --output=avail "$1" | tail -n1 | tr -d ' '; }

cdm_mount "sim=gpu0:64M,sim=cxl0:64M"
echo "datapath: $CDMFS_DATAPATH"
cd "$MNT" || exit 1

echo "# sparse growth, as tmpfs allows it"
check "truncate -s 4G on a 64M device" truncate -s 4G gpu0/sparse
eq "size" "$(stat -c %s gpu0/sparse)" 4294967296
eq "no memory taken (backing blocks)" "$(blocks "$STORE/gpu0/sparse")" 0
check "LMDB-style: ftruncate to a 1 GiB map, write 3 pages through it" python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 1 << 30)
m = mmap.mmap(fd, 1 << 30)
for off in (0, 512 << 20, (1 << 30) - 4096):
    m[off:off + 4] = b"lmdb"
m.close()
' gpu0/data.mdb
eq "which took 3 pages (backing blocks)" "$(blocks "$STORE/gpu0/data.mdb")" 24
rm -f gpu0/sparse gpu0/data.mdb

echo "# fallocate counts the range's holes only"
check "fallocate -l 40M" fallocate -l 40M gpu0/fa
check "fallocate -l 40M again, same range: nothing new" fallocate -l 40M gpu0/fa
eq "40 MiB allocated (backing blocks)" "$(blocks "$STORE/gpu0/fa")" 81920
check "fallocate -o 32M -l 16M: 8 MiB new of 24 free" fallocate -o 32M -l 16M gpu0/fa
expect_fail "No space" "fallocate -o 48M -l 32M: 32 MiB new of 16 free" \
	fallocate -o 48M -l 32M gpu0/fa
eq "size unchanged after ENOSPC" "$(stat -c %s gpu0/fa)" 50331648

echo "# a full device takes no new file"
check "fill gpu0: fallocate the last 16 MiB" fallocate -o 48M -l 16M gpu0/fa
eq "df gpu0: nothing available (KiB)" "$(avail_kb gpu0)" 0
expect_fail "No space" "touch gpu0/new" touch gpu0/new
expect_fail "No space" "shell redirection > gpu0/new" sh -c ': > gpu0/new'
expect_fail "No space" "mknod(S_IFREG) gpu0/new" python3 -c '
import os, stat, sys
os.mknod(sys.argv[1], 0o644 | stat.S_IFREG)
' gpu0/new
expect_fail "No space" "open(O_TMPFILE) in gpu0" python3 -c '
import os, sys
os.close(os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR, 0o600))
' gpu0
check "no gpu0/new was left" test ! -e gpu0/new
check "an existing file opens with O_CREAT (>>)" sh -c ': >> gpu0/fa'
check "mkdir still works (no memory)" mkdir gpu0/dir
check "the other device takes new files" touch cxl0/new
check "after rm, gpu0 takes new files again" sh -c 'rm gpu0/fa && touch gpu0/new'
rm -rf gpu0/new gpu0/dir cxl0/new

echo "# df tells the truth"
# this test's store (-o store=) is an unbounded tmpfs: nothing in the
# kernel stops passthrough writes past a simulated device's size
dd if=/dev/zero of=gpu0/over bs=1M count=100 status=none
u=$(used_kb gpu0)
check "df gpu0 Used shows the 100 MiB it holds ($u KiB)" [ "$u" -ge 102400 ]
eq "df gpu0 Avail (KiB)" "$(avail_kb gpu0)" 0
# a simulated device's use is a walk of its files: a create trusts the
# last one for a second (capacity.c), and passthrough writes are not seen
sleep 1.1
expect_fail "No space" "and it takes no new file" touch gpu0/new2
rm -f gpu0/over
eq "df gpu0 Used after rm (KiB)" "$(used_kb gpu0)" 0

echo "# mv across devices over an existing file (exchanged aside until the move is sure)"
echo src >gpu0/src
echo dst >cxl0/dst
ino=$(stat -c %i gpu0/src)
check "mv gpu0/src cxl0/dst" mv gpu0/src cxl0/dst
eq "cxl0/dst is the moved inode" "$(stat -c %i cxl0/dst)" "$ino"
eq "with its content" "$(cat cxl0/dst)" src
check "gpu0/src is gone, in the store too" test ! -e gpu0/src -a ! -e "$STORE/gpu0/src"
eq "the store holds one file in cxl0" "$(ls "$STORE/cxl0")" dst
rm -f cxl0/dst
cd /
cdm_umount

echo "# -o reserve: concurrent truncates reserve atomically"
cdm_mount "sim=gpu0:64M,reserve"
over=$(python3 - "$MNT/gpu0" "$STORE/gpu0" <<'EOF'
import os, sys, threading
mnt, store = sys.argv[1:]
over = 0
for trial in range(20):
    go = threading.Barrier(16)
    def grow(i):
        fd = os.open(os.path.join(mnt, "t%d" % i), os.O_RDWR | os.O_CREAT, 0o644)
        go.wait()
        try:
            os.ftruncate(fd, 16 << 20)
        except OSError:
            pass
        os.close(fd)
    ts = [threading.Thread(target=grow, args=(i,)) for i in range(16)]
    for t in ts: t.start()
    for t in ts: t.join()
    # the kernel's count, on the backing files
    total = sum(os.stat(os.path.join(store, "t%d" % i)).st_blocks * 512
                for i in range(16))
    if total > 64 << 20:
        over += 1
        print("trial %d: %d MiB allocated on a 64 MiB device" % (trial, total >> 20),
              file=sys.stderr)
    for i in range(16):
        os.unlink(os.path.join(mnt, "t%d" % i))
print(over)
EOF
)
eq "trials (of 20) where 16 ftruncates of 16 MiB overcommitted the 64 MiB device" "$over" 0
cdm_umount

echo "# the daemon's own store is bounded: the host's backstop"
# no -o store=: the daemon mounts a tmpfs of its own under /run/cdmfs
OWN_STORE=
own_cleanup() {
	cleanup
	[ -n "$OWN_STORE" ] && mountpoint -q "$OWN_STORE" && umount -l "$OWN_STORE"
}
trap own_cleanup EXIT
opts=nohost,sim=gpu0:64M
[ "$CDMFS_DATAPATH" = daemon ] && opts="$opts,nopassthrough"
oom0=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
cdm_daemon_start "$MNT" -o "$opts"
DAEMON_PID=$CDM_PID
# findmnt -r writes a '\' in a name (the store's escaping) as \x5c: %b undoes it
OWN_STORE=$(printf '%b' "$(findmnt -rn -S cdmfs-store -o TARGET | grep -F "${WORK##*.}" | head -n1)")
check "the daemon mounted its store ($OWN_STORE)" test -n "$OWN_STORE"
size_kb=$(df -k --output=size "$OWN_STORE" | tail -n1 | tr -d ' ')
eq "the store is as big as its one device (KiB)" "$size_kb" 65536
expect_fail "No space" "dd of 1 GiB into a 64M device" \
	dd if=/dev/zero of="$MNT/gpu0/big" bs=1M count=1024 status=none
s=$(stat -c %s "$MNT/gpu0/big")
check "the file holds at most 64 MiB ($s bytes)" [ "$s" -le 67108864 ]
b=$(df -k --output=used "$OWN_STORE" | tail -n1 | tr -d ' ')
check "the store holds at most 64 MiB ($b KiB)" [ "$b" -le 65536 ]
eq "df gpu0 Avail (KiB)" "$(avail_kb "$MNT/gpu0")" 0
rm -f "$MNT/gpu0/big"
if [ "$CDMFS_DATAPATH" = passthrough ]; then
	rc=0
	python3 -c '
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 128 << 20)
m = mmap.mmap(fd, 128 << 20)
for off in range(0, 128 << 20, 4096):
    m[off] = 1
' "$MNT/gpu0/map" 2>/dev/null || rc=$?
	eq "a mapping faulting past 64 MiB dies of SIGBUS (exit 128+7)" "$rc" 135
	b=$(blocks "$OWN_STORE/gpu0/map")
	check "having filled the store's 64 MiB ($b blocks)" \
		test "$b" -le 131072 -a "$b" -ge 122880
	rm -f "$MNT/gpu0/map"
else
	echo "# daemon data path: mappings use FUSE's page cache, no shmem fault to check"
fi
oom1=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
eq "no OOM kill (/proc/vmstat oom_kill)" "$oom1" "$oom0"
cdm_umount
check "the store went with the daemon" sh -c "! mountpoint -q '$OWN_STORE'"
finish
