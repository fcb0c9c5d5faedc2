#!/bin/bash
# -o debug shows libfuse's request trace through cdmfs's own log (cdm_log:
# stderr in the foreground, syslog once daemonized, where libfuse's
# default stderr had gone to /dev/null): each trace line carries cdm_log's
# "cdmfs: " prefix, one line per message (no blank lines from libfuse's
# trailing newlines); without debug there is no trace.
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
finish
