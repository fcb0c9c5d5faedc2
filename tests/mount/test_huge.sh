#!/bin/bash
# -o huge=within_size: the store tmpfs the daemon mounts for itself is
# huge=within_size (the kernel's /proc/mounts says so), and an application
# mapping a file sized before it is written gets PMD mappings (its own
# /proc/self/smaps: FilePmdMapped/ShmemPmdMapped), with residency and
# st_blocks counting every byte once; by default and with -o huge=never,
# 4 KiB pages (not yet huge by default: see fs/store.c); a bad value is
# refused.  Passthrough only: daemon-served I/O maps FUSE
# page cache, not the store's pages.
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
# pmd FILE: map FILE (sized first, 2 MiB aligned), write every page, print
# "PMD_KB RSS_KB" of that mapping from /proc/self/smaps
pmd() {
	python3 - "$1" <<'PY'
import ctypes, mmap, os, sys
size = 16 << 20
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, size)
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
# a 2 MiB aligned address: reserve more, then map the file over it
base = libc.mmap(None, size + (2 << 20), 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
addr = (base + (2 << 20) - 1) & ~((2 << 20) - 1)
MAP_FIXED = 0x10
p = libc.mmap(addr, size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED | MAP_FIXED, fd, 0)
assert p == addr, ctypes.get_errno()
ctypes.memset(p, 0x5a, size)
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

echo "--- -o huge=within_size: 2 MiB pages"
huge_mount huge=within_size
check "the store tmpfs is mounted huge=within_size (/proc/mounts)" \
	grep -q 'huge=within_size' <<<"$STORE_OPTS"
read -r pmd_kb rss_kb < <(pmd "$MNT/gpu0/f")
echo "mapping of a 16 MiB file: ${pmd_kb} kB PMD-mapped of ${rss_kb} kB resident"
eq "every page of the mapping PMD-mapped (smaps)" "$pmd_kb" 16384
eq "st_blocks counts it once" "$(($(stat -c %b "$MNT/gpu0/f") * 512))" $((16 << 20))
eq "residency counts it once" "$(getfattr --only-values -n user.cdm.residency "$MNT/gpu0/f")" "gpu0=$((16 << 20))"
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

echo "--- by default: 4 KiB pages"
small_pages
echo "--- -o huge=never: 4 KiB pages"
small_pages huge=never

echo "--- a bad value"
expect_fail "huge=big: expected never, within_size or always" "huge=big is refused" \
	"$CDMFS" -f -o sim=gpu0:64M,huge=big "$MNT"
finish
