# Helpers for tests/kmod/test_*.sh, which run as root inside the VM guest
# (tests/vm/run-guest) booted with memmap=SIZE$START: RAM of node1 the kernel
# leaves alone, for cdmkm to manage as device memory (tests/kmod/meson.build).
# Source with: . "$CDMFS_SRC/tests/kmod/lib.sh"
#
# Everything of tests/vm/lib.sh (check, check_not, check_num, finish,
# cdm_mount ...), and:
#   KMOD_KO, KMOD_START, KMOD_SIZE, KMOD_END, KMOD_REGIONS
#   kmod_load [PARAM...]  insmod cdmkm.ko (default regions=$KMOD_REGIONS)
#   kmod_unload           rmmod cdmkm
#   kmod_mount [OPTIONS]  cdm_mount, keeping the EXIT trap that unloads
#   kmod_dmesg            the kernel log since this file was sourced
#   kmod_finish           the kernel's verdict (kmod_check_kernel), the
#                         log if a check failed, then finish: use it
#                         instead of finish
# The kernel's verdict: no line in the log since this file was sourced that
# reports a kernel problem (they are printed), and no taint flag gained other
# than O and E (an out-of-tree, unsigned module).

# shellcheck source=tests/vm/lib.sh
. "$CDMFS_SRC/tests/vm/lib.sh"

KMOD_KO=${CDMKM_KO:-/run/vm/files/cdmkm.ko}

# What the kernel prints when something broke, whatever the module's fault.
kmod_bad='WARNING:|BUG:|Oops|lockdep|possible circular|KASAN|refcount_t:|Bad page'
kmod_bad="$kmod_bad|general protection|list_add corruption|list_del corruption"
kmod_bad="$kmod_bad|kernel BUG|UBSAN|blocked for more than|detected stall|Kernel panic"

# The reservation, from the kernel command line, e.g. memmap=256M$0x50000000
# (START in hex, SIZE with K, M or G).  Without it no kmod test means
# anything: that is a broken setup, not a reason to skip.
kmod_memmap=$(tr ' ' '\n' </proc/cmdline | sed -n 's/^memmap=\([0-9]*[KMG]\)\$\(0x[0-9a-fA-F]*\)$/\1 \2/p' | head -n1)
if [ -z "$kmod_memmap" ]; then
	echo "FAIL the guest was booted without memmap=SIZE\$START (CDMFS_VM_APPEND); /proc/cmdline:"
	sed 's/^/     /' /proc/cmdline
	exit 1
fi
KMOD_SIZE=${kmod_memmap% *}
KMOD_START=${kmod_memmap#* }
case $KMOD_SIZE in
*K) kmod_bytes=$((${KMOD_SIZE%K} << 10)) ;;
*M) kmod_bytes=$((${KMOD_SIZE%M} << 20)) ;;
*G) kmod_bytes=$((${KMOD_SIZE%G} << 30)) ;;
esac
KMOD_END=$(printf '0x%x' $((KMOD_START + kmod_bytes - 1)))
# One region on node1, whose range the reservation lies in (run-guest).
KMOD_REGIONS=cdm0:$KMOD_START:$KMOD_SIZE:1

# Mark the log, so kmod_dmesg reads this test's part of it only.
kmod_mark="cdmfs-test: start $(basename "$0" .sh) $$ $(cut -d' ' -f1 /proc/uptime)"
echo "$kmod_mark" >/dev/kmsg
kmod_taint0=$(cat /proc/sys/kernel/tainted)

kmod_dmesg() {
	dmesg | sed -n "\\|$kmod_mark|,\$p" | sed 1d
}

# kmod_check_dmesg: no line since the mark reports a kernel problem
kmod_check_dmesg() {
	if ! dmesg | grep -qF "$kmod_mark"; then
		echo "the log lost this test's start mark (ring buffer overrun?)"
		return 1
	fi
	_bad=$(kmod_dmesg | grep -E "$kmod_bad")
	[ -z "$_bad" ] && return 0
	printf '%s\n' "$_bad"
	return 1
}

# taint_letters N: the flags set in N, as /proc/modules and oopses print them
taint_letters() {
	_l=PFSRMBUDAWCIOELKXTNJ
	_i=0
	_out=
	while [ "$_i" -lt 20 ]; do
		[ $(($1 >> _i & 1)) -eq 0 ] || _out=$_out$(echo "$_l" | cut -c$((_i + 1)))
		_i=$((_i + 1))
	done
	echo "${_out:-none}"
}

# kmod_check_taint: no taint flag gained since the start but O and E
kmod_check_taint() {
	_t=$(cat /proc/sys/kernel/tainted)
	_new=$((_t & ~kmod_taint0 & ~(4096 | 8192)))
	[ "$_new" -eq 0 ] && return 0
	echo "tainted $kmod_taint0 ($(taint_letters "$kmod_taint0")) at the start," \
		"$_t ($(taint_letters "$_t")) now: gained $(taint_letters "$_new")"
	return 1
}

kmod_check_kernel() {
	check "no kernel warning, BUG, oops or corruption report in the log" kmod_check_dmesg
	check "the kernel gained no taint but O and E" kmod_check_taint
}

kmod_finish() {
	kmod_check_kernel
	if [ "$t_fail" -gt 0 ]; then
		echo "#   kernel log since the test started:"
		kmod_dmesg | sed 's/^/#   | /'
	fi
	finish
}

kmod_loaded() { [ -d /sys/module/cdmkm ]; }

# kmod_load [PARAM...]: insmod cdmkm.ko with PARAMs (default
# regions=$KMOD_REGIONS); the module is unloaded at exit if still there
kmod_load() {
	[ $# -gt 0 ] || set -- "regions=$KMOD_REGIONS"
	trap kmod_cleanup EXIT
	check "insmod cdmkm.ko $*" insmod "$KMOD_KO" "$@"
	kmod_loaded
}

kmod_unload() {
	check "rmmod cdmkm" rmmod cdmkm
	check_not "cdmkm is gone from /sys/module" kmod_loaded
}

# kmod_mount [OPTIONS]: cdm_mount, which sets an EXIT trap of its own; put
# back the one that also unloads the module
kmod_mount() {
	cdm_mount "$@"
	trap kmod_cleanup EXIT
}

kmod_cleanup() {
	cdm_cleanup
	if kmod_loaded; then
		echo "     cleanup: rmmod cdmkm"
		rmmod cdmkm || echo "     cleanup: rmmod cdmkm failed"
	fi
}

# ---- /proc/iomem -------------------------------------------------------------

# iomem_within START END: the lines of /proc/iomem inside [START, END],
# indentation (nesting) kept
iomem_within() {
	while IFS= read -r _line; do
		_r=${_line%% : *}
		_r=${_r##* }
		[ $((0x${_r%-*})) -ge $(($1)) ] && [ $((0x${_r#*-})) -le $(($2)) ] &&
			printf '%s\n' "$_line"
	done </proc/iomem
}

# kmod_iomem_reserved: the reservation is a top-level "Reserved" resource
kmod_iomem_reserved() {
	_want=$(printf '%08x-%08x : Reserved' $((KMOD_START)) $((KMOD_END)))
	grep -qx "$_want" /proc/iomem && return 0
	echo "no line '$_want' in /proc/iomem; inside the range:"
	iomem_within "$KMOD_START" "$KMOD_END"
	return 1
}

# kmod_iomem_claims: resources nested inside the reservation (what a driver
# claimed with request_mem_region and friends)
kmod_iomem_claims() {
	iomem_within "$KMOD_START" "$KMOD_END" | grep '^ '
}

# kmod_frames FILE [write]: where FILE's pages are (tests/kmod/frames.py)
kmod_frames() {
	/usr/bin/python3 "$CDMFS_SRC/tests/kmod/frames.py" "$1" "$KMOD_START" "$KMOD_END" ${2:-}
}

# kmod_frames_are FILE "region N ram M": every page is where it should be
kmod_frames_are() {
	_f=$(kmod_frames "$1")
	echo "$_f" | grep -q "^$2 absent 0 " && return 0
	echo "frames of $1: $_f, want $2 absent 0"
	return 1
}
