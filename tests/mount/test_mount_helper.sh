#!/bin/bash
# mount.cdmfs through mount(8): "mount -t cdmfs" and an fstab line mount a
# daemonized cdmfs, options only mount(8)/fstab/systemd read are dropped,
# fake mode starts nothing, bad options fail in one line, and the daemon is
# gone after umount.
#
# Environment: CDMFS (the daemon), MOUNT_CDMFS (the configured helper in the
# build dir).  mount(8) looks for helpers in /sbin only: the test runs in a
# private mount namespace where an overlay adds this build's helper to
# /sbin, so nothing is installed on the machine, an installed cdmfs is not
# used, and two clones' runs cannot see each other's helper.
if [ -z "${CDMFS_HELPER_NS:-}" ]; then
	command -v unshare >/dev/null || { echo "no unshare(1) (util-linux)"; exit 1; }
	CDMFS_HELPER_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

require_root_fuse
: "${MOUNT_CDMFS:?MOUNT_CDMFS must name the configured mount.cdmfs}"
[ -x "$MOUNT_CDMFS" ] || { echo "$MOUNT_CDMFS: not executable"; exit 1; }
command -v mount >/dev/null || skip "no mount(8)"

sbin=$(readlink -f /sbin)
mkdir "$WORK/sbin"
ln -s "$(readlink -f "$MOUNT_CDMFS")" "$WORK/sbin/mount.cdmfs"
mount -t overlay cdmfs-test-sbin -o "lowerdir=$WORK/sbin:$sbin" "$sbin" || {
	echo "cannot put this build's mount.cdmfs into /sbin with an overlay"
	exit 1
}

# the helper's own search would find an installed cdmfs, not this build's
export CDMFS_BIN=$CDMFS

OPTS="store=$STORE,sim=gpu0:64M"
[ "$CDMFS_DATAPATH" = daemon ] && OPTS="$OPTS,nopassthrough"

daemon_pids() { pgrep -f "cdmfs.*$MNT"; }
has_daemon() { daemon_pids >/dev/null; }
# logged CMD...: run CMD with its output (the daemon's start-up lines) in $LOG
logged() { "$@" >>"$LOG" 2>&1; }

# wait_daemon_gone: true once no cdmfs process for $MNT is left (5 s)
wait_daemon_gone() {
	for _ in $(seq 100); do
		has_daemon || return 0
		sleep 0.05
	done
	return 1
}

helper_cleanup() {
	set +e
	if mountpoint -q "$MNT"; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	if ! wait_daemon_gone; then
		daemon_pids | xargs -r kill
		wait_daemon_gone
	fi
	umount "$sbin" 2>/dev/null
	cleanup		# lib.sh's: the store and the work dir
}
trap helper_cleanup EXIT
# a meson timeout must not leave a mount or a daemon behind
trap 'exit 1' INT TERM

mountpoint -q "$STORE" || mount -t tmpfs -o mode=0755 cdmfs-test-store "$STORE"

is_cdmfs_mount() {
	awk -v m="$MNT" '$2 == m && $3 == "fuse.cdmfs" { f = 1 } END { exit !f }' \
		/proc/mounts
}
not_mounted() { ! mountpoint -q "$MNT"; }
no_daemon() { ! has_daemon; }

# umount_and_wait WHAT: unmount and require the daemon to go away
umount_and_wait() {
	check "$1: umount" umount "$MNT"
	check "$1: no cdmfs process for the mount point after umount" \
		wait_daemon_gone
}

# --- mount -t cdmfs ---------------------------------------------------------
check "mount -t cdmfs none MNT -o $OPTS" \
	logged mount -t cdmfs none "$MNT" -o "$OPTS"
# no polling: the daemon forks only once the mount is in place
check "mounted when mount(8) returns" mountpoint -q "$MNT"
check "/proc/mounts shows fuse.cdmfs at MNT" is_cdmfs_mount
check "gpu0 is a directory" test -d "$MNT/gpu0"
eq "df MNT/gpu0 shows 64M" \
	"$(df -BM --output=size "$MNT/gpu0" 2>&1 | tail -n 1 | tr -d ' ')" 64M
check "the daemon runs detached" has_daemon
umount_and_wait "mount -t"

# --- fstab line ---------------------------------------------------------------
FSTAB_OPTS="$OPTS,nofail,noauto,_netdev,x-systemd.foo,x-systemd.requires=local-fs.target"
printf 'none %s cdmfs %s 0 0\n' "$MNT" "$FSTAB_OPTS" >"$WORK/fstab"
if out=$(mount -v -T "$WORK/fstab" "$MNT" 2>>"$LOG"); then
	ok "mount -T fstab MNT ($FSTAB_OPTS)"
else
	not_ok "mount -T fstab MNT ($FSTAB_OPTS)"
fi
check "fstab: /proc/mounts shows fuse.cdmfs at MNT" is_cdmfs_mount
check "fstab: gpu0 is a directory" test -d "$MNT/gpu0"
cmd=$(printf '%s\n' "$out" | grep '^mount.cdmfs: running:')
if [ -z "$cmd" ]; then
	not_ok "fstab: mount -v shows the daemon's command (got: $out)"
elif printf '%s' "$cmd" | grep -qE 'nofail|noauto|_netdev|x-systemd'; then
	not_ok "fstab: mount(8)-only options dropped (got: $cmd)"
else
	ok "fstab: mount(8)-only options dropped"
fi
umount_and_wait "fstab"

# --- fake mode ----------------------------------------------------------------
out=$(mount -fv -t cdmfs none "$MNT" -o "$OPTS" 2>&1)
eq "mount -f: exit status" "$?" 0
check "mount -f: says it is fake" grep -q "fake mount" <<<"$out"
sleep 0.2
check "mount -f: nothing mounted" not_mounted
check "mount -f: no daemon started" no_daemon
check "mount -f -T fstab" logged mount -f -T "$WORK/fstab" "$MNT"
sleep 0.2
check "mount -f -T fstab: nothing mounted, no daemon" eval 'not_mounted && no_daemon'

# --- errors -------------------------------------------------------------------
out=$(mount -t cdmfs none "$MNT" -o "$OPTS,bogus_opt" 2>&1)
rc=$?
check "bad option: non-zero exit (got $rc)" test "$rc" -ne 0
# the daemon may add a usage hint below; the error itself is one line
if head -n 1 <<<"$out" | grep -q "bogus_opt"; then
	ok "bad option: the first line of the error names it"
else
	not_ok "bad option: the first line of the error names it (got: $out)"
fi
check "bad option: nothing mounted, no daemon" eval 'not_mounted && no_daemon'

out=$(mount -t cdmfs none "$MNT" -o "$OPTS,setuid=nobody" 2>&1)
rc=$?
check "setuid=: refused with non-zero exit (got $rc)" test "$rc" -ne 0
eq "setuid=: one-line error" "$(printf '%s\n' "$out" | wc -l)" 1
if grep -q "setuid=nobody" <<<"$out"; then
	ok "setuid=: the error names it"
else
	not_ok "setuid=: the error names it (got: $out)"
fi

out=$(CDMFS_BIN=$WORK/no-such-cdmfs mount -t cdmfs none "$MNT" -o "$OPTS" 2>&1)
rc=$?
check "missing daemon: non-zero exit (got $rc)" test "$rc" -ne 0
eq "missing daemon: one-line error" "$(printf '%s\n' "$out" | wc -l)" 1
check "missing daemon: nothing mounted" not_mounted

check "no cdmfs process for MNT remains" no_daemon
finish
