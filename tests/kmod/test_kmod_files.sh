#!/bin/sh
# cdmkmfs files straight on the module (no daemon): their mappings resolve
# to frames inside the region, ordinary tools read and write them, page
# references survive fork, munmap, truncate while mapped and process exit
# (the region's use goes back to zero), a file moves to RAM and back while a
# writer keeps stamping it through a mapping, a full region says ENOSPC, a
# failing device is evacuated under the writer, a dead one turns accesses
# into SIGBUS/EIO, and the module refuses to unload while a mapping holds
# it.  The kernel's word throughout: /proc/PID/pagemap frames, the region's
# counters, the data read back.
# shellcheck source=tests/kmod/lib.sh
. "$CDMFS_SRC/tests/kmod/lib.sh"

CTL=${CDMKMCTL:-/run/vm/files/cdmkmctl}
KM=$PWD/km
mkdir -p "$KM"

# region_field FIELD: a column of cdmkmctl list for cdm0
region_field() {
	"$CTL" list | awk -v f="$1" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
		$1 == "cdm0" { print $col[f] }'
}
oom_kills() { awk '$1 == "oom_kill" { print $2 }' /proc/vmstat; }
oom0=$(oom_kills)

kmod_load
check "mount -t cdmkmfs -o region=cdm0" mount -t cdmkmfs -o region=cdm0 none "$KM"
check "the module is held by the mount (refcnt 1)" test "$(cat /sys/module/cdmkm/refcnt)" = 1
check "df shows the region's 256 MiB" sh -c "df -k '$KM' | awk 'NR == 2 { exit \$2 != 262144 }'"
check_not "mount of an unknown region fails" mount -t cdmkmfs -o region=nope none /mnt
check_not "mount without region= fails" mount -t cdmkmfs none /mnt

# ---- data through ordinary tools, frames in the region ----------------------
dd if=/dev/urandom of=ref bs=1M count=16 2>/dev/null
check "cp a 16 MiB file in" cp ref "$KM/a"
check "cmp reads it back" cmp ref "$KM/a"
check_num "the region's use is 16 MiB" "$(region_field USED)" -eq 16777216
check "a mapping of it: 4096/4096 pages have frames inside the region" \
	kmod_frames_are "$KM/a" "region 4096 ram 0"
echo "     frames: $(kmod_frames "$KM/a")"
check "dd writes 1 MiB at 3 MiB (notrunc)" \
	dd if=/dev/zero of="$KM/a" bs=1M seek=3 count=1 conv=notrunc
dd if=/dev/zero of=ref bs=1M seek=3 count=1 conv=notrunc 2>/dev/null
check "cmp sees the rewrite" cmp ref "$KM/a"
check "truncate to 10 MiB" truncate -s 10M "$KM/a"
check_num "the region's use drops to 10 MiB" "$(region_field USED)" -eq 10485760
check "truncate up to 12 MiB" truncate -s 12M "$KM/a"
check "the regrown tail reads zeros" \
	test "$(dd if="$KM/a" bs=1M skip=10 2>/dev/null | tr -d '\0' | wc -c)" = 0
check "fallocate -l 4M b" fallocate -l 4M "$KM/b"
check_num "fallocate took 4 MiB of the region" "$(region_field USED)" -eq $((14 << 20))
check "fallocate --punch-hole 1M at 1M" fallocate -p -o 1M -l 1M "$KM/b"
check_num "the hole gave 1 MiB back" "$(region_field USED)" -eq $((13 << 20))
check "setfattr user.x" setfattr -n user.x -v hello "$KM/b"
check "getfattr user.x" sh -c "getfattr -n user.x --only-values '$KM/b' | grep -qx hello"
check "ln, mv, rm work" sh -c "ln '$KM/b' '$KM/c' && mv '$KM/c' '$KM/d' && rm '$KM/d'"
check "splice: sendfile through cat to a pipe" sh -c "cat '$KM/a' | cmp - '$KM/a'"

# ---- references: fork, munmap, exit, truncate while mapped ------------------
cat >refs.py <<'PY'
import mmap, os, signal, sys
path = sys.argv[1]
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 16 * 4096, mmap.MAP_SHARED)
for i in range(16):
    m[i * 4096] = 0x41 + i
pid = os.fork()
if pid == 0:                     # the child's copy of the mapping
    for i in range(16):
        m[i * 4096 + 1] = 0x61 + i
    os._exit(0)
os.waitpid(pid, 0)
ok = all(m[i * 4096 + 1] == 0x61 + i for i in range(16))
print("child writes visible to the parent:", ok)
os.ftruncate(fd, 8 * 4096)       # truncate while mapped
pid = os.fork()
if pid == 0:
    m[12 * 4096] = 1             # past EOF now: SIGBUS
    os._exit(0)
_, st = os.waitpid(pid, 0)
print("touch past EOF: signal", os.WTERMSIG(st) if os.WIFSIGNALED(st) else None)
print("page 3 still mapped:", m[3 * 4096] == 0x44)
m.close()
os.close(fd)
sys.exit(0 if ok else 1)
PY
check "a 64 KiB file" dd if=/dev/zero of="$KM/r" bs=4k count=16
out=$(/usr/bin/python3 refs.py "$KM/r" 2>&1)
echo "$out" | sed 's/^/     /'
check "a forked child's writes through the shared mapping reach the parent" \
	sh -c "echo '$out' | grep -q 'visible to the parent: True'"
# SIGBUS is 7 on x86
check "touching a page truncated away while mapped raises SIGBUS (7)" \
	sh -c "echo '$out' | grep -q 'past EOF: signal 7'"
check "pages below the new end stay mapped" sh -c "echo '$out' | grep -q 'page 3 still mapped: True'"
rm -f "$KM/a" "$KM/b" "$KM/r"
check_num "after fork, munmap, exit and rm, the region's use is 0" "$(region_field USED)" -eq 0

# ---- migration both ways under a writer -------------------------------------
PAGES=8192
dd if=/dev/zero of="$KM/w" bs=1M count=32 2>/dev/null
stamper "$KM/w" >stamper.out 2>stamper.err &
wpid=$!
check "the writer stamps" wait_stamp "$KM/w" 3
out=$("$CTL" migrate "$KM/w" ram:0)
check "cdmkmctl migrate w ram:0 while the writer runs: $out" test "$out" = "moved=33554432"
s=$(stamp_of "$KM/w")
check "the writer goes on" wait_stamp "$KM/w" $((s + 2))
check "8192/8192 pages now have frames in RAM, none in the region" \
	kmod_frames_are "$KM/w" "region 0 ram 8192"
check_num "the region's use is 0" "$(region_field USED)" -eq 0
t0=$(date +%s%N)
out=$("$CTL" migrate "$KM/w" device)
t1=$(date +%s%N)
check "cdmkmctl migrate w device while the writer runs: $out" test "$out" = "moved=33554432"
echo "     RAM -> device: 32 MiB in $(( (t1 - t0) / 1000000 )) ms"
s=$(stamp_of "$KM/w")
check "the writer goes on" wait_stamp "$KM/w" $((s + 2))
check "8192/8192 pages back in the region" kmod_frames_are "$KM/w" "region 8192 ram 0"
writer_stop "$KM/w" "$wpid"

# ---- a full region: ENOSPC, never the OOM killer ----------------------------
free=$(( $(region_field SIZE) - $(region_field USED) ))
check_not "fallocate beyond the region's free memory fails" \
	fallocate -l $((free + (1 << 20))) "$KM/big"
check "... with ENOSPC" sh -c "fallocate -l $((free + (1 << 20))) '$KM/big' 2>&1 | grep -q 'No space left'"
check_num "... and took nothing" "$(region_field USED)" -eq 33554432
check "fill the region with dd" sh -c "dd if=/dev/zero of='$KM/big' bs=1M 2>&1 | grep -q 'No space left'"
check_num "the region is full" "$(region_field USED)" -eq "$(region_field SIZE)"
check "a mapping faulting past the full region gets SIGBUS, not the OOM killer" \
	sh -c "truncate -s 1M '$KM/more' && ! /usr/bin/python3 $CDMFS_SRC/tests/kmod/frames.py '$KM/more' 0 0 write"
check_num "no OOM kill" "$(oom_kills)" -eq "$oom0"
rm -f "$KM/big" "$KM/more"

# ---- a failing device that still answers: evacuated under the writer --------
stamper "$KM/w" >stamper.out 2>stamper.err &
wpid=$!
check "the writer stamps again" wait_stamp "$KM/w" $(( $(stamp_of "$KM/w") + 2 ))
out=$("$CTL" fail cdm0 evacuate)
check "cdmkmctl fail cdm0 evacuate: $out" test "$out" = "moved=33554432 lost=0"
check "the region is offline" test "$(region_field STATE)" = offline
s=$(stamp_of "$KM/w")
check "the writer goes on after the evacuation" wait_stamp "$KM/w" $((s + 2))
check "8192/8192 pages of w are in RAM" kmod_frames_are "$KM/w" "region 0 ram 8192"
writer_stop "$KM/w" "$wpid"
check_not "a new file cannot allocate on the offline region" \
	dd if=/dev/zero of="$KM/new" bs=1M count=1
check "umount" umount "$KM"
kmod_unload

# ---- a dead device: SIGBUS and EIO, the kernel stays up ---------------------
kmod_load
mount -t cdmkmfs -o region=cdm0 none "$KM"
dd if=/dev/zero of="$KM/w" bs=1M count=8 2>/dev/null
dd if=/dev/zero of="$KM/ram" bs=1M count=1 2>/dev/null
"$CTL" place "$KM/ram" ram
"$CTL" migrate "$KM/ram" ram >/dev/null
stamper "$KM/w" >stamper.out 2>stamper.err &
wpid=$!
check "the writer stamps" wait_stamp "$KM/w" 2
out=$("$CTL" fail cdm0 dead)
check "cdmkmctl fail cdm0 dead: $out" test "$out" = "moved=0 lost=8388608"
wrc=0
wait "$wpid" || wrc=$?
cat stamper.out | sed 's/^/     /'
check_num "the writer died of SIGBUS (stamper exit 3)" "$wrc" -eq 3
check_not "read(2) of the lost file fails" cat "$KM/w"
check "... with EIO" sh -c "cat '$KM/w' 2>&1 >/dev/null | grep -q 'Input/output error'"
check "residency says 8 MiB lost" sh -c "'$CTL' residency '$KM/w' | grep -q 'lost=8388608'"
check "the region says dead, 8 MiB lost" \
	sh -c "test \"\$('$CTL' list | awk '\$1 == \"cdm0\" { print \$5, \$7 }')\" = 'dead 8388608'"
check "a file in RAM is untouched" cmp -n 1048576 "$KM/ram" /dev/zero
check "rm of a lost file works" rm "$KM/w"

# ---- unload: refused while a mapping holds the module, clean when idle ------
/usr/bin/python3 -c "
import mmap, os, sys, time
fd = os.open('$KM/ram', os.O_RDWR)
m = mmap.mmap(fd, 4096)
os.close(fd)
print('mapped', flush=True)
time.sleep(60)
" >holder.out &
hpid=$!
for _ in $(seq 100); do grep -q mapped holder.out && break; sleep 0.05; done
check "umount -l while a process maps a file" umount -l "$KM"
check_not "rmmod is refused while the mapping lives" rmmod cdmkm
check "... the module is still there" kmod_loaded
kill "$hpid"
wait "$hpid" 2>/dev/null
for _ in $(seq 100); do [ "$(cat /sys/module/cdmkm/refcnt)" = 0 ] && break; sleep 0.05; done
kmod_unload
check "nothing claims the reservation after rmmod" test -z "$(kmod_iomem_claims)"
check_num "no OOM kill in the whole test" "$(oom_kills)" -eq "$oom0"
kmod_finish
