#!/bin/sh
# SIGKILL of the daemon does not take memory away from a process that has a
# cdmfs file mapped: its mapping stays readable and writable (also after
# its page table entries are dropped and the pages fault in again), its
# writes land in the backing shmem object in the store, whose pages stay on
# the device's node.  New requests to the mount fail with ENOTCONN.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

SIZE_MB=16
cdm_mount

f=$MNT/node1/k
backing=$CDM_STORE/node1/k
dd if=/dev/zero of="$f" bs=1M count=$SIZE_MB status=none
check_pages "before the kill" "$f" 1
# cdmfs shows the backing inode number with its device's tmpfs in the
# high 32 bits (each device is a tmpfs of its own)
check "its backing file is $backing" \
	test $(($(stat -c %i "$f") & 0xffffffff)) = "$(stat -c %i "$backing")"

# The writer opens and maps the file while the daemon is alive, then keeps
# stamping every page (reading the previous stamp back first).
stamper "$f" >stamper.out 2>stamper.err &
wpid=$!
check "writer is stamping through its mapping" wait_stamp "$f" 3

dpid=$CDM_PID
kill -KILL "$dpid"
wait "$dpid" 2>/dev/null
CDM_PID=
echo "     daemon (pid $dpid) killed with SIGKILL"
check_not "daemon is gone" kill -0 "$dpid"
check "the store (backing tmpfs) is still mounted" mountpoint -q "$CDM_STORE"
check "stat on the mount fails with ENOTCONN" sh -c \
	"stat '$f' 2>&1 | grep -q 'Transport endpoint is not connected'"

# The writer's progress, read from the backing object behind the mount.
s=$(stamp_of "$backing")
check "writer keeps writing after the kill (backing page 0 stamp > $((s + 1)))" \
	wait_stamp "$backing" $((s + 2))
# Drop the writer's PTEs: its next pass faults every page in again.
kill -USR1 "$wpid"
s=$(stamp_of "$backing")
check "writer keeps writing after re-faulting its pages" wait_stamp "$backing" $((s + 3))
check "writer process is alive" kill -0 "$wpid"
# its word, and every page of the backing object holding its last stamp
writer_stop "$backing" "$wpid"
check "writer dropped and re-faulted its mapping once" grep -q ' drops 1 ' stamper.out
# "stamper: seq S next K pages N ...": $3 = S, $5 = K, for python3 below
# shellcheck disable=SC2046 # split on purpose
set -- $(cat stamper.out)
check_pages "backing object after the daemon's death" "$backing" 1

# A new mapping of the backing object by another process sees the same data.
check "python3 maps the backing object and reads the last stamps" python3 - "$backing" "$3" "$5" <<'PY'
import mmap, struct, sys
path, seq, nxt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "rb") as f:
    m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    for i in range(len(m) // 4096):
        want = seq if i < nxt else seq - 1
        got = struct.unpack_from("<QQ", m, i * 4096)
        assert got == (want, i), (i, got, want)
PY

umount "$MNT" 2>/dev/null || umount -l "$MNT"
check_not "mount point released" mountpoint -q "$MNT"
finish
