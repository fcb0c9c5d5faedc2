# Helpers for tests/vm/test_*.sh, which run as root inside the guest
# (run-guest).  Source with: . "$CDMFS_SRC/tests/vm/lib.sh"
# Every check prints one line; finish prints "N passed, N failed" and sets
# the exit status.  A test whose premise is absent calls skip (exit 77).

vm_pass=0
vm_fail=0

# check DESCRIPTION COMMAND [ARGS...]: run COMMAND, show its output on failure.
check() {
	_desc=$1
	shift
	if _out=$("$@" 2>&1); then
		vm_pass=$((vm_pass + 1))
		echo "ok   $_desc"
	else
		vm_fail=$((vm_fail + 1))
		echo "FAIL $_desc"
		[ -z "$_out" ] || printf '%s\n' "$_out" | sed 's/^/     /'
	fi
}

# check_not DESCRIPTION COMMAND [ARGS...]: COMMAND must fail (prove a checker
# can say no, so its yes means something).
check_not() {
	_desc=$1
	shift
	check "$_desc" vm_negate "$@"
}
vm_negate() { ! "$@"; }

# Numeric comparison with both values in the message: check_num DESC A OP B
check_num() {
	check "$1 ($2 $3 $4)" test "$2" "$3" "$4"
}

skip() {
	echo "SKIP $*"
	exit 77
}

finish() {
	echo "$vm_pass passed, $vm_fail failed"
	[ "$vm_fail" -eq 0 ]
}

[ "${CDMFS_VM:-0}" = 1 ] || skip "not inside the cdmfs test guest (use tests/vm/run-guest)"

node_sys=/sys/devices/system/node

# in_list N LIST: is N in a kernel list like "0-2,5"?
in_list() {
	echo "$2" | tr ',' '\n' | while IFS=- read -r lo hi; do
		[ -n "$lo" ] || continue
		[ "$1" -ge "$lo" ] && [ "$1" -le "${hi:-$lo}" ] && echo yes && break
	done | grep -q yes
}

# node_tier N: the memory_tier id holding node N (empty if none)
node_tier() {
	for t in /sys/devices/virtual/memory_tiering/memory_tier*; do
		[ -r "$t/nodelist" ] || continue
		if in_list "$1" "$(cat "$t/nodelist")"; then
			echo "${t##*memory_tier}"
			return
		fi
	done
}

# node_meminfo N FIELD: value in kB from nodeN/meminfo
node_meminfo() {
	sed -n "s/^Node $1 $2: *\([0-9]*\) kB/\1/p" "$node_sys/node$1/meminfo"
}
