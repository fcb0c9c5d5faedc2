# Shared by the mount suite: each test owns a private work dir with its own
# tmpfs store and mount point, runs the real daemon in the foreground, and
# fails if the daemon did not exit cleanly at unmount.
#
# Environment (set by meson): CDMFS = the daemon binary; CDMFS_DATAPATH =
# "passthrough" (default) or "daemon" (adds -o nopassthrough);
# CDMFS_TRANSPORT = "io_uring" (adds -o io_uring=on: the mount fails unless
# the fuse module's enable_uring is Y) or "dev_fuse" (-o io_uring=off);
# unset: the daemon's default (auto).  `meson test --setup io_uring` and
# `--setup dev_fuse` set it; scripts/test runs the mount suite with both.
set -u

: "${CDMFS:?CDMFS must name the cdmfs binary}"
CDMFS_DATAPATH=${CDMFS_DATAPATH:-passthrough}
CDMFS_TRANSPORT=${CDMFS_TRANSPORT:-}
case $CDMFS_TRANSPORT in
io_uring) CDMFS_TRANSPORT_OPT=io_uring=on ;;
dev_fuse) CDMFS_TRANSPORT_OPT=io_uring=off ;;
'') CDMFS_TRANSPORT_OPT= ;;
*) echo "CDMFS_TRANSPORT=$CDMFS_TRANSPORT: expected io_uring or dev_fuse" >&2; exit 1 ;;
esac
T_NAME=$(basename "$0" .sh)
# shellcheck source=tests/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

require_root_fuse() {
	[ "$(id -u)" = 0 ] || skip "needs root (mounts a tmpfs store and FUSE)"
	[ -c /dev/fuse ] || skip "no /dev/fuse on this machine"
}

WORK=$(mktemp -d /tmp/cdmfs-test.XXXXXX)
MNT=$WORK/mnt
STORE=$WORK/store
LOG=$WORK/daemon.log
CDM_LOG=$LOG
DAEMON_PID=
mkdir -p "$MNT" "$STORE"
chmod 0755 "$WORK"	# other users reach the mount through it

# cdm_mount [extra -o options]: mount with a private tmpfs store.  That
# tmpfs has no huge=, so files get 4 KiB pages whatever cdmfs's default
# (the sparse and capacity tests count 4 KiB pages); test_huge mounts the
# daemon's own store, 2 MiB pages by default.
cdm_mount() {
	local opts="store=$STORE"
	mountpoint -q "$STORE" || mount -t tmpfs -o mode=0755 cdmfs-test-store "$STORE"
	[ "$CDMFS_DATAPATH" = daemon ] && opts="$opts,nopassthrough"
	[ -n "$CDMFS_TRANSPORT_OPT" ] && opts="$opts,$CDMFS_TRANSPORT_OPT"
	[ $# -gt 0 ] && opts="$opts,$1"
	cdm_daemon_start "$MNT" -o "$opts"
	DAEMON_PID=$CDM_PID
}

# cdm_umount: unmount and require a clean daemon exit (status 0, no
# sanitizer report in its log); also of a daemon a test started itself
# and named in DAEMON_PID
cdm_umount() {
	CDM_PID=$DAEMON_PID
	CDM_MNT=$MNT
	cdm_daemon_stop
	DAEMON_PID=
}

cleanup() {
	set +e
	CDM_PID=$DAEMON_PID
	CDM_MNT=$MNT
	cdm_daemon_kill
	mountpoint -q "$STORE" && umount -l "$STORE"
	rm -rf "$WORK"
	t_cleanup
}
trap cleanup EXIT

# own_store_mount OPTS: mount with the store the daemon mounts for itself
# (root, no -o store=: a tmpfs under /run/cdmfs, with whatever it mounts
# inside), the data path's and transport's options added; OWN_STORE names
# it.  The test's EXIT trap calls own_store_cleanup (instead of cleanup),
# which also detaches what a failed test left of it.
OWN_STORE=
own_store_cleanup() {
	cleanup
	[ -n "$OWN_STORE" ] && mountpoint -q "$OWN_STORE" &&
		umount -l "$OWN_STORE" && rmdir "$OWN_STORE"
}
own_store_mount() {
	local opts=$1
	[ "$CDMFS_DATAPATH" = daemon ] && opts="$opts,nopassthrough"
	[ -n "$CDMFS_TRANSPORT_OPT" ] && opts="$opts,$CDMFS_TRANSPORT_OPT"
	cdm_daemon_start "$MNT" -o "$opts"
	DAEMON_PID=$CDM_PID
	# the store's name ends in this test's WORK suffix; findmnt -r writes
	# a '\' (the store's escaping) as \x5c, which %b undoes
	OWN_STORE=$(printf '%b' "$(findmnt -rn -S cdmfs-store -o TARGET |
		grep -F "${WORK##*.}" | head -n1)")
}
