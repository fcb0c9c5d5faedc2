#!/bin/bash
# What the daemon is asked, per operation (user.cdm.stats), and that doing
# less leaves the store right: no FLUSH at close of a passthrough open, yet
# pages written through mmap are in the backing file after close; names and
# attributes cached long (the default attr_timeout), yet stat shows what
# the daemon changed on its own; the daemon's cache of a device
# directory's policy follows every change.
. "$(dirname "$0")/lib.sh"
require_root_fuse

# small batches: the migration below lasts long enough to be seen running
cdm_mount "sim=gpu0:64M,sim=cxl0:64M,migrate_batch=4K"
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

# reqs OP N: do OP on files f0..f(N-1) of gpu0 and print the requests that
# caused ("create=20 lookup=20 ..."; the stats reads themselves left out,
# and FORGET, which the kernel sends when it likes)
stats() {
	getfattr --only-values -n user.cdm.stats "$MNT" | tr ' ' '\n' |
		grep -v '^inodes=\|^passthrough\|^forget=' | sort
}
reqs() {
	local before after
	before=$(stats)
	python3 - "$MNT/gpu0" "$1" "$2" <<'PY'
import os, sys
d, op, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    p = "%s/f%d" % (d, i)
    if op == "create":
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
    elif op == "open":
        os.close(os.open(p, os.O_RDONLY))
    elif op == "stat":
        os.stat(p)
    elif op == "getxattr":
        os.getxattr(p, "user.cdm.policy")
    elif op == "unlink":
        os.unlink(p)
PY
	after=$(stats)
	# each stats read is two getxattr calls (size, then value)
	join -t= <(echo "$before") <(echo "$after") | awk -F= '
		{ d = $3 - $2 - ($1 == "getxattr" ? 2 : 0) }
		d { printf "%s%s=%d", n++ ? " " : "", $1, d }'
}
# want NAME=N...: the same, sorted as reqs prints it; FLUSH added on the
# daemon data path (one per close; passthrough opens have none)
want() {
	[ "$CDMFS_DATAPATH" = daemon ] && [ -n "$CLOSES" ] && set -- "$@" "flush=$CLOSES"
	printf '%s\n' "$@" | sort | paste -sd' '
}
mkdir "$MNT/gpu0/d" && mv "$MNT/gpu0/f" "$MNT/gpu0/d/"	# f0..: new names
N=20
CLOSES=$N
got=$(reqs create $N)
echo "$N creates: $got"
# the parent's GETATTR: CREATE marks its attributes stale (6.18
# fuse_dir_changed -> fuse_invalidate_attr, STATX_BASIC_STATS) and
# default_permissions (forced on by FUSE_POSIX_ACL) refreshes them at the
# next permission check on it; the LOOKUP of a new name is atomic_open's
check "create: LOOKUP, CREATE, the parent's GETATTR, RELEASE" \
	test "$got" = "$(want create=$N getattr=$((N - 1)) lookup=$N release=$N)" -o \
	     "$got" = "$(want create=$N getattr=$N lookup=$N release=$N)"
CLOSES=
# past the old 1 s timeout: with long ones the kernel asks nothing
sleep 1.2
got=$(reqs stat $N)
echo "$N stats: $got"
eq "stat of files created earlier: only the parent's GETATTR left from the creates" \
	"$got" "getattr=1"
got=$(reqs stat $N)
eq "stat again: no request" "$got" ""
CLOSES=$N
got=$(reqs open $N)
echo "$N open+close: $got"
eq "open+close: OPEN and RELEASE, no LOOKUP" "$got" "$(want open=$N release=$N)"
CLOSES=
got=$(reqs getxattr $N)
eq "getxattr: GETXATTR only" "$got" "getxattr=$N"
got=$(reqs unlink $N)
echo "$N unlinks: $got"
check "unlink: UNLINK and the parent's GETATTR (as for create)" \
	test "$got" = "getattr=$((N - 1)) unlink=$N" -o \
	     "$got" = "getattr=$N unlink=$N"

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

# a file once opened O_RDWR may stay mapped shared writable after its last
# close, and such writes reach neither the kernel's FUSE inode nor the
# daemon: its attributes are never cached (each stat asks; conformance
# case times_mmap_closed checks what stat shows)
if [ "$CDMFS_DATAPATH" = passthrough ]; then
: >"$MNT/gpu0/f0"
	: >"$MNT/gpu0/f1"
	python3 -c 'import os, sys; os.close(os.open(sys.argv[1], os.O_RDWR))' "$MNT/gpu0/f1"
	stat "$MNT/gpu0/f0" "$MNT/gpu0/f1" >/dev/null
	got=$(reqs stat 2)
	eq "stat of a file once opened O_RDWR asks each time, of another not" \
		"$got" "getattr=1"
fi

# a migration ends by clearing user.cdm.pending on the backing file, which
# changes its ctime behind the kernel's back: stat shows the store's
head -c 16M /dev/urandom >"$MNT/gpu0/mig"
check "policy of a file with data" setfattr -n user.cdm.policy -v bind:cxl0 "$MNT/gpu0/mig"
stat "$MNT/gpu0/mig" >/dev/null	# the kernel caches it now
wait_migration "$MNT/gpu0/mig" >/dev/null
eq "ctime after the migration is the store's" \
	"$(stat -c %z "$MNT/gpu0/mig")" "$(stat -c %z "$STORE/gpu0/mig")"

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
