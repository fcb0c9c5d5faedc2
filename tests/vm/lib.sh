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

# ---- page placement, as the kernel reports it ------------------------------

# page_counts FILE NODE: "ON_NODE RESIDENT TOTAL" pages of FILE, from
# pagenodes (move_pages(2) on FILE's resident pages)
page_counts() {
	"$CDMFS_VM_BIN/pagenodes" "$1" 2>&1 | awk -v n="$2" '
		$1 == "pages" { t = $2; r = $4 }
		$1 == "node" && $2 == n { c = $3 }
		END { printf "%d %d %d\n", c, r, t }'
}

# vm_all_pages_on FILE NODE TOTAL: every one of TOTAL pages resident, all on
# NODE (prints pagenodes' report, shown when a check fails)
vm_all_pages_on() {
	_o=$("$CDMFS_VM_BIN/pagenodes" "$1" "$2" 2>&1)
	_rc=$?
	printf '%s\n' "$_o"
	[ "$_rc" -eq 0 ] && printf '%s\n' "$_o" | grep -qx "pages $3 resident $3"
}

# check_pages DESC FILE NODE: FILE fully resident with every page on NODE;
# prints e.g. "ok   DESC: 4096/4096 pages on node1"
check_pages() {
	# shellcheck disable=SC2046 # three numbers
	set -- "$1" "$2" "$3" $(page_counts "$2" "$3")
	if [ "$5" = "$6" ]; then
		check "$1: $4/$6 pages on node$3" vm_all_pages_on "$2" "$3" "$6"
	else
		check "$1: $4/$6 pages on node$3 ($5 resident)" vm_all_pages_on "$2" "$3" "$6"
	fi
}

# numa_maps_of PID PATTERN: the numa_maps line of PID's mapping whose file
# name contains PATTERN
numa_maps_of() {
	grep -F "file=$2" "/proc/$1/numa_maps" | head -n1
}

# ---- cdmfs in the guest ----------------------------------------------------
# cdm_mount [OPTIONS]: mount cdmfs at $MNT (./mnt in the test's work dir) with
# the daemon in the foreground, as root, with its default store (a private
# tmpfs under /run/cdmfs, $CDM_STORE).  cdm_umount requires a clean exit
# (status 0, no sanitizer report in $CDM_LOG).
# An EXIT trap unmounts whatever is left.  CDMFS is the daemon's guest path
# (run-guest copies the host's $CDMFS into the guest).

MNT=
CDM_PID=
CDM_STORE=
CDM_LOG=

# quiet "Removing leading '/'" notes
getfattr() { command getfattr --absolute-names "$@"; }

cdm_mount() {
	[ -n "${CDMFS:-}" ] ||
		skip "CDMFS is not set: name the cdmfs daemon binary (meson test --suite vm sets it)"
	if [ ! -x "$CDMFS" ]; then
		echo "FAIL cdmfs daemon $CDMFS is not executable in the guest"
		exit 1
	fi
	MNT=$PWD/mnt
	CDM_LOG=$PWD/daemon.log
	mkdir -p "$MNT"
	trap cdm_cleanup EXIT
	"$CDMFS" -f ${1:+-o "$1"} "$MNT" >>"$CDM_LOG" 2>&1 &
	CDM_PID=$!
	for _ in $(seq 200); do
		if mountpoint -q "$MNT"; then
			# root's default store: /run/cdmfs/<mount point, escaped
			# as systemd does> (README, "Store")
			CDM_STORE=/run/cdmfs/$(realpath "$MNT" | sed 's|^/*||; s|/|-|g')
			echo "     mounted cdmfs at $MNT (daemon pid $CDM_PID, store $CDM_STORE)"
			return 0
		fi
		kill -0 "$CDM_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "FAIL cdmfs did not mount; its log:"
	sed 's/^/     /' "$CDM_LOG"
	exit 1
}

# cdm_umount: unmount, and check that the daemon exited with status 0
cdm_umount() {
	_rc=0
	[ -n "$CDM_PID" ] || return 0
	umount "$MNT" || umount -l "$MNT"
	wait "$CDM_PID" || _rc=$?
	CDM_PID=
	check_num "daemon exited cleanly after umount" "$_rc" -eq 0
	check_not "no sanitizer report in the daemon's log" \
		grep -q 'Sanitizer\|runtime error' "$CDM_LOG"
}

cdm_cleanup() {
	if [ "$vm_fail" -gt 0 ] && [ -s "$CDM_LOG" ]; then
		echo "     daemon log:"
		sed 's/^/     | /' "$CDM_LOG"
	fi
	if [ -n "$MNT" ] && mountpoint -q "$MNT"; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	if [ -n "$CDM_PID" ]; then
		kill "$CDM_PID" 2>/dev/null
		wait "$CDM_PID" 2>/dev/null
	fi
	# a daemon that died leaves its store mounted
	if [ -n "$CDM_STORE" ] && mountpoint -q "$CDM_STORE"; then
		umount -l "$CDM_STORE" && rmdir "$CDM_STORE"
	fi
}

# wait_migration FILE [SECONDS]: setfattr user.cdm.policy and mv across
# devices return before the pages have moved; poll FILE's
# user.cdm.migration until it no longer says "running" (60 s at most) and
# print what it says then.  Fails on a timeout or a failed migration.  The
# poll backs off from 50 to 400 ms: each getfattr is an exec, which in TCG
# takes CPU from the migration and the writers being measured.
wait_migration() {
	_ms=0
	_step=50
	while [ "$_ms" -lt $((${2:-60} * 1000)) ]; do
		if ! _m=$(getfattr --only-values -n user.cdm.migration "$1" 2>&1); then
			echo "wait_migration: $1: $_m"
			return 1
		fi
		case $_m in
		running*) ;;
		*"last: failed"*) echo "$_m"; return 1 ;;
		*) echo "$_m"; return 0 ;;
		esac
		sleep "$((_step / 1000)).$(printf %03d $((_step % 1000)))"
		_ms=$((_ms + _step))
		[ "$_step" -ge 400 ] || _step=$((_step * 2))
	done
	echo "wait_migration: $1 still says '$_m' after ${2:-60} s"
	return 1
}

# stamp_of FILE [PAGE]: the sequence number stamper left in PAGE (default 0)
stamp_of() {
	od -An -tu8 -N8 -j "$((${2:-0} * 4096))" "$1" | tr -d ' '
}

# wait_stamp FILE MIN: wait (10 s at most) until page 0 of FILE holds a
# stamp >= MIN
wait_stamp() {
	for _ in $(seq 200); do
		_s=$(stamp_of "$1")
		[ -n "$_s" ] && [ "$_s" -ge "$2" ] && return 0
		sleep 0.05
	done
	echo "page 0 of $1 holds stamp '${_s:-?}' after 10 s, want >= $2"
	return 1
}

# stop_writer FILE NODE WPID WLINE WHAT: stop the stamper WPID that wrote
# FILE through its mapping, then check that it never faulted or misread,
# that every page holds its last stamp, that every page is on NODE, and that
# its numa_maps line WLINE (taken while it ran) shows bind:NODE with all
# $PAGES pages there.  WHAT names the step in the messages.
stop_writer() {
	_f=$1 _to=$2 _wpid=$3 _wline=$4 _what=$5
	kill -TERM "$_wpid"
	_wrc=0
	wait "$_wpid" || _wrc=$?
	cat stamper.out stamper.err | sed 's/^/     /'
	check_num "writer exited 0 (no SIGBUS, no misread)" "$_wrc" -eq 0
	check_not "writer got no SIGBUS" grep -q SIGBUS stamper.out
	check "writer read back its own previous stamp on every page, every pass" \
		grep -q ' misreads 0 ' stamper.out
	# "stamper: seq S next K pages N ...": $3 = S, $5 = K
	# shellcheck disable=SC2046 # split on purpose
	set -- $(cat stamper.out)
	check "every page holds the writer's last stamp (read(2) $_what)" \
		stamper --check "$_f" "$3" "$5"
	stamper --check "$_f" "$3" "$5" | sed 's/^/     /'
	check_pages "$_what" "$_f" "$_to"
	check "the writer's mapping shows bind:$_to" sh -c "echo '$_wline' | grep -q ' bind:$_to '"
	check "the writer's mapping had all $PAGES pages on node$_to (N$_to=$PAGES, no other node)" \
		sh -c "echo '$_wline' | tr ' ' '\n' | grep '^N[0-9]*=' | tr '\n' ' ' | grep -qx 'N$_to=$PAGES '"
}
