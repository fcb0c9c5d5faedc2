#!/bin/bash
# When libfuse 3.18.3 has left Debian forky and sid (or their copy is not
# the one whose sha256 scripts/deps accepts), scripts/deps falls back to
# 3.17.2 and scripts/setup still builds a daemon that mounts, on /dev/fuse.
#
# Simulated: a copy of this tree, a private CDMFS_CACHE, and an apt-get
# first in PATH that answers for the private forky/sid configurations:
# forky hands out a 3.18.3 orig tarball with the wrong bytes, sid has no
# fuse3 at all.  The private cache is seeded with the 3.17.2 orig tarball
# (as an older cache kept it) when the machine's cache has it, so that the
# test needs no network; otherwise the fallback fetches it from trixie
# through the real apt-get, as on a fresh machine.  A system libfuse 3.17
# is the fallback itself (nothing fetched); with a system 3.18 there is
# nothing to fall back from, and the test skips saying so.
# Environment (set by meson): CDMFS_SRC = the source tree.
set -u
: "${CDMFS_SRC:?CDMFS_SRC must name the source tree}"
T_NAME=deps-fallback
# shellcheck source=tests/lib/common.sh
. "$CDMFS_SRC/tests/lib/common.sh"

[ "$(id -u)" = 0 ] || skip "needs root (scripts/deps, a FUSE mount)"
[ -c /dev/fuse ] || skip "no /dev/fuse on this machine"
real_cache=${CDMFS_CACHE:-/var/cache/cdmfs}
seed=
for f in "$real_cache"/src/sha256-3d932431ad94e86179e5265cddde1d67aa3bb2fb09a5bd35c641f86f2b5ed06f/fuse-3.17.2.tar.gz \
	 "$real_cache"/src/fuse3_3.17.2.orig.tar.gz; do
	[ -f "$f" ] && seed=$f && break
done
pkg-config --atleast-version=3.18 fuse3 2>/dev/null &&
	skip "the system has libfuse $(pkg-config --modversion fuse3): nothing to fall back from"
sys317=
pkg-config --atleast-version=3.17 fuse3 2>/dev/null && sys317=1
real_apt=$(command -v apt-get) || skip "no apt-get"

WORK=$(mktemp -d /tmp/cdmfs-deps.XXXXXX)
cleanup() {
	set +e
	cdm_daemon_kill
	mountpoint -q "$WORK/store" && umount -l "$WORK/store"
	rm -rf "$WORK"
	t_cleanup
}
trap cleanup EXIT

# the tree as git sees it (tracked and new files), without build output
mkdir -p "$WORK/src" "$WORK/cache/src" "$WORK/bin" "$WORK/mnt" "$WORK/store"
(cd "$CDMFS_SRC" && git ls-files -co --exclude-standard -z |
	tar --null -cf - -T -) | tar -xf - -C "$WORK/src" ||
	{ echo "cannot copy $CDMFS_SRC"; exit 1; }
[ -z "$seed" ] || cp "$seed" "$WORK/cache/src/fuse3_3.17.2.orig.tar.gz"
echo "seed: ${seed:-none (fetched from trixie)}; system libfuse 3.17: ${sys317:-no}"
{ echo '#!/bin/sh'; echo "real_apt='$real_apt'"; } >"$WORK/bin/apt-get"
cat >>"$WORK/bin/apt-get" <<'FAKE'
# fake apt-get: the private configuration names its suite in sourceparts
echo "$*" >>"${0%/bin/apt-get}/apt-calls"
for a in "$@"; do
	case $a in
	Dir::Etc::sourceparts=*/forky-apt/*)
		case " $* " in *" source "*)
			echo "not libfuse" >fuse3_3.18.3.orig.tar.gz ;;
		esac
		exit 0 ;;
	Dir::Etc::sourceparts=*/sid-apt/*)
		case " $* " in *" source "*)
			echo "E: Unable to find a source package for fuse3" >&2
			exit 100 ;;
		esac
		exit 0 ;;
	esac
done
exec "$real_apt" "$@"
FAKE
chmod +x "$WORK/bin/apt-get"
export CDMFS_CACHE=$WORK/cache PATH=$WORK/bin:$PATH

out=$("$WORK/src/scripts/deps" --check 2>&1) && rc=0 || rc=$?
echo "$out"
check "deps --check with an empty cache fails" test "$rc" != 0
check "deps --check names the command" grep -q "run (as root): scripts/deps" <<<"$out"

"$WORK/src/scripts/deps" >"$WORK/deps.log" 2>&1 && rc=0 || rc=$?
cat "$WORK/deps.log"
check "deps succeeds without 3.18.3" test "$rc" = 0
check "deps asked forky for the source" grep -q "forky-apt/.* source --download-only fuse3" "$WORK/apt-calls"
check "deps asked sid for the source" grep -q "sid-apt/.* source --download-only fuse3" "$WORK/apt-calls"
check "deps says it falls back to 3.17.2" grep -q "falling back to 3.17.2, without FUSE over io_uring" "$WORK/deps.log"
check "the wrong 3.18.3 bytes were not cached" \
	bash -c "! ls '$WORK'/cache/src/sha256-*/fuse-3.18.3.tar.gz 2>/dev/null"
[ -n "$sys317" ] ||
	check "3.17.2 is cached under its hash" test -f \
		"$WORK/cache/src/sha256-3d932431ad94e86179e5265cddde1d67aa3bb2fb09a5bd35c641f86f2b5ed06f/fuse-3.17.2.tar.gz"
check "deps --check is content now" "$WORK/src/scripts/deps" --check

"$WORK/src/scripts/setup" "$WORK/build" -Dvm_tests=disabled -Dkmod_tests=disabled \
	>"$WORK/setup.log" 2>&1 && rc=0 || rc=$?
tail -n 25 "$WORK/setup.log"
check "setup builds" test "$rc" = 0
check "with libfuse 3.17" grep -Eq "libfuse +: 3\.17\." "$WORK/setup.log"
check "and says: no io_uring" grep -Eq "FUSE over io_uring *: False" "$WORK/setup.log"
cdmfs=$WORK/build/fs/cdmfs
[ -x "$cdmfs" ] || { not_ok "no daemon built"; finish; }

mount -t tmpfs -o mode=0755 cdmfs-deps-store "$WORK/store"
"$cdmfs" -f -o "store=$WORK/store,sim=gpu0:64M,io_uring=on" "$WORK/mnt" >"$WORK/on.log" 2>&1 && rc=0 || rc=$?
cat "$WORK/on.log"
check "io_uring=on is refused" test "$rc" != 0
check "io_uring=on: the refusal names libfuse" grep -q "libfuse 3\.17\.[0-9]* has no FUSE over io_uring" "$WORK/on.log"
CDMFS=$cdmfs
CDM_LOG=$WORK/daemon.log
cdm_daemon_start "$WORK/mnt" -o "store=$WORK/store,sim=gpu0:64M"
check "the 3.17.2 daemon mounts" mountpoint -q "$WORK/mnt"
echo data >"$WORK/mnt/gpu0/f"
check "a file round-trips" test "$(cat "$WORK/mnt/gpu0/f" 2>&1)" = data
check "it is in the store (tmpfs)" test "$(find "$WORK/store" -name f -exec cat {} +)" = data
n=$(find /proc/"$CDM_PID"/fd -lname 'anon_inode:\[io_uring\]' | wc -l)
check "over /dev/fuse: no io_uring instance in the daemon" test "$n" = 0
v=$(getfattr --absolute-names --only-values -n user.cdm.stats "$WORK/mnt")
check "user.cdm.stats says dev_fuse" grep -q "^transport=dev_fuse " <<<"$v"
cdm_daemon_stop
finish
