#!/bin/bash
# The daemon holds an fd per file the kernel caches.  Started with a low
# RLIMIT_NOFILE (256), a flood of files in one device is refused with
# ENFILE past its fd budget, the log says so once per burst, and the rest
# of the mount keeps working: ls of another device and of the root, df,
# reading a file that is there.
. "$(dirname "$0")/lib.sh"
require_root_fuse
command -v prlimit >/dev/null || skip "no prlimit (util-linux) to lower the daemon's limit"

# as cdm_mount, under prlimit (hard limit too: the daemon raises soft to hard)
# and without CAP_SYS_RESOURCE (with it, the daemon raises both to fs.nr_open)
opts="store=$STORE,sim=gpu0:1G,sim=cxl0:1G,sim=cxl1:1G"
[ "$CDMFS_DATAPATH" = daemon ] && opts="$opts,nopassthrough"
mount -t tmpfs -o mode=0755 cdmfs-test-store "$STORE"
setpriv --bounding-set=-sys_resource prlimit --nofile=256:256 "$CDMFS" -f -o "$opts" "$MNT" >>"$LOG" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 100); do
	mountpoint -q "$MNT" && break
	kill -0 "$DAEMON_PID" 2>/dev/null || break
	sleep 0.05
done
mountpoint -q "$MNT" || { cat "$LOG"; exit 1; }
eq "the daemon's limit (kernel's /proc)" \
	"$(awk '/Max open files/ { print $4 }' /proc/$DAEMON_PID/limits)" 256
cd "$MNT" || exit 1
echo hello >cxl0/there
eq "a file in cxl0 before the flood" "$(cat cxl0/there)" hello

echo "--- 400 files in gpu0: more than the daemon has fds for"
made=0
failed=0
for i in $(seq 400); do
	if touch "gpu0/f$i" 2>>"$WORK/flood.err"; then
		made=$((made + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "made $made, refused $failed; first error: $(head -n1 "$WORK/flood.err")"
check "some were refused" test "$failed" -gt 0
check "refused with ENFILE, the daemon's shortage (not EMFILE)" \
	grep -q "Too many open files in system" "$WORK/flood.err"
check "the daemon is alive" kill -0 "$DAEMON_PID"
grep "out of file descriptors" "$LOG"
# one line per 10 s of refusals: the flood takes a few seconds
lines=$(grep -c "out of file descriptors" "$LOG")
check "the log says so, once per burst, not per refusal ($lines lines for $failed refusals)" \
	test "$lines" -ge 1 -a "$lines" -le 2
check "naming what was refused" grep -q "out of file descriptors.*lookup of 'f[0-9]*' in gpu0 refused with ENFILE" "$LOG"

echo "--- the rest of the mount works"
check "ls of another device" sh -c "ls cxl0 | grep -qx there"
check "ls of a device nobody looked at before the flood" ls cxl1
check "a file made there" sh -c "echo new >cxl1/new && test \"\$(cat cxl1/new)\" = new"
check "ls of the root" sh -c "ls . | grep -qx cxl0"
check "df of the mount" sh -c "df '$MNT/gpu0' >/dev/null"
check "df of another device" sh -c "df '$MNT/cxl0' >/dev/null"
eq "reading a file that is there" "$(cat cxl0/there)" hello
check "stat of a file made before the limit" stat gpu0/f1
check "user.cdm.residency of it" getfattr -n user.cdm.residency cxl0/there
cd /
cdm_umount
finish
