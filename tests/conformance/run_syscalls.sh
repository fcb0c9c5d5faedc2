# libfuse's own test/test_syscalls (built from the libfuse source this
# build uses) on a plain tmpfs first, then in a cdmfs device directory
# with passthrough and with -o nopassthrough, as root and as an
# unprivileged user.
#
# Environment (set by meson): CDMFS, TEST_SYSCALLS = the program.
T_NAME=conformance-test_syscalls
. "$(dirname "$0")/lib.sh"
: "${TEST_SYSCALLS:?TEST_SYSCALLS must name the libfuse test_syscalls program}"

# run LABEL DIR [as_user]: -u also checks that unlinked files are gone
run() {
	local label=$1 d=$2 nfail
	shift 2
	echo "# === $label: test_syscalls $d -u"
	if "$@" "$TEST_SYSCALLS" "$d" -u >"$WORK/out" 2>&1; then
		echo "ok - $label"
		return
	fi
	# its failures: every line that is not "NN [test] OK"
	grep -v ' OK$' "$WORK/out" | sed 's/^/#   /'
	nfail=$(grep -vc ' OK$' "$WORK/out")
	echo "not ok - $label"
	FAILED+=("$label: test_syscalls, $nfail lines of failures")
}

mount_ref
pair_dirs "$WORK/ref/a/root" "$WORK/ref/b/root" 0
pair_dirs "$WORK/ref/a/user" "$WORK/ref/b/user" $USER_ID
run "tmpfs root" "$WORK/ref/a/root"
run "tmpfs user" "$WORK/ref/a/user" as_user
umount_ref
for dp in passthrough daemon; do
	mount_cdmfs $dp
	pair_dirs "$WORK/mnt/sim0/root" "$WORK/mnt/sim1/root" 0
	pair_dirs "$WORK/mnt/sim0/user" "$WORK/mnt/sim1/user" $USER_ID
	run "cdmfs $dp root" "$WORK/mnt/sim0/root"
	run "cdmfs $dp user" "$WORK/mnt/sim0/user" as_user
	umount_cdmfs "cdmfs $dp"
done
finish
