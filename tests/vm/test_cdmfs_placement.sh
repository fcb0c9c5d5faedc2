#!/bin/sh
# A file created in a device directory lives in that device's memory, by the
# kernel's account: every page of it on the device's node (move_pages, via
# pagenodes), whether written through write(2) or through a mapping, also
# pages added after the file was created; an application's mapping carries
# the binding (its own /proc/PID/numa_maps); the node's Shmem counter grows.
# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

cdm_mount

# shmem_growth NODE BEFORE_KB: growth of NODE's Shmem in kB since BEFORE_KB
shmem_growth() { echo $(($(node_meminfo "$1" Shmem) - $2)); }

# --- write(2) --------------------------------------------------------------
s1=$(node_meminfo 1 Shmem)
dd if=/dev/urandom of="$MNT/node1/dd" bs=1M count=16 status=none
check_pages "node1/dd, 16 MiB by dd" "$MNT/node1/dd" 1
check "shared policy of node1/dd is bind 1" sh -c \
	"pagenodes '$MNT/node1/dd' | grep -qx 'policy bind 1'"
# per-CPU counter deltas may lag: allow 1 MiB
check_num "node1 Shmem grew by ~16 MiB (kB)" "$(shmem_growth 1 "$s1")" -ge 15360
check_not "the checker says no: node1/dd on node2" vm_all_pages_on "$MNT/node1/dd" 2 4096

# growth after creation: an empty file, appends, then a write past the end
: >"$MNT/node1/grow"
for _ in 1 2 3; do
	dd if=/dev/urandom of="$MNT/node1/grow" bs=1M count=4 oflag=append \
		conv=notrunc status=none
done
check_pages "node1/grow, created empty, 3 appends of 4 MiB" "$MNT/node1/grow" 1
dd if=/dev/urandom of="$MNT/node1/grow" bs=1M count=4 seek=20 conv=notrunc status=none
dd if=/dev/urandom of="$MNT/node1/grow" bs=1M count=8 seek=12 conv=notrunc status=none
check_pages "node1/grow, written past its end to 24 MiB" "$MNT/node1/grow" 1

dd if=/dev/urandom of="$MNT/node2/dd" bs=1M count=16 status=none
check_pages "node2/dd, 16 MiB by dd" "$MNT/node2/dd" 2
dd if=/dev/urandom of="$MNT/host/dd" bs=1M count=4 status=none
check_pages "host/dd, 4 MiB by dd (host = node0)" "$MNT/host/dd" 0

# --- mmap --------------------------------------------------------------------
# python3 creates the file, maps 16 MiB and writes every page, grows the
# file to 24 MiB with ftruncate and writes the new pages through a second
# mapping, then prints its own numa_maps line for that mapping.
mapwrite() {
	python3 - "$1" <<'PY'
import ctypes, mmap, os, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
os.ftruncate(fd, 16 << 20)
m = mmap.mmap(fd, 16 << 20)
for off in range(0, len(m), 4096):
    m[off] = 0x11
os.ftruncate(fd, 24 << 20)
m2 = mmap.mmap(fd, 24 << 20)
for off in range(16 << 20, len(m2), 4096):
    m2[off] = 0x22
for off in range(0, len(m2), 4096):
    assert m2[off] == (0x11 if off < 16 << 20 else 0x22), off
addr = "%x" % ctypes.addressof(ctypes.c_char.from_buffer(m2))
for line in open("/proc/self/numa_maps"):
    if line.split()[0] == addr:
        print(line.strip())
PY
}
for n in 1 2; do
	s=$(node_meminfo $n Shmem)
	line=$(mapwrite "$MNT/node$n/mm")
	echo "     python3's numa_maps: $line"
	check_pages "node$n/mm, 16 MiB written by python3 mmap, grown to 24 MiB" "$MNT/node$n/mm" $n
	check_num "node$n Shmem grew by ~24 MiB (kB)" "$(shmem_growth $n "$s")" -ge 23552
	check "python3's mapping of node$n/mm shows bind:$n in numa_maps" \
		sh -c "echo '$line' | grep -q ' bind:$n '"
	check "python3's numa_maps counts all 6144 pages on node$n only (N$n=6144)" \
		sh -c "echo '$line' | tr ' ' '\n' | grep '^N[0-9]*=' | tr '\n' ' ' | grep -qx 'N$n=6144 '"
	check "its file= is the cdmfs path" sh -c "echo '$line' | grep -q 'file=$MNT/node$n/mm'"
done

# --- another application that only reads: it maps the same frames --------
line=$(python3 - "$MNT/node2/dd" <<'PY'
import mmap, sys
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
s = sum(m[off] for off in range(0, len(m), 4096))
for line in open("/proc/self/numa_maps"):
    if sys.argv[1] in line:
        print(line.strip())
PY
)
echo "     reader's numa_maps: $line"
check "a reader's mapping of node2/dd shows bind:2 and N2=4096" \
	sh -c "echo '$line' | grep -q ' bind:2 .* N2=4096 '"
check_not "and no page on another node" sh -c "echo '$line' | grep -q ' N[01]='"

rm -f "$MNT/node1/dd" "$MNT/node1/grow" "$MNT/node2/dd" "$MNT/host/dd" "$MNT/node1/mm" "$MNT/node2/mm"
cdm_umount
finish
