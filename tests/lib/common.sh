# The one test library of the mount, vm and kmod tiers (and the conformance
# drivers): TAP output, checks, skips with a reason, the daemon's start and
# clean stop, waiting for a migration, stopping a writer.  POSIX sh (the
# guest runs tests with /bin/sh); each tier's lib.sh sources it and adds
# what is its own:
#
#	. "$(dirname "$0")/../lib/common.sh"	(from a tier's lib.sh)
#
# Output: "ok N - what" / "not ok N - what" per check, "#   ..." for the
# diagnostics of a failed check, a "1..N" plan and a summary line at
# finish.  Exit status: 0 all passed, 1 a failure, 77 skipped (with the
# reason on the line before).
#
# Checks (each counts one):
#   ok WHAT / not_ok WHAT      count a result decided by the caller
#   check WHAT CMD...          CMD must succeed; its output is shown if not
#   check_not WHAT CMD...      CMD must fail (a checker that can say no)
#   check_num WHAT A OP B      test A OP B, both values in the message
#   eq WHAT GOT WANT           string equality
#   expect_fail TEXT WHAT CMD...  CMD must fail with TEXT in its output
# Other:
#   diag LINE...               diagnostics ("#   " lines)
#   skip REASON                exit 77 with the reason
#   finish                     plan, summary, exit status
#   cdm_daemon_start MNT [ARG...]  "$CDMFS" -f ARG... MNT in the background
#                              (after $CDM_WRAP's words, e.g. a prlimit),
#                              wait for the mount (CDM_PID, log in CDM_LOG)
#   cdm_daemon_stop [MNT]      unmount; the daemon must exit with status 0
#                              within 30 s and log no sanitizer report
#   wait_migration FILE [SECONDS]  poll user.cdm.migration (backing off
#                              50 -> 400 ms) until it is no longer running
#   wait_for SECONDS CMD...    poll CMD until it succeeds
#   writer_stop FILE PID       stop a tests/vm/stamper writer and check its
#                              word and every page's last stamp

t_pass=0
t_fail=0
t_n=0
T_NAME=${T_NAME:-$(basename "$0" .sh)}
# a check's output, shown only when it fails (removed by finish and by
# t_cleanup, which the tiers' EXIT traps call)
T_OUT=$(mktemp "${TMPDIR:-/tmp}/cdmfs-check.XXXXXX")
CDM_PID=
CDM_LOG=${CDM_LOG:-}
CDM_MNT=

ok() {
	t_n=$((t_n + 1))
	t_pass=$((t_pass + 1))
	echo "ok $t_n - $*"
}

not_ok() {
	t_n=$((t_n + 1))
	t_fail=$((t_fail + 1))
	echo "not ok $t_n - $*"
}

diag() {
	printf '%s\n' "$@" | sed 's/^/#   /'
}

# check WHAT CMD...: run CMD in this shell (so a function may set
# variables), its output kept aside and printed only if it fails
check() {
	_t_what=$1
	shift
	if "$@" >"$T_OUT" 2>&1; then
		ok "$_t_what"
	else
		not_ok "$_t_what"
		sed 's/^/#   /' "$T_OUT"
	fi
}

negate() { ! "$@"; }

check_not() {
	_t_what=$1
	shift
	check "$_t_what" negate "$@"
}

check_num() {
	check "$1 ($2 $3 $4)" test "$2" "$3" "$4"
}

eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1 (got '$2', want '$3')"
	fi
}

expect_fail() {
	_t_want=$1
	_t_what=$2
	shift 2
	if "$@" >"$T_OUT" 2>&1; then
		not_ok "$_t_what (succeeded, expected: $_t_want)"
	elif grep -qi -- "$_t_want" "$T_OUT"; then
		ok "$_t_what"
	else
		not_ok "$_t_what (got: $(cat "$T_OUT"); expected: $_t_want)"
	fi
}

skip() {
	echo "1..0 # SKIP $T_NAME: $*"
	t_cleanup
	exit 77
}

t_cleanup() {
	rm -f "$T_OUT"
}

finish() {
	echo "1..$t_n"
	echo "# $T_NAME: $t_pass passed, $t_fail failed"
	t_cleanup
	[ "$t_fail" -eq 0 ]
	exit $?
}

# quiet getfattr's "Removing leading '/'" notes
getfattr() { command getfattr --absolute-names "$@"; }

# cdm_daemon_start MNT [ARG...]: run the daemon in the foreground of a
# background job, its output appended to $CDM_LOG (default MNT/../daemon.log),
# and wait up to 10 s for MNT to become a mount point.  Exits the test (1)
# with the daemon's log if it does not.
cdm_daemon_start() {
	CDM_MNT=$1
	shift
	[ -n "$CDM_LOG" ] || CDM_LOG=$(dirname "$CDM_MNT")/daemon.log
	# exec: $! is the daemon itself (or the wrapper that execs it), not a
	# subshell waiting for it
	# shellcheck disable=SC2086 # CDM_WRAP: words on purpose
	(exec ${CDM_WRAP:-} "$CDMFS" -f "$@" "$CDM_MNT") >>"$CDM_LOG" 2>&1 &
	CDM_PID=$!
	for _ in $(seq 200); do
		mountpoint -q "$CDM_MNT" && return 0
		kill -0 "$CDM_PID" 2>/dev/null || break
		sleep 0.05
	done
	not_ok "cdmfs did not mount $CDM_MNT; its log:"
	sed 's/^/#   /' "$CDM_LOG"
	finish
}

# cdm_daemon_stop: unmount and require a clean daemon exit.  Bounded: a
# daemon that does not exit is a failure shown with its threads' kernel
# state, not a test that hangs until meson's timeout.
cdm_daemon_stop() {
	[ -n "$CDM_PID" ] || return 0
	if ! umount "$CDM_MNT" 2>"$T_OUT"; then
		diag "umount $CDM_MNT: $(cat "$T_OUT"); still using it:"
		fuser -vm "$CDM_MNT" 2>&1 | sed 's/^/#   /'
		umount -l "$CDM_MNT"
	fi
	for _ in $(seq 600); do
		kill -0 "$CDM_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$CDM_PID" 2>/dev/null; then
		not_ok "daemon $CDM_PID still running 30 s after the unmount; its threads:"
		for _t in /proc/"$CDM_PID"/task/*; do
			echo "#   $(cat "$_t/comm" 2>/dev/null) wchan=$(cat "$_t/wchan" 2>/dev/null) syscall=$(cut -d' ' -f1 "$_t/syscall" 2>/dev/null)"
			sed 's/^/#     /' "$_t/stack" 2>/dev/null
		done
		tail -n 20 "$CDM_LOG" | sed 's/^/#   log: /'
		kill -9 "$CDM_PID"
	fi
	_t_rc=0
	wait "$CDM_PID" || _t_rc=$?
	CDM_PID=
	eq "daemon exited cleanly (status)" "$_t_rc" 0
	if grep -q 'Sanitizer\|runtime error' "$CDM_LOG"; then
		not_ok "daemon log has a sanitizer report"
		sed 's/^/#   /' "$CDM_LOG"
	fi
}

# cdm_daemon_kill: for EXIT traps; no checks
cdm_daemon_kill() {
	[ -n "$CDM_PID" ] || return 0
	umount "$CDM_MNT" 2>/dev/null || umount -l "$CDM_MNT" 2>/dev/null
	kill "$CDM_PID" 2>/dev/null
	wait "$CDM_PID" 2>/dev/null
	CDM_PID=
}

# wait_migration FILE [SECONDS]: setfattr user.cdm.policy and mv across
# devices return before the pages have moved; poll FILE's
# user.cdm.migration until it no longer says "running" (60 s at most) and
# print what it says then.  Fails on a timeout or a failed migration.  The
# poll backs off from 50 to 400 ms: each getfattr is an exec, which (in the
# TCG guest above all) takes CPU from the migration and the writers.
wait_migration() {
	_t_ms=0
	_t_step=50
	while [ "$_t_ms" -lt $((${2:-60} * 1000)) ]; do
		if ! _t_m=$(getfattr --only-values -n user.cdm.migration "$1" 2>&1); then
			echo "wait_migration: $1: $_t_m"
			return 1
		fi
		case $_t_m in
		running*) ;;
		*"last: failed"*) echo "$1: $_t_m"; return 1 ;;
		*) echo "$1: $_t_m"; return 0 ;;
		esac
		sleep "$((_t_step / 1000)).$(printf %03d $((_t_step % 1000)))"
		_t_ms=$((_t_ms + _t_step))
		[ "$_t_step" -ge 400 ] || _t_step=$((_t_step * 2))
	done
	echo "wait_migration: $1 still says '$_t_m' after ${2:-60} s"
	return 1
}

# wait_for SECONDS COMMAND...: run COMMAND every 0.1 s until it succeeds
# (0) or SECONDS passed (1, with COMMAND's last output)
wait_for() {
	_t_end=$(($(date +%s) + $1))
	shift
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$_t_end" ]; then
			"$@"
			return 1
		fi
		sleep 0.1
	done
}

# writer_stop FILE PID: stop the stamper PID (tests/vm/stamper.c) that
# wrote FILE through a mapping, its output in stamper.out and stamper.err;
# it must exit 0 with no SIGBUS and no misread, and read(2) must find every
# page's last stamp.
writer_stop() {
	kill -TERM "$2"
	_t_wrc=0
	wait "$2" || _t_wrc=$?
	cat stamper.out stamper.err | sed 's/^/#   /'
	check_num "writer exited 0 (no SIGBUS, no misread)" "$_t_wrc" -eq 0
	check_not "writer got no SIGBUS" grep -q SIGBUS stamper.out
	check "writer read back its own previous stamp on every page, every pass" \
		grep -q ' misreads 0 ' stamper.out
	# "stamper: seq S next K pages N ...": S and K
	# shellcheck disable=SC2046 # split on purpose
	set -- "$1" $(cat stamper.out)
	check "every page holds the writer's last stamp (read(2))" \
		stamper --check "$1" "$4" "$6"
}
