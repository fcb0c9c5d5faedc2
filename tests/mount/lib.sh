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
T_PASS=0
T_FAIL=0
T_NAME=$(basename "$0" .sh)

skip() {
	echo "SKIP $T_NAME: $*"
	exit 77
}

require_root_fuse() {
	[ "$(id -u)" = 0 ] || skip "needs root (mounts a tmpfs store and FUSE)"
	[ -c /dev/fuse ] || skip "no /dev/fuse on this machine"
}

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }

# check "description" command...: passes when the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# expect_fail ERRNO-TEXT "description" command...: must fail with that text
expect_fail() {
	local want=$1 what=$2 out
	shift 2
	if out=$("$@" 2>&1); then
		not_ok "$what (succeeded, expected: $want)"
	elif printf '%s' "$out" | grep -qi -- "$want"; then
		ok "$what"
	else
		not_ok "$what (got: $out; expected: $want)"
	fi
}

# eq "description" GOT WANT
eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi
}

# quiet "Removing leading '/'" notes
getfattr() { command getfattr --absolute-names "$@"; }

# wait_migration FILE [SECONDS]: setfattr user.cdm.policy and mv across
# devices return before the pages have moved; wait (60 s at most) until
# FILE's user.cdm.migration no longer says "running" and print what it
# says then.  Fails on a timeout or a failed migration.
wait_migration() {
	local f=$1 secs=${2:-60} v i
	for ((i = 0; i < secs * 20; i++)); do
		if ! v=$(getfattr --only-values -n user.cdm.migration "$f" 2>&1); then
			echo "wait_migration: $f: $v"
			return 1
		fi
		case $v in
		running*) sleep 0.05 ;;
		*) echo "$f: $v"; [[ $v != *"last: failed"* ]]; return ;;
		esac
	done
	echo "wait_migration: $f still says '$v' after $secs s"
	return 1
}

WORK=$(mktemp -d /tmp/cdmfs-test.XXXXXX)
MNT=$WORK/mnt
STORE=$WORK/store
LOG=$WORK/daemon.log
DAEMON_PID=
mkdir -p "$MNT" "$STORE"
chmod 0755 "$WORK"	# other users reach the mount through it

# cdm_mount [extra -o options]: mount with a private tmpfs store
cdm_mount() {
	local opts="store=$STORE"
	mountpoint -q "$STORE" || mount -t tmpfs -o mode=0755 cdmfs-test-store "$STORE"
	[ "$CDMFS_DATAPATH" = daemon ] && opts="$opts,nopassthrough"
	[ -n "$CDMFS_TRANSPORT_OPT" ] && opts="$opts,$CDMFS_TRANSPORT_OPT"
	[ $# -gt 0 ] && opts="$opts,$1"
	"$CDMFS" -f -o "$opts" "$MNT" >>"$LOG" 2>&1 &
	DAEMON_PID=$!
	for _ in $(seq 100); do
		mountpoint -q "$MNT" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "cdmfs did not mount; its log:"
	cat "$LOG"
	exit 1
}

# cdm_umount: unmount and require a clean daemon exit (status 0, no
# sanitizer report in its log)
cdm_umount() {
	local rc=0
	[ -n "$DAEMON_PID" ] || return 0
	umount "$MNT" || umount -l "$MNT"
	# bounded: a daemon that does not exit is a failure with its threads'
	# state, not a test that hangs until meson's timeout
	local i
	for i in $(seq 600); do
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$DAEMON_PID" 2>/dev/null; then
		not_ok "daemon $DAEMON_PID still running 30 s after the unmount; its threads:"
		for t in /proc/"$DAEMON_PID"/task/*; do
			echo "#   $(cat "$t/comm" 2>/dev/null) wchan=$(cat "$t/wchan" 2>/dev/null) syscall=$(cut -d' ' -f1 "$t/syscall" 2>/dev/null)"
			sed 's/^/#     /' "$t/stack" 2>/dev/null
		done
		tail -n 20 "$LOG" | sed 's/^/#   log: /'
		kill -9 "$DAEMON_PID"
	fi
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	eq "daemon exited cleanly (status)" "$rc" 0
	if grep -q "Sanitizer\|runtime error" "$LOG"; then
		not_ok "daemon log has a sanitizer report"
		cat "$LOG"
	fi
}

cleanup() {
	set +e
	if [ -n "$DAEMON_PID" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	mountpoint -q "$STORE" && umount -l "$STORE"
	rm -rf "$WORK"
}
trap cleanup EXIT

# finish: print the summary line and exit non-zero on any failure
finish() {
	echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" = 0 ]
	exit $?
}
