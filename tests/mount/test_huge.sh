#!/bin/bash
# 2 MiB pages by default: the store tmpfs the daemon mounts for itself is
# huge=within_size (the kernel's /proc/mounts says so), by default and with
# -o huge=within_size, and an application mapping a file sized before it is
# written gets PMD mappings (its own /proc/self/smaps:
# FilePmdMapped/ShmemPmdMapped), with residency and st_blocks counting every
# byte once.  A sparse file costs what it costs on a tmpfs mounted
# huge=within_size (the reference): a 4 KiB write into a hole of a 16 MiB
# file takes 2 MiB, st_blocks and residency say so, and capacity counts it:
# a 4 KiB fallocate that would take 2 MiB of a device with 1 MiB left gets
# ENOSPC.  Appending writes get
# huge pages exactly when they do on that tmpfs (measured and printed).
# With -o huge=never: 4 KiB pages.  A bad value is refused.  Passthrough
# only: daemon-served I/O maps FUSE page cache, not the store's pages.
. "$(dirname "$0")/lib.sh"
require_root_fuse
grep -qw within_size /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null ||
	skip "this kernel has no transparent huge pages for shmem"
command -v python3 >/dev/null || skip "python3 maps the file"
command -v findmnt >/dev/null || skip "findmnt reads the store's mount options"

# huge_mount [OPTIONS]: a daemon with its own store (no store=), debug on
# for the store's log line; sets STORE_PATH from it
huge_mount() {
	: >"$LOG"
	cdm_daemon_start "$MNT" -o "sim=gpu0:256M,debug${1:+,$1}"
	DAEMON_PID=$CDM_PID
	STORE_PATH=$(sed -n 's/^cdmfs: store: mounted tmpfs at \(.*\) (.*/\1/p' "$LOG" | head -n1)
	# the kernel's account of it (findmnt undoes /proc/mounts' escapes)
	STORE_OPTS=$(findmnt -n -o OPTIONS --mountpoint "$STORE_PATH")
	echo "store: $STORE_PATH: $STORE_OPTS"
}
# pmd FILE [MODE]: map FILE at a 2 MiB aligned address and print
# "PMD_KB RSS_KB" of that mapping from /proc/self/smaps.  MODE fill (the
# default): size FILE to 16 MiB first and write every page; read: map it as
# it is and read every page (what pages it has is what its writers made).
pmd() {
	python3 - "$1" "${2:-fill}" <<'PY'
import ctypes, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
if sys.argv[2] == "fill":
    os.ftruncate(fd, 16 << 20)
size = os.fstat(fd).st_size
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
# a 2 MiB aligned address: reserve more, then map the file over it
base = libc.mmap(None, size + (2 << 20), 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
addr = (base + (2 << 20) - 1) & ~((2 << 20) - 1)
MAP_FIXED = 0x10
p = libc.mmap(addr, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED | MAP_FIXED, fd, 0)
assert p == addr, ctypes.get_errno()
if sys.argv[2] == "fill":
    ctypes.memset(p, 0x5a, size)
else:
    for off in range(0, size, 4096):
        ctypes.c_char.from_address(p + off).value
pmd = rss = 0
inside = False
for line in open("/proc/self/smaps"):
    f = line.split()
    if "-" in f[0] and len(f) >= 5:
        inside = int(f[0].split("-")[0], 16) == p
    elif inside and f[0] in ("FilePmdMapped:", "ShmemPmdMapped:"):
        pmd += int(f[1])
    elif inside and f[0] == "Rss:":
        rss = int(f[1])
print(pmd, rss)
PY
}

if [ "$CDMFS_DATAPATH" = daemon ]; then
	skip "daemon-served I/O maps FUSE page cache: huge pages are the store's under passthrough"
fi

# huge_pages [OPTION]: mounted with OPTION, the store is huge=within_size
# and a mapping of a 16 MiB file is all PMD-mapped, counted once
huge_pages() {
	huge_mount "$@"
	check "the store tmpfs is mounted huge=within_size (/proc/mounts)" \
		grep -q 'huge=within_size' <<<"$STORE_OPTS"
	read -r pmd_kb rss_kb < <(pmd "$MNT/gpu0/f")
	echo "mapping of a 16 MiB file: ${pmd_kb} kB PMD-mapped of ${rss_kb} kB resident"
	eq "every page of the mapping PMD-mapped (smaps)" "$pmd_kb" 16384
	eq "st_blocks counts it once" "$(($(stat -c %b "$MNT/gpu0/f") * 512))" $((16 << 20))
	eq "residency counts it once" "$(getfattr --only-values -n user.cdm.residency "$MNT/gpu0/f")" "gpu0=$((16 << 20))"
}

if grep -q '\[deny\]' /sys/kernel/mm/transparent_hugepage/shmem_enabled; then
	echo "--- by default: shmem_enabled is deny, so 4 KiB pages"
	small_default=1
else
	echo "--- by default: 2 MiB pages"
	huge_pages
	check "no '4 KiB pages' notice in the log" negate grep -q '4 KiB pages' "$LOG"
	rm "$MNT/gpu0/f"

	# the reference: a tmpfs of our own, mounted as the store is
	REF=$WORK/ref
	mkdir "$REF"
	trap 'mountpoint -q "$REF" && umount -l "$REF"; cleanup' EXIT
	mount -t tmpfs -o mode=0755,huge=within_size cdmfs-test-ref "$REF"
	# blocks FILE: bytes the kernel allocated to it (st_blocks)
	blocks() { echo $(($(stat -c %b "$1") * 512)); }
	echo "--- a sparse file costs what it costs on tmpfs huge=within_size"
	for d in "$MNT/gpu0" "$REF"; do
		truncate -s 16M "$d/sparse"
		dd if=/dev/zero of="$d/sparse" bs=4k count=1 seek=1000 conv=notrunc status=none
	done
	echo "4 KiB written into a 16 MiB hole: $(blocks "$MNT/gpu0/sparse") bytes on cdmfs, $(blocks "$REF/sparse") on tmpfs"
	eq "st_blocks as on tmpfs" "$(blocks "$MNT/gpu0/sparse")" "$(blocks "$REF/sparse")"
	eq "the 2 MiB around it (st_blocks)" "$(blocks "$MNT/gpu0/sparse")" $((2 << 20))
	eq "residency says the same" "$(getfattr --only-values -n user.cdm.residency "$MNT/gpu0/sparse")" "gpu0=$((2 << 20))"
	echo "--- appending writes get huge pages as on tmpfs huge=within_size"
	for bs in 1M 2M 4M; do
		for d in "$MNT/gpu0" "$REF"; do
			dd if=/dev/zero of="$d/append$bs" bs=$bs count=$((16 / ${bs%M})) oflag=append conv=notrunc status=none
		done
		read -r c_pmd _ < <(pmd "$MNT/gpu0/append$bs" read)
		read -r t_pmd _ < <(pmd "$REF/append$bs" read)
		echo "16 MiB grown by $bs appends: $c_pmd kB PMD-mapped on cdmfs, $t_pmd kB on tmpfs"
		eq "$bs appends: PMD-mapped as on tmpfs" "$c_pmd" "$t_pmd"
	done
	umount "$REF"
	cdm_umount

	echo "--- capacity counts the 2 MiB a 4 KiB fallocate takes"
	huge_mount sim=small0:16M
	# 1 MiB appends: 4 KiB pages (above), 15 MiB of the 16
	dd if=/dev/zero of="$MNT/small0/a" bs=1M count=15 status=none
	truncate -s 4M "$MNT/small0/b"
	expect_fail "No space left" \
		"fallocate of 4 KiB into a hole of a 4 MiB file with 1 MiB left: ENOSPC (it takes 2 MiB)" \
		fallocate -o 0 -l 4096 "$MNT/small0/b"
	used=$(($(blocks "$MNT/small0/a") + $(blocks "$MNT/small0/b")))
	check_num "the device's files hold no more than its 16 MiB (st_blocks)" "$used" -le $((16 << 20))
	rm "$MNT/small0/a"
	check "with room, the same fallocate succeeds" fallocate -o 0 -l 4096 "$MNT/small0/b"
	eq "and takes 2 MiB (st_blocks)" "$(blocks "$MNT/small0/b")" $((2 << 20))
	cdm_umount
fi

echo "--- -o huge=within_size: 2 MiB pages"
huge_pages huge=within_size
cdm_umount

# small_pages [OPTION]: mounted with OPTION, the store has no huge= and a
# mapping of a 16 MiB file is all resident in 4 KiB pages
small_pages() {
	huge_mount "$@"
	check "the store tmpfs is mounted (/proc/mounts)" test -n "$STORE_OPTS"
	eq "without huge pages (/proc/mounts: no huge= but never)" \
		"$(tr , '\n' <<<"$STORE_OPTS" | grep '^huge=' | grep -vx huge=never)" ""
	read -r pmd_kb rss_kb < <(pmd "$MNT/gpu0/f")
	echo "mapping of a 16 MiB file: ${pmd_kb} kB PMD-mapped of ${rss_kb} kB resident"
	eq "nothing PMD-mapped" "$pmd_kb" 0
	eq "all of it resident" "$rss_kb" 16384
	cdm_umount
}

if [ -n "${small_default:-}" ]; then
	echo "--- by default: 4 KiB pages"
	small_pages
fi
echo "--- -o huge=never: 4 KiB pages"
small_pages huge=never

echo "--- a bad value"
expect_fail "huge=big: expected never, within_size or always" "huge=big is refused" \
	"$CDMFS" -f -o sim=gpu0:64M,huge=big "$MNT"
finish
