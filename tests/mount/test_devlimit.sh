#!/bin/bash
# Per-device capacity of the data that bypasses the daemon (issue 11, item
# 3; doc/capacity.md): with the daemon's own store, each simulated device
# is held to its size by the kernel whatever the other devices hold, inode
# numbers stay unique, and mv across devices stays live.  Each case runs
# first on plain tmpfs (the reference: it must pass there), then on cdmfs,
# and asks the kernel: statfs of the device's directory in the store (its
# own tmpfs), st_blocks of backing files, /proc/vmstat.
#   1. a full 64M device: dd gets ENOSPC, a fault SIGBUS (passthrough),
#      while the other device and the host still take data; no OOM kill
#   2. st_ino unique across devices, readdir's d_ino = stat's st_ino
#   3. mv of a closed file gpu0 -> cxl0 keeps its attributes and is charged
#      to cxl0 within 10 s, after which gpu0 takes its 64 MiB again
#   4. mv of a file a writer has mapped: no write lost, charged to gpu0
#      while mapped, to cxl0 within 10 s after, st_ino stable
#   5. after such a mv: rm while mapped, rename within cxl0 and back to
#      gpu0, ln inside cxl0 (on cdmfs EXDEV while the file is still open
#      on gpu0's tmpfs, README "Known limits"; once home, a link)
. "$(dirname "$0")/lib.sh"
require_root_fuse
command -v setfattr >/dev/null || skip "no setfattr (package attr)"

MiB=1024	# in KiB, df's unit
oom0=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)

# The writer of cases 4 and 5, and the fault of case 1.
#   mapw.py write FILE: stamp { pass, page } at the start of every page of
#	FILE through one MAP_SHARED mapping, pass after pass, each page read
#	back first (it must hold the previous pass's stamp); after the first
#	pass print "running"; on SIGTERM finish the pass, check every page
#	with pread(2) on its own fd, print "passes S misreads M" and exit 0
#	if M is 0, else 1.  A SIGBUS kills it (exit 135).
#   mapw.py check FILE S: every page of FILE (read(2)) holds { S, page }.
#   mapw.py fault FILE MIB: ftruncate FILE to MIB and write a byte to
#	every page through a mapping.
cat >"$WORK/mapw.py" <<'EOF'
import mmap, os, signal, struct, sys

PS = mmap.PAGESIZE
mode, path = sys.argv[1], sys.argv[2]
if mode == "fault":
    size = int(sys.argv[3]) << 20
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, size)
    m = mmap.mmap(fd, size)
    for off in range(0, size, PS):
        m[off] = 1
    sys.exit(0)
if mode == "check":
    want = int(sys.argv[3])
    data = open(path, "rb").read()
    bad = [p for p in range(len(data) // PS)
           if struct.unpack_from("<QQ", data, p * PS) != (want, p)]
    print("%d/%d pages hold { %d, page }%s" % (len(data) // PS - len(bad),
          len(data) // PS, want, ", first bad: %s" % bad[:5] if bad else ""))
    sys.exit(1 if bad else 0)
stop = False
def on_term(sig, frame):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 0)
pages = len(m) // PS
seq = misreads = 0
while not stop or seq == 0:
    seq += 1
    for p in range(pages):
        if seq > 1 and struct.unpack_from("<QQ", m, p * PS) != (seq - 1, p):
            misreads += 1
        struct.pack_into("<QQ", m, p * PS, seq, p)
    if seq == 1:
        print("running", flush=True)
m.close()
data = os.pread(fd, pages * PS, 0)
misreads += sum(struct.unpack_from("<QQ", data, p * PS) != (seq, p)
                for p in range(pages))
print("passes %d misreads %d" % (seq, misreads), flush=True)
sys.exit(1 if misreads else 0)
EOF
mapw() { python3 "$WORK/mapw.py" "$@"; }

# mapw_start FILE: start a writer on FILE (WPID); wait for its first pass
mapw_start() {
	# emptied here, not by the redirection: that happens in the child,
	# after the fork, and "started" could meanwhile read the last
	# writer's "running" and let the caller go on before this one
	# opened the file
	: >"$WORK/w.out"
	# not through the function: WPID must be python itself
	python3 "$WORK/mapw.py" write "$1" >>"$WORK/w.out" 2>&1 &
	WPID=$!
	within 30 started || not_ok "writer on $1 did not start: $(cat "$WORK/w.out")"
}
# started: the writer did its first pass, or is dead
started() { grep -q running "$WORK/w.out" || ! kill -0 "$WPID"; }

# mapw_stop WHAT NAME: stop the writer, which must exit 0 with no misread;
# NAME (if not "-") must then hold its last stamps
mapw_stop() {
	local rc=0
	check "$1: the writer is still running" kill -0 "$WPID"
	kill -TERM "$WPID"
	wait "$WPID" || rc=$?
	eq "$1: the writer exited 0 (no error, no SIGBUS, no misread: $(tail -n1 "$WORK/w.out"))" "$rc" 0
	[ "$2" = - ] || check "$1: $2 holds every page's last stamp (read(2))" \
		mapw check "$2" "$(last_pass)"
}
# last_pass: the stamp the last writer left in every page
last_pass() { sed -n 's/^passes \([0-9]*\) .*/\1/p' "$WORK/w.out" | grep . || echo 0; }

# settled WHAT TO FROM NAME: once the writer is gone, the 8 MiB file
# TO/NAME is charged to TO and no more to FROM within 10 s, its backing
# file is all in TO's store, and it still holds the writer's last stamps
settled() {
	check "$1: charged to $2, not $3, within 10 s after the writer exits (statfs)" \
		within 10 charged "$2" "$3" $((8 * MiB))
	eq "$1: the backing file is in $2's store, all of it (blocks)" \
		"$(stat -c %b "$OWN_STORE/$2/$4" 2>&1)" 16384
	check "$1: home, $2/$4 holds every last stamp" mapw check "$MNT/$2/$4" "$(last_pass)"
}

# ino_is WHAT FILE INO: FILE's st_ino is INO (which must be one)
ino_is() { eq "$1" "$(stat -c %i "$2" 2>&1)" "${3:-(no st_ino after the mv)}"; }

# used_kb PATH: what PATH's filesystem has in use (statfs); avail_kb
used_kb() { df -k --output=used "$1" | tail -n1 | tr -d ' '; }
avail_kb() { df -k --output=avail "$1" | tail -n1 | tr -d ' '; }

# The kernel's count of what a device holds: its directory in the store
# (the device's own tmpfs on a tree that has one).  ON is "ref" for the
# reference, where cases skip the charge checks, or "cdmfs".
kused() { used_kb "$OWN_STORE/$1"; }
declare -A mark
# mark_charge: remember what gpu0 and cxl0 hold now
mark_charge() { mark[gpu0]=$(kused gpu0); mark[cxl0]=$(kused cxl0); }
# charged TO FROM KIB: TO holds KIB more than at the mark, FROM less than
# half of KIB more (what it held of them went)
charged() {
	local to from
	to=$(kused "$1")
	from=$(kused "$2")
	echo "$1 holds $to KiB (mark ${mark[$1]}), $2 $from KiB (mark ${mark[$2]})"
	[ "$to" -ge $((mark[$1] + $3)) ] && [ "$from" -lt $((mark[$2] + $3 / 2)) ]
}
# unused DEV...: the devices' tmpfs hold nothing (statfs)
unused() {
	local d u rc=0
	for d; do
		u=$(kused "$d")
		echo "$d holds $u KiB"
		[ "$u" = 0 ] || rc=1
	done
	return $rc
}
# within SECONDS CMD...: poll CMD every 0.2 s until it succeeds; its last
# output shows if it never does.  By the clock, not a count of tries: on
# a loaded machine each try takes long.
within() {
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while ! "$@" >"$WORK/within.out" 2>&1; do
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || { cat "$WORK/within.out"; return 1; }
		sleep 0.2
	done
}
# df_true DEV: df of MNT/DEV is the statfs of DEV's tmpfs
df_true() {
	eq "df $1 (size used avail) = its tmpfs's" \
		"$(df -k --output=size,used,avail "$MNT/$1" | tail -n1)" \
		"$(df -k --output=size,used,avail "$OWN_STORE/$1" | tail -n1)"
}

# case_full ON ROOT BACKING: ROOT/gpu0 holds 64 MiB, BACKING/gpu0 its files
case_full() {
	local b rc=0
	expect_fail "No space" "$1: dd of 1 GiB into gpu0" \
		dd if=/dev/zero of="$2/gpu0/big" bs=1M count=1024 status=none
	b=$(stat -c %b "$3/gpu0/big")
	check_num "$1: which holds at most 64 MiB (512-byte blocks of the backing file)" \
		"$b" -le 131072
	eq "$1: df gpu0 Avail (KiB)" "$(avail_kb "$2/gpu0")" 0
	if [ "$1" = cdmfs ]; then
		eq "cdmfs: statfs of gpu0's tmpfs: Avail (KiB)" "$(avail_kb "$3/gpu0")" 0
		df_true gpu0
	fi
	check "$1: with gpu0 full, cxl0 takes 60 MiB" \
		dd if=/dev/zero of="$2/cxl0/c" bs=1M count=60 status=none
	b=$(stat -c %b "$3/cxl0/c")
	check_num "$1: all of it (512-byte blocks of the backing file)" "$b" -ge 122880
	check "$1: and host takes a file" \
		dd if=/dev/zero of="$2/host/h" bs=1M count=4 status=none
	rm -f "$2/gpu0/big" "$2/cxl0/c" "$2/host/h"
	if [ "$CDMFS_DATAPATH" = passthrough ]; then
		mapw fault "$2/gpu0/map" 128 2>/dev/null || rc=$?
		eq "$1: a mapping of gpu0 faulting past 64 MiB dies of SIGBUS (exit 128+7)" "$rc" 135
		b=$(stat -c %b "$3/gpu0/map")
		check_num "$1: having filled at most 64 MiB (blocks)" "$b" -le 131072
		rm -f "$2/gpu0/map"
	fi
}

# case_ino ROOT: 50 files in each device: distinct st_ino, and readdir's
# d_ino (os.scandir's entry.inode()) is stat's st_ino
case_ino() {
	python3 - "$1" <<'EOF'
import os, sys
root, seen, bad = sys.argv[1], {}, []
for d in ("gpu0", "cxl0", "host"):
    for i in range(50):
        open(os.path.join(root, d, "i%d" % i), "w").close()
for d in ("gpu0", "cxl0", "host"):
    with os.scandir(os.path.join(root, d)) as it:
        for e in it:
            ino = os.stat(e.path).st_ino
            if e.inode() != ino:
                bad.append("%s: d_ino %d, st_ino %d" % (e.path, e.inode(), ino))
            if ino in seen:
                bad.append("%s and %s: st_ino %d" % (seen[ino], e.path, ino))
            seen[ino] = e.path
for d in ("gpu0", "cxl0", "host"):
    for i in range(50):
        os.unlink(os.path.join(root, d, "i%d" % i))
print("%d files, %d problems" % (len(seen), len(bad)), *bad[:10], sep="\n")
sys.exit(1 if bad or len(seen) != 150 else 0)
EOF
}

# case_mv_closed ON ROOT: mv of a closed 16 MiB file gpu0 -> cxl0
case_mv_closed() {
	local f="$1: mv gpu0/f cxl0/f (closed)" ino want b
	[ "$1" = cdmfs ] && mark_charge
	dd if=/dev/urandom of="$2/gpu0/f" bs=1M count=16 status=none
	sha256sum <"$2/gpu0/f" >"$WORK/f.sum"
	chown 4321:4322 "$2/gpu0/f"
	chmod 0640 "$2/gpu0/f"
	setfattr -n user.devtest -v kept "$2/gpu0/f"
	touch -m -d @1600000000 "$2/gpu0/f"
	want="640 4321 4322 1600000000 16777216"
	check "$f" mv "$2/gpu0/f" "$2/cxl0/f"
	ino=$(stat -c %i "$2/cxl0/f" 2>/dev/null)
	props() {
		eq "$f: $1: mode uid gid mtime size" \
			"$(stat -c '%a %u %g %Y %s' "$2/cxl0/f")" "$want"
		eq "$f: $1: the user.* xattr" \
			"$(getfattr --only-values -n user.devtest "$2/cxl0/f")" kept
		check "$f: $1: content" sh -c "sha256sum <'$2/cxl0/f' | cmp -s - '$WORK/f.sum'"
		ino_is "$f: $1: st_ino as right after the mv" "$2/cxl0/f" "$ino"
	}
	props "at once" "$2"
	if [ "$1" = cdmfs ]; then
		check "$f: charged to cxl0, no more to gpu0 (statfs), within 10 s" \
			within 10 charged cxl0 gpu0 $((16 * MiB))
		df_true cxl0
		df_true gpu0
		props "home" "$2"
		b=$(stat -c %b "$OWN_STORE/cxl0/f" 2>&1)
		eq "$f: the backing file is in cxl0's store, all of it (blocks)" "$b" 32768
		eq "$f: user.cdm.residency" \
			"$(getfattr --only-values -n user.cdm.residency "$2/cxl0/f")" cxl0=16777216
		eq "$f: user.cdm.policy in force" \
			"$(getfattr --only-values -n user.cdm.policy "$2/cxl0/f")" bind:cxl0
	fi
	check "$1: gpu0 takes 64 MiB again" \
		dd if=/dev/zero of="$2/gpu0/full" bs=1M count=64 status=none
	rm -f "$2/gpu0/full" "$2/cxl0/f"
}

# mapped ON ROOT NAME: start a writer on ROOT/gpu0/NAME, 8 MiB
mapped() {
	[ "$1" = cdmfs ] && mark_charge
	dd if=/dev/zero of="$2/gpu0/$3" bs=1M count=8 status=none
	mapw_start "$2/gpu0/$3"
}

# case_mv_open ON ROOT: mv gpu0/w cxl0/w while a writer has it mapped
case_mv_open() {
	local w="$1: mv gpu0/w cxl0/w (mapped, written)" ino
	mapped "$1" "$2" w
	check "$w" mv "$2/gpu0/w" "$2/cxl0/w"
	ino=$(stat -c %i "$2/cxl0/w" 2>/dev/null)
	sleep 1
	if [ "$1" = cdmfs ]; then
		check "$w: charged to gpu0 while mapped (statfs)" \
			charged gpu0 cxl0 $((8 * MiB))
	fi
	ino_is "$w: st_ino while mapped" "$2/cxl0/w" "$ino"
	mapw_stop "$w" "$2/cxl0/w"
	[ "$1" = cdmfs ] && settled "$w" cxl0 gpu0 w
	ino_is "$w: st_ino at the end" "$2/cxl0/w" "$ino"
	rm -f "$2/cxl0/w"
}

# case_edges ON ROOT: what may happen to a file moved while mapped
case_edges() {
	local e ino n
	e="$1: rm of cxl0/r (moved while mapped) while mapped"
	mapped "$1" "$2" r
	mv "$2/gpu0/r" "$2/cxl0/r"
	check "$e" rm "$2/cxl0/r"
	sleep 0.5
	mapw_stop "$e" -
	if [ "$1" = cdmfs ]; then
		check "$e: after the writer, gpu0 and cxl0 hold nothing within 10 s (statfs)" \
			within 10 unused gpu0 cxl0
		eq "$e: df gpu0 and cxl0 Used" "$(df -k --output=used "$MNT/gpu0" "$MNT/cxl0" | tail -n +2 | tr -d ' ' | tr '\n' ' ')" "0 0 "
		df_true gpu0
		df_true cxl0
	fi

	e="$1: mv gpu0/b cxl0/b, cxl0/b cxl0/b2, cxl0/b2 gpu0/b3 (mapped)"
	mapped "$1" "$2" b
	check "$e" sh -c "mv '$2/gpu0/b' '$2/cxl0/b' && mv '$2/cxl0/b' '$2/cxl0/b2' && mv '$2/cxl0/b2' '$2/gpu0/b3'"
	ino=$(stat -c %i "$2/gpu0/b3" 2>/dev/null)
	sleep 0.5
	mapw_stop "$e" "$2/gpu0/b3"
	[ "$1" = cdmfs ] && settled "$e" gpu0 cxl0 b3
	ino_is "$e: st_ino stable" "$2/gpu0/b3" "$ino"
	rm -f "$2/gpu0/b3"

	e="$1: ln cxl0/l cxl0/l2 (moved while mapped)"
	mapped "$1" "$2" l
	mv "$2/gpu0/l" "$2/cxl0/l"
	ino=$(stat -c %i "$2/cxl0/l" 2>/dev/null)
	if [ "$1" = cdmfs ]; then
		# README, known limits: while a moved file is still open on its
		# old device's tmpfs (a lodger), a link to it gets EXDEV; once
		# it is home, ln works
		expect_fail "Invalid cross-device link" "$e: EXDEV while it is open" \
			ln "$2/cxl0/l" "$2/cxl0/l2"
		sleep 0.5
		mapw_stop "$e" "$2/cxl0/l"
		settled "$e" cxl0 gpu0 l
		check "$e: once home" ln "$2/cxl0/l" "$2/cxl0/l2"
	else
		check "$e" ln "$2/cxl0/l" "$2/cxl0/l2"
	fi
	eq "$e: one inode, two links" "$(stat -c '%i %h' "$2/cxl0/l" "$2/cxl0/l2" | sort -u)" "$ino 2"
	if [ "$1" != cdmfs ]; then
		sleep 0.5
		mapw_stop "$e" "$2/cxl0/l2"
	fi
	if [ "$1" = cdmfs ]; then
		n=$(stat -c '%h' "$2/cxl0/l" "$2/cxl0/l2" "$OWN_STORE/cxl0/l" "$OWN_STORE/cxl0/l2" 2>&1 |
			sort -u)
		eq "$e: home, both names have two links (in the store too)" "$n" 2
		eq "$e: home, one backing inode" "$(stat -c %i "$OWN_STORE/cxl0/l" "$OWN_STORE/cxl0/l2" 2>&1 | sort -u | wc -l)" 1
	fi
	ino_is "$e: st_ino stable" "$2/cxl0/l2" "$ino"
	rm -f "$2/cxl0/l" "$2/cxl0/l2"
}

# alive: stop here if the daemon died (every later check would only say so)
alive() {
	kill -0 "$DAEMON_PID" 2>/dev/null && return 0
	not_ok "the daemon died; its log:"
	sed 's/^/#   /' "$LOG"
	finish
}

echo "# reference: tmpfs (gpu0 a tmpfs of 64M on one of 256M)"
REF=$WORK/ref
WPID=
devlimit_cleanup() {
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null
	mountpoint -q "$REF/gpu0" && umount -l "$REF/gpu0"
	mountpoint -q "$REF" && umount -l "$REF"
	own_store_cleanup
}
trap devlimit_cleanup EXIT
trap "exit 143" TERM INT	# so that a killed run still cleans up
mkdir -p "$REF"
mount -t tmpfs -o size=256M,mode=0755 cdmfs-test-ref "$REF"
mkdir "$REF/gpu0" "$REF/cxl0" "$REF/host"
mount -t tmpfs -o size=64M,mode=0755 cdmfs-test-ref64 "$REF/gpu0"
case_full ref "$REF" "$REF"
umount "$REF/gpu0"
check "ref: st_ino and d_ino" case_ino "$REF"
case_mv_closed ref "$REF"
case_mv_open ref "$REF"
case_edges ref "$REF"
umount "$REF"

echo "# cdmfs, the daemon's own store; datapath: $CDMFS_DATAPATH"
own_store_mount "sim=gpu0:64M,sim=cxl0:64M"
check "the daemon mounted its store ($OWN_STORE)" test -n "$OWN_STORE"
d=$(stat -c %d "$OWN_STORE" "$OWN_STORE/gpu0" "$OWN_STORE/cxl0" "$OWN_STORE/host" | sort -u | wc -l)
eq "gpu0, cxl0 and host each have a filesystem of their own in the store (distinct st_dev)" "$d" 4
eq "gpu0's is 64 MiB (statfs, KiB)" \
	"$(df -k --output=size "$OWN_STORE/gpu0" | tail -n1 | tr -d ' ')" 65536
case_full cdmfs "$MNT" "$OWN_STORE"
alive
check "cdmfs: st_ino and d_ino" case_ino "$MNT"
alive
case_mv_closed cdmfs "$MNT"
alive
case_mv_open cdmfs "$MNT"
alive
case_edges cdmfs "$MNT"
alive
oom1=$(awk '$1 == "oom_kill" { print $2 }' /proc/vmstat)
eq "no OOM kill (/proc/vmstat oom_kill)" "$oom1" "$oom0"
cdm_umount
eq "the store and what it mounted went with the daemon" \
	"$(findmnt -rn -o TARGET | grep -cF "${WORK##*.}")" 0
finish
