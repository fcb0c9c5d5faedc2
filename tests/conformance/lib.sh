# Shared by the conformance drivers: a reference tmpfs and a cdmfs mount
# (private tmpfs store, simulated devices sim0 and sim1), each with a
# directory pair for root and one for an unprivileged user, and the
# clean-unmount check of tests/lib/common.sh.
#
# Environment (set by meson): CDMFS = the daemon binary; CDMFS_TRANSPORT as
# in tests/mount/lib.sh (io_uring, dev_fuse, or unset: the default).
set -u

: "${CDMFS:?CDMFS must name the cdmfs binary}"
T_NAME=${T_NAME:-$(basename "$0" .sh)}
USER_ID=65534	# the unprivileged user: nobody
FAILED=()	# "target: what" for the summary
WORK=
# shellcheck source=tests/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

[ "$(id -u)" = 0 ] || skip "needs root (mounts tmpfs and FUSE, acts as a second user)"
[ -c /dev/fuse ] || skip "no /dev/fuse on this machine"
command -v setpriv >/dev/null || skip "no setpriv (util-linux) to run as uid $USER_ID"

WORK=$(mktemp -d /tmp/cdmfs-conf.XXXXXX)
chmod 0755 "$WORK"	# the unprivileged user reaches the mounts through it
LOG=$WORK/daemon.log
CDM_LOG=$LOG

cleanup() {
	set +e
	cdm_daemon_kill
	t_cleanup
	for m in "$WORK/store" "$WORK/ref"; do
		mountpoint -q "$m" && umount -l "$m"
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT	# so that a killed run still cleans up

# as_user CMD...: run as the unprivileged user, no supplementary groups
as_user() {
	setpriv --reuid=$USER_ID --regid=$USER_ID --clear-groups -- "$@"
}

# pair_dirs A B OWNER: make A and B (the two "devices") for OWNER
pair_dirs() {
	mkdir -p "$1" "$2" && chown "$3:$3" "$1" "$2" && chmod 0755 "$1" "$2"
}

# mount_ref: the reference, a plain tmpfs of a simulated device's size (256M)
# with two subdirectories per user;
# prints the root of the pairs
mount_ref() {
	mkdir -p "$WORK/ref"
	mount -t tmpfs -o mode=0755,size=256M cdmfs-conf-ref "$WORK/ref" || exit 1
	mkdir -m 01777 "$WORK/ref/a" "$WORK/ref/b"
}

umount_ref() {
	umount "$WORK/ref"
}

# mount_cdmfs DATAPATH: cdmfs with two simulated devices, a fresh store;
# DATAPATH is passthrough or daemon (-o nopassthrough)
mount_cdmfs() {
	local opts
	mkdir -p "$WORK/mnt"
	# the daemon's own store: each device a tmpfs of its own, as a user
	# gets it (4 KiB pages, as the reference)
	opts="sim=sim0:256M,sim=sim1:256M,huge=never"
	[ "$1" = daemon ] && opts="$opts,nopassthrough"
	case ${CDMFS_TRANSPORT:-} in
	io_uring) opts="$opts,io_uring=on" ;;
	dev_fuse) opts="$opts,io_uring=off" ;;
	esac
	: >"$LOG"
	cdm_daemon_start "$WORK/mnt" -o "$opts"
}

# umount_cdmfs LABEL: unmount, require a clean daemon exit (status 0, no
# sanitizer report), drop the store
umount_cdmfs() {
	local failed=$t_fail
	cdm_daemon_stop
	[ "$t_fail" = "$failed" ] ||
		FAILED+=("$1: the daemon did not exit cleanly after the unmount")
	# a daemon that did not exit cleanly leaves its store mounted
	local store
	store=$(findmnt -rn -S cdmfs-store -o TARGET | grep -F "${WORK##*/}" | head -n1)
	[ -n "$store" ] && umount -l "$(printf '%b' "$store")"
}

# finish: the summary; non-zero exit on any failure
finish() {
	local f
	echo "# $T_NAME summary"
	if [ ${#FAILED[@]} = 0 ]; then
		echo "# every target passed"
		exit 0
	fi
	for f in "${FAILED[@]}"; do
		echo "# FAILED $f"
	done
	exit 1
}
