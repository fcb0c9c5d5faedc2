#!/bin/bash
# -o debug shows libfuse's request trace through cdmfs's own log (cdm_log:
# stderr in the foreground, syslog once daemonized, where libfuse's
# default stderr had gone to /dev/null): each trace line carries cdm_log's
# "cdmfs: " prefix, one line per message (no blank lines from libfuse's
# trailing newlines); without debug there is no trace.
# The journal: under systemd (cdmfs@.service runs cdmfs -f) stderr is the
# journal's stream, named by $JOURNAL_STREAM: then each line starts with
# "<N>", its syslog level, which the journal keeps (SyslogLevelPrefix=).
# Without systemd here, the test plays its part: JOURNAL_STREAM names the
# daemon's log file.  A daemonized cdmfs logs through syslog(3): in a mount
# namespace of its own, /dev/log is a socket the test listens on, and the
# daemon's lines arrive there as "<PRI>... cdmfs[PID]: ..." from LOG_DAEMON.
. "$(dirname "$0")/lib.sh"
require_root_fuse

cdm_mount "sim=gpu0:64M,debug"
echo data >"$MNT/gpu0/f"
cat "$MNT/gpu0/f" >/dev/null
cdm_umount
grep -m3 'unique:' "$LOG"
# libfuse 3.17 writes "unique: N, opcode: ...", 3.18 "dev unique: ..." for a
# request from /dev/fuse and "cqe unique: ..." for one from an io_uring
check "the request trace goes through cdm_log (cdmfs: [dev |cqe ]unique: ...)" \
	grep -Eq '^cdmfs: (dev |cqe )?unique: [0-9]+, opcode: [A-Z_]+' "$LOG"
eq "no trace line bypasses it" "$(grep -Ec '^(dev |cqe )?unique:' "$LOG")" 0
eq "no blank lines from libfuse's own newlines" "$(grep -c '^cdmfs: *$' "$LOG")" 0
check "cdmfs's own debug messages too" grep -q '^cdmfs: device gpu0' "$LOG"

: >"$LOG"
cdm_mount "sim=gpu0:64M"
ls "$MNT/gpu0" >/dev/null
cdm_umount
eq "without debug: no trace" "$(grep -c 'unique:' "$LOG")" 0

echo "--- stderr is the journal's stream: <N> levels"
: >"$LOG"
export JOURNAL_STREAM
JOURNAL_STREAM=$(stat -c %d:%i "$LOG")
cdm_mount "sim=gpu0:64M,debug"
unset JOURNAL_STREAM
ls "$MNT/gpu0" >/dev/null
cdm_umount
sed -n '1,3p' "$LOG"
check "info at level 6 (<6>)" grep -q '^<6>store .*: the pages are the size' "$LOG"
check "the request trace at level 7 (<7>)" grep -Eq '^<7>(dev |cqe )?unique: [0-9]+' "$LOG"
eq "every line has its level" "$(grep -vc '^<[0-7]>' "$LOG")" 0
: >"$LOG"
JOURNAL_STREAM=1:1 cdm_mount "sim=gpu0:64M,debug"
cdm_umount
check "a JOURNAL_STREAM that is not stderr changes nothing" \
	negate grep -q '^<[0-7]>' "$LOG"

echo "--- daemonized: syslog(3)"
if ! command -v unshare >/dev/null; then
	skip "unshare (util-linux) gives the daemon a /dev/log of the test's"
fi
SYSLOG=$WORK/syslog
: >"$SYSLOG"
mountpoint -q "$STORE" || mount -t tmpfs -o mode=0755 cdmfs-test-store "$STORE"
# in a mount namespace of its own: a /dev with the nodes the daemon needs
# and a socket for /dev/log; the host's /dev stays as it is
unshare -m --propagation private bash -s "$WORK" "$CDMFS" "$MNT" "$STORE" "$SYSLOG" <<'NS' >"$WORK/ns.out" 2>&1
set -u
work=$1 cdmfs=$2 mnt=$3 store=$4 out=$5
dev=$work/dev
mkdir "$dev"
for n in null zero full random urandom fuse; do
	touch "$dev/$n"
	mount --bind "/dev/$n" "$dev/$n"
done
ln -s /proc/self/fd "$dev/fd"
python3 - "$dev/log" "$out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536).rstrip(b"\n") + b"\n")
PY
lpid=$!
for _ in $(seq 100); do [ -S "$dev/log" ] && break; sleep 0.05; done
mount --rbind "$dev" /dev
"$cdmfs" -o "sim=gpu0:64M,store=$store,debug" "$mnt" || exit 1
ls "$mnt/gpu0" >/dev/null
echo x >"$mnt/gpu0/syslog-new"
sleep 0.2
dpid=$(sed -n 's/.*cdmfs\[\([0-9]*\)\]: .*/\1/p' "$out" | tail -n1)
umount "$mnt"
# the daemon exits once its mount is gone
for _ in $(seq 100); do
	[ -n "$dpid" ] && kill -0 "$dpid" 2>/dev/null || break
	sleep 0.05
done
kill "$lpid"
NS
rc=$?
sed 's/^/#   /' "$WORK/ns.out"
eq "the daemonized run mounted and unmounted" "$rc" 0
sed -n '1,3p' "$SYSLOG"
check "its request trace reached syslog: debug of LOG_DAEMON (<31>), cdmfs[PID]" \
	grep -Eq '^<31>.* cdmfs\[[0-9]+\]: (dev |cqe )?unique: [0-9]+, opcode: ' "$SYSLOG"
check "a CREATE among them (the echo into a new file)" grep -q 'opcode: CREATE' "$SYSLOG"
finish
