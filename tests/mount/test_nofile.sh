#!/bin/bash
# The number of files is not bounded by the daemon's RLIMIT_NOFILE.
#
# A root daemon names the store's inodes by file handle and holds no fd per
# file: started with RLIMIT_NOFILE 256, it creates and stats 2000 files (the
# same as 10^6 files at the 20000 of a default systemd unit), hard links
# and renames among them keep their identity, and its fd count (the
# kernel's /proc) stays low.
#
# Without CAP_DAC_READ_SEARCH it cannot open handles and holds an O_PATH fd
# per file the kernel caches, as a daemon run by a user does: a flood of
# files in one device is refused with ENFILE past its fd budget, the log
# says so once per burst, and the rest of the mount keeps working.
. "$(dirname "$0")/lib.sh"
require_root_fuse
command -v prlimit >/dev/null || skip "no prlimit (util-linux) to lower the daemon's limit"
command -v setpriv >/dev/null || skip "no setpriv (util-linux) to drop the daemon's capabilities"

N=2000

# nofile_mount CAPS [OPTS]: as cdm_mount, under prlimit (hard limit too: the
# daemon raises soft to hard) and without CAP_SYS_RESOURCE (with it, the
# daemon raises both to fs.nr_open) nor the capabilities CAPS (",-cap...")
nofile_mount() {
	local opts="store=$STORE,sim=gpu0:1G,sim=cxl0:1G,sim=cxl1:1G"
	[ "$CDMFS_DATAPATH" = daemon ] && opts="$opts,nopassthrough"
	[ -n "${2:-}" ] && opts="$opts,$2"
	mountpoint -q "$STORE" && umount "$STORE"
	mount -t tmpfs -o mode=0755 cdmfs-test-store "$STORE"
	: >"$LOG"
	CDM_WRAP="setpriv --bounding-set=-sys_resource$1 prlimit --nofile=256:256" \
		cdm_daemon_start "$MNT" -o "$opts"
	DAEMON_PID=$CDM_PID
	eq "the daemon's limit (kernel's /proc)" \
		"$(awk '/Max open files/ { print $4 }' /proc/$DAEMON_PID/limits)" 256
}

daemon_fds() { ls /proc/"$DAEMON_PID"/fd | wc -l; }

echo "--- by file handle: $N files with 256 fds"
# no attribute or entry caching: every stat below is a LOOKUP or GETATTR
# that the daemon answers through the file's handle
nofile_mount "" attr_timeout=0
check "handles can be opened (no notice of the fallback)" \
	sh -c "! grep -q 'cannot open file handles' '$LOG'"
cd "$MNT" || exit 1
mkdir gpu0/d
# one touch for all: the daemon, not the shell, is under test
(cd gpu0 && touch $(seq -f "f%g" $N) 2>"$WORK/touch.err"; cd d && touch $(seq -f "g%g" 300) 2>>"$WORK/touch.err")
eq "no create failed" "$(wc -l <"$WORK/touch.err")" 0
head -n 3 "$WORK/touch.err"
eq "files in the store (kernel's tmpfs)" "$(ls "$STORE/gpu0" | grep -c '^f')" $N
fds=$(daemon_fds)
echo "daemon fds: $fds"
check "the daemon holds far fewer fds than files ($fds)" test "$fds" -lt 128
eq "stat of all $N: inode numbers are the store's" \
	"$(cd gpu0 && stat -c '%n %i' f* | sort | md5sum)" \
	"$(cd "$STORE/gpu0" && stat -c '%n %i' f* | sort | md5sum)"
eq "stat of the 300 in a subdirectory" "$(stat -c %i gpu0/d/g* | wc -l)" 300
echo data >gpu0/f7
eq "a file reads back" "$(cat gpu0/f7)" data
ln gpu0/f7 gpu0/d/link7
eq "a hard link is the same inode" "$(stat -c %i gpu0/d/link7)" "$(stat -c %i gpu0/f7)"
eq "with two links" "$(stat -c %h gpu0/f7)" 2
mv gpu0/f7 gpu0/renamed7
eq "a renamed file keeps its inode" "$(stat -c %i gpu0/renamed7)" "$(stat -c %i gpu0/d/link7)"
eq "and its data" "$(cat gpu0/renamed7)" data
ln -s renamed7 gpu0/sym
eq "a symlink reads" "$(readlink gpu0/sym)" renamed7
setfattr -n user.x -v y gpu0/f9
eq "an xattr through the handle" "$(getfattr --only-values -n user.x gpu0/f9)" y
check "user.cdm.residency" getfattr -n user.cdm.residency gpu0/f1
check "ls of another device" ls cxl0
# unlinked while open: the handle still opens the inode the open keeps
exec 3<>gpu0/f11
rm gpu0/f11
eq "fstat of an open, unlinked file" "$(stat -L -c %h /proc/self/fd/3)" 0
exec 3>&-
# a removed directory the kernel still holds (a working directory): its
# handle opens nothing now, the daemon kept an fd for it as tmpfs keeps it
mkdir gpu0/gone
eq "stat of a removed working directory" \
	"$(cd gpu0/gone && rmdir ../gone && stat -c %h . 2>&1)" 0
eq "ls of it" "$(cd gpu0 && mkdir gone && cd gone && rmdir ../gone && ls -a . 2>&1 | wc -l)" 0
rm gpu0/f1[0-9][0-9] gpu0/d/g*
rmdir gpu0/d
# f7 was renamed, f11 and f100-f199 removed
eq "unlink and rmdir" "$(ls gpu0 | grep -c '^f')" $((N - 102))
# forgotten inodes are freed: dropping the kernel's caches sends FORGETs
sync
echo 2 >/proc/sys/vm/drop_caches
eq "all still there after the kernel forgot them" "$(cd gpu0 && stat -c %i f* | wc -l)" $((N - 102))
check "the daemon is alive" kill -0 "$DAEMON_PID"
check "no fd shortage logged" sh -c "! grep -q 'out of file descriptors' '$LOG'"
cd /
cdm_umount

echo "--- an O_PATH fd per file without CAP_DAC_READ_SEARCH"
nofile_mount ",-dac_read_search"
check "the log says why not by handle" grep -q "cannot open file handles.*CAP_DAC_READ_SEARCH" "$LOG"
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
