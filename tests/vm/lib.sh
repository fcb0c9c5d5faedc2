# Helpers for tests/vm/test_*.sh, which run as root inside the guest
# (run-guest).  Source with: . "$CDMFS_SRC/tests/vm/lib.sh"
# The checks, skip, finish, the daemon's start and stop, wait_migration and
# writer_stop are tests/lib/common.sh's; here is what only the guest has.

# shellcheck source=tests/lib/common.sh
. "$CDMFS_SRC/tests/lib/common.sh"

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

# device_room NODE DEVICE: what DEVICE (node NODE) of the mounted cdmfs can
# still take, in kB: the node's MemFree, bounded by the room left in the
# device's own tmpfs (7/8 of the node, so that a full device is ENOSPC
# before the node runs out), by the kernel's statfs of it in the store
device_room() {
	_free=$(node_meminfo "$1" MemFree)
	_room=$(df -k --output=avail "$CDM_STORE/$2" | tail -n1 | tr -d ' ')
	echo $((_room < _free ? _room : _free))
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

cdm_mount() {
	[ -n "${CDMFS:-}" ] ||
		skip "CDMFS is not set: name the cdmfs daemon binary (meson test --suite vm sets it)"
	if [ ! -x "$CDMFS" ]; then
		not_ok "cdmfs daemon $CDMFS is not executable in the guest"
		finish
	fi
	MNT=$PWD/mnt
	CDM_LOG=$PWD/daemon.log
	mkdir -p "$MNT"
	trap cdm_cleanup EXIT
	cdm_daemon_start "$MNT" ${1:+-o "$1"}
	# root's default store: /run/cdmfs/<mount point, escaped as systemd
	# does> (README, "Store")
	CDM_STORE=/run/cdmfs/$(realpath "$MNT" | sed 's|^/*||; s|/|-|g')
	echo "# mounted cdmfs at $MNT (daemon pid $CDM_PID, store $CDM_STORE)"
}

# cdm_umount: unmount, and check that the daemon exited with status 0
cdm_umount() {
	cdm_daemon_stop
}

cdm_cleanup() {
	if [ "$t_fail" -gt 0 ] && [ -s "$CDM_LOG" ]; then
		echo "#   daemon log:"
		sed 's/^/#   | /' "$CDM_LOG"
	fi
	cdm_daemon_kill
	# a daemon that died leaves its store mounted
	if [ -n "$CDM_STORE" ] && mountpoint -q "$CDM_STORE"; then
		umount -l "$CDM_STORE" && rmdir "$CDM_STORE"
	fi
	t_cleanup
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
# FILE through its mapping (writer_stop: no fault, no misread, every page
# holds its last stamp), then check that every page is on NODE, and that
# its numa_maps line WLINE (taken while it ran) shows bind:NODE with all
# $PAGES pages there.  WHAT names the step in the messages.
stop_writer() {
	_f=$1 _to=$2 _wline=$4 _what=$5
	writer_stop "$_f" "$3"
	check_pages "$_what" "$_f" "$_to"
	check "the writer's mapping shows bind:$_to" sh -c "echo '$_wline' | grep -q ' bind:$_to '"
	check "the writer's mapping had all $PAGES pages on node$_to (N$_to=$PAGES, no other node)" \
		sh -c "echo '$_wline' | tr ' ' '\n' | grep '^N[0-9]*=' | tr '\n' ' ' | grep -qx 'N$_to=$PAGES '"
}
