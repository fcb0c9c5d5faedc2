#!/bin/bash
# The FUSE transport, -o io_uring=on|off|auto, against what the kernel
# shows: the daemon's io_uring instances (/proc/PID/fd links to
# anon_inode:[io_uring]), their completion queues moving as requests are
# answered (CqTail in /proc/PID/fdinfo), and whether the mount exists.
# user.cdm.stats names the transport of the request that reads it: checked
# against the same.
#
# scripts/test runs the mount suite once with the fuse module's enable_uring
# Y and once with N; each run checks the half that applies, and -o
# enable_uring (which writes Y) is checked from N and put back.
# CDMFS_FUSE_URING (meson): 1 when this libfuse has FUSE over io_uring.
. "$(dirname "$0")/lib.sh"
require_root_fuse

PARAM=/sys/module/fuse/parameters/enable_uring
: "${CDMFS_FUSE_URING:?CDMFS_FUSE_URING must say whether libfuse has io_uring}"
param_was=$(cat "$PARAM" 2>/dev/null)
restore_param() {
	[ -n "$param_was" ] && [ "$(cat "$PARAM")" != "$param_was" ] &&
		echo "$param_was" >"$PARAM"
}
trap 'restore_param; cleanup' EXIT

# ring_fds: the daemon's io_uring instances
ring_fds() {
	find /proc/"$DAEMON_PID"/fd -lname 'anon_inode:\[io_uring\]' 2>/dev/null | wc -l
}
# cq_total: completions posted on all of them
cq_total() {
	local n=0 f t
	for f in $(find /proc/"$DAEMON_PID"/fd -lname 'anon_inode:\[io_uring\]' -printf '%f\n'); do
		t=$(sed -n 's/^CqTail:[[:space:]]*//p' /proc/"$DAEMON_PID"/fdinfo/"$f")
		n=$((n + ${t:-0}))
	done
	echo "$n"
}
transport() {
	getfattr --only-values -n user.cdm.stats "$MNT" | tr ' ' '\n' |
		sed -n 's/^transport=//p'
}
# served_over_ring: 50 getxattrs (each one a request) move the rings' CqTail
served_over_ring() {
	local c0 c1 i
	c0=$(cq_total)
	for ((i = 0; i < 50; i++)); do
		getfattr -n user.cdm.devices "$MNT" >/dev/null || return 1
	done
	c1=$(cq_total)
	echo "ring completions for 50 getxattrs: $((c1 - c0))"
	[ $((c1 - c0)) -ge 50 ]
}
# refused OPTS WANT: the daemon refuses to mount, says WANT, no mount left
refused() {
	local rc=0
	"$CDMFS" -f -o "store=$STORE,sim=gpu0:64M,$1" "$MNT" >"$WORK/refused.log" 2>&1 || rc=$?
	cat "$WORK/refused.log"
	check "io_uring=on refused: non-zero exit" test "$rc" != 0
	check "io_uring=on refused: no mount left" bash -c "! mountpoint -q '$MNT'"
	check "io_uring=on refused: says '$2'" grep -q -- "$2" "$WORK/refused.log"
}

mountpoint -q "$STORE" || mount -t tmpfs -o mode=0755 cdmfs-test-store "$STORE"
echo "enable_uring: ${param_was:-absent}; libfuse io_uring: $CDMFS_FUSE_URING"

# off: /dev/fuse whatever the kernel offers
cdm_mount "sim=gpu0:64M,io_uring=off"
eq "io_uring=off: no io_uring instance in the daemon" "$(ring_fds)" 0
eq "io_uring=off: user.cdm.stats says dev_fuse" "$(transport)" dev_fuse
cdm_umount

if [ "$CDMFS_FUSE_URING" = 1 ] && [ "$param_was" = Y ]; then
	for mode in on auto; do
		cdm_mount "sim=gpu0:64M,io_uring=$mode"
		n=$(ring_fds)
		check "io_uring=$mode: the daemon has io_uring instances ($n)" test "$n" -ge 1
		check "io_uring=$mode: requests complete on the ring" served_over_ring
		eq "io_uring=$mode: user.cdm.stats says io_uring" "$(transport)" io_uring
		check "io_uring=$mode: the mount log names it" grep -q "transport io_uring (-o io_uring=$mode)" "$LOG"
		# the data path is the same either way
		echo data >"$MNT/gpu0/f"
		eq "io_uring=$mode: a file round-trips" "$(cat "$MNT/gpu0/f")" data
		cdm_umount
	done
elif [ "$CDMFS_FUSE_URING" = 1 ] && [ "$param_was" = N ]; then
	refused "io_uring=on" "enable_uring is N"
	cdm_mount "sim=gpu0:64M,io_uring=auto"
	eq "io_uring=auto with enable_uring N: no io_uring instance" "$(ring_fds)" 0
	eq "io_uring=auto with enable_uring N: user.cdm.stats says dev_fuse" "$(transport)" dev_fuse
	check "io_uring=auto: the mount log says why" grep -q "transport /dev/fuse (-o io_uring=auto): the fuse module's enable_uring is N" "$LOG"
	cdm_umount
	# -o enable_uring: the explicit way to turn the parameter on
	cdm_mount "sim=gpu0:64M,io_uring=on,enable_uring"
	eq "-o enable_uring wrote Y" "$(cat "$PARAM")" Y
	check "-o enable_uring: requests complete on the ring" served_over_ring
	check "-o enable_uring: the log says so" grep -q "set $PARAM to Y as asked" "$LOG"
	cdm_umount
	restore_param
	eq "enable_uring put back" "$(cat "$PARAM")" N
elif [ "$CDMFS_FUSE_URING" = 0 ]; then
	refused "io_uring=on" "has no FUSE over io_uring"
	cdm_mount "sim=gpu0:64M,io_uring=auto"
	eq "io_uring=auto without libfuse io_uring: no io_uring instance" "$(ring_fds)" 0
	cdm_umount
else
	refused "io_uring=on" "the kernel has no FUSE over io_uring"
fi
finish
