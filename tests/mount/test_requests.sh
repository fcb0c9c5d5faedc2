#!/bin/bash
# What the daemon is asked, per operation (user.cdm.stats), and that doing
# less leaves the store right: no FLUSH at close of a passthrough open, yet
# pages written through mmap are in the backing file after close; the
# daemon's cache of a device directory's policy follows every change.
. "$(dirname "$0")/lib.sh"
require_root_fuse

cdm_mount "sim=gpu0:64M,sim=cxl0:64M"
echo "datapath: $CDMFS_DATAPATH"
count() {
	getfattr --only-values -n user.cdm.stats "$MNT" |
		tr ' ' '\n' | sed -n "s/^$1=//p"
}

echo data >"$MNT/gpu0/f"
eq "datapath of the file" "$(getfattr --only-values -n user.cdm.datapath "$MNT/gpu0/f")" "$CDMFS_DATAPATH"
f0=$(count flush)
cat "$MNT/gpu0/f" >/dev/null				# open + close
: >"$MNT/gpu0/new"					# create + close
python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_RDWR))' "$MNT/gpu0/f"
f1=$(count flush)
echo "FLUSH requests for 3 closes: $((f1 - f0))"
if [ "$CDMFS_DATAPATH" = passthrough ]; then
	eq "no FLUSH at close of passthrough opens" "$((f1 - f0))" 0
else
	# the kernel writes mmap-dirtied pages back before FLUSH; one FLUSH
	# per close(2), and the shell's redirection closes a dup too
	check "FLUSH at each close through the daemon" test "$((f1 - f0))" -ge 3
fi

# close-to-open through mmap: what the mapping wrote is in the store
# after close, read there (not through the mount) right away
python3 - "$MNT/gpu0/m" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192)
m[4096:4096 + 11] = b"mapped data"
m.close()
os.close(fd)
PY
eq "mmap write is in the backing file after close" \
	"$(dd if="$STORE/gpu0/m" bs=1 skip=4096 count=11 status=none)" "mapped data"

# the device directory's policy: cached by the daemon, never stale
: >"$MNT/gpu0/before"
eq "a new file follows its device" "$(getfattr --only-values -n user.cdm.policy "$MNT/gpu0/before")" "bind:gpu0"
check "device directory policy" setfattr -n user.cdm.policy -v bind:cxl0 "$MNT/gpu0"
: >"$MNT/gpu0/during"
eq "a file made after it carries it (in the store)" \
	"$(getfattr --only-values -n user.cdm.policy "$STORE/gpu0/during")" "bind:cxl0"
eq "an older file now follows it" "$(getfattr --only-values -n user.cdm.policy "$MNT/gpu0/before")" "bind:cxl0"
check "remove it" setfattr -x user.cdm.policy "$MNT/gpu0"
: >"$MNT/gpu0/after"
expect_fail "No such attribute" "a file made after the removal has none in the store" \
	getfattr -n user.cdm.policy "$STORE/gpu0/after"
eq "and follows the device" "$(getfattr --only-values -n user.cdm.policy "$MNT/gpu0/after")" "bind:gpu0"
eq "the older file too" "$(getfattr --only-values -n user.cdm.policy "$MNT/gpu0/before")" "bind:gpu0"
cdm_umount
finish
