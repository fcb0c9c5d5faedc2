#!/bin/bash
# POSIX semantics that cdmfs must share with tmpfs: O_TRUNC and O_APPEND,
# modes under the caller's umask, set-uid/set-gid kept at creation and
# cleared on write, truncate and chown as the kernel clears them, POSIX
# ACLs (default ACLs, set-gid on setfacl), O_TMPFILE with linkat.  Every
# case runs first on a plain tmpfs, where it must pass (that proves the
# case), then on a cdmfs device directory; as root and as nobody.
. "$(dirname "$0")/lib.sh"
require_root_fuse
command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# a python3 that nobody may run too (a pyenv shim under /root is not)
PY=
for p in /usr/bin/python3 "$(command -v python3)"; do
	[ -x "$p" ] && nobody "$p" -c pass 2>/dev/null && PY=$p && break
done
[ -n "$PY" ] || skip "needs a python3 that nobody can run"

REF=$WORK/tmpfs
mkdir -p "$REF"
mount -t tmpfs -o mode=1777 cdmfs-test-ref "$REF" || skip "cannot mount a tmpfs"
trap 'umount -l "$REF" 2>/dev/null; cleanup' EXIT

mode() { stat -c %a "$1"; }
umask 022	# the cases below expect it where they do not set their own
py() { "$PY" -c "$@"; }

# cases DIR TAG: every case in DIR (world-writable and sticky, like a
# device directory), descriptions prefixed with TAG
cases() {
	local d=$1 t=$2
	mkdir "$d/c" && chmod 1777 "$d/c" && d=$d/c

	# O_TRUNC of an existing file (OPEN)
	echo hello >"$d/tr"
	echo hi >"$d/tr"
	eq "$t: open(O_TRUNC) truncates" "$(cat "$d/tr")" "hi"
	eq "$t: size after O_TRUNC" "$(stat -c %s "$d/tr")" 3
	: >"$d/tr0"
	touch -d "2001-01-01 UTC" "$d/tr0"
	: >"$d/tr0"
	check "$t: O_TRUNC of an empty file updates mtime" \
		[ "$(stat -c %Y "$d/tr0")" -gt 978307200 ]
	py "import os; fd = os.open('$d/tr', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644); os.write(fd, b'x'); os.close(fd)"
	eq "$t: O_CREAT|O_TRUNC of an existing file truncates" "$(cat "$d/tr")" "x"

	# O_APPEND: the offset is the end at each write, whoever wrote last
	py "
import os
a = os.open('$d/ap', os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
b = os.open('$d/ap', os.O_WRONLY)
os.write(a, b'one\n')
os.pwrite(b, b'TWO\n', 4)
os.write(a, b'three\n')
c = os.open('$d/ap', os.O_WRONLY | os.O_TRUNC)
os.write(a, b'four\n')
for f in (a, b, c): os.close(f)"
	eq "$t: O_APPEND writes at the end, also after a truncate" "$(cat "$d/ap")" "four"

	# modes: the caller's umask, and nothing else
	(umask 0 && touch "$d/u0" && mkdir "$d/u0d" && mkfifo "$d/u0p")
	eq "$t: umask 0: file, dir, fifo" "$(mode "$d/u0") $(mode "$d/u0d") $(mode "$d/u0p")" "666 777 666"
	(umask 077 && touch "$d/u7" && mkdir "$d/u7d")
	eq "$t: umask 077: file, dir" "$(mode "$d/u7") $(mode "$d/u7d")" "600 700"
	nobody sh -c "umask 002 && touch '$d/un' && mkdir '$d/und'"
	eq "$t: nobody, umask 002: file, dir" "$(mode "$d/un") $(mode "$d/und")" "664 775"

	# set-uid/set-gid asked for at creation stay
	(umask 0 && py "import os; os.close(os.open('$d/s1', os.O_CREAT | os.O_WRONLY, 0o6755))")
	eq "$t: root creates 06755" "$(mode "$d/s1")" 6755
	nobody sh -c "umask 0 && $PY -c \"import os; os.close(os.open('$d/s2', os.O_CREAT | os.O_WRONLY, 0o6755))\""
	eq "$t: nobody creates 06755 (own group)" "$(mode "$d/s2") $(stat -c %u:%g "$d/s2")" "6755 65534:65534"
	(umask 0 && py "import os; os.mknod('$d/s3', 0o4700 | 0o100000)")
	eq "$t: mknod of a regular 04700 file" "$(mode "$d/s3")" 4700
	mkdir "$d/sg" && chmod 2777 "$d/sg"
	nobody mkdir "$d/sg/sub"
	eq "$t: a dir in a set-gid dir inherits set-gid and group" "$(stat -c %A:%g "$d/sg/sub")" "drwxr-sr-x:0"

	# a write, append, truncate or O_TRUNC by another user clears them
	for how in write append truncate otrunc fallocate punch copy_file_range; do
		f=$d/k.$how
		echo data >"$f" && chmod 6777 "$f"
		case $how in
		write) nobody "$PY" -c "import os; fd = os.open('$f', os.O_WRONLY); os.write(fd, b'x'); os.close(fd)" ;;
		append) nobody sh -c "echo x >>'$f'" ;;
		truncate) nobody truncate -s 2 "$f" ;;
		otrunc) nobody sh -c ": >'$f'" ;;
		fallocate) nobody fallocate -l 8192 "$f" ;;
		punch) nobody fallocate -p -o 0 -l 4096 "$f" ;;
		copy_file_range) nobody "$PY" -c "import os; os.copy_file_range(os.open('$d/tr', os.O_RDONLY), os.open('$f', os.O_WRONLY), 1)" ;;
		esac
		eq "$t: $how by nobody clears set-uid and set-gid" "$(mode "$f")" 777
	done
	echo data >"$d/k.ng" && chmod 2666 "$d/k.ng"
	nobody sh -c "echo x >>'$d/k.ng'"
	eq "$t: write by nobody outside the group clears set-gid without group-exec" "$(mode "$d/k.ng")" 666
	echo data >"$d/k.root" && chmod 6777 "$d/k.root"
	echo x >>"$d/k.root"
	truncate -s 1 "$d/k.root"
	: >"$d/k.root"
	eq "$t: root's write, truncate and O_TRUNC keep them" "$(mode "$d/k.root")" 6777
	# root of a user namespace of its own: its capabilities do not count
	if unshare -U -r true 2>/dev/null; then
		echo data >"$d/k.ns" && chmod 6777 "$d/k.ns"
		unshare -U -r sh -c ": >'$d/k.ns'"
		eq "$t: O_TRUNC by a user namespace's root clears them" "$(mode "$d/k.ns")" 777
	else
		echo "# unshare -U not permitted here: user namespace case not run"
	fi
	echo data >"$d/k.own" && chown 65534:65534 "$d/k.own" && chmod 6755 "$d/k.own"
	nobody sh -c "echo x >>'$d/k.own'"
	eq "$t: the owner's own write clears them too" "$(mode "$d/k.own")" 755
	echo data >"$d/k.ch" && chmod 6755 "$d/k.ch"
	chown 65534 "$d/k.ch"
	eq "$t: chown clears set-uid and group-exec set-gid" "$(mode "$d/k.ch")" 755
	echo data >"$d/k.cg" && chown 65534:0 "$d/k.cg" && chmod 6755 "$d/k.cg"
	nobody chgrp 65534 "$d/k.cg"
	eq "$t: chgrp by the owner clears them" "$(mode "$d/k.cg") $(stat -c %g "$d/k.cg")" "755 65534"
	echo data >"$d/k.ch2" && chmod 2644 "$d/k.ch2"
	chown 65534 "$d/k.ch2"
	eq "$t: root's chown keeps set-gid without group-exec" "$(mode "$d/k.ch2")" 2644

	# trusted.* names are for CAP_SYS_ADMIN only, also in listxattr
	echo x >"$d/tx" && setfattr -n trusted.t -v 1 "$d/tx" && setfattr -n user.u -v 1 "$d/tx"
	eq "$t: nobody's listxattr hides trusted.*" "$(nobody "$PY" -c "import os; print(sorted(os.listxattr('$d/tx')))")" "['user.u']"
	eq "$t: root's shows it" "$(py "import os; print(sorted(os.listxattr('$d/tx')))")" "['trusted.t', 'user.u']"

	# O_TMPFILE, then linkat(2) names it
	nobody sh -c "umask 022 && $PY -c \"
import os
fd = os.open('$d', os.O_TMPFILE | os.O_RDWR, 0o640)
os.write(fd, b'tmp')
# linkat(AT_FDCWD, /proc/self/fd/N, dir, name, AT_SYMLINK_FOLLOW)
dfd = os.open('$d', os.O_DIRECTORY)
os.link('/proc/self/fd/%d' % fd, 'named', dst_dir_fd=dfd)
os.close(fd)\""
	eq "$t: O_TMPFILE linked into the directory" "$(cat "$d/named" 2>&1)" tmp
	eq "$t: its mode, owner and links" "$(stat -c '%a %u %h' "$d/named" 2>&1)" "640 65534 1"

	# a write through a shared mapping shows in stat at once (the first
	# write fault updates mtime); on the daemon data path the kernel's page
	# cache holds such writes until writeback: not checked there
	if [ "$t" = tmpfs ] || [ "$CDMFS_DATAPATH" = passthrough ]; then
		eq "$t: stat sees writes through a mapping at once" "$(py "
import mmap, os, time
p = '$d/mm'
with open(p, 'wb') as f: f.write(b'x' * 4096)
seen = []
t0 = os.stat(p).st_mtime_ns	# attributes the kernel may cache
time.sleep(0.05)
fd = os.open(p, os.O_RDWR)
m = mmap.mmap(fd, 4096)
m[0:1] = b'y'			# first write fault: mtime changes
t1 = os.stat(p).st_mtime_ns
seen.append(t1 > t0)
m2 = mmap.mmap(fd, 4096, offset=0)
time.sleep(1.2)
t1 = os.stat(p).st_mtime_ns
time.sleep(0.05)
m.close()
m2[4095:4096] = b'z'		# a new mapping's first write fault
seen.append(os.stat(p).st_mtime_ns > t1)
print(' '.join('changed' if x else 'stale' for x in seen))")" "changed changed"
	fi

	# POSIX ACLs
	if command -v setfacl >/dev/null; then
		mkdir "$d/acl" && chmod 777 "$d/acl"
		setfacl -d -m u::rwx,g::rwx,o::rwx "$d/acl"
		(umask 022 && touch "$d/acl/f" && mkdir "$d/acl/d")
		eq "$t: a default ACL takes the umask's place" "$(mode "$d/acl/f") $(mode "$d/acl/d")" "666 777"
		setfacl -d -m u::rwx,g::r-x,o::- "$d/acl"
		(umask 0 && touch "$d/acl/g")
		eq "$t: the default ACL masks the mode" "$(mode "$d/acl/g")" 640
		echo x >"$d/acl/sg" && chown 65534:0 "$d/acl/sg" && chmod 2770 "$d/acl/sg"
		nobody setfacl -m u:1:r "$d/acl/sg"
		eq "$t: setfacl by the owner outside the group clears set-gid" "$(stat -c %A "$d/acl/sg")" "-rwxrwx---"
		echo x >"$d/acl/m"
		setfacl -m u:65534:r "$d/acl/m" && chmod 600 "$d/acl/m"
		expect_fail "denied" "$t: chmod 600 takes the named user's ACL entry's access" nobody cat "$d/acl/m"
		chmod 640 "$d/acl/m" && setfacl -m u:65534:rw "$d/acl/m"
		eq "$t: stat right after setfacl shows the new mask" "$(stat -c %A "$d/acl/m")" "-rw-rw----"
		check "$t: the ACL grants nobody write" nobody sh -c "echo y >>'$d/acl/m'"
	else
		echo "# setfacl not installed: ACL cases not run"
	fi
}

echo "# reference: tmpfs"
cases "$REF" tmpfs
cdm_mount "sim=gpu0:64M"
echo "# cdmfs, datapath $CDMFS_DATAPATH"
cases "$MNT/gpu0" "cdmfs"

# CREATE of a name the kernel believes absent, which exists in the store:
# the existing-file branch of create must honour O_TRUNC too
d=$MNT/gpu0/c
echo marker >"$d/marker"
sd=$(dirname "$(find "$STORE" -name marker -path '*/c/marker' | head -1)")
ls "$d/late" 2>/dev/null	# a negative entry the kernel caches
echo "old contents" >"$sd/late"
py "import os; fd = os.open('$d/late', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644); os.write(fd, b'new'); os.close(fd)"
eq "cdmfs: O_CREAT|O_TRUNC on a file only the store had" "$(cat "$sd/late")" new

cd / && cdm_umount

# -o suid,dev: honoured only when root mounts (as with tmpfs), and said
cdm_mount "sim=gpu0:64M"
opts=$(findmnt -n -o OPTIONS "$MNT")
check "default mount is nosuid,nodev ($opts)" sh -c "echo '$opts' | grep -q nosuid && echo '$opts' | grep -q nodev"
cdm_umount
cdm_mount "sim=gpu0:64M,suid,dev"
opts=$(findmnt -n -o OPTIONS "$MNT")
check "-o suid,dev as root mounts suid,dev ($opts)" sh -c "! echo '$opts' | grep -q 'nosuid\|nodev'"
check "the log says so" grep -q "suid" "$LOG"
cdm_umount
cdm_mount "sim=gpu0:64M,suid,nosuid"
opts=$(findmnt -n -o OPTIONS "$MNT")
check "the last of suid/nosuid wins ($opts)" sh -c "echo '$opts' | grep -q nosuid"
cdm_umount
out=$(nobody "$CDMFS" -f -o "store=$STORE,sim=gpu0:64M,suid" "$MNT" 2>&1)
rc=$?
check "-o suid refused for a non-root daemon (status $rc: $out)" sh -c "[ $rc = 2 ] && echo '$out' | grep -q 'suid'"
check "...and nothing mounted" sh -c "! mountpoint -q '$MNT'"

finish
