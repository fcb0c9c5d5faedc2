#!/bin/bash
# Bad input gets a one-line error naming the problem and a non-zero exit;
# a daemon without the privilege passthrough needs falls back to serving
# I/O itself, and says so in its log and in user.cdm.datapath.
. "$(dirname "$0")/lib.sh"
require_root_fuse

# run_err WANT-STATUS WANT-TEXT "description" cdmfs-args...
run_err() {
	local want_rc=$1 want=$2 what=$3 out rc lines
	shift 3
	out=$(timeout 20 "$CDMFS" -f "$@" 2>&1)
	rc=$?
	lines=$(printf '%s\n' "$out" | grep -c '^cdmfs: .*'"$want")
	if [ "$rc" = "$want_rc" ] && [ "$lines" = 1 ]; then
		ok "$what: exit $rc, '$(printf '%s\n' "$out" | grep "$want")'"
	else
		not_ok "$what: exit $rc (want $want_rc), output: $out"
	fi
	mountpoint -q "$MNT" && { not_ok "$what: left a mount behind"; umount -l "$MNT"; }
}

mount -t tmpfs -o mode=0755 cdmfs-test-store "$STORE"
run_err 2 "unknown option 'bogus'" "unknown option" -o bogus "$MNT"
run_err 2 "unknown option '--frobnicate'" "unknown flag" --frobnicate "$MNT"
run_err 2 "sim=gpu0:lots: size" "malformed size" -o sim=gpu0:lots "$MNT"
run_err 2 "sim=gpu0:0: size" "zero size" -o sim=gpu0:0 "$MNT"
run_err 2 "device name" "bad device name" -o "sim=../x:1G" "$MNT"
run_err 2 "no mount point" "no mount point" -o sim=a:1G
run_err 1 "mount point $WORK/nonexistent: No such file" "missing mount point" -o sim=a:1G "$WORK/nonexistent"
: >"$WORK/file"
run_err 1 "not a directory" "mount point is a file" -o sim=a:1G "$WORK/file"
run_err 1 "alias=node9:x: no device 'node9'" "alias of an unknown device" -o sim=a:1G,alias=node9:x "$MNT"
run_err 1 "a device of that name exists" "sim named like a real device" -o sim=host:1G "$MNT"
run_err 1 "no memory devices found" "no device at all" -o nohost "$MNT"
mkdir -p /var/tmp/cdmfs-not-tmpfs.$$
run_err 1 "not on tmpfs" "store on a disk filesystem" -o store=/var/tmp/cdmfs-not-tmpfs.$$ "$MNT"
rmdir /var/tmp/cdmfs-not-tmpfs.$$
run_err 1 "store $WORK/nostore" "store that does not exist" -o store="$WORK/nostore" "$MNT"
# a machine without /dev/fuse, in a private mount namespace
out=$(unshare -m --propagation private sh -c "mount -t tmpfs none /dev && '$CDMFS' -f -o sim=a:1G '$MNT'" 2>&1)
rc=$?
if [ "$rc" = 1 ] && [ "$(printf '%s\n' "$out" | grep -c '^cdmfs: /dev/fuse: No such file')" = 1 ]; then
	ok "missing /dev/fuse: exit 1, '$out'"
else
	not_ok "missing /dev/fuse: exit $rc, output: $out"
fi

# Without CAP_SYS_ADMIN the kernel refuses passthrough: run the daemon as
# nobody.  This machine's /dev/fuse may be 0600 (Debian's udev makes it
# 0666), so a private mount namespace gets a 0666 node for the test; the
# mount goes through the setuid fusermount3 as for any user.
if id nobody >/dev/null 2>&1 && command -v fusermount3 >/dev/null; then
	mkdir -p "$WORK/nb/mnt" && chown 65534 "$WORK/nb/mnt"
	mknod "$WORK/fuse" c 10 229 && chmod 0666 "$WORK/fuse"
	nb="setpriv --reuid=65534 --regid=65534 --clear-groups"
	out=$(unshare -m --propagation private bash -c "
		mount --bind '$WORK/fuse' /dev/fuse
		$nb '$CDMFS' -f -o sim=x:16M '$WORK/nb/mnt' >'$WORK/nb.log' 2>&1 &
		pid=\$!
		for i in \$(seq 100); do mountpoint -q '$WORK/nb/mnt' && break; sleep 0.05; done
		$nb sh -c 'echo hello >$WORK/nb/mnt/x/f && cat $WORK/nb/mnt/x/f &&
			getfattr --absolute-names --only-values -n user.cdm.datapath $WORK/nb/mnt/x/f && echo &&
			getfattr --absolute-names --only-values -n user.cdm.stats $WORK/nb/mnt && echo'
		$nb fusermount3 -u '$WORK/nb/mnt'
		wait \$pid; echo daemon-exit=\$?
	" 2>&1)
	echo "$out"
	check "unprivileged daemon serves the file" sh -c "printf '%s\n' '$out' | grep -qx hello"
	check "its datapath xattr says daemon" sh -c "printf '%s\n' '$out' | grep -qx daemon"
	check "its stats count a fallback" sh -c "printf '%s\n' '$out' | grep -q 'passthrough_fallbacks=[1-9]'"
	check "its stats count the daemon's WRITE" sh -c "printf '%s\n' '$out' | grep -q ' write=[1-9]'"
	check "the log says passthrough was refused" grep -q "refused FUSE passthrough" "$WORK/nb.log"
	check "unprivileged daemon exits cleanly" sh -c "printf '%s\n' '$out' | grep -qx daemon-exit=0"
	cat "$WORK/nb.log"
	rm -rf /dev/shm/cdmfs-65534-*
else
	echo "note: no 'nobody' user or no fusermount3: unprivileged fallback not checked"
fi
finish
