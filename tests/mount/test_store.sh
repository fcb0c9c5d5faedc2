#!/bin/bash
# The store is one daemon's: a second daemon on the same store (the same
# -o store=DIR, or the same mount point with the default store) is refused
# with a clear error and the first keeps its files; store names of
# different mount points never collide ("/x/a-b" and "/x/a/b"); a non-root
# daemon refuses a store directory in /dev/shm that someone else made or
# symlinked there.
. "$(dirname "$0")/lib.sh"
require_root_fuse

EXTRA_PIDS=()
EXTRA_MNTS=()
extra_cleanup() {
	local m p
	for m in "${EXTRA_MNTS[@]}"; do
		mountpoint -q "$m" && umount -l "$m"
	done
	for p in "${EXTRA_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "/dev/shm/cdmfs-65534-$(escape_path "$WORK/nb/mnt")" \
		"$WORK/victim"
	cleanup
}
trap extra_cleanup EXIT

# escape_path PATH: the name systemd-escape --path gives PATH (systemd.unit(5),
# "String Escaping"), written out here: a clean root has no systemd
escape_path() {
	python3 - "$1" <<'PY'
import sys
p = "/".join(c for c in sys.argv[1].split("/") if c)
out = []
for i, ch in enumerate(p):
    if ch == "/":
        out.append("-")
    elif ch.isascii() and (ch.isalnum() or ch in ":_" or (ch == "." and i > 0)):
        out.append(ch)
    else:
        out.extend("\\x%02x" % b for b in ch.encode())
print("".join(out) or "-")
PY
}
if command -v systemd-escape >/dev/null; then
	for p in "$WORK/x/a-b" "/a b/.c/d\\e"; do
		eq "escape_path agrees with systemd-escape --path for '$p'" \
			"$(escape_path "$p")" "$(systemd-escape --path "$p")"
	done
fi

# start_extra MNT LOG OPTS: a daemon in the foreground; sets XPID.  Returns
# 0 once MNT is a mount point (at once if it is one already), 1 if the
# daemon exited first.
start_extra() {
	local mnt=$1 log=$2 opts=$3
	"$CDMFS" -f -o "$opts" "$mnt" >"$log" 2>&1 &
	XPID=$!
	EXTRA_PIDS+=("$XPID")
	EXTRA_MNTS+=("$mnt")
	for _ in $(seq 100); do
		mountpoint -q "$mnt" && return 0
		kill -0 "$XPID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# has OUT TEXT: OUT holds TEXT (fixed string)
has() { printf '%s\n' "$1" | grep -qF -- "$2"; }

# stop_extra MNT PID: unmount one mount of MNT and return PID's exit status
# (killed after 10 s: a test must fail, not hang)
stop_extra() {
	umount "$1" 2>/dev/null || umount -l "$1"
	for _ in $(seq 200); do
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	kill "$2" 2>/dev/null && echo "daemon $2 still running 10 s after umount $1"
	wait "$2"
}

# refused PID LOG WANT "what": the daemon exits non-zero, saying WANT
refused() {
	local pid=$1 log=$2 want=$3 what=$4 rc=0
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		not_ok "$what: the second daemon is still running; its log: $(cat "$log")"
		return
	fi
	wait "$pid" || rc=$?
	if [ "$rc" != 0 ] && grep -q -- "$want" "$log"; then
		ok "$what: exit $rc, '$(grep -- "$want" "$log")'"
	else
		not_ok "$what: exit $rc; log: $(cat "$log")"
	fi
}

echo "--- a second daemon on the same -o store=DIR is refused"
cdm_mount "sim=gpu0:64M"
echo data >"$MNT/gpu0/keep"
mkdir -p "$WORK/mnt2"
start_extra "$WORK/mnt2" "$WORK/second.log" "store=$STORE,sim=gpu0:64M"
refused "$XPID" "$WORK/second.log" "in use by another cdmfs daemon (pid $DAEMON_PID)" \
	"second daemon, same store"
check "it mounted nothing" sh -c "! mountpoint -q '$WORK/mnt2'"
eq "the first daemon's file is intact" "$(cat "$MNT/gpu0/keep")" data
check "and so is its backing file" test -f "$STORE/gpu0/keep"
cdm_umount
check "the store is free again after a clean exit: a new daemon takes it" \
	start_extra "$WORK/mnt2" "$WORK/third.log" "store=$STORE,sim=gpu0:64M"
eq "and finds the files" "$(cat "$WORK/mnt2/gpu0/keep" 2>&1)" data
stop_extra "$WORK/mnt2" "$XPID"
eq "that daemon exited cleanly" "$?" 0

echo "--- the default store: a second daemon on the same mount point is refused"
mkdir -p "$WORK/x/a-b" "$WORK/x/a/b"
ab1=$WORK/x/a-b
ab2=$WORK/x/a/b
start_extra "$ab1" "$WORK/ab1.log" "sim=gpu0:64M"
pid1=$XPID
check "first daemon mounted $ab1" mountpoint -q "$ab1"
want1="/run/cdmfs/$(escape_path "$ab1")"
echo one >"$ab1/gpu0/f1"
check "its store is the tmpfs named as escape_path names it: $want1" \
	sh -c "mountpoint -q '$want1' && test -f '$want1/gpu0/f1'"
start_extra "$ab1" "$WORK/ab1-again.log" "sim=gpu0:64M"
refused "$XPID" "$WORK/ab1-again.log" "in use by another cdmfs daemon" \
	"second daemon on the same mount point"
eq "the first daemon's file is intact" "$(cat "$ab1/gpu0/f1" 2>&1)" one
check "its store is still mounted" mountpoint -q "$want1"

echo "--- store names are injective: $ab1 and $ab2 get two stores"
start_extra "$ab2" "$WORK/ab2.log" "sim=gpu0:64M"
pid2=$XPID
check "second daemon mounted $ab2" mountpoint -q "$ab2"
want2="/run/cdmfs/$(escape_path "$ab2")"
check "the stores differ" test "$want1" != "$want2"
check "$ab2 does not see $ab1's file" test ! -e "$ab2/gpu0/f1"
echo two >"$ab2/gpu0/f2"
check "its store: $want2" sh -c "mountpoint -q '$want2' && test -f '$want2/gpu0/f2'"
check "$ab1 does not see $ab2's file" test ! -e "$ab1/gpu0/f2"
stop_extra "$ab2" "$pid2"
eq "daemon of $ab2 exited cleanly" "$?" 0
eq "$ab1 keeps its file after the other's exit" "$(cat "$ab1/gpu0/f1" 2>&1)" one
stop_extra "$ab1" "$pid1"
eq "daemon of $ab1 exited cleanly" "$?" 0
check "both stores are unmounted" sh -c "! mountpoint -q '$want1' && ! mountpoint -q '$want2'"

echo "--- a non-root daemon refuses a /dev/shm store someone else made"
if id nobody >/dev/null 2>&1; then
	nb="setpriv --reuid=65534 --regid=65534 --clear-groups"
	mkdir -p "$WORK/nb/mnt" "$WORK/victim"
	chmod 1777 "$WORK/victim"	# an attacker's directory: anyone may write
	chown 65534 "$WORK/nb/mnt"
	shm="/dev/shm/cdmfs-65534-$(escape_path "$WORK/nb/mnt")"
	rm -rf "$shm"
	ln -s "$WORK/victim" "$shm"
	out=$(timeout 20 $nb "$CDMFS" -f -o sim=x:16M "$WORK/nb/mnt" 2>&1)
	rc=$?
	check "a symlink in its place: refused ($rc: $out)" \
		eval '[ $rc != 0 ] && has "$out" "store $shm: a symlink, not a directory"'
	check "nothing was made through the symlink" test -z "$(ls -A "$WORK/victim")"
	rm -f "$shm"
	mkdir -m 0700 "$shm"	# root's, in the daemon's name
	out=$(timeout 20 $nb "$CDMFS" -f -o sim=x:16M "$WORK/nb/mnt" 2>&1)
	rc=$?
	check "a directory of another user: refused ($rc: $out)" \
		eval '[ $rc != 0 ] && has "$out" "store $shm: owned by uid 0"'
	check "nothing was made in it" test -z "$(ls -A "$shm")"
	chown 65534 "$shm" && chmod 0777 "$shm"
	out=$(timeout 20 $nb "$CDMFS" -f -o sim=x:16M "$WORK/nb/mnt" 2>&1)
	rc=$?
	check "its own, but open to all (0777): refused ($rc: $out)" \
		eval '[ $rc != 0 ] && has "$out" "store $shm: mode 0777, not 0700"'
	rm -rf "$shm"
	# -o huge= cannot apply to /dev/shm: the daemon says so, not silently
	$nb "$CDMFS" -f -o sim=x:16M,huge=always "$WORK/nb/mnt" >"$WORK/nb-huge.log" 2>&1 &
	nbpid=$!
	for _ in $(seq 100); do
		grep -q "does not apply" "$WORK/nb-huge.log" && break
		kill -0 "$nbpid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$nbpid" 2>/dev/null
	wait "$nbpid" 2>/dev/null
	check "non-root: -o huge= is named as not applying to /dev/shm" \
		grep -q "huge=always does not apply: without root" "$WORK/nb-huge.log"
	mountpoint -q "$WORK/nb/mnt" && umount -l "$WORK/nb/mnt"
	rm -rf "$shm"
else
	echo "skipped the /dev/shm checks: no user 'nobody' on this machine"
fi
# the daemons started here besides the lib's: clean sanitizer logs too
for l in "$WORK"/*.log; do
	grep -q "Sanitizer\|runtime error" "$l" && { not_ok "sanitizer report in $l"; cat "$l"; }
done
finish
